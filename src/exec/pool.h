/* exec/pool.h - the executor: runs jobs (one trial each) on K workers and
 * hands their results back to the one thread that submits them.
 *
 * The search layer's main thread owns the controller and the study store; it
 * submits jobs and collects results as they finish, in whatever order the
 * workers finish them. What a job does is a function pointer (the child
 * model in `taml search`, a fake that sleeps or computes in the tests), so
 * this layer knows nothing of models or tasks.
 *
 * Workers here are POSIX threads sharing the process (read-only tasks and
 * modules are shared through `ctx`). The interface is a transport: another
 * backend (worker processes, exec/proc.h; MPI ranks, exec/mpi.h) sits
 * behind the same calls by providing its own taml_pool_ops; a job and a
 * result are plain data that travel as bytes (the config is a JSON string),
 * with no pointers into the submitter's memory.
 *
 *   main thread                         worker threads (K)
 *   taml_pool_submit --> [job queue] --> fn(ctx, worker, job, result)
 *   taml_pool_wait   <-- [result queue] <------------------+
 */
#ifndef TAML_EXEC_POOL_H
#define TAML_EXEC_POOL_H

#include <stdint.h>

#include "core/err.h"

/* The most rungs a job carries (search/prune.h: rung k at min x eta^k
 * samples; 1e3 x 2^k passes 1e6 at k = 10, so 24 is room to spare). */
#define TAML_JOB_RUNGS 24

/* One unit of work: train trial `id` of task index `task` with config_json
 * (the 12 decisions by name) and the child seed.
 *
 * Rungs (a search with a pruner, search/prune.h): after rung_samples[k]
 * training samples the child measures its validation accuracy; when it is
 * below rung_threshold[k] the child stops there and reports itself pruned
 * (a NaN threshold: measure, never stop). The thresholds are fixed when the
 * job is made, so a job needs no message back while it runs. n_rungs = 0:
 * no rung (every search without a pruner). */
typedef struct taml_job {
    int64_t id;
    int32_t task;
    const char *config_json; /* borrowed by submit, which copies it */
    uint64_t seed;
    int32_t n_rungs;                          /* 0 .. TAML_JOB_RUNGS */
    int64_t rung_samples[TAML_JOB_RUNGS];     /* (n_rungs) ascending, each >= 1 */
    double rung_threshold[TAML_JOB_RUNGS];    /* (n_rungs) in [0, 1] or NaN */
} taml_job;

/* What a job returns. status is a final trial state of store/store.h's
 * machine (done, diverged, invalid, failed, pruned), kept as an int here so that the
 * executor does not depend on the store, or one of the two statuses below
 * that only a backend gives (never a job function): the job has no outcome
 * because its worker process died or ran out of time (exec/proc.h), and
 * the error says how. They travel on the wire like the others (an MPI rank
 * whose children run in processes passes them on). */
#define TAML_JOB_ERR TAML_ERR_MSG
enum {
    TAML_JOB_DIED = 32,    /* the worker died while it ran the job: the search may run it again */
    TAML_JOB_TIMEOUT = 33, /* the job ran past the time limit and its worker was killed */
};
typedef struct taml_job_result {
    int64_t id;     /* the job's id */
    int32_t task;   /* the job's task */
    int32_t worker; /* which worker ran it, 0..K-1 */
    int status;
    double valid_acc, test_acc, loss;
    int64_t steps;
    double train_seconds; /* wall time of the job function */
    /* Rungs: the validation accuracy at each rung of the job reached
     * (n_rungs of the job's, fewer when it stopped or diverged first), and
     * with status pruned (store/store.h) the rung it stopped at (0 otherwise):
     * then valid_acc is that rung's accuracy, test_acc NaN (not measured). */
    int32_t n_rungs;
    double rung_acc[TAML_JOB_RUNGS];
    int32_t pruned_rung;
    char error[TAML_JOB_ERR]; /* why it failed, "" otherwise */
} taml_job_result;

/* Runs one job on worker `worker` (0..K-1) and fills *out (id, task, worker
 * and train_seconds are filled by the pool; out arrives zeroed). Called concurrently from K
 * threads with the same ctx: ctx must be safe to share (read-only, or
 * per-worker state indexed by `worker`). Must not longjmp or exit; a failure
 * is reported in out->status / out->error. */
typedef void (*taml_job_fn)(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out);

typedef struct taml_pool taml_pool;

/* Starts K >= 1 worker threads that run fn(ctx, ...). */
int taml_pool_new(taml_pool **out, int32_t workers, taml_job_fn fn, void *ctx, taml_err *err);
/* Stops the workers after the jobs already running finish; jobs still queued
 * are dropped and their results lost. NULL is a no-op. */
void taml_pool_free(taml_pool *p);

int32_t taml_pool_workers(const taml_pool *p);
/* Queues a job (copies its config). Never blocks. */
int taml_pool_submit(taml_pool *p, const taml_job *job, taml_err *err);
/* Jobs submitted whose results have not yet been taken by taml_pool_wait. */
int64_t taml_pool_pending(const taml_pool *p);
/* Waits up to timeout seconds (< 0: forever) for the next finished job.
 * Returns 1 with *out filled, 0 on timeout or when nothing is pending, or a
 * negative status when the transport failed (the threads backend never
 * does; MPI: a malformed message, a worker rank that stopped): the jobs out
 * are then lost to this pool, and taml_pool_error says why. */
int taml_pool_wait(taml_pool *p, taml_job_result *out, double timeout);
/* Why the last taml_pool_wait failed ("" when it did not). */
const char *taml_pool_error(const taml_pool *p);

/* A backend: what another transport (MPI) implements to stand behind the
 * same calls. The threads backend is the default. */
typedef struct taml_pool_ops {
    int (*submit)(void *impl, const taml_job *job, taml_err *err);
    /* as taml_pool_wait; a negative status comes with err set */
    int (*wait)(void *impl, taml_job_result *out, double timeout, taml_err *err);
    void (*free)(void *impl);
} taml_pool_ops;
/* Wraps a backend (impl is owned by the pool and freed by ops->free). */
taml_pool *taml_pool_from_ops(const taml_pool_ops *ops, void *impl, int32_t workers);

#endif
