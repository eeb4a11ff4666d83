/* tests/test_fetch.c - the fetch driver (data/fetch.h): which scripts count,
 * what a request plans, the freshness rule, running a script. Uses small
 * shell scripts made in a temporary directory: no network. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "data/fetch.h"
#include "test.h"

static char *write_file(const char *dir, const char *name, const char *text, int mode)
{
    char *path = taml_path_join(dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
    return path;
}

/* Sets a file's modification time to t seconds after the epoch. */
static void set_mtime(const char *path, long t)
{
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

/* DIR/scripts/tasks with fetchers "beta" (writes SOURCES), "alpha" (fails),
 * "quiet" (exits 0 without SOURCES), plus things that are not fetchers. */
static char *make_suite(const char *root)
{
    char *tasks = taml_asprintf("%s/scripts/tasks", root);
    CHECK(taml_mkdirs(tasks, NULL) == 0);
    free(write_file(tasks, "beta",
                    "#!/bin/sh\nmkdir -p \"$1\" && echo rows > \"$1/all.tsv\" && "
                    "echo 'npm beta@1.0' > \"$1/SOURCES\" && echo 'beta: 1 example' >&2\n",
                    0755));
    free(write_file(tasks, "alpha", "#!/bin/sh\necho 'alpha: no network' >&2\nexit 3\n", 0755));
    free(write_file(tasks, "quiet", "#!/bin/sh\nexit 0\n", 0755));
    free(write_file(tasks, "README", "not a fetcher\n", 0644));
    free(write_file(tasks, ".hidden", "#!/bin/sh\nexit 0\n", 0755));
    char *sub = taml_path_join(tasks, "subdir");
    CHECK(taml_mkdirs(sub, NULL) == 0);
    free(sub);
    return tasks;
}

TEST(fetch_scripts_are_the_executable_files_sorted_without_hidden_ones)
{
    char *tasks = make_suite(taml_test_tmpdir());
    char **names;
    int32_t n;
    CHECK(taml_fetch_scripts(tasks, &names, &n, NULL) == 0);
    CHECK_EQ_INT(n, 3);
    CHECK_STR(names[0], "alpha");
    CHECK_STR(names[1], "beta");
    CHECK_STR(names[2], "quiet");
    taml_fetch_names_free(names, n);
    free(tasks);
}

TEST(fetch_scripts_of_a_missing_directory_is_an_error_naming_it)
{
    taml_err err;
    char **names;
    int32_t n;
    char *dir = taml_path_join(taml_test_tmpdir(), "no-such-dir");
    CHECK_EQ_INT(taml_fetch_scripts(dir, &names, &n, &err), TAML_EIO);
    CHECK_CONTAINS(err.msg, "no-such-dir");
    CHECK(names == NULL && n == 0);
    free(dir);
}

TEST(fetch_plan_all_takes_every_script_once_and_names_take_theirs_in_order)
{
    const char *root = taml_test_tmpdir();
    char *tasks = make_suite(root);
    char *data = taml_path_join(root, "data");
    taml_fetch_plan *p;
    const char *all[] = {"quiet", "all", "beta"};
    CHECK(taml_fetch_plan_new(&p, tasks, data, all, 3, NULL) == 0);
    CHECK_EQ_INT(p->n, 3);
    CHECK_STR(p->names[0], "alpha");
    CHECK_STR(p->names[2], "quiet");
    char *want_dir = taml_path_join(data, "beta");
    CHECK_STR(p->out_dirs[1], want_dir);
    free(want_dir);
    char *want_script = taml_path_join(tasks, "beta");
    CHECK_STR(p->scripts[1], want_script);
    free(want_script);
    CHECK_EQ_INT(p->fresh[1], 0);
    taml_fetch_plan_free(p);

    const char *two[] = {"quiet", "beta", "quiet"};
    CHECK(taml_fetch_plan_new(&p, tasks, data, two, 3, NULL) == 0);
    CHECK_EQ_INT(p->n, 2);
    CHECK_STR(p->names[0], "beta");
    CHECK_STR(p->names[1], "quiet");
    taml_fetch_plan_free(p);
    free(tasks);
    free(data);
}

TEST(fetch_plan_of_an_unknown_name_is_not_found_and_lists_the_known_ones)
{
    const char *root = taml_test_tmpdir();
    char *tasks = make_suite(root);
    taml_err err;
    taml_fetch_plan *p;
    const char *wants[] = {"beta", "gamma"};
    CHECK_EQ_INT(taml_fetch_plan_new(&p, tasks, root, wants, 2, &err), TAML_ENOTFOUND);
    CHECK(p == NULL);
    CHECK_CONTAINS(err.msg, "unknown task 'gamma'");
    CHECK_CONTAINS(err.msg, "known: alpha, beta, quiet");
    /* A path is not a task name, even if it leads to a script. */
    const char *path[] = {"../tasks/beta"};
    CHECK_EQ_INT(taml_fetch_plan_new(&p, tasks, root, path, 1, &err), TAML_ENOTFOUND);
    free(tasks);
}

TEST(fetch_is_fresh_only_when_sources_is_as_new_as_the_script_and_shared_modules)
{
    const char *root = taml_test_tmpdir();
    char *tasks = make_suite(root);
    char *shared = taml_path_join(root, "scripts");
    char *script = taml_path_join(tasks, "beta");
    char *out = taml_path_join(root, "out-beta");
    CHECK_EQ_INT(taml_fetch_is_fresh(script, out, shared), 0); /* never fetched */
    CHECK(taml_mkdirs(out, NULL) == 0);
    char *sources = write_file(out, "SOURCES", "npm beta@1.0\n", 0644);
    char *module = write_file(shared, "common.py", "# shared\n", 0644);
    set_mtime(script, 1000);
    set_mtime(module, 1000);
    set_mtime(sources, 2000);
    CHECK_EQ_INT(taml_fetch_is_fresh(script, out, shared), 1);
    set_mtime(module, 3000); /* a shared module changed after the fetch */
    CHECK_EQ_INT(taml_fetch_is_fresh(script, out, shared), 0);
    CHECK_EQ_INT(taml_fetch_is_fresh(script, out, NULL), 1);
    set_mtime(module, 1000);
    set_mtime(script, 2001); /* the script changed after the fetch */
    CHECK_EQ_INT(taml_fetch_is_fresh(script, out, shared), 0);
    free(sources);
    free(module);
    free(script);
    free(out);
    free(shared);
    free(tasks);
}

/* The text a script wrote to the log file. */
static char *read_log(const char *path)
{
    char *text;
    CHECK(taml_read_file(path, &text, NULL, NULL) == 0);
    return text;
}

TEST(fetch_run_of_a_good_script_writes_the_task_and_its_log)
{
    const char *root = taml_test_tmpdir();
    char *tasks = make_suite(root);
    char *script = taml_path_join(tasks, "beta");
    char *out = taml_asprintf("%s/data/deeper/beta", root); /* parents made on the way */
    char *log = taml_path_join(root, "log");
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    int status;
    taml_err err;
    CHECK(taml_fetch_run(script, out, fd, &status, &err) == 0);
    close(fd);
    CHECK_EQ_INT(status, 0);
    char *sources = taml_path_join(out, "SOURCES");
    CHECK(taml_is_file(sources));
    char *text = read_log(log);
    CHECK_STR(text, "beta: 1 example\n");
    char *shared = taml_path_join(root, "scripts");
    CHECK_EQ_INT(taml_fetch_is_fresh(script, out, shared), 1);
    free(shared);
    free(text);
    free(sources);
    free(log);
    free(out);
    free(script);
    free(tasks);
}

TEST(fetch_run_of_a_failing_script_reports_its_status_and_leaves_no_fetch_mark)
{
    const char *root = taml_test_tmpdir();
    char *tasks = make_suite(root);
    char *script = taml_path_join(tasks, "alpha");
    char *out = taml_path_join(root, "alpha");
    CHECK(taml_mkdirs(out, NULL) == 0);
    char *old = write_file(out, "SOURCES", "from an older fetch\n", 0644);
    char *log = taml_path_join(root, "log");
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int status;
    taml_err err;
    CHECK_EQ_INT(taml_fetch_run(script, out, fd, &status, &err), TAML_ESYS);
    close(fd);
    CHECK_EQ_INT(status, 3);
    CHECK_CONTAINS(err.msg, "alpha: failed with exit status 3");
    CHECK(!taml_is_file(old)); /* the old mark is gone: not fresh any more */
    char *text = read_log(log);
    CHECK_STR(text, "alpha: no network\n");
    free(text);

    /* Exit status 0 without SOURCES is not a finished fetch either. */
    char *quiet = taml_path_join(tasks, "quiet");
    fd = open(log, O_WRONLY | O_TRUNC);
    CHECK_EQ_INT(taml_fetch_run(quiet, out, fd, &status, &err), TAML_ESYS);
    close(fd);
    CHECK_EQ_INT(status, 0);
    CHECK_CONTAINS(err.msg, "wrote no");

    /* A script that cannot be executed. */
    char *readme = taml_path_join(tasks, "README");
    fd = open(log, O_WRONLY | O_TRUNC);
    CHECK_EQ_INT(taml_fetch_run(readme, out, fd, &status, &err), TAML_ESYS);
    close(fd);
    CHECK_EQ_INT(status, 127);
    CHECK_CONTAINS(err.msg, "could not be run");
    free(readme);
    free(quiet);
    free(log);
    free(old);
    free(out);
    free(script);
    free(tasks);
}
