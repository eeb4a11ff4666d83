/* tests/study_fixture.c - see study_fixture.h. */
#include "study_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "ctrl/controller.h"
#include "space/space.h"
#include "store/store.h"
#include "test.h"

#define SPACE "{\"layers\":[1,2,3],\"activation\":[\"relu\",\"swish\"]}"

/* Adds one trial of task to s, finished in state st with accuracies v / t
 * (PENDING leaves it queued). */
static void put_trial(taml_store *s, int32_t task, taml_trial_state st, double v, double t,
                      int32_t a0, int32_t a1)
{
    int32_t acts[2] = {a0, a1};
    char cfg[96];
    snprintf(cfg, sizeof cfg, "{\"layers\":%d,\"activation\":\"%s\"}", a0 + 1,
             a1 ? "swish" : "relu");
    taml_trial tr = {.task = task, .method = "x", .config_json = cfg, .n_actions = 2,
                     .actions = acts, .seed = 1};
    taml_err err;
    TAML_ASSERT(taml_store_trial_add(s, &tr, &err) == 0);
    if (st == TAML_TRIAL_PENDING) return;
    TAML_ASSERT(taml_store_trial_start(s, tr.id, 0, &err) == 0);
    taml_trial r = {.state = st, .valid_acc = v, .test_acc = t, .loss = 0.5, .steps = 10,
                    .error = st == TAML_TRIAL_FAILED ? "out of memory" : NULL};
    TAML_ASSERT(taml_store_trial_finish(s, tr.id, &r, &err) == 0);
}

static taml_store *make_study(const char *path, const char *method, int n, char **names)
{
    char *dirs[3] = {"d/a", "d/b", "d/c"};
    taml_study st = {.method = (char *)method, .seed = 7, .space_json = SPACE,
                     .space_fingerprint = "ab", .trials_per_task = 12, .options_json = "{}",
                     .taml_version = "test", .n_tasks = n, .task_names = names,
                     .task_dirs = dirs};
    taml_store *s;
    taml_err err;
    remove(path);
    TAML_ASSERT(taml_store_open(&s, path, TAML_STORE_CREATE, &err) == 0);
    TAML_ASSERT(taml_store_create(s, &st, &err) == 0);
    return s;
}

/* A controller over the fixture's space with the three tasks, their
 * embeddings set to e, -e and a vector orthogonal to e. */
static void save_checkpoint(taml_store *s, char **names)
{
    taml_space *sp;
    taml_ctrl *c;
    taml_err err;
    TAML_ASSERT(taml_space_from_json(&sp, SPACE, "fixture", &err) == 0);
    TAML_ASSERT(taml_ctrl_new(&c, sp, NULL, &err) == 0);
    for (int t = 0; t < 3; t++) TAML_ASSERT(taml_ctrl_add_task(c, names[t], &err) == t);
    /* alpha: e = (1, 1, -1.5, -0.5, 0.5, ...) (no zero entry); beta: -e;
     * gamma: (1, -1, 0, ...), orthogonal to e. */
    for (int t = 0; t < 3; t++) {
        size_t n;
        double *e = taml_ctrl_params(c, TAML_CTRL_TASK, t, &n);
        TAML_ASSERT(n == TAML_CTRL_EMBED);
        for (size_t j = 0; j < n; j++) {
            double a = j < 2 ? 1.0 : (double)(j % 5) - 1.5;
            double g = j == 0 ? 1.0 : j == 1 ? -1.0 : 0.0;
            e[j] = t == 0 ? a : t == 1 ? -a : g;
        }
    }
    void *blob;
    size_t size;
    taml_ctrl_save(c, &blob, &size);
    TAML_ASSERT(taml_store_checkpoint_save(s, 14, blob, size, 0, NULL, NULL, &err) == 0);
    free(blob);
    taml_ctrl_free(c);
    taml_space_free(sp);
}

void make_fixture(char **rs_path, char **aml_path, int with_checkpoint)
{
    const char *dir = taml_test_tmpdir();
    *rs_path = taml_path_join(dir, "rs.db");
    *aml_path = taml_path_join(dir, "aml.db");
    char *n2[2] = {"alpha", "beta"}, *n3[3] = {"alpha", "beta", "gamma & <co>"};
    taml_store *s = make_study(*rs_path, "random", 2, n2);
    for (int i = 1; i <= 12; i++) {
        put_trial(s, 0, TAML_TRIAL_DONE, 0.59 + 0.01 * i, 0.54 + 0.01 * i, i % 3, i % 2);
        if (i <= 5) put_trial(s, 1, TAML_TRIAL_DONE, 0.5, 0.5, 0, 0);
    }
    taml_store_close(s);
    s = make_study(*aml_path, "aml", 3, n3);
    put_trial(s, 0, TAML_TRIAL_FAILED, NAN, NAN, 0, 0);
    for (int i = 0; i < 10; i++) put_trial(s, 0, TAML_TRIAL_DONE, 0.66, 0.60, 1, 0);
    put_trial(s, 0, TAML_TRIAL_DONE, 0.72, 0.70, 2, 1);
    put_trial(s, 0, TAML_TRIAL_DIVERGED, 0.30, 0.31, 2, 0);
    put_trial(s, 0, TAML_TRIAL_INVALID, 0.50, 0.50, 0, 1);
    put_trial(s, 0, TAML_TRIAL_PENDING, 0, 0, 0, 0);
    for (int i = 0; i < 3; i++) put_trial(s, 1, TAML_TRIAL_DONE, 0.8, 0.75, 0, 0);
    if (with_checkpoint) save_checkpoint(s, n3);
    taml_store_close(s);
}
