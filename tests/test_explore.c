/* tests/test_explore.c - search.h's explore_uniform and explore_temperature
 * (candidate remedies against a transfer locking onto its prior, issue 16;
 * not measured): at explore_uniform 1 every trial is random search's trial
 * of the same id and the controller still learns from it; sampling at a
 * temperature (ctrl/controller.h) is the policy at 1, flatter above and
 * sharper below; either way the order stays deterministic (2 workers
 * equal 1), a study resumes exactly with its recorded values, and others
 * are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "ctrl/controller.h"
#include "fake_child.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"
#include "study_compare.h"
#include "test.h"
#include "testutil.h"

static const char *SPACE = "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],"
                           "\"activation\":[\"relu\",\"swish\"],\"wide_l1\":[0,0.01,\"disable\"]}";
static const char *names[] = {"alpha", "beta"}, *dirs[] = {"d/alpha", "d/beta"};

/* explore < 0: not given (the study's own); temperature 0: off. */
static int run_t(const char *path, taml_search_method m, double explore, double temperature,
                 int workers, taml_test_stopper *stop, taml_err *err)
{
    taml_space *space = NULL;
    TAML_ASSERT(taml_space_from_json(&space, SPACE, "test", err) == 0);
    taml_fake_child fake = {.sleep_us = workers > 1 ? 200 : 0};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = m;
    o.trials = 12;
    o.workers = workers;
    o.seed = 21;
    o.deterministic = 1;
    o.lag = 2;
    o.checkpoint_every = 3;
    o.explore_uniform = explore < 0 ? 0 : explore;
    o.explore_set = explore >= 0;
    o.explore_temperature = temperature;
    o.explore_trials = temperature ? 10 : 0;
    o.child = taml_fake_child_run;
    o.child_ctx = &fake;
    if (stop) {
        o.progress = taml_test_stopper_progress;
        o.user = stop;
        o.stop = &stop->stop;
    }
    int rc = taml_search_run(path, space, 2, names, dirs, &o, err);
    taml_space_free(space);
    return rc;
}

static int run(const char *path, taml_search_method m, double explore, int workers,
               taml_test_stopper *stop, taml_err *err)
{
    return run_t(path, m, explore, 0, workers, stop, err);
}

/* The actions of every trial, as text, in id order. */
static char *actions_of(const char *path)
{
    taml_store *s;
    taml_err err;
    TAML_ASSERT(taml_store_open(&s, path, TAML_STORE_READONLY, &err) == 0);
    taml_store_iter *it;
    TAML_ASSERT(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err) == 0);
    char *out = taml_strdup("");
    taml_trial t;
    while (taml_store_iter_next(it, &t, &err) == 1) out = taml_append(out, "%lld %s\n", (long long)t.id, t.config_json);
    taml_store_iter_free(it);
    taml_store_close(s);
    return out;
}

TEST(explore_uniform_one_draws_random_searchs_trials_and_the_controller_still_learns)
{
    char *rnd = taml_test_tmp_path("random.db"), *x = taml_test_tmp_path("explore1.db");
    taml_err err;
    CHECK_EQ_INT(run(rnd, TAML_SEARCH_RANDOM, -1, 1, NULL, &err), 0);
    CHECK_EQ_INT(run(x, TAML_SEARCH_MULTITASK, 1, 1, NULL, &err), 0);
    /* multitask draws its tasks from the trial seed, random goes round:
     * compare the configurations, which both draw from the same stream */
    char *a = actions_of(rnd), *b = actions_of(x);
    CHECK_STR(a, b);
    free(a);
    free(b);
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, x, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_last_seq(s, &err), 24); /* every reward was applied */
    taml_study st;
    CHECK_EQ_INT(taml_store_study(s, &st, &err), 0);
    CHECK_STR(st.options_json, "{\"deterministic\":true,\"lag\":2,\"explore_uniform\":1}");
    taml_study_deinit(&st);
    taml_store_close(s);
    free(rnd);
    free(x);
}

TEST(explore_uniform_keeps_the_order_deterministic_resumes_with_its_value_and_refuses_another)
{
    char *one = taml_test_tmp_path("one.db"), *two = taml_test_tmp_path("two.db"), *parts = taml_test_tmp_path("parts.db"), *off = taml_test_tmp_path("off.db");
    taml_err err;
    CHECK_EQ_INT(run(one, TAML_SEARCH_AML, 0.3, 1, NULL, &err), 0);
    CHECK_EQ_INT(run(two, TAML_SEARCH_AML, 0.3, 2, NULL, &err), 0);
    CHECK(same_studies(one, two, NULL));
    /* another value is another study */
    CHECK_EQ_INT(run(off, TAML_SEARCH_AML, 0, 1, NULL, &err), 0);
    CHECK(!same_studies(one, off, NULL));
    /* stopped and continued without the flag: the study's own value */
    int runs = 0;
    for (;;) {
        taml_test_stopper st = {.after = 1 + runs % 3};
        CHECK_EQ_INT(run(parts, TAML_SEARCH_AML, runs ? -1 : 0.3, 2, &st, &err), 0);
        runs++;
        if (!st.stop) break;
        CHECK(runs < 40);
    }
    CHECK(same_studies(one, parts, NULL));
    CHECK_EQ_INT(run(parts, TAML_SEARCH_AML, 0.5, 1, NULL, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "\"explore_uniform\":0.29999999999999999");
    CHECK_CONTAINS(err.msg, "the --explore-* flags must be as when it was made");
    CHECK_EQ_INT(run(off, TAML_SEARCH_AML, 1.5, 1, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--explore-uniform: 1.5 is not a probability in [0, 1]");
    free(one);
    free(two);
    free(parts);
    free(off);
}

TEST(explore_temperature_one_is_the_policy_above_flattens_below_sharpens)
{
    taml_space *space = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_space_from_json(&space, SPACE, "test", &err), 0);
    taml_ctrl *c = NULL;
    CHECK_EQ_INT(taml_ctrl_new(&c, space, NULL, &err), 0);
    int id = taml_ctrl_add_task(c, "t", &err);
    /* teach it to like embedding m2 (choice 1) */
    taml_rng r;
    taml_rng_seed(&r, 1);
    for (int t = 0; t < 400; t++) {
        int32_t a[5];
        taml_ctrl_sample(c, id, &r, a);
        CHECK_EQ_INT(taml_ctrl_update(c, id, a, a[0] == 1 ? 1.0 : 0.0, NULL, &err), 0);
    }
    double p[32];
    taml_ctrl_probabilities(c, id, NULL, NULL, p);
    CHECK_MSG(p[1] > 0.95, "m2 %.3f", p[1]);
    /* temperature 1: taml_ctrl_sample's draws exactly */
    taml_rng r1, r2;
    taml_rng_seed(&r1, 7);
    taml_rng_seed(&r2, 7);
    int hot = 0, cold = 0;
    for (int t = 0; t < 300; t++) {
        int32_t a[5], b[5];
        double la = taml_ctrl_sample(c, id, &r1, a);
        double lb = taml_ctrl_sample_temp(c, id, &r2, 1, b);
        CHECK(!memcmp(a, b, sizeof a) && la == lb);
    }
    /* hot: near an even split of m1 and m2; the log-probability is the policy's */
    for (int t = 0; t < 2000; t++) {
        int32_t a[5];
        double lp = taml_ctrl_sample_temp(c, id, &r1, 50, a);
        CHECK_NEAR(lp, taml_ctrl_log_prob(c, id, a, NULL), 1e-12);
        hot += a[0] == 0;
        taml_ctrl_sample_temp(c, id, &r1, 0.1, a);
        cold += a[0] == 0;
    }
    CHECK_MSG(hot > 800 && hot < 1200, "m1 drawn %d of 2000 at temperature 50", hot);
    CHECK_MSG(cold < 5, "m1 drawn %d of 2000 at temperature 0.1", cold);
    taml_ctrl_free(c);
    taml_space_free(space);
}

TEST(explore_temperature_keeps_the_order_deterministic_resumes_and_refuses_another)
{
    char *one = taml_test_tmp_path("t1.db"), *two = taml_test_tmp_path("t2.db");
    char *parts = taml_test_tmp_path("tparts.db"), *plain = taml_test_tmp_path("plain.db");
    taml_err err;
    CHECK_EQ_INT(run_t(one, TAML_SEARCH_MULTITASK, 0, 20, 1, NULL, &err), 0);
    CHECK_EQ_INT(run_t(two, TAML_SEARCH_MULTITASK, 0, 20, 2, NULL, &err), 0);
    CHECK(same_studies(one, two, NULL));
    CHECK_EQ_INT(run_t(plain, TAML_SEARCH_MULTITASK, 0, 0, 1, NULL, &err), 0);
    CHECK(!same_studies(one, plain, NULL));
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, one, TAML_STORE_READONLY, &err), 0);
    taml_study st;
    CHECK_EQ_INT(taml_store_study(s, &st, &err), 0);
    CHECK_STR(st.options_json, "{\"deterministic\":true,\"lag\":2,\"explore_temperature\":20,"
                               "\"explore_trials\":10}");
    taml_study_deinit(&st);
    taml_store_close(s);
    /* stopped and continued without the flags: the study's own */
    int runs = 0;
    for (;;) {
        taml_test_stopper stp = {.after = 1 + runs % 3};
        CHECK_EQ_INT(runs ? run(parts, TAML_SEARCH_MULTITASK, -1, 2, &stp, &err)
                          : run_t(parts, TAML_SEARCH_MULTITASK, 0, 20, 2, &stp, &err),
                     0);
        runs++;
        if (!stp.stop) break;
        CHECK(runs < 40);
    }
    CHECK(same_studies(one, parts, NULL));
    CHECK_EQ_INT(run_t(parts, TAML_SEARCH_MULTITASK, 0, 5, 1, NULL, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "\"explore_temperature\":20");
    CHECK_EQ_INT(run_t(plain, TAML_SEARCH_MULTITASK, 0, 200, 1, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--explore-temperature: 200 is not in (0, 100]");
    free(one);
    free(two);
    free(parts);
    free(plain);
}
