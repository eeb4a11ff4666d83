/* search/child.h - the job a search's workers run: one trial of the real
 * child model (src/nn) on a loaded task, as an executor job function.
 *
 * The runner owns what all trials share read-only: the loaded tasks, the
 * embedding modules (opened on first use, by the name a config gives), and
 * the (task, module) features cache of src/nn. Workers call
 * taml_child_runner_job concurrently.
 */
#ifndef TAML_SEARCH_CHILD_H
#define TAML_SEARCH_CHILD_H

#include <stdint.h>

#include "core/err.h"
#include "data/task.h"
#include "exec/pool.h"
#include "nn/image_features.h"

typedef struct taml_child_runner taml_child_runner;

/* Loads the n_tasks tasks in task_dirs (errors name the directory).
 * module_dir is the module library the configs' module names are found in
 * (taml_module_open; copied; NULL: only paths and random-D). */
int taml_child_runner_new(taml_child_runner **out, int32_t n_tasks, const char *const *task_dirs,
                          const char *module_dir, taml_err *err);
void taml_child_runner_free(taml_child_runner *r);
/* Options of the image features the runner's features cache computes
 * (threads, disk cache, the progress callback: nn/image_features.h);
 * copied. Call it before the first trial (and before the worker processes
 * are forked, which take the runner as it is then). */
void taml_child_runner_set_image_opts(taml_child_runner *r, const taml_image_features_opts *o);
/* The tasks' names, in the order given (owned by the runner). */
const char *const *taml_child_runner_names(const taml_child_runner *r);
/* The tasks' identities (data/task.h), in the order given (owned by the
 * runner): what a study records of its data (taml_search_opts). */
const taml_task_identity *taml_child_runner_identities(const taml_child_runner *r);
/* Checks that every choice of the space makes a configuration the child
 * accepts (each choice in turn, the other decisions at their first choice),
 * so that a space missing a decision or holding a value out of range is
 * refused before the search starts rather than failing every trial. The
 * message starts with origin (the space's file, or NULL: "the search
 * space") and names the decision and the choice at fault; a fault of every
 * configuration (a decision missing, or unknown to the child) names no
 * choice. */
struct taml_space;
int taml_child_runner_check_space(const taml_child_runner *r, const struct taml_space *space,
                                  const char *origin, taml_err *err);
/* A taml_job_fn: ctx is the runner. Parses the job's config, trains the
 * child with the job's seed and reports done / diverged / invalid with the
 * accuracies, or failed with the reason (bad config, missing module, ...). */
void taml_child_runner_job(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out);

#endif
