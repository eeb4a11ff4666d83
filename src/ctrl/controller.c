/* ctrl/controller.c - the LSTM policy and its hand-written backpropagation
 * through time, REINFORCE with per-task normalised advantages, and tasks
 * (see controller.h; the maths is in docs/controller.md). The numeric
 * kernels are in lstm.c, the Adam step in adam.c; checkpoints are in
 * checkpoint.c, which shares ctrl_internal.h.
 *
 * Layout: the shared weights are one flat array `theta` made of the groups
 * lstm1 | lstm2 | heads | actions | start (offsets in c->goff); the gradient
 * and Adam moments mirror it. Every matrix is stored input-major, W (In, Out),
 * so the forward pass is a sum of rows scaled by the inputs (contiguous
 * axpys) and the backward pass adds outer products the same way.
 */
#include "ctrl/ctrl_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl/adam.h"
#include "ctrl/lstm.h"

#define H TAML_CTRL_HIDDEN
#define E TAML_CTRL_EMBED
#define G TAML_CTRL_GATES /* gates per layer: i, f, g, o */
#define IN1 (2 * E + H)     /* layer 1 reads [x; h1_prev] */
#define IN2 (2 * H)         /* layer 2 reads [h1; h2_prev] */
#define HEAD_IN (H + 2 * E)
_Static_assert(IN1 % 2 == 0 && IN2 % 2 == 0, "taml_ctrl_lstm_backward takes an even input size");

void taml_ctrl_opts_default(taml_ctrl_opts *o)
{
    /* docs/controller.md "Defaults" gives the experiments behind these. */
    o->lr = 1e-3;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->adam_eps = 1e-8;
    o->grad_clip = 5.0;
    o->entropy_weight = 3e-2;
    o->ema_decay = 0.95;
    o->warmup = 5;
    o->normalise = 1;
    o->adv_clip = 5.0;
    o->init_scale = 0.1;
    o->task_init_scale = 0.1;
    o->transfer_restart = 1;
    o->seed = 1;
}

static int check_opts(const taml_ctrl_opts *o, taml_err *err)
{
#define BAD(cond, what)                                                        \
    if (cond) return taml_err_set(err, TAML_EINVAL, "controller options: %s", what)
    BAD(!(o->lr > 0 && o->lr < 1), "lr must be in (0, 1)");
    BAD(!(o->beta1 >= 0 && o->beta1 < 1), "beta1 must be in [0, 1)");
    BAD(!(o->beta2 >= 0 && o->beta2 < 1), "beta2 must be in [0, 1)");
    BAD(!(o->adam_eps > 0), "adam_eps must be > 0");
    BAD(!(o->grad_clip >= 0), "grad_clip must be >= 0 (0: off)");
    BAD(!(o->entropy_weight >= 0 && o->entropy_weight < 10), "entropy_weight must be in [0, 10)");
    BAD(!(o->ema_decay >= 0 && o->ema_decay < 1), "ema_decay must be in [0, 1)");
    BAD(o->warmup < 2 || o->warmup > 1000000, "warmup must be in [2, 1e6] rewards");
    BAD(o->normalise != 0 && o->normalise != 1, "normalise must be 0 or 1");
    BAD(o->transfer_restart != 0 && o->transfer_restart != 1, "transfer_restart must be 0 or 1");
    BAD(!(o->adv_clip >= 0), "adv_clip must be >= 0 (0: off)");
    BAD(!(o->init_scale > 0 && o->init_scale <= 1), "init_scale must be in (0, 1]");
    BAD(!(o->task_init_scale > 0 && o->task_init_scale <= 10), "task_init_scale must be in (0, 10]");
#undef BAD
    return 0;
}

const char *taml_ctrl_group_name(taml_ctrl_group g)
{
    static const char *names[] = {"lstm1", "lstm2", "heads", "actions", "start", "task"};
    return g >= 0 && g < TAML_CTRL_GROUPS ? names[g] : "?";
}

/* ---- construction ------------------------------------------------------ */

static void layout(taml_ctrl *c)
{
    const taml_space *s = c->space;
    int D = taml_space_decisions(s);
    size_t off = 0;
    c->goff[TAML_CTRL_LSTM1] = off;
    off += (size_t)IN1 * G + G;
    c->goff[TAML_CTRL_LSTM2] = off;
    off += (size_t)IN2 * G + G;
    c->goff[TAML_CTRL_HEADS] = off;
    for (int d = 0; d < D; d++) {
        c->head_off[d] = off;
        off += (size_t)(HEAD_IN + 1) * taml_space_choices(s, d);
    }
    c->goff[TAML_CTRL_ACTIONS] = off;
    for (int d = 0; d < D; d++) {
        c->act_off[d] = off;
        if (d < D - 1) off += (size_t)taml_space_choices(s, d) * E;
    }
    c->goff[TAML_CTRL_START] = off;
    off += E;
    c->goff[TAML_CTRL_TASK] = off; /* end of the shared weights */
    c->n_theta = off;
}

/* Allocates everything sized from the space; weights zero. */
taml_ctrl *taml_ctrl_alloc(const taml_space *space, const taml_ctrl_opts *opts)
{
    taml_ctrl *c = taml_calloc(1, sizeof *c);
    c->space = taml_space_clone(space);
    c->opts = *opts;
    int D = taml_space_decisions(space);
    c->D = D;
    c->head_off = taml_calloc((size_t)D, sizeof *c->head_off);
    c->act_off = taml_calloc((size_t)D, sizeof *c->act_off);
    layout(c);
    c->theta = taml_calloc(c->n_theta, sizeof(double));
    c->grad = taml_calloc(c->n_theta, sizeof(double));
    c->m = taml_calloc(c->n_theta, sizeof(double));
    c->v = taml_calloc(c->n_theta, sizeof(double));
    c->max_choices = 1;
    for (int d = 0; d < D; d++)
        if (taml_space_choices(space, d) > c->max_choices) c->max_choices = taml_space_choices(space, d);
    /* per-step caches of the forward pass */
    c->x = taml_calloc((size_t)D * 2 * E, sizeof(double));
    c->gate1 = taml_calloc((size_t)D * G, sizeof(double));
    c->gate2 = taml_calloc((size_t)D * G, sizeof(double));
    c->c1 = taml_calloc((size_t)(D + 1) * H, sizeof(double));
    c->c2 = taml_calloc((size_t)(D + 1) * H, sizeof(double));
    c->h1 = taml_calloc((size_t)(D + 1) * H, sizeof(double));
    c->h2 = taml_calloc((size_t)(D + 1) * H, sizeof(double));
    c->tc1 = taml_calloc((size_t)D * H, sizeof(double));
    c->z1 = taml_calloc((size_t)D * IN1, sizeof(double));
    c->z2 = taml_calloc((size_t)D * IN2, sizeof(double));
    c->da1 = taml_calloc((size_t)D * G, sizeof(double));
    c->da2 = taml_calloc((size_t)D * G, sizeof(double));
    c->tc2 = taml_calloc((size_t)D * H, sizeof(double));
    c->probs = taml_calloc((size_t)taml_space_total_choices(space), sizeof(double));
    c->acts = taml_calloc((size_t)D, sizeof(int32_t));
    c->names = taml_strmap_new(16);
    return c;
}

int taml_ctrl_new(taml_ctrl **out, const taml_space *space, const taml_ctrl_opts *opts,
                  taml_err *err)
{
    *out = NULL;
    taml_ctrl_opts def;
    if (!opts) {
        taml_ctrl_opts_default(&def);
        opts = &def;
    }
    int rc = check_opts(opts, err);
    if (rc < 0) return rc;
    if (!space || taml_space_decisions(space) < 1)
        return taml_err_set(err, TAML_EINVAL, "controller: the space has no decisions");
    taml_ctrl *c = taml_ctrl_alloc(space, opts);
    taml_rng_seed(&c->rng, opts->seed);
    for (size_t i = 0; i < c->n_theta; i++)
        c->theta[i] = (2 * taml_rng_uniform(&c->rng) - 1) * opts->init_scale;
    *out = c;
    return 0;
}

void taml_ctrl_free(taml_ctrl *c)
{
    if (!c) return;
    for (int t = 0; t < c->n_tasks; t++) free(c->tasks[t].name);
    free(c->tasks);
    taml_strmap_free(c->names);
    taml_space_free(c->space);
    free(c->head_off);
    free(c->act_off);
    free(c->theta);
    free(c->grad);
    free(c->m);
    free(c->v);
    free(c->x);
    free(c->gate1);
    free(c->gate2);
    free(c->c1);
    free(c->c2);
    free(c->h1);
    free(c->h2);
    free(c->tc1);
    free(c->z1);
    free(c->z2);
    free(c->da1);
    free(c->da2);
    free(c->tc2);
    free(c->probs);
    free(c->acts);
    free(c);
}

const taml_space *taml_ctrl_space(const taml_ctrl *c) { return c->space; }
const taml_ctrl_opts *taml_ctrl_get_opts(const taml_ctrl *c) { return &c->opts; }

int taml_ctrl_set_opts(taml_ctrl *c, const taml_ctrl_opts *opts, taml_err *err)
{
    int rc = check_opts(opts, err);
    if (rc < 0) return rc;
    c->opts = *opts;
    return 0;
}

/* ---- tasks ------------------------------------------------------------- */

ctrl_task *taml_ctrl_push_task(taml_ctrl *c, const char *name)
{
    if (c->n_tasks == c->cap_tasks) {
        c->cap_tasks = c->cap_tasks ? 2 * c->cap_tasks : 8;
        c->tasks = taml_realloc(c->tasks, (size_t)c->cap_tasks * sizeof *c->tasks);
    }
    ctrl_task *t = &c->tasks[c->n_tasks];
    memset(t, 0, sizeof *t);
    t->name = taml_strdup(name);
    taml_strmap_put(c->names, name, strlen(name), c->n_tasks);
    c->n_tasks++;
    return t;
}

int taml_ctrl_add_task(taml_ctrl *c, const char *name, taml_err *err)
{
    if (!name || !name[0]) return taml_err_set(err, TAML_EINVAL, "controller: a task needs a name");
    int id = taml_ctrl_find_task(c, name);
    if (id >= 0) return id;
    if (c->opts.transfer_restart && c->step > 0) {
        memset(c->m, 0, c->n_theta * sizeof(double));
        memset(c->v, 0, c->n_theta * sizeof(double));
        c->step = 0;
    }
    ctrl_task *t = taml_ctrl_push_task(c, name);
    for (int i = 0; i < E; i++) t->emb[i] = (2 * taml_rng_uniform(&c->rng) - 1) * c->opts.task_init_scale;
    return c->n_tasks - 1;
}

int taml_ctrl_find_task(const taml_ctrl *c, const char *name)
{
    return taml_strmap_get(c->names, name, strlen(name));
}

int taml_ctrl_tasks(const taml_ctrl *c) { return c->n_tasks; }

const char *taml_ctrl_task_name(const taml_ctrl *c, int task)
{
    TAML_ASSERT(task >= 0 && task < c->n_tasks);
    return c->tasks[task].name;
}

const double *taml_ctrl_task_embedding(const taml_ctrl *c, int task)
{
    TAML_ASSERT(task >= 0 && task < c->n_tasks);
    return c->tasks[task].emb;
}

/* ---- forward ----------------------------------------------------------- */

enum { MODE_GIVEN, MODE_SAMPLE, MODE_GREEDY };

/* Runs the policy for task along actions (MODE_GIVEN: c->acts holds them) or
 * choosing them (sample / greedy, written to c->acts), caching every step for
 * the backward pass. Returns the log-probability; *entropy the summed
 * per-step entropy. MODE_SAMPLE draws each action from the policy at
 * temperature temp (p^(1/temp), renormalised; 1: the policy itself); the
 * caches, the log-probability and the entropy are the policy's (temp 1)
 * whatever temp is. */
static double forward(taml_ctrl *c, int task, int mode, taml_rng *rng, double temp, double *entropy)
{
    const taml_space *s = c->space;
    const double *th = c->theta;
    const double *W1 = th + c->goff[TAML_CTRL_LSTM1], *b1 = W1 + (size_t)IN1 * G;
    const double *W2 = th + c->goff[TAML_CTRL_LSTM2], *b2 = W2 + (size_t)IN2 * G;
    const double *temb = c->tasks[task].emb;
    double u[HEAD_IN], bt[G];
    double logp = 0, ent = 0;
    /* the task embedding is the same at every step: fold its share of layer
     * 1 into the bias once (layer 1 reads z1 = [task; previous action; h1]) */
    taml_ctrl_rows_matvec(bt, temb, E, W1, b1);
    /* h[0], c[0] are the zero initial state; step t writes h[t + 1] */
    memset(c->h1, 0, H * sizeof(double));
    memset(c->h2, 0, H * sizeof(double));
    memset(c->c1, 0, H * sizeof(double));
    memset(c->c2, 0, H * sizeof(double));
    for (int t = 0; t < c->D; t++) {
        double *x = c->x + (size_t)t * 2 * E;
        const double *prev = t == 0 ? th + c->goff[TAML_CTRL_START]
                                    : th + c->act_off[t - 1] + (size_t)c->acts[t - 1] * E;
        memcpy(x, prev, E * sizeof(double));
        memcpy(x + E, temb, E * sizeof(double));
        double *z = c->z1 + (size_t)t * IN1;
        memcpy(z, temb, E * sizeof(double));
        memcpy(z + E, prev, E * sizeof(double));
        memcpy(z + 2 * E, c->h1 + (size_t)t * H, H * sizeof(double));
        taml_ctrl_lstm_forward(z + E, IN1 - E, W1 + (size_t)E * G, bt, c->c1 + (size_t)t * H,
                               c->gate1 + (size_t)t * G, c->c1 + (size_t)(t + 1) * H, c->tc1 + (size_t)t * H,
                               c->h1 + (size_t)(t + 1) * H);
        z = c->z2 + (size_t)t * IN2;
        memcpy(z, c->h1 + (size_t)(t + 1) * H, H * sizeof(double));
        memcpy(z + H, c->h2 + (size_t)t * H, H * sizeof(double));
        taml_ctrl_lstm_forward(z, IN2, W2, b2, c->c2 + (size_t)t * H, c->gate2 + (size_t)t * G,
                               c->c2 + (size_t)(t + 1) * H, c->tc2 + (size_t)t * H, c->h2 + (size_t)(t + 1) * H);
        /* head: logits = b + u W, u = [h2; x] (the skip connection) */
        memcpy(u, c->h2 + (size_t)(t + 1) * H, H * sizeof(double));
        memcpy(u + H, x, 2 * E * sizeof(double));
        int n = taml_space_choices(s, t);
        const double *Wh = th + c->head_off[t], *bh = Wh + (size_t)HEAD_IN * n;
        double *p = c->probs + taml_space_offset(s, t); /* (n) */
        memcpy(p, bh, (size_t)n * sizeof(double));
        for (int i = 0; i < HEAD_IN; i++) {
            const double ui = u[i];
            const double *w = Wh + (size_t)i * n;
            for (int k = 0; k < n; k++) p[k] += ui * w[k];
        }
        double mx = p[0];
        for (int k = 1; k < n; k++) mx = p[k] > mx ? p[k] : mx;
        double sum = 0;
        for (int k = 0; k < n; k++) sum += (p[k] = exp(p[k] - mx));
        double lse = log(sum);
        double h = 0;
        for (int k = 0; k < n; k++) {
            p[k] /= sum;
            if (p[k] > 0) h -= p[k] * log(p[k]);
        }
        ent += h;
        int a;
        if (mode == MODE_GIVEN) {
            a = c->acts[t];
        } else if (mode == MODE_GREEDY) {
            a = 0;
            for (int k = 1; k < n; k++)
                if (p[k] > p[a]) a = k;
        } else if (temp == 1) {
            double r = taml_rng_uniform(rng), acc = 0;
            a = n - 1;
            for (int k = 0; k < n; k++) {
                acc += p[k];
                if (r < acc) {
                    a = k;
                    break;
                }
            }
        } else { /* from p^(1/temp): the draw only, the caches keep p */
            double qs = 0;
            for (int k = 0; k < n; k++) qs += p[k] > 0 ? exp(log(p[k]) / temp) : 0;
            double r = taml_rng_uniform(rng) * qs, acc = 0;
            a = n - 1;
            for (int k = 0; k < n; k++) {
                acc += p[k] > 0 ? exp(log(p[k]) / temp) : 0;
                if (r < acc) {
                    a = k;
                    break;
                }
            }
        }
        c->acts[t] = a;
        /* log p[a] from the logits directly, exact even when p[a] underflows */
        double la = 0;
        {
            /* recompute logit a: log p[a] = logit_a - mx - lse */
            double za = bh[a];
            for (int i = 0; i < HEAD_IN; i++) za += u[i] * Wh[(size_t)i * n + a];
            la = za - mx - lse;
        }
        logp += la;
    }
    if (entropy) *entropy = ent;
    c->cache_ok = 1;
    c->cache_task = task;
    c->cache_version = c->version;
    c->cache_logp = logp;
    c->cache_ent = ent;
    return logp;
}

static void check_task(const taml_ctrl *c, int task)
{
    TAML_ASSERT(task >= 0 && task < c->n_tasks);
}

double taml_ctrl_sample(taml_ctrl *c, int task, taml_rng *rng, int32_t *actions)
{
    check_task(c, task);
    double lp = forward(c, task, MODE_SAMPLE, rng ? rng : &c->rng, 1, NULL);
    memcpy(actions, c->acts, (size_t)c->D * sizeof(int32_t));
    return lp;
}

double taml_ctrl_sample_temp(taml_ctrl *c, int task, taml_rng *rng, double temperature,
                             int32_t *actions)
{
    check_task(c, task);
    TAML_ASSERT(temperature > 0 && isfinite(temperature));
    double lp = forward(c, task, MODE_SAMPLE, rng ? rng : &c->rng, temperature, NULL);
    memcpy(actions, c->acts, (size_t)c->D * sizeof(int32_t));
    return lp;
}

double taml_ctrl_greedy(taml_ctrl *c, int task, int32_t *actions)
{
    check_task(c, task);
    double lp = forward(c, task, MODE_GREEDY, NULL, 1, NULL);
    memcpy(actions, c->acts, (size_t)c->D * sizeof(int32_t));
    return lp;
}

static void set_actions(taml_ctrl *c, const int32_t *actions)
{
    for (int d = 0; d < c->D; d++) {
        TAML_ASSERT(actions[d] >= 0 && actions[d] < taml_space_choices(c->space, d));
        c->acts[d] = actions[d];
    }
}

void taml_ctrl_probabilities(taml_ctrl *c, int task, const int32_t *path, int32_t *greedy_out,
                             double *probs)
{
    check_task(c, task);
    if (path) {
        set_actions(c, path);
        forward(c, task, MODE_GIVEN, NULL, 1, NULL);
    } else {
        forward(c, task, MODE_GREEDY, NULL, 1, NULL);
        if (greedy_out) memcpy(greedy_out, c->acts, (size_t)c->D * sizeof(int32_t));
    }
    memcpy(probs, c->probs, (size_t)taml_space_total_choices(c->space) * sizeof(double));
}

double taml_ctrl_log_prob(taml_ctrl *c, int task, const int32_t *actions, double *entropy)
{
    check_task(c, task);
    set_actions(c, actions);
    return forward(c, task, MODE_GIVEN, NULL, 1, entropy);
}

/* ---- backward ---------------------------------------------------------- */

/* After forward(c, task, ...) along c->acts: adds the gradient of
 * wl * log pi + we * entropy into c->grad (shared weights) and dtask (E). */
static void backward(taml_ctrl *c, double wl, double we, double *dtask)
{
    const taml_space *s = c->space;
    const double *th = c->theta;
    double *gr = c->grad;
    const double *W1 = th + c->goff[TAML_CTRL_LSTM1];
    const double *W2 = th + c->goff[TAML_CTRL_LSTM2];
    double *dW1 = gr + c->goff[TAML_CTRL_LSTM1], *db1 = dW1 + (size_t)IN1 * G;
    double *dW2 = gr + c->goff[TAML_CTRL_LSTM2], *db2 = dW2 + (size_t)IN2 * G;
    double dh1n[H] = {0}, dc1[H] = {0}, dh2n[H] = {0}, dc2[H] = {0};
    double dz[IN1 > IN2 ? IN1 : IN2];
    double u[HEAD_IN], du[HEAD_IN], dl[256], dh[H], dx[2 * E];
    double *dlogit = c->max_choices <= 256 ? dl : taml_malloc((size_t)c->max_choices * sizeof(double));
    for (int t = c->D - 1; t >= 0; t--) {
        const double *x = c->x + (size_t)t * 2 * E;
        int n = taml_space_choices(s, t), a = c->acts[t];
        const double *p = c->probs + taml_space_offset(s, t);
        /* d/dlogit of wl log p[a] + we H, H = -sum p log p */
        double h = 0;
        for (int k = 0; k < n; k++)
            if (p[k] > 0) h -= p[k] * log(p[k]);
        for (int k = 0; k < n; k++) {
            double lp = p[k] > 0 ? log(p[k]) : 0;
            dlogit[k] = wl * ((k == a) - p[k]) - we * p[k] * (lp + h);
        }
        const double *Wh = th + c->head_off[t];
        double *dWh = gr + c->head_off[t], *dbh = dWh + (size_t)HEAD_IN * n;
        memcpy(u, c->h2 + (size_t)(t + 1) * H, H * sizeof(double));
        memcpy(u + H, x, 2 * E * sizeof(double));
        for (int k = 0; k < n; k++) dbh[k] += dlogit[k];
        for (int i = 0; i < HEAD_IN; i++) {
            const double *w = Wh + (size_t)i * n;
            double *dw = dWh + (size_t)i * n, acc = 0;
            for (int k = 0; k < n; k++) {
                dw[k] += u[i] * dlogit[k];
                acc += w[k] * dlogit[k];
            }
            du[i] = acc;
        }
        /* layer 2 */
        for (int j = 0; j < H; j++) dh[j] = du[j] + dh2n[j];
        taml_ctrl_lstm_backward(IN2, W2, c->gate2 + (size_t)t * G, c->c2 + (size_t)t * H,
                                c->tc2 + (size_t)t * H, dh, dc2, c->da2 + (size_t)t * G, dz);
        memcpy(dh2n, dz + H, H * sizeof(double));
        /* layer 1 */
        for (int j = 0; j < H; j++) dh[j] = dz[j] + dh1n[j];
        taml_ctrl_lstm_backward(IN1, W1, c->gate1 + (size_t)t * G, c->c1 + (size_t)t * H,
                                c->tc1 + (size_t)t * H, dh, dc1, c->da1 + (size_t)t * G, dz);
        memcpy(dh1n, dz + 2 * E, H * sizeof(double));
        /* z1 = [task; previous action; h1], the heads' x = [previous action; task] */
        for (int i = 0; i < E; i++) {
            dx[i] = dz[E + i] + du[H + i];
            dx[E + i] = dz[i] + du[H + E + i];
        }
        double *dprev = t == 0 ? gr + c->goff[TAML_CTRL_START]
                               : gr + c->act_off[t - 1] + (size_t)c->acts[t - 1] * E;
        for (int i = 0; i < E; i++) {
            dprev[i] += dx[i];
            dtask[i] += dx[E + i];
        }
    }
    if (dlogit != dl) free(dlogit);
    /* the weight gradients of both layers, over the whole trajectory */
    taml_ctrl_outer_sum(dW1, c->z1, IN1, c->da1, c->D);
    taml_ctrl_outer_sum(dW2, c->z2, IN2, c->da2, c->D);
    for (int t = 0; t < c->D; t++)
        for (int j = 0; j < G; j++) {
            db1[j] += c->da1[(size_t)t * G + j];
            db2[j] += c->da2[(size_t)t * G + j];
        }
}

double *taml_ctrl_params(taml_ctrl *c, taml_ctrl_group g, int task, size_t *n)
{
    TAML_ASSERT(g >= 0 && g < TAML_CTRL_GROUPS);
    c->version++; /* the caller may write the weights */
    if (g == TAML_CTRL_TASK) {
        check_task(c, task);
        *n = E;
        return c->tasks[task].emb;
    }
    *n = c->goff[g + 1] - c->goff[g];
    return c->theta + c->goff[g];
}

void taml_ctrl_gradient(taml_ctrl *c, int task, const int32_t *actions, double w_logp,
                        double w_ent, taml_ctrl_group g, double *grad)
{
    check_task(c, task);
    set_actions(c, actions);
    forward(c, task, MODE_GIVEN, NULL, 1, NULL);
    memset(c->grad, 0, c->n_theta * sizeof(double));
    double dtask[E] = {0};
    backward(c, w_logp, w_ent, dtask);
    size_t n;
    taml_ctrl_params(c, g, task, &n);
    if (g == TAML_CTRL_TASK)
        memcpy(grad, dtask, sizeof dtask);
    else
        memcpy(grad, c->grad + c->goff[g], n * sizeof(double));
}

/* ---- REINFORCE update -------------------------------------------------- */

int taml_ctrl_update(taml_ctrl *c, int task, const int32_t *actions, double reward,
                     taml_ctrl_step *info, taml_err *err)
{
    if (task < 0 || task >= c->n_tasks)
        return taml_err_set(err, TAML_EINVAL, "controller update: no task %d (have %d)", task,
                            c->n_tasks);
    for (int d = 0; d < c->D; d++)
        if (actions[d] < 0 || actions[d] >= taml_space_choices(c->space, d))
            return taml_err_set(err, TAML_EINVAL,
                                "controller update: action %d of decision '%s' is outside [0, %d)",
                                actions[d], taml_space_name(c->space, d),
                                taml_space_choices(c->space, d));
    if (!isfinite(reward))
        return taml_err_set(err, TAML_EINVAL, "controller update: reward %g is not finite", reward);
    const taml_ctrl_opts *o = &c->opts;
    ctrl_task *tk = &c->tasks[task];
    taml_ctrl_step st = {0};
    st.baseline = tk->b;
    st.sigma = sqrt(tk->var);
    /* advantage from the statistics of the rewards before this one */
    double adv = 0;
    int warm = tk->n < (uint64_t)o->warmup;
    if (!warm) {
        adv = reward - tk->b;
        if (o->normalise) {
            /* a floor relative to the baseline keeps a task whose rewards are
             * (nearly) all equal from dividing by ~0 */
            double floor_ = 1e-3 * fabs(tk->b) + 1e-12;
            adv /= fmax(st.sigma, floor_);
        }
        if (o->adv_clip > 0) adv = fmax(-o->adv_clip, fmin(o->adv_clip, adv));
    }
    /* fold the reward into the EMAs: weight 1/n for the first rewards (their
     * plain mean and variance), then 1 - decay */
    tk->n++;
    double w = fmax(1.0 - o->ema_decay, 1.0 / (double)tk->n);
    double delta = reward - tk->b;
    tk->b += w * delta;
    tk->var = (1 - w) * (tk->var + w * delta * delta);
    st.advantage = adv;
    st.warmup = warm;
    /* The forward caches still hold this trial's pass when nothing changed
     * since it was sampled (one worker: sample, train, update); the pass is
     * deterministic, so reusing it equals recomputing it. */
    if (c->cache_ok && c->cache_task == task && c->cache_version == c->version &&
        !memcmp(c->acts, actions, (size_t)c->D * sizeof(int32_t))) {
        st.log_prob = c->cache_logp;
        st.entropy = c->cache_ent;
    } else {
        set_actions(c, actions);
        st.log_prob = forward(c, task, MODE_GIVEN, NULL, 1, &st.entropy);
    }
    if (warm) {
        if (info) *info = st;
        return 0;
    }
    c->version++; /* the weights change below */
    memset(c->grad, 0, c->n_theta * sizeof(double));
    double dtask[E] = {0};
    backward(c, adv, o->entropy_weight, dtask);
    double sq = taml_ctrl_sum_squares(c->grad, c->n_theta) + taml_ctrl_sum_squares(dtask, E);
    st.grad_norm = sqrt(sq);
    double scale = 1;
    if (o->grad_clip > 0 && st.grad_norm > o->grad_clip) scale = o->grad_clip / st.grad_norm;
    /* Adam on the shared weights (dense, one step count) */
    c->step++;
    double b1 = o->beta1, b2 = o->beta2;
    taml_ctrl_adam_k k = {scale, b1, 1 - b1, b2, 1 - b2, 0, o->adam_eps};
    k.lr = o->lr * sqrt(1 - pow(b2, (double)c->step)) / (1 - pow(b1, (double)c->step));
    taml_ctrl_adam(c->theta, c->m, c->v, c->grad, c->n_theta, &k);
    /* Adam on this task's embedding only (lazy: other tasks' embeddings stay
     * put until their own trials arrive; own step count) */
    tk->step++;
    k.lr = o->lr * sqrt(1 - pow(b2, (double)tk->step)) / (1 - pow(b1, (double)tk->step));
    taml_ctrl_adam(tk->emb, tk->m, tk->v, dtask, E, &k);
    if (info) *info = st;
    return 0;
}
