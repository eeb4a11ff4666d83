/* nn/features.h - what a child reads from a (task, module) pair, computed once
 * and shared read-only: each example's module rows and wide ids (CSR), the
 * task's rows of the module (the starting table when fine-tuning), and the
 * mean-pooled embedding of every example (the deep tower's input when the
 * module is frozen, so a frozen-module child never pools during training).
 *
 * A search runs thousands of children on a few (task, module) pairs from
 * several threads: a taml_features_cache hands each pair's features to all of
 * them, computing them on first request under a lock.
 */
#ifndef TAML_NN_FEATURES_H
#define TAML_NN_FEATURES_H

#include <stdint.h>

#include "core/err.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/image_features.h"

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
