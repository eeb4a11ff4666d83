/* tests/test_child.c - the child model as a whole: the config parser, a
 * double-precision gradient check of the full two-tower net, learning on the
 * committed fixture task (tests/fixtures/tasks/child-topics, made by
 * tests/fixtures/make_child_fixture.py), invalid and diverged trials,
 * determinism, the read-only module and feature cache, and flat memory over
 * 10,000 train/free cycles. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/rng.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"
#include "nn/net.h"
#include "gradcheck.h"
#include "test.h"

#define FIXTURE "tests/fixtures/tasks/child-topics"

static taml_child_config config_of(const char *json)
{
    taml_child_config c;
    taml_err err;
    int rc = taml_child_config_parse(&c, json, strlen(json), &err);
    CHECK_MSG(rc == 0, "config %s: %s", json, err.msg);
    return c;
}

/* The base config of these tests: both towers, 1 x 64 relu, 200 steps. */
static taml_child_config base_config(void)
{
    return config_of(
        "{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 64, \"activation\": \"relu\","
        " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": 0,"
        " \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 20000}");
}

struct fixture {
    taml_task *task;
    taml_module *module;
    taml_features *feat;
};

static struct fixture fixture_open(void)
{
    struct fixture fx = {0};
    taml_err err;
    CHECK_MSG(taml_task_load(&fx.task, FIXTURE, NULL, &err) == 0, "%s", err.msg);
    CHECK_MSG(taml_module_open(&fx.module, "random-100", NULL, &err) == 0, "%s", err.msg);
    CHECK_MSG(taml_features_new(&fx.feat, fx.task, fx.module, &err) == 0, "%s", err.msg);
    return fx;
}

static void fixture_close(struct fixture *fx)
{
    taml_features_free(fx->feat);
    taml_module_close(fx->module);
    taml_task_free(fx->task);
}

static taml_child_result train(const struct fixture *fx, taml_child_config cfg, uint64_t seed)
{
    taml_child_result r;
    taml_err err;
    CHECK_MSG(taml_child_train(&cfg, fx->feat, seed, &r, &err) == 0, "%s", err.msg);
    return r;
}

/* ---- config ---------------------------------------------------------------- */

TEST(child_config_parses_reference_names_and_round_trips)
{
    taml_child_config c = config_of(
        "{\"embedding\": \"random-50\", \"fine_tune\": true, \"layers\": 7, \"hidden_size\": 256,"
        " \"activation\": \"swish\", \"normalization\": \"layer_norm\", \"dropout\": 0.6,"
        " \"deep_lr\": 3.0, \"deep_l2\": \"disable\", \"wide_lr\": 0.001, \"wide_l1\": 1e-5,"
        " \"samples\": 1e6}");
    CHECK_STR(c.embedding, "random-50");
    CHECK(c.fine_tune == 1 && c.layers == 7 && c.hidden_size == 256);
    CHECK(c.activation == TAML_ACT_SWISH && c.normalization == TAML_NORM_LAYER);
    CHECK(c.dropout == 0.6 && c.deep_lr == 3.0 && c.deep_disabled && !c.wide_disabled);
    CHECK(c.wide_l1 == 1e-5 && c.samples == 1000000);
    char buf[1024];
    taml_child_config_format(&c, buf, sizeof buf);
    taml_child_config d = config_of(buf);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
    /* the longest name of the worst characters ('"' and '\\' escape to two
     * bytes) still formats within 1024 bytes and round-trips */
    memset(c.embedding, '"', sizeof c.embedding - 1);
    c.embedding[sizeof c.embedding - 1] = 0;
    int n = taml_child_config_format(&c, buf, sizeof buf);
    CHECK(n > 0 && n < (int)sizeof buf);
    taml_child_config q = config_of(buf);
    CHECK(memcmp(&c, &q, sizeof c) == 0);
    /* embedding may be absent (given apart) */
    taml_child_config e = base_config();
    CHECK_STR(e.embedding, "");
}

TEST(child_config_refuses_unknown_missing_and_bad_values_with_a_clear_message)
{
    static const struct {
        const char *json, *needle;
        int code;
    } bad[] = {
        {"{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 8, \"activation\": \"relu\","
         " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": 0,"
         " \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 1000, \"learning_rate\": 1}",
         "unknown decision \"learning_rate\"", TAML_EINVAL},
        {"{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 8, \"activation\": \"relu\","
         " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": 0,"
         " \"wide_lr\": 0.1, \"wide_l1\": 0}",
         "missing decision \"samples\"", TAML_EINVAL},
        {"{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 8, \"activation\": \"tanh\","
         " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": 0,"
         " \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 1000}",
         "\"activation\" must be one of \"relu\", \"swish\"", TAML_EINVAL},
        {"{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 8, \"activation\": \"relu\","
         " \"normalization\": \"none\", \"dropout\": 1.0, \"deep_lr\": 0.1, \"deep_l2\": 0,"
         " \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 1000}",
         "\"dropout\" is 1", TAML_EINVAL},
        {"{\"fine_tune\": false, \"layers\": 2.5, \"hidden_size\": 8, \"activation\": \"relu\","
         " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": 0,"
         " \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 1000}",
         "\"layers\" is 2.5; expected a whole number", TAML_EINVAL},
        {"{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 8, \"activation\": \"relu\","
         " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0, \"deep_l2\": 0,"
         " \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 1000}",
         "\"deep_lr\" is 0", TAML_EINVAL},
        {"{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 8, \"activation\": \"relu\","
         " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": 0,"
         " \"wide_lr\": 0.1, \"wide_l1\": \"off\", \"samples\": 1000}",
         "\"wide_l1\" is \"off\"; expected a number >= 0 or \"disable\"", TAML_EINVAL},
        {"{\"fine_tune\": \"yes\", \"layers\": 1, \"hidden_size\": 8, \"activation\": \"relu\","
         " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": 0,"
         " \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 1000}",
         "\"fine_tune\" must be true or false", TAML_EINVAL},
        {"{\"embedding\": \"en\\u0005x\", \"fine_tune\": false, \"layers\": 1, \"hidden_size\": 8,"
         " \"activation\": \"relu\", \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1,"
         " \"deep_l2\": 0, \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 1000}",
         "\"embedding\" has a control character (byte 5 at offset 2)", TAML_EINVAL},
        {"[1, 2]", "expected a JSON object", TAML_EINVAL},
        {"{\"layers\": ", "not valid JSON", TAML_EFORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        taml_child_config c;
        taml_err err;
        taml_err_clear(&err);
        int rc = taml_child_config_parse(&c, bad[i].json, strlen(bad[i].json), &err);
        CHECK_MSG(rc == bad[i].code, "case %zu: rc %d", i, rc);
        CHECK_CONTAINS(err.msg, bad[i].needle);
    }
    taml_child_config c;
    taml_err err;
    CHECK(taml_child_config_load(&c, "tests/fixtures/no-such-config.json", &err) == TAML_EIO);
    CHECK_CONTAINS(err.msg, "no-such-config.json");
}

/* ---- whole-model gradient check (double) ------------------------------------- */

struct netd_ctx {
    taml_netd_t *n;
    taml_net_batch *bt;
};

static double netd_loss(void *p)
{
    struct netd_ctx *c = p;
    return taml_netd_forward(c->n, c->bt, 1);
}

/* Central differences on the parameters x[0 .. n) against the analytic gradient
 * g; the group's gradient must not be all zero. */
static const taml_gradcheck model_check = {
    .h = 1e-6, .abs_tol = 2e-6, .rel_tol = 2e-6, .min_gmax = 1e-4};
#define check_group(what, ctx, x, g, n) CHECK_GRAD(&model_check, what, netd_loss, ctx, x, g, n)

static void densify_rows(double *dense, const taml_kerneld_sparse *s, size_t rows)
{
    memset(dense, 0, rows * (size_t)s->width * sizeof(double));
    for (int k = 0; k < s->n; k++)
        memcpy(dense + (size_t)s->rows[k] * s->width, s->g + (size_t)k * s->width,
               (size_t)s->width * sizeof(double));
}

static void whole_model_check(int act, int norm)
{
    enum { B = 5, D = 4, L = 2, H = 3, C = 3, R = 6, V = 5 };
    taml_net_shape s = {0};
    s.B = B, s.D = D, s.L = L, s.H = H, s.C = C, s.act = act, s.norm = norm, s.dropout = 1;
    s.emb_rows = R, s.emb_cap = R, s.wide_rows = V, s.wide_cap = V;
    void *block = aligned_alloc(64, (taml_netd_size(&s) + 63) & ~(size_t)63);
    taml_netd_t n;
    taml_netd_init(&n, &s, block);
    taml_rng rng;
    taml_rng_seed(&rng, 77 + act * 3 + norm);
    for (size_t i = 0; i < n.n_deep; i++) n.deep[i] = taml_rng_uniform(&rng) * 1.6 - 0.8;
    for (int i = 0; i < R * D; i++) n.emb[i] = taml_rng_uniform(&rng) * 2 - 1;
    for (int i = 0; i < V * C; i++) n.wtab[i] = taml_rng_uniform(&rng) - 0.5;
    for (int i = 0; i < C; i++) n.wide[i] = taml_rng_uniform(&rng) - 0.5;
    for (int i = 0; i < L * B * H; i++) n.mask[i] = (i % 4 == 1) ? 0 : 1 / 0.75; /* fixed, p=.25 */
    /* six examples, the batch takes five of them (one twice), one has no rows */
    int64_t doff[7] = {0, 2, 3, 3, 6, 8, 9}, woff[7] = {0, 1, 3, 4, 4, 6, 7};
    int32_t dids[9] = {0, 1, 1, 2, 3, 1, 4, 5, 5}, wids[7] = {0, 2, 1, 3, 0, 4, 2};
    int32_t ex[B] = {1, 0, 3, 2, 3}, labels[B] = {0, 2, 1, 1, 2};
    taml_net_batch bt = {.B = B, .ex = ex, .labels = labels, .deep_off = doff, .deep_ids = dids,
                         .wide_off = woff, .wide_ids = wids};
    struct netd_ctx ctx = {&n, &bt};
    taml_netd_zero_grad(&n);
    double loss = taml_netd_forward(&n, &bt, 1);
    CHECK(loss > 0 && isfinite(loss));
    taml_netd_backward(&n, &bt);
    /* copy the analytic gradients before the checks run more forwards */
    double *gdeep = malloc(n.n_deep * sizeof(double)), gw[C], gemb[R * D], gwt[V * C];
    memcpy(gdeep, n.ddeep, n.n_deep * sizeof(double));
    memcpy(gw, n.dwide, sizeof gw);
    densify_rows(gemb, &n.gemb, R);
    densify_rows(gwt, &n.gwide, V);
    char what[64];
    for (int l = 0; l <= L; l++) {
        int in = l ? H : D, out = l == L ? C : H;
        snprintf(what, sizeof what, "layer %d weights", l);
        check_group(what, &ctx, n.w[l], gdeep + (n.w[l] - n.deep), (size_t)in * out);
        snprintf(what, sizeof what, "layer %d bias", l);
        check_group(what, &ctx, n.b[l], gdeep + (n.b[l] - n.deep), (size_t)out);
        if (l < L && norm) {
            check_group("norm gamma", &ctx, n.gam[l], gdeep + (n.gam[l] - n.deep), H);
            check_group("norm beta", &ctx, n.bet[l], gdeep + (n.bet[l] - n.deep), H);
        }
    }
    check_group("embedding rows", &ctx, n.emb, gemb, R * D);
    check_group("wide table", &ctx, n.wtab, gwt, V * C);
    check_group("wide bias", &ctx, n.wide, gw, C);
    /* untouched rows have no gradient: row 5 of emb is only in example 4 (not in the batch) */
    for (int j = 0; j < D; j++) CHECK(gemb[5 * D + j] == 0);
    free(gdeep);
    free(block);
}

TEST(whole_two_tower_model_gradient_matches_central_differences_relu_batch_norm)
{
    whole_model_check(TAML_ACT_RELU, TAML_NORM_BATCH);
}

TEST(whole_two_tower_model_gradient_matches_central_differences_swish_layer_norm)
{
    whole_model_check(TAML_ACT_SWISH, TAML_NORM_LAYER);
}

TEST(whole_two_tower_model_gradient_matches_central_differences_swish_no_norm)
{
    whole_model_check(TAML_ACT_SWISH, TAML_NORM_NONE);
}

/* ---- learning ------------------------------------------------------------------ */

/* Mean valid+test accuracy over three seeds. */
static double mean_acc(const struct fixture *fx, taml_child_config cfg)
{
    double s = 0;
    for (uint64_t seed = 0; seed < 3; seed++) {
        taml_child_result r = train(fx, cfg, seed);
        CHECK_MSG(r.status == TAML_CHILD_OK, "status %s", taml_child_status_name(r.status));
        CHECK_EQ_INT(r.steps, cfg.samples / 100);
        CHECK(isfinite(r.final_loss) && r.final_loss > 0);
        s += (r.valid_acc + r.test_acc) / 2;
    }
    return s / 3;
}

TEST(child_learns_fixture_task_both_towers_wide_only_and_deep_only_beat_majority)
{
    struct fixture fx = fixture_open();
    double majority = 0.35; /* valid and test share of the majority train class (sport) */
    taml_child_config both = base_config();
    taml_child_config wide = both, deep = both;
    wide.deep_disabled = 1;
    deep.wide_disabled = 1;
    double a_both = mean_acc(&fx, both), a_wide = mean_acc(&fx, wide), a_deep = mean_acc(&fx, deep);
    CHECK_MSG(a_both > majority + 0.3, "both towers %.3f", a_both);
    CHECK_MSG(a_wide > majority + 0.3, "wide only %.3f", a_wide);
    CHECK_MSG(a_deep > majority + 0.25, "deep only %.3f", a_deep);
    /* fine-tuning, batch norm, layer norm, swish and dropout learn too */
    taml_child_config ft = config_of(
        "{\"fine_tune\": true, \"layers\": 2, \"hidden_size\": 32, \"activation\": \"swish\","
        " \"normalization\": \"layer_norm\", \"dropout\": 0.1, \"deep_lr\": 0.1, \"deep_l2\": 1e-4,"
        " \"wide_lr\": 0.1, \"wide_l1\": \"disable\", \"samples\": 20000}");
    double a_ft = mean_acc(&fx, ft);
    CHECK_MSG(a_ft > majority + 0.25, "fine-tuned deep %.3f", a_ft);
    fixture_close(&fx);
}

TEST(both_towers_disabled_is_an_invalid_trial_with_majority_accuracy)
{
    struct fixture fx = fixture_open();
    taml_child_config c = base_config();
    c.deep_disabled = c.wide_disabled = 1;
    taml_child_result r = train(&fx, c, 0);
    CHECK(r.status == TAML_CHILD_INVALID);
    CHECK_EQ_INT(r.steps, 0);
    /* the majority train class (sport) holds 21 of 60 valid and 18 of 60 test rows */
    int maj = 0;
    for (int k = 0; k < fx.task->n_classes; k++)
        if (!strcmp(fx.task->class_names[k], "sport")) maj = k;
    int hv = 0, ht = 0, v0 = fx.task->n_split[0], t0 = v0 + fx.task->n_split[1];
    for (int e = v0; e < t0; e++) hv += fx.task->label[e] == maj;
    for (int e = t0; e < fx.task->n; e++) ht += fx.task->label[e] == maj;
    CHECK_NEAR(r.valid_acc, (double)hv / fx.task->n_split[1], 1e-12);
    CHECK_NEAR(r.test_acc, (double)ht / fx.task->n_split[2], 1e-12);
    taml_child *child = NULL;
    taml_err err;
    CHECK(taml_child_new(&child, &c, fx.feat, 0, &err) == TAML_EINVAL && !child);
    CHECK_CONTAINS(err.msg, "both towers are disabled");
    fixture_close(&fx);
}

/* ---- divergence ------------------------------------------------------------------- */

TEST(diverged_child_stops_and_keeps_the_accuracy_of_its_last_good_weights)
{
    struct fixture fx = fixture_open();
    /* deep_lr 3.0, the top of the paper's range, does not diverge here: Adagrad's
     * step is at most lr per weight and the loss stays finite */
    taml_child_config ok = base_config();
    ok.layers = 7, ok.deep_lr = 3.0, ok.wide_disabled = 1;
    CHECK(train(&fx, ok, 0).status == TAML_CHILD_OK);
    /* a learning rate of 1000 on 7 layers overflows within a few steps */
    taml_child_config bad = ok;
    bad.deep_lr = 1000;
    taml_child_result r = train(&fx, bad, 5);
    CHECK(r.status == TAML_CHILD_DIVERGED);
    CHECK(r.steps < bad.samples / 100);
    CHECK(r.valid_acc >= 0 && r.valid_acc <= 1 && isfinite(r.test_acc));
    /* the same child stopped after exactly r.steps good steps scores the same */
    taml_child_config stop = bad;
    stop.samples = r.steps * 100;
    taml_child_result s = train(&fx, stop, 5);
    CHECK(s.status == TAML_CHILD_OK);
    CHECK(s.valid_acc == r.valid_acc && s.test_acc == r.test_acc);
    fixture_close(&fx);
}

/* ---- determinism, module, cache ------------------------------------------------------ */

TEST(child_training_is_deterministic_bit_for_bit_given_the_seed)
{
    struct fixture fx = fixture_open();
    taml_child_config c = config_of(
        "{\"fine_tune\": true, \"layers\": 2, \"hidden_size\": 32, \"activation\": \"relu\","
        " \"normalization\": \"batch_norm\", \"dropout\": 0.3, \"deep_lr\": 0.3, \"deep_l2\": 1e-3,"
        " \"wide_lr\": 0.3, \"wide_l1\": 1e-3, \"samples\": 5000}");
    taml_child_result a = train(&fx, c, 42), b = train(&fx, c, 42), d = train(&fx, c, 43);
    CHECK(memcmp(&a.final_loss, &b.final_loss, sizeof(double)) == 0);
    CHECK(a.valid_acc == b.valid_acc && a.test_acc == b.test_acc && a.steps == b.steps);
    CHECK(a.final_loss != d.final_loss); /* the seed matters */
    fixture_close(&fx);
}

TEST(fine_tuning_never_changes_the_module_or_the_shared_features)
{
    struct fixture fx = fixture_open();
    const taml_features *f = fx.feat;
    size_t nr = (size_t)f->n_rows * f->dim, np = (size_t)fx.task->n * f->dim;
    float *rows = malloc(nr * sizeof(float)), *pooled = malloc(np * sizeof(float));
    memcpy(rows, f->rows, nr * sizeof(float));
    memcpy(pooled, f->pooled, np * sizeof(float));
    float v0[100], v1[100];
    CHECK(taml_module_lookup(fx.module, "goal", 4, v0));
    taml_child_config c = base_config();
    c.fine_tune = 1, c.deep_lr = 1.0;
    taml_child_result r = train(&fx, c, 1);
    CHECK(r.status == TAML_CHILD_OK);
    CHECK(memcmp(rows, f->rows, nr * sizeof(float)) == 0);
    CHECK(memcmp(pooled, f->pooled, np * sizeof(float)) == 0);
    CHECK(taml_module_lookup(fx.module, "goal", 4, v1));
    CHECK(memcmp(v0, v1, sizeof v0) == 0);
    /* the child's table holds only the task's rows */
    CHECK(f->n_rows <= fx.task->n_words && f->n_rows > 0);
    free(rows);
    free(pooled);
    fixture_close(&fx);
}

struct cache_job {
    taml_features_cache *cache;
    const taml_task *task;
    const taml_module *module;
    const taml_features *got;
    double acc;
};

static void *cache_worker(void *p)
{
    struct cache_job *j = p;
    taml_err err;
    if (taml_features_cache_get(j->cache, j->task, j->module, &j->got, &err)) return NULL;
    taml_child_config c = base_config();
    c.samples = 3000;
    taml_child_result r;
    if (taml_child_train(&c, j->got, 9, &r, &err) == 0) j->acc = r.valid_acc;
    return NULL;
}

TEST(feature_cache_computes_each_pair_once_and_shares_it_across_threads)
{
    struct fixture fx = fixture_open();
    taml_features_cache *cache = taml_features_cache_new();
    enum { T = 4 };
    pthread_t th[T];
    struct cache_job jobs[T];
    for (int i = 0; i < T; i++) {
        jobs[i] = (struct cache_job){cache, fx.task, fx.module, NULL, -1};
        pthread_create(&th[i], NULL, cache_worker, &jobs[i]);
    }
    for (int i = 0; i < T; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++) {
        CHECK(jobs[i].got != NULL && jobs[i].got == jobs[0].got);
        CHECK(jobs[i].acc == jobs[0].acc); /* same seed, same result on every thread */
    }
    /* pooled features equal the mean of the example's module rows */
    const taml_features *f = jobs[0].got;
    int e = 7;
    double s = 0;
    for (int64_t k = f->deep_off[e]; k < f->deep_off[e + 1]; k++) s += f->rows[(size_t)f->deep_ids[k] * f->dim + 3];
    CHECK_NEAR(f->pooled[(size_t)e * f->dim + 3], s / (double)(f->deep_off[e + 1] - f->deep_off[e]), 1e-6);
    taml_features_cache_free(cache);
    fixture_close(&fx);
}

/* ---- memory ----------------------------------------------------------------------------- */

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST(ten_thousand_train_free_cycles_keep_a_flat_rss)
{
    struct fixture fx = fixture_open();
    taml_child_config c = config_of(
        "{\"fine_tune\": true, \"layers\": 2, \"hidden_size\": 8, \"activation\": \"swish\","
        " \"normalization\": \"batch_norm\", \"dropout\": 0.1, \"deep_lr\": 0.1, \"deep_l2\": 1e-4,"
        " \"wide_lr\": 0.1, \"wide_l1\": 1e-4, \"samples\": 100}");
#if defined(__SANITIZE_ADDRESS__)
    int cycles = 300; /* ASan's quarantine grows RSS by design; LeakSanitizer checks leaks */
#else
    int cycles = 10000;
#endif
    long before = 0;
    for (int i = 0; i < cycles; i++) {
        c.layers = 1 + i % 3; /* different block sizes, to provoke fragmentation */
        taml_child_result r = train(&fx, c, (uint64_t)i);
        CHECK(r.status == TAML_CHILD_OK);
        if (i == 1000) before = rss_kb();
    }
    long after = rss_kb();
#if !defined(__SANITIZE_ADDRESS__)
    CHECK(before > 0);
    CHECK_MSG(after - before < 1024, "RSS grew from %ld to %ld kB over 9000 cycles", before, after);
#else
    (void)before, (void)after;
#endif
    fixture_close(&fx);
}

/* ---- image tasks --------------------------------------------------------------------------- */

TEST(image_task_trains_on_pixels_in_both_towers)
{
    taml_task *t = NULL;
    taml_err err;
    CHECK_MSG(taml_task_load(&t, "tests/fixtures/tasks/idx-mini", NULL, &err) == 0, "%s", err.msg);
    CHECK(t->kind == TAML_TASK_IMAGE);
    taml_features *f = NULL;
    CHECK(taml_features_new(&f, t, NULL, &err) == 0);
    CHECK_EQ_INT(f->dim, t->height * t->width * t->channels);
    taml_child_config c = base_config();
    c.normalization = TAML_NORM_BATCH;
    c.samples = 2000;
    taml_child_result r;
    CHECK(taml_child_train(&c, f, 0, &r, &err) == 0);
    CHECK(r.status == TAML_CHILD_OK && r.steps == 20 && isfinite(r.final_loss));
    /* the training loss falls below chance (log C) */
    CHECK_MSG(r.final_loss < log((double)t->n_classes), "loss %g", r.final_loss);
    taml_features_free(f);
    taml_task_free(t);
}
