/* tests/test_api.c - the public API (include/taml/taml.h) as a program uses
 * it: examples/ask_tell.c built against the library, its ask/tell loop
 * training the built-in child on a fixture task makes the same study as
 * `taml search` with the same settings (one worker), and its exported
 * model predicts; bad calls get the library's messages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <taml/taml.h>

#include "core/util.h"
#include "study_compare.h"
#include "test.h"
#include "testutil.h"

/* examples/ask_tell.c's space, as a file for `taml search --space`. */
static const char *example_space =
    "{\"embedding\":[\"random-16\"],\"fine_tune\":[false],\"layers\":[1,2],"
    "\"hidden_size\":[16,64],\"activation\":[\"relu\"],\"normalization\":[\"none\"],"
    "\"dropout\":[0.0],\"deep_lr\":[0.03,0.3],\"deep_l2\":[0],\"wide_lr\":[0.03,0.3],"
    "\"wide_l1\":[0],\"samples\":[1000,3000]}";

TEST(api_example_ask_tell_loop_equals_taml_search_and_its_model_predicts)
{
    const char *d = taml_test_tmpdir();
    const char *task = "tests/fixtures/tasks/child-topics";
    char *cmd = taml_asprintf("cc -std=c11 -Wall -Werror %s -Iinclude -o %s/ask_tell "
                              "examples/ask_tell.c %s -lsqlite3 -lcjson -lutf8proc -lz -lm "
                              "-lpthread -ldl && %s/ask_tell %s/api.db %s 6 %s/m.taml",
                              getenv("TAML_CC_FLAGS") ? getenv("TAML_CC_FLAGS") : "", d,
                              getenv("TAML_LIB") ? getenv("TAML_LIB") : "build/libtaml.a", d, d,
                              task, d), *out;
    int st = taml_test_run(cmd, &out);
    CHECK_MSG(st == 0, "%s: exit %d:\n%s", cmd, st, out);
    CHECK_CONTAINS(out, "trial 6 done valid");
    CHECK_CONTAINS(out, "exported ");
    free(out);
    free(cmd);
    char *space = taml_path_join(d, "space.json");
    CHECK_EQ_INT(taml_write_file_atomic(space, example_space, strlen(example_space), NULL), 0);
    cmd = taml_asprintf("%s search --study %s/ref.db --task %s --method aml --trials 6 --space %s "
                        "--seed 7 --workers 1",
                        taml_test_bin(), d, task, space);
    st = taml_test_run(cmd, &out);
    CHECK_MSG(st == 0, "%s: exit %d:\n%s", cmd, st, out);
    free(out);
    free(cmd);
    char *a = taml_path_join(d, "api.db"), *b = taml_path_join(d, "ref.db");
    int64_t n = 0;
    CHECK(same_studies(a, b, &n));
    CHECK_EQ_INT(n, 6);
    /* the model the example exported says what `taml predict` says */
    char *model = taml_path_join(d, "m.taml");
    char msg[TAML_API_MSG];
    taml_api_model *m;
    CHECK_MSG(taml_api_model_open(&m, model, msg) == 0, "%s", msg);
    int32_t nc, label;
    const char *const *classes = taml_api_model_classes(m, &nc);
    double proba[16];
    CHECK(nc > 1 && nc <= 16);
    CHECK_EQ_INT(taml_api_predict(m, "the cat sat on the mat", 22, &label, proba, msg), 0);
    cmd = taml_asprintf("echo 'the cat sat on the mat' | %s predict %s", taml_test_bin(), model);
    st = taml_test_run(cmd, &out);
    CHECK_EQ_INT(st, 0);
    char want[64];
    snprintf(want, sizeof want, "%s\n", classes[label]);
    CHECK_STR(out, want);
    double sum = 0;
    for (int32_t c = 0; c < nc; c++) sum += proba[c];
    CHECK_NEAR(sum, 1, 1e-9);
    free(out);
    free(cmd);
    taml_api_model_close(m);
    free(model);
    free(a);
    free(b);
    free(space);
}

TEST(api_calls_refuse_bad_input_with_the_library_message)
{
    char msg[TAML_API_MSG];
    char *path = taml_path_join(taml_test_tmpdir(), "s.db");
    taml_api_study *s = NULL;
    CHECK_EQ_INT(taml_api_study_open(&s, path, NULL, msg), TAML_API_ENOTFOUND);
    CHECK_CONTAINS(msg, "no study here");
    CHECK(s == NULL);
    const char *tasks[] = {"a"};
    taml_api_settings st = {.method = "greedy", .n_tasks = 1, .tasks = tasks, .trials = 2,
                            .space_json = example_space};
    CHECK_EQ_INT(taml_api_study_open(&s, path, &st, msg), TAML_API_EINVAL);
    CHECK_CONTAINS(msg, "method 'greedy' is not random, aml, multitask or transfer");
    st.method = "random";
    st.space_json = "{\"layers\": [1,";
    CHECK_EQ_INT(taml_api_study_open(&s, path, &st, msg), TAML_API_EFORMAT);
    st.space_json = example_space;
    CHECK_MSG(taml_api_study_open(&s, path, &st, msg) == 0, "%s", msg);
    taml_api_trial t;
    CHECK_EQ_INT(taml_api_ask(s, "b", &t, msg), TAML_API_EINVAL);
    CHECK_CONTAINS(msg, "no task 'b'");
    CHECK_EQ_INT(taml_api_ask(s, NULL, &t, msg), 0);
    CHECK_STR(t.task, "a");
    CHECK_EQ_INT(taml_api_tell(s, t.id, "done", 2.0, NAN, msg), TAML_API_EINVAL);
    CHECK_CONTAINS(msg, "valid 2 is not an accuracy in [0, 1]");
    CHECK_EQ_INT(taml_api_tell(s, t.id, "lost", 0.5, NAN, msg), TAML_API_EINVAL);
    CHECK_EQ_INT(taml_api_tell(s, t.id + 1, NULL, 0.5, NAN, msg), TAML_API_ENOTFOUND);
    CHECK_EQ_INT(taml_api_tell(s, t.id, NULL, 0.5, NAN, msg), 0);
    CHECK_EQ_INT(taml_api_tell(s, t.id, NULL, 0.5, NAN, msg), TAML_API_EINVAL);
    CHECK_CONTAINS(msg, "told already");
    taml_api_trial_deinit(&t);
    taml_api_study_close(s);
    taml_api_study_close(NULL);
    /* settings again: checked against the study's */
    st.trials = 2;
    st.method = "aml";
    CHECK_EQ_INT(taml_api_study_open(&s, path, &st, msg), TAML_API_EMISMATCH);
    taml_api_result r;
    CHECK_EQ_INT(taml_api_train("tests/fixtures/tasks/child-topics", "{\"layers\": 9}", NULL, 1, &r,
                                msg),
                 TAML_API_EINVAL);
    CHECK(msg[0] != '\0');
    CHECK_STR(taml_api_version(), TAML_VERSION);
    free(path);
}

/* A study with a pruner through the API: a trial comes with its rungs
 * (samples 1000 and 3000, min 1000, eta 3: one rung below 3000), a pruned
 * tell needs its rung values and is stored pruned at its last rung, and a
 * bad pruner is refused naming it. */
TEST(api_study_with_a_pruner_hands_out_rungs_and_takes_a_pruned_tell)
{
    char msg[TAML_API_MSG];
    char *path = taml_path_join(taml_test_tmpdir(), "pruned.db");
    remove(path);
    const char *tasks[] = {"a"};
    taml_api_settings st = {.method = "random", .n_tasks = 1, .tasks = tasks, .trials = 20,
                            .space_json = example_space, .pruner = "hyperband"};
    taml_api_study *s = NULL;
    CHECK_EQ_INT(taml_api_study_open(&s, path, &st, msg), TAML_API_EINVAL);
    CHECK_CONTAINS(msg, "pruner 'hyperband' is not none, median or asha");
    st.pruner = "asha";
    st.prune_eta = 1;
    CHECK_EQ_INT(taml_api_study_open(&s, path, &st, msg), TAML_API_EINVAL);
    CHECK_CONTAINS(msg, "--prune-eta");
    st.prune_eta = 0;
    st.prune_warmup = 1;
    CHECK_MSG(taml_api_study_open(&s, path, &st, msg) == 0, "%s", msg);
    int told_pruned = 0;
    for (int i = 0; i < 20 && !told_pruned; i++) {
        taml_api_trial t;
        CHECK_MSG(taml_api_ask(s, NULL, &t, msg) == 0, "%s", msg);
        int long_one = strstr(t.config_json, "\"samples\":3000") != NULL;
        CHECK_EQ_INT(t.n_rungs, long_one ? 1 : 0);
        if (long_one) {
            CHECK_EQ_INT(t.rung_samples[0], 1000);
            CHECK_EQ_INT(taml_api_tell(s, t.id, "pruned", NAN, NAN, msg), TAML_API_EINVAL);
            CHECK_CONTAINS(msg, "a pruned trial needs its rung values");
            double v = 0.25;
            CHECK_MSG(taml_api_tell_rungs(s, t.id, "pruned", NAN, NAN, 1, &v, msg) == 0, "%s",
                      msg);
            told_pruned = 1;
        } else {
            CHECK_MSG(taml_api_tell(s, t.id, "done", 0.5, NAN, msg) == 0, "%s", msg);
        }
        taml_api_trial_deinit(&t);
    }
    CHECK(told_pruned);
    taml_api_study_close(s);
    char *cmd = taml_asprintf("sqlite3 %s \"SELECT state, valid_acc, rung FROM trials WHERE "
                              "state = 'pruned'\"",
                              path);
    char *out = NULL;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_STR(out, "pruned|0.25|0\n");
    free(out);
    free(cmd);
    free(path);
}

/* taml_api_train_rungs: the rungs' accuracies are those `taml train --rungs`
 * prints and do not change the training (the end equals taml_api_train's);
 * a threshold above a rung's accuracy stops the child there ("pruned", its
 * valid that rung's, test NaN, later rungs NaN); rungs that cannot be run are
 * refused with what is wrong. */
TEST(api_train_at_rungs_measures_them_as_taml_train_does_and_prunes_below_a_threshold)
{
    const char *task = "tests/fixtures/tasks/child-topics";
    const char *cfg = "{\"embedding\":\"random-16\",\"fine_tune\":false,\"layers\":1,"
                      "\"hidden_size\":16,\"activation\":\"relu\",\"normalization\":\"none\","
                      "\"dropout\":0.0,\"deep_lr\":0.3,\"deep_l2\":0,\"wide_lr\":0.3,"
                      "\"wide_l1\":0,\"samples\":3000}";
    char msg[TAML_API_MSG];
    taml_api_result plain, r;
    CHECK_MSG(taml_api_train(task, cfg, NULL, 5, &plain, msg) == 0, "%s", msg);
    int64_t samples[2] = {1000, 2000};
    double none[2] = {NAN, NAN}, acc[2];
    int32_t reached = -1;
    CHECK_MSG(taml_api_train_rungs(task, cfg, NULL, 5, 2, samples, none, acc, &reached, &r, msg) ==
                  0,
              "%s", msg);
    CHECK_STR(r.state, "ok");
    CHECK_EQ_INT(reached, 2);
    CHECK(r.valid == plain.valid && r.test == plain.test && r.steps == plain.steps);
    /* the same rungs through the command line */
    char *cmd = taml_asprintf("%s train --task %s --config '%s' --seed 5 --json --rungs 1000,2000",
                              taml_test_bin(), task, cfg), *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    for (int k = 0; k < 2; k++) {
        char *want = taml_asprintf("{\"rung\":%d,\"samples\":%lld,\"valid_acc\":%.17g}", k,
                                   (long long)samples[k], acc[k]);
        CHECK_CONTAINS(out, want);
        free(want);
    }
    free(out);
    free(cmd);
    /* a threshold above the first rung's accuracy prunes there */
    double high[2] = {acc[0] + 1e-9 > 1 ? 1 : acc[0] + 1e-9, NAN}, acc2[2];
    CHECK(acc[0] < 1);
    CHECK_MSG(taml_api_train_rungs(task, cfg, NULL, 5, 2, samples, high, acc2, &reached, &r, msg) ==
                  0,
              "%s", msg);
    CHECK_STR(r.state, "pruned");
    CHECK_EQ_INT(reached, 1);
    CHECK(acc2[0] == acc[0] && r.valid == acc[0] && isnan(r.test) && isnan(acc2[1]));
    CHECK(r.steps < plain.steps);
    /* rungs that cannot be run */
    int64_t late[1] = {3000}, back[2] = {2000, 1000};
    CHECK_EQ_INT(taml_api_train_rungs(task, cfg, NULL, 5, 1, late, none, acc, &reached, &r, msg),
                 TAML_API_EINVAL);
    CHECK_CONTAINS(msg, "rung 0: 3000 samples is not below the config's samples (3000)");
    CHECK_EQ_INT(taml_api_train_rungs(task, cfg, NULL, 5, 2, back, none, acc, &reached, &r, msg),
                 TAML_API_EINVAL);
    CHECK_CONTAINS(msg, "rung 1: 1000 samples is not above 2000");
    double bad[1] = {1.5};
    CHECK_EQ_INT(taml_api_train_rungs(task, cfg, NULL, 5, 1, samples, bad, acc, &reached, &r, msg),
                 TAML_API_EINVAL);
    CHECK_CONTAINS(msg, "rung 0: threshold 1.5 is not in [0, 1] or NAN");
    CHECK_EQ_INT(taml_api_train_rungs(task, cfg, NULL, 5, 25, samples, none, acc, &reached, &r,
                                      msg),
                 TAML_API_EINVAL);
    CHECK_CONTAINS(msg, "25 rungs: a trial has 0 to 24");
}
