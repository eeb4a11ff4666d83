/* tests/test_data_info_cli.c - `taml data info` (src/cli/data.c) run as a
 * user runs it: the built binary ($TAML_BIN, set by `make test`) on the
 * committed task fixtures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util.h"
#include "test.h"
#include "testutil.h"

/* Runs `taml ARGS`, stdout and stderr captured together; returns the exit status
 * and the output in *out (heap). */
static int run_taml(const char *args, char **out)
{
    char *cmd = taml_asprintf("'%s' %s", taml_test_bin(), args);
    int rc = taml_test_run(cmd, out);
    free(cmd);
    return rc;
}

TEST(data_info_prints_splits_classes_vocabulary_and_meta)
{
    char *out;
    CHECK_EQ_INT(run_taml("data info tests/fixtures/tasks/film-mini", &out), 0);
    CHECK_CONTAINS(out, "name          film-mini\n");
    CHECK_CONTAINS(out, "kind          text\n");
    CHECK_CONTAINS(out, "examples      8 (train 4, valid 2, test 2)\n");
    CHECK_CONTAINS(out, "classes       3\n");
    CHECK_CONTAINS(out, "majority      0.5000 of train (class 'neg')\n");
    CHECK_CONTAINS(out, "dictionary    20 words");
    CHECK_CONTAINS(out, "wide vocab    12 features (train words, min count 1, cap 1048576)\n");
    CHECK_CONTAINS(out, "tokens/text   3.8");
    CHECK_CONTAINS(out, "language      en\n");
    CHECK_CONTAINS(out, "license       CC0-1.0\n");
    CHECK_CONTAINS(out, "load time");
    free(out);
    CHECK_EQ_INT(run_taml("data info tests/fixtures/tasks/film-mini --classes", &out), 0);
    CHECK_CONTAINS(out, "     train    valid     test  class\n"
                        "         2        1        0  \"neg\"\n"
                        "         0        0        1  \"neutral\"\n"
                        "         2        1        1  \"pos\"\n");
    free(out);
    CHECK_EQ_INT(run_taml("data info tests/fixtures/tasks/u8-mini", &out), 0);
    CHECK_CONTAINS(out, "kind          image (2x2, 3 channels)\n");
    CHECK_CONTAINS(out, "majority      0.3333 of train (class 'cat')\n");
    free(out);
}

TEST(data_info_json_has_exact_counts_and_honours_wide_options)
{
    char *out;
    CHECK_EQ_INT(run_taml("data info tests/fixtures/tasks/film-mini --json --time --wide-min-count 2", &out), 0);
    cJSON *o = cJSON_Parse(out);
    CHECK(o != NULL);
    CHECK_STR(cJSON_GetObjectItem(o, "name")->valuestring, "film-mini");
    CHECK_EQ_INT(cJSON_GetObjectItem(o, "train")->valueint, 4);
    CHECK_EQ_INT(cJSON_GetObjectItem(o, "valid")->valueint, 2);
    CHECK_EQ_INT(cJSON_GetObjectItem(o, "test")->valueint, 2);
    CHECK_EQ_INT(cJSON_GetObjectItem(o, "classes")->valueint, 3);
    CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "class_names"), 1)->valuestring, "neutral");
    CHECK_EQ_INT(cJSON_GetObjectItem(o, "dictionary")->valueint, 20);
    CHECK_EQ_INT(cJSON_GetObjectItem(o, "wide_vocabulary")->valueint, 4);
    CHECK_EQ_INT(cJSON_GetObjectItem(o, "tokens")->valueint, 30);
    CHECK(cJSON_GetObjectItem(o, "tokenise_mb_per_s") != NULL);
    cJSON_Delete(o);
    free(out);
    /* Image task: per-class counts [train, valid, test]; value 10 is class 3. */
    CHECK_EQ_INT(run_taml("data info tests/fixtures/tasks/idx-mini --json", &out), 0);
    o = cJSON_Parse(out);
    CHECK(o != NULL);
    cJSON *counts = cJSON_GetObjectItem(o, "class_counts");
    CHECK_EQ_INT(cJSON_GetArraySize(counts), 4);
    int want[4][3] = {{4, 0, 1}, {4, 0, 0}, {3, 0, 1}, {0, 1, 1}};
    for (int c = 0; c < 4; c++)
        for (int k = 0; k < 3; k++)
            CHECK_EQ_INT(cJSON_GetArrayItem(cJSON_GetArrayItem(counts, c), k)->valueint, want[c][k]);
    CHECK_STR(cJSON_GetObjectItem(o, "kind")->valuestring, "image");
    CHECK_EQ_INT(cJSON_GetObjectItem(o, "height")->valueint, 2);
    cJSON_Delete(o);
    free(out);
}

TEST(data_info_bad_input_exits_1_with_file_and_line_and_usage_errors_exit_2)
{
    char *out;
    CHECK_EQ_INT(run_taml("data info tests/fixtures/tasks/bad/no-tab", &out), 1);
    CHECK_CONTAINS(out, "taml: tests/fixtures/tasks/bad/no-tab/all.tsv:3: no TAB");
    free(out);
    CHECK_EQ_INT(run_taml("data info tests/fixtures/tasks/no-such-task", &out), 1);
    CHECK_CONTAINS(out, "no such directory");
    free(out);
    CHECK_EQ_INT(run_taml("data info", &out), 2);
    CHECK_CONTAINS(out, "taml data info: DIR is required");
    free(out);
    CHECK_EQ_INT(run_taml("data info tests/fixtures/tasks/film-mini --wide-max x", &out), 2);
    CHECK_CONTAINS(out, "--wide-max: x is not a whole number in 0..2147483647");
    free(out);
    CHECK_EQ_INT(run_taml("data frobnicate", &out), 2);
    CHECK_CONTAINS(out, "unknown subcommand 'frobnicate'");
    free(out);
}

/* Every usage rule of `taml data` and `taml data info`, one case each (exit
 * 2, the usage shown). */
TEST(data_info_cli_usage_errors_name_themselves_and_exit_2)
{
    static const taml_test_usage_case cases[] = {
        {"data info", "taml data info: DIR is required"},
        {"data info a b", "taml data info: unexpected argument 'b'"},
        {"data info a --wide-min-count 0", "--wide-min-count: 0 is not a whole number in 1..2147483647"},
        {"data info a --wide-min-count 2147483648",
         "--wide-min-count: 2147483648 is not a whole number in 1..2147483647"},
        {"data info a --wide-max -1", "--wide-max: -1 is not a whole number in 0..2147483647"},
        {"data info a --wide-max ' 5'", "--wide-max: ' 5' is not a whole number"},
        {"data info a --wide-max", "taml data info: --wide-max needs a value"},
        {"data info a --verbose", "taml data info: unknown option '--verbose'"},
        {"data frobnicate", "unknown subcommand 'frobnicate'"},
        {"data", "usage: taml data SUBCOMMAND"},
    };
    taml_test_cli_usage_errors(cases, sizeof cases / sizeof cases[0]);
    taml_test_cli_says("data info --help 2>/dev/null", 0, "usage: taml data info DIR");
    /* the ends of the ranges pass (the directory is then missing: 1) */
    taml_test_cli_says("data info no-such-dir --wide-min-count 2147483647 --wide-max 0", 1,
                       "no-such-dir");
}
