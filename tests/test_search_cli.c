/* tests/test_search_cli.c - `taml search` as a user runs it: killed with
 * SIGKILL at random points many times, the resumed study ends equal to one
 * never interrupted (the fake child keeps each run to milliseconds). */
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
#include "ctrl/bundle.h"
#include "ctrl/controller.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"
#include "study_compare.h"
#include "test.h"
#include "testutil.h"

static const char *space_text =
    "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],"
    "\"activation\":[\"relu\",\"swish\"],\"deep_l2\":[0,0.001,\"disable\"],"
    "\"wide_l1\":[0,0.01,\"disable\"]}";

static char *tmp(const char *name)
{
    char *p = taml_path_join(taml_test_tmpdir(), name);
    remove(p);
    return p;
}

/* Finished trials in the study at path, or -1 when it cannot be read yet
 * (the search is still creating it). */
static int64_t finished_trials(const char *path)
{
    taml_store *s;
    taml_err err;
    if (taml_store_open(&s, path, TAML_STORE_READONLY, &err)) return -1;
    int64_t all = taml_store_count(s, -1, -1, &err);
    int64_t pend = taml_store_count(s, TAML_TRIAL_PENDING, -1, &err);
    int64_t run = taml_store_count(s, TAML_TRIAL_RUNNING, -1, &err);
    taml_store_close(s);
    return all < 0 || pend < 0 || run < 0 ? -1 : all - pend - run;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

/* Runs `taml search` (taml-fake) on the study with the fake child (1.5 ms a
 * trial). With r, kills it with SIGKILL at a random point: once 0 to 2 more
 * trials have finished, plus 0 to 1.5 ms (so kills land anywhere: start-up,
 * replay, between and inside commits), which bounds each run's progress and
 * makes many kills certain. Returns the exit status, -9 when killed by us,
 * or -1000 - the signal when it died of another one. */
/* The binary the spawned searches with the fake child run: taml-fake
 * (TAML_FAKE_BIN, tests/fake_main.c), or a private copy of it (see
 * snapshot_bin). */
static char *bin_copy;

static const char *taml_bin(void)
{
    return bin_copy ? bin_copy : taml_test_fake_bin();
}

/* Runs the spawned searches from a copy of the binary in the test's
 * directory: a study made over many runs must be made by one build, and a
 * `make` relinking build/taml meanwhile (another shell, a rebase) would
 * otherwise hand the later runs other code. */
static void snapshot_bin(void)
{
    taml_err err;
    char *data = NULL;
    size_t n = 0;
    char *copy = taml_path_join(taml_test_tmpdir(), "taml-under-test");
    CHECK_EQ_INT(taml_read_file(taml_bin(), &data, &n, &err), 0);
    CHECK_EQ_INT(taml_write_file_atomic(copy, data, n, &err), 0);
    CHECK_EQ_INT(chmod(copy, 0755), 0);
    free(data);
    free(bin_copy);
    bin_copy = copy;
}

/* 1: the spawned searches prune (--pruner asha --prune-warmup 2) over 30
 * trials a task; 0: no pruner, 40 trials a task. */
static int spawn_prune;

static int spawn_search_sig(const char *study, const char *space, const char *ta,
                            const char *tb, taml_rng *r, int sig)
{
    const char *bin = taml_bin();
    int64_t before = r ? finished_trials(study) : 0;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        setenv("TAML_FAKE_CHILD", "1500", 1);
        if (spawn_prune)
            execl(bin, bin, "search", "--study", study, "--task", ta, "--task", tb, "--method",
                  "multitask", "--trials", "30", "--workers", "2", "--seed", "11", "--space",
                  space, "--deterministic", "--pruner", "asha", "--prune-warmup", "2",
                  (char *)NULL);
        else
            execl(bin, bin, "search", "--study", study, "--task", ta, "--task", tb, "--method",
                  "multitask", "--trials", "40", "--workers", "2", "--seed", "11", "--space",
                  space, "--deterministic", (char *)NULL);
        _exit(127);
    }
    if (pid < 0) return -1;
    int status, exited = 0;
    if (r) {
        int64_t target = (before < 0 ? 0 : before) + (int64_t)taml_rng_below(r, 3);
        for (;;) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                exited = 1;
                break;
            }
            if (finished_trials(study) >= target) break;
            sleep_us(300);
        }
        if (!exited) {
            sleep_us((long)taml_rng_below(r, 1500));
            kill(pid, sig);
        }
    }
    if (!exited)
        while (waitpid(pid, &status, 0) < 0) {
        }
    /* only our own kill counts as one: a crash (abort, segfault) must not
     * pass for it */
    if (WIFSIGNALED(status)) return WTERMSIG(status) == sig && r ? -9 : -1000 - WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int spawn_search(const char *study, const char *space, const char *ta, const char *tb,
                        taml_rng *r)
{
    return spawn_search_sig(study, space, ta, tb, r, SIGKILL);
}

/* The kill test: a study run whole, and the same study run over and over
 * while killed at random points (spawn_search), until a run finishes; the
 * two must be equal (n_trials of them), after at least min_kills kills.
 * With prune, the searches prune (spawn_prune). */
static void killed_equals_whole(const char *name, const char *space_json, int prune,
                                int min_kills, int64_t n_trials)
{
    const char *dir = taml_test_tmpdir();
    char *ta = taml_path_join(dir, "task-a"), *tb = taml_path_join(dir, "task-b");
    char *file = taml_asprintf("%s-space.json", name);
    char *space = taml_path_join(dir, file);
    char *wname = taml_asprintf("%s-whole.db", name), *kname = taml_asprintf("%s-parts.db", name);
    taml_err err;
    CHECK_EQ_INT(taml_mkdirs(ta, &err), 0);
    CHECK_EQ_INT(taml_mkdirs(tb, &err), 0);
    CHECK_EQ_INT(taml_write_file_atomic(space, space_json, strlen(space_json), &err), 0);
    char *whole = tmp(wname), *killed = tmp(kname);
    snapshot_bin();
    spawn_prune = prune;
    CHECK_EQ_INT(spawn_search(whole, space, ta, tb, NULL), 0);

    /* The kill points come from this seed: printed on failure, and
     * TAML_TEST_SEED=N replays the same kill schedule (as near as the
     * machine's timing allows). */
    const char *env = getenv("TAML_TEST_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    taml_rng r;
    taml_rng_seed(&r, seed);
    int kills = 0, runs = 0, rc;
    do {
        rc = spawn_search(killed, space, ta, tb, &r);
        kills += rc == -9;
        runs++;
        CHECK_MSG(rc == 0 || rc == -9, "run %d ended with %d (TAML_TEST_SEED=%llu)", runs, rc,
                  (unsigned long long)seed);
        CHECK(runs < 400);
    } while (rc != 0);
    CHECK_MSG(kills >= min_kills, "only %d kills before the search finished (TAML_TEST_SEED=%llu)",
              kills, (unsigned long long)seed);
    fprintf(stderr, "    (%d runs, %d killed, TAML_TEST_SEED=%llu)\n", runs, kills,
            (unsigned long long)seed);
    int64_t n = 0;
    CHECK_MSG(same_studies(whole, killed, &n), "the killed study differs (TAML_TEST_SEED=%llu)",
              (unsigned long long)seed);
    CHECK_EQ_INT(n, n_trials);
    /* a finished study run again changes nothing */
    CHECK_EQ_INT(spawn_search(killed, space, ta, tb, NULL), 0);
    CHECK(same_studies(whole, killed, &n));
    if (prune) {
        taml_store *s;
        CHECK_EQ_INT(taml_store_open(&s, killed, TAML_STORE_READONLY, &err), 0);
        int64_t pruned = taml_store_count(s, TAML_TRIAL_PRUNED, -1, &err);
        taml_store_close(s);
        CHECK_MSG(pruned >= 5, "%lld pruned", (long long)pruned);
    }
    spawn_prune = 0;
    free(bin_copy);
    bin_copy = NULL;
    free(ta);
    free(tb);
    free(file);
    free(space);
    free(wname);
    free(kname);
    free(whole);
    free(killed);
}

TEST(search_cli_killed_at_random_points_ends_equal_to_an_uninterrupted_run)
{
    killed_equals_whole("kill", space_text, 0, 10, 80);
}

/* The same with a pruner: the thresholds of a trial given out again after
 * a kill come from the same earlier trials, and a pruned trial's reward
 * from the same ones, so the killed study equals the uninterrupted one. */
TEST(search_cli_killed_with_a_pruner_ends_equal_to_an_uninterrupted_run)
{
    static const char *pruned_space =
        "{\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],\"activation\":[\"relu\",\"swish\"],"
        "\"samples\":[1000,3000,10000,30000]}";
    killed_equals_whole("prune", pruned_space, 1, 5, 60);
}

TEST(search_cli_ctrl_c_stops_cleanly_and_the_same_command_continues)
{
    const char *dir = taml_test_tmpdir();
    char *ta = taml_path_join(dir, "int-a"), *tb = taml_path_join(dir, "int-b");
    char *space = taml_path_join(dir, "int-space.json");
    taml_err err;
    CHECK_EQ_INT(taml_mkdirs(ta, &err), 0);
    CHECK_EQ_INT(taml_mkdirs(tb, &err), 0);
    CHECK_EQ_INT(taml_write_file_atomic(space, space_text, strlen(space_text), &err), 0);
    char *whole = tmp("int-whole.db"), *parts = tmp("int-parts.db");
    CHECK_EQ_INT(spawn_search(whole, space, ta, tb, NULL), 0);
    taml_rng r;
    taml_rng_seed(&r, 5);
    /* SIGINT: the search stores what finished and exits with 130 */
    CHECK_EQ_INT(spawn_search_sig(parts, space, ta, tb, &r, SIGINT), 130);
    int64_t n = finished_trials(parts);
    CHECK(n >= 0 && n < 80);
    /* a clean stop waits for the running trials and records them */
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, parts, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_RUNNING, -1, &err), 0);
    taml_store_close(s);
    CHECK_EQ_INT(spawn_search(parts, space, ta, tb, NULL), 0);
    CHECK(same_studies(whole, parts, &n));
    CHECK_EQ_INT(n, 80);
    free(ta);
    free(tb);
    free(space);
    free(whole);
    free(parts);
}

TEST(search_cli_real_child_trials_replay_alone_with_taml_train)
{
    const char *bin = getenv("TAML_BIN");
    if (!bin) bin = "build/taml";
    const char *space =
        "{\"embedding\":[\"random-16\"],\"fine_tune\":[false,true],\"layers\":[1,2],"
        "\"hidden_size\":[8,16],\"activation\":[\"relu\",\"swish\"],"
        "\"normalization\":[\"none\",\"layer_norm\"],\"dropout\":[0.0,0.1],"
        "\"deep_lr\":[0.1,0.3],\"deep_l2\":[0.0001,\"disable\"],\"wide_lr\":[0.1,0.3],"
        "\"wide_l1\":[0.0001,\"disable\"],\"samples\":[1000,2000]}";
    char *space_path = taml_path_join(taml_test_tmpdir(), "real-space.json");
    char *study = tmp("real.db");
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(space_path, space, strlen(space), &err), 0);
    char *cmd = taml_asprintf("%s search --study %s --task tests/fixtures/tasks/child-topics "
                              "--method random --trials 4 --workers 2 --seed 9 --space %s "
                              "2>/dev/null",
                              bin, study, space_path);
    char *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    free(cmd);
    CHECK_CONTAINS(out, "child-topics");
    CHECK_CONTAINS(out, "4 trials");
    free(out);

    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, study, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_count(s, -1, -1, &err), 4);
    int replayed = 0;
    for (int64_t id = 1; id <= 4; id++) {
        taml_trial t;
        CHECK_EQ_INT(taml_store_trial_get(s, id, &t, &err), 0);
        CHECK(t.seed == taml_rng_derive(9, (uint64_t)id));
        if (t.state != TAML_TRIAL_DONE) {
            taml_trial_deinit(&t);
            continue;
        }
        CHECK(t.valid_acc >= 0 && t.valid_acc <= 1);
        cmd = taml_asprintf("%s train --task tests/fixtures/tasks/child-topics --config '%s' "
                            "--seed %llu --json",
                            bin, t.config_json, (unsigned long long)t.seed);
        CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
        free(cmd);
        char *v = strstr(out, "\"valid_acc\":");
        CHECK(v != NULL);
        CHECK_NEAR(strtod(v + 12, NULL), t.valid_acc, 1e-12);
        free(out);
        taml_trial_deinit(&t);
        replayed++;
    }
    CHECK(replayed >= 1);
    taml_store_close(s);

    /* a space the child cannot use is refused before any trial */
    const char *bad = "{\"embedding\":[\"random-16\"],\"layers\":[1,2]}";
    CHECK_EQ_INT(taml_write_file_atomic(space_path, bad, strlen(bad), &err), 0);
    char *study2 = tmp("real-bad.db");
    cmd = taml_asprintf("%s search --study %s --task tests/fixtures/tasks/child-topics --method "
                        "random --trials 2 --space %s 2>&1; echo rc=$?",
                        bin, study2, space_path);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    free(cmd);
    CHECK_CONTAINS(out, space_path);
    CHECK_CONTAINS(out, "the space has no decision 'fine_tune'");
    CHECK_CONTAINS(out, "rc=1");
    free(out);
    free(study2);
    free(space_path);
    free(study);
}

/* Every usage rule of `taml search`, one case each: the message names the
 * fault by itself, the usage follows, and the exit status is 2 (before any
 * file is touched: the task directory d does not exist). */
TEST(search_cli_refuses_bad_arguments_with_usage_and_status_2)
{
    const char *bin = taml_test_bin();
#define OK "search --study x.db --task d --method aml --trials 3"
    static const taml_test_usage_case cases[] = {
        {"search --task d --method aml --trials 3", "taml search: --study is required"},
        {"search --study x.db --method aml --trials 3", "taml search: --task is required"},
        {"search --study x.db --task d --trials 3", "taml search: --method is required"},
        {"search --study x.db --task d --method aml", "taml search: --trials is required"},
        {"search --study x.db --task d --method bayes --trials 3", "--method: 'bayes' is not random"},
        {"search --study x.db --task d --method aml --trials zero",
         "--trials: zero is not a whole number in 1..1000000"},
        {"search --study x.db --task d --method aml --trials 99999999999",
         "--trials: 99999999999 is not a whole number in 1..1000000"},
        {"search --study x.db --task d --method aml --trials 2000000",
         "--trials: 2000000 is not a whole number in 1..1000000"},
        {"search --study x.db --task d --method aml --trials ''", "--trials: '' is not a whole number"},
        {OK " --workers 100000", "--workers: 100000 is not a whole number in 1..4096"},
        {OK " --workers 0", "--workers: 0 is not a whole number in 1..4096"},
        {OK " --workers 4097", "--workers: 4097 is not a whole number in 1..4096"},
        {OK " --deterministic --lag 1000001", "--lag: 1000001 is not a whole number in 1..1000000"},
        {OK " --deterministic --lag 0", "--lag: 0 is not a whole number in 1..1000000"},
        {OK " --seed -1", "--seed: -1 is not a whole number in 0..18446744073709551615"},
        {OK " --seed 18446744073709551616", "--seed: 18446744073709551616 is not a whole number"},
        {OK " --ctrl-lr 2", "--ctrl-lr: 2 is not a number in (0, 1)"},
        {OK " --ctrl-lr nan", "--ctrl-lr: nan is not a number in (0, 1)"},
        {OK " --entropy-weight -1", "--entropy-weight: -1 is not a number in [0, 10)"},
        {OK " --entropy-weight 1e999", "--entropy-weight: 1e999 is not a number in [0, 10)"},
        {OK " --from y.db", "--from is only for --method transfer"},
        /* taml search takes the shipped controller without --from (test_ctrlfile.c);
         * taml ask, which shares the check, still needs one */
        {"ask x.db --method transfer --task d --trials 3", "--method transfer needs --from"},
        {OK " --lag 2", "--lag is only for --deterministic"},
        {OK " --explore-uniform 1.5", "--explore-uniform: 1.5 is not a number in [0, 1]"},
        {"search --study x.db --task d --method random --trials 3 --explore-uniform 0.1",
         "--explore-uniform, --explore-temperature and --explore-trials are for the controller's methods"},
        {OK " --explore-trials 5", "--explore-trials is the decay of --explore-temperature T"},
        {OK " --explore-temperature 0", "--explore-temperature: 0 is not a number in (0, 100]"},
        {"search --study x.db --task d --method random --trials 3 --ctrl-lr 0.01",
         "are for the controller's methods"},
        {OK " --wat", "taml search: unknown option '--wat'"},
        {OK " -x", "taml search: unknown option '-x'"},
        {OK " stray", "taml search: unexpected argument 'stray'"},
        {OK " -- --trials", "taml search: unexpected argument '--trials'"},
        {OK " --task", "taml search: --task needs a value"},
        {OK " --deterministic=yes", "--deterministic takes no value"},
        {OK " --t 3", "option '--t' is ambiguous (--task, --trials, --trial-retries, --trial-timeout, "
                             "--trial-memory)"},
    };
#undef OK
    taml_test_cli_usage_errors(cases, sizeof cases / sizeof cases[0]);
    /* --help: the usage on stdout, status 0 */
    char *cmd = taml_asprintf("%s search --help 2>/dev/null; echo \"rc=$?\"", bin), *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "usage: taml search");
    CHECK_CONTAINS(out, "--trials N      trials per task, 1..1000000");
    CHECK_CONTAINS(out, "rc=0");
    free(cmd);
    free(out);
}

/* The limits are the ends of the ranges: --trials 1000000 and --workers 4096
 * pass the usage checks (the search then fails on the missing task, 1). */
TEST(search_cli_accepts_the_ends_of_its_ranges)
{
    /* a space of its own, so that no module library is needed */
    char *space = taml_path_join(taml_test_tmpdir(), "ends-space.json");
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(space, space_text, strlen(space_text), &err), 0);
    char *cmd = taml_asprintf("%s search --study x.db --task no-such-dir --method aml --trials "
                              "1000000 --workers 4096 --deterministic --lag 1000000 --seed "
                              "18446744073709551615 --ctrl-lr 0.999 --entropy-weight 0 --space %s "
                              "2>&1; echo \"rc=$?\"",
                              taml_test_bin(), space);
    free(space);
    char *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "no-such-dir");
    CHECK_CONTAINS(out, "rc=1");
    CHECK(strstr(out, "usage:") == NULL);
    free(cmd);
    free(out);
}

/* The fake child is a test double of taml-fake alone: the real taml has none,
 * and TAML_FAKE_CHILD changes nothing it does (a directory that holds no
 * task is refused by the task loader, as without the variable). */
TEST(search_cli_real_taml_has_no_fake_child_whatever_the_environment)
{
    const char *dir = taml_test_tmpdir();
    char *ta = taml_path_join(dir, "nofake-a"), *space = taml_path_join(dir, "nofake.json");
    taml_err err;
    CHECK_EQ_INT(taml_mkdirs(ta, &err), 0);
    CHECK_EQ_INT(taml_write_file_atomic(space, space_text, strlen(space_text), &err), 0);
    char *study = tmp("nofake.db"), *fake_study = tmp("nofake-fake.db");
    const char *fmt = "TAML_FAKE_CHILD=0 %s search --study %s --task %s --method random "
                      "--trials 3 --workers 1 --space %s";
    char *cmd = taml_asprintf(fmt, taml_test_bin(), study, ta, space), *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 1);
    CHECK_CONTAINS(out, "nofake-a");
    free(cmd), free(out);
    cmd = taml_asprintf(fmt, taml_test_fake_bin(), fake_study, ta, space);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_EQ_INT(finished_trials(fake_study), 3);
    free(cmd), free(out);
    free(ta), free(space), free(study), free(fake_study);
}

/* The learning options of the controller from the command line: kept in the
 * study's checkpoints, used by the updates (the sampled configurations differ
 * from a default study of the same seed), and checked when it continues. */
TEST(search_cli_controller_options_are_kept_used_and_checked_on_resume)
{
    const char *dir = taml_test_tmpdir(), *bin = taml_bin();
    char *ta = taml_path_join(dir, "opt-a"), *space = taml_path_join(dir, "opt-space.json");
    taml_err err;
    CHECK_EQ_INT(taml_mkdirs(ta, &err), 0);
    CHECK_EQ_INT(taml_write_file_atomic(space, space_text, strlen(space_text), &err), 0);
    char *fast = tmp("opt-fast.db"), *plain = tmp("opt-plain.db");
    const char *base = "TAML_FAKE_CHILD=200 %s search --study %s --task %s --method aml --trials %d "
                       "--workers 1 --seed 3 --space %s %s 2>&1; echo \"rc=$?\"";
    char *cmd = taml_asprintf(base, bin, fast, ta, 30, space, "--ctrl-lr 0.05 --entropy-weight 0.001");
    char *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "rc=0");
    free(cmd), free(out);
    cmd = taml_asprintf(base, bin, plain, ta, 30, space, "");
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "rc=0");
    free(cmd), free(out);
    /* the checkpoint holds the options */
    taml_store *s;
    void *blob = NULL;
    size_t size = 0;
    int64_t after = 0;
    CHECK_EQ_INT(taml_store_open(&s, fast, TAML_STORE_READONLY, &err), 0);
    CHECK(taml_store_checkpoint_last(s, &blob, &size, &after, &err) == 1);
    taml_store_close(s);
    int32_t n = 0;
    const void **parts = NULL;
    size_t *sizes = NULL;
    CHECK_EQ_INT(taml_ctrl_bundle_split(blob, size, fast, &n, &parts, &sizes, &err), 0);
    CHECK_EQ_INT(n, 1);
    taml_space *sp = NULL;
    CHECK_EQ_INT(taml_space_load(&sp, space, &err), 0);
    taml_ctrl *c = NULL;
    CHECK_EQ_INT(taml_ctrl_load(&c, sp, parts[0], sizes[0], &err), 0);
    CHECK(taml_ctrl_get_opts(c)->lr == 0.05 && taml_ctrl_get_opts(c)->entropy_weight == 0.001);
    taml_ctrl_free(c), taml_space_free(sp), free(parts), free(sizes), free(blob);
    /* same seed, same first trials (the warm-up), then other choices: the options are used */
    CHECK(!same_studies(fast, plain, NULL));
    /* continuing with other options is refused; without them, or with the same, it goes on */
    cmd = taml_asprintf(base, bin, fast, ta, 40, space, "--ctrl-lr 0.01");
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "learns with lr 0.05, entropy weight 0.001");
    CHECK(strstr(out, "rc=0") == NULL);
    free(cmd), free(out);
    cmd = taml_asprintf(base, bin, fast, ta, 40, space, "--ctrl-lr 0.05 --entropy-weight 0.001");
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "rc=0");
    free(cmd), free(out);
    CHECK_EQ_INT(finished_trials(fast), 40);
    /* a transfer keeps its source's options except the ones given */
    char *tb = taml_path_join(dir, "opt-b"), *mt = tmp("opt-mt.db"), *tr = tmp("opt-tr.db");
    CHECK_EQ_INT(taml_mkdirs(tb, &err), 0);
    const char *mtc = "TAML_FAKE_CHILD=200 %s search --study %s --task %s --method multitask "
                      "--trials 12 --workers 1 --seed 3 --space %s --entropy-weight 0.2 2>&1; "
                      "echo \"rc=$?\"";
    cmd = taml_asprintf(mtc, bin, mt, ta, space);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "rc=0");
    free(cmd), free(out);
    const char *trc = "TAML_FAKE_CHILD=200 %s search --study %s --task %s --method transfer --from %s "
                      "--trials 12 --workers 1 --seed 3 --space %s --ctrl-lr 0.02 2>&1; echo \"rc=$?\"";
    cmd = taml_asprintf(trc, bin, tr, tb, mt, space);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "rc=0");
    free(cmd), free(out);
    void *tblob = NULL;
    size_t tsize = 0;
    CHECK_EQ_INT(taml_search_load_source(tr, &tblob, &tsize, &err), 0);
    CHECK_EQ_INT(taml_space_load(&sp, space, &err), 0);
    CHECK_EQ_INT(taml_ctrl_load(&c, sp, tblob, tsize, &err), 0);
    CHECK(taml_ctrl_get_opts(c)->lr == 0.02 && taml_ctrl_get_opts(c)->entropy_weight == 0.2);
    taml_ctrl_free(c), taml_space_free(sp), free(tblob);
    free(ta), free(tb), free(space), free(fast), free(plain), free(mt), free(tr);
}

TEST(search_cli_real_children_deterministic_two_workers_equal_one)
{
    const char *bin = getenv("TAML_BIN");
    if (!bin) bin = "build/taml";
    const char *space =
        "{\"embedding\":[\"random-16\",\"random-8\"],\"fine_tune\":[false,true],\"layers\":[1,2],"
        "\"hidden_size\":[8,16],\"activation\":[\"relu\",\"swish\"],"
        "\"normalization\":[\"none\",\"batch_norm\"],\"dropout\":[0.0,0.1],"
        "\"deep_lr\":[0.1,0.3],\"deep_l2\":[0.0001,\"disable\"],\"wide_lr\":[0.1,0.3],"
        "\"wide_l1\":[0.0001,\"disable\"],\"samples\":[500,1000]}";
    char *space_path = taml_path_join(taml_test_tmpdir(), "det-space.json");
    char *two = tmp("det-two.db"), *one = tmp("det-one.db");
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(space_path, space, strlen(space), &err), 0);
    const char *fmt = "%s search --study %s --task tests/fixtures/tasks/child-topics "
                      "--task tests/fixtures/tasks/udhr-mini --method multitask --trials 8 "
                      "--seed 4 --space %s --deterministic --lag 2 --workers %d >/dev/null 2>&1";
    char *cmd = taml_asprintf(fmt, bin, two, space_path, 2);
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    cmd = taml_asprintf(fmt, bin, one, space_path, 1);
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    int64_t n = 0;
    CHECK(same_studies(two, one, &n));
    CHECK_EQ_INT(n, 16);
    free(space_path);
    free(two);
    free(one);
}
