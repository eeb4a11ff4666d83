/* nn/features.h - what a child reads from a (task, module) pair, computed once
 * and shared read-only: each example's module rows and wide ids (CSR), the
 * task's rows of the module (the starting table when fine-tuning), and the
 * mean-pooled embedding of every example (the deep tower's input when the
 * module is frozen, so a frozen-module child never pools during training).
 *
 * A search runs thousands of children on a few (task, module) pairs from
 * several threads: a taml_features_cache hands each pair's features to all of
 * them, computing them on first request under a lock.
 *
 * Beyond the paper's child, two more kinds of features, each computed on the
 * first request for its setting and then shared by every child of the
 * process (docs/formats.md "N-gram features" defines them):
 *   - n-gram parts of the wide tower (taml_features_part): for one kind
 *     (word or character n-grams), one n and one bucket count, each
 *     example's distinct features with their counts. They depend on the
 *     task only, so the features of one task made by one cache share them
 *     whatever the module. Only features of the train split have a row.
 *   - subwords of the deep tower (taml_features_subwords): for each word the
 *     module lacks, the rows of its character n-grams (TAML_SUBWORD_MIN ..
 *     MAX characters), over the n-grams of such words in the train split.
 */
#ifndef TAML_NN_FEATURES_H
#define TAML_NN_FEATURES_H

#include <stdint.h>

#include "core/err.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/image_features.h"

enum { TAML_GRAM_WORD = 0, TAML_GRAM_CHAR = 1 };

/* One part of the n-gram wide tower: the n-grams of one kind and length. */
typedef struct taml_ngrams_part {
    int kind;          /* TAML_GRAM_WORD or TAML_GRAM_CHAR */
    int n;             /* words or characters per n-gram */
    int64_t buckets;   /* hash buckets; 0 for single words (the task's wide vocabulary) */
    int32_t rows;      /* features with a row (single words: the wide vocabulary) */
    uint32_t *bucket;  /* (rows) the bucket of each row, in first-seen order; NULL for words */
    int64_t *off;      /* (n + 1) example e's features are ids[off[e] .. off[e+1]) */
    int32_t *ids;      /* rows, each once per example, in the order first seen in its text */
    int32_t *cnt;      /* (off[n]) occurrences of each in the example */
    float *idf;        /* (rows) ln((1 + n_train) / (1 + df)) + 1, df: train examples holding it */
    int64_t batch_max; /* most entries any 100 train examples hold */
} taml_ngrams_part;

/* The subword vectors' inputs: for every example the tokens the module lacks
 * that have at least one n-gram row, and for each such word its rows. */
typedef struct taml_subwords {
    int64_t buckets;
    int32_t rows;      /* n-gram vectors */
    uint32_t *bucket;  /* (rows) the bucket of each row */
    int32_t n_words;   /* words the module lacks with at least one row */
    int64_t *w_off;    /* (n_words + 1) word i's rows are w_rows[w_off[i] .. w_off[i+1]) */
    int32_t *w_rows;   /* in fastText's order (start, then length), repeats kept */
    int64_t *off;      /* (n + 1) example e's such tokens are words[off[e] .. off[e+1]) */
    int32_t *words;    /* indices of those words, in text order, repeats kept */
    int64_t batch_max; /* most n-gram entries (rows of all such tokens) of any 100 train examples */
} taml_subwords;

struct taml_features_ext;

typedef struct taml_features {
    const taml_task *task;
    const taml_module *module; /* image tasks: an image module, or NULL for "pixels" */
    int32_t dim;               /* deep input width: module dim (text: its vectors, image: its
                                * pooled CNN features), or pixels per image ("pixels") */

    /* Text tasks only (NULL/0 for images). */
    int32_t n_rows;    /* task words the module knows */
    float *rows;       /* (n_rows, dim) their vectors, in first-seen order */
    int64_t *deep_off; /* (n + 1) example e's rows are deep_ids[deep_off[e] .. deep_off[e+1]) */
    int32_t *deep_ids; /* row ids (tokens the module does not know are skipped) */
    int64_t *wide_off; /* (n + 1) example e's wide ids are wide_ids[wide_off[e] ..) */
    int32_t *wide_ids; /* task wide-feature ids (tokens outside the wide vocabulary skipped) */
    float *pooled;     /* (n, dim) mean of each example's rows; zero when it has none.
                        * Image tasks under an image module: every image's pooled CNN
                        * features (nn/image_features.h); NULL for "pixels" */
    int64_t deep_batch_max; /* most module rows any 100 train examples hold (with repeats) */
    int64_t wide_batch_max; /* the same for wide ids */
    double token_coverage;  /* share of all tokens the module knows */
    struct taml_features_ext *ext; /* n-gram parts and subwords, computed on request */
} taml_features;

/* Computes the features of (task, module). Text tasks need a text module;
 * image tasks take an image module (its CNN features, computed on the
 * machine's cores and cached on disk beside the task: nn/image_features.h)
 * or NULL (the raw pixels). A module of the other kind is refused
 * (TAML_EMISMATCH, naming both). The task and module must outlive the
 * result. */
int taml_features_new(taml_features **out, const taml_task *task, const taml_module *module,
                      taml_err *err);
void taml_features_free(taml_features *f);

/* The n-gram part (kind, n, buckets) of f's task (for TAML_GRAM_WORD with n
 * = 1, buckets is ignored: the task's wide vocabulary), computed on the first
 * request and kept as long as f (or the cache that made f) lives. Text tasks
 * only. Thread-safe: f stays shared read-only. */
int taml_features_part(const taml_features *f, int kind, int n, int64_t buckets,
                       const taml_ngrams_part **out, taml_err *err);
/* The tfidf weighting's scale of every example (n) over the parts of single
 * words, word n-grams 2 .. word_ngrams and character n-grams char_min ..
 * char_max (none when char_max is 0) of buckets: 1 / the L2 norm of the
 * example's weights (1 + ln count) idf over all of them
 * (taml_ngrams_tfidf, summed in double in part and entry order), 0 for an
 * example with none. Computed on first request, shared as the parts. */
int taml_features_tfidf_scale(const taml_features *f, int word_ngrams, int char_min, int char_max,
                              int64_t buckets, const float **scale, taml_err *err);
/* The subwords of f's (task, module) for buckets, computed on first request
 * as the parts are. */
int taml_features_subwords(const taml_features *f, int64_t buckets, const taml_subwords **out,
                           taml_err *err);

typedef struct taml_features_cache taml_features_cache;
/* Also loads the BLAS (taml_blas_init): make the cache before starting
 * worker threads. */
taml_features_cache *taml_features_cache_new(void);
/* Options of the image features the cache computes (threads, disk cache,
 * progress callback: nn/image_features.h); copied. Set them before the
 * first request. */
void taml_features_cache_set_image_opts(taml_features_cache *c, const taml_image_features_opts *o);
/* Frees the cache and every features object it handed out. */
void taml_features_cache_free(taml_features_cache *c);
/* The features of (task, module), computed on the first request for that pair
 * (by identity of the two pointers) and kept until the cache is freed.
 * Thread-safe; the result is read-only and shared. */
int taml_features_cache_get(taml_features_cache *c, const taml_task *task,
                            const taml_module *module, const taml_features **out, taml_err *err);

#endif
