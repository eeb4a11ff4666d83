/* tests/testutil.c - the shared helpers of tests/testutil.h: one way for the
 * tests to run a program and see its output and exit status. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/err.h"
#include "core/util.h"
#include "embed/import.h"
#include "search/search.h"
#include "test.h"

int taml_test_run(const char *cmd, char **out)
{
    /* A group, so a redirection inside cmd still applies to its own command
     * and everything else lands in the pipe. */
    char *sh = taml_asprintf("{ %s\n} 2>&1", cmd);
    FILE *p = popen(sh, "r");
    free(sh);
    CHECK_MSG(p != NULL, "could not run: %s", cmd);
    size_t cap = 4096, n = 0, got;
    char *buf = taml_malloc(cap);
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 >= cap) buf = taml_realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    int st = pclose(p);
    *out = buf;
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *taml_test_bin(void)
{
    const char *bin = getenv("TAML_BIN");
    CHECK_MSG(bin && *bin, "TAML_BIN is not set (run the tests with `make test`)");
    return bin;
}

const char *taml_test_fake_bin(void)
{
    const char *bin = getenv("TAML_FAKE_BIN");
    CHECK_MSG(bin && *bin, "TAML_FAKE_BIN is not set (run the tests with `make test`)");
    return bin;
}

void taml_test_cli_says(const char *args, int status, const char *says)
{
    char *cmd = taml_asprintf("%s %s", taml_test_bin(), args), *out;
    int st = taml_test_run(cmd, &out);
    CHECK_MSG(st == status, "`taml %s` exited with %d, not %d:\n%s", args, st, status, out);
    CHECK_MSG(strstr(out, says) != NULL, "`taml %s` does not say \"%s\":\n%s", args, says, out);
    if (status == 2)
        CHECK_MSG(strstr(out, "usage: taml") != NULL, "`taml %s` shows no usage:\n%s", args, out);
    free(cmd);
    free(out);
}

void taml_test_cli_usage_errors(const taml_test_usage_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) taml_test_cli_says(cases[i].args, 2, cases[i].says);
}

void taml_test_python_selftest(const char *script, int min_tests)
{
    char *cmd = taml_asprintf("/usr/bin/python3 %s", script), *out;
    int st = taml_test_run(cmd, &out);
    free(cmd);
    /* out is not freed on a failed check: the runner ends the test there */
    CHECK_MSG(st == 0, "%s failed (status %d):\n%s", script, st, out);
    CHECK_MSG(strstr(out, "\nOK") != NULL, "%s did not print OK:\n%s", script, out);
    int ran = 0;
    const char *r = strstr(out, "Ran ");
    CHECK_MSG(r != NULL && sscanf(r, "Ran %d test", &ran) == 1, "%s printed no test count:\n%s",
              script, out);
    CHECK_MSG(ran >= min_tests, "%s ran %d tests; expected at least %d", script, ran, min_tests);
    free(out);
}

int taml_test_taml_in(const char *lib, const char *args, char **out)
{
    char *abs = realpath(taml_test_bin(), NULL); /* the command runs in the tmpdir */
    CHECK(abs != NULL);
    char *cmd = taml_asprintf("cd '%s' && TAML_MODULES='%s' '%s' %s", taml_test_tmpdir(), lib, abs,
                              args);
    int rc = taml_test_run(cmd, out);
    free(cmd);
    free(abs);
    return rc;
}

char *taml_test_tiny_image_library(void)
{
    char *lib = taml_path_join(taml_test_tmpdir(), "lib");
    taml_err err;
    CHECK_MSG(taml_mkdirs(lib, &err) == 0, "%s", err.msg);
    char *out = taml_path_join(lib, "tiny-cnn.tamlm");
    taml_cnn_import_opts o = {.name = "tiny-cnn",
                              .matrix_path = "tests/fixtures/vision/tiny/weights.f32"};
    CHECK_MSG(taml_module_import_cnn("tests/fixtures/vision/tiny/cnn.json", &o, out, NULL,
                                     &err) == 0,
              "%s", err.msg);
    free(out);
    return lib;
}

char *taml_test_image_task(const char *name)
{
    char *dir = taml_path_join(taml_test_tmpdir(), name), *out;
    char *cmd = taml_asprintf("cp -r tests/fixtures/tasks/u8-mini '%s'", dir);
    CHECK_MSG(taml_test_run(cmd, &out) == 0, "%s: %s", cmd, out);
    free(out);
    free(cmd);
    return dir;
}

char *taml_test_tiny_image_space(void)
{
    static const char space[] =
        "{\"embedding\":[\"tiny-cnn\"],\"fine_tune\":[false],\"layers\":[1],"
        "\"hidden_size\":[16],\"activation\":[\"relu\"],\"normalization\":[\"none\"],"
        "\"dropout\":[0.0],\"deep_lr\":[0.3],\"deep_l2\":[0.0001],\"wide_lr\":[0.1],"
        "\"wide_l1\":[\"disable\"],\"samples\":[1000]}";
    char *sp = taml_path_join(taml_test_tmpdir(), "tiny-space.json");
    taml_err err;
    CHECK_MSG(taml_write_file_atomic(sp, space, strlen(space), &err) == 0, "%s", err.msg);
    return sp;
}

char *taml_test_tiny_image_search(const char *lib, const char *dir, const char *study, int trials)
{
    char *sp = taml_test_tiny_image_space(), *out;
    char *cmd = taml_asprintf("search --study %s --task %s --method random --trials %d "
                              "--workers 1 --seed 3 --space %s",
                              study, dir, trials, sp);
    int rc = taml_test_taml_in(lib, cmd, &out);
    CHECK_MSG(rc == 0, "%s: exit %d: %s", cmd, rc, out);
    free(cmd);
    free(sp);
    return out;
}

int taml_test_predict_image_lines(const char *model, const char *dir)
{
    char *cmd = taml_asprintf("predict %s --images %s/images.u8", model, dir), *out;
    int rc = taml_test_taml_in("/nonexistent", cmd, &out);
    CHECK_MSG(rc == 0, "%s: exit %d: %s", cmd, rc, out);
    int lines = 0;
    for (char *p = out; *p; p++) lines += *p == '\n';
    free(out);
    free(cmd);
    return lines;
}

char *taml_test_tmp_path(const char *name)
{
    char *p = taml_path_join(taml_test_tmpdir(), name);
    remove(p);
    return p;
}

void taml_test_stopper_progress(void *user, const taml_search_progress *p)
{
    taml_test_stopper *s = user;
    if (p->last && s->after && ++s->seen >= s->after) s->stop = 1;
}
