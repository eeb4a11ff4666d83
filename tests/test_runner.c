/* tests/test_runner.c - the test runner itself (tests/runner.c), on the
 * misbehaving tests of tests/runner_check/ (build/tests/runner-check,
 * TAML_RUNNER_CHECK): a failed check, a segfault, an abort, an exit and a
 * hang are each reported by name with the reason, a hung test's processes
 * are killed with it, the run still ends with "N passed, N failed" and
 * status 1, a filter selects by name, and no state crosses tests. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "test.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1 /* a sanitizer reports a fault itself and exits with 1 */
#else
#define SANITIZED 0
#endif

static const char *check_bin(void)
{
    const char *bin = getenv("TAML_RUNNER_CHECK");
    CHECK_MSG(bin && *bin, "TAML_RUNNER_CHECK is not set (run the tests with `make test`)");
    return bin;
}

TEST(runner_reports_each_crash_hang_and_failure_by_name_and_still_counts_them)
{
    char *pidfile = taml_path_join(taml_test_tmpdir(), "child.pid");
    char *cmd = taml_asprintf("TAML_TEST_TIMEOUT=1 RUNNER_CHECK_PIDFILE=%s %s 2>&1; echo \"rc=$?\"",
                              pidfile, check_bin());
    char *out;
    double t0 = taml_now();
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK(taml_now() - t0 < 30);
    CHECK_CONTAINS(out, "ok   check_passes ");
    CHECK_CONTAINS(out, "FAIL check_fails_a_check ");
    CHECK_CONTAINS(out, "1 + 1 == 3: 2 != 3");
    CHECK_CONTAINS(out, "FAIL check_segfaults ");
    CHECK_CONTAINS(out, "FAIL check_aborts ");
    if (!SANITIZED) {
        CHECK_CONTAINS(out, "(tests/runner_check/runner_check.c: a check failed; files kept in ");
        CHECK_CONTAINS(out, "check_segfaults                                              "
                            "(tests/runner_check/runner_check.c: killed by signal 11 "
                            "(Segmentation fault)");
        CHECK_CONTAINS(out, "killed by signal 6 (Aborted)");
    }
    CHECK_CONTAINS(out, "FAIL check_exits_with_7 ");
    CHECK_CONTAINS(out, "exited with status 7");
    CHECK_CONTAINS(out, "FAIL check_hangs_with_a_child ");
    CHECK_CONTAINS(out, "timed out after 1 s (TAML_TEST_TIMEOUT)");
    CHECK_CONTAINS(out, "ok   check_state_a_sets ");
    CHECK_CONTAINS(out, "ok   check_state_b_does_not_see_it ");
    CHECK_CONTAINS(out, "\n3 passed, 5 failed\nrc=1");
    /* the hung test's own child died with it */
    FILE *f = fopen(pidfile, "r");
    CHECK(f != NULL);
    int pid = 0;
    CHECK(fscanf(f, "%d", &pid) == 1 && pid > 0);
    fclose(f);
    int alive = 1;
    for (int i = 0; i < 200 && alive; i++) {
        char stat[64], buf[256];
        snprintf(stat, sizeof stat, "/proc/%d/stat", pid);
        FILE *s = fopen(stat, "r");
        alive = 0;
        if (s) {
            size_t n = fread(buf, 1, sizeof buf - 1, s);
            buf[n] = '\0';
            fclose(s);
            const char *p = strrchr(buf, ')');
            alive = p && p[2] != 'Z';
        }
        struct timespec ts = {0, 10000000};
        if (alive) nanosleep(&ts, NULL);
    }
    CHECK_MSG(!alive, "the hung test's child %d is still running", pid);
    free(cmd);
    free(out);
    free(pidfile);
}

TEST(runner_runs_only_the_tests_a_filter_names_and_lists_them)
{
    char *cmd = taml_asprintf("%s check_state check_passes 2>&1; echo \"rc=$?\"", check_bin()), *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "ok   check_passes ");
    CHECK_CONTAINS(out, "ok   check_state_b_does_not_see_it ");
    CHECK(strstr(out, "check_segfaults") == NULL);
    CHECK_CONTAINS(out, "\n3 passed, 0 failed\nrc=0");
    free(cmd);
    free(out);
    cmd = taml_asprintf("%s --list check_state", check_bin());
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_STR(out, "check_state_a_sets\ncheck_state_b_does_not_see_it\n");
    free(cmd);
    free(out);
}
