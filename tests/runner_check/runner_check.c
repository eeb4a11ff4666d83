/* tests/runner_check/runner_check.c - tests that misbehave on purpose, run
 * by tests/runner.c built into build/tests/runner-check (never part of the
 * suite itself): tests/test_runner.c runs it and checks that each fault is
 * reported by name while the run goes on to its "N passed, N failed". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"

TEST(check_passes)
{
    CHECK(1 + 1 == 2);
}

TEST(check_fails_a_check)
{
    CHECK_EQ_INT(1 + 1, 3);
}

TEST(check_segfaults)
{
    volatile int *volatile null = NULL;
    *null = 1;
}

TEST(check_aborts)
{
    abort();
}

TEST(check_exits_with_7)
{
    exit(7);
}

/* Hangs after starting a process that would outlive it (its pid in the
 * file named by RUNNER_CHECK_PIDFILE): the runner kills the group. */
TEST(check_hangs_with_a_child)
{
    const char *pidfile = getenv("RUNNER_CHECK_PIDFILE");
    pid_t pid = fork();
    if (pid == 0)
        for (;;) pause();
    if (pidfile) {
        FILE *f = fopen(pidfile, "w");
        if (f) {
            fprintf(f, "%d\n", (int)pid);
            fclose(f);
        }
    }
    for (;;) pause();
}

/* Memory and the working directory another test changed are not seen:
 * nothing is shared between tests. */
static int touched;

TEST(check_state_a_sets)
{
    touched = 1;
    CHECK(chdir("/") == 0);
}

TEST(check_state_b_does_not_see_it)
{
    char cwd[4096];
    CHECK_EQ_INT(touched, 0);
    CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") != 0);
}
