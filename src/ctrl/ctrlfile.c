/* ctrl/ctrlfile.c - the controller file's codec (layout and checks:
 * ctrlfile.h), on core/bytes.h. */
#include "ctrl/ctrlfile.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/utf8.h"
#include "core/util.h"
#include "ctrl/controller.h"

#define MAGIC "TAMLCFIL"
#define WHAT "controller file"
#define PROVENANCE_MAX (1u << 24) /* 16 MiB of JSON is no provenance */

int taml_ctrlfile_is(const void *buf, size_t size)
{
    uint32_t v;
    return taml_envelope_peek(buf, size, MAGIC, &v);
}

void taml_ctrlfile_make(const char *provenance, const void *ckpt, size_t ckpt_size, void **out,
                        size_t *size)
{
    taml_bytes_writer w;
    taml_bytes_writer_init(&w);
    size_t start = taml_envelope_begin(&w, MAGIC, TAML_CTRLFILE_VERSION, 0);
    taml_bytes_put_str32(&w, provenance);
    taml_bytes_put_u64(&w, ckpt_size);
    taml_bytes_put(&w, ckpt, ckpt_size);
    taml_envelope_end(&w, start);
    *out = taml_bytes_writer_take(&w, size);
}

void taml_ctrlfile_deinit(taml_ctrlfile *f)
{
    free(f->provenance);
    memset(f, 0, sizeof *f);
}

int taml_ctrlfile_open(taml_ctrlfile *out, const void *buf, size_t size, const char *source,
                       taml_err *err)
{
    memset(out, 0, sizeof *out);
    uint32_t version;
    if (taml_envelope_peek(buf, size, MAGIC, &version) && version != TAML_CTRLFILE_VERSION)
        return taml_bytes_error(err, TAML_EFORMAT, source, 8, "version",
                                WHAT " version %u; this taml reads version %u", version,
                                TAML_CTRLFILE_VERSION);
    taml_envelope env;
    taml_bytes_reader r;
    int rc = taml_envelope_open_payload(buf, size, source, MAGIC, WHAT, &env, &r, err);
    if (rc) return rc;
    out->version = env.version;
    out->crc32 = taml_bytes_load_u32((const unsigned char *)buf + size - 4);
    char *prov = taml_bytes_str32(&r, PROVENANCE_MAX, "provenance");
    if (prov && taml_utf8_check(prov, strlen(prov)) != strlen(prov))
        taml_bytes_fail(&r, TAML_ECORRUPT, "provenance", "not UTF-8 text (at byte %zu of it)",
                        taml_utf8_check(prov, strlen(prov)));
    else if (prov && prov[strspn(prov, " \t\r\n")] != '{')
        taml_bytes_fail(&r, TAML_ECORRUPT, "provenance", "not a JSON object");
    uint64_t n = taml_bytes_u64(&r, "checkpoint length");
    size_t at = taml_bytes_offset(&r);
    if (taml_bytes_ok(&r) && n != taml_bytes_left(&r))
        taml_bytes_fail(&r, TAML_ECORRUPT, "checkpoint length", "%llu bytes, but %zu follow",
                        (unsigned long long)n, taml_bytes_left(&r));
    const void *ck = taml_bytes_take(&r, (size_t)n, "checkpoint");
    if ((rc = taml_bytes_status(&r, err))) {
        free(prov);
        return rc;
    }
    char *what = taml_asprintf("%s (its controller checkpoint, at offset %zu)", source, at);
    taml_space *space = NULL;
    rc = taml_ctrl_checkpoint_space(&space, ck, (size_t)n, what, err);
    taml_space_free(space);
    free(what);
    if (rc) {
        free(prov);
        return rc;
    }
    out->provenance = prov;
    out->ckpt = ck;
    out->ckpt_size = (size_t)n;
    return TAML_OK;
}
