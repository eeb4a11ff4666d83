/* embed/import.h - turning a standard word-vector file, or a CNN's layer
 * graph and weights (taml_module_import_cnn, at the end), into a taml module.
 *
 * Formats read (docs/modules.md "Importing a table"):
 *   word2vec-text   "COUNT DIM" line, then COUNT lines "word v1 .. vDIM"
 *   fasttext-vec    the same layout (fastText's .vec output); its end-of-line
 *                   marker "</s>" is dropped
 *   glove           no header; lines "word v1 .. vDIM", DIM from the first line
 *                   (in every text format the word is the first field, up to
 *                   the first space or tab: tables whose words hold spaces,
 *                   like GloVe 840B's few, give "not a number" errors)
 *   word2vec-bin    "COUNT DIM\n", then COUNT times: word, one space, DIM
 *                   float32 little-endian (a newline after each vector is
 *                   allowed, as word2vec writes it)
 *   vocab-f32       FILE: one word per line; the matrix: raw float32
 *                   little-endian (rows, DIM) in a second file (default
 *                   FILE with its extension replaced by ".f32")
 *
 * Word normalisation, so that module words meet task tokens: every word goes
 * through the task tokeniser (taml_tokenise: lower-cased runs of letters and
 * digits).
 *   - exactly one token covering the whole word ("The" -> "the"): kept as
 *     that token (an "exact" word);
 *   - exactly one token after dropping separators ("-ing" -> "ing",
 *     "hello!" -> "hello"): a "mapped" word, kept only when no exact word
 *     gives the same token (mapped words are added after all exact ones);
 *   - no token (",", "...") or several ("new_york", "u.s."): dropped;
 *   - the same token twice: the first occurrence in the file wins (files are
 *     usually sorted by frequency, so the most frequent form is kept), like
 *     the reference implementation's vocabulary.
 * Bad input is an error naming the file and line (or entry): wrong or
 * inconsistent dimensions, a value that is not a number, NaN or infinity,
 * a word that is not UTF-8, a count that does not match the header, a
 * truncated binary file, an empty file.
 */
#ifndef TAML_EMBED_IMPORT_H
#define TAML_EMBED_IMPORT_H

#include <stdint.h>

#include "core/err.h"
#include "embed/module.h"

typedef enum {
    TAML_VEC_WORD2VEC_TEXT,
    TAML_VEC_FASTTEXT_VEC,
    TAML_VEC_GLOVE,
    TAML_VEC_WORD2VEC_BIN,
    TAML_VEC_VOCAB_F32,
} taml_vec_format;

/* Parses a format name ("word2vec-text", ...); returns 0 or TAML_EINVAL. */
int taml_vec_format_parse(const char *name, taml_vec_format *out, taml_err *err);

typedef struct taml_import_opts {
    taml_vec_format format;
    const char *matrix_path; /* vocab-f32 only; NULL: FILE's extension -> .f32 */
    int32_t dim;             /* expected dimension, 0: take the file's */
    int64_t max_words;       /* stop after this many input words, 0: all */
    const char *const *meta; /* extra "key=value" metadata entries (n_meta) */
    int n_meta;
} taml_import_opts;

typedef struct taml_import_stats {
    int64_t read;       /* words read from the file */
    int64_t exact;      /* kept: the word was one token */
    int64_t mapped;     /* kept: one token after dropping separators */
    int64_t not_one_token; /* dropped: no token or several */
    int64_t duplicate;  /* dropped: a word earlier in the file gave the same token */
    int32_t dim;
    double seconds;
} taml_import_stats;

/* Reads the vector file at path and writes the module to out_path
 * (atomically), with the metadata of info plus the import statistics.
 * stats may be NULL. An input in which no word survives is an error. */
int taml_module_import(const char *path, const taml_import_opts *opts,
                       const taml_module_info *info, const char *out_path,
                       taml_import_stats *stats, taml_err *err);

/* ---- Image modules: a CNN's graph (cnn.json) and weights (weights.f32) ----
 *
 * cnn.json is one object of format "taml-cnn-1" (written by scripts/modules/
 * from nsfwjs's models; docs/modules.md lists its members): network, width
 * (optional), source, license, trained_on, cut, input {size, min_input,
 * scale[3], shift[3]}, pooling {kind: global | grid, grid}, ops (each {op,
 * name, in, and the op's attributes: embed/image_graph.h}), output,
 * weights_floats. The weights file holds exactly weights_floats float32
 * little-endian, all finite. Every member is checked; an unknown one is
 * refused (a misspelt attribute would otherwise be a silent default), and so
 * is a graph whose shapes do not fit together at its input size. Errors name
 * the file, the op (index and name) and the field:
 *   m.json: op 3 (block_1_expand): k: expected [kh, kw]: 2 integers 1 .. 64
 */
typedef struct taml_cnn_import_opts {
    const char *name;        /* the module's name (required) */
    const char *matrix_path; /* NULL: the JSON's path with its extension -> .f32 */
    const char *source, *license; /* NULL: the JSON's */
    const char *const *meta; /* extra "key=value" metadata entries (n_meta) */
    int n_meta;
} taml_cnn_import_opts;

typedef struct taml_cnn_import_stats {
    int32_t ops, dim, input_size;
    int64_t weights; /* floats */
    double mflops;   /* per image */
    double seconds;
} taml_cnn_import_stats;

/* Reads the graph at path and its weights and writes the image module to
 * out_path (atomically). stats may be NULL. */
int taml_module_import_cnn(const char *path, const taml_cnn_import_opts *opts,
                           const char *out_path, taml_cnn_import_stats *stats, taml_err *err);

#endif
