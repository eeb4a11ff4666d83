/* tests/runner.c - runs the registered tests (see test.h) and prints
 * "N passed, N failed". Arguments filter tests by substring of their name. */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/util.h"

#define MAX_TESTS 4096

struct test {
    const char *name, *file;
    taml_test_fn fn;
    int order;
};
static struct test tests[MAX_TESTS];
static int n_tests;
static jmp_buf on_fail;
static char *tmpdir;

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

const char *taml_test_tmpdir(void)
{
    if (!tmpdir) {
        const char *base = getenv("TMPDIR");
        char *tmpl = taml_asprintf("%s/taml-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpl)) {
            perror("mkdtemp");
            abort();
        }
        tmpdir = tmpl;
    }
    return tmpdir;
}

static void remove_tmpdir(void)
{
    if (!tmpdir) return;
    taml_err err;
    if (taml_rmtree(tmpdir, &err) != 0) fprintf(stderr, "warning: %s\n", err.msg);
    free(tmpdir);
    tmpdir = NULL;
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc <= 1) return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return 1;
    return 0;
}

static int by_file_then_order(const void *a, const void *b)
{
    const struct test *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c) return c;
    return (x->order > y->order) - (x->order < y->order);
}

int main(int argc, char **argv)
{
    qsort(tests, (size_t)n_tests, sizeof tests[0], by_file_then_order);
    int passed = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        if (!selected(tests[i].name, argc, argv)) continue;
        double t0 = taml_now();
        if (setjmp(on_fail) == 0) {
            tests[i].fn();
            passed++;
            remove_tmpdir();
            printf("ok   %-60s %6.2fs\n", tests[i].name, taml_now() - t0);
        } else {
            failed++;
            printf("FAIL %-60s (%s; files kept in %s)\n", tests[i].name, tests[i].file,
                   tmpdir ? tmpdir : "-");
            free(tmpdir);
            tmpdir = NULL;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
