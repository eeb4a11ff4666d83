/* exec/proc.h - the executor over worker processes (`taml search
 * --isolation process`, the default): a child that crashes, hangs or runs
 * out of memory takes down its own process, never the search.
 *
 * Workers are long-lived processes, one job at a time each, running the job
 * function with the context they inherited by fork (the loaded tasks; each
 * builds its own features cache and maps the modules it needs). They speak
 * exec/wire.h's messages over a socketpair, as the MPI ranks do:
 *
 *   search process P                 fork server S               worker i
 *   taml_proc_pool_new  --- fork --> (no thread, no study, no lock)
 *   first submit        -- SPAWN i -> fork + socketpair ----------> limits
 *                       <- SPAWNED i, pid, socket (SCM_RIGHTS)
 *                       <--------------------- HELLO --------------------
 *   taml_pool_submit    ---------------------- JOB --------------------> fn(ctx, i, job)
 *   taml_pool_wait      <--------------------- RESULT -------------------
 *                       <- EXITED i, pid, wait status, the last "taml:" line it wrote
 *   timeout             -- KILL i -> SIGKILL
 *   taml_pool_free      ---------------------- STOP -------------------> BYE, exits
 *
 * Why a fork server. fork() copies only the calling thread; a lock another
 * thread held at that moment stays locked forever in the copy. The search
 * process may have threads (Open MPI's under mpirun, a sanitizer's), holds
 * the study's lock and SQLite's descriptors, and must replace a worker in
 * the middle of a search. So it forks once, when the pool is made (the CLI
 * does that before MPI starts, before the study is opened and before any
 * thread), and from then on only S forks: a single-threaded process that
 * holds no lock, runs no job and keeps no descriptor but its own (it closes
 * every inherited one at start). Workers close theirs too.
 *
 * A worker that dies (a signal, an exit, the OOM killer) while it runs a job
 * gives that job the result status TAML_JOB_DIED, its error naming the
 * signal or exit status and the last line starting with "taml:" the worker
 * wrote to stderr (an assertion's file:line, "out of memory allocating N
 * bytes"); a job that runs longer than `timeout` seconds has its worker
 * killed and gets TAML_JOB_TIMEOUT. Either way the worker is replaced and
 * the pool goes on; whether the trial runs again is the search's decision.
 * A worker that dies three times in a row before it is ready (its HELLO)
 * makes taml_pool_wait fail: a worker that cannot start would be replaced
 * forever. `memory_mb` is each worker's RLIMIT_DATA: its heap and private
 * writable mappings (what malloc takes, including what it inherited: the
 * loaded tasks), not the modules it maps read-only; an allocation past it
 * fails (the child's block: a failed trial with TAML_ENOMEM; any other: the
 * worker aborts and the job gets TAML_JOB_DIED with the message).
 *
 * Workers' stderr goes through S, which copies it to its own (the search
 * process's) line by line and keeps each worker's last "taml:" line for the
 * report of its death. S and the workers ignore SIGINT and SIGTERM (Ctrl-C
 * stops the search, which lets running trials finish) and die with their
 * parent (PR_SET_PDEATHSIG): a search killed with kill -9 leaves no
 * process behind. The messages between P and S are plain structs: S is a
 * fork of P, the same program, and they never leave the machine.
 *
 * Linux only (PR_SET_PDEATHSIG, SCM_RIGHTS, RLIMIT_DATA).
 */
#ifndef TAML_EXEC_PROC_H
#define TAML_EXEC_PROC_H

#include <stdint.h>

#include "core/err.h"
#include "exec/pool.h"

typedef struct taml_proc_opts {
    int32_t workers;   /* 1..4096 */
    double timeout;    /* seconds a job may run, > 0; 0: no limit */
    int64_t memory_mb; /* each worker's RLIMIT_DATA in MiB, >= 1; 0: no limit */
} taml_proc_opts;

/* Forks the fork server (call it before any thread starts, see above) and
 * returns a pool whose workers run fn(ctx, ...), as taml_pool_new's threads
 * do; ctx is used in the workers only, as it was at this call (later
 * changes in the caller's memory are not seen). Workers start at the first
 * submit. Errors: options out of range, fork or socketpair failing. */
int taml_proc_pool_new(taml_pool **out, const taml_proc_opts *o, taml_job_fn fn, void *ctx,
                       taml_err *err);

#endif
