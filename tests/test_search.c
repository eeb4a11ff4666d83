/* tests/test_search.c - the search loop with the fake child: strategies,
 * trial seeds, the deterministic order (parallel equals sequential), resume
 * after a stop equals never stopping, refusing to continue another study,
 * transfer from a multitask study. */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include <math.h>
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
#include "test.h"
#include "study_compare.h"

static const char *space_text =
    "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],"
    "\"activation\":[\"relu\",\"swish\"],\"deep_l2\":[0,0.001,\"disable\"],"
    "\"wide_l1\":[0,0.01,\"disable\"]}";

static const char *names3[] = {"alpha", "beta", "gamma"};
static const char *dirs3[] = {"d/alpha", "d/beta", "d/gamma"};

static taml_space *test_space(void)
{
    taml_space *s = NULL;
    taml_err err;
    if (taml_space_from_json(&s, space_text, "test", &err)) return NULL;
    return s;
}

/* The fake child, failing every trial whose id is a multiple of 7 (a failed
 * trial has no reward: the order must skip it the same way every time). */
static void flaky_child(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    taml_fake_child_run(ctx, worker, job, out);
    if (job->id % 7 == 0) {
        out->status = TAML_TRIAL_FAILED;
        out->valid_acc = out->test_acc = NAN;
        snprintf(out->error, sizeof out->error, "injected failure");
    }
}

struct stopper {
    volatile int stop;
    int64_t after; /* stop once this many results came in this run (0: never) */
    int64_t seen;
};

static void stop_progress(void *user, const taml_search_progress *p)
{
    struct stopper *s = user;
    if (p->last && s->after && ++s->seen >= s->after) s->stop = 1;
}

static int run(const char *path, taml_search_method m, int32_t n_tasks, int32_t trials,
               int32_t workers, int det, int32_t lag, struct stopper *stop, taml_err *err)
{
    taml_space *space = test_space();
    taml_fake_child fake = {.sleep_us = workers > 1 ? 200 : 0};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = m;
    o.trials = trials;
    o.workers = workers;
    o.seed = 77;
    o.deterministic = det;
    o.lag = lag;
    o.checkpoint_every = 4;
    /* a controller step large enough that 36 trials under another lag
     * sample differently (the lag test below relies on it) */
    taml_ctrl_opts co;
    taml_ctrl_opts_default(&co);
    co.lr = 3e-3;
    o.ctrl_opts = &co;
    o.child = flaky_child;
    o.child_ctx = &fake;
    if (stop) {
        o.progress = stop_progress;
        o.user = stop;
        o.stop = &stop->stop;
    }
    int rc = taml_search_run(path, space, n_tasks, names3, dirs3, &o, err);
    taml_space_free(space);
    return rc;
}

static char *tmp(const char *name)
{
    char *p = taml_path_join(taml_test_tmpdir(), name);
    remove(p);
    return p;
}

TEST(search_random_runs_every_trial_with_derived_seeds_round_robin)
{
    char *path = tmp("random.db");
    taml_err err;
    CHECK_EQ_INT(run(path, TAML_SEARCH_RANDOM, 2, 6, 2, 0, 0, NULL, &err), 0);
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_count(s, -1, 0, &err), 6);
    CHECK_EQ_INT(taml_store_count(s, -1, 1, &err), 6);
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_FAILED, -1, &err), 1); /* trial 7 */
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_PENDING, -1, &err) +
                     taml_store_count(s, TAML_TRIAL_RUNNING, -1, &err),
                 0);
    taml_space *space = test_space();
    taml_store_iter *it;
    CHECK_EQ_INT(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err), 0);
    taml_trial t;
    while (taml_store_iter_next(it, &t, &err) == 1) {
        CHECK(t.seed == taml_rng_derive(77, (uint64_t)t.id));
        CHECK_EQ_INT(t.task, (t.id - 1) % 2);
        CHECK_STR(t.method, "random");
        CHECK_EQ_INT(t.update_seq, 0);
        /* the stored config is the stored actions, through the space */
        int32_t acts[16];
        CHECK_EQ_INT(taml_space_actions_from_config(space, t.config_json, acts, &err), 0);
        CHECK(!memcmp(acts, t.actions, (size_t)t.n_actions * sizeof(int32_t)));
        if (t.state == TAML_TRIAL_DONE) CHECK(t.valid_acc > 0.2 && t.valid_acc < 1.0);
    }
    taml_store_iter_free(it);
    void *blob;
    size_t size;
    int64_t after;
    CHECK_EQ_INT(taml_store_checkpoint_last(s, &blob, &size, &after, &err), 0); /* no controller */
    taml_space_free(space);
    taml_store_close(s);
    free(path);
}

TEST(search_deterministic_parallel_run_equals_sequential_bit_for_bit)
{
    char *par = tmp("par.db"), *seq = tmp("seq.db");
    taml_err err;
    CHECK_EQ_INT(run(par, TAML_SEARCH_MULTITASK, 3, 12, 3, 1, 3, NULL, &err), 0);
    CHECK_EQ_INT(run(seq, TAML_SEARCH_MULTITASK, 3, 12, 1, 1, 3, NULL, &err), 0);
    int64_t n = 0;
    CHECK(same_studies(par, seq, &n));
    CHECK_EQ_INT(n, 36);
    /* another lag is another order: the comparison sees it */
    char *lag1 = tmp("lag1.db");
    CHECK_EQ_INT(run(lag1, TAML_SEARCH_MULTITASK, 3, 12, 1, 1, 1, NULL, &err), 0);
    CHECK(!same_studies(par, lag1, NULL));
    free(lag1);
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, seq, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_last_seq(s, &err), 36 - 5); /* trials 7,14,...,35 failed */
    taml_store_close(s);
    free(par);
    free(seq);
}

TEST(search_deterministic_study_continues_with_another_worker_count)
{
    /* made with 3 workers (lag 3 by default), continued with 1 and no --lag:
     * the study keeps lag 3 and ends equal to one run with 3 workers */
    char *a = tmp("w3.db"), *b = tmp("w3then1.db");
    taml_err err;
    CHECK_EQ_INT(run(a, TAML_SEARCH_MULTITASK, 2, 10, 3, 1, 0, NULL, &err), 0);
    struct stopper st = {.after = 5};
    CHECK_EQ_INT(run(b, TAML_SEARCH_MULTITASK, 2, 10, 3, 1, 0, &st, &err), 0);
    CHECK(st.stop);
    CHECK_EQ_INT(run(b, TAML_SEARCH_MULTITASK, 2, 10, 1, 1, 0, NULL, &err), 0);
    CHECK(same_studies(a, b, NULL));
    /* an explicit other lag is refused */
    CHECK_EQ_INT(run(b, TAML_SEARCH_MULTITASK, 2, 10, 1, 1, 2, NULL, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "\"lag\":3");
    free(a);
    free(b);
}

TEST(search_multitask_learns_on_the_fake_landscape)
{
    /* the fake reward has a known structure: after 240 trials the controller
     * should propose better configurations than at the start */
    char *path = tmp("learn.db");
    taml_err err;
    CHECK_EQ_INT(run(path, TAML_SEARCH_MULTITASK, 2, 120, 1, 0, 0, NULL, &err), 0);
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    taml_store_iter *it;
    CHECK_EQ_INT(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err), 0);
    taml_trial t;
    double first = 0, last = 0;
    int nf = 0, nl = 0;
    while (taml_store_iter_next(it, &t, &err) == 1) {
        if (!isfinite(t.valid_acc)) continue;
        if (t.id <= 40) first += t.valid_acc, nf++;
        if (t.id > 200) last += t.valid_acc, nl++;
    }
    taml_store_iter_free(it);
    taml_store_close(s);
    CHECK(nf > 0 && nl > 0);
    CHECK_MSG(last / nl > first / nf + 0.02, "mean valid first 40 %.4f, last 40 %.4f", first / nf,
              last / nl);
    free(path);
}

static void resume_equals_uninterrupted(taml_search_method m, int32_t workers, int det)
{
    char *whole = tmp("whole.db"), *parts = tmp("parts.db");
    taml_err err;
    CHECK_EQ_INT(run(whole, m, 2, 15, workers, det, 2, NULL, &err), 0);
    int runs = 0;
    for (;;) {
        struct stopper st = {.after = 1 + runs % 4};
        CHECK_EQ_INT(run(parts, m, 2, 15, workers, det, 2, &st, &err), 0);
        runs++;
        if (!st.stop) break; /* finished without being stopped */
        CHECK(runs < 60);
    }
    CHECK(runs > 5);
    int64_t n = 0;
    CHECK(same_studies(whole, parts, &n));
    CHECK_EQ_INT(n, 30);
    free(whole);
    free(parts);
}

TEST(search_resume_after_stops_equals_uninterrupted_multitask_deterministic)
{
    resume_equals_uninterrupted(TAML_SEARCH_MULTITASK, 2, 1);
}

TEST(search_resume_after_stops_equals_uninterrupted_aml_async_one_worker)
{
    resume_equals_uninterrupted(TAML_SEARCH_AML, 1, 0);
}

TEST(search_refuses_to_continue_with_another_method_tasks_space_or_order)
{
    char *path = tmp("refuse.db");
    taml_err err;
    CHECK_EQ_INT(run(path, TAML_SEARCH_AML, 2, 2, 1, 0, 0, NULL, &err), 0);
    CHECK_EQ_INT(run(path, TAML_SEARCH_MULTITASK, 2, 2, 1, 0, 0, NULL, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "made with method aml, not multitask");
    CHECK_EQ_INT(run(path, TAML_SEARCH_AML, 3, 2, 1, 0, 0, NULL, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "tasks are [alpha, beta]");
    CHECK_CONTAINS(err.msg, "not [alpha, beta, gamma]");
    CHECK_EQ_INT(run(path, TAML_SEARCH_AML, 2, 2, 1, 1, 2, NULL, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "--deterministic");

    taml_space *other = NULL;
    CHECK_EQ_INT(taml_space_from_json(&other, "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2]}",
                                      "other", &err),
                 0);
    taml_fake_child fake = {0};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = TAML_SEARCH_AML;
    o.trials = 2;
    o.child = taml_fake_child_run;
    o.child_ctx = &fake;
    CHECK_EQ_INT(taml_search_run(path, other, 2, names3, dirs3, &o, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "another search space");
    CHECK_CONTAINS(err.msg, "layers");
    o.seed = 5;
    o.seed_set = 1;
    taml_space *same = test_space();
    CHECK_EQ_INT(taml_search_run(path, same, 2, names3, dirs3, &o, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "seed is 77, not 5");
    /* more trials on the same study: it continues */
    o.seed_set = 0;
    o.trials = 4;
    CHECK_EQ_INT(taml_search_run(path, same, 2, names3, dirs3, &o, &err), 0);
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_count(s, -1, -1, &err), 8);
    taml_store_close(s);
    taml_space_free(other);
    taml_space_free(same);
    free(path);
}

TEST(search_refuses_a_study_another_search_is_running)
{
    char *path = tmp("locked.db");
    taml_err err;
    CHECK_EQ_INT(run(path, TAML_SEARCH_RANDOM, 1, 2, 1, 0, 0, NULL, &err), 0);
    int fd = open(path, O_RDWR); /* stands for the other search's lock */
    CHECK(fd >= 0);
    CHECK_EQ_INT(flock(fd, LOCK_EX | LOCK_NB), 0);
    CHECK_EQ_INT(run(path, TAML_SEARCH_RANDOM, 1, 4, 1, 0, 0, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "another taml search is running on this study");
    close(fd);
    CHECK_EQ_INT(run(path, TAML_SEARCH_RANDOM, 1, 4, 1, 0, 0, NULL, &err), 0);
    free(path);
}

TEST(search_refuses_bad_arguments_clearly)
{
    taml_space *space = test_space();
    taml_fake_child fake = {0};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.child = taml_fake_child_run;
    o.child_ctx = &fake;
    taml_err err;
    char *path = tmp("bad.db");
    const char *twice[] = {"alpha", "alpha"};
    CHECK_EQ_INT(taml_search_run(path, space, 2, twice, dirs3, &o, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "task 'alpha' is given twice");
    o.trials = 0;
    CHECK_EQ_INT(taml_search_run(path, space, 1, names3, dirs3, &o, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--trials: 0");
    o.trials = 1;
    o.method = TAML_SEARCH_TRANSFER;
    CHECK_EQ_INT(taml_search_run(path, space, 1, names3, dirs3, &o, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--from");
    /* the failed creation left no study behind: a random search may use the file */
    o.method = TAML_SEARCH_RANDOM;
    CHECK_EQ_INT(taml_search_run(path, space, 1, names3, dirs3, &o, &err), 0);
    CHECK_EQ_INT(taml_search_method_parse("multitask"), TAML_SEARCH_MULTITASK);
    CHECK_EQ_INT(taml_search_method_parse("bayes"), -1);
    taml_space_free(space);
    free(path);
}

TEST(search_transfer_starts_from_a_multitask_study_with_new_task_embeddings)
{
    char *multi = tmp("multi.db"), *xfer = tmp("xfer.db"), *aml = tmp("aml.db");
    taml_err err;
    CHECK_EQ_INT(run(multi, TAML_SEARCH_MULTITASK, 2, 10, 1, 0, 0, NULL, &err), 0);
    void *blob;
    size_t size;
    CHECK_EQ_INT(taml_search_load_source(multi, &blob, &size, &err), 0);

    taml_space *space = test_space();
    taml_fake_child fake = {0};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = TAML_SEARCH_TRANSFER;
    o.trials = 8;
    o.seed = 3;
    o.from_blob = blob;
    o.from_size = size;
    o.child = taml_fake_child_run;
    o.child_ctx = &fake;
    const char *held_out[] = {"gamma"}, *held_dir[] = {"d/gamma"};
    CHECK_EQ_INT(taml_search_run(xfer, space, 1, held_out, held_dir, &o, &err), 0);
    free(blob);

    /* the transfer study's controller knows the source tasks and the new one */
    CHECK_EQ_INT(taml_search_load_source(xfer, &blob, &size, &err), 0);
    taml_ctrl *c;
    CHECK_EQ_INT(taml_ctrl_load(&c, space, blob, size, &err), 0);
    CHECK_EQ_INT(taml_ctrl_tasks(c), 3);
    CHECK_EQ_INT(taml_ctrl_find_task(c, "alpha"), 0);
    CHECK_EQ_INT(taml_ctrl_find_task(c, "gamma"), 2);
    /* the same controller as a checkpoint file is a transfer source too */
    char *ck = tmp("ctrl.ckpt");
    CHECK_EQ_INT(taml_ctrl_save_file(c, ck, &err), 0);
    taml_ctrl_free(c);
    void *blob2;
    size_t size2;
    CHECK_EQ_INT(taml_search_load_source(ck, &blob2, &size2, &err), 0);
    CHECK(size2 == size && !memcmp(blob, blob2, size));
    free(blob2);
    free(blob);
    free(ck);

    /* a damaged source is refused before the study is made */
    char *junk = tmp("junk.ckpt"), *xfer2 = tmp("xfer2.db");
    CHECK_EQ_INT(taml_write_file_atomic(junk, "TAMLCTRL but not really", 23, &err), 0);
    CHECK_EQ_INT(taml_search_load_source(junk, &blob, &size, &err), 0);
    o.from_blob = blob;
    o.from_size = size;
    CHECK(taml_search_run(xfer2, space, 1, held_out, held_dir, &o, &err) < 0);
    CHECK_CONTAINS(err.msg, "transfer source");
    free(blob);
    free(junk);
    free(xfer2);

    /* an aml study has no multitask controller to give */
    CHECK_EQ_INT(run(aml, TAML_SEARCH_AML, 1, 2, 1, 0, 0, NULL, &err), 0);
    CHECK_EQ_INT(taml_search_load_source(aml, &blob, &size, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "a aml study has no multitask controller");
    taml_space_free(space);
    free(multi);
    free(xfer);
    free(aml);
}

TEST(search_first_checkpoint_plus_every_update_rebuilds_the_final_controller)
{
    /* what a report does to plot the policy over trials */
    char *path = tmp("rebuild.db");
    taml_err err;
    CHECK_EQ_INT(run(path, TAML_SEARCH_MULTITASK, 2, 15, 2, 0, 0, NULL, &err), 0);
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    void *first, *last;
    size_t nf, nl;
    int64_t af, al;
    CHECK_EQ_INT(taml_store_checkpoint_first(s, &first, &nf, &af, &err), 1);
    CHECK_EQ_INT(taml_store_checkpoint_last(s, &last, &nl, &al, &err), 1);
    CHECK_EQ_INT(af, 0);
    CHECK_EQ_INT(al, 30 - 4); /* trials 7, 14, 21, 28 failed */
    taml_space *space = test_space();
    taml_ctrl *c;
    CHECK_EQ_INT(taml_ctrl_load(&c, space, first, nf, &err), 0);
    taml_store_iter *it;
    CHECK_EQ_INT(taml_store_iter_new(s, TAML_ITER_BY_SEQ, 0, &it, &err), 0);
    taml_trial t;
    int64_t n = 0;
    while (taml_store_iter_next(it, &t, &err) == 1) {
        CHECK_EQ_INT(t.update_seq, ++n);
        CHECK_EQ_INT(taml_ctrl_update(c, taml_ctrl_find_task(c, names3[t.task]), t.actions,
                                      t.valid_acc, NULL, &err),
                     0);
    }
    taml_store_iter_free(it);
    CHECK_EQ_INT(n, al);
    void *re;
    size_t nr;
    taml_ctrl_save(c, &re, &nr);
    CHECK(nr == nl && !memcmp(re, last, nl));
    CHECK(nf != nl || memcmp(first, last, nf) != 0); /* the controller did learn */
    free(re);
    free(first);
    free(last);
    taml_ctrl_free(c);
    taml_space_free(space);
    taml_store_iter_free(NULL);
    taml_store_close(s);
    free(path);
}

/* ---- kills at exact points, without timing ---------------------------- */

/* Where the forked search below dies (_exit: no cleanup, like SIGKILL):
 * right after its k-th result was committed, right after its start-up
 * commit (before any trial ran), or in a worker as its k-th job starts
 * (the main thread is then anywhere between two commits). */
enum { DIE_AFTER_RESULT, DIE_AFTER_START, DIE_AT_JOB };
static struct {
    int how;
    int64_t k, seen;
} die;

static void die_progress(void *user, const taml_search_progress *p)
{
    (void)user;
    if (die.how == DIE_AFTER_START && !p->last) _exit(9);
    if (die.how == DIE_AFTER_RESULT && p->last && ++die.seen >= die.k) _exit(9);
}

static void die_child(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    if (die.how == DIE_AT_JOB && __atomic_add_fetch(&die.seen, 1, __ATOMIC_SEQ_CST) >= die.k)
        _exit(9);
    taml_fake_child_run(ctx, worker, job, out);
}

/* Runs `taml search`'s settings (multitask, deterministic, 2 workers, the
 * default controller and checkpoint interval) in a child process that dies
 * as `how` and k say (how < 0: never). Returns its exit code (9: died). */
static int run_dying(const char *path, int how, int64_t k)
{
    pid_t pid = fork();
    if (pid == 0) {
        die.how = how;
        die.k = k;
        die.seen = 0;
        taml_fake_child fake = {.sleep_us = 100};
        taml_space *space = test_space();
        taml_search_opts o;
        taml_search_opts_default(&o);
        o.method = TAML_SEARCH_MULTITASK;
        o.trials = 25;
        o.workers = 2;
        o.seed = 11;
        o.deterministic = 1;
        o.child = die_child;
        o.child_ctx = &fake;
        o.progress = die_progress;
        o.checkpoint_every = 4; /* resume from checkpoints taken mid-run too */
        taml_err err;
        int rc = taml_search_run(path, space, 2, names3, dirs3, &o, &err);
        if (rc) fprintf(stderr, "    search: %s\n", err.msg);
        _exit(rc ? 1 : 0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(search_killed_at_exact_points_ends_equal_to_an_uninterrupted_run)
{
    char *whole = tmp("die-whole.db"), *parts = tmp("die-parts.db");
    CHECK_EQ_INT(run_dying(whole, -1, 0), 0);
    /* a few fixed schedules of deaths; TAML_TEST_SEED=N tries others */
    const char *env = getenv("TAML_TEST_SEED");
    uint64_t s0 = env && *env ? strtoull(env, NULL, 10) : 1;
    for (uint64_t seed = s0; seed < s0 + 3; seed++) {
        /* a new study each time: its WAL files go with it (SQLite would
         * replay a stale WAL into the new file) */
        for (int k = 0; k < 3; k++) {
            char *f = taml_asprintf("%s%s", parts, k == 0 ? "" : k == 1 ? "-wal" : "-shm");
            remove(f);
            free(f);
        }
        taml_rng r;
        taml_rng_seed(&r, seed);
        int rc, runs = 0, deaths = 0;
        do {
            int how = (int)taml_rng_below(&r, 3);
            rc = run_dying(parts, how, 1 + (int64_t)taml_rng_below(&r, 3));
            deaths += rc == 9;
            runs++;
            CHECK_MSG(rc == 0 || rc == 9, "run %d ended with %d (schedule %llu)", runs, rc,
                      (unsigned long long)seed);
            CHECK(runs < 300);
        } while (rc != 0);
        CHECK(deaths >= 10);
        int64_t n = 0;
        CHECK_MSG(same_studies(whole, parts, &n), "schedule %llu: %d runs, %d deaths",
                  (unsigned long long)seed, runs, deaths);
        CHECK_EQ_INT(n, 50);
    }
    free(whole);
    free(parts);
}
