/* bench/bench_ask_tell.c - what ask/tell and --objective cost per trial
 * (bench/bench_ask_tell.py runs it beside `taml ask`/`taml tell` as
 * processes and Optuna's ask/tell on SQLite, and prints them together).
 *
 *   make bench && build/bench/bench_ask_tell lib|objective TRIALS_PER_TASK
 *
 * lib: the library's taml_search_ask + taml_search_tell in one process,
 * each a session on the study file (lock, restore: newest checkpoint plus
 * the updates after it, one transaction), multitask over 2 tasks on the
 * paper's 12 decisions (8 module names), asynchronous. objective: `taml
 * search`'s loop in one worker process with --objective `echo {"valid":
 * ...}` (a command that exits at once: /bin/sh's fork and exec, the memory
 * file, the pipes and the parse), beside the same loop with a child that
 * does nothing, so the difference is what the objective adds. One JSON
 * line per figure: wall and CPU milliseconds per trial (CPU of every
 * process, reaped children included). Never fails on a timing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/util.h"
#include "exec/proc.h"
#include "search/ask.h"
#include "search/objective.h"
#include "search/search.h"
#include "space/space.h"

static const char *modules[] = {"es-small-50",       "es-big-128",      "en-small-50",
                                "en-big-128",        "en-wiki-small-250", "en-wiki-big-500",
                                "en-news-small-100", "en-news-big-500"};
static const char *names[] = {"task-a", "task-b"}, *dirs[] = {"a", "b"};

static double cpu_seconds(void)
{
    double s = 0;
    int who[2] = {RUSAGE_SELF, RUSAGE_CHILDREN};
    for (int i = 0; i < 2; i++) {
        struct rusage u;
        getrusage(who[i], &u);
        s += (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec +
             (double)u.ru_stime.tv_sec + 1e-6 * (double)u.ru_stime.tv_usec;
    }
    return s;
}

static char *study_path(const char *what)
{
    const char *tmpdir = getenv("TMPDIR");
    char *path = taml_asprintf("%s/taml-bench-%s-%d.db", tmpdir && *tmpdir ? tmpdir : "/tmp", what,
                               (int)getpid());
    remove(path);
    return path;
}

static void remove_study(char *path)
{
    char *wal = taml_asprintf("%s-wal", path), *shm = taml_asprintf("%s-shm", path);
    remove(path);
    remove(wal);
    remove(shm);
    free(wal);
    free(shm);
    free(path);
}

static void print(const char *what, int trials, double wall, double cpu, const char *extra)
{
    printf("{\"what\": \"%s\", \"trials\": %d, \"ms_per_trial_wall\": %.3f, "
           "\"ms_per_trial_cpu\": %.3f%s}\n",
           what, trials, 1e3 * wall / trials, 1e3 * cpu / trials, extra);
    fflush(stdout);
}

static int bench_lib(const taml_space *space, int per_task)
{
    char *path = study_path("asktell");
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = TAML_SEARCH_MULTITASK;
    o.trials = per_task;
    o.seed_set = 1;
    taml_ask_setup setup = {.space = space, .n_tasks = 2, .task_names = names, .task_dirs = dirs,
                            .opts = &o};
    taml_err err;
    int n = 2 * per_task, rc = 0;
    double ask_s = 0, tell_s = 0, t0 = taml_now(), c0 = cpu_seconds();
    for (int i = 0; i < n && !rc; i++) {
        taml_asked a;
        double t1 = taml_now();
        rc = taml_search_ask(path, i == 0 ? &setup : NULL, NULL, 0, &a, &err);
        double t2 = taml_now();
        if (rc) break;
        /* a reward that varies, so the update does real work */
        taml_told t = {.state = TAML_TRIAL_DONE,
                       .valid = 0.5 + 0.4 * (double)(a.seed >> 11) * 0x1.0p-53, .test = 0.5};
        rc = taml_search_tell(path, a.id, &t, &err);
        tell_s += taml_now() - t2;
        ask_s += t2 - t1;
        taml_asked_deinit(&a);
    }
    double wall = taml_now() - t0, cpu = cpu_seconds() - c0;
    if (rc) {
        fprintf(stderr, "bench: %s\n", err.msg);
    } else {
        char extra[128];
        snprintf(extra, sizeof extra, ", \"ask_ms\": %.3f, \"tell_ms\": %.3f", 1e3 * ask_s / n,
                 1e3 * tell_s / n);
        print("taml library ask+tell (SQLite file, a session per call)", n, wall, cpu, extra);
    }
    remove_study(path);
    return rc;
}

static void null_child(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    (void)ctx;
    (void)worker;
    out->status = TAML_TRIAL_DONE;
    out->valid_acc = 0.5 + 0.4 * (double)(job->seed >> 11) * 0x1.0p-53;
    out->test_acc = out->valid_acc;
    out->loss = NAN;
    out->steps = 0;
}

static int bench_search(const taml_space *space, int per_task, const char *cmd)
{
    char *path = study_path("objective");
    taml_objective *obj = NULL;
    taml_err err;
    int rc = cmd ? taml_objective_new(&obj, cmd, 2, names, 0, &err) : 0;
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = TAML_SEARCH_MULTITASK;
    o.trials = per_task;
    o.child = cmd ? taml_objective_job : null_child;
    o.child_ctx = obj;
    double t0 = taml_now(), c0 = cpu_seconds();
    taml_proc_opts po = {.workers = 1};
    if (!rc) rc = taml_proc_pool_new(&o.pool, &po, o.child, o.child_ctx, &err);
    if (!rc) rc = taml_search_run(path, space, 2, names, dirs, &o, &err);
    taml_pool_free(o.pool);
    double wall = taml_now() - t0, cpu = cpu_seconds() - c0;
    if (rc)
        fprintf(stderr, "bench: %s\n", err.msg);
    else
        print(cmd ? "taml search --objective 'echo {...}' (1 worker process)"
                  : "taml search, a child that does nothing (1 worker process)",
              2 * per_task, wall, cpu, "");
    taml_objective_free(obj);
    remove_study(path);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "lib") && strcmp(argv[1], "objective"))) {
        fprintf(stderr, "usage: bench_ask_tell lib|objective TRIALS_PER_TASK\n");
        return 2;
    }
    int per_task = atoi(argv[2]);
    taml_space *space = NULL;
    taml_err err;
    if (per_task < 1 || taml_space_new_default(&space, modules, 8, &err)) return 2;
    int rc;
    if (!strcmp(argv[1], "lib")) {
        rc = bench_lib(space, per_task);
    } else {
        rc = bench_search(space, per_task, NULL);
        if (!rc) rc = bench_search(space, per_task, "echo '{\"valid\": 0.5, \"test\": 0.5}'");
    }
    taml_space_free(space);
    return rc ? 1 : 0;
}
