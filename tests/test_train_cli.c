/* tests/test_train_cli.c - `taml train` (src/cli/train.c) run as a user runs
 * it: the built binary ($TAML_BIN, set by `make test`) on the committed
 * fixture task tests/fixtures/tasks/child-topics. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "test.h"
#include "testutil.h"

#define TASK "tests/fixtures/tasks/child-topics"
#define CFG                                                                                    \
    "'{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 32, \"activation\": \"relu\","    \
    " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": 0,"          \
    " \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 5000}'"

/* Runs `taml ARGS` from the repository root; returns the exit status and
 * stdout+stderr in *out (heap). */
static int taml(const char *args, char **out)
{
    char *cmd = taml_asprintf("'%s' %s", taml_test_bin(), args);
    int rc = taml_test_run(cmd, out);
    free(cmd);
    return rc;
}

TEST(train_cli_json_prints_seeds_above_2_to_the_53_exactly)
{
    /* 2^53 + 1 and 2^64 - 1 have no double of their own */
    static const char *seeds[] = {"9007199254740993", "18446744073709551615"};
    for (int i = 0; i < 2; i++) {
        char *args = taml_asprintf("train --task " TASK " --config " CFG " --seed %s --json", seeds[i]);
        char *out, *want = taml_asprintf("\"seed\":%s,", seeds[i]);
        CHECK_EQ_INT(taml(args, &out), 0);
        CHECK_CONTAINS(out, want);
        cJSON *j = cJSON_Parse(out);
        CHECK_MSG(j && cJSON_IsNumber(cJSON_GetObjectItem(j, "seed")), "no numeric seed: %s", out);
        cJSON_Delete(j);
        free(args), free(out), free(want);
    }
}

TEST(train_cli_trains_the_fixture_and_prints_json_deterministically)
{
    char *a, *b;
    CHECK_EQ_INT(taml("train --task " TASK " --config " CFG " --seed 3 --json", &a), 0);
    CHECK_EQ_INT(taml("train --task " TASK " --config " CFG " --seed 3 --json", &b), 0);
    cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
    CHECK_MSG(ja && jb, "not JSON: %s", a);
    CHECK_STR(cJSON_GetObjectItem(ja, "status")->valuestring, "ok");
    CHECK_EQ_INT(cJSON_GetObjectItem(ja, "steps")->valuedouble, 50);
    CHECK(cJSON_GetObjectItem(ja, "valid_acc")->valuedouble > 0.6);
    CHECK(cJSON_GetObjectItem(ja, "final_loss")->valuedouble ==
          cJSON_GetObjectItem(jb, "final_loss")->valuedouble);
    CHECK(cJSON_GetObjectItem(ja, "test_acc")->valuedouble ==
          cJSON_GetObjectItem(jb, "test_acc")->valuedouble);
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(ja, "config"), "embedding")->valuestring,
              "random-100");
    cJSON_Delete(ja), cJSON_Delete(jb), free(a), free(b);
    /* the text form, and the invalid trial */
    CHECK_EQ_INT(taml("train --task " TASK " --config " CFG, &a), 0);
    CHECK_CONTAINS(a, "status       ok");
    CHECK_CONTAINS(a, "module random-100");
    free(a);
    CHECK_EQ_INT(taml("train --task " TASK " --config '{\"fine_tune\": false, \"layers\": 1,"
                      " \"hidden_size\": 8, \"activation\": \"relu\", \"normalization\": \"none\","
                      " \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": \"disable\", \"wide_lr\": 0.1,"
                      " \"wide_l1\": \"disable\", \"samples\": 1000}'",
                      &a),
                 0);
    CHECK_CONTAINS(a, "status       invalid");
    free(a);
}

TEST(train_cli_refuses_bad_configs_modules_and_arguments_with_a_clear_message)
{
    char *out;
    CHECK_EQ_INT(taml("train --task " TASK " --config '{\"layers\": 1}'", &out), 1);
    CHECK_CONTAINS(out, "missing decision \"fine_tune\"");
    free(out);
    CHECK_EQ_INT(taml("train --task " TASK " --config no-such-config.json", &out), 1);
    CHECK_CONTAINS(out, "no-such-config.json");
    free(out);
    CHECK_EQ_INT(taml("train --task tests/fixtures/no-such-task --config " CFG, &out), 1);
    CHECK_CONTAINS(out, "no-such-task");
    free(out);
    CHECK_EQ_INT(taml("train --task " TASK " --config " CFG " --module no-such-module-xyz", &out), 1);
    CHECK_CONTAINS(out, "no-such-module-xyz");
    free(out);
    /* the child's own rung check (taml_child_rungs_check), as the API's */
    CHECK_EQ_INT(taml("train --task " TASK " --config " CFG " --rungs 1000,5000", &out), 1);
    CHECK_CONTAINS(out, "rung 1: 5000 samples is not below the config's samples (5000)");
    free(out);
    CHECK_EQ_INT(taml("train --task " TASK, &out), 2);
    CHECK_CONTAINS(out, "taml train: --config is required");
    free(out);
    CHECK_EQ_INT(taml("train --task " TASK " --config " CFG " --seed x", &out), 2);
    CHECK_CONTAINS(out, "--seed: x is not a whole number in 0..18446744073709551615");
    free(out);
    CHECK_EQ_INT(taml("train --task tests/fixtures/tasks/idx-mini --config " CFG " --module random-100",
                      &out),
                 1);
    CHECK_CONTAINS(out, "module 'random-100' is a text module (word vectors); task 'idx-mini' is an "
                        "image task: it needs an image module");
    free(out);
}

/* Every usage rule of `taml train`, one case each (exit 2, the usage shown). */
TEST(train_cli_usage_errors_name_themselves_and_exit_2)
{
    static const taml_test_usage_case cases[] = {
        {"train --config " CFG, "taml train: --task is required"},
        {"train --task " TASK, "taml train: --config is required"},
        {"train --task " TASK " --config " CFG " --seed -3", "--seed: -3 is not a whole number"},
        {"train --task " TASK " --config " CFG " --seed 18446744073709551616",
         "--seed: 18446744073709551616 is not a whole number in 0..18446744073709551615"},
        {"train --task " TASK " --config " CFG " --module", "taml train: --module needs a value"},
        {"train --task " TASK " --config " CFG " --lr 3", "taml train: unknown option '--lr'"},
        {"train --task " TASK " --config " CFG " extra", "taml train: unexpected argument 'extra'"},
    };
    taml_test_cli_usage_errors(cases, sizeof cases / sizeof cases[0]);
    taml_test_cli_says("train -h 2>/dev/null", 0, "usage: taml train");
}
