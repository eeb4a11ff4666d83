/* cli/search_mpi.h - `taml search` under mpirun (issue 7): the roles of the
 * ranks, see src/cli/search_mpi.c and src/exec/mpi.h. */
#ifndef TAML_CLI_SEARCH_MPI_H
#define TAML_CLI_SEARCH_MPI_H

#include <stdint.h>

#include "core/err.h"
#include "exec/mpi.h"
#include "search/search.h"

/* Called by `taml search` once its options, tasks and child are ready (o->child,
 * o->child_ctx, o->workers = --workers). launch_size: the processes the
 * launcher started (taml_cli_env.mpi_launch_size). Not under a launcher
 * (launch_size 1): does nothing and returns 0. Under mpirun with K > 1
 * ranks: starts MPI (*mpi); rank 0 gets o->pool (the worker ranks' threads) and o->workers set
 * to their total and returns 0, to search as usual; ranks >= 1 serve jobs on
 * local (borrowed; NULL: --workers threads) until rank 0 is done, then
 * return 1. The caller frees o->pool and local, then closes *mpi. Negative:
 * an error (err). */
int taml_cli_search_mpi(taml_mpi **mpi, int launch_size, taml_search_opts *o, int32_t n_tasks,
                        const char *const *task_names, taml_pool *local, taml_err *err);

#endif
