/* nn/model_file.c - the model file codec: a model as the bytes of its file
 * and back, and the file itself (format in model.h). It is the envelope of
 * core/bytes.h; the decoder checks every field of the payload against the
 * others and the config before a net is built from it, and a refusal says
 * "SOURCE: offset N: FIELD: what". */
#include "nn/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/strmap.h"
#include "core/utf8.h"
#include "core/util.h"
#include "data/tokenise.h"
#include "nn/model_internal.h"
#include "nn/ngrams.h"

/* not TAMLMODL: modules have it */
static const char MAGIC[8] = {'T', 'A', 'M', 'L', 'C', 'L', 'S', 'F'};
#define WHAT "taml model"

/* ------------------------------------------------------------ encoding */

/* Version 2: the members, each as its own file. */
static void encode_ensemble(const taml_model *m, void **buf, size_t *size)
{
    taml_bytes_writer b;
    taml_bytes_writer_init(&b);
    size_t start = taml_envelope_begin(&b, MAGIC, TAML_MODEL_VERSION_ENSEMBLE, 0);
    taml_bytes_put_u32(&b, (uint32_t)m->n_members);
    taml_bytes_put_str32(&b, m->provenance_json);
    for (int32_t k = 0; k < m->n_members; k++) {
        void *mb;
        size_t ms;
        taml_model_encode(m->members[k], &mb, &ms);
        taml_bytes_put_u32(&b, m->weights[k]);
        taml_bytes_put_u64(&b, ms);
        taml_bytes_put(&b, mb, ms);
        free(mb);
    }
    taml_envelope_end(&b, start);
    *buf = taml_bytes_writer_take(&b, size);
}

void taml_model_encode(const taml_model *m, void **buf, size_t *size)
{
    if (m->n_members) {
        encode_ensemble(m, buf, size);
        return;
    }
    taml_bytes_writer b;
    taml_bytes_writer_init(&b);
    /* the lowest version that holds the model: a paper config's model is
     * version 1, byte for byte what taml wrote before versions 3 and 4 */
    size_t start = taml_envelope_begin(
        &b, MAGIC, m->cnn_graph ? TAML_MODEL_VERSION_IMAGE : (uint32_t)m->version, 0);
    const taml_net_shape *s = &m->shape;
    const taml_net_t *n = &m->net;
    taml_bytes_put_str32(&b, m->task_name);
    taml_bytes_put_str32(&b, m->config_json);
    taml_bytes_put_u32(&b, m->tok_version);
    taml_bytes_put_str32(&b, m->provenance_json);
    taml_bytes_put_u32(&b, (uint32_t)m->image);
    taml_bytes_put_u32(&b, (uint32_t)m->height);
    taml_bytes_put_u32(&b, (uint32_t)m->width);
    taml_bytes_put_u32(&b, (uint32_t)m->channels);
    taml_bytes_put_u32(&b, (uint32_t)m->C);
    for (int32_t k = 0; k < m->C; k++) taml_bytes_put_str32(&b, m->class_names[k]);
    taml_bytes_put_u32(&b, (uint32_t)s->D);
    taml_bytes_put_u32(&b, (uint32_t)s->L);
    taml_bytes_put_u32(&b, (uint32_t)s->H);
    taml_bytes_put_u32(&b, (uint32_t)s->act);
    taml_bytes_put_u32(&b, (uint32_t)s->norm);
    taml_bytes_put_u32(&b, (uint32_t)m->fine_tuned);
    taml_bytes_put_u32(&b, (uint32_t)m->wide);
    if (m->wide && !m->image) {
        taml_bytes_put_u32(&b, (uint32_t)s->wide_rows);
        taml_bytes_put_u32(&b, (uint32_t)m->V);
        for (int32_t i = 0; i < m->V; i++) taml_bytes_put_str32(&b, m->wide_words[i]);
        taml_bytes_put_f32s(&b, n->wide, (size_t)m->C);
        taml_bytes_put_f32s(&b, n->wtab, (size_t)s->wide_rows * m->C);
    } else if (m->wide) {
        taml_bytes_put_f32s(&b, n->wide, n->n_wide);
    }
    if (m->deep) {
        if (!m->image) {
            taml_bytes_put_u32(&b, (uint32_t)m->R);
            for (int32_t i = 0; i < m->R; i++) taml_bytes_put_str32(&b, m->emb_words[i]);
            taml_bytes_put_f32s(&b, m->fine_tuned ? n->emb : m->rows, (size_t)m->R * s->D);
        }
        taml_bytes_put_u64(&b, n->n_deep);
        taml_bytes_put_f32s(&b, n->deep, n->n_deep);
        if (s->norm == TAML_NORM_BATCH) {
            taml_bytes_put_f32s(&b, n->rmean, (size_t)s->L * s->H);
            taml_bytes_put_f32s(&b, n->rvar, (size_t)s->L * s->H);
        }
    }
    if (m->version == TAML_MODEL_VERSION_TEXT && !m->image) {
        /* the n-gram parts of the wide table, after its single words */
        if (m->n_parts) {
            taml_bytes_put_u32(&b, (uint32_t)m->n_parts);
            for (int k = 0; k < m->n_parts; k++) {
                const model_part *p = &m->parts[k];
                taml_bytes_put_u32(&b, (uint32_t)p->kind);
                taml_bytes_put_u32(&b, (uint32_t)p->n);
                taml_bytes_put_u32(&b, (uint32_t)p->rows);
                for (int32_t i = 0; p->bucket && i < p->rows; i++) taml_bytes_put_u32(&b, p->bucket[i]);
                if (p->idf) taml_bytes_put_f32s(&b, p->idf, (size_t)p->rows);
            }
        }
        /* the subword vectors */
        if (m->deep && m->subwords) {
            taml_bytes_put_u32(&b, (uint32_t)m->S);
            for (int32_t i = 0; i < m->S; i++) taml_bytes_put_u32(&b, m->sub_bucket[i]);
            if (m->S) taml_bytes_put_f32s(&b, n->sub->table, (size_t)m->S * s->D);
        }
    }
    if (m->cnn_graph) { /* version 4: the image module */
        taml_bytes_put_str32(&b, m->module_name);
        taml_bytes_put_u32(&b, m->module_crc);
        taml_image_graph_encode(m->cnn_graph, &b);
        taml_bytes_put_f32s(&b, m->cnn_weights, (size_t)m->cnn_graph->n_weights);
    }
    taml_envelope_end(&b, start);
    *buf = taml_bytes_writer_take(&b, size);
}

/* ------------------------------------------------------------ decoding */

/* A u32 that must lie in [lo, hi] (0 after a failure). */
static int32_t u32_in(taml_bytes_reader *r, int64_t lo, int64_t hi, const char *field)
{
    uint32_t u = taml_bytes_u32(r, field);
    if (taml_bytes_ok(r) && ((int64_t)u < lo || (int64_t)u > hi))
        taml_bytes_fail(r, TAML_EFORMAT, field, "%u (expected %lld .. %lld)", u, (long long)lo,
                        (long long)hi);
    return taml_bytes_ok(r) ? (int32_t)u : 0;
}

/* A string: valid UTF-8 without NUL; non-empty when word. Heap, or NULL
 * after a failure. */
static char *text(taml_bytes_reader *r, int word, const char *field)
{
    char *s = taml_bytes_str32(r, SIZE_MAX, field);
    if (!s) return NULL;
    size_t len = strlen(s);
    if (taml_utf8_check(s, len) < len || (word && len == 0)) {
        taml_bytes_fail(r, TAML_EFORMAT, field, "not %s",
                        word ? "a non-empty UTF-8 word" : "UTF-8 text");
        free(s);
        return NULL;
    }
    return s;
}

/* count finite floats into dst (NULL: a fresh array, returned); NULL
 * after a failure. */
static float *floats(taml_bytes_reader *r, float *dst, size_t count, const char *field)
{
    const unsigned char *p = count <= SIZE_MAX / 4 ? taml_bytes_take(r, count * 4, field) : NULL;
    if (!p) {
        if (taml_bytes_ok(r)) taml_bytes_fail(r, TAML_EFORMAT, field, "%zu values", count);
        return NULL;
    }
    float *v = dst ? dst : taml_malloc(sizeof *v * (count ? count : 1));
    for (size_t i = 0; i < count; i++) {
        uint32_t u = taml_bytes_load_u32(p + 4 * i);
        memcpy(v + i, &u, 4);
        if (!isfinite(v[i])) {
            taml_bytes_fail(r, TAML_EFORMAT, field, "value #%zu is not finite", i);
            if (!dst) free(v);
            return NULL;
        }
    }
    return v;
}

/* count distinct words into a fresh array (*out, kept after a failure so
 * that the model frees what was read). */
static void words(taml_bytes_reader *r, char ***out, int32_t count, const char *field)
{
    /* each takes at least its 4-byte length: a count the bytes cannot hold
     * is refused before anything is allocated */
    if ((size_t)count > taml_bytes_left(r) / 4) {
        taml_bytes_fail(r, TAML_EFORMAT, field, "%d words in %zu bytes", (int)count,
                        taml_bytes_left(r));
        return;
    }
    char **w = taml_calloc((size_t)(count > 0 ? count : 1), sizeof *w);
    *out = w;
    taml_strmap *seen = taml_strmap_new((size_t)(count > 0 ? count : 1));
    for (int32_t i = 0; i < count && taml_bytes_ok(r); i++) {
        if (!(w[i] = text(r, 1, field))) break;
        if (taml_strmap_put(seen, w[i], strlen(w[i]), i) != i)
            taml_bytes_fail(r, TAML_EFORMAT, field, "\"%s\" appears twice", w[i]);
    }
    taml_strmap_free(seen);
}

/* A part's idfs (tfidf weighting): finite and at least 1. */
static void decode_idf(const taml_model *m, taml_bytes_reader *r, model_part *p)
{
    if (m->weighting != TAML_WEIGHT_TFIDF || !taml_bytes_ok(r)) return;
    p->idf = floats(r, NULL, (size_t)p->rows, "an n-gram part's idf");
    for (int32_t i = 0; p->idf && i < p->rows && taml_bytes_ok(r); i++)
        if (!(p->idf[i] >= 1))
            taml_bytes_fail(r, TAML_EFORMAT, "an n-gram part's idf", "value #%d is %g (expected >= 1)",
                            (int)i, p->idf[i]);
}

/* n buckets (u32 each): below the model's bucket count and distinct; heap
 * (NULL when the bytes cannot hold them: refused before the allocation). */
static uint32_t *decode_buckets(const taml_model *m, taml_bytes_reader *r, int32_t n,
                                const char *what, const char *one)
{
    if ((size_t)n > taml_bytes_left(r) / 4) {
        taml_bytes_take(r, (size_t)n * 4, what);
        return NULL;
    }
    uint32_t *b = taml_malloc(sizeof *b * (size_t)(n > 0 ? n : 1));
    taml_ngrams_map *map = taml_ngrams_map_new((size_t)n);
    for (int32_t i = 0; i < n && taml_bytes_ok(r); i++) {
        b[i] = taml_bytes_u32(r, one);
        if (taml_bytes_ok(r) && b[i] >= (uint64_t)m->buckets)
            taml_bytes_fail(r, TAML_EFORMAT, one, "%u (expected < %lld)", b[i],
                            (long long)m->buckets);
        else if (taml_bytes_ok(r) && taml_ngrams_map_put(map, b[i], i) != i)
            taml_bytes_fail(r, TAML_EFORMAT, one, "%u appears twice", b[i]);
    }
    taml_ngrams_map_free(map);
    return b;
}

/* Version 3's n-gram parts (in the config's order, m->parts[k].kind and .n
 * set) and subword buckets; *sub the subword table (S, D), heap. */
static void decode_text(taml_model *m, taml_bytes_reader *r, int32_t D, int64_t wide_rows,
                        float **sub)
{
    if (m->n_parts) {
        u32_in(r, m->n_parts, m->n_parts, "the n-gram parts");
        int64_t total = 0;
        for (int k = 0; k < m->n_parts && taml_bytes_ok(r); k++) {
            model_part *p = &m->parts[k];
            u32_in(r, p->kind, p->kind, "an n-gram part's kind");
            u32_in(r, p->n, p->n, "an n-gram part's length");
            int single = p->kind == 0 && p->n == 1;
            p->rows = u32_in(r, single ? m->V : 0, single ? m->V : INT32_MAX, "an n-gram part's rows");
            total += p->rows;
            if (!taml_bytes_ok(r)) break;
            if (single) {
                decode_idf(m, r, p);
                continue;
            }
            if (!(p->bucket = decode_buckets(m, r, p->rows, "an n-gram part's buckets",
                                             "an n-gram bucket")))
                break;
            decode_idf(m, r, p);
        }
        if (taml_bytes_ok(r) && (total > 0 ? total : 1) != wide_rows)
            taml_bytes_fail(r, TAML_EFORMAT, "an n-gram part's rows",
                            "the parts hold %lld rows, the wide table %lld", (long long)total,
                            (long long)wide_rows);
    }
    if (D && m->subwords && taml_bytes_ok(r)) {
        m->S = u32_in(r, 0, INT32_MAX, "the subword rows");
        if (!taml_bytes_ok(r)) return;
        if (!(m->sub_bucket = decode_buckets(m, r, m->S, "the subword buckets", "a subword bucket")))
            return;
        if (taml_bytes_ok(r) && m->S) *sub = floats(r, NULL, (size_t)m->S * D, "the subword vectors");
    }
}

/* Version 4's image module, after the version 1 fields: its graph and
 * weights, the features it gives being the deep input width D. */
static void decode_cnn(taml_model *m, taml_bytes_reader *r, const char *source, int32_t D)
{
    m->module_name = text(r, 1, "the image module's name");
    m->module_crc = taml_bytes_u32(r, "the image module's checksum");
    if (!taml_bytes_ok(r)) return;
    taml_image_graph *g = taml_calloc(1, sizeof *g);
    taml_image_graph_init(g);
    size_t at = taml_bytes_offset(r);
    taml_image_graph_decode(g, r);
    float *w = NULL;
    if (taml_bytes_ok(r) && (uint64_t)g->n_weights > taml_bytes_left(r) / 4)
        taml_bytes_take(r, (size_t)g->n_weights * 4, "the image module's weights");
    if (taml_bytes_ok(r)) w = floats(r, NULL, (size_t)g->n_weights, "the image module's weights");
    if (!w) {
        taml_image_graph_deinit(g);
        free(g);
        return;
    }
    taml_err inner;
    if (taml_model_attach_cnn(m, g, w, source, &inner))
        taml_bytes_fail(r, TAML_EFORMAT, "the image module's graph", "at offset %zu: %s", at,
                        inner.msg);
    else if (g->dim != D)
        taml_bytes_fail(r, TAML_EFORMAT, "the image module's graph",
                        "it gives %d features; the deep input width is %d", (int)g->dim, (int)D);
}

static int decode_payload(taml_model *m, taml_bytes_reader *r, uint32_t version,
                          const char *source, taml_err *err)
{
    m->task_name = text(r, 0, "the task name");
    m->config_json = text(r, 0, "the config");
    m->tok_version = taml_bytes_u32(r, "the tokeniser version");
    if (taml_bytes_ok(r) && m->tok_version != TAML_TOKENISE_VERSION)
        taml_bytes_fail(r, TAML_EMISMATCH, "the tokeniser version",
                        "made with tokeniser rules version %u, this taml has version %d (texts "
                        "would not tokenise the same): export it again",
                        m->tok_version, TAML_TOKENISE_VERSION);
    m->provenance_json = text(r, 0, "the provenance");
    int32_t image = u32_in(r, 0, 1, "the kind");
    m->height = u32_in(r, 0, 1 << 16, "the image height");
    m->width = u32_in(r, 0, 1 << 16, "the image width");
    m->channels = u32_in(r, 0, 1 << 10, "the image channels");
    int64_t pixels = (int64_t)m->height * m->width * m->channels;
    if (taml_bytes_ok(r) && image && (pixels <= 0 || pixels > (1 << 24)))
        taml_bytes_fail(r, TAML_EFORMAT, "the image channels", "image dims %dx%dx%d make no image",
                        m->height, m->width, m->channels);
    m->C = u32_in(r, 1, 1 << 24, "the number of classes");
    if (!taml_bytes_ok(r)) return taml_bytes_status(r, err);
    m->image = image;
    words(r, &m->class_names, m->C, "a class name");
    int32_t D = u32_in(r, 0, 1 << 24, "the deep input width");
    int32_t L = u32_in(r, 1, TAML_CHILD_MAX_LAYERS, "the hidden layers");
    int32_t H = u32_in(r, 1, TAML_CHILD_MAX_HIDDEN, "the hidden size");
    int32_t act = u32_in(r, 0, 1, "the activation");
    int32_t norm = u32_in(r, 0, 2, "the normalization");
    int32_t fine_tuned = u32_in(r, 0, 1, "the fine-tuned flag");
    int32_t wide = u32_in(r, 0, 1, "the wide flag");
    if (!taml_bytes_ok(r)) return taml_bytes_status(r, err);
    const char *flags = "the wide flag"; /* the field the tower checks report at */
    if (!D && !wide) taml_bytes_fail(r, TAML_EFORMAT, flags, "neither tower is present");
    int cnn = version == TAML_MODEL_VERSION_IMAGE;
    if (cnn && (!image || !D))
        taml_bytes_fail(r, TAML_EFORMAT, flags,
                        "version %u holds an image module, but this is no image model with a "
                        "deep tower",
                        version);
    if (image && D && D != pixels && !cnn)
        taml_bytes_fail(r, TAML_EFORMAT, flags, "deep input width %d is not the %lld pixels", D,
                        (long long)pixels);
    if (fine_tuned && (image || !D))
        taml_bytes_fail(r, TAML_EFORMAT, flags, "fine-tuned without a text deep tower");
    if (!taml_bytes_ok(r)) return taml_bytes_status(r, err);

    /* the config must say what the shape says */
    taml_child_config cfg;
    taml_err inner;
    if (taml_child_config_parse(&cfg, m->config_json, strlen(m->config_json), &inner))
        taml_bytes_fail(r, TAML_EFORMAT, flags, "its config: %s", inner.msg);
    else if (cfg.deep_disabled != !D || cfg.wide_disabled != !wide ||
             (D && (cfg.layers != L || cfg.hidden_size != H || cfg.activation != act ||
                    cfg.normalization != norm || (cfg.fine_tune && !image) < fine_tuned)))
        taml_bytes_fail(r, TAML_EFORMAT, flags, "the config %s does not describe the stored network",
                        m->config_json);
    if (!taml_bytes_ok(r)) return taml_bytes_status(r, err);
    taml_model_set_text(m, &cfg);
    if ((uint32_t)m->version != version && version == TAML_MODEL_VERSION)
        taml_bytes_fail(r, TAML_EFORMAT, flags,
                        "the config %s uses decisions beyond the paper's, which version 1 cannot hold",
                        m->config_json);
    m->version = (int)version;
    if (!taml_bytes_ok(r)) return taml_bytes_status(r, err);

    taml_net_shape *s = &m->shape;
    memset(s, 0, sizeof *s);
    s->B = TAML_MODEL_BATCH, s->D = D, s->C = m->C, s->L = L, s->H = H, s->act = act,
    s->norm = norm;
    m->deep = D > 0, m->wide = wide, m->fine_tuned = fine_tuned;
    float *bias = NULL, *wtab = NULL, *emb = NULL;
    int32_t wide_rows = 0;
    if (wide && !image) {
        wide_rows = u32_in(r, 1, INT32_MAX, "the wide table's rows");
        m->V = u32_in(r, 0, wide_rows, "the wide words");
        if (taml_bytes_ok(r)) words(r, &m->wide_words, m->V, "a wide word");
        if (taml_bytes_ok(r)) bias = floats(r, NULL, (size_t)m->C, "the wide bias");
        if (taml_bytes_ok(r)) wtab = floats(r, NULL, (size_t)wide_rows * m->C, "the wide table");
        s->wide_rows = wide_rows, s->wide_cap = 1;
    } else if (wide) {
        s->wide_dense = (int)pixels;
        bias = floats(r, NULL, (size_t)m->C * (1 + (size_t)pixels), "the wide weights");
    }
    if (D && !image && taml_bytes_ok(r)) {
        m->R = u32_in(r, 0, INT32_MAX, "the embedding rows");
        if (taml_bytes_ok(r) && fine_tuned && m->R == 0)
            taml_bytes_fail(r, TAML_EFORMAT, "the embedding rows", "fine-tuned with no embedding row");
        if (taml_bytes_ok(r)) words(r, &m->emb_words, m->R, "an embedding word");
        if (taml_bytes_ok(r)) emb = floats(r, NULL, (size_t)m->R * D, "the embedding rows");
        if (fine_tuned) s->emb_rows = m->R, s->emb_cap = 1;
        else m->rows = emb, emb = NULL;
    }
    uint64_t n_deep = D ? taml_bytes_u64(r, "the deep parameter count") : 0;
    if (taml_bytes_ok(r) && n_deep != taml_model_deep_params(s))
        taml_bytes_fail(r, TAML_EFORMAT, "the deep parameter count", "%llu; the shape needs %zu",
                        (unsigned long long)n_deep, taml_model_deep_params(s));
    /* the parameters must be there before anything is allocated for them */
    if (taml_bytes_ok(r) && D && n_deep > taml_bytes_left(r) / 4)
        taml_bytes_take(r, n_deep * 4, "the deep parameters");
    float *deep = NULL, *rmean = NULL, *rvar = NULL, *sub = NULL;
    size_t LH = (size_t)L * H;
    if (taml_bytes_ok(r) && D) {
        deep = floats(r, NULL, n_deep, "the deep parameters");
        if (norm == TAML_NORM_BATCH && taml_bytes_ok(r)) {
            rmean = floats(r, NULL, LH, "the running means");
            if (taml_bytes_ok(r) && (rvar = floats(r, NULL, LH, "the running variances")))
                for (size_t i = 0; i < LH && taml_bytes_ok(r); i++)
                    if (!(rvar[i] >= 0))
                        taml_bytes_fail(r, TAML_EFORMAT, "the running variances",
                                        "value #%zu is negative", i);
        }
    }
    if (taml_bytes_ok(r) && version == TAML_MODEL_VERSION_TEXT && !image)
        decode_text(m, r, D, wide_rows, &sub);
    if (!cnn) taml_bytes_expect_end(r, "the last field of the payload");
    if (taml_bytes_ok(r)) {
        s->wide_parts = m->n_parts;
        s->weighting = m->weighting;
        if (m->S) s->sub_rows = m->S, s->sub_cap = 1;
        taml_model_alloc_net(m);
        taml_net_t *n = &m->net;
        if (bias) memcpy(n->wide, bias, n->n_wide * sizeof(float));
        if (wtab) memcpy(n->wtab, wtab, (size_t)wide_rows * m->C * sizeof(float));
        if (emb) memcpy(n->emb, emb, (size_t)m->R * D * sizeof(float));
        if (deep) memcpy(n->deep, deep, n_deep * sizeof(float));
        if (rmean) memcpy(n->rmean, rmean, LH * sizeof(float));
        if (rvar) memcpy(n->rvar, rvar, LH * sizeof(float));
        if (sub) memcpy(n->sub->table, sub, (size_t)m->S * D * sizeof(float));
    }
    if (cnn && taml_bytes_ok(r)) decode_cnn(m, r, source, D);
    taml_bytes_expect_end(r, "the last field of the payload");
    free(bias);
    free(wtab);
    free(emb);
    free(deep);
    free(rmean);
    free(rvar);
    free(sub);
    return taml_bytes_status(r, err);
}

/* The members of a version-2 payload, each decoded as a file of its own
 * ("SOURCE: member 2 of 5: offset N: ..."), then joined. */
static int decode_ensemble(taml_model **out, taml_bytes_reader *r, const char *source,
                           taml_err *err)
{
    int32_t n = u32_in(r, 1, TAML_MODEL_MAX_MEMBERS, "the number of members");
    char *prov = taml_bytes_ok(r) ? text(r, 0, "the ensemble's provenance") : NULL;
    taml_model **members = taml_calloc((size_t)(n > 0 ? n : 1), sizeof *members);
    uint32_t *weights = taml_calloc((size_t)(n > 0 ? n : 1), sizeof *weights);
    int32_t got = 0;
    int rc = TAML_OK;
    for (; got < n && taml_bytes_ok(r); got++) {
        char field[64];
        snprintf(field, sizeof field, "the weight of member %d", (int)got + 1);
        weights[got] = (uint32_t)u32_in(r, 1, INT32_MAX, field);
        snprintf(field, sizeof field, "the size of member %d", (int)got + 1);
        uint64_t ms = taml_bytes_u64(r, field);
        if (taml_bytes_ok(r) && ms > taml_bytes_left(r))
            taml_bytes_fail(r, TAML_ECORRUPT, field, "%llu bytes; %zu are left",
                            (unsigned long long)ms, taml_bytes_left(r));
        snprintf(field, sizeof field, "member %d", (int)got + 1);
        const void *mb = taml_bytes_ok(r) ? taml_bytes_take(r, (size_t)ms, field) : NULL;
        if (!mb) break;
        char *name = taml_asprintf("%s: member %d of %d", source, (int)got + 1, (int)n);
        uint32_t version;
        if (taml_envelope_peek(mb, (size_t)ms, MAGIC, &version) && version == TAML_MODEL_VERSION_ENSEMBLE)
            rc = taml_err_set(err, TAML_EFORMAT, "%s: an ensemble inside an ensemble", name);
        else
            rc = taml_model_decode(&members[got], mb, (size_t)ms, name, err);
        free(name);
        if (rc) break;
    }
    if (!rc) taml_bytes_expect_end(r, "the last member");
    if (!rc) rc = taml_bytes_status(r, err);
    if (!rc) {
        rc = taml_model_ensemble_new(out, members, weights, n, prov, err);
        if (rc) taml_err_prefix(err, "%s", source);
    } else {
        for (int32_t i = 0; i < got; i++) taml_model_free(members[i]);
    }
    free(members);
    free(weights);
    free(prov);
    return rc;
}

int taml_model_decode(taml_model **out, const void *buf, size_t size, const char *source,
                      taml_err *err)
{
    *out = NULL;
    if (!source) source = "model";
    uint32_t version;
    if (taml_envelope_peek(buf, size, MAGIC, &version) && version != TAML_MODEL_VERSION &&
        version != TAML_MODEL_VERSION_ENSEMBLE && version != TAML_MODEL_VERSION_TEXT &&
        version != TAML_MODEL_VERSION_IMAGE)
        return taml_bytes_error(err, TAML_EMISMATCH, source, 8, "version",
                                "model file format version %u; this taml reads versions %d "
                                "(a model), %d (an ensemble), %d (a text model with n-grams) and "
                                "%d (an image model with its CNN)%s",
                                version, TAML_MODEL_VERSION, TAML_MODEL_VERSION_ENSEMBLE,
                                TAML_MODEL_VERSION_TEXT, TAML_MODEL_VERSION_IMAGE,
                                version > TAML_MODEL_VERSION_IMAGE ? " (a newer taml wrote it)" : "");
    taml_envelope env;
    taml_bytes_reader r;
    int rc = taml_envelope_open_payload(buf, size, source, MAGIC, WHAT, &env, &r, err);
    if (rc) return rc;
    if (env.version == TAML_MODEL_VERSION_ENSEMBLE) return decode_ensemble(out, &r, source, err);
    taml_model *m = taml_calloc(1, sizeof *m);
    if ((rc = decode_payload(m, &r, env.version, source, err))) {
        /* taml_model_free copes with arrays not (or partly) read: calloc'd or NULL */
        taml_model_free(m);
        return rc;
    }
    taml_model_finish(m);
    *out = m;
    return TAML_OK;
}

/* ------------------------------------------------------------ files */

int taml_model_save(const taml_model *m, const char *path, taml_err *err)
{
    void *buf;
    size_t size;
    taml_model_encode(m, &buf, &size);
    int rc = taml_write_file_atomic(path, buf, size, err);
    free(buf);
    return rc;
}

int taml_model_load(taml_model **out, const char *path, taml_err *err)
{
    *out = NULL;
    char *data = NULL;
    size_t size = 0;
    int rc = taml_read_file(path, &data, &size, err);
    if (rc) return rc;
    rc = taml_model_decode(out, data, size, path, err);
    free(data);
    return rc;
}
