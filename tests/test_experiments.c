/* tests/test_experiments.c - the experiment scripts of issue 8 (experiments/:
 * tasks.py, metrics.py, run-study, tpe.py, baselines.py, space.py): runs their
 * self-test, experiments/selftest.py, on the fixture tasks. It checks that
 * the baselines see taml's splits and tokens, that metrics.py equals `taml
 * status --against` on real studies, and that every step resumes. Needs
 * python3-sklearn and python3-optuna (scripts/setup installs them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test.h"

TEST(experiment_scripts_pass_their_selftest_against_taml)
{
    FILE *p = popen("/usr/bin/python3 experiments/selftest.py 2>&1", "r");
    CHECK(p != NULL);
    static char out[65536];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "experiments/selftest.py failed (status %d):\n%s",
              status, out);
    CHECK_CONTAINS(out, "\nOK");
    int ran = 0;
    const char *r = strstr(out, "Ran ");
    CHECK(r != NULL && sscanf(r, "Ran %d test", &ran) == 1);
    CHECK_MSG(ran >= 11, "experiments/selftest.py ran %d tests; expected at least 11", ran);
}
