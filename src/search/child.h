/* search/child.h - the job a search's workers run: one trial of the real
 * child model (src/nn) on a loaded task, as an executor job function.
 *
 * The runner owns what all trials share read-only: the loaded tasks, the
 * embedding modules (opened on first use, by the name a config gives), and
 * the (task, module) features cache of src/nn. Workers call
 * taml_child_runner_job concurrently.
 *
 * With TAML_FAKE_CHILD=US in the environment the runner loads nothing and
 * runs the fake child of search.h instead (sleeping US microseconds per
 * trial); task names are then the directories' base names. That is for
 * taml's own resume tests and benchmarks only.
 */
#ifndef TAML_SEARCH_CHILD_H
#define TAML_SEARCH_CHILD_H

#include <stdint.h>

#include "core/err.h"
#include "exec/pool.h"

typedef struct taml_child_runner taml_child_runner;

/* Loads the n_tasks tasks in task_dirs (errors name the directory). */
int taml_child_runner_new(taml_child_runner **out, int32_t n_tasks, const char *const *task_dirs,
                          taml_err *err);
void taml_child_runner_free(taml_child_runner *r);
/* The tasks' names, in the order given (owned by the runner). */
const char *const *taml_child_runner_names(const taml_child_runner *r);
/* 1 when the runner runs the fake child. */
int taml_child_runner_is_fake(const taml_child_runner *r);
/* A taml_job_fn: ctx is the runner. Parses the job's config, trains the
 * child with the job's seed and reports done / diverged / invalid with the
 * accuracies, or failed with the reason (bad config, missing module, ...). */
void taml_child_runner_job(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out);

#endif
