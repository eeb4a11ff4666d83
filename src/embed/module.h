/* embed/module.h - a pre-trained embedding module: a vocabulary and a float32
 * matrix (text), or a CNN's layer graph and weights (image), opened read-only
 * with mmap and shared by every worker.
 *
 * This is the small interface the child model uses; the file format (and
 * its version 1, still read) is described at the top of embed/module.c, the
 * importers and the module library in docs/modules.md (the format: docs/formats.md). A module
 * is immutable once opened: fine-tuning copies rows.
 */
#ifndef TAML_EMBED_MODULE_H
#define TAML_EMBED_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "embed/image_graph.h"

typedef struct taml_module taml_module;

/* The two kinds of module (the file's section table says which). */
enum { TAML_MODULE_TEXT = 0, TAML_MODULE_IMAGE = 1 };

/* Opens a module by path, or by name: the file NAME.tamlm in the module
 * library directory `library` (the CLI's --modules, $TAML_MODULES or
 * <taml home>/data/modules; NULL or "": names are not found, only paths and
 * random-D). "random-D" (D a positive integer) names the built-in baseline
 * with no pre-training: a D-dimensional N(0, 1/D) vector for every possible
 * word, seeded from the word's bytes. Corrupt or truncated files are refused
 * (checksum), naming the file, the offset and the field. */
int taml_module_open(taml_module **out, const char *name_or_path, const char *library,
                     taml_err *err);
void taml_module_close(taml_module *m);

const char *taml_module_name(const taml_module *m);
const char *taml_module_language(const taml_module *m);
/* Text: the vectors' dimension; image: the features per image after pooling. */
int32_t taml_module_dim(const taml_module *m);
/* TAML_MODULE_TEXT (also random-D) or TAML_MODULE_IMAGE; its name ("text",
 * "image"). */
int taml_module_kind(const taml_module *m);
const char *taml_module_kind_name(int kind);
/* The layer graph of an image module (resolved at open, its weights in the
 * mapped file; valid until the module is closed), NULL for a text module. */
const taml_image_graph *taml_module_image(const taml_module *m);
/* TAML_OK when m is of the kind a task needs, else TAML_EMISMATCH naming
 * both: "module 'mnv2-b13e-96-g2' is an image module (a CNN feature
 * extractor); task 'sst2' is a text task: it needs a text module". task
 * names the task in the message. */
int taml_module_expect_kind(const taml_module *m, int kind, const char *task, taml_err *err);
/* Rows in the vocabulary (0 for random-D, which knows every word). */
int64_t taml_module_rows(const taml_module *m);
/* The CRC-32 of the file, as stored in it and checked when it was opened
 * (the stamp's crc32, below); 0 for random-D. Identifies the module's
 * contents, e.g. in the key of features cached on disk. */
uint32_t taml_module_checksum(const taml_module *m);

/* Copies the vector of word (a token as the tokeniser makes it, len bytes)
 * into out (dim floats) and returns 1, or returns 0 when the module does not
 * know the word (out untouched). Thread-safe. */
int taml_module_lookup(const taml_module *m, const char *word, size_t len, float *out);

/* ---- Beyond the child's interface: inspection, the library, writing. ---- */

/* The file a module was opened from ("" for random-D). */
const char *taml_module_path(const taml_module *m);
/* 1 for the built-in random-D baseline, else 0. */
int taml_module_is_random(const taml_module *m);
/* Training-corpus size in tokens from the metadata (0 when unknown). */
int64_t taml_module_corpus_tokens(const taml_module *m);
/* The metadata value of key ("name", "language", "corpus", "corpus_tokens",
 * "algorithm", "source", "license", or any extra key an importer stored), or
 * "" when absent. Valid until the module is closed. */
const char *taml_module_meta(const taml_module *m, const char *key);
/* Metadata entries in file order: i in [0, taml_module_meta_count(m)). */
size_t taml_module_meta_count(const taml_module *m);
void taml_module_meta_at(const taml_module *m, size_t i, const char **key, const char **value);

/* Row of word (len bytes) or -1 when unknown (always -1 for random-D).
 * Thread-safe; one hash probe sequence in the mapped file, no allocation. */
int64_t taml_module_find(const taml_module *m, const char *word, size_t len);
/* The word of row r (NUL-terminated, in the mapped file), r in [0, rows). */
const char *taml_module_word(const taml_module *m, int64_t r);
/* The vector of row r: (dim) floats in the mapped file, 64-byte aligned
 * matrix, read-only. */
const float *taml_module_vector(const taml_module *m, int64_t r);

/* What tells one module file from another without opening it (which checks
 * the whole file's CRC): the file a name resolves to, its size and the
 * CRC-32 stored in it (every module file carries one: version 1 in its
 * trailer, version 2 at its end), the one opening checks. A study records
 * it for each module its space names and refuses another file under the
 * same name. */
typedef struct taml_module_stamp {
    char *path;     /* heap: the file */
    uint64_t size;  /* bytes */
    uint32_t crc32; /* as stored in the file */
    int kind;       /* TAML_MODULE_TEXT or TAML_MODULE_IMAGE (the section table's;
                     * not part of what a study compares) */
} taml_module_stamp;

/* The stamp of the module name_or_path (resolved as taml_module_open does).
 * Returns 1 with *out filled, 0 for random-D (no file; *out empty), or a
 * negative status: not found (ENOTFOUND, as taml_module_open says it),
 * unreadable (EIO) or not a module file of a version this taml reads
 * (ECORRUPT), each naming the file. taml_module_stamp_deinit frees it. */
int taml_module_stamp_get(taml_module_stamp *out, const char *name_or_path, const char *library,
                          taml_err *err);
void taml_module_stamp_deinit(taml_module_stamp *s);

/* If s names the built-in baseline ("random-D", D in [1, 65536]) returns 1
 * and sets *dim, else 0. */
int taml_module_parse_random(const char *s, int32_t *dim);

/* Writing a module (importers, tests). Words are added in order; a word
 * already added is ignored (the first occurrence wins). The writer holds the
 * whole table in memory and writes the file in one pass at finish, atomically
 * (path.tmp, fsync, rename), so a reader never sees a half-written module. */
typedef struct taml_module_writer taml_module_writer;

/* Metadata every module carries; NULL strings are stored as "". */
typedef struct taml_module_info {
    const char *name, *language, *corpus, *algorithm, *source, *license;
    int64_t corpus_tokens;
} taml_module_info;

taml_module_writer *taml_module_writer_new(int32_t dim, const taml_module_info *info);
/* A writer of an image module: g resolved (taml_image_graph_resolve), its
 * graph encoded and its n_weights weights copied now (g may go after this
 * call). Metadata starts with name and kind=image; the importer adds the
 * rest (taml_module_writer_set). taml_module_writer_add is refused. */
taml_module_writer *taml_module_writer_new_image(const taml_image_graph *g, const char *name);
void taml_module_writer_free(taml_module_writer *w);
/* Stores an extra metadata entry (key: [a-z0-9_]+; value: one line of UTF-8).
 * Setting a key again replaces its value. */
int taml_module_writer_set(taml_module_writer *w, const char *key, const char *value,
                           taml_err *err);
/* Adds word (len bytes, valid UTF-8, no NUL/control bytes, not empty) with
 * vector vec (dim floats, all finite). Returns 1 when added, 0 when the word
 * was already there (ignored), or a negative status (TAML_EFORMAT) naming
 * what is wrong with the word or which component is not finite (TAML_EINVAL
 * for an image module's writer). */
int taml_module_writer_add(taml_module_writer *w, const char *word, size_t len, const float *vec,
                           taml_err *err);
int64_t taml_module_writer_rows(const taml_module_writer *w);
/* Writes the module file to path (creating nothing else). The writer stays
 * valid (finish can be called again, e.g. to another path). */
int taml_module_writer_finish(taml_module_writer *w, const char *path, taml_err *err);

#endif
