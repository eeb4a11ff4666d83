/* bench/bench_mpi.c - the MPI transport at scale, simulated on one machine:
 * rank 0 runs a real search (controller, study store, the paper's 12
 * decisions over 8 modules) while every worker rank's child only sleeps a
 * fixed time. Prints one line: ranks, workers, trials, child ms, wall s,
 * trials/s, the ideal trials/s (workers / child time), their ratio, and rank
 * 0's cost per trial twice: busy wall time (outside waiting for results:
 * sampling, store commits, controller updates, checkpoints, sends) and CPU
 * time (the same plus its idle polling for messages).
 *
 *   mpirun -n K --oversubscribe build-mpi/bench/bench_mpi [SLEEP_MS [TRIALS_PER_WORKER [METHOD]]]
 *   make bench-mpi    (bench/bench_mpi.sh: K = 2..65, i.e. 1..64 workers)
 *
 * Asynchronous order (the default of `taml search`), one thread per worker
 * rank. The wall time runs from the search's first progress call (study
 * created, all ranks greeted) to its return. A benchmark: it never fails on
 * a timing, and the machine it runs on may be shared (say so with figures).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/util.h"
#include "exec/mpi.h"
#include "exec/wire.h"
#include "search/search.h"
#include "space/space.h"

#include "../tests/fake_child.h" /* the test double, linked in by the Makefile */

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

struct clock {
    double t_first, cpu_first;
    int started;
};

static void on_progress(void *user, const taml_search_progress *p)
{
    struct clock *c = user;
    if (!c->started) {
        c->started = 1;
        c->t_first = taml_now();
        c->cpu_first = cpu_seconds();
    }
    (void)p;
}

/* The MPI pool behind a backend that times the waits, so that rank 0's busy
 * time (wall time outside waiting for a result: sampling, store, updates,
 * sends) is known apart from its idle polling. */
struct timed {
    taml_pool *inner;
    double waiting;
};

static int timed_submit(void *impl, const taml_job *job, taml_err *err)
{
    struct timed *t = impl;
    return taml_pool_submit(t->inner, job, err);
}

static int timed_wait(void *impl, taml_job_result *out, double timeout, taml_err *err)
{
    struct timed *t = impl;
    double t0 = taml_now();
    int got = taml_pool_wait(t->inner, out, timeout);
    t->waiting += taml_now() - t0;
    if (got < 0) taml_err_set(err, got, "%s", taml_pool_error(t->inner));
    return got;
}

static void timed_free(void *impl)
{
    struct timed *t = impl;
    taml_pool_free(t->inner);
}

static const taml_pool_ops timed_ops = {timed_submit, timed_wait, timed_free};

int main(int argc, char **argv)
{
    int sleep_ms = argc > 1 ? atoi(argv[1]) : 500;
    int per_worker = argc > 2 ? atoi(argv[2]) : 8;
    const char *method = argc > 3 ? argv[3] : "multitask";
    if (!taml_mpi_built()) {
        printf("bench_mpi: this build has no MPI: run `make bench-mpi` (builds with MPI=1)\n");
        return 0;
    }
    if (sleep_ms < 0 || per_worker < 1 || taml_search_method_parse(method) < 0 ||
        taml_search_method_parse(method) == TAML_SEARCH_TRANSFER) {
        fprintf(stderr, "usage: mpirun -n K %s [SLEEP_MS [TRIALS_PER_WORKER [random|aml|multitask]]]\n",
                argv[0]);
        return 2;
    }
    taml_err err;
    taml_mpi *m = NULL;
    /* a program, like the CLI: it reads the launcher's variables itself */
    int ranks = taml_mpi_launch_size(getenv("OMPI_COMM_WORLD_SIZE"), getenv("PMI_SIZE"));
    if (ranks < 2 || taml_mpi_open(&m, &err)) {
        fprintf(stderr, "bench_mpi: %s\n",
                m ? err.msg : "run it under mpirun with 2 ranks or more");
        return 1;
    }
    static const char *names[] = {"task-a", "task-b"}, *dirs[] = {"a", "b"};
    uint64_t fp = taml_wire_tasks_fp(2, names);
    taml_fake_child fake = {.sleep_us = sleep_ms * 1000};
    int rc = 0;
    if (taml_mpi_rank(m) != 0) {
        if (taml_mpi_serve(m, 1, taml_fake_child_run, &fake, NULL, fp, &err)) {
            fprintf(stderr, "bench_mpi: %s\n", err.msg);
            rc = 1;
        }
        taml_mpi_close(m);
        return rc;
    }

    const char *mods[] = {"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"};
    taml_space *space = NULL;
    taml_pool *pool = NULL;
    struct timed timed = {0};
    int32_t workers = 0; /* all before the first goto out */
    struct clock c = {0};
    double wall = 0, cpu = 0, busy = 0, ideal = 0, got = 0;
    int64_t trials = 0;
    char tmpl[] = "/tmp/taml-bench-mpi-XXXXXX";
    char *dir = mkdtemp(tmpl), *study = dir ? taml_path_join(dir, "study.db") : NULL;
    if (!dir) {
        fprintf(stderr, "bench_mpi: cannot make a temporary directory\n");
        rc = 1;
        goto out;
    }
    if (taml_space_new_default(&space, mods, 8, &err) ||
        taml_mpi_pool_new(m, fp, &timed.inner, &err)) {
        fprintf(stderr, "bench_mpi: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    workers = taml_pool_workers(timed.inner);
    pool = taml_pool_from_ops(&timed_ops, &timed, workers);
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = (taml_search_method)taml_search_method_parse(method);
    o.workers = workers;
    o.trials = (workers * per_worker + 1) / 2; /* per task, 2 tasks */
    o.seed = 3;
    o.child = taml_fake_child_run;
    o.child_ctx = &fake;
    o.pool = pool;
    o.progress = on_progress;
    o.user = &c;
    if (taml_search_run(study, space, 2, names, dirs, &o, &err)) {
        fprintf(stderr, "bench_mpi: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    wall = taml_now() - c.t_first;
    cpu = cpu_seconds() - c.cpu_first;
    busy = wall - timed.waiting; /* the waits all come after the first progress */
    trials = 2 * (int64_t)o.trials;
    ideal = sleep_ms > 0 ? workers / (sleep_ms / 1000.0) : 0;
    got = (double)trials / wall;
    printf("%5d %7d %6lld %8d %8.2f %9.1f %9.1f %6.1f%% %9.3f %8.3f\n", taml_mpi_size(m),
           (int)workers, (long long)trials, sleep_ms, wall, got, ideal,
           ideal > 0 ? 100.0 * got / ideal : 0, 1e3 * busy / (double)trials,
           1e3 * cpu / (double)trials);
    fflush(stdout);
out:
    if (pool)
        taml_pool_free(pool); /* frees timed.inner too */
    else
        taml_pool_free(timed.inner);
    taml_space_free(space);
    if (study) {
        taml_err e;
        if (taml_rmtree(dir, &e) != 0) fprintf(stderr, "bench_mpi: %s\n", e.msg);
    }
    free(study);
    taml_mpi_close(m);
    return rc;
}
