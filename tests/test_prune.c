/* tests/test_prune.c - pruning (search/prune.h): the pruners' thresholds on
 * hand-made rung values (ties, too few trials, eta, warm-up), the real
 * child's rungs, and the search loop with a pruner: pruned trials through
 * the store, status, report and export; two workers equal one under
 * --deterministic; a continued study with other pruning is refused; and on
 * a landscape where the longest training is best, the controller still
 * learns to prefer it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"
#include "fake_child.h"
#include "fixture_files.h"
#include "nn/child.h"
#include "nn/features.h"
#include "report/report.h"
#include "report/status.h"
#include "report/study.h"
#include "search/export.h"
#include "search/prune.h"
#include "search/search.h"
#include "store/store.h"
#include "study_compare.h"
#include "test.h"
#include "testutil.h"

static taml_prune_opts opts(taml_pruner p, int eta, int warmup)
{
    taml_prune_opts o;
    taml_prune_opts_default(&o);
    o.pruner = p;
    o.eta = eta;
    o.warmup = warmup;
    return o;
}

static double thr(const taml_prune_opts *o, const double *v, size_t n)
{
    double scratch[64];
    return taml_prune_threshold(o, v, n, scratch);
}

TEST(prune_rungs_are_min_times_eta_powers_below_the_total)
{
    taml_prune_opts o = opts(TAML_PRUNER_ASHA, 3, 1);
    int64_t s[TAML_JOB_RUNGS];
    CHECK_EQ_INT(taml_prune_rungs(&o, 1000000, s, TAML_JOB_RUNGS), 7);
    CHECK_EQ_INT(s[0], 1000);
    CHECK_EQ_INT(s[1], 3000);
    CHECK_EQ_INT(s[6], 729000);
    CHECK_EQ_INT(taml_prune_rungs(&o, 3000, s, TAML_JOB_RUNGS), 1); /* 3000 is its end */
    CHECK_EQ_INT(taml_prune_rungs(&o, 1000, s, TAML_JOB_RUNGS), 0);
    CHECK_EQ_INT(taml_prune_rung_of(&o, 3000), 1);
    CHECK_EQ_INT(taml_prune_rung_of(&o, 10000), -1);
    o.eta = 2;
    o.min_samples = 100;
    CHECK_EQ_INT(taml_prune_rungs(&o, 1000000, s, TAML_JOB_RUNGS), 14); /* 100 .. 819200 */
    CHECK_EQ_INT(s[13], 819200);
    CHECK_EQ_INT(taml_prune_rungs(&o, 1000000, s, 5), 5);
}

TEST(prune_median_goes_on_at_or_above_the_median_after_the_warmup)
{
    taml_prune_opts o = opts(TAML_PRUNER_MEDIAN, 3, 3);
    double v[] = {0.5, 0.7, 0.6, 0.9};
    CHECK(isnan(thr(&o, v, 0)));
    CHECK(isnan(thr(&o, v, 2)));              /* warm-up: 2 < 3 values */
    CHECK(thr(&o, v, 3) == 0.6);              /* odd: the middle one */
    CHECK(thr(&o, v, 4) == 0.5 * (0.6 + 0.7)); /* even: the mean of the middle two */
    double ties[] = {0.4, 0.4, 0.4};
    CHECK(thr(&o, ties, 3) == 0.4); /* a value equal to the median goes on */
    CHECK(v[0] == 0.5 && v[1] == 0.7);   /* the values are not reordered */
    o.pruner = TAML_PRUNER_NONE;
    CHECK(isnan(thr(&o, v, 4)));
}

/* Optuna's _is_trial_promotable_to_next_rung (maximising), as it reads:
 * the competing values are the earlier ones and v; promotable index
 * len // eta - 1, or 0 when that is -1; v goes on iff v >= the sorted
 * descending competing value at that index. */
static int optuna_goes_on(const double *earlier, size_t n, double v, int eta)
{
    double c[64];
    memcpy(c, earlier, n * sizeof *c);
    c[n] = v;
    long idx = (long)(n + 1) / eta - 1;
    if (idx == -1) idx = 0;
    for (size_t i = 0; i <= n; i++) /* sort descending */
        for (size_t j = i + 1; j <= n; j++)
            if (c[j] > c[i]) {
                double t = c[i];
                c[i] = c[j];
                c[j] = t;
            }
    return v >= c[idx];
}

TEST(prune_asha_keeps_the_top_k_as_optuna_does_with_ties_and_any_eta)
{
    taml_prune_opts o = opts(TAML_PRUNER_ASHA, 3, 1);
    double v[] = {0.5, 0.8, 0.6, 0.7, 0.8, 0.2, 0.9, 0.1};
    CHECK(isnan(thr(&o, v, 0)));    /* no one to compare with */
    CHECK(thr(&o, v, 1) == 0.5);    /* k = max(floor(2/3), 1) = 1: beat the one before */
    CHECK(thr(&o, v, 2) == 0.8);    /* k = 1 */
    CHECK(thr(&o, v, 5) == 0.8);    /* k = 2: the 2nd of 0.8, 0.8, 0.7, ...: a tie */
    CHECK(thr(&o, v, 8) == 0.8);    /* k = 3: 0.9, 0.8, 0.8 */
    o.eta = 2;
    CHECK(thr(&o, v, 8) == 0.7);    /* k = 4: 0.9, 0.8, 0.8, 0.7 */
    o.warmup = 6;
    CHECK(isnan(thr(&o, v, 5)));    /* warm-up */
    CHECK(thr(&o, v, 6) == 0.7);    /* k = 3 */
    /* against Optuna's rule on random values with many ties, every eta */
    taml_rng g;
    taml_rng_seed(&g, 17);
    for (int rep = 0; rep < 4000; rep++) {
        int eta = 2 + (int)taml_rng_below(&g, 5);
        size_t n = 1 + taml_rng_below(&g, 40);
        double e[64];
        for (size_t i = 0; i < n; i++) e[i] = (double)taml_rng_below(&g, 6) / 8;
        double x = (double)taml_rng_below(&g, 6) / 8;
        taml_prune_opts a = opts(TAML_PRUNER_ASHA, eta, 1);
        double t = thr(&a, e, n);
        int mine = isnan(t) || x >= t;
        CHECK_MSG(mine == optuna_goes_on(e, n, x, eta), "rep %d: n %zu eta %d v %g", rep, n, eta, x);
    }
}

TEST(prune_reward_is_the_rung_accuracy_plus_the_median_gain_clipped)
{
    double g[] = {0.2, 0.1, 0.3};
    CHECK(fabs(taml_prune_reward(0.5, g, 3) - 0.7) < 1e-15);
    CHECK(taml_prune_reward(0.5, g, 0) == 0.5); /* no finished trial to learn a gain from */
    double big[] = {0.9, 0.8};
    CHECK(taml_prune_reward(0.6, big, 2) == 1.0);
    double neg[] = {-0.7};
    CHECK(taml_prune_reward(0.2, neg, 1) == 0.0);
}

TEST(prune_options_out_of_range_are_refused_naming_the_flag)
{
    taml_prune_opts o = opts(TAML_PRUNER_ASHA, 1, 5);
    taml_err err;
    CHECK_EQ_INT(taml_prune_opts_check(&o, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--prune-eta: 1 is not in 2..100");
    o.eta = 3, o.min_samples = 10;
    CHECK_EQ_INT(taml_prune_opts_check(&o, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--prune-min");
    o.min_samples = 1000, o.warmup = 0;
    CHECK_EQ_INT(taml_prune_opts_check(&o, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--prune-warmup");
    CHECK_EQ_INT(taml_prune_parse("asha"), TAML_PRUNER_ASHA);
    CHECK_EQ_INT(taml_prune_parse("hyperband"), -1);
}

/* ---- the real child ----------------------------------------------------- */

#define FIXTURE "tests/fixtures/tasks/child-topics"

TEST(child_rungs_measure_without_changing_training_and_stop_below_a_threshold)
{
    taml_task *task;
    taml_module *mod;
    taml_features *feat;
    taml_err err;
    CHECK_MSG(taml_task_load(&task, FIXTURE, NULL, &err) == 0, "%s", err.msg);
    CHECK_MSG(taml_module_open(&mod, "random-100", NULL, &err) == 0, "%s", err.msg);
    CHECK_MSG(taml_features_new(&feat, task, mod, &err) == 0, "%s", err.msg);
    const char *json =
        "{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 32, \"activation\": \"relu\","
        " \"normalization\": \"batch_norm\", \"dropout\": 0.1, \"deep_lr\": 0.1, \"deep_l2\": 0,"
        " \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 9000}";
    taml_child_config cfg;
    CHECK_EQ_INT(taml_child_config_parse(&cfg, json, strlen(json), &err), 0);
    taml_child_result plain, with;
    CHECK_EQ_INT(taml_child_train(&cfg, feat, 5, &plain, &err), 0);
    int64_t samples[] = {1000, 3000};
    double none[] = {NAN, NAN}, acc[2];
    taml_child_rungs rg = {.n = 2, .samples = samples, .threshold = none, .acc = acc};
    CHECK_EQ_INT(taml_child_train_rungs(&cfg, feat, 5, &rg, &with, &err), 0);
    /* measured, and the end is bit for bit the child without rungs */
    CHECK_EQ_INT(rg.reached, 2);
    CHECK_EQ_INT(rg.pruned, -1);
    CHECK(acc[0] > 0 && acc[0] <= 1 && acc[1] > 0 && acc[1] <= 1);
    CHECK_EQ_INT(with.status, TAML_CHILD_OK);
    CHECK_EQ_INT(with.steps, 90);
    CHECK(with.valid_acc == plain.valid_acc && with.test_acc == plain.test_acc);
    CHECK(with.final_loss == plain.final_loss);
    /* the rung after 10 steps is the accuracy of a child of 1000 samples */
    taml_child_config short_cfg = cfg;
    short_cfg.samples = 1000;
    taml_child_result s1;
    CHECK_EQ_INT(taml_child_train(&short_cfg, feat, 5, &s1, &err), 0);
    CHECK(acc[0] == s1.valid_acc);
    /* a threshold above the second rung's value stops it there */
    double stop[] = {0.0, acc[1] + 1e-9};
    rg.threshold = stop;
    taml_child_result pr;
    CHECK_EQ_INT(taml_child_train_rungs(&cfg, feat, 5, &rg, &pr, &err), 0);
    CHECK_EQ_INT(pr.status, TAML_CHILD_PRUNED);
    CHECK_EQ_INT(rg.pruned, 1);
    CHECK_EQ_INT(rg.reached, 2);
    CHECK_EQ_INT(pr.steps, 30);
    CHECK(pr.valid_acc == acc[1] && isnan(pr.test_acc));
    CHECK_STR(taml_child_status_name(pr.status), "pruned");
    taml_features_free(feat);
    taml_module_close(mod);
    taml_task_free(task);
}

/* ---- the search loop with the fake child --------------------------------- */

static const char *names2[] = {"alpha", "beta"};
static const char *dirs2[] = {"d/alpha", "d/beta"};

/* A space whose trials differ in length; the fake child's learning curve
 * (tests/fake_child.h) makes the longest training the best. */
static const char *space_text =
    "{\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],\"activation\":[\"relu\",\"swish\"],"
    "\"dropout\":[0,0.1,0.3],\"samples\":[1000,3000,10000,30000]}";

static char *tmp(const char *name)
{
    char *p = taml_path_join(taml_test_tmpdir(), name);
    remove(p);
    return p;
}

typedef struct run_args {
    taml_search_method method;
    int32_t tasks, trials, workers, lag;
    int det;
    taml_pruner pruner;
    int32_t warmup;
    int sleep_us;
    double lr;
} run_args;

static int run(const char *path, const run_args *a, taml_err *err)
{
    taml_space *space = NULL;
    CHECK_EQ_INT(taml_space_from_json(&space, space_text, "test", err), 0);
    taml_fake_child fake = {.sleep_us = a->sleep_us, .curve = 1};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = a->method;
    o.trials = a->trials;
    o.workers = a->workers;
    o.seed = 5;
    o.deterministic = a->det;
    o.lag = a->lag;
    o.checkpoint_every = 7;
    o.prune.pruner = a->pruner;
    if (a->warmup) o.prune.warmup = a->warmup;
    taml_ctrl_opts co;
    taml_ctrl_opts_default(&co);
    if (a->lr > 0) co.lr = a->lr;
    o.ctrl_opts = &co;
    o.child = taml_fake_child_run;
    o.child_ctx = &fake;
    int rc = taml_search_run(path, space, a->tasks, names2, dirs2, &o, err);
    taml_space_free(space);
    return rc;
}

static int64_t count(const char *path, int state)
{
    taml_store *s;
    taml_err err;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    int64_t n = taml_store_count(s, state, -1, &err);
    taml_store_close(s);
    return n;
}

TEST(search_pruned_trials_are_stored_with_their_rung_and_never_rank)
{
    char *path = tmp("asha.db");
    taml_err err;
    run_args a = {.method = TAML_SEARCH_AML, .tasks = 2, .trials = 40, .workers = 1,
                  .pruner = TAML_PRUNER_ASHA, .warmup = 3};
    CHECK_MSG(run(path, &a, &err) == 0, "%s", err.msg);
    int64_t pruned = count(path, TAML_TRIAL_PRUNED), done = count(path, TAML_TRIAL_DONE);
    CHECK_MSG(pruned >= 10 && done >= 10, "pruned %lld, done %lld", (long long)pruned,
              (long long)done);
    CHECK_EQ_INT(pruned + done + count(path, TAML_TRIAL_INVALID), 80);
    /* every trial as stored: a pruned one has its rung, the accuracies up
     * to it, valid = the value there, no test accuracy, steps to the rung,
     * and a reward (aml applies it); a done one reached every rung below
     * its length */
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    taml_store_iter *it;
    CHECK_EQ_INT(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err), 0);
    taml_trial t;
    double best_done = 0, best_pruned = 0;
    static const int64_t rung[] = {1000, 3000, 9000, 27000};
    while (taml_store_iter_next(it, &t, &err) == 1) {
        int64_t samples = 0;
        const char *p = strstr(t.config_json, "\"samples\":");
        CHECK(p != NULL);
        samples = strtoll(p + 10, NULL, 10);
        int below = 0;
        while (below < 4 && rung[below] < samples) below++;
        if (t.state == TAML_TRIAL_PRUNED) {
            CHECK(t.pruned_rung >= 0 && t.pruned_rung < below);
            CHECK_EQ_INT(t.n_rungs, t.pruned_rung + 1);
            CHECK(t.valid_acc == t.rung_acc[t.pruned_rung]);
            CHECK(isnan(t.test_acc));
            CHECK_EQ_INT(t.steps, rung[t.pruned_rung] / 100);
            CHECK(isfinite(t.reward) && t.reward >= t.valid_acc - 0.2 && t.reward <= 1);
            CHECK(t.update_seq > 0);
            if (t.valid_acc > best_pruned) best_pruned = t.valid_acc;
        } else if (t.state == TAML_TRIAL_DONE) {
            CHECK_EQ_INT(t.n_rungs, below);
            CHECK_EQ_INT(t.pruned_rung, -1);
            CHECK(isnan(t.reward));
            if (t.valid_acc > best_done) best_done = t.valid_acc;
        }
    }
    taml_store_iter_free(it);
    taml_store_close(s);

    /* status: counted, never the best; report loads it; export never picks one */
    taml_report_study *rs;
    CHECK_EQ_INT(taml_report_study_load(&rs, path, &err), 0);
    taml_status_row *rows;
    size_t n;
    CHECK_EQ_INT(taml_status_table(rs, NULL, 0, &rows, &n, &err), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(rows[0].pruned + rows[1].pruned, pruned);
    CHECK_EQ_INT(rows[0].trials, 40); /* pruned trials count as trials */
    for (size_t i = 0; i < n; i++) {
        const taml_report_task *k = &rs->tasks[i];
        for (size_t j = 0; j < k->n; j++)
            if (k->id[j] == rows[i].best_id) CHECK_EQ_INT(k->state[j], TAML_TRIAL_DONE);
    }
    char *text = taml_status_text(rs, NULL, rows, n);
    char want[48];
    snprintf(want, sizeof want, "[%zu pruned]", rows[0].pruned);
    CHECK_CONTAINS(text, want);
    free(text);
    text = taml_status_json(rs, NULL, rows, n);
    const char *key = strstr(text, "\"pruned\":");
    CHECK(key != NULL);
    CHECK_EQ_INT(strtol(key + 9, NULL, 10), rows[0].pruned); /* the first task's */
    free(text);
    /* the report: its table has the pruned column with the count, and its
     * policy replay takes the pruned trials' stored rewards */
    char *html = NULL;
    CHECK_MSG(taml_report_html(&rs, 1, NULL, &html, &err) == 0, "%s", err.msg);
    CHECK_CONTAINS(html, "<th>invalid</th><th>pruned</th>");
    snprintf(want, sizeof want, "<td class=\"num\">%zu</td><td class=\"num\">", rows[0].pruned);
    CHECK_CONTAINS(html, want);
    free(html);
    taml_status_rows_free(rows, n);
    taml_report_study_free(rs);
    taml_export_source src;
    CHECK_EQ_INT(taml_export_source_open(path, "alpha", 40, &src, &err), 0);
    CHECK_EQ_INT(src.n_finished, 40);
    CHECK(src.n_models < 40); /* the pruned ones have no model */
    taml_export_source_deinit(&src);
    (void)best_pruned;
    (void)best_done;
    free(path);
}

TEST(search_with_a_pruner_deterministic_two_workers_equal_one)
{
    char *one = tmp("det1.db"), *two = tmp("det2.db");
    taml_err err;
    run_args a = {.method = TAML_SEARCH_MULTITASK, .tasks = 2, .trials = 30, .workers = 1,
                  .det = 1, .lag = 2, .pruner = TAML_PRUNER_MEDIAN, .warmup = 2};
    CHECK_MSG(run(one, &a, &err) == 0, "%s", err.msg);
    a.workers = 2;
    a.sleep_us = 300;
    CHECK_MSG(run(two, &a, &err) == 0, "%s", err.msg);
    int64_t n = 0;
    CHECK(same_studies(one, two, &n));
    CHECK_EQ_INT(n, 60);
    CHECK(count(one, TAML_TRIAL_PRUNED) >= 5);
    free(one);
    free(two);
}

/* A stop after a few results, then the same search again, until done. */
struct stopper {
    volatile int stop;
    int64_t after, seen;
};
static void stop_progress(void *user, const taml_search_progress *p)
{
    struct stopper *s = user;
    if (p->last && ++s->seen >= s->after) s->stop = 1;
}

TEST(search_with_a_pruner_stopped_and_continued_equals_an_uninterrupted_run)
{
    char *whole = tmp("whole.db"), *parts = tmp("parts.db");
    taml_err err;
    run_args a = {.method = TAML_SEARCH_AML, .tasks = 2, .trials = 25, .workers = 2,
                  .det = 1, .lag = 3, .pruner = TAML_PRUNER_ASHA, .warmup = 2, .sleep_us = 200};
    CHECK_MSG(run(whole, &a, &err) == 0, "%s", err.msg);
    taml_space *space = NULL;
    CHECK_EQ_INT(taml_space_from_json(&space, space_text, "test", &err), 0);
    int runs = 0;
    for (; runs < 40; runs++) {
        taml_fake_child fake = {.sleep_us = 200, .curve = 1};
        struct stopper st = {.after = 3 + runs % 5};
        taml_search_opts o;
        taml_search_opts_default(&o);
        o.method = a.method;
        o.trials = a.trials;
        o.workers = a.workers;
        o.seed = 5;
        o.deterministic = 1;
        o.lag = a.lag;
        o.checkpoint_every = 7;
        o.prune.pruner = a.pruner;
        o.prune.warmup = a.warmup;
        taml_ctrl_opts co;
        taml_ctrl_opts_default(&co);
        o.ctrl_opts = &co;
        o.child = taml_fake_child_run;
        o.child_ctx = &fake;
        o.progress = stop_progress;
        o.user = &st;
        o.stop = &st.stop;
        CHECK_MSG(taml_search_run(parts, space, 2, names2, dirs2, &o, &err) == 0, "%s", err.msg);
        if (count(parts, -1) == 50 && count(parts, TAML_TRIAL_PENDING) == 0) break;
    }
    taml_space_free(space);
    CHECK_MSG(runs >= 5 && runs < 40, "%d runs", runs); /* stopped often, then done */
    CHECK(same_studies(whole, parts, NULL));
    CHECK(count(whole, TAML_TRIAL_PRUNED) > 0);
    free(whole);
    free(parts);
}

TEST(search_continued_with_other_pruning_is_refused_naming_what_differs)
{
    char *path = tmp("refuse.db");
    taml_err err;
    run_args a = {.method = TAML_SEARCH_RANDOM, .tasks = 1, .trials = 4, .workers = 1,
                  .pruner = TAML_PRUNER_ASHA};
    CHECK_MSG(run(path, &a, &err) == 0, "%s", err.msg);
    a.trials = 6;
    a.pruner = TAML_PRUNER_MEDIAN;
    CHECK_EQ_INT(run(path, &a, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "the study's pruner is asha (--prune-eta 3, --prune-min 1000, "
                            "--prune-warmup 5), not median (--prune-eta 3");
    a.pruner = TAML_PRUNER_NONE;
    CHECK_EQ_INT(run(path, &a, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, ", not none:");
    a.pruner = TAML_PRUNER_ASHA;
    a.warmup = 4;
    CHECK_EQ_INT(run(path, &a, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "not asha (--prune-eta 3, --prune-min 1000, --prune-warmup 4)");
    CHECK_EQ_INT(count(path, -1), 4);
    /* a pruner this taml does not know (a newer one's) is not read as none */
    char *cmd = taml_asprintf("sqlite3 %s \"UPDATE study SET options_json = replace(options_json,"
                              " 'asha', 'hyperband')\"", path);
    char *said = NULL;
    CHECK_EQ_INT(taml_test_run(cmd, &said), 0);
    free(said);
    free(cmd);
    a.warmup = 0;
    CHECK_EQ_INT(run(path, &a, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "name a pruner this taml does not know");
    free(path);
}

/* How often the last `win` trials of a study chose the longest training. */
static double longest_share(const char *path, int win)
{
    taml_store *s;
    taml_err err;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    int64_t n = taml_store_count(s, -1, -1, &err), hits = 0;
    taml_store_iter *it;
    CHECK_EQ_INT(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err), 0);
    taml_trial t;
    while (taml_store_iter_next(it, &t, &err) == 1)
        if (t.id > n - win) hits += t.actions[4] == 3; /* samples 30000 */
    taml_store_iter_free(it);
    taml_store_close(s);
    return (double)hits / win;
}

/* The fake child's curve makes 30000 samples the best length (its value
 * is 0.91 of the configuration's, 1000 samples' 0.25). Pruned trials are
 * mostly long ones: rewarded with their rung accuracy they would teach the
 * controller to prefer short trainings; with prune.h's estimate it still
 * learns the longest, as without a pruner. */
TEST(search_with_a_pruner_still_learns_that_the_longest_training_is_best)
{
    char *plain = tmp("learn-none.db"), *asha = tmp("learn-asha.db");
    taml_err err;
    run_args a = {.method = TAML_SEARCH_AML, .tasks = 1, .trials = 300, .workers = 1,
                  .pruner = TAML_PRUNER_NONE, .lr = 1e-2};
    CHECK_MSG(run(plain, &a, &err) == 0, "%s", err.msg);
    a.pruner = TAML_PRUNER_ASHA;
    CHECK_MSG(run(asha, &a, &err) == 0, "%s", err.msg);
    double s_plain = longest_share(plain, 100), s_asha = longest_share(asha, 100);
    int64_t pruned = count(asha, TAML_TRIAL_PRUNED);
    fprintf(stderr, "    (longest training in the last 100 trials: %.2f without a pruner, %.2f "
                    "with asha, %lld pruned)\n",
            s_plain, s_asha, (long long)pruned);
    CHECK(pruned >= 30);
    CHECK_MSG(s_plain >= 0.5, "without a pruner: %.2f", s_plain);
    CHECK_MSG(s_asha >= 0.5, "with asha: %.2f (uniform: 0.25)", s_asha);
    free(plain);
    free(asha);
}

/* ---- the command line ----------------------------------------------------- */

TEST(prune_cli_flags_are_checked_in_search_ask_and_tell)
{
    static const taml_test_usage_case cases[] = {
        {"search --study s.db --task t --method random --trials 3 --pruner hyperband",
         "--pruner: 'hyperband' is not none, median or asha"},
        {"search --study s.db --task t --method random --trials 3 --prune-eta 4",
         "--prune-eta, --prune-min and --prune-warmup are for --pruner median or asha"},
        {"search --study s.db --task t --method random --trials 3 --pruner asha --prune-eta 1",
         "--prune-eta"},
        {"search --study s.db --task t --method random --trials 3 --pruner asha --prune-min 99",
         "--prune-min"},
        {"search --study s.db --task t --method random --trials 3 --space x.json --objective true "
         "--pruner median",
         "--pruner stops the built-in child at its rungs"},
        {"ask s.db --pruner asha", "the study's settings (--trials, --space, --seed, --pruner"},
        {"ask s.db --method random --task t --trials 3 --prune-min 500",
         "--prune-eta, --prune-min and --prune-warmup are for --pruner median or asha"},
        {"ask s.db --method random --task t --trials 3 --pruner hyperband",
         "--pruner: 'hyperband' is not none, median or asha"},
        {"tell s.db 1 --valid 0.5 --state paused", "--state: 'paused' is not done, diverged"},
        {"ask s.db --explore-uniform 0.2", "the study's settings (--trials, --space, --seed"},
        {"ask s.db --method random --task t --trials 3 --explore-uniform 0.2",
         "random search is uniform already"},
        {"ask s.db --method aml --task t --trials 3 --explore-trials 5",
         "--explore-trials is the decay of --explore-temperature T"},
        {"ask s.db --method aml --task t --trials 3 --explore-uniform 1.5",
         "--explore-uniform: 1.5"},
        {"tell s.db 1 --state pruned", "--rungs (a pruned trial stopped at its last rung)"},
        {"tell s.db 1 --valid 0.5 --rungs 0.4,1.5", "--rungs: value 2 of '0.4,1.5' is not an"},
        {"tell s.db 1 --valid 0.5 --rungs 0.4,", "--rungs: value 2 of '0.4,' is not an"},
    };
    taml_test_cli_usage_errors(cases, sizeof cases / sizeof cases[0]);
}

TEST(prune_needs_a_samples_decision_and_ask_continues_a_pruned_study)
{
    char *path = tmp("nosamples.db");
    taml_space *space = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_space_from_json(&space, "{\"layers\":[1,2],\"dropout\":[0,0.1]}", "t", &err), 0);
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.trials = 2;
    o.prune.pruner = TAML_PRUNER_MEDIAN;
    o.child = taml_fake_child_run;
    CHECK_EQ_INT(taml_search_run(path, space, 1, names2, dirs2, &o, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--pruner median: the search space has no 'samples' decision");
    CHECK(access(path, F_OK) != 0); /* refused before the study file is made */
    taml_space_free(space);
    free(path);
    /* a study made by taml search with a pruner: ask continues it, handing
     * out the trials with their rungs; a tell is checked against them */
    path = tmp("pruned-ask.db");
    run_args a = {.method = TAML_SEARCH_RANDOM, .tasks = 1, .trials = 3, .workers = 1,
                  .pruner = TAML_PRUNER_ASHA};
    CHECK_MSG(run(path, &a, &err) == 0, "%s", err.msg);
    char *args = taml_asprintf("ask %s --json", path);
    taml_test_cli_says(args, 3, "the study is complete");
    free(args);
    free(path);
}

/* A study with a pruner over ask and tell on the command line: the ask's
 * line carries the rungs, tell takes the rung values and the pruned state,
 * and refuses what does not fit the trial or the study, storing nothing. */
TEST(ask_and_tell_carry_rungs_on_the_command_line_and_refuse_what_does_not_fit)
{
    char *dir = taml_path_join(taml_test_tmpdir(), "asktell-prune");
    char *bin = realpath(taml_test_bin(), NULL); /* the commands run in dir */
    CHECK(bin != NULL);
    char *cmd = taml_asprintf("rm -rf %s && mkdir -p %s && printf '%%s' '{\"layers\":[1,2],"
                              "\"samples\":[30000]}' > %s/space.json",
                              dir, dir, dir);
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    char *out = NULL;
    /* samples 30000, min 1000, eta 3: rungs 1000, 3000, 9000, 27000 */
    cmd = taml_asprintf("cd %s && %s ask s.db --method random --task t --trials 8 --space "
                        "space.json --pruner asha --prune-warmup 1",
                        dir, bin);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "\t1000:nan,3000:nan,9000:nan,27000:nan\n");
    free(out);
    free(cmd);
    /* a study without a pruner takes no rungs */
    char *cmd2 = taml_asprintf("cd %s && %s ask plain.db --method random --task t --trials 2 "
                               "--space space.json >/dev/null && %s tell plain.db 1 --valid 0.5 "
                               "--rungs 0.4 2>&1",
                               dir, bin, bin);
    CHECK(taml_test_run(cmd2, &out) != 0);
    CHECK_CONTAINS(out, "rung values (or the pruned state) are for a study with a pruner");
    free(out);
    free(cmd2);
    static const struct {
        const char *tell, *says;
    } bad[] = {
        {"1 --valid 0.5 --rungs 0.1,0.2,0.3,0.4,0.5", "trial 1 has 4 rungs (its samples' rungs), not 5"},
        {"1 --state pruned --valid 0.5 --rungs 0.4", "pruned with valid 0.5, but its last rung's"},
        {"1 --state failed --rungs 0.4", "a failed trial has no rung values"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *c = taml_asprintf("cd %s && %s tell s.db %s 2>&1", dir, bin, bad[i].tell);
        CHECK(taml_test_run(c, &out) != 0);
        CHECK_CONTAINS(out, bad[i].says);
        free(out);
        free(c);
    }
    /* trial 1 done with all its rungs, trial 2 pruned at rung 0 below it:
     * trial 3's thresholds come from them (warm-up 1) */
    cmd2 = taml_asprintf("cd %s && %s tell s.db 1 --valid 0.9 --rungs 0.5,0.6,0.7,0.8 && "
                         "%s ask s.db >/dev/null && %s tell s.db 2 --state pruned --rungs 0.25 && "
                         "%s ask s.db --json && sqlite3 s.db \"SELECT id, state, valid_acc, "
                         "rung, rungs FROM trials WHERE id <= 2 ORDER BY id\"",
                         dir, bin, bin, bin, bin);
    CHECK_EQ_INT(taml_test_run(cmd2, &out), 0);
    /* asha, eta 3, n = 2 at rung 0 (0.5, 0.25): k = 1, the best: 0.5; at
     * rung 1 one value (0.6): k = max(floor(2 / 3), 1) = 1: 0.6 */
    CHECK_CONTAINS(out, "\"rungs\":[{\"samples\":1000,\"threshold\":0.5},{\"samples\":3000,"
                        "\"threshold\":0.59999999999999998}");
    CHECK_CONTAINS(out, "1|done|0.9||[0.5,0.59999999999999998,0.69999999999999996,"
                        "0.80000000000000004]\n2|pruned|0.25|0|[0.25]\n");
    free(out);
    free(cmd2);
    free(dir);
    free(bin);
}

/* Schema 6's step on a study of schema 1 (the v1 fixture): the widened
 * CHECK admits 'pruned' and no other new state, every old row reads as
 * before, the file passes SQLite's integrity check, and a pruned trial
 * with its rungs and reward round-trips. */
TEST(store_migrated_to_schema_6_admits_pruned_trials_and_keeps_every_row)
{
    char *path = taml_test_gunzip_fixture("v1/mt-half.db");
    taml_store *s;
    taml_err err;
    CHECK_EQ_INT(taml_store_open(&s, path, 0, &err), 0);
    int64_t before = taml_store_count(s, -1, -1, &err),
            done = taml_store_count(s, TAML_TRIAL_DONE, -1, &err);
    CHECK_EQ_INT(taml_store_upgrade(s, &err), 0);
    CHECK_EQ_INT(taml_store_count(s, -1, -1, &err), before);
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_DONE, -1, &err), done);
    taml_store_close(s);
    /* char(...): "pruned", without quotes inside the shell's */
    char *cmd = taml_asprintf("sqlite3 %s 'PRAGMA integrity_check; PRAGMA user_version;"
                              " SELECT instr(sql, char(112, 114, 117, 110, 101, 100)) > 0"
                              " FROM sqlite_master WHERE type = char(116, 97, 98, 108, 101)"
                              " AND name = char(116, 114, 105, 97, 108, 115)'",
                              path);
    char *out = NULL;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_STR(out, "ok\n6\n1\n");
    free(out);
    free(cmd);
    /* a sqlite3 shell cannot put another state there either */
    cmd = taml_asprintf("sqlite3 %s \"UPDATE trials SET state = 'paused' WHERE id = 1\" 2>&1", path);
    CHECK(taml_test_run(cmd, &out) != 0);
    CHECK_CONTAINS(out, "CHECK constraint failed");
    free(out);
    free(cmd);
    CHECK_EQ_INT(taml_store_open(&s, path, 0, &err), 0);
    int32_t acts[64] = {0};
    taml_trial any;
    CHECK_EQ_INT(taml_store_trial_get(s, 1, &any, &err), 0);
    taml_trial t = {.task = 0, .method = "multitask", .config_json = "{}",
                    .n_actions = any.n_actions, .actions = acts, .seed = 5};
    taml_trial_deinit(&any);
    CHECK_EQ_INT(taml_store_trial_add(s, &t, &err), 0);
    CHECK_EQ_INT(taml_store_trial_start(s, t.id, 0, &err), 0);
    double rungs[] = {0.25, 0.1 + 0.2};
    taml_trial r = {.state = TAML_TRIAL_PRUNED, .valid_acc = rungs[1], .test_acc = NAN,
                    .loss = 1, .steps = 30, .worker = 0, .n_rungs = 2, .rung_acc = rungs,
                    .pruned_rung = 1, .reward = 0.4};
    CHECK_MSG(taml_store_trial_finish(s, t.id, &r, &err) == 0, "%s", err.msg);
    taml_trial back;
    CHECK_EQ_INT(taml_store_trial_get(s, t.id, &back, &err), 0);
    CHECK_EQ_INT(back.state, TAML_TRIAL_PRUNED);
    CHECK_EQ_INT(back.n_rungs, 2);
    CHECK(back.rung_acc[0] == 0.25 && back.rung_acc[1] == 0.1 + 0.2); /* bit for bit */
    CHECK_EQ_INT(back.pruned_rung, 1);
    CHECK(back.reward == 0.4 && isnan(back.test_acc));
    taml_trial_deinit(&back);
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_PRUNED, -1, &err), 1);
    taml_store_close(s);
    free(path);
}
