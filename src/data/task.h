/* data/task.h - a classification task loaded into memory: examples, labels,
 * splits, and for text the token ids of every example in one CSR layout.
 *
 * This is the interface every higher layer (embed, nn, search) reads; a
 * loaded task is immutable and shared read-only by all worker threads.
 *
 * Formats (docs/formats.md "Task directories"):
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

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef enum { TAML_TASK_TEXT = 0, TAML_TASK_IMAGE = 1 } taml_task_kind;
enum { TAML_TRAIN = 0, TAML_VALID = 1, TAML_TEST = 2 };

/* What a task's data is, in a few numbers: a study records it when it first
 * loads a task and refuses to continue on other data under the same name
 * (search/study.c). Computed at load (one pass of taml_hash64 over the
 * texts as they are read, the labels and the pixels afterwards: a few
 * milliseconds on the largest text task). Each digest covers one thing, so
 * a difference can be named: the split sizes, the class names, a split's
 * labels, a split's texts (byte for byte, in file order) or pixels. */
typedef struct taml_task_identity {
    uint64_t fingerprint; /* of everything below */
    int32_t image;        /* 1: an image task (content is pixels), 0: text */
    int32_t n_split[3];   /* examples in train, valid, test */
    int32_t n_classes;
    uint64_t classes;    /* the class names, in class order */
    uint64_t labels[3];  /* each split's class indices, row by row */
    uint64_t content[3]; /* each split's texts, or its pixels with the image shape */
} taml_task_identity;

typedef struct taml_task_opts {
    int32_t wide_min_count; /* a train token enters the wide vocabulary at this count (default 1) */
    int32_t wide_max;       /* at most this many wide features, most frequent first (default 1<<20) */
} taml_task_opts;

/* A loaded task. The fields are what callers may read, in place (the child
 * model reads the token arrays in its inner loops): read-only, for the life
 * of the task. A taml_task comes only from taml_task_load and goes to
 * taml_task_free: the loader keeps more behind it (the dictionary's index,
 * meta.txt: taml_task_word_id, taml_task_meta), so never allocate or copy
 * one by value. */
typedef struct taml_task {
    char *name;     /* meta.txt name=, else the directory's base name */
    char *dir;      /* the directory it was loaded from */
    char *language; /* meta.txt language= ("en", "es", ...), "" when unknown */
    char *source;   /* meta.txt source=, "" when unknown */
    char *license;  /* meta.txt license=, "" when unknown */
    taml_task_kind kind;

    int32_t n_classes;
    char **class_names; /* (n_classes) text: labels sorted by byte order; image: the
                         * label values present, in numeric order, as decimal
                         * strings or their classes.txt names */
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
    uint32_t *word_len;    /* (n_words) byte length of each word */
    int64_t text_bytes;    /* bytes of text read (for throughput figures) */

    /* Image tasks: one byte per pixel and channel, row-major. */
    int32_t height, width, channels;
    uint8_t *pixels; /* (n, height * width * channels) */

    /* Wall-clock seconds of the load's phases: reading (and gunzipping) the
     * files, checking lines (tabs, labels, UTF-8), tokenising the texts into
     * the dictionary (with its hash lookups). */
    double seconds_read, seconds_check, seconds_tokenise;
    int32_t wide_min_count, wide_max; /* the options the wide vocabulary was built with */

    taml_task_identity identity; /* the data's digests (see above) */
} taml_task;

/* Default options (min count 1, cap 1<<20: every train token, like the
 * reference implementation). */
taml_task_opts taml_task_default_opts(void);

/* Loads the task in directory dir. opts may be NULL (defaults). On failure
 * *out is NULL and err names the file, the line and what was expected:
 * TAML_ENOTFOUND for a missing directory or missing task files, TAML_EIO for
 * unreadable files, TAML_EFORMAT for malformed content (no TAB, empty label,
 * invalid UTF-8, bad IDX header, sizes that disagree, truncated gzip), and
 * TAML_EINVAL for well-formed input that cannot make a task (an empty file or
 * split, a single class, bad options).
 *
 * Wide vocabulary: the train-split tokens seen at least wide_min_count times
 * (occurrences, not documents); when more than wide_max qualify, the
 * wide_max most frequent (ties: first seen). Wide ids follow dictionary
 * order, so with the defaults wide id == dictionary id for every train word
 * (train rows come first, so their words take the first dictionary ids). */
int taml_task_load(taml_task **out, const char *dir, const taml_task_opts *opts, taml_err *err);
void taml_task_free(taml_task *t);
/* The kind of task directory dir holds, from the names of its files alone
 * (what taml_task_load would read: the three TSV splits or all.tsv, else
 * IDX files or images.u8), without reading them: TAML_TASK_TEXT,
 * TAML_TASK_IMAGE, or -1 when it holds no task files (or is no directory;
 * taml_task_load says what is wrong). */
int taml_task_dir_kind(const char *dir);

/* Share of the train split held by its most frequent class (in [0, 1]). */
double taml_task_majority_share(const taml_task *t);
/* Index of the most frequent class of the train split (ties: lowest index). */
int32_t taml_task_majority_class(const taml_task *t);

/* The dictionary id of token tok[0..len) (a tokeniser output, lower-cased),
 * or -1 when the task has no such word (and for image tasks). O(1),
 * read-only: safe from any number of threads. */
int32_t taml_task_word_id(const taml_task *t, const char *tok, size_t len);

/* The meta.txt value of key (the first, when the key repeats, as note= may),
 * or NULL when meta.txt has no such key. */
const char *taml_task_meta(const taml_task *t, const char *key);

/* Mean number of tokens per text over all rows (0 for image tasks). */
double taml_task_mean_tokens(const taml_task *t);

/* Reads the images of the file at path for a model of height x width x
 * channels: raw bytes, one image after another (a task's images.u8 layout),
 * or an IDX file of unsigned bytes (n x height x width for one channel, or n
 * x height x width x channels), either of them maybe gzipped. *pixels (heap,
 * caller frees) gets n x height x width x channels bytes. Errors name the
 * file and what was expected: TAML_EFORMAT when the size is no whole number
 * of images (or a gzip stream is damaged), TAML_EINVAL when an IDX file's
 * images have another shape than the model's or there are none. */
int taml_task_read_images(const char *path, int32_t height, int32_t width, int32_t channels,
                     uint8_t **pixels, int32_t *n, taml_err *err);

/* "text" or "image". */
const char *taml_task_kind_name(taml_task_kind kind);

#endif
