/* exec/mpi.h - the executor over MPI ranks: `mpirun -n K taml search ...`.
 *
 * Rank 0 runs the search loop as on one machine (controller, study store);
 * its executor (exec/pool.h) is a taml_pool whose workers are the threads of
 * ranks 1..K-1. Each worker rank runs its own thread pool of `threads`
 * children and serves jobs until rank 0 says STOP:
 *
 *   rank 0                                   rank r >= 1
 *   taml_mpi_pool_new   <------ HELLO ------ taml_mpi_serve (threads, tasks fp)
 *   taml_pool_submit    ------- JOB ------->   local thread pool -> child
 *   taml_pool_wait      <------ RESULT -----   (one per job)
 *   taml_pool_free      ------- STOP ------>   finish running jobs
 *                       <------ BYE --------   then return
 *
 * Messages are exec/wire.h's, validated on receipt. A malformed message, a
 * result for a trial the rank was not running, or a worker rank that leaves
 * before STOP make taml_pool_wait fail with the reason: the search stops with
 * that error and the trials that were out are re-run by the next run (the
 * store's resume). A rank that dies makes Open MPI abort the whole job (its
 * default); the study resumes the same way.
 *
 * Tasks and modules are not sent: every rank reads them from the same paths
 * (a shared filesystem, the norm on clusters). Modules are large (hundreds
 * of MB) and each rank maps them read-only and builds its own feature cache,
 * so shipping them through rank 0 would make rank 0 the bottleneck and
 * double the memory; rank 0 checks instead that every rank loaded the same
 * task list (a fingerprint in HELLO), and a missing module fails that trial
 * with the path in its error, as on one machine.
 *
 * All MPI calls happen on the thread that called taml_mpi_open
 * (MPI_THREAD_FUNNELED); the child threads never touch MPI. Waiting is
 * polling with short sleeps (20 us doubling to 1 ms) rather than Open MPI's
 * blocking calls, which spin: on oversubscribed nodes spinning ranks would
 * steal the cores the children need.
 *
 * This is the only file pair with MPI code; mpi.c compiles against <mpi.h>
 * only with `make MPI=1` (TAML_MPI defined). Without it every function here
 * exists and fails with a message saying how to build with MPI, so that
 * `taml search` under mpirun refuses to run K copies of one search.
 */
#ifndef TAML_EXEC_MPI_H
#define TAML_EXEC_MPI_H

#include <stdint.h>

#include "core/err.h"
#include "exec/pool.h"

typedef struct taml_mpi taml_mpi;

/* 1 when this build has the MPI transport (make MPI=1), else 0. */
int taml_mpi_built(void);

/* The number of processes the launcher started, from the values of the
 * variables it sets in its processes' environment: Open MPI's
 * OMPI_COMM_WORLD_SIZE, else PMI_SIZE of MPICH and Slurm (NULL or "" when
 * unset; the CLI reads them, src/cli/main.c). 1 when neither is set (not
 * started by a launcher) or the first one set is not a number in 2..999999.
 * Calls no MPI, so it works in every build. */
int taml_mpi_launch_size(const char *ompi_comm_world_size, const char *pmi_size);

/* Starts MPI (once per process) on the calling thread. Errors: not built
 * with MPI, MPI_Init failing, a thread level below FUNNELED. */
int taml_mpi_open(taml_mpi **out, taml_err *err);
/* Ends MPI (MPI_Finalize) after the pools and serve loops are done. NULL is
 * a no-op. */
void taml_mpi_close(taml_mpi *m);
int taml_mpi_rank(const taml_mpi *m);
int taml_mpi_size(const taml_mpi *m);

/* Rank 0: waits for every worker rank's HELLO and returns a pool whose
 * workers are all their threads (worker indices: rank 1's threads first).
 * Fails, after telling the worker ranks to stop, when a rank could not start
 * or loaded another task list (tasks_fp: taml_wire_tasks_fp of rank 0's).
 * Free the pool (which stops the worker ranks) before taml_mpi_close. */
int taml_mpi_pool_new(taml_mpi *m, uint64_t tasks_fp, taml_pool **out, taml_err *err);

/* Ranks >= 1: runs jobs from rank 0 on `threads` threads calling fn(ctx, ...)
 * (as taml_pool_new), or on the pool `local` when it is not NULL (borrowed:
 * exec/proc.h's worker processes, made before MPI started; then threads and
 * fn are not used and the rank offers its workers), until rank 0 sends
 * STOP; returns 0 then. A local pool's TAML_JOB_DIED and TAML_JOB_TIMEOUT
 * results go to rank 0 as any other. Returns a negative status when rank
 * 0's messages are malformed, the local pool fails or MPI fails (after
 * telling rank 0 why, when it can). */
int taml_mpi_serve(taml_mpi *m, int32_t threads, taml_job_fn fn, void *ctx, taml_pool *local,
                   uint64_t tasks_fp, taml_err *err);

#endif
