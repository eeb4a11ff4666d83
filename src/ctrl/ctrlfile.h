/* ctrl/ctrlfile.h - the controller file (`.tamlctrl`): a trained controller
 * as taml ships it (controllers/default-text.tamlctrl) or a user shares it,
 * with its provenance: how it was made and how to make it again
 * (docs/formats.md "Controller files"; issue 16).
 *
 * Version 1: the envelope of core/bytes.h, magic "TAMLCFIL", version 1,
 * flags 0, around
 *
 *   u32 len, provenance (UTF-8 JSON text: an object; its members are the
 *            search layer's, search/ctrlfile.h)
 *   u64 len, the controller checkpoint (ctrl/controller.h's taml_ctrl_save
 *            buffer, itself enveloped: "TAMLCTRL" version 2 with its CRC)
 *
 * so the file's CRC-32 covers the provenance and the checkpoint, and the
 * checkpoint keeps its own. Reading checks, in order: the envelope (magic,
 * length, CRC: a damaged or altered byte anywhere is refused with the file
 * and what failed), the version, the provenance (length, UTF-8), the
 * checkpoint (its own envelope and its space). The CRC finds damage, not a
 * forgery: whoever edits the file can recompute it.
 */
#ifndef TAML_CTRL_CTRLFILE_H
#define TAML_CTRL_CTRLFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TAML_CTRLFILE_VERSION 1u

/* 1 when buf (size bytes) starts like a controller file (its magic). */
int taml_ctrlfile_is(const void *buf, size_t size);

/* A controller file of provenance (NUL-terminated UTF-8 JSON text) and a
 * checkpoint (ckpt, ckpt_size: a taml_ctrl_save buffer), in a new heap
 * buffer (*out, *size; caller frees). */
void taml_ctrlfile_make(const char *provenance, const void *ckpt, size_t ckpt_size, void **out,
                        size_t *size);

/* What a controller file holds: pointers into the buffer read (valid while
 * it lives) but provenance, a heap copy (taml_ctrlfile_deinit frees it). */
typedef struct taml_ctrlfile {
    uint32_t version;
    uint32_t crc32;     /* the file's stored (and verified) CRC-32 */
    char *provenance;   /* heap, NUL-terminated */
    const void *ckpt;   /* the checkpoint, inside the buffer */
    size_t ckpt_size;
} taml_ctrlfile;
void taml_ctrlfile_deinit(taml_ctrlfile *f);

/* Opens a controller file in buf (size bytes, all of it) named source in
 * messages (a path): the checks above. TAML_ECORRUPT ("SOURCE: offset N:
 * FIELD: what", or the checksum mismatch), TAML_EFORMAT for another
 * version; the checkpoint's own errors name "SOURCE (its controller
 * checkpoint, at offset N)". */
int taml_ctrlfile_open(taml_ctrlfile *out, const void *buf, size_t size, const char *source,
                       taml_err *err);

#endif
