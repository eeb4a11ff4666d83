/* nn/child.c - building, training and scoring one child (see child.h): the
 * training loop around the float net (nn/net.h) and Proximal Adagrad
 * (nn/optim.h), matching the reference anchors/torch_child.py.
 *
 * Semantics kept from the reference: Glorot-uniform dense weights, zero
 * biases, zero wide tower; batches are consecutive slices of a stream of
 * per-epoch permutations of the train split; one Proximal Adagrad per tower on
 * every variable of the tower (biases and norm parameters too), accumulators
 * starting at 0.1; sparse rows (wide table, fine-tuned embedding rows) updated
 * only when a batch touches them, duplicates summed.
 *
 * Divergence, cheaply and exactly: a step is applied only after its loss is
 * finite and every gradient (and batch statistic) is finite with |g| <= 1e18.
 * With such a gradient Adagrad's step |lr_t g| <= lr (the accumulator holds
 * g^2), so applied steps cannot make a weight non-finite, and a bad step is
 * caught before it touches anything: the diverged child keeps the weights of
 * its last good step at the cost of one read of the gradients per step.
 * (The reference checks the loss only; a finite loss with gradients above
 * 1e18 is counted as diverged here, which no real trial distinguishes.)
 *
 * Beyond the paper (docs/child-model.md "N-gram features"): the n-gram wide
 * tower's table holds the rows of the config's parts one after another
 * (words, word n-grams 2 .. n, character n-grams min .. max), and the
 * subword vectors are a second sparse table of the deep tower, learned with
 * its learning rate and L2 (initialised uniformly in +-1/D as fastText's
 * input vectors, from their own random stream). Both live in the same
 * block, carved only when the config uses them, so a paper config's block,
 * and every number it computes, is what it was.
 */
#include "nn/child.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "core/util.h"
#include "nn/net.h"
#include "nn/optim.h"

#define BATCH TAML_CHILD_BATCH
#define GRAD_LIMIT 1e18f

/* The state of the decisions beyond the paper (carved only when used). */
enum { MAX_PARTS = TAML_NGRAM_WORD_MAX + TAML_NGRAM_CHAR_MAX };
typedef struct child_text {
    taml_net_part parts[MAX_PARTS]; /* the batch's n-gram parts */
    const float *scale;             /* tfidf: each example's scale, else NULL */
    const taml_subwords *sw;        /* NULL: no subword vectors */
    float *acc_sub;                 /* (sub_rows, D) their accumulators */
} child_text;

struct taml_child {
    taml_child_config cfg;
    const taml_features *f;
    const taml_task *task;
    taml_net_t net;
    int deep, wide, fine_tune, image;
    taml_rng init_rng, drop_rng, order_rng;
    /* optimiser accumulators, same shapes as what they follow */
    float *acc_deep; /* (net.n_deep) */
    float *acc_wide; /* (net.n_wide) */
    float *acc_wtab; /* (V, C) */
    float *acc_emb;  /* (R, D) */
    int32_t *perm;   /* (n_train) the current epoch's order */
    int64_t pos;     /* next unused entry of perm */
    int32_t ex[BATCH], labels[BATCH];
    size_t bytes;
    int fitted;
    child_text *tx; /* NULL for a paper config */
};

const char *taml_child_status_name(taml_child_status s)
{
    switch (s) {
    case TAML_CHILD_OK: return "ok";
    case TAML_CHILD_DIVERGED: return "diverged";
    case TAML_CHILD_INVALID: return "invalid";
    case TAML_CHILD_PRUNED: return "pruned";
    }
    return "?";
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}


static void glorot(taml_rng *r, float *w, int in, int out)
{
    double limit = sqrt(6.0 / (in + out));
    for (size_t i = 0; i < (size_t)in * out; i++)
        w[i] = (float)(limit * (2 * taml_rng_uniform(r) - 1));
}

static void fill(float *p, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) p[i] = v;
}

int taml_child_new(taml_child **out, const taml_child_config *cfg, const taml_features *f,
                   uint64_t seed, taml_err *err)
{
    *out = NULL;
    const taml_task *t = f->task;
    int deep = !cfg->deep_disabled, wide = !cfg->wide_disabled;
    int image = t->kind == TAML_TASK_IMAGE;
    if (!deep && !wide)
        return taml_err_set(err, TAML_EINVAL, "child: both towers are disabled (an invalid trial)");
    int32_t n_train = t->n_split[TAML_TRAIN];
    if (n_train <= 0)
        return taml_err_set(err, TAML_EINVAL, "child: task %s has no training example", t->name);
    if (t->n_classes < 1)
        return taml_err_set(err, TAML_EINVAL, "child: task %s has no class", t->name);

    taml_net_shape s = {0};
    s.B = BATCH;
    s.C = t->n_classes;
    s.L = cfg->layers;
    s.H = cfg->hidden_size;
    s.act = cfg->activation;
    s.norm = cfg->normalization;
    s.dropout = deep && cfg->dropout > 0;
    /* Image modules are never fine-tuned (docs/modules.md says why): a config
     * asking for it is refused, not silently trained frozen. Text: nothing
     * to fine-tune when the module knows none of the task's words (the deep
     * input is then the zero vector). */
    if (image && deep && cfg->fine_tune)
        return taml_err_set(err, TAML_EINVAL,
                            "child: fine_tune is true, but an image task's extractor (%s) is "
                            "never fine-tuned: give fine_tune false",
                            f->module ? taml_module_name(f->module) : "pixels");
    int fine_tune = deep && cfg->fine_tune && !image && f->n_rows > 0;
    if (deep) s.D = f->dim;
    if (fine_tune) {
        s.emb_rows = f->n_rows;
        s.emb_cap = (int)(f->deep_batch_max < f->n_rows ? f->deep_batch_max : f->n_rows);
        if (s.emb_cap < 1) s.emb_cap = 1;
    }
    /* an image task's wide tower reads the raw pixels, whatever the deep
     * tower's extractor */
    if (wide && image) s.wide_dense = t->height * t->width * t->channels;
    else if (wide && t->n_wide > 0) {
        s.wide_rows = t->n_wide;
        s.wide_cap = (int)(f->wide_batch_max < t->n_wide ? f->wide_batch_max : t->n_wide);
        if (s.wide_cap < 1) s.wide_cap = 1;
    }
    /* a wide-only child of a task with no wide vocabulary keeps its bias: the
     * reference has it too (it learns the class prior) */
    if (wide && !image && t->n_wide == 0) {
        s.wide_rows = 1;
        s.wide_cap = 1;
    }
    /* the decisions beyond the paper: the parts and subwords they read */
    const taml_ngrams_part *parts[MAX_PARTS];
    const taml_subwords *sw = NULL;
    const float *scale = NULL;
    int rc = 0;
    if (wide && !image && taml_child_config_ngrams(cfg)) {
        int np = 0;
        for (int k = 1; k <= cfg->word_ngrams && !rc; k++)
            rc = taml_features_part(f, TAML_GRAM_WORD, k, cfg->buckets, &parts[np++], err);
        for (int k = cfg->char_min; cfg->char_max > 0 && k <= cfg->char_max && !rc; k++)
            rc = taml_features_part(f, TAML_GRAM_CHAR, k, cfg->buckets, &parts[np++], err);
        if (!rc && cfg->weighting == TAML_WEIGHT_TFIDF)
            rc = taml_features_tfidf_scale(f, cfg->word_ngrams, cfg->char_min, cfg->char_max,
                                           cfg->buckets, &scale, err);
        if (rc) return rc;
        int64_t rows = 0, cap = 0;
        for (int k = 0; k < np; k++) rows += parts[k]->rows, cap += parts[k]->batch_max;
        if (rows > INT32_MAX)
            return taml_err_set(err, TAML_EINVAL, "child: %lld n-gram rows; at most %d",
                                (long long)rows, INT32_MAX);
        s.wide_parts = np;
        s.weighting = cfg->weighting;
        s.wide_rows = rows > 0 ? rows : 1;
        s.wide_cap = (int)(cap < s.wide_rows ? cap : s.wide_rows);
        if (s.wide_cap < 1) s.wide_cap = 1;
    }
    if (deep && !image && cfg->subwords) {
        if ((rc = taml_features_subwords(f, cfg->buckets, &sw, err))) return rc;
        if (sw->rows == 0) sw = NULL; /* no word lacks a vector: the paper's deep input */
    }
    if (sw) {
        s.sub_rows = sw->rows;
        s.sub_cap = (int)(sw->batch_max < sw->rows ? sw->batch_max : sw->rows);
        if (s.sub_cap < 1) s.sub_cap = 1;
    }
    int text_extra = s.wide_parts > 0 || s.sub_rows > 0;

    size_t net_bytes = taml_net_size(&s);
    size_t head = taml_align_up(sizeof(taml_child), 64);
    /* The accumulators mirror the net's parameters; their sizes come from the
     * shape the same way the net computes them. */
    size_t n_deep = 0;
    if (deep) {
        for (int l = 0; l < s.L; l++)
            n_deep += (size_t)(l ? s.H : s.D) * s.H + s.H + (s.norm ? 2 * (size_t)s.H : 0);
        n_deep += (size_t)s.H * s.C + s.C;
    }
    size_t n_wide = wide ? (size_t)s.C + (size_t)s.wide_dense * s.C : 0;
    size_t n_wtab = (size_t)s.wide_rows * s.C, n_emb = (size_t)s.emb_rows * s.D;
    size_t n_sub = (size_t)s.sub_rows * s.D;
    size_t bytes = head + taml_align_up(net_bytes, 64) + taml_align_up(n_deep * 4, 64) +
                   taml_align_up(n_wide * 4, 64) + taml_align_up(n_wtab * 4, 64) +
                   taml_align_up(n_emb * 4, 64) + taml_align_up((size_t)n_train * 4, 64);
    if (text_extra) bytes += taml_align_up(sizeof(child_text), 64) + taml_align_up(n_sub * 4, 64);
    char *block = taml_try_aligned(bytes);
    if (!block)
        return taml_err_set(err, TAML_ENOMEM, "child: cannot allocate %zu bytes for this config",
                            bytes);
    taml_child *c = (taml_child *)(void *)block;
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    c->f = f;
    c->task = t;
    c->deep = deep, c->wide = wide, c->fine_tune = fine_tune, c->image = image;
    c->bytes = bytes;
    size_t off = head;
    taml_net_init(&c->net, &s, block + off);
    off += taml_align_up(net_bytes, 64);
    TAML_ASSERT(c->net.n_deep == n_deep && c->net.n_wide == n_wide);
    c->acc_deep = (float *)(void *)(block + off), off += taml_align_up(n_deep * 4, 64);
    c->acc_wide = (float *)(void *)(block + off), off += taml_align_up(n_wide * 4, 64);
    c->acc_wtab = (float *)(void *)(block + off), off += taml_align_up(n_wtab * 4, 64);
    c->acc_emb = (float *)(void *)(block + off), off += taml_align_up(n_emb * 4, 64);
    c->perm = (int32_t *)(void *)(block + off), off += taml_align_up((size_t)n_train * 4, 64);
    if (text_extra) {
        c->tx = (child_text *)(void *)(block + off), off += taml_align_up(sizeof(child_text), 64);
        memset(c->tx, 0, sizeof *c->tx);
        c->tx->acc_sub = (float *)(void *)(block + off), off += taml_align_up(n_sub * 4, 64);
        fill(c->tx->acc_sub, n_sub, 0.1f);
        int32_t base = 0;
        for (int k = 0; k < s.wide_parts; k++) {
            c->tx->parts[k] = (taml_net_part){parts[k]->off, parts[k]->ids, parts[k]->cnt, base,
                                              scale ? parts[k]->idf : NULL};
            base += parts[k]->rows;
        }
        c->tx->sw = sw;
        c->tx->scale = scale;
    }
    TAML_ASSERT(off == bytes);
    fill(c->acc_deep, n_deep, 0.1f);
    fill(c->acc_wide, n_wide, 0.1f);
    fill(c->acc_wtab, n_wtab, 0.1f);
    fill(c->acc_emb, n_emb, 0.1f);

    taml_rng_seed(&c->init_rng, taml_rng_derive(seed, 1));
    taml_rng_seed(&c->drop_rng, taml_rng_derive(seed, 2));
    taml_rng_seed(&c->order_rng, taml_rng_derive(seed, 3));
    if (deep)
        for (int l = 0; l <= s.L; l++)
            glorot(&c->init_rng, c->net.w[l], l ? s.H : s.D, l == s.L ? s.C : s.H);
    if (fine_tune) memcpy(c->net.emb, f->rows, n_emb * sizeof(float));
    if (sw) {
        taml_rng r;
        taml_rng_seed(&r, taml_rng_derive(seed, 4));
        double limit = 1.0 / s.D;
        for (size_t i = 0; i < n_sub; i++)
            c->net.sub->table[i] = (float)(limit * (2 * taml_rng_uniform(&r) - 1));
        c->net.sub->frozen = f->rows;
    }
    for (int32_t i = 0; i < n_train; i++) c->perm[i] = i;
    c->pos = n_train; /* the first batch starts a new epoch */
    *out = c;
    return 0;
}

void taml_child_free(taml_child *c) { free(c); }

const struct taml_net_t *taml_child_net(const taml_child *c) { return &c->net; }

/* The next BATCH train examples of the stream of per-epoch permutations. */
static void next_batch(taml_child *c)
{
    int32_t n_train = c->task->n_split[TAML_TRAIN];
    for (int b = 0; b < BATCH; b++) {
        if (c->pos == n_train) {
            taml_rng_shuffle_i32(&c->order_rng, c->perm, n_train);
            c->pos = 0;
        }
        c->ex[b] = c->perm[c->pos++];
        c->labels[b] = c->task->label[c->ex[b]];
    }
}

/* Fills the net's dense inputs for examples ex[0 .. nb). */
static void gather(taml_child *c, const int32_t *ex, int nb)
{
    taml_net_t *n = &c->net;
    int D = n->s.D;
    if (c->image) {
        int P = c->task->height * c->task->width * c->task->channels;
        const uint8_t *px = c->task->pixels;
        const float *feat = c->f->pooled; /* an image module's features, or NULL: pixels */
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = px + (size_t)ex[b] * P;
            if (c->deep && feat)
                memcpy(n->x0 + (size_t)b * D, feat + (size_t)ex[b] * D, (size_t)D * 4);
            else if (c->deep)
                for (int j = 0; j < P; j++) n->x0[(size_t)b * P + j] = p[j] * (1.0f / 255.0f);
            if (c->wide)
                for (int j = 0; j < P; j++) n->xw[(size_t)b * P + j] = p[j] * (1.0f / 255.0f);
        }
    } else if (c->deep && !c->fine_tune && !n->sub) {
        /* pooled rows are random rows of a table that rarely fits in cache:
         * fetch every line of the row a few examples ahead */
        for (int b = 0; b < nb; b++) {
            if (b + 4 < nb) {
                const char *p = (const char *)(c->f->pooled + (size_t)ex[b + 4] * D);
                for (size_t j = 0; j < (size_t)D * 4; j += 64) __builtin_prefetch(p + j);
            }
            memcpy(n->x0 + (size_t)b * D, c->f->pooled + (size_t)ex[b] * D, (size_t)D * 4);
        }
    }
}

/* Inverted-dropout masks for every hidden layer: 0 or 1/(1-p). Two masks per
 * 64-bit draw, compared as 32-bit integers. */
static void draw_masks(taml_child *c)
{
    taml_net_t *n = &c->net;
    size_t total = (size_t)n->s.L * BATCH * n->s.H;
    double keep = 1.0 - c->cfg.dropout;
    uint32_t thresh = (uint32_t)fmin(keep * 4294967296.0, 4294967295.0);
    float scale = (float)(1.0 / keep);
    /* masks are laid out per layer with stride s.B * H == BATCH * H: contiguous */
    for (size_t i = 0; i < total; i += 2) {
        uint64_t u = taml_rng_u64(&c->drop_rng);
        n->mask[i] = (uint32_t)u < thresh ? scale : 0.0f;
        if (i + 1 < total) n->mask[i + 1] = (uint32_t)(u >> 32) < thresh ? scale : 0.0f;
    }
}

static taml_net_batch make_batch(const taml_child *c, const int32_t *ex, const int32_t *labels,
                                 int nb)
{
    taml_net_batch bt = {nb,   ex,   labels, c->f->deep_off, c->f->deep_ids, c->f->wide_off,
                         c->f->wide_ids, NULL, NULL, NULL, NULL, NULL, NULL};
    if (c->tx) {
        bt.parts = c->tx->parts;
        bt.wide_scale = c->tx->scale;
        if (c->tx->sw) {
            bt.sub_off = c->tx->sw->off, bt.sub_words = c->tx->sw->words;
            bt.sub_woff = c->tx->sw->w_off, bt.sub_wrows = c->tx->sw->w_rows;
        }
    }
    return bt;
}

/* 1 when every gradient and batch statistic of the last backward is safe. */
static int step_is_safe(const taml_child *c)
{
    const taml_net_t *n = &c->net;
    float m = 0;
    m = fmaxf(m, taml_optim_absmax(n->ddeep, n->n_deep));
    m = fmaxf(m, taml_optim_absmax(n->dwide, n->n_wide));
    if (n->s.wide_rows > 0)
        m = fmaxf(m, taml_optim_absmax(n->gwide.g, (size_t)n->gwide.n * n->gwide.width));
    if (n->s.emb_rows > 0)
        m = fmaxf(m, taml_optim_absmax(n->gemb.g, (size_t)n->gemb.n * n->gemb.width));
    if (n->sub) m = fmaxf(m, taml_optim_absmax(n->sub->g.g, (size_t)n->sub->g.n * n->sub->g.width));
    if (n->s.D > 0 && n->s.norm == TAML_NORM_BATCH) {
        m = fmaxf(m, taml_optim_absmax(n->mean, (size_t)n->s.L * n->s.H));
        m = fmaxf(m, taml_optim_absmax(n->var, (size_t)n->s.L * n->s.H));
    }
    return m <= GRAD_LIMIT;
}

void taml_child_fit(taml_child *c, taml_child_result *res)
{
    taml_child_fit_rungs(c, NULL, res);
}

void taml_child_fit_rungs(taml_child *c, taml_child_rungs *rungs, taml_child_result *res)
{
    TAML_ASSERT(!c->fitted);
    c->fitted = 1;
    taml_net_t *n = &c->net;
    const taml_child_config *cfg = &c->cfg;
    float dlr = (float)cfg->deep_lr, dl2 = (float)cfg->deep_l2;
    float wlr = (float)cfg->wide_lr, wl1 = (float)cfg->wide_l1;
    int64_t steps = cfg->samples / BATCH, done = 0;
    double recent[100];
    int n_recent = 0;
    taml_child_status status = TAML_CHILD_OK;
    int rung = 0, n_rungs = rungs ? rungs->n : 0;
    if (rungs) {
        for (int k = 0; k < n_rungs; k++) rungs->acc[k] = NAN;
        rungs->reached = 0;
        rungs->pruned = -1;
    }
    double t0 = taml_now(), c0 = thread_cpu_s();
    for (int64_t step = 0; step < steps; step++) {
        /* the rungs due before this step: measured, maybe the end */
        while (rung < n_rungs && (rungs->samples[rung] + BATCH - 1) / BATCH <= step) {
            double acc = taml_child_accuracy(c, TAML_VALID);
            rungs->acc[rung] = acc;
            rungs->reached = rung + 1;
            if (rungs->on_rung) rungs->on_rung(rungs->user, rung, rungs->samples[rung], acc);
            if (acc < rungs->threshold[rung]) { /* false for a NaN threshold */
                rungs->pruned = rung;
                status = TAML_CHILD_PRUNED;
                break;
            }
            rung++;
        }
        if (status == TAML_CHILD_PRUNED) break;
        next_batch(c);
        gather(c, c->ex, BATCH);
        if (n->s.dropout) draw_masks(c);
        taml_net_batch bt = make_batch(c, c->ex, c->labels, BATCH);
        taml_net_zero_grad(n);
        double loss = taml_net_forward(n, &bt, 1);
        if (!isfinite(loss)) {
            status = TAML_CHILD_DIVERGED;
            break;
        }
        taml_net_backward(n, &bt);
        if (!step_is_safe(c)) {
            status = TAML_CHILD_DIVERGED;
            break;
        }
        taml_net_update_running(n);
        if (c->deep) {
            taml_optim_padagrad_dense(n->deep, c->acc_deep, n->ddeep, n->n_deep, dlr, 0, dl2);
            if (c->fine_tune) taml_optim_padagrad_sparse(n->emb, c->acc_emb, &n->gemb, dlr, 0, dl2);
            if (n->sub)
                taml_optim_padagrad_sparse(n->sub->table, c->tx->acc_sub, &n->sub->g, dlr, 0, dl2);
        }
        if (c->wide) {
            taml_optim_padagrad_dense(n->wide, c->acc_wide, n->dwide, n->n_wide, wlr, wl1, 0);
            if (n->s.wide_rows > 0)
                taml_optim_padagrad_sparse(n->wtab, c->acc_wtab, &n->gwide, wlr, wl1, 0);
        }
        recent[done % 100] = loss / BATCH;
        n_recent = n_recent < 100 ? n_recent + 1 : 100;
        done++;
    }
    double train_s = taml_now() - t0, train_cpu_s = thread_cpu_s() - c0;
    memset(res, 0, sizeof *res);
    res->train_cpu_s = train_cpu_s;
    res->status = status;
    res->steps = done;
    res->train_s = train_s;
    res->samples_per_s = done > 0 && train_s > 0 ? (double)done * BATCH / train_s : 0;
    double s = 0;
    for (int i = 0; i < n_recent; i++) s += recent[i];
    res->final_loss = n_recent ? s / n_recent : NAN;
    res->bytes = (int64_t)c->bytes;
}

/* The model's logits on every example of a split, in batches of BATCH:
 * copied into logits (cnt, C) when it is not NULL; returns how many argmax
 * to the true label (ties: the lowest class). Accuracy and logits share it,
 * so the logits an ensemble averages are the ones the accuracy counted. */
static int32_t forward_split(taml_child *c, int split, float *logits)
{
    const taml_task *t = c->task;
    int32_t lo = 0;
    for (int i = 0; i < split; i++) lo += t->n_split[i];
    int32_t cnt = t->n_split[split], hits = 0;
    int32_t ex[BATCH];
    taml_net_t *n = &c->net;
    int C = n->s.C;
    for (int32_t s = 0; s < cnt; s += BATCH) {
        int nb = cnt - s < BATCH ? cnt - s : BATCH;
        for (int b = 0; b < nb; b++) ex[b] = lo + s + b;
        gather(c, ex, nb);
        taml_net_batch bt = make_batch(c, ex, NULL, nb);
        taml_net_forward(n, &bt, 0);
        if (logits) memcpy(logits + (size_t)s * C, n->logits, (size_t)nb * C * sizeof *logits);
        for (int b = 0; b < nb; b++) {
            const float *z = n->logits + (size_t)b * C;
            int best = 0;
            for (int j = 1; j < C; j++)
                if (z[j] > z[best]) best = j;
            hits += best == t->label[ex[b]];
        }
    }
    return hits;
}

double taml_child_accuracy(taml_child *c, int split)
{
    int32_t cnt = c->task->n_split[split];
    if (cnt <= 0) return 0;
    return (double)forward_split(c, split, NULL) / cnt;
}

void taml_child_logits(taml_child *c, int split, float *logits)
{
    forward_split(c, split, logits);
}

static double majority_accuracy(const taml_task *t, int split)
{
    int32_t lo = 0, cnt = t->n_split[split], hits = 0;
    for (int i = 0; i < split; i++) lo += t->n_split[i];
    /* the most frequent train class, ties to the lowest index (computed here,
     * not by the task, so a child needs nothing of the loader) */
    int32_t maj = 0, *count = taml_calloc((size_t)t->n_classes, sizeof *count);
    for (int32_t e = 0; e < t->n_split[TAML_TRAIN]; e++) count[t->label[e]]++;
    for (int32_t k = 1; k < t->n_classes; k++)
        if (count[k] > count[maj]) maj = k;
    free(count);
    for (int32_t e = lo; e < lo + cnt; e++) hits += t->label[e] == maj;
    return cnt > 0 ? (double)hits / cnt : 0;
}

int taml_child_train(const taml_child_config *cfg, const taml_features *f, uint64_t seed,
                     taml_child_result *res, taml_err *err)
{
    return taml_child_train_rungs(cfg, f, seed, NULL, res, err);
}

int taml_child_rungs_check(const taml_child_rungs *rungs, int64_t samples, taml_err *err)
{
    int n = rungs->n;
    if (n < 0 || n > TAML_CHILD_RUNGS_MAX)
        return taml_err_set(err, TAML_EINVAL, "%d rungs: a trial has 0 to %d", n,
                            TAML_CHILD_RUNGS_MAX);
    for (int k = 0; k < n; k++) {
        int64_t s = rungs->samples[k], prev = k ? rungs->samples[k - 1] : 0;
        if (s < 1 || s <= prev)
            return taml_err_set(err, TAML_EINVAL, "rung %d: %lld samples is not above %lld", k,
                                (long long)s, (long long)prev);
        if (s >= samples)
            return taml_err_set(err, TAML_EINVAL,
                                "rung %d: %lld samples is not below the config's samples (%lld)", k,
                                (long long)s, (long long)samples);
        double th = rungs->threshold[k];
        if (!isnan(th) && !(th >= 0 && th <= 1))
            return taml_err_set(err, TAML_EINVAL, "rung %d: threshold %g is not in [0, 1] or NAN",
                                k, th);
    }
    return 0;
}

int taml_child_train_rungs(const taml_child_config *cfg, const taml_features *f, uint64_t seed,
                           taml_child_rungs *rungs, taml_child_result *res, taml_err *err)
{
    double t0 = taml_now();
    if (rungs) {
        int rc = taml_child_rungs_check(rungs, cfg->samples, err);
        if (rc) return rc;
    }
    if (cfg->deep_disabled && cfg->wide_disabled) {
        memset(res, 0, sizeof *res);
        if (rungs) { /* no training: no rung reached */
            for (int k = 0; k < rungs->n; k++) rungs->acc[k] = NAN;
            rungs->reached = 0;
            rungs->pruned = -1;
        }
        res->status = TAML_CHILD_INVALID;
        res->valid_acc = majority_accuracy(f->task, TAML_VALID);
        res->test_acc = majority_accuracy(f->task, TAML_TEST);
        res->final_loss = NAN;
        res->wall_s = taml_now() - t0;
        return 0;
    }
    taml_child *c = NULL;
    int rc = taml_child_new(&c, cfg, f, seed, err);
    if (rc) return rc;
    taml_child_fit_rungs(c, rungs, res);
    if (res->status == TAML_CHILD_PRUNED) {
        res->valid_acc = rungs->acc[rungs->pruned];
        res->test_acc = NAN;
    } else {
        res->valid_acc = taml_child_accuracy(c, TAML_VALID);
        res->test_acc = taml_child_accuracy(c, TAML_TEST);
    }
    taml_child_free(c);
    res->wall_s = taml_now() - t0;
    return 0;
}
