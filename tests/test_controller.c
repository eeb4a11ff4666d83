/* tests/test_controller.c - the controller (src/ctrl): gradients by central
 * differences, the near-uniform first policy, learning on synthetic reward
 * landscapes with a known optimum (tests/ctrl_synth.h): single task,
 * multitask with task-embedding similarity, transfer, reward scales;
 * checkpoints (bitwise continuation, corruption, another space); bad input.
 * Each test runs in seconds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ctrl/controller.h"
#include "ctrl_synth.h"
#include "gradcheck.h"
#include "test.h"

static const char *const MODS[] = {"es-small-50", "es-big-128", "en-small-50", "en-big-128",
                                   "en-wiki-small-250", "en-wiki-big-500", "en-news-small-100",
                                   "en-news-big-500"};

static taml_space *paper(void)
{
    taml_space *s = NULL;
    taml_err err;
    TAML_ASSERT(taml_space_new_default(&s, MODS, 8, &err) == 0);
    return s;
}

static taml_ctrl *new_ctrl(const taml_space *sp, const taml_ctrl_opts *o)
{
    taml_ctrl *c = NULL;
    taml_err err;
    int rc = taml_ctrl_new(&c, sp, o, &err);
    CHECK_MSG(rc == 0, "taml_ctrl_new: %s", err.msg);
    return c;
}

/* ---- gradients --------------------------------------------------------- */

/* wl x log-probability + we x entropy of the actions, the controller's
 * training objective's two parts. */
struct mix_ctx {
    taml_ctrl *c;
    int task;
    const int32_t *acts;
    double wl, we;
};

static double mix_loss(void *p)
{
    struct mix_ctx *m = p;
    double ent;
    double lp = taml_ctrl_log_prob(m->c, m->task, m->acts, &ent);
    return m->wl * lp + m->we * ent;
}

TEST(ctrl_gradient_matches_central_differences_for_every_group)
{
    taml_space *sp = paper();
    taml_ctrl_opts o;
    taml_ctrl_opts_default(&o);
    o.init_scale = 0.5; /* larger weights than at init, so every path carries gradient */
    taml_ctrl *c = new_ctrl(sp, &o);
    taml_err err;
    taml_ctrl_add_task(c, "a", &err);
    int task = taml_ctrl_add_task(c, "b", &err);
    int32_t acts[16];
    taml_rng r;
    taml_rng_seed(&r, 42);
    taml_ctrl_sample(c, task, &r, acts);
    int nonzero_actions = 0;
    for (int d = 0; d < taml_space_decisions(sp); d++) nonzero_actions += acts[d] != 0;
    CHECK(nonzero_actions >= 6);
    /* log-prob and entropy separately, then a mix */
    const double wts[3][2] = {{1, 0}, {0, 1}, {-0.7, 0.3}};
    for (int w = 0; w < 3; w++) {
        for (int g = 0; g < TAML_CTRL_GROUPS; g++) {
            size_t n;
            double *p = taml_ctrl_params(c, (taml_ctrl_group)g, task, &n);
            double *grad = malloc(n * sizeof *grad);
            taml_ctrl_gradient(c, task, acts, wts[w][0], wts[w][1], (taml_ctrl_group)g, grad);
            double gmax = 0;
            for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(grad[i]));
            CHECK_MSG(gmax > 1e-4, "group %s: gradient all ~zero (max %g)",
                      taml_ctrl_group_name((taml_ctrl_group)g), gmax);
            /* every parameter of small groups, 150 spread over big ones */
            struct mix_ctx mc = {c, task, acts, wts[w][0], wts[w][1]};
            taml_gradcheck gc = {.h = 1e-5, .abs_tol = 1e-7, .rel_tol = 1e-5,
                                 .stride = n <= 300 ? 1 : n / 150};
            char what[96];
            snprintf(what, sizeof what, "group %s (weights %g, %g)",
                     taml_ctrl_group_name((taml_ctrl_group)g), wts[w][0], wts[w][1]);
            CHECK_GRAD(&gc, what, mix_loss, &mc, p, grad, n);
            free(grad);
        }
    }
    taml_ctrl_free(c);
    taml_space_free(sp);
}

TEST(ctrl_first_policy_is_near_uniform_for_every_decision)
{
    taml_space *sp = paper();
    taml_ctrl *c = new_ctrl(sp, NULL);
    taml_err err;
    int task = taml_ctrl_add_task(c, "t", &err);
    int tot = taml_space_total_choices(sp);
    double *probs = malloc((size_t)tot * sizeof *probs);
    int32_t acts[16];
    taml_rng r;
    taml_rng_seed(&r, 7);
    for (int rep = 0; rep < 5; rep++) {
        taml_ctrl_sample(c, task, &r, acts);
        taml_ctrl_probabilities(c, task, acts, NULL, probs);
        for (int d = 0; d < taml_space_decisions(sp); d++) {
            int n = taml_space_choices(sp, d);
            const double *p = probs + taml_space_offset(sp, d);
            double h = 0, sum = 0;
            for (int k = 0; k < n; k++) {
                h -= p[k] * log(p[k]);
                sum += p[k];
            }
            CHECK_NEAR(sum, 1.0, 1e-12);
            CHECK_MSG(h >= 0.97 * log(n), "decision %s: entropy %g of max %g",
                      taml_space_name(sp, d), h, log(n));
        }
    }
    free(probs);
    taml_ctrl_free(c);
    taml_space_free(sp);
}

/* ---- checkpoints ------------------------------------------------------- */

/* Runs trials [from, to) of a fixed two-task schedule: trial i uses its own
 * rng derived from (seed, i), so a resumed run sees the same draws. */
static void run_schedule(taml_ctrl *c, const synth *s0, const synth *s1, int from, int to)
{
    taml_err err;
    for (int i = from; i < to; i++) {
        taml_rng r;
        taml_rng_seed(&r, taml_rng_derive(99, (uint64_t)i));
        int task = i % 2;
        int32_t a[16];
        taml_ctrl_sample(c, task, &r, a);
        CHECK_EQ_INT(taml_ctrl_update(c, task, a, synth_reward(task ? s1 : s0, a, &r), NULL, &err), 0);
    }
}

static int same_state(taml_ctrl *a, taml_ctrl *b)
{
    for (int g = 0; g < TAML_CTRL_GROUPS; g++) {
        int tasks = g == TAML_CTRL_TASK ? taml_ctrl_tasks(a) : 1;
        for (int t = 0; t < tasks; t++) {
            size_t na, nb;
            double *pa = taml_ctrl_params(a, (taml_ctrl_group)g, t, &na);
            double *pb = taml_ctrl_params(b, (taml_ctrl_group)g, t, &nb);
            if (na != nb || memcmp(pa, pb, na * sizeof(double))) return 0;
        }
    }
    void *ba, *bb;
    size_t sa, sb;
    taml_ctrl_save(a, &ba, &sa);
    taml_ctrl_save(b, &bb, &sb);
    int same = sa == sb && !memcmp(ba, bb, sa);
    free(ba);
    free(bb);
    return same;
}

TEST(ctrl_checkpoint_save_load_continue_equals_never_stopping)
{
    taml_space *sp = paper();
    int32_t o0[16], o1[16];
    synth_random_opt(sp, 1, o0);
    synth_random_opt(sp, 2, o1);
    synth s0, s1;
    synth_init(&s0, sp, o0, 3, 0.05);
    synth_init(&s1, sp, o1, 4, 0.05);
    taml_err err;
    taml_ctrl *straight = new_ctrl(sp, NULL);
    taml_ctrl_add_task(straight, "zero", &err);
    taml_ctrl_add_task(straight, "one", &err);
    run_schedule(straight, &s0, &s1, 0, 300);

    taml_ctrl *first = new_ctrl(sp, NULL);
    taml_ctrl_add_task(first, "zero", &err);
    taml_ctrl_add_task(first, "one", &err);
    run_schedule(first, &s0, &s1, 0, 137);
    /* through memory */
    void *buf;
    size_t size;
    taml_ctrl_save(first, &buf, &size);
    taml_ctrl *resumed = NULL;
    CHECK_EQ_INT(taml_ctrl_load(&resumed, sp, buf, size, &err), 0);
    free(buf);
    CHECK(same_state(first, resumed));
    /* and through a file, after the rest */
    run_schedule(resumed, &s0, &s1, 137, 211);
    char *path = taml_path_join(taml_test_tmpdir(), "ctrl.ckpt");
    CHECK_EQ_INT(taml_ctrl_save_file(resumed, path, &err), 0);
    taml_ctrl *again = NULL;
    CHECK_EQ_INT(taml_ctrl_load_file(&again, sp, path, &err), 0);
    run_schedule(again, &s0, &s1, 211, 300);
    CHECK(same_state(straight, again));
    /* the controller's own RNG travels too: a task added now gets the same embedding */
    int ta = taml_ctrl_add_task(straight, "new", &err), tb = taml_ctrl_add_task(again, "new", &err);
    CHECK(!memcmp(taml_ctrl_task_embedding(straight, ta), taml_ctrl_task_embedding(again, tb),
                  TAML_CTRL_EMBED * sizeof(double)));
    CHECK_STR(taml_ctrl_task_name(again, 1), "one");
    CHECK_EQ_INT(taml_ctrl_find_task(again, "zero"), 0);
    free(path);
    taml_ctrl_free(straight);
    taml_ctrl_free(first);
    taml_ctrl_free(resumed);
    taml_ctrl_free(again);
    taml_space_free(sp);
}

TEST(ctrl_checkpoint_corrupt_truncated_or_foreign_is_refused)
{
    taml_space *sp = paper();
    taml_err err;
    taml_ctrl *c = new_ctrl(sp, NULL);
    taml_ctrl_add_task(c, "t", &err);
    void *buf;
    size_t size;
    taml_ctrl_save(c, &buf, &size);
    unsigned char *b = buf;
    taml_ctrl *out = (taml_ctrl *)1;
    /* truncated anywhere */
    size_t cuts[] = {0, 7, 23, 100, size / 2, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        CHECK_EQ_INT(taml_ctrl_load(&out, sp, buf, cuts[i], &err), TAML_ECORRUPT);
        CHECK(out == NULL);
    }
    CHECK_CONTAINS(err.msg, "truncated");
    /* one flipped bit in the weights */
    b[size / 2] ^= 0x10;
    CHECK_EQ_INT(taml_ctrl_load(&out, sp, buf, size, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "checksum");
    b[size / 2] ^= 0x10;
    /* not a checkpoint */
    b[0] = 'X';
    CHECK_EQ_INT(taml_ctrl_load(&out, sp, buf, size, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "not a controller checkpoint");
    b[0] = 'T';
    /* a future version */
    b[8] = 9;
    CHECK_EQ_INT(taml_ctrl_load(&out, sp, buf, size, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "version 9");
    b[8] = 2;
    /* another space: refused, saying how they differ */
    const char *other_mods[] = {"es-small-50", "es-big-128", "en-small-50"};
    taml_space *other = NULL;
    CHECK_EQ_INT(taml_space_new_default(&other, other_mods, 3, &err), 0);
    CHECK_EQ_INT(taml_ctrl_load(&out, other, buf, size, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "another search space");
    CHECK_CONTAINS(err.msg, "decision 1 'embedding'");
    CHECK(out == NULL);
    /* the checkpoint's own space can be read back */
    taml_space *own = NULL;
    CHECK_EQ_INT(taml_ctrl_checkpoint_space(&own, buf, size, NULL, &err), 0);
    CHECK(taml_space_fingerprint(own) == taml_space_fingerprint(sp));
    /* intact, it loads */
    CHECK_EQ_INT(taml_ctrl_load(&out, sp, buf, size, &err), 0);
    CHECK_EQ_INT(taml_ctrl_tasks(out), 1);
    /* files: missing, and the path in the message */
    taml_ctrl *f = NULL;
    CHECK_EQ_INT(taml_ctrl_load_file(&f, sp, "/nonexistent/c.ckpt", &err), TAML_EIO);
    CHECK_CONTAINS(err.msg, "/nonexistent/c.ckpt");
    char *path = taml_path_join(taml_test_tmpdir(), "short.ckpt");
    CHECK_EQ_INT(taml_write_file_atomic(path, buf, size - 10, &err), 0);
    CHECK_EQ_INT(taml_ctrl_load_file(&f, sp, path, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "short.ckpt");
    free(path);
    free(buf);
    taml_ctrl_free(out);
    taml_ctrl_free(c);
    taml_space_free(own);
    taml_space_free(other);
    taml_space_free(sp);
}

/* ---- bad input --------------------------------------------------------- */

TEST(ctrl_bad_options_tasks_actions_and_rewards_are_refused)
{
    taml_space *sp = paper();
    taml_err err;
    taml_ctrl_opts o;
    taml_ctrl *c = (taml_ctrl *)1;
    static const struct {
        int field;
        double value;
        const char *msg;
    } bad[] = {{0, 0, "lr"}, {0, 2, "lr"}, {1, 1, "ema_decay"}, {2, 1, "warmup"},
               {3, -1, "entropy_weight"}, {4, 0, "init_scale"}, {5, -1, "grad_clip"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        taml_ctrl_opts_default(&o);
        switch (bad[i].field) {
        case 0: o.lr = bad[i].value; break;
        case 1: o.ema_decay = bad[i].value; break;
        case 2: o.warmup = (int)bad[i].value; break;
        case 3: o.entropy_weight = bad[i].value; break;
        case 4: o.init_scale = bad[i].value; break;
        case 5: o.grad_clip = bad[i].value; break;
        }
        CHECK_EQ_INT(taml_ctrl_new(&c, sp, &o, &err), TAML_EINVAL);
        CHECK(c == NULL);
        CHECK_CONTAINS(err.msg, bad[i].msg);
    }
    c = new_ctrl(sp, NULL);
    CHECK_EQ_INT(taml_ctrl_add_task(c, "", &err), TAML_EINVAL);
    CHECK_EQ_INT(taml_ctrl_add_task(c, "a", &err), 0);
    CHECK_EQ_INT(taml_ctrl_add_task(c, "b", &err), 1);
    CHECK_EQ_INT(taml_ctrl_add_task(c, "a", &err), 0); /* existing id */
    CHECK_EQ_INT(taml_ctrl_find_task(c, "zz"), -1);
    int32_t a[12] = {0};
    void *before, *after;
    size_t sb, sa;
    taml_ctrl_save(c, &before, &sb);
    CHECK_EQ_INT(taml_ctrl_update(c, 5, a, 0.5, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "no task 5");
    a[3] = 6; /* hidden_size has 6 choices */
    CHECK_EQ_INT(taml_ctrl_update(c, 0, a, 0.5, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "'hidden_size'");
    a[3] = 0;
    CHECK_EQ_INT(taml_ctrl_update(c, 0, a, NAN, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "not finite");
    CHECK_EQ_INT(taml_ctrl_update(c, 0, a, INFINITY, NULL, &err), TAML_EINVAL);
    taml_ctrl_save(c, &after, &sa);
    CHECK(sa == sb && !memcmp(before, after, sa)); /* unchanged */
    free(before);
    free(after);
    taml_ctrl_free(c);
    taml_space_free(sp);
}

TEST(ctrl_warmup_rewards_only_feed_the_baseline)
{
    taml_space *sp = paper();
    taml_err err;
    taml_ctrl *c = new_ctrl(sp, NULL);
    int t = taml_ctrl_add_task(c, "t", &err);
    const taml_ctrl_opts *o = taml_ctrl_get_opts(c);
    size_t n;
    double *w = taml_ctrl_params(c, TAML_CTRL_LSTM1, 0, &n);
    double w0 = w[17];
    taml_rng r;
    taml_rng_seed(&r, 1);
    int32_t a[12];
    double rewards[] = {0.2, 0.4, 0.6, 0.8, 1.0, 0.9, 0.1};
    taml_ctrl_step st;
    for (int i = 0; i < 7; i++) {
        taml_ctrl_sample(c, t, &r, a);
        CHECK_EQ_INT(taml_ctrl_update(c, t, a, rewards[i], &st, &err), 0);
        if (i < o->warmup) {
            CHECK(st.warmup);
            CHECK_NEAR(st.advantage, 0, 0);
            CHECK(w[17] == w0);
        }
        if (i == 2) { /* plain mean and variance of 0.2 and 0.4 */
            CHECK_NEAR(st.baseline, 0.3, 1e-12);
            CHECK_NEAR(st.sigma, 0.1, 1e-12);
        }
        if (i == 5) { /* 0.9 met the mean 0.6 and deviation sqrt(0.08) of the first five */
            CHECK_NEAR(st.baseline, 0.6, 1e-12);
            CHECK_NEAR(st.sigma, sqrt(0.08), 1e-12);
            CHECK_NEAR(st.advantage, 0.3 / sqrt(0.08), 1e-9);
        }
    }
    CHECK_EQ_INT(o->warmup, 5);
    CHECK(!st.warmup);
    CHECK(w[17] != w0);
    taml_ctrl_free(c);
    taml_space_free(sp);
}

/* ---- learning on synthetic landscapes ----------------------------------
 * Budgets and seeds are fixed, so each test is deterministic; the figures
 * across other seeds are in docs/controller.md ("Evidence"). Group A and B
 * optima differ in 4 of the 12 decisions. */

typedef struct scenario {
    taml_space *sp;
    synth a1, a2, b1, b2, a3, c;
} scenario;

static void scenario_init(scenario *s, uint64_t seed)
{
    s->sp = paper();
    int32_t oa[16], ob[16], oc[16];
    synth_random_opt(s->sp, seed, oa);
    synth_shift_opt(s->sp, oa, 4, seed + 1, ob);
    synth_shift_opt(s->sp, oa, 3, seed + 2, oc);
    synth_init(&s->a1, s->sp, oa, seed + 10, 0.05);
    synth_init(&s->a2, s->sp, oa, seed + 11, 0.05);
    synth_init(&s->b1, s->sp, ob, seed + 12, 0.05);
    synth_init(&s->b2, s->sp, ob, seed + 13, 0.05);
    synth_init(&s->a3, s->sp, oa, seed + 14, 0.05);
    synth_init(&s->c, s->sp, oc, seed + 15, 0.05);
}

TEST(ctrl_learns_a_12_decision_landscape_far_sooner_than_random)
{
    scenario s;
    scenario_init(&s, 1);
    taml_ctrl *c = new_ctrl(s.sp, NULL);
    taml_err err;
    int id = taml_ctrl_add_task(c, "t", &err), hit;
    double fin;
    const synth *ls[] = {&s.a1};
    /* budget 1500: mean of the last 100 trials within 5% of the optimum */
    synth_train(c, 1, &id, ls, 21, 1500, 100, 0.95, 1, &hit, &fin);
    CHECK_MSG(hit <= 1500, "controller: mean(last 100) %.3f after 1500 trials", fin);
    CHECK(fin >= 0.95);
    /* uniform random sampling in three times that budget: its mean stays
     * near 0.45 and not even its best 10 trials reach the target */
    int rhit;
    double rfin;
    synth_train(NULL, 1, &id, ls, 21, 3 * 1500, 100, 0.95, 0, &rhit, &rfin);
    CHECK(rhit > 3 * 1500);
    CHECK(rfin < 0.55);
    double top[10] = {0};
    taml_rng r;
    taml_rng_seed(&r, 5);
    for (int t = 0; t < 3 * 1500; t++) {
        int32_t a[16];
        for (int d = 0; d < 12; d++) a[d] = (int32_t)taml_rng_below(&r, (uint64_t)s.a1.n[d]);
        double v = synth_value(&s.a1, a);
        int m = 0;
        for (int k = 1; k < 10; k++)
            if (top[k] < top[m]) m = k;
        if (v > top[m]) top[m] = v;
    }
    double mean = 0;
    for (int k = 0; k < 10; k++) mean += top[k] / 10;
    CHECK_MSG(mean < 0.95, "random top-10 mean %.3f", mean);
    /* and the controller's most likely configuration is the optimum or within 2% of it */
    int32_t g[16];
    taml_ctrl_greedy(c, id, g);
    CHECK(synth_value(&s.a1, g) >= 0.98);
    taml_ctrl_free(c);
    taml_space_free(s.sp);
}

/* Trains one controller on a1, a2, b1, b2 (1500 trials per task); returns
 * it, with each task's trials to target in hit[4]. */
static taml_ctrl *train_multitask(const scenario *s, int *hit)
{
    taml_ctrl *c = new_ctrl(s->sp, NULL);
    taml_err err;
    const char *names[] = {"a1", "a2", "b1", "b2"};
    int ids[4];
    for (int i = 0; i < 4; i++) ids[i] = taml_ctrl_add_task(c, names[i], &err);
    const synth *ls[] = {&s->a1, &s->a2, &s->b1, &s->b2};
    double fin[4];
    synth_train(c, 4, ids, ls, 22, 1500, 100, 0.95, 1, hit, fin);
    return c;
}

TEST(ctrl_multitask_learns_both_groups_and_embeds_groups_together)
{
    scenario s;
    scenario_init(&s, 1);
    int hit[4];
    taml_ctrl *c = train_multitask(&s, hit);
    for (int i = 0; i < 4; i++) CHECK_MSG(hit[i] <= 1500, "task %d: target not reached in 1500", i);
    const double *e[4];
    for (int i = 0; i < 4; i++) e[i] = taml_ctrl_task_embedding(c, i);
    double within = fmin(synth_cosine(e[0], e[1], TAML_CTRL_EMBED),
                         synth_cosine(e[2], e[3], TAML_CTRL_EMBED));
    double across = -1;
    for (int i = 0; i < 2; i++)
        for (int j = 2; j < 4; j++) across = fmax(across, synth_cosine(e[i], e[j], TAML_CTRL_EMBED));
    CHECK_MSG(within > across + 0.5, "least similar within a group %.3f, most similar across %.3f",
              within, across);
    /* each task's most likely configuration scores within 5% on its own
     * landscape, and worse on the other group's */
    int32_t g[16];
    const synth *ls[] = {&s.a1, &s.a2, &s.b1, &s.b2};
    for (int i = 0; i < 4; i++) {
        taml_ctrl_greedy(c, i, g);
        double own = synth_value(ls[i], g), other = synth_value(ls[(i + 2) % 4], g);
        CHECK_MSG(own >= 0.95 && other < own - 0.05, "task %d greedy: own %.3f other %.3f", i,
                  own, other);
    }
    taml_ctrl_free(c);
    taml_space_free(s.sp);
}

TEST(ctrl_transfer_reaches_a_seen_groups_target_5x_sooner_and_adapts_to_a_new_one)
{
    scenario s;
    scenario_init(&s, 1);
    int hit[4];
    taml_ctrl *pre = train_multitask(&s, hit);
    void *buf;
    size_t size;
    taml_ctrl_save(pre, &buf, &size);
    taml_ctrl_free(pre);
    taml_err err;
    const synth *targets[] = {&s.a3, &s.c};
    int tr[2], sc[2];
    for (int j = 0; j < 2; j++) {
        double fin;
        taml_ctrl *c = NULL;
        CHECK_EQ_INT(taml_ctrl_load(&c, s.sp, buf, size, &err), 0);
        int id = taml_ctrl_add_task(c, "new", &err);
        CHECK_EQ_INT(id, 4);
        synth_train(c, 1, &id, &targets[j], 23, 3000, 20, 0.95, 1, &tr[j], &fin);
        taml_ctrl_free(c);
        c = new_ctrl(s.sp, NULL);
        id = taml_ctrl_add_task(c, "new", &err);
        synth_train(c, 1, &id, &targets[j], 23, 3000, 20, 0.95, 1, &sc[j], &fin);
        taml_ctrl_free(c);
    }
    /* a task like group A: mean of its last 20 trials within 5% of the optimum */
    CHECK_MSG(sc[0] <= 3000 && 5 * tr[0] <= sc[0], "transfer %d trials, scratch %d", tr[0], sc[0]);
    /* a task whose optimum differs from both groups in 3 decisions still gets
     * there, not much later than from scratch (no lock-in; see
     * opts.transfer_restart and docs/controller.md for other seeds) */
    CHECK_MSG(tr[1] <= 3000 && tr[1] <= 3 * sc[1], "new optimum: transfer %d, scratch %d", tr[1],
              sc[1]);
    free(buf);
    taml_space_free(s.sp);
}

TEST(ctrl_normalised_advantage_learns_rewards_of_any_scale_equally)
{
    scenario s;
    scenario_init(&s, 1);
    double fin[2][2];
    int hit[2][2], budget = 3000;
    /* normalised first (until both reach the target), then baseline only
     * for as many trials as that took */
    for (int norm = 1; norm >= 0; norm--) {
        synth small = s.a1, big = s.b1;
        small.scale = 0.01;
        big.scale = 100;
        big.offset = 50;
        taml_ctrl_opts o;
        taml_ctrl_opts_default(&o);
        o.normalise = norm;
        taml_ctrl *c = new_ctrl(s.sp, &o);
        taml_err err;
        int ids[2] = {taml_ctrl_add_task(c, "small", &err), taml_ctrl_add_task(c, "big", &err)};
        const synth *ls[] = {&small, &big};
        synth_train(c, 2, ids, ls, 24, budget, 100, 0.95, norm, hit[norm], fin[norm]);
        taml_ctrl_free(c);
        if (norm) budget = hit[1][0] > hit[1][1] ? hit[1][0] : hit[1][1];
    }
    /* normalised: both within 5% of their optimum (x0.01 and x100 alike) */
    CHECK_MSG(hit[1][0] <= 3000 && hit[1][1] <= 3000, "normalised: trials to target %d %d",
              hit[1][0], hit[1][1]);
    /* baseline only, same budget: the x100 task's gradients drown the x0.01 task's */
    CHECK_MSG(fin[0][0] < 0.6, "unnormalised small task reached %.3f in %d trials", fin[0][0],
              budget);
    CHECK(hit[0][0] > budget);
    taml_space_free(s.sp);
}
