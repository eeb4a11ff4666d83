/* tests/format_check.c - see format_check.h. */
#include "format_check.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/util.h"
#include "embed/module.h"
#include "nn/model.h"
#include "test.h"

#define EDGE 300

int fc_names_place(const char *msg, const char *source)
{
    size_t ns = strlen(source);
    if (strncmp(msg, source, ns) != 0 || strncmp(msg + ns, ": ", 2) != 0) return 0;
    const char *p = msg + ns + 2;
    if (strstr(p, "checksum mismatch")) return 1;
    if (strncmp(p, "offset ", 7) != 0) return 0;
    p += 7;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    if (strncmp(p, ": ", 2) != 0) return 0;
    p += 2;
    const char *colon = strstr(p, ": ");
    return colon && colon > p;
}

/* The lengths to try below n: all near the ends, every step-th between. */
static int next_cut(size_t cut, size_t n, size_t step)
{
    (void)n;
    return cut < EDGE || cut + EDGE >= n || step <= 1 ? 1 : (int)step;
}

enum { ALLOW_MAGIC = 1, NO_CHECKSUM = 2 };

static void refused(const unsigned char *buf, size_t n, const char *source, fc_decode_fn decode,
                    void *ctx, int mode, const char *what, size_t at)
{
    unsigned char *copy = taml_malloc(n ? n : 1);
    memcpy(copy, buf, n);
    taml_err err;
    taml_err_clear(&err);
    int rc = decode(copy, n, source, &err, ctx);
    free(copy);
    CHECK_MSG(rc < 0, "%s at %zu of %s: accepted", what, at, source);
    CHECK_MSG(fc_names_place(err.msg, source) ||
                  ((mode & ALLOW_MAGIC) && !strncmp(err.msg, source, strlen(source)) &&
                   strstr(err.msg, ": not a ")),
              "%s at %zu: the message does not name the source and the place: %s", what, at,
              err.msg);
    CHECK_MSG(!(mode & NO_CHECKSUM) || !strstr(err.msg, "checksum"),
              "%s at %zu: the checksum was not reached past: %s", what, at, err.msg);
}

void fc_truncations(const void *buf, size_t n, const char *source, size_t step,
                    fc_decode_fn decode, void *ctx)
{
    for (size_t cut = 0; cut < n; cut += (size_t)next_cut(cut, n, step))
        refused(buf, cut, source, decode, ctx, 0, "a cut", cut);
}

void fc_flips(const void *buf, size_t n, const char *source, size_t from, size_t step,
              fc_decode_fn decode, void *ctx)
{
    unsigned char *b = taml_malloc(n);
    memcpy(b, buf, n);
    for (size_t i = from; i < n; i += (size_t)next_cut(i, n, step)) {
        b[i] ^= 0x5a;
        refused(b, n, source, decode, ctx, i < 8 ? ALLOW_MAGIC : 0, "a changed byte", i);
        b[i] ^= 0x5a;
    }
    free(b);
}

void fc_reseal(unsigned char *buf, size_t n)
{
    TAML_ASSERT(n >= TAML_ENVELOPE_HEAD + TAML_ENVELOPE_TAIL);
    taml_bytes_store_u64(buf + 16, n - TAML_ENVELOPE_HEAD - TAML_ENVELOPE_TAIL);
    taml_bytes_store_u32(buf + n - 4, taml_crc32(0, buf, n - 4));
}

void fc_resealed_truncations(const void *buf, size_t n, const char *source, size_t step,
                             fc_decode_fn decode, void *ctx)
{
    const size_t over = TAML_ENVELOPE_HEAD + TAML_ENVELOPE_TAIL;
    TAML_ASSERT(n >= over);
    size_t payload = n - over;
    unsigned char *b = taml_malloc(n);
    for (size_t cut = 0; cut < payload; cut += (size_t)next_cut(cut, payload, step)) {
        memcpy(b, buf, TAML_ENVELOPE_HEAD + cut);
        fc_reseal(b, cut + over);
        refused(b, cut + over, source, decode, ctx, NO_CHECKSUM, "a resealed cut", cut);
    }
    free(b);
}

int fc_module_open_bytes(const void *buf, size_t n, const char *source, taml_err *err, void *ctx)
{
    (void)ctx;
    taml_err werr;
    CHECK_MSG(taml_write_file_atomic(source, buf, n, &werr) == 0, "%s", werr.msg);
    taml_module *m = NULL;
    int rc = taml_module_open(&m, source, NULL, err);
    CHECK(rc < 0 ? m == NULL : m != NULL);
    taml_module_close(m);
    return rc;
}

int fc_model_decode(const void *buf, size_t n, const char *source, taml_err *err, void *ctx)
{
    (void)ctx;
    taml_model *m;
    int rc = taml_model_decode(&m, buf, n, source, err);
    CHECK(rc < 0 ? m == NULL : m != NULL);
    taml_model_free(m);
    return rc;
}
