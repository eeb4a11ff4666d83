/* tests/test_objective_cli.c - `taml search --objective CMD`: the shell
 * objective with a known optimum (examples/objective.sh) is tuned across two
 * tasks and every recorded accuracy is the one the command printed for its
 * config; commands that fail, print garbage, print nothing, hang or print
 * more than 10 MB become failed trials with their reason and the end of
 * their stderr, in worker processes and threads, and the search goes on;
 * the scikit-learn example runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/store.h"
#include "study_compare.h"
#include "test.h"
#include "testutil.h"

static char *run_search(const char *args)
{
    char *cmd = taml_asprintf("%s search %s", taml_test_bin(), args), *out;
    int st = taml_test_run(cmd, &out);
    CHECK_MSG(st == 0, "%s: exit %d:\n%s", cmd, st, out);
    free(cmd);
    return out;
}

TEST(objective_shell_example_is_tuned_across_tasks_with_the_accuracies_it_prints)
{
    char *db = taml_path_join(taml_test_tmpdir(), "sh.db");
    char *args = taml_asprintf("--study %s --task left --task right --method multitask --trials 40 "
                               "--space examples/objective_space.json --objective "
                               "examples/objective.sh --seed 3 --workers 2",
                               db);
    free(run_search(args));
    free(args);
    taml_store *s;
    taml_err err;
    CHECK_EQ_INT(taml_store_open(&s, db, TAML_STORE_READONLY, &err), 0);
    taml_store_iter *it;
    CHECK_EQ_INT(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err), 0);
    taml_trial t;
    double best[2] = {0, 0};
    int n = 0;
    static const int opt[2][2] = {{7, 2}, {3, 8}}; /* left, right */
    while (taml_store_iter_next(it, &t, &err) == 1) {
        CHECK_EQ_INT(t.state, TAML_TRIAL_DONE);
        int x, y;
        CHECK(sscanf(t.config_json, "{\"x\":%d,\"y\":%d}", &x, &y) == 2);
        double dx = x - opt[t.task][0], dy = y - opt[t.task][1];
        double v = 1 - (dx * dx + dy * dy) / 162;
        CHECK_NEAR(t.valid_acc, v, 1e-6);
        CHECK_NEAR(t.test_acc, round(v * 10) / 10, 1e-9);
        if (t.valid_acc > best[t.task]) best[t.task] = t.valid_acc;
        n++;
    }
    taml_store_iter_free(it);
    taml_store_close(s);
    CHECK_EQ_INT(n, 80);
    CHECK_MSG(best[0] >= 0.95 && best[1] >= 0.95, "best %.4f %.4f", best[0], best[1]);
    free(db);
}

/* An objective that misbehaves by trial: 1 fails, 2 prints garbage, 3
 * prints nothing, 4 hangs (with a process of its own), 5 prints 11 MB, 6
 * prints a bad accuracy, the others succeed. */
static const char *unruly =
    "'case $TAML_TRIAL in "
    "1) echo \"loading data\" >&2; echo \"no such file: d.csv\" >&2; exit 3;; "
    "2) echo \"{valid: 0.5}\";; "
    "3) cat > /dev/null;; "
    "4) sleep 31.4159 & sleep 31.4159;; "
    "5) head -c 11000000 /dev/zero | tr \"\\\\0\" x;; "
    "6) echo \"{\\\"valid\\\": 1.5}\";; "
    "*) echo \"{\\\"valid\\\": 0.5, \\\"test\\\": 0.25}\";; esac'";

static void unruly_search(const char *isolation, const char *timeout)
{
    char *db = taml_path_join(taml_test_tmpdir(), "unruly.db");
    remove(db);
    char *args = taml_asprintf("--study %s --task t --method random --trials 8 --space "
                               "examples/objective_space.json --workers 2 --isolation %s %s "
                               "--objective %s",
                               db, isolation, timeout, unruly);
    free(run_search(args));
    free(args);
    char *lines = study_trial_lines(db);
    CHECK_CONTAINS(lines, "1 failed 1 nan objective: it exited with status 3 (stderr: loading data | no such file: d.csv)");
    CHECK_CONTAINS(lines, "2 failed 1 nan objective: its last line \"{valid: 0.5}\" is not a JSON object");
    CHECK_CONTAINS(lines, "3 failed 1 nan objective: it printed no result line on stdout");
    CHECK_CONTAINS(lines, "5 failed 1 nan objective: it printed more than 10 MB on stdout; its processes were killed");
    CHECK_CONTAINS(lines, "6 failed 1 nan objective: its last line \"{\\\"valid\\\": 1.5}\" has no \"valid\" accuracy in [0, 1]");
    CHECK_CONTAINS(lines, "7 done 1 0.5 -");
    CHECK_CONTAINS(lines, "8 done 1 0.5 -");
    if (timeout[0])
        CHECK_CONTAINS(lines, "4 failed 1 nan objective: timed out: still running after 3 s; its processes were killed");
    free(lines);
    /* nothing it started is left running */
    char *out;
    taml_test_run("pgrep -f 'sleep 31[.]4159' || echo none", &out);
    CHECK_STR(out, "none\n");
    free(out);
    free(db);
}

TEST(objective_failures_hangs_and_floods_are_failed_trials_with_their_reason_in_processes)
{
    unruly_search("process", "--trial-timeout 3"); /* room for the 11 MB under load */
}

TEST(objective_failures_are_failed_trials_on_threads_too)
{
    /* the command runs the same from a worker thread (threads take no
     * --trial-timeout, so no hang here) */
    char *db = taml_path_join(taml_test_tmpdir(), "t.db");
    char *args = taml_asprintf("--study %s --task t --method random --trials 3 --space "
                               "examples/objective_space.json --workers 2 --isolation thread "
                               "--objective 'test $TAML_TRIAL = 2 && exit 1; echo "
                               "\"{\\\"valid\\\": 0.$TAML_TRIAL}\"'",
                               db);
    free(run_search(args));
    free(args);
    char *lines = study_trial_lines(db);
    CHECK_CONTAINS(lines, "1 done 1 0.10000000000000001 -");
    CHECK_CONTAINS(lines, "2 failed 1 nan objective: it exited with status 1 (no stderr)");
    CHECK_CONTAINS(lines, "3 done 1 0.29999999999999999 -");
    free(lines);
    free(db);
}

TEST(objective_needs_a_space_and_a_command_and_no_ensemble)
{
    taml_test_cli_says("search --study s.db --task t --method random --trials 1 --objective true", 2,
                       "--objective needs --space FILE.json");
    taml_test_cli_says("search --study s.db --task t --method random --trials 1 --space "
                       "examples/objective_space.json --objective ''",
                       1, "--objective: the command is empty");
    taml_test_cli_says("search --study s.db --task t --method random --trials 1 --space "
                       "examples/objective_space.json --objective true --ensemble 2",
                       2, "--ensemble retrains the built-in child's models; with --objective");
}

TEST(objective_sklearn_example_tunes_a_logistic_regression)
{
    char *db = taml_path_join(taml_test_tmpdir(), "sk.db");
    char *args = taml_asprintf("--study %s --task iris --method random --trials 2 --workers 2 "
                               "--space examples/sklearn_space.json --objective '/usr/bin/python3 "
                               "examples/sklearn_objective.py'",
                               db);
    char *out = run_search(args);
    CHECK_CONTAINS(out, "iris                             2 trials  best valid 0.");
    free(out);
    free(args);
    free(db);
}
