/* tests/test_ask.c - ask and tell (search/ask.h) with the fake child
 * computing the results the asker tells: a deterministic ask/tell loop,
 * with several trials out and tells in a shuffled order, makes the same
 * study as `taml search --deterministic` (trials, configs, checkpoints);
 * asynchronous asks; trials never told handled as after a crash; bad tells
 * refused with nothing stored lost. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "fake_child.h"
#include "search/ask.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"
#include "study_compare.h"
#include "test.h"

static const char *space_text =
    "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],"
    "\"activation\":[\"relu\",\"swish\"],\"deep_l2\":[0,0.001,\"disable\"],"
    "\"wide_l1\":[0,0.01,\"disable\"]}";
static const char *names[] = {"alpha", "beta", "gamma"};
static const char *dirs[] = {"d/alpha", "d/beta", "d/gamma"};

static char *tmp(const char *name)
{
    char *p = taml_path_join(taml_test_tmpdir(), name);
    remove(p);
    return p;
}

/* What an asker tells for a trial: the fake child's accuracies; every trial
 * whose id is a multiple of 5 fails. The search's child does the same, with
 * what tell does not record (loss, steps) cleared. */
static void told_child(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    taml_fake_child_run(ctx, worker, job, out);
    out->loss = NAN;
    out->steps = 0;
    if (job->id % 5 == 0) {
        out->status = TAML_TRIAL_FAILED;
        out->valid_acc = out->test_acc = NAN;
        snprintf(out->error, sizeof out->error, "told as failed");
    }
}

static void opts_for(taml_search_opts *o, taml_search_method m, int det, int32_t lag)
{
    taml_search_opts_default(o);
    o->method = m;
    o->trials = 8;
    o->workers = 2;
    o->seed = 31;
    o->seed_set = 1;
    o->deterministic = det;
    o->lag = lag;
    o->checkpoint_every = 5;
    o->child = told_child;
}

/* Tells trial a what the fake child gives it, following the rungs and
 * thresholds the ask handed out (a pruned trial is told with the rung
 * values up to where it stopped, and no valid). */
static int tell_from_fake(const char *path, const taml_asked *a)
{
    taml_job job = {.id = a->id, .task = a->task, .config_json = a->config_json, .seed = a->seed,
                    .n_rungs = a->n_rungs};
    memcpy(job.rung_samples, a->rung_samples, sizeof job.rung_samples);
    memcpy(job.rung_threshold, a->rung_threshold, sizeof job.rung_threshold);
    taml_job_result res = {0};
    told_child(NULL, 0, &job, &res);
    int pruned = res.status == TAML_TRIAL_PRUNED;
    taml_told t = {.state = (taml_trial_state)res.status, .valid = pruned ? NAN : res.valid_acc,
                   .test = res.test_acc,
                   .n_rungs = res.status == TAML_TRIAL_FAILED ? 0
                              : pruned                        ? res.pruned_rung + 1
                                                              : res.n_rungs,
                   .rung_acc = res.rung_acc};
    taml_err err;
    int rc = taml_search_tell(path, a->id, &t, &err);
    if (rc) fprintf(stderr, "    tell %lld: %s\n", (long long)a->id, err.msg);
    return rc;
}

/* An ask/tell loop over the study: up to `out` trials out at once, each
 * step asks (while it can) or tells a trial out chosen by rng. */
static void ask_tell_loop(const char *path, const taml_ask_setup *setup, int out, uint64_t seed)
{
    taml_rng g;
    taml_rng_seed(&g, seed);
    taml_asked held[16];
    int n = 0, first = 1;
    taml_err err;
    for (int steps = 0; steps < 1000; steps++) {
        int ask = n < out && taml_rng_below(&g, 3) != 0;
        if (ask || n == 0) {
            int rc = taml_search_ask(path, first ? setup : NULL, NULL, 0, &held[n], &err);
            if (rc == TAML_ENOTFOUND && n == 0) {
                CHECK_CONTAINS(err.msg, "the study is complete");
                return;
            }
            CHECK_MSG(rc == 0 || rc == TAML_ENOTFOUND, "ask: %s", err.msg);
            if (rc == 0) {
                n++;
                first = 0;
                continue;
            }
        }
        int k = (int)taml_rng_below(&g, (uint64_t)n);
        CHECK_EQ_INT(tell_from_fake(path, &held[k]), 0);
        taml_asked_deinit(&held[k]);
        held[k] = held[--n];
    }
    CHECK_MSG(0, "the loop did not end");
}

/* The space of the pruning cases: trials of four lengths. */
static const char *samples_space_text =
    "{\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],\"activation\":[\"relu\",\"swish\"],"
    "\"dropout\":[0,0.1,0.3],\"samples\":[1000,3000,10000,30000]}";

/* A search and an ask/tell loop over the same settings (pruner: with ASHA
 * over the space above, 20 trials a task) make the same study. */
static void same_as_search_explored(taml_search_method m, int32_t lag, int out,
                                    taml_pruner pruner, double explore)
{
    char *a = tmp("search.db"), *b = tmp("asktell.db");
    taml_space *space = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_space_from_json(&space, pruner ? samples_space_text : space_text, "test",
                                      &err),
                 0);
    taml_search_opts o;
    opts_for(&o, m, 1, lag);
    o.prune.pruner = pruner;
    o.prune.warmup = 3;
    o.explore_uniform = explore;
    o.explore_set = explore > 0;
    if (pruner) o.trials = 20;
    CHECK_EQ_INT(taml_search_run(a, space, 3, names, dirs, &o, &err), 0);
    int32_t trials = o.trials;
    opts_for(&o, m, 1, lag);
    o.prune.pruner = pruner;
    o.prune.warmup = 3;
    o.explore_uniform = explore;
    o.explore_set = explore > 0;
    o.trials = trials;
    o.child = NULL;
    taml_ask_setup setup = {.space = space, .n_tasks = 3, .task_names = names, .task_dirs = dirs,
                            .opts = &o};
    ask_tell_loop(b, &setup, out, 99 + (uint64_t)lag);
    int64_t n = 0;
    CHECK(same_studies(a, b, &n));
    CHECK_EQ_INT(n, 3 * trials);
    if (pruner) {
        taml_store *st;
        CHECK_EQ_INT(taml_store_open(&st, b, TAML_STORE_READONLY, &err), 0);
        int64_t pruned = taml_store_count(st, TAML_TRIAL_PRUNED, -1, &err);
        taml_store_close(st);
        fprintf(stderr, "    (%lld of %lld trials pruned)\n", (long long)pruned, (long long)n);
        CHECK(pruned >= 5);
    }
    taml_space_free(space);
    free(a);
    free(b);
}

static void same_as_search_pruned(taml_search_method m, int32_t lag, int out, taml_pruner pruner)
{
    same_as_search_explored(m, lag, out, pruner, 0);
}

static void same_as_search(taml_search_method m, int32_t lag, int out)
{
    same_as_search_pruned(m, lag, out, TAML_PRUNER_NONE);
}

TEST(ask_tell_deterministic_loop_equals_search_with_the_same_seed_and_lag)
{
    same_as_search(TAML_SEARCH_MULTITASK, 3, 3); /* every trial due out at once */
    same_as_search(TAML_SEARCH_AML, 2, 1);       /* one at a time */
    same_as_search(TAML_SEARCH_RANDOM, 4, 4);
}

TEST(ask_tell_with_a_pruner_following_the_rungs_equals_search_with_the_pruner)
{
    same_as_search_pruned(TAML_SEARCH_MULTITASK, 3, 3, TAML_PRUNER_ASHA);
    same_as_search_pruned(TAML_SEARCH_AML, 1, 1, TAML_PRUNER_MEDIAN);
}

TEST(ask_tell_with_uniform_exploration_equals_search_with_it)
{
    same_as_search_explored(TAML_SEARCH_MULTITASK, 2, 2, TAML_PRUNER_NONE, 0.4);
    same_as_search_explored(TAML_SEARCH_AML, 1, 1, TAML_PRUNER_ASHA, 0.4);
}

/* A study of 2 tasks made by the first ask (asynchronous multitask). */
static void make_async(const char *path, taml_asked *first)
{
    taml_space *space = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_space_from_json(&space, space_text, "test", &err), 0);
    taml_search_opts o;
    opts_for(&o, TAML_SEARCH_MULTITASK, 0, 0);
    o.trials = 3;
    taml_ask_setup setup = {.space = space, .n_tasks = 2, .task_names = names, .task_dirs = dirs,
                            .opts = &o};
    CHECK_EQ_INT(taml_search_ask(path, &setup, NULL, 0, first, &err), 0);
    taml_space_free(space);
}

TEST(ask_hands_out_several_trials_and_tell_applies_each_as_it_comes)
{
    char *path = tmp("async.db");
    taml_asked a[7]; /* 6 trials, and the ask that finds none */
    taml_err err;
    make_async(path, &a[0]);
    CHECK_EQ_INT(a[0].id, 1);
    CHECK(a[0].seed == taml_rng_derive(31, 1));
    CHECK_EQ_INT(taml_search_ask(path, NULL, "beta", 0, &a[1], &err), 0);
    CHECK_STR(a[1].task_name, "beta");
    CHECK_EQ_INT(taml_search_ask(path, NULL, NULL, 0, &a[2], &err), 0);
    /* out of order */
    CHECK_EQ_INT(tell_from_fake(path, &a[2]), 0);
    CHECK_EQ_INT(tell_from_fake(path, &a[0]), 0);
    int n = 3;
    while (taml_search_ask(path, NULL, NULL, 0, &a[n], &err) == 0) n++;
    /* 6 trials in all, asked; a[1] and the last three out */
    CHECK_EQ_INT(n, 6);
    CHECK_CONTAINS(err.msg, "no trial to hand out now: 4 trials are out and not told");
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_RUNNING, -1, &err), 4);
    CHECK_EQ_INT(taml_store_count(s, -1, -1, &err), 6);
    CHECK_EQ_INT(taml_store_last_seq(s, &err), 2);
    taml_store_close(s);
    for (int i = 1; i < n; i++)
        if (i != 2) CHECK_EQ_INT(tell_from_fake(path, &a[i]), 0);
    CHECK_EQ_INT(taml_search_ask(path, NULL, NULL, 0, &a[n], &err), TAML_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "the study is complete: its 6 trials are told");
    for (int i = 0; i < n; i++) taml_asked_deinit(&a[i]);
    free(path);
}

TEST(ask_trials_never_told_are_handed_out_again_as_after_a_crash)
{
    char *path = tmp("crash.db");
    taml_asked a, b, c;
    taml_err err;
    make_async(path, &a);
    CHECK_EQ_INT(taml_search_ask(path, NULL, NULL, 0, &b, &err), 0);
    CHECK_EQ_INT(b.id, 2);
    /* requeue: trials 1 and 2 go back to pending, the first is asked again */
    CHECK_EQ_INT(taml_search_ask(path, NULL, NULL, 1, &c, &err), 0);
    CHECK_EQ_INT(c.id, 1);
    CHECK_STR(c.config_json, a.config_json);
    CHECK(c.seed == a.seed);
    taml_asked_deinit(&c);
    /* a search continuing the study runs those never told (and the rest) */
    taml_space *space = NULL;
    CHECK_EQ_INT(taml_space_from_json(&space, space_text, "test", &err), 0);
    taml_search_opts o;
    opts_for(&o, TAML_SEARCH_MULTITASK, 0, 0);
    o.trials = 3;
    o.workers = 1;
    taml_fake_child fake = {0};
    o.child_ctx = &fake;
    CHECK_EQ_INT(taml_search_run(path, space, 2, names, dirs, &o, &err), 0);
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_DONE, -1, &err), 5); /* trial 5 failed */
    CHECK_EQ_INT(taml_store_count(s, -1, -1, &err), 6);
    taml_store_close(s);
    /* the trial told late is refused: the search told it */
    taml_told t = {.state = TAML_TRIAL_DONE, .valid = 0.5, .test = NAN};
    CHECK_EQ_INT(taml_search_tell(path, b.id, &t, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "trial 2 was told already (done, valid 0.");
    taml_space_free(space);
    taml_asked_deinit(&a);
    taml_asked_deinit(&b);
    free(path);
}

TEST(tell_refuses_unknown_pending_told_and_out_of_range_and_loses_nothing)
{
    char *path = tmp("bad.db");
    taml_asked a;
    taml_err err;
    make_async(path, &a);
    char *before = study_trial_lines(path);
    taml_told ok = {.state = TAML_TRIAL_DONE, .valid = 0.75, .test = 0.5};
    CHECK_EQ_INT(taml_search_tell(path, 9, &ok, &err), TAML_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "no trial 9: the study holds trials 1..1");
    CHECK_EQ_INT(taml_search_tell(path, 0, &ok, &err), TAML_ENOTFOUND);
    taml_told bad = ok;
    bad.valid = 1.5;
    CHECK_EQ_INT(taml_search_tell(path, 1, &bad, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "valid 1.5 is not an accuracy in [0, 1]");
    bad.valid = NAN;
    CHECK_EQ_INT(taml_search_tell(path, 1, &bad, &err), TAML_EINVAL);
    bad = ok;
    bad.test = -0.1;
    CHECK_EQ_INT(taml_search_tell(path, 1, &bad, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "test -0.1 is not");
    bad = ok;
    bad.state = TAML_TRIAL_RUNNING;
    CHECK_EQ_INT(taml_search_tell(path, 1, &bad, &err), TAML_EINVAL);
    char *after = study_trial_lines(path);
    CHECK_STR(after, before);
    free(after);
    CHECK_EQ_INT(taml_search_tell(path, 1, &ok, &err), 0);
    CHECK_EQ_INT(taml_search_tell(path, 1, &ok, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "trial 1 was told already (done, valid 0.75)");
    /* a sampled trial never asked */
    taml_asked b;
    CHECK_EQ_INT(taml_search_ask(path, NULL, "alpha", 0, &b, &err), 0);
    taml_trial t;
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    int64_t all = taml_store_count(s, -1, -1, &err);
    int64_t pending = taml_store_count(s, TAML_TRIAL_PENDING, -1, &err);
    CHECK_EQ_INT(taml_store_trial_get(s, 1, &t, &err), 0);
    CHECK_NEAR(t.valid_acc, 0.75, 0);
    CHECK_NEAR(t.test_acc, 0.5, 0);
    taml_trial_deinit(&t);
    taml_store_close(s);
    if (pending > 0) { /* beta's trials sampled on the way to alpha's */
        CHECK_EQ_INT(taml_search_tell(path, all, &ok, &err) == 0 ? all : -1, -1);
        CHECK_CONTAINS(err.msg, "is not out: it is pending (ask for it first)");
    }
    taml_asked_deinit(&a);
    CHECK_EQ_INT(taml_search_ask(path, NULL, "delta", 0, &a, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "no task 'delta' in the study (its tasks: alpha, beta)");
    taml_asked_deinit(&a);
    taml_asked_deinit(&b);
    free(before);
    free(path);
}
