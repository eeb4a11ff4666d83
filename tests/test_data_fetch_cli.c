/* tests/test_data_fetch_cli.c - the commands `taml data fetch` and `taml data
 * list` (src/cli/data_fetch.c), run as the user runs them: the built binary
 * ($TAML_BIN, set by `make test`) with TAML_HOME pointing at a made-up home
 * whose fetchers are small shell scripts. No network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "test.h"
#include "testutil.h"

static void put(const char *dir, const char *name, const char *text, int mode)
{
    char *path = taml_path_join(dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
    free(path);
}

/* Runs `taml ARGS` with TAML_HOME=home, stdout+stderr captured; returns the exit
 * status and the output in *out (heap). */
static int taml(const char *home, const char *args, char **out)
{
    char *cmd = taml_asprintf("TAML_HOME='%s' TAML_DATA= '%s' %s", home, taml_test_bin(), args);
    int rc = taml_test_run(cmd, out);
    free(cmd);
    return rc;
}

/* A home with fetchers: good (writes a 2-class task), bad (fails), later
 * (good too, sorted after bad). */
static char *make_home(void)
{
    char *home = taml_path_join(taml_test_tmpdir(), "home");
    char *tasks = taml_path_join(home, "scripts/fetch/tasks");
    CHECK(taml_mkdirs(tasks, NULL) == 0);
    const char *good =
        "#!/bin/sh\nmkdir -p \"$1\" && : > \"$1/all.tsv\" && for i in 1 2 3 4 5 6 7 8 9 10; do\n"
        "  printf 'yes\\tgood words %s\\nno\\tbad words %s\\n' $i $i >> \"$1/all.tsv\"; done\n"
        "printf 'name=%s\\nlanguage=en\\nsource=npm made-up@1.0 (a test)\\nlicense=MIT; "
        "see it\\n' \"$(basename \"$0\")\" > \"$1/meta.txt\"\n"
        "echo 'npm made-up@1.0' > \"$1/SOURCES\"\necho \"$(basename \"$0\"): 20 examples\" >&2\n";
    put(tasks, "good", good, 0755);
    put(tasks, "later", good, 0755);
    put(tasks, "bad", "#!/bin/sh\necho 'bad: registry down' >&2\nexit 1\n", 0755);
    free(tasks);
    return home;
}

TEST(data_fetch_all_goes_past_a_failure_reports_it_and_exits_1)
{
    char *home = make_home();
    char *data = taml_path_join(taml_test_tmpdir(), "data");
    char *args = taml_asprintf("data fetch all --dir '%s'", data);
    char *out;
    CHECK_EQ_INT(taml(home, args, &out), 1);
    CHECK_CONTAINS(out, "good: 20 examples");
    CHECK_CONTAINS(out, "later: 20 examples"); /* fetched after the failure */
    CHECK_CONTAINS(out, "bad: registry down");
    CHECK_CONTAINS(out, "fetched 2, skipped 0, failed 1");
    CHECK_CONTAINS(out, "these tasks failed: bad");
    free(out);

    /* Again: the fetched tasks are skipped, unless --force. */
    free(args);
    args = taml_asprintf("data fetch good later --dir '%s'", data);
    CHECK_EQ_INT(taml(home, args, &out), 0);
    CHECK_CONTAINS(out, "fetched 0, skipped 2, failed 0");
    free(out);
    free(args);
    args = taml_asprintf("data fetch good --force --dir '%s'", data);
    CHECK_EQ_INT(taml(home, args, &out), 0);
    CHECK_CONTAINS(out, "fetched 1, skipped 0, failed 0");
    free(out);
    free(args);
    free(data);
    free(home);
}

TEST(data_fetch_of_an_unknown_task_lists_the_known_ones_and_fetches_nothing)
{
    char *home = make_home();
    char *data = taml_path_join(taml_test_tmpdir(), "data");
    char *args = taml_asprintf("data fetch good nosuch --dir '%s'", data);
    char *out;
    CHECK_EQ_INT(taml(home, args, &out), 1);
    CHECK_CONTAINS(out, "unknown task 'nosuch'");
    CHECK_CONTAINS(out, "known: bad, good, later");
    CHECK(!taml_is_dir(data));
    free(out);
    CHECK_EQ_INT(taml(home, "data fetch --bogus", &out), 2);
    free(out);
    free(args);
    free(data);
    free(home);
}

TEST(data_list_prints_a_row_per_task_and_names_a_broken_one)
{
    char *home = make_home();
    char *data = taml_path_join(taml_test_tmpdir(), "data");
    char *args = taml_asprintf("data fetch good --dir '%s'", data);
    char *out;
    CHECK_EQ_INT(taml(home, args, &out), 0);
    free(out);
    free(args);
    args = taml_asprintf("data list --markdown --dir '%s'", data);
    CHECK_EQ_INT(taml(home, args, &out), 0);
    /* 20 rows, 2 classes; train = the first 16 rows (8 yes, 8 no): 50%;
     * 3 tokens a text; source and license cut at " (" and ";". */
    CHECK_CONTAINS(out, "| good | text | 20 | 2 | 50.0% | 3.0 | en | npm made-up@1.0 | MIT |\n");
    free(out);
    free(args);

    char *broken = taml_path_join(data, "broken");
    CHECK(taml_mkdirs(broken, NULL) == 0);
    put(broken, "all.tsv", "no tab on this line\n", 0644);
    args = taml_asprintf("data list --dir '%s'", data);
    CHECK_EQ_INT(taml(home, args, &out), 1);
    CHECK_CONTAINS(out, "broken");
    CHECK_CONTAINS(out, "good ");
    free(out);
    free(args);
    free(broken);
    free(data);
    free(home);
}

/* Every usage rule of `taml data fetch` and `taml data list`, one case each
 * (exit 2, the usage shown). */
TEST(data_fetch_and_list_usage_errors_name_themselves_and_exit_2)
{
    char *home = make_home(), *out;
    static const taml_test_usage_case cases[] = {
        {"data fetch", "taml data fetch: NAME is required (a task, or all)"},
        {"data fetch good --bogus", "taml data fetch: unknown option '--bogus'"},
        {"data fetch good --dir", "taml data fetch: --dir needs a value"},
        {"data list --json --markdown", "taml data list: --json or --markdown, not both"},
        {"data list extra", "taml data list: unexpected argument 'extra'"},
        {"data list --dir", "taml data list: --dir needs a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ_INT(taml(home, cases[i].args, &out), 2);
        CHECK_CONTAINS(out, cases[i].says);
        CHECK_CONTAINS(out, "usage: taml data");
        free(out);
    }
    free(home);
}
