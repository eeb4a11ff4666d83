/* core/bytes.c - the byte codec and the envelope (see bytes.h). */
#include "core/bytes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* ---- writing ---------------------------------------------------------- */

void taml_bytes_writer_init(taml_bytes_writer *w)
{
    w->p = NULL;
    w->n = w->cap = 0;
}

void taml_bytes_writer_deinit(taml_bytes_writer *w)
{
    free(w->p);
    taml_bytes_writer_init(w);
}

void *taml_bytes_writer_take(taml_bytes_writer *w, size_t *size)
{
    void *p = w->p ? w->p : taml_malloc(1);
    *size = w->n;
    taml_bytes_writer_init(w);
    return p;
}

static unsigned char *reserve(taml_bytes_writer *w, size_t n)
{
    if (n > w->cap - w->n) {
        size_t cap = w->cap ? w->cap : 256;
        while (n > cap - w->n) {
            TAML_ASSERT(cap <= SIZE_MAX / 2);
            cap *= 2;
        }
        w->p = taml_realloc(w->p, cap);
        w->cap = cap;
    }
    unsigned char *q = w->p + w->n;
    w->n += n;
    return q;
}

void taml_bytes_put(taml_bytes_writer *w, const void *src, size_t n)
{
    if (n) memcpy(reserve(w, n), src, n);
}

void taml_bytes_put_zeros(taml_bytes_writer *w, size_t n)
{
    if (n) memset(reserve(w, n), 0, n);
}

void taml_bytes_put_pad(taml_bytes_writer *w, size_t align)
{
    TAML_ASSERT(align && !(align & (align - 1)));
    taml_bytes_put_zeros(w, (align - (w->n & (align - 1))) & (align - 1));
}

void taml_bytes_store_u32(void *p, uint32_t v)
{
    unsigned char *b = p;
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}

void taml_bytes_store_u64(void *p, uint64_t v)
{
    unsigned char *b = p;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

uint32_t taml_bytes_load_u32(const void *p)
{
    const unsigned char *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t taml_bytes_load_u64(const void *p)
{
    const unsigned char *b = p;
    return (uint64_t)taml_bytes_load_u32(b) | (uint64_t)taml_bytes_load_u32(b + 4) << 32;
}

void taml_bytes_put_u8(taml_bytes_writer *w, uint8_t v)
{
    *reserve(w, 1) = v;
}

void taml_bytes_put_u16(taml_bytes_writer *w, uint16_t v)
{
    unsigned char *b = reserve(w, 2);
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
}

void taml_bytes_put_u32(taml_bytes_writer *w, uint32_t v)
{
    taml_bytes_store_u32(reserve(w, 4), v);
}

void taml_bytes_put_u64(taml_bytes_writer *w, uint64_t v)
{
    taml_bytes_store_u64(reserve(w, 8), v);
}

void taml_bytes_put_i32(taml_bytes_writer *w, int32_t v)
{
    taml_bytes_put_u32(w, (uint32_t)v);
}

void taml_bytes_put_i64(taml_bytes_writer *w, int64_t v)
{
    taml_bytes_put_u64(w, (uint64_t)v);
}

void taml_bytes_put_f32(taml_bytes_writer *w, float v)
{
    uint32_t x;
    memcpy(&x, &v, 4);
    taml_bytes_put_u32(w, x);
}

void taml_bytes_put_f64(taml_bytes_writer *w, double v)
{
    uint64_t x;
    memcpy(&x, &v, 8);
    taml_bytes_put_u64(w, x);
}

void taml_bytes_put_f32s(taml_bytes_writer *w, const float *v, size_t n)
{
    unsigned char *b = reserve(w, 4 * n);
    for (size_t i = 0; i < n; i++) {
        uint32_t x;
        memcpy(&x, &v[i], 4);
        taml_bytes_store_u32(b + 4 * i, x);
    }
}

void taml_bytes_put_f64s(taml_bytes_writer *w, const double *v, size_t n)
{
    unsigned char *b = reserve(w, 8 * n);
    for (size_t i = 0; i < n; i++) {
        uint64_t x;
        memcpy(&x, &v[i], 8);
        taml_bytes_store_u64(b + 8 * i, x);
    }
}

void taml_bytes_put_str32(taml_bytes_writer *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    TAML_ASSERT(n <= UINT32_MAX);
    taml_bytes_put_u32(w, (uint32_t)n);
    taml_bytes_put(w, s, n);
}

void taml_bytes_put_str16(taml_bytes_writer *w, const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max) : 0;
    if (n > 0xffff) n = 0xffff;
    taml_bytes_put_u16(w, (uint16_t)n);
    taml_bytes_put(w, s, n);
}

void taml_bytes_patch_u32(taml_bytes_writer *w, size_t off, uint32_t v)
{
    TAML_ASSERT(off <= w->n && w->n - off >= 4);
    taml_bytes_store_u32(w->p + off, v);
}

void taml_bytes_patch_u64(taml_bytes_writer *w, size_t off, uint64_t v)
{
    TAML_ASSERT(off <= w->n && w->n - off >= 8);
    taml_bytes_store_u64(w->p + off, v);
}

/* ---- reading ---------------------------------------------------------- */

void taml_bytes_reader_init(taml_bytes_reader *r, const void *p, size_t n, const char *source)
{
    r->p = p;
    r->n = n;
    r->at = r->last = 0;
    r->base = 0;
    r->source = source ? source : "input";
    r->code = TAML_OK;
    r->msg[0] = '\0';
}

/* "SOURCE: offset OFF: FIELD: <fmt>" into msg (TAML_ERR_MSG bytes). */
static void vformat(char *msg, const char *source, size_t offset, const char *field,
                    const char *fmt, va_list ap)
{
    int n = snprintf(msg, TAML_ERR_MSG, "%s: offset %zu: %s: ", source ? source : "input", offset,
                     field ? field : "data");
    if (n >= 0 && n < TAML_ERR_MSG) vsnprintf(msg + n, TAML_ERR_MSG - (size_t)n, fmt, ap);
}

static void vfail(taml_bytes_reader *r, int code, size_t at, const char *field, const char *fmt,
                  va_list ap)
{
    if (r->code) return;
    r->code = code;
    vformat(r->msg, r->source, r->base + at, field, fmt, ap);
}

int taml_bytes_error(taml_err *err, int code, const char *source, size_t offset,
                     const char *field, const char *fmt, ...)
{
    char msg[TAML_ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vformat(msg, source, offset, field, fmt, ap);
    va_end(ap);
    return taml_err_set(err, code, "%s", msg);
}

static void fail_at(taml_bytes_reader *r, int code, size_t at, const char *field, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static void fail_at(taml_bytes_reader *r, int code, size_t at, const char *field, const char *fmt,
                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(r, code, at, field, fmt, ap);
    va_end(ap);
}

int taml_bytes_fail(taml_bytes_reader *r, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(r, code, r->last, field, fmt, ap);
    va_end(ap);
    return r->code;
}

const void *taml_bytes_take(taml_bytes_reader *r, size_t n, const char *field)
{
    if (r->code) return NULL;
    r->last = r->at;
    if (n > r->n - r->at) {
        fail_at(r, TAML_ECORRUPT, r->at, field, "truncated (needs %zu bytes, %zu left)", n,
                r->n - r->at);
        return NULL;
    }
    const unsigned char *q = r->p + r->at;
    r->at += n;
    return q;
}

void taml_bytes_reader_sub(taml_bytes_reader *r, size_t n, const char *field,
                           taml_bytes_reader *sub)
{
    size_t at = r->at;
    const void *q = taml_bytes_take(r, n, field);
    taml_bytes_reader_init(sub, q ? q : r->p, q ? n : 0, r->source);
    sub->base = r->base + at;
    if (!q) {
        sub->code = r->code;
        memcpy(sub->msg, r->msg, sizeof sub->msg);
    }
}

uint8_t taml_bytes_u8(taml_bytes_reader *r, const char *field)
{
    const unsigned char *b = taml_bytes_take(r, 1, field);
    return b ? b[0] : 0;
}

uint16_t taml_bytes_u16(taml_bytes_reader *r, const char *field)
{
    const unsigned char *b = taml_bytes_take(r, 2, field);
    return b ? (uint16_t)(b[0] | b[1] << 8) : 0;
}

uint32_t taml_bytes_u32(taml_bytes_reader *r, const char *field)
{
    const unsigned char *b = taml_bytes_take(r, 4, field);
    return b ? taml_bytes_load_u32(b) : 0;
}

uint64_t taml_bytes_u64(taml_bytes_reader *r, const char *field)
{
    const unsigned char *b = taml_bytes_take(r, 8, field);
    return b ? taml_bytes_load_u64(b) : 0;
}

int32_t taml_bytes_i32(taml_bytes_reader *r, const char *field)
{
    return (int32_t)taml_bytes_u32(r, field);
}

int64_t taml_bytes_i64(taml_bytes_reader *r, const char *field)
{
    return (int64_t)taml_bytes_u64(r, field);
}

float taml_bytes_f32(taml_bytes_reader *r, const char *field)
{
    uint32_t x = taml_bytes_u32(r, field);
    float v;
    memcpy(&v, &x, 4);
    return v;
}

double taml_bytes_f64(taml_bytes_reader *r, const char *field)
{
    uint64_t x = taml_bytes_u64(r, field);
    double v;
    memcpy(&v, &x, 8);
    return v;
}

void taml_bytes_f32s(taml_bytes_reader *r, float *out, size_t n, const char *field)
{
    const unsigned char *b = n <= SIZE_MAX / 4 ? taml_bytes_take(r, 4 * n, field) : NULL;
    if (!b && n > SIZE_MAX / 4) fail_at(r, TAML_ECORRUPT, r->at, field, "%zu values", n);
    for (size_t i = 0; i < n; i++) {
        uint32_t x = b ? taml_bytes_load_u32(b + 4 * i) : 0;
        memcpy(&out[i], &x, 4);
    }
}

void taml_bytes_f64s(taml_bytes_reader *r, double *out, size_t n, const char *field)
{
    const unsigned char *b = n <= SIZE_MAX / 8 ? taml_bytes_take(r, 8 * n, field) : NULL;
    if (!b && n > SIZE_MAX / 8) fail_at(r, TAML_ECORRUPT, r->at, field, "%zu values", n);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = b ? taml_bytes_load_u64(b + 8 * i) : 0;
        memcpy(&out[i], &x, 8);
    }
}

char *taml_bytes_str32(taml_bytes_reader *r, size_t max, const char *field)
{
    size_t start = r->at;
    uint32_t len = taml_bytes_u32(r, field);
    if (r->code) return NULL;
    if (len > max) {
        fail_at(r, TAML_ECORRUPT, start, field, "a string of %u bytes (at most %zu expected)", len,
                max);
        return NULL;
    }
    const char *q = taml_bytes_take(r, len, field);
    r->last = start;
    if (!q) return NULL;
    if (memchr(q, 0, len)) {
        fail_at(r, TAML_ECORRUPT, start, field, "a string holding a NUL byte");
        return NULL;
    }
    char *s = taml_malloc((size_t)len + 1);
    memcpy(s, q, len);
    s[len] = '\0';
    return s;
}

void taml_bytes_str16(taml_bytes_reader *r, char *buf, size_t cap, const char *field)
{
    TAML_ASSERT(cap >= 1);
    size_t start = r->at;
    uint16_t len = taml_bytes_u16(r, field);
    const char *q = taml_bytes_take(r, len, field);
    r->last = start;
    buf[0] = '\0';
    if (!q) return;
    if (memchr(q, 0, len)) {
        fail_at(r, TAML_ECORRUPT, start, field, "a string holding a NUL byte");
        return;
    }
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(buf, q, n);
    buf[n] = '\0';
}

size_t taml_bytes_offset(const taml_bytes_reader *r)
{
    return r->base + r->at;
}

size_t taml_bytes_left(const taml_bytes_reader *r)
{
    return r->n - r->at;
}

int taml_bytes_expect_end(taml_bytes_reader *r, const char *what)
{
    if (!r->code && r->at != r->n)
        fail_at(r, TAML_ECORRUPT, r->at, what, "%zu unexpected bytes after it", r->n - r->at);
    return r->code;
}

int taml_bytes_ok(const taml_bytes_reader *r)
{
    return r->code == TAML_OK;
}

int taml_bytes_status(const taml_bytes_reader *r, taml_err *err)
{
    if (r->code) taml_err_set(err, r->code, "%s", r->msg);
    return r->code;
}

/* ---- the envelope ----------------------------------------------------- */

void taml_envelope_header(unsigned char out[TAML_ENVELOPE_HEAD], const char magic[8],
                          uint32_t version, uint32_t flags, uint64_t length)
{
    memcpy(out, magic, 8);
    taml_bytes_store_u32(out + 8, version);
    taml_bytes_store_u32(out + 12, flags);
    taml_bytes_store_u64(out + 16, length);
}

size_t taml_envelope_begin(taml_bytes_writer *w, const char magic[8], uint32_t version,
                           uint32_t flags)
{
    size_t start = w->n;
    taml_envelope_header(reserve(w, TAML_ENVELOPE_HEAD), magic, version, flags, 0);
    return start;
}

void taml_envelope_end(taml_bytes_writer *w, size_t start)
{
    TAML_ASSERT(start <= w->n && w->n - start >= TAML_ENVELOPE_HEAD);
    taml_bytes_patch_u64(w, start + 16, (uint64_t)(w->n - start - TAML_ENVELOPE_HEAD));
    taml_bytes_put_u32(w, taml_crc32(0, w->p + start, w->n - start));
}

int taml_envelope_peek(const void *buf, size_t n, const char magic[8], uint32_t *version)
{
    if (n < 12 || memcmp(buf, magic, 8) != 0) return 0;
    *version = taml_bytes_load_u32((const unsigned char *)buf + 8);
    return 1;
}

int taml_envelope_open(const void *buf, size_t n, const char *source, const char magic[8],
                       const char *what, taml_envelope *env, taml_err *err)
{
    memset(env, 0, sizeof *env);
    const unsigned char *p = buf;
    if (!source) source = "input";
    if (n < 8 && (n == 0 || memcmp(p, magic, n) == 0))
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: offset 0: magic: truncated (a %s takes at least %d bytes, the "
                            "file has %zu)",
                            source, what, TAML_ENVELOPE_HEAD + TAML_ENVELOPE_TAIL, n);
    if (n < 8 || memcmp(p, magic, 8) != 0)
        return taml_err_set(err, TAML_ECORRUPT, "%s: not a %s (expected magic \"%.8s\", %zu bytes)",
                            source, what, magic, n);
    if (n < TAML_ENVELOPE_HEAD + TAML_ENVELOPE_TAIL)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: offset 8: header: truncated (a %s takes at least %d bytes, the "
                            "file has %zu)",
                            source, what, TAML_ENVELOPE_HEAD + TAML_ENVELOPE_TAIL, n);
    uint64_t len = taml_bytes_load_u64(p + 16);
    size_t room = n - TAML_ENVELOPE_HEAD - TAML_ENVELOPE_TAIL;
    if (len > room)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: offset 16: length: truncated (the %s says %llu payload bytes, "
                            "%zu are there)",
                            source, what, (unsigned long long)len, room);
    if (len < room)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: offset %llu: trailing bytes: %zu after the end of the %s",
                            source, (unsigned long long)(len + TAML_ENVELOPE_HEAD + TAML_ENVELOPE_TAIL),
                            (size_t)(room - len), what);
    uint32_t stored = taml_bytes_load_u32(p + n - 4);
    uint32_t got = taml_crc32(0, p, n - 4);
    if (stored != got)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: %s checksum mismatch (CRC-32 %08x stored, %08x computed over %zu "
                            "bytes): the bytes are damaged",
                            source, what, stored, got, n - 4);
    env->version = taml_bytes_load_u32(p + 8);
    env->flags = taml_bytes_load_u32(p + 12);
    env->payload = p + TAML_ENVELOPE_HEAD;
    env->size = (size_t)len;
    return TAML_OK;
}

void taml_envelope_reader(const taml_envelope *env, const char *source, taml_bytes_reader *r)
{
    taml_bytes_reader_init(r, env->payload, env->size, source);
    r->base = TAML_ENVELOPE_HEAD;
}

int taml_envelope_open_payload(const void *buf, size_t n, const char *source, const char magic[8],
                               const char *what, taml_envelope *env, taml_bytes_reader *r,
                               taml_err *err)
{
    if (!source) source = "input";
    int rc = taml_envelope_open(buf, n, source, magic, what, env, err);
    if (rc) return rc;
    if (env->flags)
        return taml_bytes_error(err, TAML_EFORMAT, source, 12, "flags", "%08x, expected 0",
                                env->flags);
    taml_envelope_reader(env, source, r);
    return TAML_OK;
}
