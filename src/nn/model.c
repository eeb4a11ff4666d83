/* nn/model.c - a trained child as a model, and predictions from it (see
 * model.h for the contracts; the file codec is model_file.c).
 *
 * The model keeps a float net (nn/net.h) shaped like the child's, with
 * evaluation batches of TAML_CHILD_BATCH rows and no dropout buffers, so a
 * prediction runs the very kernels the child's accuracy was measured with. */
#include "nn/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/strmap.h"
#include "core/util.h"
#include "data/task.h"
#include "data/tokenise.h"
#include "embed/module.h"
#include "nn/features.h"
#include "nn/model_internal.h"
#include "nn/net.h"
#include "nn/ngrams.h"

#define BATCH TAML_MODEL_BATCH

size_t taml_model_deep_params(const taml_net_shape *s)
{
    size_t n = 0;
    if (s->D <= 0) return 0;
    for (int l = 0; l < s->L; l++)
        n += (size_t)(l ? s->H : s->D) * s->H + s->H + (s->norm ? 2 * (size_t)s->H : 0);
    return n + (size_t)s->H * s->C + s->C;
}

void taml_model_alloc_net(taml_model *m)
{
    size_t bytes = taml_net_size(&m->shape);
    m->block = taml_aligned(bytes);
    taml_net_init(&m->net, &m->shape, m->block);
}

static void fill_info(taml_model *m)
{
    taml_model_info *i = &m->info;
    i->ensemble = m->n_members > 0;
    i->n_members = m->n_members > 0 ? m->n_members : 1;
    i->task_name = m->task_name;
    i->config_json = m->config_json;
    i->provenance_json = m->provenance_json;
    i->tokeniser_version = m->tok_version;
    i->image = m->image;
    i->height = m->height, i->width = m->width, i->channels = m->channels;
    i->n_classes = m->C;
    i->class_names = (const char *const *)m->class_names;
    i->dim = m->deep ? m->shape.D : 0;
    i->n_wide_words = m->V;
    i->n_emb_rows = m->R;
    i->fine_tuned = m->fine_tuned;
    i->n_gram_rows = 0;
    for (int k = 0; k < m->n_parts; k++)
        if (m->parts[k].bucket) i->n_gram_rows += m->parts[k].rows;
    i->n_subword_rows = m->S;
    i->image_module = m->module_name;
    i->version = m->cnn_graph ? TAML_MODEL_VERSION_IMAGE : (uint32_t)m->version;
}

static taml_strmap *word_map(char **words, int32_t n)
{
    taml_strmap *map = taml_strmap_new((size_t)(n > 0 ? n : 1));
    for (int32_t i = 0; i < n; i++) taml_strmap_put(map, words[i], strlen(words[i]), i);
    return map;
}

void taml_model_set_text(taml_model *m, const taml_child_config *cfg)
{
    m->version = taml_child_config_is_paper(cfg) ? TAML_MODEL_VERSION : TAML_MODEL_VERSION_TEXT;
    m->word_ngrams = cfg->word_ngrams, m->char_min = cfg->char_min, m->char_max = cfg->char_max;
    m->weighting = cfg->weighting, m->subwords = cfg->subwords, m->buckets = cfg->buckets;
    m->n_parts = 0;
    if (m->image || cfg->wide_disabled || !taml_child_config_ngrams(cfg)) return;
    for (int k = 1; k <= cfg->word_ngrams; k++)
        m->parts[m->n_parts].kind = TAML_GRAM_WORD, m->parts[m->n_parts++].n = k;
    for (int k = cfg->char_min; cfg->char_max > 0 && k <= cfg->char_max; k++)
        m->parts[m->n_parts].kind = TAML_GRAM_CHAR, m->parts[m->n_parts++].n = k;
}

static taml_ngrams_map *bucket_map(const uint32_t *bucket, int32_t n)
{
    taml_ngrams_map *map = taml_ngrams_map_new((size_t)(n > 0 ? n : 1));
    for (int32_t i = 0; i < n; i++) taml_ngrams_map_put(map, bucket[i], i);
    return map;
}

void taml_model_finish(taml_model *m)
{
    if (m->V) m->wide_map = word_map(m->wide_words, m->V);
    if (m->R) m->emb_map = word_map(m->emb_words, m->R);
    int32_t base = 0;
    for (int k = 0; k < m->n_parts; k++) {
        model_part *p = &m->parts[k];
        p->base = base;
        base += p->rows;
        if (p->bucket) p->map = bucket_map(p->bucket, p->rows);
    }
    if (m->S) m->sub_map = bucket_map(m->sub_bucket, m->S);
    if (m->net.sub) m->net.sub->frozen = m->rows;
    fill_info(m);
}

void taml_model_free(taml_model *m)
{
    if (!m) return;
    free(m->task_name);
    free(m->config_json);
    free(m->provenance_json);
    for (int32_t i = 0; m->class_names && i < m->C; i++) free(m->class_names[i]);
    free(m->class_names);
    for (int32_t i = 0; m->wide_words && i < m->V; i++) free(m->wide_words[i]);
    free(m->wide_words);
    for (int32_t i = 0; m->emb_words && i < m->R; i++) free(m->emb_words[i]);
    free(m->emb_words);
    taml_strmap_free(m->wide_map);
    taml_strmap_free(m->emb_map);
    for (int k = 0; k < m->n_parts; k++) {
        model_part *p = &m->parts[k];
        free(p->bucket);
        free(p->idf);
        taml_ngrams_map_free(p->map);
        free(p->ids);
        free(p->cnt);
        free(p->stamp);
        free(p->where);
    }
    free(m->sub_bucket);
    taml_ngrams_map_free(m->sub_map);
    free(m->sub_woff);
    free(m->sub_words);
    free(m->sub_wrows);
    free(m->rows);
    free(m->block);
    free(m->deep_ids);
    free(m->wide_ids);
    taml_cnn_free(m->cnn);
    if (m->cnn_graph) taml_image_graph_deinit(m->cnn_graph);
    free(m->cnn_graph);
    free(m->cnn_weights);
    free(m->module_name);
    for (int32_t i = 0; m->members && i < m->n_members; i++) taml_model_free(m->members[i]);
    free(m->members);
    free(m->weights);
    free(m->member_logits);
    free(m);
}

int taml_model_attach_cnn(taml_model *m, taml_image_graph *g, float *weights, const char *source,
                          taml_err *err)
{
    g->weights = weights;
    m->cnn_graph = g;
    m->cnn_weights = weights;
    return taml_image_graph_resolve(g, source, err);
}

/* A copy of module's graph and weights, owned by m: the graph through its
 * own encoding (the one way a graph is serialised), the weights copied. */
static int copy_cnn(taml_model *m, const taml_module *module, taml_err *err)
{
    const taml_image_graph *src = taml_module_image(module);
    taml_bytes_writer w;
    taml_bytes_writer_init(&w);
    taml_image_graph_encode(src, &w);
    size_t size;
    void *bytes = taml_bytes_writer_take(&w, &size);
    taml_bytes_writer_deinit(&w);
    taml_image_graph *g = taml_calloc(1, sizeof *g);
    taml_image_graph_init(g);
    taml_bytes_reader r;
    taml_bytes_reader_init(&r, bytes, size, taml_module_name(module));
    taml_image_graph_decode(g, &r);
    int rc = taml_bytes_status(&r, err);
    free(bytes);
    float *weights = taml_malloc(sizeof *weights * (size_t)(src->n_weights > 0 ? src->n_weights : 1));
    memcpy(weights, src->weights, sizeof *weights * (size_t)src->n_weights);
    if (rc) {
        taml_image_graph_deinit(g);
        free(g);
        free(weights);
        return rc;
    }
    m->module_name = taml_strdup(taml_module_name(module));
    m->module_crc = taml_module_checksum(module);
    return taml_model_attach_cnn(m, g, weights, taml_module_name(module), err);
}

const taml_model_info *taml_model_info_get(const taml_model *m) { return &m->info; }

const taml_model *taml_model_member(const taml_model *m, int32_t i, uint32_t *weight)
{
    if (!m->n_members) {
        TAML_ASSERT(i == 0);
        if (weight) *weight = 1;
        return m;
    }
    TAML_ASSERT(i >= 0 && i < m->n_members);
    if (weight) *weight = m->weights[i];
    return m->members[i];
}

/* Why member b cannot predict for the same classes as member a, or NULL. */
static const char *member_differs(const taml_model *a, const taml_model *b)
{
    if (strcmp(a->task_name, b->task_name)) return "another task";
    if (a->image != b->image) return "another kind (text / image)";
    if (a->height != b->height || a->width != b->width || a->channels != b->channels)
        return "another image size";
    if (a->C != b->C) return "another number of classes";
    for (int32_t k = 0; k < a->C; k++)
        if (strcmp(a->class_names[k], b->class_names[k])) return "other class names";
    if (a->tok_version != b->tok_version) return "other tokeniser rules";
    return NULL;
}

int taml_model_ensemble_new(taml_model **out, taml_model **members, const uint32_t *weights,
                            int32_t n, const char *provenance_json, taml_err *err)
{
    *out = NULL;
    int rc = TAML_OK;
    if (n < 1 || n > TAML_MODEL_MAX_MEMBERS)
        rc = taml_err_set(err, TAML_EINVAL, "model: an ensemble of %d members (expected 1 .. %d)",
                          (int)n, TAML_MODEL_MAX_MEMBERS);
    for (int32_t i = 0; i < n && !rc; i++) {
        const char *why = members[i]->n_members ? "is an ensemble itself"
                          : !weights[i]         ? "has weight 0"
                                                : member_differs(members[0], members[i]);
        if (why)
            rc = taml_err_set(err, TAML_EINVAL, "model: ensemble member %d of %d %s%s", (int)i + 1,
                              (int)n, members[i]->n_members || !weights[i] ? "" : "is of ", why);
    }
    if (rc) {
        for (int32_t i = 0; i < n; i++) taml_model_free(members[i]);
        return rc;
    }
    const taml_model *first = members[0];
    taml_model *m = taml_calloc(1, sizeof *m);
    m->n_members = n;
    m->members = taml_malloc(sizeof *m->members * (size_t)n);
    m->weights = taml_malloc(sizeof *m->weights * (size_t)n);
    memcpy(m->members, members, sizeof *m->members * (size_t)n);
    memcpy(m->weights, weights, sizeof *m->weights * (size_t)n);
    m->task_name = taml_strdup(first->task_name);
    m->provenance_json = taml_strdup(provenance_json ? provenance_json : "{}");
    m->tok_version = first->tok_version;
    m->C = first->C;
    m->class_names = taml_calloc((size_t)m->C, sizeof *m->class_names);
    for (int32_t k = 0; k < m->C; k++) m->class_names[k] = taml_strdup(first->class_names[k]);
    m->image = first->image;
    m->height = first->height, m->width = first->width, m->channels = first->channels;
    m->member_logits = taml_malloc(sizeof *m->member_logits * (size_t)n * TAML_MODEL_BATCH * m->C);
    fill_info(m);
    *out = m;
    return TAML_OK;
}

int taml_model_from_child(taml_model **out, const taml_child *c, const taml_child_config *cfg,
                          const taml_features *f, const char *provenance_json, taml_err *err)
{
    *out = NULL;
    const taml_net_t *cn = taml_child_net(c);
    const taml_task *t = f->task;
    taml_model *m = taml_calloc(1, sizeof *m);
    char cbuf[1024];
    taml_child_config_format(cfg, cbuf, sizeof cbuf);
    m->config_json = taml_strdup(cbuf);
    m->task_name = taml_strdup(t->name);
    m->provenance_json = taml_strdup(provenance_json ? provenance_json : "{}");
    m->tok_version = TAML_TOKENISE_VERSION;
    m->C = t->n_classes;
    m->class_names = taml_calloc((size_t)m->C, sizeof *m->class_names);
    for (int32_t k = 0; k < m->C; k++) m->class_names[k] = taml_strdup(t->class_names[k]);
    m->image = t->kind == TAML_TASK_IMAGE;
    if (m->image) m->height = t->height, m->width = t->width, m->channels = t->channels;
    m->shape = cn->s;
    m->shape.B = BATCH;
    m->shape.dropout = 0;
    if (m->shape.emb_rows > 0) m->shape.emb_cap = 1;
    if (m->shape.wide_rows > 0) m->shape.wide_cap = 1;
    if (m->shape.sub_rows > 0) m->shape.sub_cap = 1;
    taml_model_set_text(m, cfg);
    m->deep = m->shape.D > 0;
    m->wide = m->shape.wide_rows > 0 || m->shape.wide_dense > 0;
    m->fine_tuned = m->shape.emb_rows > 0;
    taml_model_alloc_net(m);
    taml_net_t *n = &m->net;
    TAML_ASSERT(n->n_deep == cn->n_deep && n->n_wide == cn->n_wide);
    if (n->n_deep) memcpy(n->deep, cn->deep, n->n_deep * sizeof(float));
    if (n->n_wide) memcpy(n->wide, cn->wide, n->n_wide * sizeof(float));
    if (m->shape.wide_rows > 0)
        memcpy(n->wtab, cn->wtab, (size_t)m->shape.wide_rows * m->C * sizeof(float));
    if (m->fine_tuned)
        memcpy(n->emb, cn->emb, (size_t)m->shape.emb_rows * m->shape.D * sizeof(float));
    if (m->shape.sub_rows > 0)
        memcpy(n->sub->table, cn->sub->table, (size_t)m->shape.sub_rows * m->shape.D * sizeof(float));
    if (m->deep && m->shape.norm == TAML_NORM_BATCH) {
        size_t LH = (size_t)m->shape.L * m->shape.H;
        memcpy(n->rmean, cn->rmean, LH * sizeof(float));
        memcpy(n->rvar, cn->rvar, LH * sizeof(float));
    }
    int rc = TAML_OK;
    int64_t part_rows = 0;
    if (m->n_parts != m->shape.wide_parts) {
        rc = taml_err_set(err, TAML_EINVAL, "model: the child has %d n-gram parts, its config %d",
                          m->shape.wide_parts, m->n_parts);
        goto fail;
    }
    for (int k = 0; k < m->n_parts; k++) {
        model_part *p = &m->parts[k];
        const taml_ngrams_part *fp;
        if ((rc = taml_features_part(f, p->kind, p->n, m->buckets, &fp, err))) goto fail;
        p->rows = fp->rows;
        part_rows += p->rows;
        if (fp->bucket) {
            p->bucket = taml_malloc(sizeof *p->bucket * (size_t)(p->rows > 0 ? p->rows : 1));
            memcpy(p->bucket, fp->bucket, sizeof *p->bucket * (size_t)p->rows);
        }
        if (m->weighting == TAML_WEIGHT_TFIDF) {
            p->idf = taml_malloc(sizeof *p->idf * (size_t)(p->rows > 0 ? p->rows : 1));
            memcpy(p->idf, fp->idf, sizeof *p->idf * (size_t)p->rows);
        }
    }
    if (m->n_parts && (part_rows > 0 ? part_rows : 1) != m->shape.wide_rows) {
        rc = taml_err_set(err, TAML_EINVAL, "model: the child's wide table has %lld rows for %lld n-grams",
                          (long long)m->shape.wide_rows, (long long)part_rows);
        goto fail;
    }
    if (m->shape.sub_rows > 0) {
        const taml_subwords *sw;
        if ((rc = taml_features_subwords(f, m->buckets, &sw, err))) goto fail;
        m->S = sw->rows;
        if (m->S != m->shape.sub_rows) {
            rc = taml_err_set(err, TAML_EINVAL, "model: %d subword rows for the child's %d", m->S,
                              m->shape.sub_rows);
            goto fail;
        }
        m->sub_bucket = taml_malloc(sizeof *m->sub_bucket * (size_t)m->S);
        memcpy(m->sub_bucket, sw->bucket, sizeof *m->sub_bucket * (size_t)m->S);
    }
    /* an image module's deep tower: the model carries the CNN (version 4);
     * without a deep tower the features are not needed (version 1) */
    if (m->image && m->deep && f->module && (rc = copy_cnn(m, f->module, err))) goto fail;
    if (!m->image && m->shape.wide_rows > 0) {
        /* wide id i is the dictionary word whose wide_of_word is i */
        m->V = t->n_wide;
        if (m->V > m->shape.wide_rows) {
            rc = taml_err_set(err, TAML_EINVAL, "model: the child's wide table has %lld rows for %d words",
                              (long long)m->shape.wide_rows, m->V);
            goto fail;
        }
        m->wide_words = taml_calloc((size_t)(m->V > 0 ? m->V : 1), sizeof *m->wide_words);
        for (int32_t w = 0; w < t->n_words; w++)
            if (t->wide_of_word[w] >= 0) m->wide_words[t->wide_of_word[w]] = taml_strdup(t->words[w]);
        for (int32_t i = 0; i < m->V; i++)
            if (!m->wide_words[i]) {
                rc = taml_err_set(err, TAML_EINVAL, "model: wide feature %d has no word", i);
                goto fail;
            }
    }
    if (!m->image && m->deep) {
        /* The features' rows are the module's rows of the task's words in
         * dictionary order (nn/features.c): find those words again. */
        int32_t D = m->shape.D;
        m->R = f->n_rows;
        m->emb_words = taml_calloc((size_t)(m->R > 0 ? m->R : 1), sizeof *m->emb_words);
        float *v = taml_malloc(sizeof *v * (size_t)D);
        int32_t r = 0;
        for (int32_t w = 0; w < t->n_words && f->module; w++) {
            if (!taml_module_lookup(f->module, t->words[w], strlen(t->words[w]), v)) continue;
            if (r >= m->R || memcmp(v, f->rows + (size_t)r * D, sizeof *v * (size_t)D)) break;
            m->emb_words[r++] = taml_strdup(t->words[w]);
        }
        free(v);
        if (r != m->R) {
            rc = taml_err_set(err, TAML_EINVAL,
                              "model: the features' %d embedding rows are not the module's rows of "
                              "the task's words (row %d differs)",
                              m->R, r);
            goto fail;
        }
        if (!m->fine_tuned) {
            m->rows = taml_malloc(sizeof *m->rows * (size_t)D * (size_t)(m->R > 0 ? m->R : 1));
            memcpy(m->rows, f->rows, sizeof *m->rows * (size_t)D * (size_t)m->R);
        }
    }
    taml_model_finish(m);
    *out = m;
    return TAML_OK;
fail:
    taml_model_free(m);
    return rc;
}

/* ------------------------------------------------------------ prediction */

typedef struct tok_ctx {
    taml_model *m;
    size_t nd, nw;
} tok_ctx;

static void push(int32_t **ids, size_t *cap, size_t *n, int32_t v)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *ids = taml_realloc(*ids, *cap * sizeof **ids);
    }
    (*ids)[(*n)++] = v;
}

static void on_token(const char *tok, size_t len, void *ctx)
{
    tok_ctx *c = ctx;
    taml_model *m = c->m;
    if (m->emb_map) {
        int32_t r = taml_strmap_get(m->emb_map, tok, len);
        if (r >= 0) push(&m->deep_ids, &m->deep_cap, &c->nd, r);
    }
    if (m->wide_map) {
        int32_t w = taml_strmap_get(m->wide_map, tok, len);
        if (w >= 0) push(&m->wide_ids, &m->wide_cap, &c->nw, w);
    }
}

/* Runs the net on the batch whose inputs are in place; copies the logits. */
static void run_batch(taml_model *m, int nb, float *logits)
{
    for (int b = 0; b < nb; b++) m->ex[b] = b;
    taml_net_batch bt = {nb,   m->ex, NULL, m->deep_off, m->deep_ids, m->wide_off, m->wide_ids,
                         NULL, NULL,  NULL, NULL,        NULL,        NULL};
    if (m->n_parts) {
        for (int k = 0; k < m->n_parts; k++)
            m->bparts[k] = (taml_net_part){m->parts[k].off, m->parts[k].ids, m->parts[k].cnt,
                                           m->parts[k].base, m->parts[k].idf};
        bt.parts = m->bparts;
        if (m->weighting == TAML_WEIGHT_TFIDF) bt.wide_scale = m->scale;
    }
    if (m->net.sub) {
        bt.sub_off = m->sub_off, bt.sub_words = m->sub_words;
        bt.sub_woff = m->sub_woff, bt.sub_wrows = m->sub_wrows;
    }
    taml_net_forward(&m->net, &bt, 0);
    memcpy(logits, m->net.logits, (size_t)nb * m->C * sizeof(float));
}

/* ---- the n-gram and subword inputs (beyond the paper) ---- */

/* The tokens of one text, copied (the tokeniser's are transient). */
typedef struct tok_list {
    char *chars;
    size_t n_chars, cap_chars;
    size_t *off;
    size_t n, cap;
} tok_list;

static void on_token_keep(const char *tok, size_t len, void *ctx)
{
    tok_list *l = ctx;
    if (l->n + 1 >= l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->off = taml_realloc(l->off, sizeof *l->off * l->cap);
    }
    while (l->n_chars + len > l->cap_chars) {
        l->cap_chars = l->cap_chars ? 2 * l->cap_chars : 4096;
        l->chars = taml_realloc(l->chars, l->cap_chars);
    }
    memcpy(l->chars + l->n_chars, tok, len);
    l->off[l->n++] = l->n_chars;
    l->n_chars += len;
    l->off[l->n] = l->n_chars;
}

/* Adds row to text b's features of part p (each row once, counted). */
static void part_add(model_part *p, int b, int32_t row)
{
    if (p->where[row] >= 0) {
        p->cnt[p->where[row]]++;
        return;
    }
    int64_t k = p->off[b + 1]++;
    if ((size_t)k == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->ids = taml_realloc(p->ids, sizeof *p->ids * p->cap);
        p->cnt = taml_realloc(p->cnt, sizeof *p->cnt * p->cap);
    }
    p->where[row] = k;
    p->ids[k] = row;
    p->cnt[k] = 1;
}

/* Text b of the batch: its tokens l into every input the model reads, in the
 * order nn/features.c lists them (text order, each part's features in the
 * order first seen), so that the child's evaluation is reproduced. */
static void text_inputs(taml_model *m, int b, const tok_list *l, tok_ctx *c, uint64_t **hash,
                        size_t *hash_cap, uint32_t **grams, size_t *grams_cap)
{
    if (l->n > *hash_cap) {
        *hash_cap = l->n;
        *hash = taml_realloc(*hash, sizeof **hash * *hash_cap);
    }
    for (int k = 0; k < m->n_parts; k++) m->parts[k].off[b + 1] = m->parts[k].off[b];
    m->sub_off[b + 1] = m->sub_off[b];
    for (size_t i = 0; i < l->n; i++) {
        const char *tok = l->chars + l->off[i];
        size_t len = l->off[i + 1] - l->off[i];
        (*hash)[i] = taml_ngrams_token_hash(tok, len);
        size_t need = taml_ngrams_char_max(len, 1, TAML_NGRAM_CHAR_MAX);
        if (need > *grams_cap) {
            *grams_cap = need;
            *grams = taml_realloc(*grams, sizeof **grams * need);
        }
        int32_t r = m->emb_map ? taml_strmap_get(m->emb_map, tok, len) : -1;
        if (r >= 0) push(&m->deep_ids, &m->deep_cap, &c->nd, r);
        else if (m->sub_map) {
            size_t ng = taml_ngrams_char_buckets(tok, len, TAML_SUBWORD_MIN, TAML_SUBWORD_MAX,
                                                m->buckets, *grams);
            int64_t w = m->sub_off[b + 1], start = m->sub_woff[w], k = start;
            for (size_t g = 0; g < ng; g++) {
                int32_t row = taml_ngrams_map_get(m->sub_map, (*grams)[g]);
                if (row < 0) continue;
                if ((size_t)k == m->sub_wcap) {
                    m->sub_wcap = m->sub_wcap ? 2 * m->sub_wcap : 1024;
                    m->sub_wrows = taml_realloc(m->sub_wrows, sizeof *m->sub_wrows * m->sub_wcap);
                }
                m->sub_wrows[k++] = row;
            }
            if (k > start) { /* a token with a vector: a word of its own */
                if ((size_t)w + 1 >= m->sub_cap) {
                    m->sub_cap = m->sub_cap ? 2 * m->sub_cap : 1024;
                    m->sub_words = taml_realloc(m->sub_words, sizeof *m->sub_words * m->sub_cap);
                    m->sub_woff = taml_realloc(m->sub_woff, sizeof *m->sub_woff * (m->sub_cap + 1));
                }
                m->sub_words[w] = (int32_t)w;
                m->sub_woff[w + 1] = k;
                m->sub_off[b + 1]++;
            }
        }
        int32_t wid = m->wide_map ? taml_strmap_get(m->wide_map, tok, len) : -1;
        if (!m->n_parts) {
            if (wid >= 0) push(&m->wide_ids, &m->wide_cap, &c->nw, wid);
            continue;
        }
        for (int k = 0; k < m->n_parts; k++) {
            model_part *p = &m->parts[k];
            if (p->kind == TAML_GRAM_WORD && p->n == 1) {
                if (wid >= 0) part_add(p, b, wid);
            } else if (p->kind == TAML_GRAM_CHAR) {
                size_t ng = taml_ngrams_char_buckets(tok, len, p->n, p->n, m->buckets, *grams);
                for (size_t g = 0; g < ng; g++) {
                    int32_t row = taml_ngrams_map_get(p->map, (*grams)[g]);
                    if (row >= 0) part_add(p, b, row);
                }
            } else if (i + 1 >= (size_t)p->n) { /* the word n-gram ending at token i */
                int32_t row = taml_ngrams_map_get(
                    p->map, taml_ngrams_word_bucket(*hash + i + 1 - p->n, p->n, m->buckets));
                if (row >= 0) part_add(p, b, row);
            }
        }
    }
    /* forget the text's rows (the next text starts with none) */
    for (int k = 0; k < m->n_parts; k++) {
        model_part *p = &m->parts[k];
        for (int64_t e = p->off[b]; e < p->off[b + 1]; e++) p->where[p->ids[e]] = -1;
    }
}

/* The inputs of a batch of texts when the model reads n-grams or subwords. */
static void batch_inputs(taml_model *m, int nb, const char *const *texts, const size_t *lens)
{
    for (int k = 0; k < m->n_parts; k++) {
        model_part *p = &m->parts[k];
        if (!p->where) {
            p->where = taml_malloc(sizeof *p->where * (size_t)(p->rows > 0 ? p->rows : 1));
            for (int32_t r = 0; r < p->rows; r++) p->where[r] = -1;
        }
        p->off[0] = 0;
    }
    m->sub_off[0] = 0;
    if (!m->sub_woff) {
        m->sub_cap = 1024;
        m->sub_words = taml_malloc(sizeof *m->sub_words * m->sub_cap);
        m->sub_woff = taml_malloc(sizeof *m->sub_woff * (m->sub_cap + 1));
    }
    m->sub_woff[0] = 0;
    tok_ctx c = {m, 0, 0};
    tok_list l = {0};
    uint64_t *hash = NULL;
    uint32_t *grams = NULL;
    size_t hash_cap = 0, grams_cap = 0;
    for (int b = 0; b < nb; b++) {
        m->deep_off[b] = (int64_t)c.nd;
        m->wide_off[b] = (int64_t)c.nw;
        l.n = l.n_chars = 0;
        taml_tokenise(texts[b], lens[b], on_token_keep, &l);
        text_inputs(m, b, &l, &c, &hash, &hash_cap, &grams, &grams_cap);
        if (m->weighting == TAML_WEIGHT_TFIDF && m->n_parts) {
            /* as nn/features.c's taml_features_tfidf_scale: parts, then entries, in order */
            double sum = 0;
            for (int k = 0; k < m->n_parts; k++) {
                const model_part *p = &m->parts[k];
                for (int64_t q = p->off[b]; q < p->off[b + 1]; q++) {
                    float v = taml_ngrams_tfidf(p->cnt[q], p->idf[p->ids[q]]);
                    sum += (double)v * v;
                }
            }
            m->scale[b] = taml_ngrams_scale(sum);
        }
    }
    m->deep_off[nb] = (int64_t)c.nd;
    m->wide_off[nb] = (int64_t)c.nw;
    free(l.chars);
    free(l.off);
    free(hash);
    free(grams);
}

/* The pooled input of a frozen module exactly as nn/features.c computes it
 * (acc: D doubles of scratch). */
static void pool_frozen(taml_model *m, int nb, double *acc)
{
    int32_t D = m->shape.D;
    for (int b = 0; b < nb; b++) {
        float *x = m->net.x0 + (size_t)b * D;
        int64_t lo = m->deep_off[b], hi = m->deep_off[b + 1];
        if (hi == lo) {
            memset(x, 0, sizeof *x * (size_t)D);
            continue;
        }
        memset(acc, 0, sizeof *acc * (size_t)D);
        for (int64_t k = lo; k < hi; k++) {
            const float *row = m->rows + (size_t)m->deep_ids[k] * D;
            for (int32_t j = 0; j < D; j++) acc[j] += row[j];
        }
        for (int32_t j = 0; j < D; j++) x[j] = (float)(acc[j] / (double)(hi - lo));
    }
}

/* The refusal of input of the other kind (texts to an image model, or
 * images to a text one). */
static int wrong_kind(const taml_model *m, taml_err *err)
{
    if (m->image)
        return taml_err_set(err, TAML_EINVAL, "model: an image model (%dx%dx%d) cannot read text",
                            m->height, m->width, m->channels);
    return taml_err_set(err, TAML_EINVAL, "model: a text model cannot read images");
}

static int no_logits(const taml_model *m, taml_err *err)
{
    return taml_err_set(err, TAML_EINVAL,
                        "model: an ensemble of %d members gives probabilities, not logits",
                        (int)m->n_members);
}

int taml_model_predict_texts(taml_model *m, int32_t n, const char *const *texts,
                             const size_t *lens, float *logits, taml_err *err)
{
    if (m->n_members) return no_logits(m, err);
    if (m->image) return wrong_kind(m, err);
    int32_t D = m->shape.D;
    double *acc = taml_malloc(sizeof *acc * (size_t)(D > 0 ? D : 1));
    for (int32_t s = 0; s < n; s += BATCH) {
        int nb = n - s < BATCH ? n - s : BATCH;
        if (m->n_parts || m->net.sub) {
            batch_inputs(m, nb, texts + s, lens + s);
            if (m->deep && !m->fine_tuned && !m->net.sub) pool_frozen(m, nb, acc);
            run_batch(m, nb, logits + (size_t)s * m->C);
            continue;
        }
        tok_ctx c = {m, 0, 0};
        for (int b = 0; b < nb; b++) {
            m->deep_off[b] = (int64_t)c.nd;
            m->wide_off[b] = (int64_t)c.nw;
            taml_tokenise(texts[s + b], lens[s + b], on_token, &c);
        }
        m->deep_off[nb] = (int64_t)c.nd;
        m->wide_off[nb] = (int64_t)c.nw;
        if (m->deep && !m->fine_tuned) pool_frozen(m, nb, acc);
        run_batch(m, nb, logits + (size_t)s * m->C);
    }
    free(acc);
    return TAML_OK;
}

int taml_model_predict_images(taml_model *m, int32_t n, const uint8_t *pixels, float *logits,
                              taml_err *err)
{
    if (m->n_members) return no_logits(m, err);
    if (!m->image) return wrong_kind(m, err);
    size_t P = (size_t)m->height * m->width * m->channels;
    for (int32_t s = 0; s < n; s += BATCH) {
        int nb = n - s < BATCH ? n - s : BATCH;
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = pixels + (size_t)(s + b) * P;
            /* the same expression as the child's gather; an image module's
             * features as nn/image_features.c computes them: one image per
             * call of the same runner code */
            if (m->cnn_graph) {
                int rc = TAML_OK;
                if (!m->cnn) rc = taml_cnn_new(&m->cnn, m->cnn_graph, NULL, err);
                if (!rc)
                    rc = taml_cnn_features(m->cnn, p, 1, m->height, m->width, m->channels,
                                           m->net.x0 + (size_t)b * m->shape.D, err);
                if (rc) return rc;
            } else if (m->deep)
                for (size_t j = 0; j < P; j++) m->net.x0[b * P + j] = p[j] * (1.0f / 255.0f);
            if (m->wide)
                for (size_t j = 0; j < P; j++) m->net.xw[b * P + j] = p[j] * (1.0f / 255.0f);
        }
        run_batch(m, nb, logits + (size_t)s * m->C);
    }
    return TAML_OK;
}

int32_t taml_model_argmax(const float *logits, int32_t C, double *proba)
{
    int32_t best = 0;
    for (int32_t j = 1; j < C; j++)
        if (logits[j] > logits[best]) best = j;
    if (proba) {
        double z = 0;
        for (int32_t j = 0; j < C; j++) z += proba[j] = exp((double)logits[j] - logits[best]);
        for (int32_t j = 0; j < C; j++) proba[j] /= z;
    }
    return best;
}

void taml_model_mean_proba(int32_t K, const float *const *logits, const uint32_t *w, int32_t n,
                           int32_t C, double *proba)
{
    double *p = taml_malloc(sizeof *p * (size_t)C), W = 0;
    for (int32_t k = 0; k < K; k++) W += w[k];
    for (int32_t i = 0; i < n; i++) {
        double *acc = proba + (size_t)i * C;
        memset(acc, 0, sizeof *acc * (size_t)C);
        for (int32_t k = 0; k < K; k++) {
            taml_model_argmax(logits[k] + (size_t)i * C, C, p);
            for (int32_t j = 0; j < C; j++) acc[j] += w[k] * p[j];
        }
        for (int32_t j = 0; j < C; j++) acc[j] /= W;
    }
    free(p);
}

int32_t taml_model_best_class(const double *proba, int32_t C)
{
    int32_t best = 0;
    for (int32_t j = 1; j < C; j++)
        if (proba[j] > proba[best]) best = j;
    return best;
}

/* The probabilities of n inputs (at most one batch) from the members'
 * logits, which predict(member, ...) fills. */
static int mean_of_members(taml_model *m, int32_t n, double *proba,
                           int (*predict)(taml_model *, int32_t, const void *, float *, taml_err *),
                           const void *in, taml_err *err)
{
    size_t stride = (size_t)TAML_MODEL_BATCH * m->C;
    const float *rows[TAML_MODEL_MAX_MEMBERS];
    for (int32_t k = 0; k < m->n_members; k++) {
        float *z = m->member_logits + (size_t)k * stride;
        int rc = predict(m->members[k], n, in, z, err);
        if (rc) return taml_err_prefix(err, "ensemble member %d of %d", (int)k + 1, (int)m->n_members);
        rows[k] = z;
    }
    taml_model_mean_proba(m->n_members, rows, m->weights, n, m->C, proba);
    return TAML_OK;
}

typedef struct text_batch {
    const char *const *texts;
    const size_t *lens;
} text_batch;

static int predict_text_batch(taml_model *m, int32_t n, const void *in, float *logits, taml_err *err)
{
    const text_batch *t = in;
    return taml_model_predict_texts(m, n, t->texts, t->lens, logits, err);
}

static int predict_image_batch(taml_model *m, int32_t n, const void *in, float *logits,
                               taml_err *err)
{
    return taml_model_predict_images(m, n, in, logits, err);
}

int taml_model_proba_texts(taml_model *m, int32_t n, const char *const *texts,
                           const size_t *lens, double *proba, taml_err *err)
{
    if (m->image) return wrong_kind(m, err);
    int32_t C = m->C;
    float *z = m->n_members ? NULL : taml_malloc(sizeof *z * (size_t)BATCH * C);
    int rc = TAML_OK;
    for (int32_t s = 0; s < n && !rc; s += BATCH) {
        int32_t nb = n - s < BATCH ? n - s : BATCH;
        double *p = proba + (size_t)s * C;
        if (m->n_members) {
            text_batch t = {texts + s, lens + s};
            rc = mean_of_members(m, nb, p, predict_text_batch, &t, err);
        } else if (!(rc = taml_model_predict_texts(m, nb, texts + s, lens + s, z, err))) {
            for (int32_t i = 0; i < nb; i++) taml_model_argmax(z + (size_t)i * C, C, p + (size_t)i * C);
        }
    }
    free(z);
    return rc;
}

int taml_model_proba_images(taml_model *m, int32_t n, const uint8_t *pixels, double *proba,
                            taml_err *err)
{
    if (!m->image) return wrong_kind(m, err);
    int32_t C = m->C;
    size_t P = (size_t)m->height * m->width * m->channels;
    float *z = m->n_members ? NULL : taml_malloc(sizeof *z * (size_t)BATCH * C);
    int rc = TAML_OK;
    for (int32_t s = 0; s < n && !rc; s += BATCH) {
        int32_t nb = n - s < BATCH ? n - s : BATCH;
        double *p = proba + (size_t)s * C;
        const uint8_t *px = pixels + (size_t)s * P;
        if (m->n_members) {
            rc = mean_of_members(m, nb, p, predict_image_batch, px, err);
        } else if (!(rc = taml_model_predict_images(m, nb, px, z, err))) {
            for (int32_t i = 0; i < nb; i++) taml_model_argmax(z + (size_t)i * C, C, p + (size_t)i * C);
        }
    }
    free(z);
    return rc;
}
