/* bench/bench_search_overhead.c - what the search itself costs per trial:
 * sampling (controller or uniform), the study store's three transactions,
 * the executor's hand-off and the controller update, with a child that does
 * nothing.
 *
 *   make bench && build/bench/bench_search_overhead [TRIALS_PER_TASK] [thread|process|both]
 *
 * Space: the paper's 12 decisions with 8 module names; 2 tasks; the study
 * file in $TMPDIR (WAL, synchronous=NORMAL, as `taml search` uses it).
 * Prints wall and CPU milliseconds per trial for each strategy and order
 * (CPU time is the fairer figure when other work shares the machine), with
 * the children on threads (--isolation thread) and in worker processes
 * (--isolation process: exec/proc.h, the pool made and freed inside the
 * timed run as `taml search` does, its processes' CPU counted once they are
 * reaped); default both; and for each the executor's hand-off alone (a
 * job to one worker and its result back, 20 x TRIALS_PER_TASK times), the
 * part that differs between the two. A benchmark, not a test: it never
 * fails on a timing. Target: 1 ms or less per trial.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/util.h"
#include "exec/proc.h"
#include "search/search.h"
#include "space/space.h"

static void null_child(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    (void)ctx;
    (void)worker;
    out->status = TAML_TRIAL_DONE;
    /* a reward that varies, so the controller's update does real work */
    out->valid_acc = 0.5 + 0.4 * (double)(job->seed >> 11) * 0x1.0p-53;
    out->test_acc = out->valid_acc;
    out->loss = 0.5;
    out->steps = 0;
}

static double cpu_of(int who)
{
    struct rusage u;
    getrusage(who, &u);
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec +
           (double)u.ru_stime.tv_sec + 1e-6 * (double)u.ru_stime.tv_usec;
}

/* Every thread of this process, and every process it started that has
 * ended and been waited for (the fork server, which waited for its
 * workers). */
static double cpu_seconds(void)
{
    return cpu_of(RUSAGE_SELF) + cpu_of(RUSAGE_CHILDREN);
}

/* Returns wall ms per trial; *cpu_ms gets CPU ms per trial (user + system,
 * all threads and processes), the fairer figure on a machine shared with
 * other work. */
static double run_one(const taml_space *space, taml_search_method m, int workers, int det,
                      int procs, int trials, double *cpu_ms)
{
    const char *tmpdir = getenv("TMPDIR");
    char *path = taml_asprintf("%s/taml-bench-%d.db", tmpdir && *tmpdir ? tmpdir : "/tmp",
                               (int)getpid());
    char *wal = taml_asprintf("%s-wal", path), *shm = taml_asprintf("%s-shm", path);
    remove(path);
    const char *names[] = {"task-a", "task-b"}, *dirs[] = {"a", "b"};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = m;
    o.trials = trials;
    o.workers = workers;
    o.deterministic = det;
    o.child = null_child;
    if (getenv("CK")) o.checkpoint_every = atoi(getenv("CK"));
    taml_err err;
    double t0 = taml_now(), c0 = cpu_seconds();
    taml_proc_opts po = {.workers = workers};
    int rc = procs ? taml_proc_pool_new(&o.pool, &po, null_child, NULL, &err) : 0;
    if (!rc) rc = taml_search_run(path, space, 2, names, dirs, &o, &err);
    taml_pool_free(o.pool);
    double dt = taml_now() - t0;
    *cpu_ms = 1e3 * (cpu_seconds() - c0) / (2.0 * trials);
    if (rc) fprintf(stderr, "bench: %s\n", err.msg);
    remove(path);
    remove(wal);
    remove(shm);
    free(path);
    free(wal);
    free(shm);
    return rc ? -1 : 1e3 * dt / (2.0 * trials);
}

/* The executor's hand-off alone, one worker, one job at a time (submit,
 * wait): microseconds of wall and CPU per job, best of 3 runs of n jobs. */
static void handoff(int procs, int n)
{
    double best = -1, best_cpu = -1;
    for (int rep = 0; rep < 3; rep++) {
        taml_pool *pool = NULL;
        taml_err err;
        double t0 = taml_now(), c0 = cpu_seconds();
        taml_proc_opts po = {.workers = 1};
        int rc = procs ? taml_proc_pool_new(&pool, &po, null_child, NULL, &err)
                       : taml_pool_new(&pool, 1, null_child, NULL, &err);
        for (int i = 1; !rc && i <= n; i++) {
            taml_job job = {.id = i, .config_json = "{\"layers\":2}", .seed = (uint64_t)i};
            taml_job_result res;
            rc = taml_pool_submit(pool, &job, &err);
            if (!rc && taml_pool_wait(pool, &res, -1) != 1) rc = -1;
        }
        taml_pool_free(pool);
        double us = 1e6 * (taml_now() - t0) / n, cpu = 1e6 * (cpu_seconds() - c0) / n;
        if (rc) {
            fprintf(stderr, "bench: the executor failed\n");
            return;
        }
        if (best < 0 || us < best) best = us;
        if (best_cpu < 0 || cpu < best_cpu) best_cpu = cpu;
    }
    printf("  %-38s wall %.1f us/job, cpu %.1f us/job (best of 3)\n",
           procs ? "hand-off alone, 1 worker process" : "hand-off alone, 1 worker thread", best,
           best_cpu);
}

int main(int argc, char **argv)
{
    int trials = argc > 1 ? atoi(argv[1]) : 1000;
    const char *mode = argc > 2 ? argv[2] : "both";
    int from = !strcmp(mode, "process") ? 1 : 0, to = !strcmp(mode, "thread") ? 0 : 1;
    if (trials < 1 || argc > 3 ||
        (strcmp(mode, "thread") && strcmp(mode, "process") && strcmp(mode, "both"))) {
        fprintf(stderr, "usage: %s [TRIALS_PER_TASK] [thread|process|both]\n", argv[0]);
        return 2;
    }
    const char *mods[] = {"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"};
    taml_space *space;
    taml_err err;
    if (taml_space_new_default(&space, mods, 8, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    printf("search overhead per trial, child that does nothing, %d trials x 2 tasks\n", trials);
    static const struct {
        taml_search_method m;
        int workers, det;
        const char *what;
    } cases[] = {
        {TAML_SEARCH_RANDOM, 1, 0, "random     1 worker "},
        {TAML_SEARCH_MULTITASK, 1, 0, "multitask  1 worker "},
        {TAML_SEARCH_MULTITASK, 2, 0, "multitask  2 workers"},
        {TAML_SEARCH_MULTITASK, 2, 1, "multitask  2 workers --deterministic"},
        {TAML_SEARCH_AML, 1, 0, "aml        1 worker "},
    };
    for (int procs = from; procs <= to; procs++) {
        printf("children on %s:\n", procs ? "worker processes (--isolation process)"
                                           : "threads (--isolation thread)");
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            double best = -1, best_cpu = -1;
            for (int rep = 0; rep < 3; rep++) {
                double cpu;
                double ms = run_one(space, cases[i].m, cases[i].workers, cases[i].det, procs,
                                    trials, &cpu);
                if (ms >= 0 && (best < 0 || ms < best)) best = ms;
                if (ms >= 0 && (best_cpu < 0 || cpu < best_cpu)) best_cpu = cpu;
            }
            printf("  %-38s wall %.3f ms/trial, cpu %.3f ms/trial (best of 3)\n", cases[i].what,
                   best, best_cpu);
        }
        handoff(procs, 20 * trials);
    }
    taml_space_free(space);
    return 0;
}
