/* search/objective.h - an outside command as the trial (`taml search
 * --objective CMD`): each trial runs CMD with the trial's configuration and
 * reads its accuracies back, so that the search (any method, multitask and
 * transfer included) tunes any program in any language. It is an executor
 * job like the built-in child (search/child.h), run in the worker processes
 * of exec/proc.h (or threads, or MPI ranks) with their limits.
 *
 * The protocol, for one trial:
 *   /bin/sh -c CMD, in a process group of its own, with
 *     stdin        the config JSON and a newline (then end of file)
 *     environment  the search's, plus TAML_TRIAL (the id), TAML_SEED (the
 *                  trial's seed, decimal) and TAML_TASK (the task as given
 *                  to --task: a name or a directory the command knows)
 *   it prints on stdout, as its last non-empty line, one JSON object
 *     {"valid": V, "test": T}   V in [0, 1] (the reward); T in [0, 1], null
 *                               or absent (not known)
 *   and exits 0. Everything else is a recorded failed trial, with the tail
 *   of the command's stderr: a non-zero exit or a signal, no line, a last
 *   line that is not such an object, more than TAML_OBJECTIVE_MAX_OUTPUT
 *   bytes on stdout (the command is killed), and a command still running
 *   after the timeout (its whole process group is killed). When it ends,
 *   what it left running in its group is killed too; a worker that dies
 *   kills the command with it (PR_SET_PDEATHSIG).
 */
#ifndef TAML_SEARCH_OBJECTIVE_H
#define TAML_SEARCH_OBJECTIVE_H

#include <stdint.h>

#include "core/err.h"
#include "exec/pool.h"

/* Bytes of stdout an objective may print (10 MiB). */
#define TAML_OBJECTIVE_MAX_OUTPUT (10 * 1024 * 1024)

typedef struct taml_objective taml_objective;

/* The command cmd for n_tasks tasks, task_args[i] as given (TAML_TASK);
 * each task's name in the study is its base name. timeout: seconds a
 * trial's command may run (0: no limit). Copies what it needs. */
int taml_objective_new(taml_objective **out, const char *cmd, int32_t n_tasks,
                       const char *const *task_args, double timeout, taml_err *err);
void taml_objective_free(taml_objective *o);
/* The tasks' names (n_tasks), owned by o. */
const char *const *taml_objective_names(const taml_objective *o);

/* A taml_job_fn (exec/pool.h): ctx is a taml_objective. Reports done with
 * the accuracies the command printed, or failed with why. Safe to call
 * from several threads at once. */
void taml_objective_job(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out);

#endif
