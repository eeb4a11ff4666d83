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
 */
#ifndef TAML_SEARCH_EXPORT_H
#define TAML_SEARCH_EXPORT_H

#include <stdint.h>

#include "core/err.h"
#include "nn/model.h"

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

#endif
