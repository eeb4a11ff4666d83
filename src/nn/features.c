/* nn/features.c - per (task, module) features, the n-gram parts and
 * subwords computed on request, and their cache (see features.h). */
#include "nn/features.h"
#include "nn/blas.h"
#include "nn/image_features.h"
#include "nn/ngrams.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The n-gram parts of one task: shared by the features of the task that one
 * cache makes (they do not depend on the module), or owned by one features
 * object made alone. */
typedef struct scale_item {
    int word_ngrams, char_min, char_max;
    int64_t buckets;
    float *scale; /* (n) */
} scale_item;

typedef struct task_parts {
    const taml_task *task;
    pthread_mutex_t lock;
    taml_ngrams_part **items;
    size_t n, cap;
    scale_item *scales; /* the tfidf scales computed (guarded by lock too) */
    size_t n_scales;
} task_parts;

struct taml_features_ext {
    task_parts *parts;
    int own_parts;
    pthread_mutex_t lock; /* guards sw */
    int32_t *row_of;      /* (n_words) the module row of each dictionary word, or -1 */
    taml_subwords **sw;
    size_t n_sw;
};

enum { BATCH = 100 };

static int cmp_desc_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* Sum of the BATCH largest of the train split's per-example counts len (n_train,
 * reordered): no batch of train examples can hold more ids than that. */
static int64_t batch_max_of(int64_t *len, int32_t n_train)
{
    qsort(len, (size_t)n_train, sizeof *len, cmp_desc_i64);
    int64_t s = 0;
    for (int32_t e = 0; e < n_train && e < BATCH; e++) s += len[e];
    /* a batch may repeat an example when the train split has fewer than BATCH */
    if (n_train > 0 && n_train < BATCH) s *= (BATCH + n_train - 1) / n_train;
    return s;
}

/* batch_max_of over the lengths of a CSR's train examples. */
static int64_t batch_max(const int64_t *off, int32_t n_train)
{
    int64_t *len = taml_malloc(sizeof *len * (size_t)(n_train > 0 ? n_train : 1));
    for (int32_t e = 0; e < n_train; e++) len[e] = off[e + 1] - off[e];
    int64_t s = batch_max_of(len, n_train);
    free(len);
    return s;
}

static task_parts *task_parts_new(const taml_task *t)
{
    task_parts *p = taml_calloc(1, sizeof *p);
    p->task = t;
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

static void part_free(taml_ngrams_part *p)
{
    if (!p) return;
    free(p->bucket);
    free(p->off);
    free(p->ids);
    free(p->cnt);
    free(p->idf);
    free(p);
}

static void task_parts_free(task_parts *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) part_free(p->items[i]);
    free(p->items);
    for (size_t i = 0; i < p->n_scales; i++) free(p->scales[i].scale);
    free(p->scales);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static void subwords_free(taml_subwords *s)
{
    if (!s) return;
    free(s->bucket);
    free(s->w_off);
    free(s->w_rows);
    free(s->off);
    free(s->words);
    free(s);
}

static struct taml_features_ext *ext_new(task_parts *shared, const taml_task *t)
{
    struct taml_features_ext *x = taml_calloc(1, sizeof *x);
    x->parts = shared ? shared : task_parts_new(t);
    x->own_parts = !shared;
    pthread_mutex_init(&x->lock, NULL);
    return x;
}

static void ext_free(struct taml_features_ext *x)
{
    if (!x) return;
    if (x->own_parts) task_parts_free(x->parts);
    for (size_t i = 0; i < x->n_sw; i++) subwords_free(x->sw[i]);
    free(x->sw);
    free(x->row_of);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

/* taml_features_new with the task's n-gram parts shared (NULL: its own). */
static int features_new(taml_features **out, const taml_task *t, const taml_module *m,
                        task_parts *shared, const taml_image_features_opts *image_opts,
                        taml_err *err)
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
    if (!m) {
        free(f);
        return taml_err_set(err, TAML_EINVAL, "features: text task %s needs an embedding module",
                            t->name);
    }
    if (taml_module_kind(m) != TAML_MODULE_TEXT) {
        int rc = taml_module_expect_kind(m, TAML_MODULE_TEXT, t->name, err);
        free(f);
        return rc;
    }
    f->ext = ext_new(shared, t);
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
    f->ext->row_of = row_of; /* the subwords need it */
    free(acc);
    *out = f;
    return 0;
}

int taml_features_new(taml_features **out, const taml_task *t, const taml_module *m,
                      taml_err *err)
{
    return features_new(out, t, m, NULL, NULL, err);
}

void taml_features_free(taml_features *f)
{
    if (!f) return;
    ext_free(f->ext);
    free(f->rows);
    free(f->deep_off);
    free(f->deep_ids);
    free(f->wide_off);
    free(f->wide_ids);
    free(f->pooled);
    free(f);
}

/* ---- n-gram parts ---------------------------------------------------------- */

/* Builds a part's CSR: each example's rows once, first-seen order, counted.
 * stamp and where are per row (grown with the rows). */
typedef struct part_builder {
    taml_ngrams_part *p;
    int64_t len, cap;  /* entries of ids / cnt */
    int32_t *stamp;    /* (row_cap) 1 + the last example that held the row, 0: none */
    int64_t *where;    /* (row_cap) its entry in that example */
    int32_t row_cap;
    int64_t *ex_len;   /* (n_train) entries of each train example, for batch_max */
} part_builder;

static void pb_init(part_builder *b, taml_ngrams_part *p, const taml_task *t)
{
    memset(b, 0, sizeof *b);
    b->p = p;
    p->off = taml_malloc(sizeof(int64_t) * ((size_t)t->n + 1));
    b->cap = 1024;
    p->ids = taml_malloc(sizeof(int32_t) * (size_t)b->cap);
    p->cnt = taml_malloc(sizeof(int32_t) * (size_t)b->cap);
    b->ex_len = taml_malloc(sizeof(int64_t) * (size_t)(t->n_split[TAML_TRAIN] + 1));
}

/* Makes room for rows 0 .. rows - 1. */
static void pb_rows(part_builder *b, int32_t rows)
{
    if (rows <= b->row_cap) return;
    int32_t cap = b->row_cap ? b->row_cap : 1024;
    while (cap < rows) cap = cap > INT32_MAX / 2 ? INT32_MAX : 2 * cap;
    b->stamp = taml_realloc(b->stamp, sizeof *b->stamp * (size_t)cap);
    b->where = taml_realloc(b->where, sizeof *b->where * (size_t)cap);
    memset(b->stamp + b->row_cap, 0, sizeof *b->stamp * (size_t)(cap - b->row_cap));
    b->row_cap = cap;
}

static void pb_add(part_builder *b, int32_t e, int32_t row)
{
    if (b->stamp[row] == e + 1) {
        b->p->cnt[b->where[row]]++;
        return;
    }
    if (b->len == b->cap) {
        b->cap *= 2;
        b->p->ids = taml_realloc(b->p->ids, sizeof(int32_t) * (size_t)b->cap);
        b->p->cnt = taml_realloc(b->p->cnt, sizeof(int32_t) * (size_t)b->cap);
    }
    b->stamp[row] = e + 1;
    b->where[row] = b->len;
    b->p->ids[b->len] = row;
    b->p->cnt[b->len] = 1;
    b->len++;
}

/* Example e begins (call for e = 0 .. n in order; e = n ends the CSR). */
static void pb_example(part_builder *b, const taml_task *t, int32_t e)
{
    if (e > 0 && e - 1 < t->n_split[TAML_TRAIN]) b->ex_len[e - 1] = b->len - b->p->off[e - 1];
    b->p->off[e] = b->len;
}

static void pb_finish(part_builder *b, const taml_task *t)
{
    taml_ngrams_part *p = b->p;
    size_t keep = (size_t)(b->len > 0 ? b->len : 1);
    p->ids = taml_realloc(p->ids, sizeof(int32_t) * keep);
    p->cnt = taml_realloc(p->cnt, sizeof(int32_t) * keep);
    p->batch_max = batch_max_of(b->ex_len, t->n_split[TAML_TRAIN]);
    /* document frequencies over the train split: each example lists a row once */
    int32_t n_train = t->n_split[TAML_TRAIN];
    int64_t *df = taml_calloc((size_t)(p->rows > 0 ? p->rows : 1), sizeof *df);
    for (int64_t k = 0; k < p->off[n_train]; k++) df[p->ids[k]]++;
    p->idf = taml_malloc(sizeof *p->idf * (size_t)(p->rows > 0 ? p->rows : 1));
    for (int32_t r = 0; r < p->rows; r++) p->idf[r] = taml_ngrams_idf(df[r], n_train);
    free(df);
    free(b->stamp);
    free(b->where);
    free(b->ex_len);
}

/* A row for bucket bk: a new one in the train split (first-seen order), an
 * existing one (or -1) elsewhere. */
static int32_t bucket_row(taml_ngrams_map *map, taml_ngrams_part *p, uint32_t bk, int train,
                          size_t *bucket_cap)
{
    if (!train) return taml_ngrams_map_get(map, bk);
    int32_t row = taml_ngrams_map_put(map, bk, p->rows);
    if (row == p->rows) {
        if ((size_t)p->rows == *bucket_cap) {
            *bucket_cap = *bucket_cap ? 2 * *bucket_cap : 1024;
            p->bucket = taml_realloc(p->bucket, sizeof *p->bucket * *bucket_cap);
        }
        p->bucket[p->rows++] = bk;
    }
    return row;
}

/* Single words: the task's wide vocabulary, each example's wide ids counted. */
static void part_words(taml_ngrams_part *p, const taml_task *t)
{
    part_builder b;
    pb_init(&b, p, t);
    p->rows = t->n_wide;
    pb_rows(&b, p->rows > 0 ? p->rows : 1);
    for (int32_t e = 0; e < t->n; e++) {
        pb_example(&b, t, e);
        for (int64_t k = t->tok_off[e]; k < t->tok_off[e + 1]; k++) {
            int32_t w = t->wide_of_word[t->tok[k]];
            if (w >= 0) pb_add(&b, e, w);
        }
    }
    pb_example(&b, t, t->n);
    pb_finish(&b, t);
}

/* Word n-grams (n >= 2) of consecutive tokens (all tokens, the wide
 * vocabulary's or not), hashed. */
static void part_word_ngrams(taml_ngrams_part *p, const taml_task *t)
{
    uint64_t *h = taml_malloc(sizeof *h * (size_t)(t->n_words > 0 ? t->n_words : 1));
    for (int32_t w = 0; w < t->n_words; w++) h[w] = taml_ngrams_token_hash(t->words[w], t->word_len[w]);
    uint64_t *win = taml_malloc(sizeof *win * (size_t)p->n);
    taml_ngrams_map *map = taml_ngrams_map_new(1 << 16);
    size_t bucket_cap = 0;
    int32_t n_train = t->n_split[TAML_TRAIN];
    part_builder b;
    pb_init(&b, p, t);
    for (int32_t e = 0; e < t->n; e++) {
        pb_example(&b, t, e);
        for (int64_t k = t->tok_off[e]; k + p->n <= t->tok_off[e + 1]; k++) {
            for (int j = 0; j < p->n; j++) win[j] = h[t->tok[k + j]];
            int32_t row = bucket_row(map, p, taml_ngrams_word_bucket(win, p->n, p->buckets),
                                     e < n_train, &bucket_cap);
            if (row < 0) continue;
            pb_rows(&b, p->rows);
            pb_add(&b, e, row);
        }
    }
    pb_example(&b, t, t->n);
    pb_finish(&b, t);
    taml_ngrams_map_free(map);
    free(win);
    free(h);
}

/* The rows of each dictionary word's character n-grams (nmin .. nmax), made
 * when the word is first seen: new rows for a word first seen in the train
 * split (train rows come first, so every train word is), existing ones
 * otherwise. A CSR over words, filled lazily. */
typedef struct word_grams {
    int64_t *start;   /* (n_words) first entry of word w in rows, -1: not yet made */
    int32_t *len;     /* (n_words) */
    int32_t *rows;
    int64_t n, cap;
    uint32_t *tmp;
    size_t tmp_cap;
} word_grams;

static void wg_init(word_grams *g, const taml_task *t)
{
    memset(g, 0, sizeof *g);
    size_t nw = (size_t)(t->n_words > 0 ? t->n_words : 1);
    g->start = taml_malloc(sizeof *g->start * nw);
    for (int32_t w = 0; w < t->n_words; w++) g->start[w] = -1;
    g->len = taml_calloc(nw, sizeof *g->len);
}

static void wg_free(word_grams *g)
{
    free(g->start);
    free(g->len);
    free(g->rows);
    free(g->tmp);
}

/* Word w's rows (made on first sight; *len set). */
static const int32_t *wg_rows(word_grams *g, const taml_task *t, int32_t w, int nmin, int nmax,
                              taml_ngrams_map *map, taml_ngrams_part *p, int64_t buckets,
                              uint32_t **bucket, int32_t *rows, int train, size_t *bucket_cap,
                              int32_t *len)
{
    if (g->start[w] < 0) {
        size_t need = taml_ngrams_char_max(t->word_len[w], nmin, nmax);
        if (need > g->tmp_cap) {
            g->tmp_cap = need;
            g->tmp = taml_realloc(g->tmp, sizeof *g->tmp * need);
        }
        size_t k = taml_ngrams_char_buckets(t->words[w], t->word_len[w], nmin, nmax, buckets, g->tmp);
        while (g->n + (int64_t)k > g->cap) {
            g->cap = g->cap ? 2 * g->cap : 1 << 16;
            g->rows = taml_realloc(g->rows, sizeof *g->rows * (size_t)g->cap);
        }
        g->start[w] = g->n;
        for (size_t i = 0; i < k; i++) {
            int32_t r;
            if (p) {
                r = bucket_row(map, p, g->tmp[i], train, bucket_cap);
            } else { /* subwords: the same, into their own bucket list */
                if (!train) r = taml_ngrams_map_get(map, g->tmp[i]);
                else {
                    r = taml_ngrams_map_put(map, g->tmp[i], *rows);
                    if (r == *rows) {
                        if ((size_t)*rows == *bucket_cap) {
                            *bucket_cap = *bucket_cap ? 2 * *bucket_cap : 1024;
                            *bucket = taml_realloc(*bucket, sizeof **bucket * *bucket_cap);
                        }
                        (*bucket)[(*rows)++] = g->tmp[i];
                    }
                }
            }
            if (r >= 0) g->rows[g->n++] = r;
        }
        g->len[w] = (int32_t)(g->n - g->start[w]);
    }
    *len = g->len[w];
    return g->rows + g->start[w];
}

/* Character n-grams of n characters of every token. */
static void part_char_ngrams(taml_ngrams_part *p, const taml_task *t)
{
    taml_ngrams_map *map = taml_ngrams_map_new(1 << 16);
    size_t bucket_cap = 0;
    int32_t n_train = t->n_split[TAML_TRAIN];
    word_grams g;
    wg_init(&g, t);
    part_builder b;
    pb_init(&b, p, t);
    for (int32_t e = 0; e < t->n; e++) {
        pb_example(&b, t, e);
        for (int64_t k = t->tok_off[e]; k < t->tok_off[e + 1]; k++) {
            int32_t len;
            const int32_t *r = wg_rows(&g, t, t->tok[k], p->n, p->n, map, p, p->buckets, NULL,
                                       NULL, e < n_train, &bucket_cap, &len);
            pb_rows(&b, p->rows);
            for (int32_t i = 0; i < len; i++) pb_add(&b, e, r[i]);
        }
    }
    pb_example(&b, t, t->n);
    pb_finish(&b, t);
    wg_free(&g);
    taml_ngrams_map_free(map);
}

int taml_features_part(const taml_features *f, int kind, int n, int64_t buckets,
                       const taml_ngrams_part **out, taml_err *err)
{
    *out = NULL;
    const taml_task *t = f->task;
    if (t->kind != TAML_TASK_TEXT || !f->ext)
        return taml_err_set(err, TAML_EINVAL, "features: task %s: n-grams are for text tasks",
                            t->name);
    if ((kind != TAML_GRAM_WORD && kind != TAML_GRAM_CHAR) || n < 1 ||
        n > (kind == TAML_GRAM_WORD ? TAML_NGRAM_WORD_MAX : TAML_NGRAM_CHAR_MAX) || buckets < 1 ||
        buckets > TAML_NGRAM_BUCKETS_MAX)
        return taml_err_set(err, TAML_EINVAL, "features: no n-gram part of kind %d, n %d, %lld buckets",
                            kind, n, (long long)buckets);
    if (kind == TAML_GRAM_WORD && n == 1) buckets = 0;
    task_parts *ps = f->ext->parts;
    pthread_mutex_lock(&ps->lock);
    for (size_t i = 0; i < ps->n && !*out; i++) {
        const taml_ngrams_part *p = ps->items[i];
        if (p->kind == kind && p->n == n && p->buckets == buckets) *out = p;
    }
    if (!*out) {
        /* computed under the lock, as the cache computes features: first
         * requests are rare and must not compute a part twice */
        taml_ngrams_part *p = taml_calloc(1, sizeof *p);
        p->kind = kind, p->n = n, p->buckets = buckets;
        if (kind == TAML_GRAM_WORD && n == 1) part_words(p, t);
        else if (kind == TAML_GRAM_WORD) part_word_ngrams(p, t);
        else part_char_ngrams(p, t);
        if (ps->n == ps->cap) {
            ps->cap = ps->cap ? 2 * ps->cap : 8;
            ps->items = taml_realloc(ps->items, ps->cap * sizeof *ps->items);
        }
        ps->items[ps->n++] = p;
        *out = p;
    }
    pthread_mutex_unlock(&ps->lock);
    return 0;
}

int taml_features_tfidf_scale(const taml_features *f, int word_ngrams, int char_min, int char_max,
                              int64_t buckets, const float **scale, taml_err *err)
{
    *scale = NULL;
    const taml_ngrams_part *parts[TAML_NGRAM_WORD_MAX + TAML_NGRAM_CHAR_MAX];
    int np = 0, rc = 0;
    for (int k = 1; k <= word_ngrams && !rc; k++)
        rc = taml_features_part(f, TAML_GRAM_WORD, k, buckets, &parts[np++], err);
    for (int k = char_min; char_max > 0 && k <= char_max && !rc; k++)
        rc = taml_features_part(f, TAML_GRAM_CHAR, k, buckets, &parts[np++], err);
    if (rc) return rc;
    const taml_task *t = f->task;
    task_parts *ps = f->ext->parts;
    pthread_mutex_lock(&ps->lock);
    for (size_t i = 0; i < ps->n_scales && !*scale; i++) {
        const scale_item *s = &ps->scales[i];
        if (s->word_ngrams == word_ngrams && s->char_min == char_min && s->char_max == char_max &&
            s->buckets == buckets)
            *scale = s->scale;
    }
    if (!*scale) {
        float *sc = taml_malloc(sizeof *sc * (size_t)(t->n > 0 ? t->n : 1));
        for (int32_t e = 0; e < t->n; e++) {
            double sum = 0;
            for (int k = 0; k < np; k++)
                for (int64_t q = parts[k]->off[e]; q < parts[k]->off[e + 1]; q++) {
                    float v = taml_ngrams_tfidf(parts[k]->cnt[q], parts[k]->idf[parts[k]->ids[q]]);
                    sum += (double)v * v;
                }
            sc[e] = taml_ngrams_scale(sum);
        }
        ps->scales = taml_realloc(ps->scales, (ps->n_scales + 1) * sizeof *ps->scales);
        ps->scales[ps->n_scales++] = (scale_item){word_ngrams, char_min, char_max, buckets, sc};
        *scale = sc;
    }
    pthread_mutex_unlock(&ps->lock);
    return 0;
}

/* ---- subwords ---------------------------------------------------------------- */

static taml_subwords *make_subwords(const taml_features *f, int64_t buckets)
{
    const taml_task *t = f->task;
    const int32_t *row_of = f->ext->row_of;
    taml_subwords *s = taml_calloc(1, sizeof *s);
    s->buckets = buckets;
    taml_ngrams_map *map = taml_ngrams_map_new(1 << 16);
    size_t bucket_cap = 0, nw = (size_t)(t->n_words > 0 ? t->n_words : 1);
    int32_t n_train = t->n_split[TAML_TRAIN];
    int32_t *index = taml_malloc(sizeof *index * nw); /* word -> subword word, -1: none, -2: not yet */
    for (int32_t w = 0; w < t->n_words; w++) index[w] = -2;
    word_grams g;
    wg_init(&g, t);
    int64_t cap_w = 1024, cap_e = 1024, n_e = 0;
    s->w_off = taml_malloc(sizeof *s->w_off * ((size_t)cap_w + 1));
    s->w_off[0] = 0;
    s->off = taml_malloc(sizeof *s->off * ((size_t)t->n + 1));
    s->words = taml_malloc(sizeof *s->words * (size_t)cap_e);
    int64_t *entries = taml_calloc((size_t)(n_train > 0 ? n_train : 1), sizeof *entries);
    for (int32_t e = 0; e < t->n; e++) {
        s->off[e] = n_e;
        for (int64_t k = t->tok_off[e]; k < t->tok_off[e + 1]; k++) {
            int32_t w = t->tok[k];
            if (row_of[w] >= 0) continue; /* the module knows it */
            if (index[w] == -2) {
                int32_t len;
                wg_rows(&g, t, w, TAML_SUBWORD_MIN, TAML_SUBWORD_MAX, map, NULL, buckets,
                        &s->bucket, &s->rows, e < n_train, &bucket_cap, &len);
                index[w] = len > 0 ? s->n_words : -1;
                if (len > 0) {
                    if (s->n_words == cap_w) {
                        cap_w *= 2;
                        s->w_off = taml_realloc(s->w_off, sizeof *s->w_off * ((size_t)cap_w + 1));
                    }
                    s->n_words++;
                    s->w_off[s->n_words] = s->w_off[s->n_words - 1] + len;
                }
            }
            if (index[w] < 0) continue;
            if (n_e == cap_e) {
                cap_e *= 2;
                s->words = taml_realloc(s->words, sizeof *s->words * (size_t)cap_e);
            }
            s->words[n_e++] = index[w];
            if (e < n_train) entries[e] += g.len[w];
        }
    }
    s->off[t->n] = n_e;
    /* the words' rows, in subword-word order */
    s->w_rows = taml_malloc(sizeof *s->w_rows * (size_t)(s->w_off[s->n_words] > 0 ? s->w_off[s->n_words] : 1));
    for (int32_t w = 0; w < t->n_words; w++)
        if (index[w] >= 0)
            memcpy(s->w_rows + s->w_off[index[w]], g.rows + g.start[w], sizeof(int32_t) * (size_t)g.len[w]);
    s->batch_max = batch_max_of(entries, n_train);
    free(entries);
    free(index);
    wg_free(&g);
    taml_ngrams_map_free(map);
    return s;
}

int taml_features_subwords(const taml_features *f, int64_t buckets, const taml_subwords **out,
                           taml_err *err)
{
    *out = NULL;
    if (f->task->kind != TAML_TASK_TEXT || !f->ext)
        return taml_err_set(err, TAML_EINVAL, "features: task %s: subwords are for text tasks",
                            f->task->name);
    if (buckets < 1 || buckets > TAML_NGRAM_BUCKETS_MAX)
        return taml_err_set(err, TAML_EINVAL, "features: %lld subword buckets", (long long)buckets);
    struct taml_features_ext *x = f->ext;
    pthread_mutex_lock(&x->lock);
    for (size_t i = 0; i < x->n_sw && !*out; i++)
        if (x->sw[i]->buckets == buckets) *out = x->sw[i];
    if (!*out) {
        taml_subwords *s = make_subwords(f, buckets);
        x->sw = taml_realloc(x->sw, (x->n_sw + 1) * sizeof *x->sw);
        x->sw[x->n_sw++] = s;
        *out = s;
    }
    pthread_mutex_unlock(&x->lock);
    return 0;
}

/* ---- the cache ------------------------------------------------------------------ */

struct taml_features_cache {
    pthread_mutex_t lock;
    taml_features **items;
    size_t n, cap;
    task_parts **parts; /* one per text task seen, shared by its features */
    size_t n_parts;
    taml_image_features_opts image_opts;
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

void taml_features_cache_free(taml_features_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) taml_features_free(c->items[i]);
    free(c->items);
    for (size_t i = 0; i < c->n_parts; i++) task_parts_free(c->parts[i]);
    free(c->parts);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void taml_features_cache_set_image_opts(taml_features_cache *c, const taml_image_features_opts *o)
{
    pthread_mutex_lock(&c->lock);
    c->image_opts = *o;
    pthread_mutex_unlock(&c->lock);
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
        task_parts *shared = NULL;
        for (size_t i = 0; i < c->n_parts && !shared; i++)
            if (c->parts[i]->task == task) shared = c->parts[i];
        if (!shared && task->kind == TAML_TASK_TEXT) {
            shared = task_parts_new(task);
            c->parts = taml_realloc(c->parts, (c->n_parts + 1) * sizeof *c->parts);
            c->parts[c->n_parts++] = shared;
        }
        rc = features_new(&f, task, module, shared, &c->image_opts, err);
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
