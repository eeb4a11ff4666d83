/* embed/module.h - a pre-trained embedding module: a vocabulary and a float32
 * matrix (text), opened read-only with mmap and shared by every worker.
 *
 * This is the small interface the child model uses; the file format, the
 * importers and the module library are described in README "Embedding
 * modules". A module is immutable once opened: fine-tuning copies rows.
 */
#ifndef TAML_EMBED_MODULE_H
#define TAML_EMBED_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct taml_module taml_module;

/* Opens a module by path, or by name in the module library directory
 * ($TAML_MODULES, else <taml home>/data/modules). "random-D" (D a positive
 * integer) names the built-in baseline with no pre-training: a D-dimensional
 * N(0, 1/D) vector for every possible word, seeded from the word's bytes.
 * Corrupt or truncated files are refused (checksum). */
int taml_module_open(taml_module **out, const char *name_or_path, taml_err *err);
void taml_module_close(taml_module *m);

const char *taml_module_name(const taml_module *m);
const char *taml_module_language(const taml_module *m);
int32_t taml_module_dim(const taml_module *m);
/* Rows in the vocabulary (0 for random-D, which knows every word). */
int64_t taml_module_rows(const taml_module *m);

/* Copies the vector of word (a token as the tokeniser makes it, len bytes)
 * into out (dim floats) and returns 1, or returns 0 when the module does not
 * know the word (out untouched). Thread-safe. */
int taml_module_lookup(const taml_module *m, const char *word, size_t len, float *out);

#endif
