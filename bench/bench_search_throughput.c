/* bench/bench_search_throughput.c - trials per second of a search on real
 * children, with 1 worker and with 2 (the target is 1.8x or more on 2 cores).
 *
 *   make bench && build/bench/bench_search_throughput TASK_DIR [TRIALS]
 *
 * Both runs are random searches with the same seed over the same space, so
 * they train exactly the same children (the first trial of each module also
 * computes the task's pooled features once, as in any search). The space is
 * the paper's decisions with the built-in random-50 / random-100 modules and
 * 3e4 or 1e5 training samples, so a trial takes about a second or more. A
 * benchmark, not a test: it never fails on a timing. Run it on a quiet
 * machine: another job on the second core takes it from the second worker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/util.h"
#include "search/child.h"
#include "search/search.h"
#include "space/space.h"

static const char *space_json =
    "{\"embedding\":[\"random-50\",\"random-100\"],\"fine_tune\":[false,true],"
    "\"layers\":[1,2,3],\"hidden_size\":[32,64,128],\"activation\":[\"relu\",\"swish\"],"
    "\"normalization\":[\"none\",\"batch_norm\",\"layer_norm\"],"
    "\"dropout\":[0.0,0.1,0.2],\"deep_lr\":[0.01,0.03,0.1],"
    "\"deep_l2\":[0,0.0001,0.001],\"wide_lr\":[0.01,0.03,0.1],"
    "\"wide_l1\":[0,0.0001,0.001],\"samples\":[30000,100000]}";

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u); /* every thread of the process */
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec +
           (double)u.ru_stime.tv_sec + 1e-6 * (double)u.ru_stime.tv_usec;
}

/* Trials per wall second; *cores gets the CPU seconds used per wall second
 * (2.0 = both workers ran all the time: on a shared machine, less means the
 * workers waited for a core, not for each other). */
static double run(const char *task_dir, int workers, int trials, double *cores, taml_err *err)
{
    taml_space *space;
    if (taml_space_from_json(&space, space_json, "bench space", err)) return -1;
    taml_child_runner *runner;
    if (taml_child_runner_new(&runner, 1, &task_dir, NULL, err)) {
        taml_space_free(space);
        return -1;
    }
    const char *tmpdir = getenv("TMPDIR");
    char *path = taml_asprintf("%s/taml-bench-tp-%d.db", tmpdir && *tmpdir ? tmpdir : "/tmp",
                               (int)getpid());
    char *wal = taml_asprintf("%s-wal", path), *shm = taml_asprintf("%s-shm", path);
    remove(path);
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = TAML_SEARCH_RANDOM;
    o.trials = trials;
    o.workers = workers;
    o.seed = 2026;
    o.child = taml_child_runner_job;
    o.child_ctx = runner;
    double t0 = taml_now(), c0 = cpu_seconds();
    int rc = taml_search_run(path, space, 1, taml_child_runner_names(runner), &task_dir, &o, err);
    double dt = taml_now() - t0;
    *cores = (cpu_seconds() - c0) / dt;
    remove(path);
    remove(wal);
    remove(shm);
    free(path);
    free(wal);
    free(shm);
    taml_child_runner_free(runner);
    taml_space_free(space);
    return rc ? -1 : trials / dt;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s TASK_DIR [TRIALS]\n", argv[0]);
        return 2;
    }
    int trials = argc > 2 ? atoi(argv[2]) : 24;
    taml_err err;
    printf("search throughput on %s, %d random trials (same trials in each run)\n", argv[1],
           trials);
    double c1, c2;
    double one = run(argv[1], 1, trials, &c1, &err);
    if (one < 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    printf("  1 worker : %.3f trials/s, %.2f cores busy\n", one, c1);
    double two = run(argv[1], 2, trials, &c2, &err);
    if (two < 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    printf("  2 workers: %.3f trials/s, %.2f cores busy  (%.2fx)\n", two, c2, two / one);
    return 0;
}
