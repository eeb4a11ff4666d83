/* nn/features.c - per (task, module) features and their cache (see
 * features.h). */
#include "nn/features.h"
#include "nn/blas.h"
#include "nn/image_features.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 100 };

static int cmp_desc_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* Sum of the BATCH largest per-example counts of the train split: no batch of
 * train examples can hold more ids than that. */
static int64_t batch_max(const int64_t *off, int32_t n_train)
{
    int64_t *len = taml_malloc(sizeof *len * (size_t)(n_train > 0 ? n_train : 1));
    for (int32_t e = 0; e < n_train; e++) len[e] = off[e + 1] - off[e];
    qsort(len, (size_t)n_train, sizeof *len, cmp_desc_i64);
    int64_t s = 0;
    for (int32_t e = 0; e < n_train && e < BATCH; e++) s += len[e];
    /* a batch may repeat an example when the train split has fewer than BATCH */
    if (n_train > 0 && n_train < BATCH) s *= (BATCH + n_train - 1) / n_train;
    free(len);
    return s;
}

static int features_new(taml_features **out, const taml_task *t, const taml_module *m,
                        const taml_image_features_opts *image_opts, taml_err *err)
{
    *out = NULL;
    taml_features *f = taml_calloc(1, sizeof *f);
    f->task = t;
    f->module = m;
    if (t->kind == TAML_TASK_IMAGE) {
        if (m) { /* an image module: its pooled CNN features of every image */
            int rc = taml_image_features_compute(&f->pooled, &f->dim, t, m, image_opts, err);
            if (rc) {
                free(f);
                return rc;
            }
            *out = f;
            return 0;
        }
        f->dim = t->height * t->width * t->channels; /* "pixels": the raw pixels */
        if (f->dim <= 0) {
            free(f);
            return taml_err_set(err, TAML_EINVAL, "features: image task %s has no pixels", t->name);
        }
        *out = f;
        return 0;
    }
    if (taml_module_kind(m) != TAML_MODULE_TEXT) {
        int rc = taml_module_expect_kind(m, TAML_MODULE_TEXT, t->name, err);
        free(f);
        return rc;
    }
    if (!m) {
        free(f);
        return taml_err_set(err, TAML_EINVAL, "features: text task %s needs an embedding module",
                            t->name);
    }
    int32_t D = f->dim = taml_module_dim(m);
    /* the module rows of the task's words, in dictionary order */
    int32_t *row_of = taml_malloc(sizeof *row_of * (size_t)(t->n_words > 0 ? t->n_words : 1));
    float *rows = taml_malloc(sizeof *rows * (size_t)D * (size_t)(t->n_words > 0 ? t->n_words : 1));
    int32_t R = 0;
    for (int32_t w = 0; w < t->n_words; w++) {
        row_of[w] = -1;
        if (taml_module_lookup(m, t->words[w], strlen(t->words[w]), rows + (size_t)R * D))
            row_of[w] = R++;
    }
    f->n_rows = R;
    f->rows = taml_realloc(rows, sizeof *rows * (size_t)D * (size_t)(R > 0 ? R : 1));
    int64_t ntok = t->tok_off[t->n];
    f->deep_off = taml_malloc(sizeof(int64_t) * ((size_t)t->n + 1));
    f->wide_off = taml_malloc(sizeof(int64_t) * ((size_t)t->n + 1));
    f->deep_ids = taml_malloc(sizeof(int32_t) * (size_t)(ntok > 0 ? ntok : 1));
    f->wide_ids = taml_malloc(sizeof(int32_t) * (size_t)(ntok > 0 ? ntok : 1));
    f->pooled = taml_calloc((size_t)t->n * D + 1, sizeof(float));
    int64_t nd = 0, nw = 0;
    double *acc = taml_malloc(sizeof *acc * (size_t)D);
    for (int32_t e = 0; e < t->n; e++) {
        f->deep_off[e] = nd;
        f->wide_off[e] = nw;
        for (int64_t k = t->tok_off[e]; k < t->tok_off[e + 1]; k++) {
            int32_t w = t->tok[k];
            if (row_of[w] >= 0) f->deep_ids[nd++] = row_of[w];
            if (t->wide_of_word[w] >= 0) f->wide_ids[nw++] = t->wide_of_word[w];
        }
        /* mean in double, then rounded once */
        float *p = f->pooled + (size_t)e * D;
        int64_t cnt = nd - f->deep_off[e];
        if (cnt > 0) {
            memset(acc, 0, sizeof *acc * (size_t)D);
            for (int64_t k = f->deep_off[e]; k < nd; k++) {
                const float *r = f->rows + (size_t)f->deep_ids[k] * D;
                for (int32_t j = 0; j < D; j++) acc[j] += r[j];
            }
            for (int32_t j = 0; j < D; j++) p[j] = (float)(acc[j] / (double)cnt);
        }
    }
    f->deep_off[t->n] = nd;
    f->wide_off[t->n] = nw;
    f->token_coverage = ntok > 0 ? (double)nd / (double)ntok : 0;
    f->deep_batch_max = batch_max(f->deep_off, t->n_split[TAML_TRAIN]);
    f->wide_batch_max = batch_max(f->wide_off, t->n_split[TAML_TRAIN]);
    free(row_of);
    free(acc);
    *out = f;
    return 0;
}

int taml_features_new(taml_features **out, const taml_task *t, const taml_module *m,
                      taml_err *err)
{
    return features_new(out, t, m, NULL, err);
}

void taml_features_free(taml_features *f)
{
    if (!f) return;
    free(f->rows);
    free(f->deep_off);
    free(f->deep_ids);
    free(f->wide_off);
    free(f->wide_ids);
    free(f->pooled);
    free(f);
}

struct taml_features_cache {
    pthread_mutex_t lock;
    taml_image_features_opts image_opts;
    taml_features **items;
    size_t n, cap;
};

taml_features_cache *taml_features_cache_new(void)
{
    /* A cache is made before a search's worker threads start: loading BLAS
     * here keeps its setenv (blas.c) away from threads that may read the
     * environment, even when the caller forgot taml_blas_init (then with
     * the defaults; a call before this one decides the options). */
    taml_blas_init(NULL);
    taml_features_cache *c = taml_calloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void taml_features_cache_set_image_opts(taml_features_cache *c, const taml_image_features_opts *o)
{
    pthread_mutex_lock(&c->lock);
    c->image_opts = *o;
    pthread_mutex_unlock(&c->lock);
}

void taml_features_cache_free(taml_features_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) taml_features_free(c->items[i]);
    free(c->items);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int taml_features_cache_get(taml_features_cache *c, const taml_task *task,
                            const taml_module *module, const taml_features **out, taml_err *err)
{
    *out = NULL;
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n && !*out; i++)
        if (c->items[i]->task == task && c->items[i]->module == module) *out = c->items[i];
    if (!*out) {
        /* computed under the lock: concurrent first requests for one pair must not
         * compute it twice, and first requests are rare */
        taml_features *f = NULL;
        rc = features_new(&f, task, module, &c->image_opts, err);
        if (rc == 0) {
            if (c->n == c->cap) {
                c->cap = c->cap ? 2 * c->cap : 8;
                c->items = taml_realloc(c->items, c->cap * sizeof *c->items);
            }
            c->items[c->n++] = f;
            *out = f;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}
