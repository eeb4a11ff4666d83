/* tests/test_image_space.c - the default space of `taml search` by task
 * kind (cli/search.c): an image task gets pixels and the library's image
 * modules with fine_tune frozen, a text task the text modules alone, a
 * study of both kinds is refused naming the tasks, and a library without
 * image modules leaves pixels. No data/: the tiny fixture module and
 * u8-mini. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "embed/module.h"
#include "store/store.h"
#include "test.h"
#include "testutil.h"

/* A text module of three words beside the image module in lib. */
static void add_text_module(const char *lib)
{
    taml_module_info info = {.name = "words-4", .language = "en"};
    taml_module_writer *w = taml_module_writer_new(4, &info);
    static const char *words[] = {"cat", "dog", "bird"};
    for (int i = 0; i < 3; i++) {
        float v[4] = {(float)i, 1, 0, -1};
        CHECK(taml_module_writer_add(w, words[i], strlen(words[i]), v, NULL) == 1);
    }
    char *path = taml_path_join(lib, "words-4.tamlm");
    taml_err err;
    CHECK_MSG(taml_module_writer_finish(w, path, &err) == 0, "%s", err.msg);
    taml_module_writer_free(w);
    free(path);
}

/* The space JSON a study recorded (heap) and its finished trials' configs
 * joined (heap). */
static char *study_space(const char *db, char **configs)
{
    taml_store *s;
    taml_err err;
    CHECK_MSG(taml_store_open(&s, db, TAML_STORE_READONLY, &err) == 0, "%s", err.msg);
    taml_study st;
    CHECK(taml_store_study(s, &st, &err) == 0);
    char *space = taml_strdup(st.space_json);
    taml_study_deinit(&st);
    char *all = taml_strdup("");
    for (int64_t id = 1;; id++) {
        taml_trial t;
        if (taml_store_trial_get(s, id, &t, &err) != 0) break;
        char *next = taml_asprintf("%s%s\n", all, t.config_json);
        free(all);
        all = next;
        CHECK_MSG(t.state == TAML_TRIAL_DONE, "trial %lld: %s", (long long)id,
                  t.error ? t.error : "");
        taml_trial_deinit(&t);
    }
    taml_store_close(s);
    *configs = all;
    return space;
}

TEST(default_space_of_an_image_task_is_pixels_and_the_image_modules_with_fine_tune_false)
{
    char *lib = taml_test_tiny_image_library(), *dir = taml_test_image_task("u8-space"), *out;
    add_text_module(lib);
    char *cmd = taml_asprintf("search --study img.db --task %s --method random --trials 6 "
                              "--workers 2 --seed 5",
                              dir);
    CHECK_EQ_INT(taml_test_taml_in(lib, cmd, &out), 0);
    CHECK_CONTAINS(out, "6 trials");
    free(out);
    char *db = taml_path_join(taml_test_tmpdir(), "img.db"), *configs;
    char *space = study_space(db, &configs);
    CHECK_CONTAINS(space, "\"embedding\":[\"pixels\",\"tiny-cnn\"]");
    CHECK_CONTAINS(space, "\"fine_tune\":[false]");
    CHECK(!strstr(space, "words-4"));
    CHECK(!strstr(configs, "\"fine_tune\":true"));
    free(configs);
    free(space);
    free(db);
    free(cmd);
    free(dir);
    free(lib);
}

TEST(default_space_of_a_text_task_leaves_the_image_modules_out)
{
    char *lib = taml_test_tiny_image_library(), *out;
    add_text_module(lib);
    char *abs = realpath("tests/fixtures/tasks/child-topics", NULL);
    char *cmd = taml_asprintf("search --study txt.db --task %s --method random --trials 2 "
                              "--workers 1 --seed 5",
                              abs);
    CHECK_EQ_INT(taml_test_taml_in(lib, cmd, &out), 0);
    free(out);
    char *db = taml_path_join(taml_test_tmpdir(), "txt.db"), *configs;
    char *space = study_space(db, &configs);
    CHECK_CONTAINS(space, "\"embedding\":[\"words-4\"]");
    CHECK_CONTAINS(space, "\"fine_tune\":[false,true]");
    free(configs);
    free(space);
    free(db);
    free(cmd);
    free(abs);
    free(lib);
}

TEST(a_study_of_text_and_image_tasks_without_a_space_is_refused_naming_both_kinds)
{
    char *lib = taml_test_tiny_image_library(), *dir = taml_test_image_task("u8-mix"), *out;
    char *abs = realpath("tests/fixtures/tasks/child-topics", NULL);
    char *cmd = taml_asprintf("search --study mix.db --task %s --task %s --method multitask "
                              "--trials 2",
                              abs, dir);
    CHECK_EQ_INT(taml_test_taml_in(lib, cmd, &out), 1);
    char *want = taml_asprintf("the tasks are of two kinds: text (%s) and image (%s)", abs, dir);
    CHECK_CONTAINS(out, want);
    CHECK_CONTAINS(out, "search each kind in a study of its own, or give --space FILE.json");
    free(want);
    free(out);
    free(cmd);
    free(abs);
    free(dir);
    free(lib);
}

TEST(an_image_task_without_image_modules_searches_pixels_alone_and_says_so)
{
    char *lib = taml_path_join(taml_test_tmpdir(), "textlib"), *out;
    taml_err err;
    CHECK(taml_mkdirs(lib, &err) == 0);
    add_text_module(lib);
    char *dir = taml_test_image_task("u8-px");
    char *cmd = taml_asprintf("search --study px.db --task %s --method random --trials 2 "
                              "--workers 1 --seed 3",
                              dir);
    CHECK_EQ_INT(taml_test_taml_in(lib, cmd, &out), 0);
    CHECK_CONTAINS(out, "no image modules in");
    CHECK_CONTAINS(out, "the embedding decision is pixels alone");
    free(out);
    char *db = taml_path_join(taml_test_tmpdir(), "px.db"), *configs;
    char *space = study_space(db, &configs);
    CHECK_CONTAINS(space, "\"embedding\":[\"pixels\"]");
    free(configs);
    free(space);
    free(db);
    free(cmd);
    /* no library at all (CI without data/): the same */
    cmd = taml_asprintf("search --study px2.db --task %s --method random --trials 1 "
                        "--workers 1 --seed 3",
                        dir);
    char *none = taml_path_join(taml_test_tmpdir(), "nolib");
    CHECK_EQ_INT(taml_test_taml_in(none, cmd, &out), 0);
    CHECK_CONTAINS(out, "no module library at");
    free(out);
    free(none);
    free(cmd);
    free(dir);
    free(lib);
}

TEST(fine_tune_on_an_image_task_is_refused_never_ignored)
{
    char *lib = taml_test_tiny_image_library(), *dir = taml_test_image_task("u8-ft"), *out;
    static const char *modules[] = {"tiny-cnn", "pixels"};
    for (int k = 0; k < 2; k++) {
        char *cmd = taml_asprintf(
            "train --task %s --config '{\"embedding\":\"%s\",\"fine_tune\":true,\"layers\":1,"
            "\"hidden_size\":8,\"activation\":\"relu\",\"normalization\":\"none\",\"dropout\":0,"
            "\"deep_lr\":0.1,\"deep_l2\":0,\"wide_lr\":0.1,\"wide_l1\":0,\"samples\":1000}'",
            dir, modules[k]);
        CHECK_EQ_INT(taml_test_taml_in(lib, cmd, &out), 1);
        char *want = taml_asprintf("child: fine_tune is true, but an image task's extractor (%s) "
                                   "is never fine-tuned: give fine_tune false",
                                   modules[k]);
        CHECK_CONTAINS(out, want);
        free(want);
        free(out);
        free(cmd);
    }
    free(dir);
    free(lib);
}
