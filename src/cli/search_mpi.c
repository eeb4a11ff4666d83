/* cli/search_mpi.c - `mpirun -n K taml search ...`: every rank parses the
 * same command line and loads the same tasks (from paths all ranks see, see
 * exec/mpi.h for why); then rank 0 runs the study as on one machine, with
 * the other ranks' workers as its own, and ranks 1..K-1 serve children.
 * --workers is the number of workers per worker rank: threads, or with
 * --isolation process (the default) worker processes of the rank, each
 * with the limits given (the pool made before MPI started, see
 * exec/proc.h). */
#include "cli/search_mpi.h"

#include "exec/wire.h"

int taml_cli_search_mpi(taml_mpi **mpi, int launch_size, taml_search_opts *o, int32_t n_tasks,
                        const char *const *task_names, taml_pool *local, taml_err *err)
{
    *mpi = NULL;
    if (launch_size <= 1) return 0;
    int rc = taml_mpi_open(mpi, err);
    if (rc) return rc;
    uint64_t fp = taml_wire_tasks_fp(n_tasks, task_names);
    if (taml_mpi_rank(*mpi) == 0) {
        taml_pool *pool;
        if ((rc = taml_mpi_pool_new(*mpi, fp, &pool, err))) return rc;
        o->pool = pool;
        o->workers = taml_pool_workers(pool);
        return 0;
    }
    rc = taml_mpi_serve(*mpi, o->workers, o->child, o->child_ctx, local, fp, err);
    if (rc) return taml_err_prefix(err, "worker rank %d", taml_mpi_rank(*mpi));
    return 1;
}
