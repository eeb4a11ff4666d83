/* bench/bench_search_throughput.c - trials per second of a search on real
 * children, with 1 worker and with 2 (the target is 1.8x or more on 2 cores).
 *
 *   make bench && build/bench/bench_search_throughput TASK_DIR [TRIALS]
 *
 * Both runs are random searches with the same seed over the same space, so
 * they train exactly the same children (the first trial of each module also
 * computes the task's pooled features once, as in any search). The space is
 * the paper's decisions with the built-in random-50 / random-100 modules and
 * 1e4 or 3e4 training samples, so a trial takes a fraction of a second. A
 * benchmark, not a test: it never fails on a timing. Run it on a quiet
 * machine: another job on the second core takes it from the second worker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    "\"wide_l1\":[0,0.0001,0.001],\"samples\":[10000,30000]}";

static double run(const char *task_dir, int workers, int trials, taml_err *err)
{
    taml_space *space;
    if (taml_space_from_json(&space, space_json, "bench space", err)) return -1;
    taml_child_runner *runner;
    if (taml_child_runner_new(&runner, 1, &task_dir, err)) {
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
    double t0 = taml_now();
    int rc = taml_search_run(path, space, 1, taml_child_runner_names(runner), &task_dir, &o, err);
    double dt = taml_now() - t0;
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
    double one = run(argv[1], 1, trials, &err);
    if (one < 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    printf("  1 worker : %.3f trials/s\n", one);
    double two = run(argv[1], 2, trials, &err);
    if (two < 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    printf("  2 workers: %.3f trials/s  (%.2fx)\n", two, two / one);
    return 0;
}
