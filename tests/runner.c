/* tests/runner.c - runs the registered tests (see test.h) and prints
 * "N passed, N failed". Arguments filter tests by substring of their name;
 * --list prints the names (of the tests the filters select) instead.
 *
 * Each test runs in a process of its own (forked from the runner, which
 * runs no test itself, so no test sees what another left in memory), in a
 * process group of its own, with its own fresh temporary directory, and
 * with a time limit (TAML_TEST_TIMEOUT seconds, default 600, 0 for none):
 * a test that crashes or hangs is reported by name with the signal or the
 * timeout, everything it started is killed with it, and the run goes on.
 * The exit status is 1 when any test failed. As libuv's runner does.
 */
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

#define MAX_TESTS 4096
#define DEFAULT_TIMEOUT 600.0

struct test {
    const char *name, *file;
    taml_test_fn fn;
    int order;
};
static struct test tests[MAX_TESTS];
static int n_tests;
static jmp_buf on_fail;
static char *tmpdir;
static volatile pid_t running; /* the test process, for the signal handler */

void taml_test_register(const char *name, const char *file, taml_test_fn fn)
{
    if (n_tests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        abort();
    }
    tests[n_tests].name = name;
    tests[n_tests].file = file;
    tests[n_tests].fn = fn;
    tests[n_tests].order = n_tests;
    n_tests++;
}

_Noreturn void taml_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    longjmp(on_fail, 1);
}

/* Made by the runner before each test, so that it can name it when the
 * test dies; the test's process only reads it. */
const char *taml_test_tmpdir(void)
{
    return tmpdir;
}

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = taml_asprintf("%s/taml-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        abort();
    }
    tmpdir = tmpl;
}

static void remove_tmpdir(void)
{
    taml_err err;
    if (taml_rmtree(tmpdir, &err) != 0) fprintf(stderr, "warning: %s\n", err.msg);
    free(tmpdir);
    tmpdir = NULL;
}

static int selected(const char *name, int argc, char **argv)
{
    int filters = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--list")) continue;
        filters++;
        if (strstr(name, argv[i])) return 1;
    }
    return filters == 0;
}

static int by_file_then_order(const void *a, const void *b)
{
    const struct test *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c) return c;
    return (x->order > y->order) - (x->order < y->order);
}

/* Ctrl-C or a kill of the runner takes the running test's group with it. */
static void on_signal(int sig)
{
    if (running > 0) kill(-running, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Runs test t in a child process; returns 0 when it passed, else 1 with
 * why (a CHECK's message was printed by the test) in `why`. */
static int run_one(const struct test *t, double limit, char *why, size_t cap)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, cap, "cannot fork: %s", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        int rc = 1;
        if (setjmp(on_fail) == 0) {
            t->fn();
            rc = 0;
        }
        fflush(stdout);
        fflush(stderr);
        exit(rc); /* exit, not _exit: a sanitizer's leak check runs per test */
    }
    setpgid(pid, pid); /* also here: no race with the kill below */
    running = pid;
    double until = limit > 0 ? taml_now() + limit : 0;
    int status = 0, timed_out = 0;
    long nap_ns = 100000;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) break;
        if (got < 0 && errno != EINTR) {
            snprintf(why, cap, "lost the test's process: %s", strerror(errno));
            running = 0;
            return 1;
        }
        if (until && taml_now() > until) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        struct timespec ts = {0, nap_ns};
        nanosleep(&ts, NULL);
        if (nap_ns < 20000000) nap_ns *= 2; /* 0.1 ms doubling to 20 ms */
    }
    kill(-pid, SIGKILL); /* whatever the test left running in its group */
    running = 0;
    if (timed_out) {
        snprintf(why, cap, "timed out after %g s (TAML_TEST_TIMEOUT)", limit);
        return 1;
    }
    if (WIFSIGNALED(status)) {
        snprintf(why, cap, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        return 1;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 0) return 0;
    if (code == 1)
        snprintf(why, cap, "a check failed");
    else
        snprintf(why, cap, "exited with status %d", code);
    return 1;
}

int main(int argc, char **argv)
{
    qsort(tests, (size_t)n_tests, sizeof tests[0], by_file_then_order);
    int list = 0;
    for (int i = 1; i < argc; i++) list |= !strcmp(argv[i], "--list");
    if (list) {
        for (int i = 0; i < n_tests; i++)
            if (selected(tests[i].name, argc, argv)) printf("%s\n", tests[i].name);
        return 0;
    }
    const char *env = getenv("TAML_TEST_TIMEOUT");
    double limit = DEFAULT_TIMEOUT;
    if (env && *env) {
        char *end;
        limit = strtod(env, &end);
        if (*end || !(limit >= 0)) {
            fprintf(stderr, "TAML_TEST_TIMEOUT: '%s' is not a number of seconds >= 0\n", env);
            return 2;
        }
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int passed = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        if (!selected(tests[i].name, argc, argv)) continue;
        double t0 = taml_now();
        make_tmpdir();
        char why[256];
        if (run_one(&tests[i], limit, why, sizeof why) == 0) {
            passed++;
            remove_tmpdir();
            printf("ok   %-60s %6.2fs\n", tests[i].name, taml_now() - t0);
        } else {
            failed++;
            printf("FAIL %-60s (%s: %s; files kept in %s)\n", tests[i].name, tests[i].file, why,
                   tmpdir);
            free(tmpdir);
            tmpdir = NULL;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
