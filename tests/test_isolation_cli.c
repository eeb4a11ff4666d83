/* tests/test_isolation_cli.c - `taml search --isolation process` as a user
 * runs it, with the fake child of taml-fake made to misbehave on chosen
 * trials (TAML_FAKE_FAULTS, tests/fake_child.h): a child that segfaults,
 * hangs or allocates without bound fails its trial, not the search; each
 * trial's state, attempts and error are recorded; a death is retried as
 * --trial-retries says; a search killed with SIGKILL while a trial is being
 * retried resumes to the study of a search never interrupted; processes and
 * threads give the same deterministic study. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/util.h"
#include "store/store.h"
#include "study_compare.h"
#include "test.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1 /* a sanitizer reports a fault itself and exits with 1 */
#else
#define SANITIZED 0
#endif

static const char *space_text =
    "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],"
    "\"activation\":[\"relu\",\"swish\"],\"deep_l2\":[0,0.001,\"disable\"],"
    "\"wide_l1\":[0,0.01,\"disable\"]}";

typedef struct setup {
    char *ta, *tb, *space;
} setup;

static setup setup_new(void)
{
    const char *dir = taml_test_tmpdir();
    setup s = {taml_path_join(dir, "ta"), taml_path_join(dir, "tb"),
               taml_path_join(dir, "space.json")};
    taml_err err;
    CHECK_EQ_INT(taml_mkdirs(s.ta, &err), 0);
    CHECK_EQ_INT(taml_mkdirs(s.tb, &err), 0);
    CHECK_EQ_INT(taml_write_file_atomic(s.space, space_text, strlen(space_text), &err), 0);
    return s;
}

static void setup_free(setup *s)
{
    free(s->ta);
    free(s->tb);
    free(s->space);
}

static char *tmp(const char *name)
{
    char *p = taml_path_join(taml_test_tmpdir(), name);
    remove(p);
    return p;
}

/* Trial id of the study, read into *t (the caller deinits). */
static void get_trial(const char *study, int64_t id, taml_trial *t)
{
    taml_store *s;
    taml_err err;
    CHECK_MSG(taml_store_open(&s, study, TAML_STORE_READONLY, &err) == 0, "%s", err.msg);
    CHECK_MSG(taml_store_trial_get(s, id, t, &err) == 0, "%s", err.msg);
    taml_store_close(s);
}

TEST(isolation_cli_faulty_children_fail_their_trials_and_the_search_completes)
{
    setup su = setup_new();
    char *study = tmp("faults.db");
    const char *faults = SANITIZED ? "segv=3,hang=5,segv-once=9" : "segv=3,hang=5,alloc=7,segv-once=9";
    char *cmd = taml_asprintf(
        "TAML_FAKE_CHILD=1000 TAML_FAKE_FAULTS=%s TAML_FAKE_FAULT_DIR=%s %s search --study %s "
        "--task %s --task %s --method multitask --trials 8 --workers 2 --seed 3 --space %s "
        "--deterministic --trial-timeout 0.5 %s 2>&1; echo \"rc=$?\"",
        faults, taml_test_tmpdir(), taml_test_fake_bin(), study, su.ta, su.tb, su.space,
        SANITIZED ? "" : "--trial-memory 400");
    char *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_MSG(strstr(out, "rc=0"), "%s", out);
    CHECK_CONTAINS(out, "trial 3 ta: its worker process ");
    CHECK_CONTAINS(out, "it runs again (attempt 2 of 3)");
    taml_trial t;
    /* a segfault every time: three runs, then failed */
    get_trial(study, 3, &t);
    CHECK_EQ_INT(t.state, TAML_TRIAL_FAILED);
    CHECK_EQ_INT(t.attempts, 3);
    CHECK(isnan(t.valid_acc));
    CHECK_CONTAINS(t.error, "attempt 3 of 3, the last allowed (--trial-retries 2): its worker process ");
    if (!SANITIZED) CHECK_CONTAINS(t.error, "died of signal 11 (Segmentation fault)");
    taml_trial_deinit(&t);
    /* a hang: killed at the time limit, failed at once */
    get_trial(study, 5, &t);
    CHECK_EQ_INT(t.state, TAML_TRIAL_FAILED);
    CHECK_EQ_INT(t.attempts, 1);
    CHECK_STR(t.error, "timed out: still running after 0.5 s, its worker process was killed");
    CHECK(t.train_seconds >= 0.5 && t.train_seconds < 30);
    taml_trial_deinit(&t);
    if (!SANITIZED) {
        /* allocation without bound: the limit stops it, taml_malloc aborts */
        get_trial(study, 7, &t);
        CHECK_EQ_INT(t.state, TAML_TRIAL_FAILED);
        CHECK_EQ_INT(t.attempts, 3);
        CHECK_CONTAINS(t.error, "died of signal 6 (Aborted) (it last said: taml: out of memory "
                                "allocating 67108864 bytes)");
        taml_trial_deinit(&t);
    }
    /* a crash on the first run only: the retry finishes it, the note stays */
    get_trial(study, 9, &t);
    CHECK_EQ_INT(t.state, TAML_TRIAL_DONE);
    CHECK_EQ_INT(t.attempts, 2);
    CHECK(t.valid_acc > 0.3);
    CHECK_CONTAINS(t.error, "attempt 1 of 3: its worker process ");
    taml_trial_deinit(&t);
    /* every other trial ran once, as without faults */
    for (int64_t id = 1; id <= 16; id++) {
        if (id == 3 || id == 5 || id == 7 || id == 9) continue;
        get_trial(study, id, &t);
        CHECK_MSG(t.state == TAML_TRIAL_DONE || t.state == TAML_TRIAL_INVALID, "trial %lld is %s",
                  (long long)id, taml_trial_state_name(t.state));
        CHECK_EQ_INT(t.attempts, 1);
        taml_trial_deinit(&t);
    }
    free(cmd);
    free(out);
    /* with no retries the segfault fails at its first run */
    char *none = tmp("faults-none.db");
    cmd = taml_asprintf("TAML_FAKE_CHILD=0 TAML_FAKE_FAULTS=segv=2 %s search --study %s --task %s "
                        "--method random --trials 4 --workers 1 --space %s --trial-retries 0 "
                        "2>&1; echo \"rc=$?\"",
                        taml_test_fake_bin(), none, su.ta, su.space);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "rc=0");
    get_trial(none, 2, &t);
    CHECK_EQ_INT(t.state, TAML_TRIAL_FAILED);
    CHECK_EQ_INT(t.attempts, 1);
    CHECK_CONTAINS(t.error, "attempt 1 of 1, the last allowed (--trial-retries 0)");
    taml_trial_deinit(&t);
    free(cmd);
    free(out);
    free(none);
    free(study);
    setup_free(&su);
}

/* The runs that ended, over all trials of the study (-1 when it cannot be
 * read yet); *retrying: 1 when some trial is between two runs of a retry
 * (its worker died, attempts >= 1, and it is pending or running again). */
static int64_t runs_ended(const char *study, int *retrying)
{
    *retrying = 0;
    taml_store *s;
    taml_err err;
    if (taml_store_open(&s, study, TAML_STORE_READONLY, &err)) return -1;
    taml_store_iter *it;
    int64_t sum = -1;
    if (taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err) == 0) {
        taml_trial t;
        sum = 0;
        while (taml_store_iter_next(it, &t, &err) == 1) {
            sum += t.attempts;
            if (t.attempts >= 1 && (t.state == TAML_TRIAL_PENDING || t.state == TAML_TRIAL_RUNNING))
                *retrying = 1;
        }
        taml_store_iter_free(it);
    }
    taml_store_close(s);
    return sum;
}

static void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

/* Runs the faulty search on study; with r, kills it with SIGKILL a random
 * 0..20 ms after it recorded the end of a run (so each run makes progress):
 * one whose trial now runs again (*during: 1 then), or, by a coin, one
 * that is not (kills anywhere else). Returns the exit status, -9 for our
 * kill, -1000 - the signal for another death. */
static int run_faulty(const char *bin, const char *study, const setup *su, taml_rng *r,
                      int *during)
{
    int retry;
    int64_t before = r ? runs_ended(study, &retry) : 0;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        setenv("TAML_FAKE_CHILD", "15000", 1);
        setenv("TAML_FAKE_FAULTS", "segv=4,segv=9,segv=15", 1);
        execl(bin, bin, "search", "--study", study, "--task", su->ta, "--task", su->tb,
              "--method", "multitask", "--trials", "10", "--workers", "2", "--seed", "21",
              "--space", su->space, "--deterministic", "--isolation", "process", (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0);
    int status;
    *during = 0;
    if (r) {
        int exited = 0;
        for (;;) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                exited = 1;
                break;
            }
            int64_t now = runs_ended(study, &retry);
            if (now > before) {
                if (retry) {
                    *during = 1;
                    break;
                }
                if (taml_rng_below(r, 3) == 0) break;
                before = now;
            }
            nap_us(500);
        }
        if (exited) return WIFEXITED(status) ? WEXITSTATUS(status) : -1000 - WTERMSIG(status);
        nap_us((long)taml_rng_below(r, 20000));
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &status, 0) < 0) {
    }
    if (WIFSIGNALED(status)) return r && WTERMSIG(status) == SIGKILL ? -9 : -1000 - WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(isolation_cli_search_killed_during_retries_resumes_equal_to_an_uninterrupted_one)
{
    setup su = setup_new();
    /* one build for every run (see test_search_cli.c's snapshot_bin) */
    char *bin = taml_path_join(taml_test_tmpdir(), "taml-under-test");
    char *data = NULL;
    size_t n = 0;
    taml_err err;
    CHECK_EQ_INT(taml_read_file(taml_test_fake_bin(), &data, &n, &err), 0);
    CHECK_EQ_INT(taml_write_file_atomic(bin, data, n, &err), 0);
    CHECK_EQ_INT(chmod(bin, 0755), 0);
    free(data);
    char *whole = tmp("retry-whole.db"), *killed = tmp("retry-killed.db");
    int during = 0;
    CHECK_EQ_INT(run_faulty(bin, whole, &su, NULL, &during), 0);

    const char *env = getenv("TAML_TEST_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    taml_rng r;
    taml_rng_seed(&r, seed);
    int kills = 0, in_retry = 0, runs = 0, rc;
    do {
        rc = run_faulty(bin, killed, &su, &r, &during);
        kills += rc == -9;
        in_retry += rc == -9 && during;
        runs++;
        CHECK_MSG(rc == 0 || rc == -9, "run %d ended with %d (TAML_TEST_SEED=%llu)", runs, rc,
                  (unsigned long long)seed);
        CHECK(runs < 200);
    } while (rc != 0);
    fprintf(stderr, "    (%d runs, %d killed, %d of them during a retry, TAML_TEST_SEED=%llu)\n",
            runs, kills, in_retry, (unsigned long long)seed);
    CHECK_MSG(in_retry >= 2, "only %d kills during a retry (TAML_TEST_SEED=%llu)", in_retry,
              (unsigned long long)seed);
    int64_t trials = 0;
    CHECK_MSG(same_studies(whole, killed, &trials), "the killed study differs (TAML_TEST_SEED=%llu)",
              (unsigned long long)seed);
    CHECK_EQ_INT(trials, 20);
    char *a = study_trial_lines(whole), *b = study_trial_lines(killed);
    CHECK_STR(a, b); /* attempts and errors too */
    CHECK_CONTAINS(a, "\n4 failed 3 nan attempt 3 of 3, the last allowed");
    CHECK_CONTAINS(a, "\n15 failed 3 nan attempt 3 of 3");
    free(a);
    free(b);
    free(whole);
    free(killed);
    free(bin);
    setup_free(&su);
}

/* --deterministic: the study depends on (seed, lag) only, whether the
 * children run in processes or threads; with the fake child and with real
 * children on fixture tasks. */
TEST(isolation_cli_processes_and_threads_give_the_same_deterministic_study)
{
    setup su = setup_new();
    char *procs = tmp("iso-proc.db"), *threads = tmp("iso-thread.db");
    const char *fmt = "TAML_FAKE_CHILD=100 %s search --study %s --task %s --task %s --method "
                      "multitask --trials 30 --workers 2 --seed 8 --space %s --deterministic "
                      "--isolation %s >/dev/null 2>&1";
    char *cmd = taml_asprintf(fmt, taml_test_fake_bin(), procs, su.ta, su.tb, su.space, "process");
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    cmd = taml_asprintf(fmt, taml_test_fake_bin(), threads, su.ta, su.tb, su.space, "thread");
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    int64_t n = 0;
    CHECK(same_studies(procs, threads, &n));
    CHECK_EQ_INT(n, 60);

    const char *space =
        "{\"embedding\":[\"random-16\",\"random-8\"],\"fine_tune\":[false,true],\"layers\":[1,2],"
        "\"hidden_size\":[8,16],\"activation\":[\"relu\",\"swish\"],"
        "\"normalization\":[\"none\",\"batch_norm\"],\"dropout\":[0.0,0.1],"
        "\"deep_lr\":[0.1,0.3],\"deep_l2\":[0.0001,\"disable\"],\"wide_lr\":[0.1,0.3],"
        "\"wide_l1\":[0.0001,\"disable\"],\"samples\":[500,1000]}";
    char *space_path = taml_path_join(taml_test_tmpdir(), "real-space.json");
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(space_path, space, strlen(space), &err), 0);
    char *rp = tmp("real-proc.db"), *rt = tmp("real-thread.db");
    const char *real = "%s search --study %s --task tests/fixtures/tasks/child-topics --task "
                       "tests/fixtures/tasks/udhr-mini --method aml --trials 6 --seed 4 --space %s "
                       "--deterministic --workers 2 --isolation %s >/dev/null 2>&1";
    cmd = taml_asprintf(real, taml_test_bin(), rp, space_path, "process");
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    cmd = taml_asprintf(real, taml_test_bin(), rt, space_path, "thread");
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    CHECK(same_studies(rp, rt, &n));
    CHECK_EQ_INT(n, 12);
    char *a = study_trial_lines(rp), *b = study_trial_lines(rt);
    CHECK_STR(a, b);
    free(a);
    free(b);
    free(rp);
    free(rt);
    free(space_path);
    free(procs);
    free(threads);
    setup_free(&su);
}

TEST(isolation_cli_refuses_bad_flags_and_limits_without_processes_with_status_2)
{
#define OK "search --study x.db --task d --method aml --trials 3"
    static const taml_test_usage_case cases[] = {
        {OK " --isolation fork", "taml search: --isolation: 'fork' is not process or thread"},
        {OK " --isolation thread --trial-timeout 5",
         "taml search: --trial-timeout needs --isolation process: a thread cannot be killed"},
        {OK " --trial-memory 100 --isolation thread", "--trial-memory needs --isolation process"},
        {OK " --isolation thread --trial-retries 1", "--trial-retries needs --isolation process"},
        {OK " --trial-retries 101", "--trial-retries: 101 is not a whole number in 0..100"},
        {OK " --trial-retries -1", "--trial-retries: -1 is not a whole number in 0..100"},
        {OK " --trial-timeout 0", "--trial-timeout: 0 is not a number in (0, 1e+06]"},
        {OK " --trial-timeout nan", "--trial-timeout: nan is not a number in (0, 1e+06]"},
        {OK " --trial-timeout 2000000", "--trial-timeout: 2000000 is not a number in (0, 1e+06]"},
        {OK " --trial-memory 0", "--trial-memory: 0 is not a whole number in 1..4194304"},
        {OK " --trial-memory 1.5", "--trial-memory: 1.5 is not a whole number in 1..4194304"},
    };
#undef OK
    taml_test_cli_usage_errors(cases, sizeof cases / sizeof cases[0]);
}

/* A memory limit below what a worker holds when it starts would fail every
 * trial: the search stops before any, saying why (status 1). */
TEST(isolation_cli_memory_limit_below_a_workers_start_stops_the_search_with_the_reason)
{
    setup su = setup_new();
    char *study = tmp("tiny-mem.db");
    char *cmd = taml_asprintf("TAML_FAKE_CHILD=0 %s search --study %s --task %s --method random "
                              "--trials 3 --workers 2 --space %s --trial-memory 1 2>&1; "
                              "echo \"rc=$?\"",
                              taml_test_fake_bin(), study, su.ta, su.space);
    char *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "could not start: a memory limit of 1 MiB leaves a worker nothing to work "
                        "with: it holds ");
    CHECK_CONTAINS(out, "rc=1");
    free(cmd);
    free(out);
    free(study);
    setup_free(&su);
}
