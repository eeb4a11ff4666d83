/* nn/model.c - a trained child as a self-contained, checksummed file, and
 * predictions from it (see model.h for the format and the contracts).
 *
 * The model keeps a float net (nn/net.h) shaped like the child's, with
 * evaluation batches of TAML_CHILD_BATCH rows and no dropout buffers, so a
 * prediction runs the very kernels the child's accuracy was measured with. */
#include "nn/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "core/util.h"
#include "core/utf8.h"
#include "data/task.h"
#include "data/tokenise.h"
#include "embed/module.h"
#include "nn/net.h"

#define BATCH TAML_CHILD_BATCH
static const char MAGIC[8] = {'T', 'A', 'M', 'L', 'C', 'L', 'S', 'F'}; /* not TAMLMODL: modules have it */
enum { HEADER = 24, TRAILER = 4 };

struct taml_model {
    taml_model_info info;
    char *task_name, *config_json, *provenance_json;
    uint32_t tok_version;
    int32_t C;
    char **class_names; /* (C) */
    int image, deep, wide, fine_tuned;
    int32_t height, width, channels;
    taml_net_shape shape;
    void *block; /* the net's memory */
    taml_net_t net;
    /* text: word i of wide_words owns row i of net.wtab; word i of emb_words
     * owns row i of rows (frozen) or of net.emb (fine-tuned) */
    int32_t V, R;
    char **wide_words, **emb_words;
    taml_strmap *wide_map, *emb_map;
    float *rows; /* (R, D) frozen module rows; NULL when fine-tuned */
    /* prediction scratch: one batch's ids */
    int64_t deep_off[BATCH + 1], wide_off[BATCH + 1];
    int32_t *deep_ids, *wide_ids;
    size_t deep_cap, wide_cap;
    int32_t ex[BATCH];
};

static size_t n_deep_of(const taml_net_shape *s)
{
    size_t n = 0;
    if (s->D <= 0) return 0;
    for (int l = 0; l < s->L; l++)
        n += (size_t)(l ? s->H : s->D) * s->H + s->H + (s->norm ? 2 * (size_t)s->H : 0);
    return n + (size_t)s->H * s->C + s->C;
}

/* Lays out the net for m->shape (evaluation only) in a fresh block. */
static void alloc_net(taml_model *m)
{
    size_t bytes = taml_net_size(&m->shape);
    m->block = taml_aligned(bytes);
    taml_net_init(&m->net, &m->shape, m->block);
}

static void fill_info(taml_model *m)
{
    taml_model_info *i = &m->info;
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
}

static taml_strmap *word_map(char **words, int32_t n)
{
    taml_strmap *map = taml_strmap_new((size_t)(n > 0 ? n : 1));
    for (int32_t i = 0; i < n; i++) taml_strmap_put(map, words[i], strlen(words[i]), i);
    return map;
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
    free(m->rows);
    free(m->block);
    free(m->deep_ids);
    free(m->wide_ids);
    free(m);
}

const taml_model_info *taml_model_info_get(const taml_model *m) { return &m->info; }

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
    m->deep = m->shape.D > 0;
    m->wide = m->shape.wide_rows > 0 || m->shape.wide_dense > 0;
    m->fine_tuned = m->shape.emb_rows > 0;
    alloc_net(m);
    taml_net_t *n = &m->net;
    TAML_ASSERT(n->n_deep == cn->n_deep && n->n_wide == cn->n_wide);
    if (n->n_deep) memcpy(n->deep, cn->deep, n->n_deep * sizeof(float));
    if (n->n_wide) memcpy(n->wide, cn->wide, n->n_wide * sizeof(float));
    if (m->shape.wide_rows > 0)
        memcpy(n->wtab, cn->wtab, (size_t)m->shape.wide_rows * m->C * sizeof(float));
    if (m->fine_tuned)
        memcpy(n->emb, cn->emb, (size_t)m->shape.emb_rows * m->shape.D * sizeof(float));
    if (m->deep && m->shape.norm == TAML_NORM_BATCH) {
        size_t LH = (size_t)m->shape.L * m->shape.H;
        memcpy(n->rmean, cn->rmean, LH * sizeof(float));
        memcpy(n->rvar, cn->rvar, LH * sizeof(float));
    }
    int rc = TAML_OK;
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
    if (m->V) m->wide_map = word_map(m->wide_words, m->V);
    if (m->R) m->emb_map = word_map(m->emb_words, m->R);
    fill_info(m);
    *out = m;
    return TAML_OK;
fail:
    taml_model_free(m);
    return rc;
}

/* ------------------------------------------------------------ encoding */

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
} wbuf;

static void w_bytes(wbuf *b, const void *src, size_t len)
{
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + len) cap *= 2;
        b->p = taml_realloc(b->p, cap);
        b->cap = cap;
    }
    if (len) memcpy(b->p + b->n, src, len);
    b->n += len;
}

static void put_u32_at(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void w_u32(wbuf *b, uint32_t v)
{
    unsigned char x[4];
    put_u32_at(x, v);
    w_bytes(b, x, 4);
}

static void w_u64(wbuf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++) x[i] = (unsigned char)(v >> (8 * i));
    w_bytes(b, x, 8);
}

static void w_str(wbuf *b, const char *s)
{
    size_t len = strlen(s);
    w_u32(b, (uint32_t)len);
    w_bytes(b, s, len);
}

static void w_f32s(wbuf *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, v + i, 4);
        w_u32(b, u);
    }
}

void taml_model_encode(const taml_model *m, void **buf, size_t *size)
{
    wbuf b = {0};
    w_bytes(&b, MAGIC, 8);
    w_u32(&b, TAML_MODEL_VERSION);
    w_u32(&b, 0);
    w_u64(&b, 0); /* payload size, patched below */
    const taml_net_shape *s = &m->shape;
    const taml_net_t *n = &m->net;
    w_str(&b, m->task_name);
    w_str(&b, m->config_json);
    w_u32(&b, m->tok_version);
    w_str(&b, m->provenance_json);
    w_u32(&b, (uint32_t)m->image);
    w_u32(&b, (uint32_t)m->height);
    w_u32(&b, (uint32_t)m->width);
    w_u32(&b, (uint32_t)m->channels);
    w_u32(&b, (uint32_t)m->C);
    for (int32_t k = 0; k < m->C; k++) w_str(&b, m->class_names[k]);
    w_u32(&b, (uint32_t)s->D);
    w_u32(&b, (uint32_t)s->L);
    w_u32(&b, (uint32_t)s->H);
    w_u32(&b, (uint32_t)s->act);
    w_u32(&b, (uint32_t)s->norm);
    w_u32(&b, (uint32_t)m->fine_tuned);
    w_u32(&b, (uint32_t)m->wide);
    if (m->wide && !m->image) {
        w_u32(&b, (uint32_t)s->wide_rows);
        w_u32(&b, (uint32_t)m->V);
        for (int32_t i = 0; i < m->V; i++) w_str(&b, m->wide_words[i]);
        w_f32s(&b, n->wide, (size_t)m->C);
        w_f32s(&b, n->wtab, (size_t)s->wide_rows * m->C);
    } else if (m->wide) {
        w_f32s(&b, n->wide, n->n_wide);
    }
    if (m->deep) {
        if (!m->image) {
            w_u32(&b, (uint32_t)m->R);
            for (int32_t i = 0; i < m->R; i++) w_str(&b, m->emb_words[i]);
            w_f32s(&b, m->fine_tuned ? n->emb : m->rows, (size_t)m->R * s->D);
        }
        w_u64(&b, n->n_deep);
        w_f32s(&b, n->deep, n->n_deep);
        if (s->norm == TAML_NORM_BATCH) {
            w_f32s(&b, n->rmean, (size_t)s->L * s->H);
            w_f32s(&b, n->rvar, (size_t)s->L * s->H);
        }
    }
    uint64_t payload = b.n - HEADER;
    for (int i = 0; i < 8; i++) b.p[16 + i] = (unsigned char)(payload >> (8 * i));
    w_u32(&b, taml_crc32(0, b.p, b.n));
    *buf = b.p;
    *size = b.n;
}

/* ------------------------------------------------------------ decoding */

typedef struct rbuf {
    const unsigned char *p;
    size_t n, off;
    taml_err *err;
} rbuf;

static uint32_t get_u32_at(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int need(rbuf *r, size_t len, const char *what)
{
    if (r->n - r->off < len)
        return taml_err_set(r->err, TAML_EFORMAT,
                            "model: the payload ends inside %s (at byte %zu, %zu more bytes needed)",
                            what, HEADER + r->off, len);
    return 0;
}

static int r_u32(rbuf *r, uint32_t *v, const char *what)
{
    int rc = need(r, 4, what);
    if (rc) return rc;
    *v = get_u32_at(r->p + r->off);
    r->off += 4;
    return 0;
}

/* A u32 that must lie in [lo, hi]. */
static int r_range(rbuf *r, int32_t *v, int64_t lo, int64_t hi, const char *what)
{
    uint32_t u;
    int rc = r_u32(r, &u, what);
    if (rc) return rc;
    if ((int64_t)u < lo || (int64_t)u > hi)
        return taml_err_set(r->err, TAML_EFORMAT, "model: %s is %u; expected %lld .. %lld", what, u,
                            (long long)lo, (long long)hi);
    *v = (int32_t)u;
    return 0;
}

static int r_u64(rbuf *r, uint64_t *v, const char *what)
{
    int rc = need(r, 8, what);
    if (rc) return rc;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x |= (uint64_t)r->p[r->off + i] << (8 * i);
    *v = x;
    r->off += 8;
    return 0;
}

/* A string: valid UTF-8 without NUL; nonempty when word. */
static int r_str(rbuf *r, char **out, int word, const char *what)
{
    uint32_t len;
    int rc = r_u32(r, &len, what);
    if (rc || (rc = need(r, len, what))) return rc;
    const char *s = (const char *)r->p + r->off;
    if (memchr(s, 0, len) || taml_utf8_check(s, len) < len || (word && len == 0))
        return taml_err_set(r->err, TAML_EFORMAT, "model: %s at byte %zu is not %s", what,
                            HEADER + r->off, word ? "a non-empty UTF-8 word" : "UTF-8 text");
    *out = taml_malloc(len + 1);
    memcpy(*out, s, len);
    (*out)[len] = 0;
    r->off += len;
    return 0;
}

static int r_f32s(rbuf *r, float **out, size_t count, const char *what)
{
    if (count > (r->n - r->off) / 4) return need(r, count * 4, what);
    float *v = taml_malloc(sizeof *v * (count ? count : 1));
    for (size_t i = 0; i < count; i++) {
        uint32_t u = get_u32_at(r->p + r->off + 4 * i);
        memcpy(v + i, &u, 4);
        if (!isfinite(v[i])) {
            free(v);
            return taml_err_set(r->err, TAML_EFORMAT, "model: %s holds a non-finite value (#%zu)",
                                what, i);
        }
    }
    r->off += count * 4;
    *out = v;
    return 0;
}

/* Reads count words into a fresh array; refuses repeats. */
static int r_words(rbuf *r, char ***out, int32_t count, const char *what)
{
    if ((size_t)count > (r->n - r->off) / 4) return need(r, (size_t)count * 4, what);
    char **w = taml_calloc((size_t)(count > 0 ? count : 1), sizeof *w);
    *out = w;
    taml_strmap *seen = taml_strmap_new((size_t)(count > 0 ? count : 1));
    int rc = 0;
    for (int32_t i = 0; i < count && !rc; i++) {
        if ((rc = r_str(r, &w[i], 1, what))) break;
        if (taml_strmap_put(seen, w[i], strlen(w[i]), i) != i)
            rc = taml_err_set(r->err, TAML_EFORMAT, "model: %s \"%s\" appears twice", what, w[i]);
    }
    taml_strmap_free(seen);
    return rc;
}

static int copy_f32s(rbuf *r, float *dst, size_t count, const char *what)
{
    float *v = NULL;
    int rc = r_f32s(r, &v, count, what);
    if (!rc && count) memcpy(dst, v, count * sizeof *v);
    free(v);
    return rc;
}

static int decode_payload(taml_model *m, rbuf *r)
{
    int rc;
    taml_err *err = r->err;
    int32_t image, wide, fine_tuned, D, L, H, act, norm;
    if ((rc = r_str(r, &m->task_name, 0, "the task name")) ||
        (rc = r_str(r, &m->config_json, 0, "the config")) ||
        (rc = r_u32(r, &m->tok_version, "the tokeniser version")) ||
        (rc = r_str(r, &m->provenance_json, 0, "the provenance")) ||
        (rc = r_range(r, &image, 0, 1, "the kind")) ||
        (rc = r_range(r, &m->height, 0, 1 << 16, "the image height")) ||
        (rc = r_range(r, &m->width, 0, 1 << 16, "the image width")) ||
        (rc = r_range(r, &m->channels, 0, 1 << 10, "the image channels")) ||
        (rc = r_range(r, &m->C, 1, 1 << 24, "the number of classes")))
        return rc;
    if (m->tok_version != TAML_TOKENISE_VERSION)
        return taml_err_set(err, TAML_EMISMATCH,
                            "model: made with tokeniser rules version %u, this taml has version %d "
                            "(texts would not tokenise the same): export it again",
                            m->tok_version, TAML_TOKENISE_VERSION);
    m->image = image;
    int64_t pixels = (int64_t)m->height * m->width * m->channels;
    if (image && (pixels <= 0 || pixels > (1 << 24)))
        return taml_err_set(err, TAML_EFORMAT, "model: image dims %dx%dx%d make no image", m->height,
                            m->width, m->channels);
    if ((rc = r_words(r, &m->class_names, m->C, "a class name"))) return rc;
    if ((rc = r_range(r, &D, 0, 1 << 24, "the deep input width")) ||
        (rc = r_range(r, &L, 1, TAML_CHILD_MAX_LAYERS, "the hidden layers")) ||
        (rc = r_range(r, &H, 1, TAML_CHILD_MAX_HIDDEN, "the hidden size")) ||
        (rc = r_range(r, &act, 0, 1, "the activation")) ||
        (rc = r_range(r, &norm, 0, 2, "the normalization")) ||
        (rc = r_range(r, &fine_tuned, 0, 1, "the fine-tuned flag")) ||
        (rc = r_range(r, &wide, 0, 1, "the wide flag")))
        return rc;
    if (!D && !wide) return taml_err_set(err, TAML_EFORMAT, "model: neither tower is present");
    if (image && D && D != pixels)
        return taml_err_set(err, TAML_EFORMAT, "model: deep input width %d is not the %lld pixels", D,
                            (long long)pixels);
    if (fine_tuned && (image || !D))
        return taml_err_set(err, TAML_EFORMAT, "model: fine-tuned without a text deep tower");

    /* the config must say what the shape says */
    taml_child_config cfg;
    if ((rc = taml_child_config_parse(&cfg, m->config_json, strlen(m->config_json), err))) {
        taml_err_prefix(err, "model: its config");
        return rc;
    }
    if (cfg.deep_disabled != !D || cfg.wide_disabled != !wide ||
        (D && (cfg.layers != L || cfg.hidden_size != H || cfg.activation != act ||
               cfg.normalization != norm || (cfg.fine_tune && !image) < fine_tuned)))
        return taml_err_set(err, TAML_EFORMAT,
                            "model: the config %s does not describe the stored network", m->config_json);

    taml_net_shape *s = &m->shape;
    memset(s, 0, sizeof *s);
    s->B = BATCH, s->D = D, s->C = m->C, s->L = L, s->H = H, s->act = act, s->norm = norm;
    m->deep = D > 0, m->wide = wide, m->fine_tuned = fine_tuned;
    float *bias = NULL, *wtab = NULL, *emb = NULL; /* all before the first goto out */
    int32_t wide_rows = 0;
    uint64_t n_deep = 0;
    taml_net_t *n = NULL;
    if (wide && !image) {
        if ((rc = r_range(r, &wide_rows, 1, INT32_MAX, "the wide table's rows")) ||
            (rc = r_range(r, &m->V, 0, wide_rows, "the wide words")))
            return rc;
        rc = r_words(r, &m->wide_words, m->V, "a wide word");
        if (!rc) rc = r_f32s(r, &bias, (size_t)m->C, "the wide bias");
        if (!rc) rc = r_f32s(r, &wtab, (size_t)wide_rows * m->C, "the wide table");
        if (rc) goto out;
        s->wide_rows = wide_rows, s->wide_cap = 1;
    } else if (wide) {
        s->wide_dense = (int)pixels;
        if ((rc = r_f32s(r, &bias, (size_t)m->C * (1 + (size_t)pixels), "the wide weights")))
            goto out;
    }
    if (D && !image) {
        if ((rc = r_range(r, &m->R, 0, INT32_MAX, "the embedding rows"))) goto out;
        if (fine_tuned && m->R == 0) {
            rc = taml_err_set(err, TAML_EFORMAT, "model: fine-tuned with no embedding row");
            goto out;
        }
        rc = r_words(r, &m->emb_words, m->R, "an embedding word");
        if (!rc) rc = r_f32s(r, &emb, (size_t)m->R * D, "the embedding rows");
        if (rc) goto out;
        if (fine_tuned) s->emb_rows = m->R, s->emb_cap = 1;
        else m->rows = emb, emb = NULL;
    }
    if (D && (rc = r_u64(r, &n_deep, "the deep parameter count"))) goto out;
    if (n_deep != n_deep_of(s)) {
        rc = taml_err_set(err, TAML_EFORMAT, "model: %llu deep parameters; the shape needs %zu",
                          (unsigned long long)n_deep, n_deep_of(s));
        goto out;
    }
    if (D && n_deep > (r->n - r->off) / 4) {
        rc = need(r, n_deep * 4, "the deep parameters");
        goto out;
    }
    alloc_net(m);
    n = &m->net;
    if (bias) memcpy(n->wide, bias, n->n_wide * sizeof(float));
    if (wtab) memcpy(n->wtab, wtab, (size_t)wide_rows * m->C * sizeof(float));
    if (emb) memcpy(n->emb, emb, (size_t)m->R * D * sizeof(float));
    if (D) {
        size_t LH = (size_t)L * H;
        if ((rc = copy_f32s(r, n->deep, n_deep, "the deep parameters"))) goto out;
        if (norm == TAML_NORM_BATCH &&
            ((rc = copy_f32s(r, n->rmean, LH, "the running means")) ||
             (rc = copy_f32s(r, n->rvar, LH, "the running variances"))))
            goto out;
        for (size_t i = 0; norm == TAML_NORM_BATCH && i < LH; i++)
            if (!(n->rvar[i] >= 0)) {
                rc = taml_err_set(err, TAML_EFORMAT, "model: a negative running variance");
                goto out;
            }
    }
    if (r->off != r->n)
        rc = taml_err_set(err, TAML_EFORMAT, "model: %zu bytes after the last field of the payload",
                          r->n - r->off);
out:
    free(bias);
    free(wtab);
    free(emb);
    return rc;
}

int taml_model_decode(taml_model **out, const void *buf, size_t size, taml_err *err)
{
    *out = NULL;
    const unsigned char *p = buf;
    if (size < HEADER + TRAILER || memcmp(p, MAGIC, 8))
        return taml_err_set(err, size >= 8 && !memcmp(p, MAGIC, 8) ? TAML_EFORMAT : TAML_ECORRUPT,
                            "model: %s; expected a taml model file (magic TAMLCLSF)",
                            size >= 8 && !memcmp(p, MAGIC, 8) ? "truncated header" : "not a taml model");
    uint32_t version = get_u32_at(p + 8);
    if (version != TAML_MODEL_VERSION)
        return taml_err_set(err, TAML_EMISMATCH,
                            "model: file format version %u; this taml reads version %d%s", version,
                            TAML_MODEL_VERSION, version > TAML_MODEL_VERSION ? " (a newer taml wrote it)" : "");
    uint64_t payload = 0;
    for (int i = 0; i < 8; i++) payload |= (uint64_t)p[16 + i] << (8 * i);
    if (payload != size - HEADER - TRAILER)
        return taml_err_set(err, TAML_EFORMAT,
                            "model: the header announces %llu payload bytes, the file has %zu: %s",
                            (unsigned long long)payload, size - HEADER - TRAILER,
                            payload > size - HEADER - TRAILER ? "truncated" : "trailing bytes");
    uint32_t crc = get_u32_at(p + size - TRAILER), want = taml_crc32(0, p, size - TRAILER);
    if (crc != want)
        return taml_err_set(err, TAML_ECORRUPT,
                            "model: checksum mismatch (CRC-32 %08x stored, %08x computed): the file is "
                            "damaged",
                            crc, want);
    if (get_u32_at(p + 12) != 0)
        return taml_err_set(err, TAML_EFORMAT, "model: unknown flags %08x", get_u32_at(p + 12));
    taml_model *m = taml_calloc(1, sizeof *m);
    rbuf r = {p + HEADER, (size_t)payload, 0, err};
    int rc = decode_payload(m, &r);
    if (rc) {
        /* taml_model_free copes with arrays not (or partly) read: calloc'd or NULL */
        taml_model_free(m);
        return rc;
    }
    if (m->V) m->wide_map = word_map(m->wide_words, m->V);
    if (m->R) m->emb_map = word_map(m->emb_words, m->R);
    fill_info(m);
    *out = m;
    return TAML_OK;
}

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
    rc = taml_model_decode(out, data, size, err);
    if (rc) taml_err_prefix(err, "%s", path);
    free(data);
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
    taml_net_batch bt = {nb, m->ex, NULL, m->deep_off, m->deep_ids, m->wide_off, m->wide_ids};
    taml_net_forward(&m->net, &bt, 0);
    memcpy(logits, m->net.logits, (size_t)nb * m->C * sizeof(float));
}

int taml_model_predict_texts(taml_model *m, int32_t n, const char *const *texts,
                             const size_t *lens, float *logits, taml_err *err)
{
    if (m->image)
        return taml_err_set(err, TAML_EINVAL, "model: an image model (%dx%dx%d) cannot read text",
                            m->height, m->width, m->channels);
    int32_t D = m->shape.D;
    double *acc = taml_malloc(sizeof *acc * (size_t)(D > 0 ? D : 1));
    for (int32_t s = 0; s < n; s += BATCH) {
        int nb = n - s < BATCH ? n - s : BATCH;
        tok_ctx c = {m, 0, 0};
        for (int b = 0; b < nb; b++) {
            m->deep_off[b] = (int64_t)c.nd;
            m->wide_off[b] = (int64_t)c.nw;
            taml_tokenise(texts[s + b], lens[s + b], on_token, &c);
        }
        m->deep_off[nb] = (int64_t)c.nd;
        m->wide_off[nb] = (int64_t)c.nw;
        if (m->deep && !m->fine_tuned) {
            /* the pooled input exactly as nn/features.c computes it */
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
        run_batch(m, nb, logits + (size_t)s * m->C);
    }
    free(acc);
    return TAML_OK;
}

int taml_model_predict_images(taml_model *m, int32_t n, const uint8_t *pixels, float *logits,
                              taml_err *err)
{
    if (!m->image) return taml_err_set(err, TAML_EINVAL, "model: a text model cannot read images");
    size_t P = (size_t)m->height * m->width * m->channels;
    for (int32_t s = 0; s < n; s += BATCH) {
        int nb = n - s < BATCH ? n - s : BATCH;
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = pixels + (size_t)(s + b) * P;
            /* the same expression as the child's gather */
            if (m->deep)
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
