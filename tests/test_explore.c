/* tests/test_explore.c - search.h's explore_uniform (a candidate remedy
 * against a transfer locking onto its prior, issue 16; not measured): at 1
 * every trial is random search's trial of the same id and the controller
 * still learns from it; in between, the order stays deterministic (2
 * workers equal 1), a study resumes exactly with its recorded value, and
 * another value is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
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

/* explore < 0: not given (the study's own). */
static int run(const char *path, taml_search_method m, double explore, int workers,
               taml_test_stopper *stop, taml_err *err)
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
    CHECK_CONTAINS(err.msg, "--explore-uniform must be as when it was made");
    CHECK_EQ_INT(run(off, TAML_SEARCH_AML, 1.5, 1, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--explore-uniform: 1.5 is not a probability in [0, 1]");
    free(one);
    free(two);
    free(parts);
    free(off);
}
