/* ctrl/bundle.c - the controller bundle of aml studies (format in bundle.h). */
#include "ctrl/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/util.h"

#define MAGIC "TAMLBNDL"
#define VERSION 2u
#define MAGIC_V1 "TAMLAMLC"
#define WHAT "controller bundle"

int taml_ctrl_bundle_is(const void *blob, size_t size)
{
    return size >= 8 && (!memcmp(blob, MAGIC, 8) || !memcmp(blob, MAGIC_V1, 8));
}

void taml_ctrl_bundle_save(taml_ctrl *const *c, int32_t n, void **blob, size_t *size)
{
    TAML_ASSERT(n >= 0);
    taml_bytes_writer w;
    taml_bytes_writer_init(&w);
    size_t start = taml_envelope_begin(&w, MAGIC, VERSION, 0);
    taml_bytes_put_u32(&w, (uint32_t)n);
    for (int32_t i = 0; i < n; i++) {
        void *part;
        size_t len;
        taml_ctrl_save(c[i], &part, &len);
        taml_bytes_put_u64(&w, len);
        taml_bytes_put(&w, part, len);
        free(part);
    }
    taml_envelope_end(&w, start);
    *blob = taml_bytes_writer_take(&w, size);
}

/* The parts of a bundle's payload (both versions: u32 n, then n x (u64 size,
 * bytes)), read by r to its end. */
static int read_parts(taml_bytes_reader *r, int32_t *n, const void ***parts, size_t **sizes,
                      taml_err *err)
{
    uint32_t count = taml_bytes_u32(r, "controllers");
    /* each part takes at least its 8-byte size: a count the bytes cannot
     * hold is refused before anything is allocated */
    if (taml_bytes_ok(r) && count > taml_bytes_left(r) / 8)
        taml_bytes_fail(r, TAML_ECORRUPT, "controllers", "%u controllers in %zu bytes", count,
                        taml_bytes_left(r));
    if (!taml_bytes_ok(r)) return taml_bytes_status(r, err);
    const void **pp = taml_calloc(count ? count : 1, sizeof *pp);
    size_t *ss = taml_calloc(count ? count : 1, sizeof *ss);
    for (uint32_t i = 0; i < count && taml_bytes_ok(r); i++) {
        char field[48];
        snprintf(field, sizeof field, "controller %u of %u", i + 1, count);
        uint64_t len = taml_bytes_u64(r, field);
        pp[i] = taml_bytes_take(r, (size_t)len, field);
        ss[i] = (size_t)len;
    }
    int rc = taml_bytes_expect_end(r, "the last controller");
    if (rc) {
        free(pp);
        free(ss);
        return taml_bytes_status(r, err);
    }
    *n = (int32_t)count;
    *parts = pp;
    *sizes = ss;
    return TAML_OK;
}

int taml_ctrl_bundle_split(const void *blob, size_t size, const char *source, int32_t *n,
                           const void ***parts, size_t **sizes, taml_err *err)
{
    *n = 0;
    *parts = NULL;
    *sizes = NULL;
    if (!source) source = WHAT;
    taml_bytes_reader r;
    if (size && !memcmp(blob, MAGIC_V1, size < 8 ? size : 8)) { /* (or a cut one) */
        taml_bytes_reader_init(&r, blob, size, source);
        taml_bytes_take(&r, 8, "magic");
        return read_parts(&r, n, parts, sizes, err);
    }
    uint32_t version;
    if (taml_envelope_peek(blob, size, MAGIC, &version) && version != VERSION)
        return taml_bytes_error(err, TAML_EFORMAT, source, 8, "version",
                                WHAT " version %u; this taml reads versions 1 and %u", version,
                                VERSION);
    taml_envelope env;
    int rc = taml_envelope_open_payload(blob, size, source, MAGIC, WHAT, &env, &r, err);
    return rc ? rc : read_parts(&r, n, parts, sizes, err);
}

int taml_ctrl_bundle_load(taml_ctrl ***out, int32_t *n, const taml_space *space,
                          const void *blob, size_t size, const char *source, taml_err *err)
{
    *out = NULL;
    *n = 0;
    if (!source) source = WHAT;
    int32_t count;
    const void **parts;
    size_t *sizes;
    int rc = taml_ctrl_bundle_split(blob, size, source, &count, &parts, &sizes, err);
    if (rc) return rc;
    taml_ctrl **c = taml_calloc(count ? (size_t)count : 1, sizeof *c);
    for (int32_t i = 0; i < count && !rc; i++) {
        char *name = taml_asprintf("%s: controller %d of %d", source, (int)i + 1, (int)count);
        rc = taml_ctrl_load_named(&c[i], space, parts[i], sizes[i], name, err);
        free(name);
    }
    free(parts);
    free(sizes);
    if (rc) {
        for (int32_t i = 0; i < count; i++) taml_ctrl_free(c[i]);
        free(c);
        return rc;
    }
    *out = c;
    *n = count;
    return TAML_OK;
}
