/* tests/test_exec_transport.c - what the MPI transport relies on, tested
 * without MPI: the search runs on an executor made by its caller (as rank 0
 * runs on the worker ranks), a transport failure stops the search with its
 * reason and the next run re-runs the trials that were out, and a build
 * without MPI refuses to run under mpirun. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "exec/mpi.h"
#include "exec/pool.h"
#include "fake_child.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"
#include "study_compare.h"
#include "test.h"

static const char *space_text =
    "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],"
    "\"activation\":[\"relu\",\"swish\"],\"deep_l2\":[0,0.001,\"disable\"],"
    "\"wide_l1\":[0,0.01,\"disable\"]}";
static const char *names[] = {"alpha", "beta"};
static const char *dirs[] = {"d/alpha", "d/beta"};

static char *tmp(const char *name)
{
    char *p = taml_path_join(taml_test_tmpdir(), name);
    remove(p);
    return p;
}

/* A deterministic multitask study of 2 x 12 trials on `workers` workers,
 * on the given executor (NULL: the search's own threads). */
static int run(const char *path, taml_pool *pool, int32_t workers, taml_err *err)
{
    taml_space *space = NULL;
    if (taml_space_from_json(&space, space_text, "test", err)) return -1;
    static taml_fake_child fake = {.sleep_us = 300};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = TAML_SEARCH_MULTITASK;
    o.trials = 12;
    o.workers = workers;
    o.seed = 5;
    o.deterministic = 1;
    o.lag = 2;
    o.checkpoint_every = 5;
    o.child = taml_fake_child_run;
    o.child_ctx = &fake;
    o.pool = pool;
    int rc = taml_search_run(path, space, 2, names, dirs, &o, err);
    taml_space_free(space);
    return rc;
}

TEST(search_on_a_borrowed_executor_equals_one_on_its_own_threads)
{
    char *own = tmp("borrow-own.db"), *lent = tmp("borrow-lent.db");
    taml_err err;
    CHECK_EQ_INT(run(own, NULL, 2, &err), 0);
    taml_pool *pool;
    static taml_fake_child fake = {.sleep_us = 300};
    CHECK_EQ_INT(taml_pool_new(&pool, 3, taml_fake_child_run, &fake, &err), 0);
    CHECK_EQ_INT(run(lent, pool, 3, &err), 0);
    /* the search left the pool to its owner, drained */
    CHECK_EQ_INT(taml_pool_pending(pool), 0);
    CHECK_EQ_INT(taml_pool_workers(pool), 3);
    int64_t n = 0;
    CHECK(same_studies(own, lent, &n));
    CHECK_EQ_INT(n, 24);
    /* a pool whose size differs from --workers is refused */
    char *other = tmp("borrow-other.db");
    CHECK_EQ_INT(run(other, pool, 2, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "the executor has 3 workers, the search 2");
    taml_pool_free(pool);
    free(own);
    free(lent);
    free(other);
}

/* A backend that forwards to a threads pool and fails, as the MPI transport
 * does on a malformed message, once `left` results went through. */
struct breaking {
    taml_pool *inner;
    int left;
};

static int breaking_submit(void *impl, const taml_job *job, taml_err *err)
{
    struct breaking *b = impl;
    return taml_pool_submit(b->inner, job, err);
}

static int breaking_wait(void *impl, taml_job_result *out, double timeout, taml_err *err)
{
    struct breaking *b = impl;
    if (b->left == 0)
        return taml_err_set(err, TAML_EFORMAT,
                            "worker rank 2 (node9) sent a malformed message: injected");
    int got = taml_pool_wait(b->inner, out, timeout);
    if (got == 1) b->left--;
    return got;
}

static void breaking_free(void *impl)
{
    struct breaking *b = impl;
    taml_pool_free(b->inner);
    free(b);
}

static const taml_pool_ops breaking_ops = {breaking_submit, breaking_wait, breaking_free};

TEST(search_stops_on_a_transport_failure_and_the_next_run_loses_nothing)
{
    char *whole = tmp("break-whole.db"), *broken = tmp("break-broken.db");
    taml_err err;
    CHECK_EQ_INT(run(whole, NULL, 2, &err), 0);

    struct breaking *b = taml_calloc(1, sizeof *b);
    static taml_fake_child fake = {.sleep_us = 300};
    CHECK_EQ_INT(taml_pool_new(&b->inner, 2, taml_fake_child_run, &fake, &err), 0);
    b->left = 9;
    taml_pool *pool = taml_pool_from_ops(&breaking_ops, b, 2);
    CHECK_EQ_INT(run(broken, pool, 2, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "worker rank 2 (node9) sent a malformed message: injected");
    CHECK_CONTAINS(taml_pool_error(pool), "malformed message");
    taml_pool_free(pool);

    /* 9 finished; those that were out are left running in the store */
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, broken, TAML_STORE_READONLY, &err), 0);
    int64_t running = taml_store_count(s, TAML_TRIAL_RUNNING, -1, &err);
    int64_t done = taml_store_count(s, TAML_TRIAL_DONE, -1, &err) +
                   taml_store_count(s, TAML_TRIAL_INVALID, -1, &err);
    taml_store_close(s);
    CHECK_EQ_INT(done, 9);
    CHECK(running >= 1);

    CHECK_EQ_INT(run(broken, NULL, 2, &err), 0);
    int64_t n = 0;
    CHECK(same_studies(whole, broken, &n));
    CHECK_EQ_INT(n, 24);
    free(whole);
    free(broken);
}

TEST(mpi_launch_size_is_read_from_the_launchers_variables)
{
    CHECK_EQ_INT(taml_mpi_launch_size(NULL, NULL), 1);
    CHECK_EQ_INT(taml_mpi_launch_size("4", NULL), 4);
    CHECK_EQ_INT(taml_mpi_launch_size("x", NULL), 1);
    CHECK_EQ_INT(taml_mpi_launch_size("", "3"), 3);
    CHECK_EQ_INT(taml_mpi_launch_size(NULL, "3"), 3);
    CHECK_EQ_INT(taml_mpi_launch_size("2", "3"), 2); /* Open MPI's first */
    CHECK_EQ_INT(taml_mpi_launch_size("1", NULL), 1);
}

TEST(mpi_in_a_build_without_mpi_says_how_to_build_with_it)
{
    if (taml_mpi_built()) return; /* make MPI=1: MPI_Init is for mpirun, not this runner */
    taml_mpi *m = (taml_mpi *)1;
    taml_err err;
    CHECK_EQ_INT(taml_mpi_open(&m, &err), TAML_EINVAL);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, "built without MPI");
    CHECK_CONTAINS(err.msg, "make MPI=1");
    taml_mpi_close(NULL);
}
