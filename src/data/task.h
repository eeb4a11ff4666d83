/* data/task.h - a classification task loaded into memory: examples, labels,
 * splits, and for text the token ids of every example in one CSR layout.
 *
 * This is the interface every higher layer (embed, nn, search) reads; a
 * loaded task is immutable and shared read-only by all worker threads.
 *
 * Formats (README "File formats"):
 *   text:  DIR/train.tsv + valid.tsv + test.tsv, or DIR/all.tsv split in file
 *          order (first floor(0.8 n) train, next floor(0.1 n) valid, rest test);
 *          lines LABEL<TAB>TEXT in UTF-8; optional DIR/meta.txt (key=value).
 *   image: IDX files (MNIST format, optionally gzipped) or images.u8 +
 *          labels.u8 + meta.txt.
 * Rows are stored in split order: train rows [0, n_split[0]), then valid,
 * then test.
 */
#ifndef TAML_DATA_TASK_H
#define TAML_DATA_TASK_H

#include <stdint.h>

#include "core/err.h"

typedef enum { TAML_TASK_TEXT = 0, TAML_TASK_IMAGE = 1 } taml_task_kind;
enum { TAML_TRAIN = 0, TAML_VALID = 1, TAML_TEST = 2 };

typedef struct taml_task_opts {
    int32_t wide_min_count; /* a train token enters the wide vocabulary at this count (default 1) */
    int32_t wide_max;       /* at most this many wide features, most frequent first (default 1<<20) */
} taml_task_opts;

typedef struct taml_task {
    char *name;     /* meta.txt name=, else the directory's base name */
    char *dir;      /* the directory it was loaded from */
    char *language; /* meta.txt language= ("en", "es", ...), "" when unknown */
    char *source;   /* meta.txt source=, "" when unknown */
    char *license;  /* meta.txt license=, "" when unknown */
    taml_task_kind kind;

    int32_t n_classes;
    char **class_names; /* (n_classes) labels, sorted by byte order */
    int32_t n;          /* examples in all splits */
    int32_t n_split[3]; /* examples in train, valid, test (rows in that order) */
    int32_t *label;     /* (n) class index of each row */

    /* Text tasks. The dictionary holds every distinct token of all splits (a
     * module lookup needs the tokens of valid and test rows too); the wide
     * vocabulary is the part of it the wide tower learns weights for. */
    int32_t n_words;
    char **words;          /* (n_words) tokens, NUL-terminated UTF-8 */
    int64_t *tok_off;      /* (n + 1) row r's tokens are tok[tok_off[r] .. tok_off[r+1]) */
    int32_t *tok;          /* (tok_off[n]) dictionary ids, in text order, repeats kept */
    int32_t n_wide;        /* wide-tower features */
    int32_t *wide_of_word; /* (n_words) wide feature id of a dictionary word, or -1 */
    int64_t text_bytes;    /* bytes of text read (for throughput figures) */

    /* Image tasks: one byte per pixel and channel, row-major. */
    int32_t height, width, channels;
    uint8_t *pixels; /* (n, height * width * channels) */
} taml_task;

/* Default options (min count 1, cap 1<<20: every train token, like the
 * reference implementation). */
taml_task_opts taml_task_default_opts(void);

/* Loads the task in directory dir. opts may be NULL (defaults). On failure
 * *out is NULL and err names the file, the line and what was expected. */
int taml_task_load(taml_task **out, const char *dir, const taml_task_opts *opts, taml_err *err);
void taml_task_free(taml_task *t);

/* Share of the train split held by its most frequent class (in [0, 1]). */
double taml_task_majority_share(const taml_task *t);
/* Index of the most frequent class of the train split (ties: lowest index). */
int32_t taml_task_majority_class(const taml_task *t);

#endif
