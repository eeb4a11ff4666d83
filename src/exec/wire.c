/* exec/wire.c - encoder and validating decoder of the MPI transport's
 * messages (format in wire.h).
 *
 * Writing goes through a growable buffer that leaves room for the header and
 * fills it last (length and checksum are known only then). Reading goes
 * through a cursor that refuses to move past the end: every field read is
 * bounds-checked, so a truncated or lying message ends in an error naming
 * the field, never in a read outside the buffer.
 */
#include "exec/wire.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static const unsigned char magic[4] = {'T', 'M', 'L', 'W'};

static const char *type_name(int t)
{
    switch (t) {
    case TAML_WIRE_HELLO: return "HELLO";
    case TAML_WIRE_JOB: return "JOB";
    case TAML_WIRE_RESULT: return "RESULT";
    case TAML_WIRE_STOP: return "STOP";
    case TAML_WIRE_BYE: return "BYE";
    default: return "?";
    }
}

/* ------------------------------------------------------------------ writing */

typedef struct wbuf {
    unsigned char *p;
    size_t len, cap;
} wbuf;

static void w_init(wbuf *w)
{
    w->cap = 256;
    w->p = taml_malloc(w->cap);
    w->len = TAML_WIRE_HEADER;
}

static void w_bytes(wbuf *w, const void *src, size_t n)
{
    if (n == 0) return;
    if (w->len + n > w->cap) {
        while (w->len + n > w->cap) w->cap *= 2;
        w->p = taml_realloc(w->p, w->cap);
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void w_uint(wbuf *w, uint64_t v, int size)
{
    unsigned char b[8];
    for (int i = 0; i < size; i++) b[i] = (unsigned char)(v >> (8 * i));
    w_bytes(w, b, (size_t)size);
}

static void w_f64(wbuf *w, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    w_uint(w, bits, 8);
}

/* A u16-length string, cut at `max` bytes (host names and error texts: what
 * is cut is the end of a long message, never structure). */
static void w_str16(wbuf *w, const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max) : 0;
    if (n > 0xffff) n = 0xffff;
    w_uint(w, n, 2);
    w_bytes(w, s, n);
}

static void w_finish(wbuf *w, int type, void **out, size_t *len)
{
    size_t body = w->len - TAML_WIRE_HEADER;
    unsigned char *h = w->p;
    memcpy(h, magic, 4);
    h[4] = (unsigned char)(TAML_WIRE_VERSION & 0xff);
    h[5] = (unsigned char)(TAML_WIRE_VERSION >> 8);
    h[6] = (unsigned char)type;
    h[7] = 0;
    uint32_t crc = taml_crc32(0, h + TAML_WIRE_HEADER, body);
    for (int i = 0; i < 4; i++) {
        h[8 + i] = (unsigned char)((uint32_t)body >> (8 * i));
        h[12 + i] = (unsigned char)(crc >> (8 * i));
    }
    *out = w->p;
    *len = w->len;
}

int taml_wire_hello_encode(const taml_wire_hello *h, void **out, size_t *len, taml_err *err)
{
    (void)err;
    wbuf w;
    w_init(&w);
    w_uint(&w, (uint32_t)h->threads, 4);
    w_uint(&w, (uint32_t)h->status, 4);
    w_uint(&w, h->tasks_fp, 8);
    w_str16(&w, h->host, sizeof h->host - 1);
    w_str16(&w, h->error, sizeof h->error - 1);
    w_finish(&w, TAML_WIRE_HELLO, out, len);
    return TAML_OK;
}

int taml_wire_job_encode(const taml_job *job, void **out, size_t *len, taml_err *err)
{
    *out = NULL;
    *len = 0;
    const char *cfg = job->config_json ? job->config_json : "";
    size_t n = strlen(cfg);
    if (n > TAML_WIRE_MAX_BODY - 24)
        return taml_err_set(err, TAML_EINVAL,
                            "trial %lld: its config is %zu bytes, more than a message carries (%u)",
                            (long long)job->id, n, TAML_WIRE_MAX_BODY - 24);
    wbuf w;
    w_init(&w);
    w_uint(&w, (uint64_t)job->id, 8);
    w_uint(&w, (uint32_t)job->task, 4);
    w_uint(&w, job->seed, 8);
    w_uint(&w, n, 4);
    w_bytes(&w, cfg, n);
    w_finish(&w, TAML_WIRE_JOB, out, len);
    return TAML_OK;
}

int taml_wire_result_encode(const taml_job_result *r, void **out, size_t *len, taml_err *err)
{
    (void)err;
    wbuf w;
    w_init(&w);
    w_uint(&w, (uint64_t)r->id, 8);
    w_uint(&w, (uint32_t)r->task, 4);
    w_uint(&w, (uint32_t)r->worker, 4);
    w_uint(&w, (uint32_t)r->status, 4);
    w_f64(&w, r->valid_acc);
    w_f64(&w, r->test_acc);
    w_f64(&w, r->loss);
    w_uint(&w, (uint64_t)r->steps, 8);
    w_f64(&w, r->train_seconds);
    w_str16(&w, r->error, sizeof r->error - 1);
    w_finish(&w, TAML_WIRE_RESULT, out, len);
    return TAML_OK;
}

int taml_wire_stop_encode(void **out, size_t *len)
{
    wbuf w;
    w_init(&w);
    w_finish(&w, TAML_WIRE_STOP, out, len);
    return TAML_OK;
}

int taml_wire_bye_encode(const taml_wire_bye *b, void **out, size_t *len)
{
    wbuf w;
    w_init(&w);
    w_uint(&w, (uint32_t)b->status, 4);
    w_str16(&w, b->error, sizeof b->error - 1);
    w_finish(&w, TAML_WIRE_BYE, out, len);
    return TAML_OK;
}

/* ------------------------------------------------------------------ reading */

typedef struct rbuf {
    const unsigned char *p;
    size_t len, off;
    const char *type; /* for messages */
    taml_err *err;
    int rc; /* first failure, sticky: later reads return zeros */
} rbuf;

static int r_fail(rbuf *r, const char *field, size_t need)
{
    if (!r->rc)
        r->rc = taml_err_set(r->err, TAML_EFORMAT,
                             "%s message: %s needs %zu bytes at offset %zu but the body has %zu",
                             r->type, field, need, r->off, r->len);
    return r->rc;
}

static uint64_t r_uint(rbuf *r, int size, const char *field)
{
    if (r->rc) return 0;
    if (r->len - r->off < (size_t)size) {
        r_fail(r, field, (size_t)size);
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < size; i++) v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
    r->off += (size_t)size;
    return v;
}

static int32_t r_i32(rbuf *r, const char *field)
{
    return (int32_t)(uint32_t)r_uint(r, 4, field);
}

static double r_f64(rbuf *r, const char *field)
{
    uint64_t bits = r_uint(r, 8, field);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Reads a string of n bytes into dst (cap bytes, NUL-terminated). Refuses a
 * string longer than the field or one that holds a NUL. */
static void r_str(rbuf *r, size_t n, char *dst, size_t cap, const char *field)
{
    if (r->rc) return;
    if (n >= cap) {
        r->rc = taml_err_set(r->err, TAML_EFORMAT, "%s message: %s is %zu bytes, at most %zu fit",
                             r->type, field, n, cap - 1);
        return;
    }
    if (r->len - r->off < n) {
        r_fail(r, field, n);
        return;
    }
    if (memchr(r->p + r->off, 0, n)) {
        r->rc = taml_err_set(r->err, TAML_EFORMAT, "%s message: %s holds a NUL byte", r->type,
                             field);
        return;
    }
    memcpy(dst, r->p + r->off, n);
    dst[n] = '\0';
    r->off += n;
}

static void r_str16(rbuf *r, char *dst, size_t cap, const char *field)
{
    size_t n = (size_t)r_uint(r, 2, field);
    r_str(r, n, dst, cap, field);
}

/* The body must end exactly where its last field does. */
static int r_end(rbuf *r)
{
    if (!r->rc && r->off != r->len)
        r->rc = taml_err_set(r->err, TAML_EFORMAT,
                             "%s message: %zu bytes left over after its last field", r->type,
                             r->len - r->off);
    return r->rc;
}

int taml_wire_type_of(const void *msg, size_t len, taml_err *err)
{
    const unsigned char *h = msg;
    if (!msg || len < TAML_WIRE_HEADER)
        return taml_err_set(err, TAML_EFORMAT, "message of %zu bytes is shorter than its %d-byte header",
                            len, TAML_WIRE_HEADER);
    if (memcmp(h, magic, 4) != 0)
        return taml_err_set(err, TAML_EFORMAT,
                            "message does not start with \"TMLW\" (not a taml message)");
    unsigned version = (unsigned)h[4] | (unsigned)h[5] << 8;
    if (version != TAML_WIRE_VERSION)
        return taml_err_set(err, TAML_EMISMATCH,
                            "message has version %u, this taml speaks %d: run the same taml build "
                            "on every rank",
                            version, TAML_WIRE_VERSION);
    int type = h[6];
    if (type < TAML_WIRE_HELLO || type > TAML_WIRE_BYE)
        return taml_err_set(err, TAML_EFORMAT, "message has unknown type %d", type);
    if (h[7] != 0)
        return taml_err_set(err, TAML_EFORMAT, "%s message has flags 0x%02x, expected 0",
                            type_name(type), h[7]);
    uint32_t body = 0, crc = 0;
    for (int i = 0; i < 4; i++) {
        body |= (uint32_t)h[8 + i] << (8 * i);
        crc |= (uint32_t)h[12 + i] << (8 * i);
    }
    if (body > TAML_WIRE_MAX_BODY)
        return taml_err_set(err, TAML_EFORMAT, "%s message claims a body of %u bytes, at most %u allowed",
                            type_name(type), body, TAML_WIRE_MAX_BODY);
    if ((size_t)body != len - TAML_WIRE_HEADER)
        return taml_err_set(err, TAML_EFORMAT,
                            "%s message claims a body of %u bytes but %zu arrived (truncated or "
                            "padded)",
                            type_name(type), body, len - TAML_WIRE_HEADER);
    uint32_t got = taml_crc32(0, h + TAML_WIRE_HEADER, body);
    if (got != crc)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s message: body checksum %08x, header says %08x (corrupted in transit)",
                            type_name(type), got, crc);
    return type;
}

/* Checks the header for `want` and sets up a cursor over the body. */
static int r_open(rbuf *r, const void *msg, size_t len, int want, taml_err *err)
{
    int t = taml_wire_type_of(msg, len, err);
    if (t < 0) return t;
    if (t != want)
        return taml_err_set(err, TAML_EFORMAT, "expected a %s message, got %s", type_name(want),
                            type_name(t));
    r->p = (const unsigned char *)msg + TAML_WIRE_HEADER;
    r->len = len - TAML_WIRE_HEADER;
    r->off = 0;
    r->type = type_name(want);
    r->err = err;
    r->rc = 0;
    return TAML_OK;
}

static int range_fail(rbuf *r, const char *what)
{
    if (!r->rc) r->rc = taml_err_set(r->err, TAML_EFORMAT, "%s message: %s", r->type, what);
    return r->rc;
}

int taml_wire_hello_decode(const void *msg, size_t len, taml_wire_hello *h, taml_err *err)
{
    memset(h, 0, sizeof *h);
    rbuf r = {0};
    int rc = r_open(&r, msg, len, TAML_WIRE_HELLO, err);
    if (rc) return rc;
    h->threads = r_i32(&r, "threads");
    h->status = r_i32(&r, "status");
    h->tasks_fp = r_uint(&r, 8, "tasks fingerprint");
    r_str16(&r, h->host, sizeof h->host, "host");
    r_str16(&r, h->error, sizeof h->error, "error");
    if (!r_end(&r)) {
        if (h->threads < 1 || h->threads > 4096) range_fail(&r, "threads is not in 1..4096");
        else if (h->status > 0) range_fail(&r, "status is positive (0 or an error code expected)");
        else if (h->status < 0 && !h->error[0]) range_fail(&r, "a failed worker sent no reason");
    }
    if (r.rc) memset(h, 0, sizeof *h);
    return r.rc;
}

int taml_wire_job_decode(const void *msg, size_t len, taml_job *job, char **config, taml_err *err)
{
    memset(job, 0, sizeof *job);
    *config = NULL;
    rbuf r = {0};
    int rc = r_open(&r, msg, len, TAML_WIRE_JOB, err);
    if (rc) return rc;
    int64_t id = (int64_t)r_uint(&r, 8, "id");
    int32_t task = r_i32(&r, "task");
    uint64_t seed = r_uint(&r, 8, "seed");
    size_t n = (size_t)r_uint(&r, 4, "config length");
    char *cfg = NULL;
    if (!r.rc) {
        if (n > r.len - r.off) {
            r_fail(&r, "config", n);
        } else {
            cfg = taml_malloc(n + 1);
            r_str(&r, n, cfg, n + 1, "config");
        }
    }
    if (!r_end(&r)) {
        if (id < 1) range_fail(&r, "id is not >= 1");
        else if (task < 0) range_fail(&r, "task is negative");
    }
    if (r.rc) {
        free(cfg);
        return r.rc;
    }
    job->id = id;
    job->task = task;
    job->seed = seed;
    job->config_json = cfg;
    *config = cfg;
    return TAML_OK;
}

int taml_wire_result_decode(const void *msg, size_t len, taml_job_result *res, taml_err *err)
{
    memset(res, 0, sizeof *res);
    rbuf r = {0};
    int rc = r_open(&r, msg, len, TAML_WIRE_RESULT, err);
    if (rc) return rc;
    res->id = (int64_t)r_uint(&r, 8, "id");
    res->task = r_i32(&r, "task");
    res->worker = r_i32(&r, "worker");
    res->status = r_i32(&r, "status");
    res->valid_acc = r_f64(&r, "valid accuracy");
    res->test_acc = r_f64(&r, "test accuracy");
    res->loss = r_f64(&r, "loss");
    res->steps = (int64_t)r_uint(&r, 8, "steps");
    res->train_seconds = r_f64(&r, "train seconds");
    r_str16(&r, res->error, sizeof res->error, "error");
    /* Accuracies and loss may be NaN (a diverged or failed child); the
     * bookkeeping fields may not be nonsense. */
    if (!r_end(&r)) {
        if (res->id < 1) range_fail(&r, "id is not >= 1");
        else if (res->task < 0) range_fail(&r, "task is negative");
        else if (res->worker < 0) range_fail(&r, "worker is negative");
        else if (res->status < 0 || res->status > 63) range_fail(&r, "status is not a trial state");
        else if (res->steps < 0) range_fail(&r, "steps is negative");
        else if (!(res->train_seconds >= 0) || isinf(res->train_seconds))
            range_fail(&r, "train seconds is not a finite number >= 0");
    }
    if (r.rc) memset(res, 0, sizeof *res);
    return r.rc;
}

int taml_wire_stop_decode(const void *msg, size_t len, taml_err *err)
{
    rbuf r = {0};
    int rc = r_open(&r, msg, len, TAML_WIRE_STOP, err);
    if (rc) return rc;
    return r_end(&r);
}

int taml_wire_bye_decode(const void *msg, size_t len, taml_wire_bye *b, taml_err *err)
{
    memset(b, 0, sizeof *b);
    rbuf r = {0};
    int rc = r_open(&r, msg, len, TAML_WIRE_BYE, err);
    if (rc) return rc;
    b->status = r_i32(&r, "status");
    r_str16(&r, b->error, sizeof b->error, "error");
    if (!r_end(&r) && b->status > 0) range_fail(&r, "status is positive");
    if (r.rc) memset(b, 0, sizeof *b);
    return r.rc;
}

uint64_t taml_wire_tasks_fp(int32_t n_tasks, const char *const *names)
{
    uint64_t h = taml_fnv1a(TAML_FNV_INIT, &n_tasks, sizeof n_tasks);
    for (int32_t i = 0; i < n_tasks; i++) h = taml_fnv1a(h, names[i], strlen(names[i]) + 1);
    return h;
}
