/* search/export.h - the best model of a study, as `taml export` makes it:
 * the trial with the highest validation accuracy of one task (ties: the
 * earliest), retrained from its recorded config and seed, checked to give
 * the recorded accuracies, and turned into a model (nn/model.h).
 *
 * Why retrain rather than keep every trial's weights: a search trains
 * thousands of children and keeps none; a child is deterministic given
 * (task, config, module, seed) on one thread, so the best one can be made
 * again exactly. The check proves it was: if the task files, the module or
 * taml changed since the search, the accuracies differ and the export is
 * refused instead of shipping a model that is not the one the study scored.
 *
 * The steps are public for search/ensemble.h, which retrains several trials
 * the same way: the study's ranking of a task's trials
 * (taml_export_source_open), the task as the study saw it
 * (taml_export_task_load), the library and the module file it recorded
 * (taml_export_module_dir, taml_export_module_open), one trial retrained
 * and checked (taml_export_retrain) and the provenance a model carries.
 */
#ifndef TAML_SEARCH_EXPORT_H
#define TAML_SEARCH_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"
#include "nn/model.h"
#include "store/store.h"

typedef struct taml_export_info {
    int64_t trial;     /* the exported trial's id */
    uint64_t seed;     /* its child seed */
    int64_t candidates; /* trials of the task with a model (done or diverged) */
    double valid_acc, test_acc; /* recorded, and equal to the retrained ones */
    char state[16];             /* "done" or "diverged" */
    char config[1024];          /* its config JSON */
    char task_dir[4096];        /* where the task was loaded from */
    double train_s;             /* seconds to retrain it */
} taml_export_info;

/* Exports the best trial of task task_name in the study at study_path.
 * task_dir overrides the directory the study recorded for the task (NULL:
 * the recorded one, relative to the working directory as the search saw
 * it). Modules are opened by the config's name in module_dir (taml_module_open)
 * when given, else in the library the study recorded (while it exists),
 * else in default_module_dir. provenance is stored in the model (study,
 * trial, seed, method, accuracies, module, task dir). Errors: TAML_ENOTFOUND
 * (no such task, or no trial with a model), TAML_EMISMATCH (the task
 * directory holds another task, or other data than the study recorded for
 * it; the module file is not the one it recorded; the retrained accuracies
 * differ from the recorded ones), and those of the store, task and module
 * loaders. */
int taml_export_best(const char *study_path, const char *task_name, const char *task_dir,
                     const char *module_dir, const char *default_module_dir, taml_model **out,
                     taml_export_info *info, taml_err *err);

/* ---- the steps ---------------------------------------------------------- */

/* A trial with a model, as the study recorded it. */
typedef struct taml_export_trial {
    int64_t id;
    uint64_t seed;
    double valid_acc, test_acc;
    char state[16]; /* "done" or "diverged" */
    char *config;   /* its config JSON (heap) */
} taml_export_trial;

/* What the study says about one task: its trials with a model (done or
 * diverged, with a finite validation accuracy), the best first, and what
 * the checks below compare with (the study stays open to read). */
typedef struct taml_export_source {
    taml_store *store;       /* the study, open to read */
    char *study_path;
    char *task_name;
    char *method;            /* the study's method */
    char *task_dir;          /* the directory the study recorded for the task */
    char *modules_dir;       /* the library it recorded, or NULL */
    int32_t task;            /* the task's index in the study */
    int64_t n_finished;      /* the task's finished trials (every final state) */
    int64_t n_models;        /* the task's trials with a model */
    int32_t n_best;          /* how many of them follow (min(n_models, asked)) */
    taml_export_trial *best; /* (n_best) by validation accuracy, ties: the earlier trial */
} taml_export_source;

/* Opens the study at study_path to read task task_name, keeping its n_best
 * (>= 1) best trials. Errors: those of the store, TAML_ENOTFOUND (no study,
 * no such task: the message lists the study's tasks; no trial with a model
 * yet). The strings are heap copies; deinit closes the study. */
int taml_export_source_open(const char *study_path, const char *task_name, int32_t n_best,
                            taml_export_source *out, taml_err *err);
void taml_export_source_deinit(taml_export_source *s);

/* The library modules are opened from: module_dir when given, else the one
 * the study recorded (while it is a directory), else default_dir. */
const char *taml_export_module_dir(const taml_export_source *s, const char *module_dir,
                                   const char *default_dir);

/* Loads the task from task_dir (NULL: the directory the study recorded) and
 * checks that it is the task, with the data the study recorded for it when
 * it recorded any (TAML_EMISMATCH naming both otherwise). *used points at
 * the directory loaded. */
int taml_export_task_load(const taml_export_source *s, const char *task_dir, taml_task **out,
                          const char **used, taml_err *err);

/* Parses trial t's config and checks it makes a model: TAML_EINVAL for
 * both towers disabled, or a text task's config naming no module. */
int taml_export_config(const taml_export_trial *t, const taml_task *task, taml_child_config *cfg,
                       taml_err *err);

/* 1 when trial config cfg on task reads a module file: a text task's
 * embedding, or an image task's image module feeding its deep tower (not
 * "pixels", not with the deep tower disabled); 0 when it reads pixels. */
int taml_export_uses_module(const taml_task *task, const taml_child_config *cfg);
/* Opens module name from module_dir once it is the file the study recorded
 * under the name, when it recorded one (TAML_EMISMATCH naming both
 * otherwise). */
int taml_export_module_open(const taml_export_source *s, const char *name, const char *module_dir,
                            taml_module **out, taml_err *err);

/* Retrains trial t from cfg (its parsed config) on f (the features of its
 * task and module) with its seed, and checks that the validation and test
 * accuracies and the state are the recorded ones bit for bit
 * (TAML_EMISMATCH naming the trial, both sets of numbers and the module
 * otherwise). *out is the trained child (caller frees); *train_s the
 * seconds it took. */
int taml_export_retrain(const taml_export_trial *t, const taml_child_config *cfg,
                        const taml_features *f, taml_child **out, double *train_s, taml_err *err);

/* The provenance JSON a model of trial t carries (heap): the study (its
 * absolute path), method, trial, seed, state, accuracies, module, task dir
 * and the export time. */
char *taml_export_provenance(const taml_export_source *s, const taml_export_trial *t,
                             const char *module, const char *task_dir);

#endif
