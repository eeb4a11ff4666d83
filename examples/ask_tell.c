/* examples/ask_tell.c - libtaml's public API end to end (include/taml/taml.h):
 * a study made with a small search space, an ask/tell loop that trains
 * each trial with the built-in child (any code could train it instead),
 * the best model exported and asked for a label.
 *
 *   cc -std=c11 ask_tell.c $(pkg-config --cflags --libs taml) -o ask_tell
 *   ./ask_tell STUDY.db TASK_DIR [TRIALS] [MODEL.taml [TEXT]]
 *
 * TASK_DIR is a task directory (docs/formats.md), e.g. tests/fixtures/tasks/
 * child-topics of taml's source tree. Prints one line per trial and the best. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <taml/taml.h>

/* The built-in child's twelve decisions, a few of them with a choice (a
 * small space keeps the example fast). random-16 is a built-in module (no
 * library needed). */
static const char *space =
    "{\"embedding\":[\"random-16\"],\"fine_tune\":[false],\"layers\":[1,2],"
    "\"hidden_size\":[16,64],\"activation\":[\"relu\"],\"normalization\":[\"none\"],"
    "\"dropout\":[0.0],\"deep_lr\":[0.03,0.3],\"deep_l2\":[0],\"wide_lr\":[0.03,0.3],"
    "\"wide_l1\":[0],\"samples\":[1000,3000]}";

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s STUDY.db TASK_DIR [TRIALS] [MODEL.taml [TEXT]]\n", argv[0]);
        return 2;
    }
    const char *study_path = argv[1], *task_dir = argv[2];
    int trials = argc > 3 ? atoi(argv[3]) : 6;
    const char *model_path = argc > 4 ? argv[4] : NULL;
    char msg[TAML_API_MSG];
    taml_api_init(); /* before any thread would train */

    /* the task's name: its directory's (export checks the directory holds it) */
    const char *slash = strrchr(task_dir, '/');
    const char *name = slash && slash[1] ? slash + 1 : task_dir;
    const char *tasks[] = {name}, *dirs[] = {task_dir};
    taml_api_settings st = {.method = "aml", .n_tasks = 1, .tasks = tasks, .task_dirs = dirs,
                            .trials = trials, .space_json = space, .seed = 7};
    taml_api_study *s;
    if (taml_api_study_open(&s, study_path, &st, msg)) {
        fprintf(stderr, "taml: %s\n", msg);
        return 1;
    }
    int rc = 0;
    for (;;) {
        taml_api_trial t;
        int got = taml_api_ask(s, NULL, &t, msg);
        if (got == TAML_API_ENOTFOUND) break; /* the study is complete */
        if (got) {
            fprintf(stderr, "taml: %s\n", msg);
            rc = 1;
            break;
        }
        /* trained at the trial's rungs (none unless the study has a pruner),
         * stopping below a rung's threshold */
        taml_api_result r;
        double rung_acc[TAML_API_RUNGS];
        int32_t reached;
        if (taml_api_train_rungs(task_dir, t.config_json, NULL, t.seed, t.n_rungs, t.rung_samples,
                                 t.rung_threshold, rung_acc, &reached, &r, msg)) {
            /* a trial that cannot train is told as failed: the study goes on */
            taml_api_tell(s, t.id, "failed", NAN, NAN, NULL);
            fprintf(stderr, "trial %lld failed: %s\n", (long long)t.id, msg);
        } else {
            const char *state = strcmp(r.state, "ok") == 0 ? "done" : r.state;
            if (taml_api_tell_rungs(s, t.id, state, r.valid, r.test, reached, rung_acc, msg)) {
                fprintf(stderr, "taml: %s\n", msg);
                rc = 1;
            }
            printf("trial %lld %s valid %.4f test %.4f %s\n", (long long)t.id, state, r.valid,
                   r.test, t.config_json);
        }
        taml_api_trial_deinit(&t);
        if (rc) break;
    }
    taml_api_study_close(s);
    if (rc || !model_path) return rc;

    if (taml_api_export(study_path, name, model_path, NULL, msg)) {
        fprintf(stderr, "taml: %s\n", msg);
        return 1;
    }
    taml_api_model *m;
    if (taml_api_model_open(&m, model_path, msg)) {
        fprintf(stderr, "taml: %s\n", msg);
        return 1;
    }
    int32_t n, label;
    const char *const *classes = taml_api_model_classes(m, &n);
    const char *text = argc > 5 ? argv[5] : "the cat sat on the mat";
    double *proba = calloc((size_t)n, sizeof *proba);
    if (taml_api_predict(m, text, strlen(text), &label, proba, msg)) {
        fprintf(stderr, "taml: %s\n", msg);
        rc = 1;
    } else {
        printf("exported %s; \"%s\": %s (%.3f)\n", model_path, text, classes[label], proba[label]);
    }
    free(proba);
    taml_api_model_close(m);
    return rc;
}
