/* tests/test_proc.c - the executor's process backend (exec/proc.h) with
 * jobs that misbehave on purpose: each result comes back once from
 * long-lived workers; a worker that dies (a signal, an exit, an abort after
 * a "taml:" message) gives its job TAML_JOB_DIED naming how, and is
 * replaced; a job past the time limit gets TAML_JOB_TIMEOUT; the memory
 * limit makes allocations fail inside the worker; workers hold no
 * descriptor of the search process; freeing the pool, or killing the
 * search process, leaves no process behind. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "exec/proc.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1 /* shadow memory: a data limit leaves a worker nothing */
#else
#define SANITIZED 0
#endif

static int jobs_here; /* jobs this process has run: shows a worker lives on */

/* What a job does is its config: "ok", "segv", "abort-says", "exit3",
 * "hang", "alloc" (mallocs 16 MiB blocks until one fails, reports the MiB),
 * "fds" (counts its open descriptors), "pid:FILE" (writes its pid to FILE,
 * then hangs). */
static void misbehaving(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    (void)ctx;
    (void)worker;
    const char *c = job->config_json;
    jobs_here++;
    out->status = 2; /* done */
    out->valid_acc = (double)job->id / 1000.0;
    out->test_acc = jobs_here;
    out->loss = (double)getpid();
    if (!strcmp(c, "segv")) {
        *(volatile int *)(uintptr_t)job->seed = 1; /* seed 0: a null write */
    } else if (!strcmp(c, "abort-says")) {
        fprintf(stderr, "taml: out of memory allocating 7 bytes\n");
        abort();
    } else if (!strcmp(c, "exit3")) {
        _exit(3);
    } else if (!strcmp(c, "hang")) {
        for (;;) pause();
    } else if (!strcmp(c, "alloc")) {
        int64_t mib = 0;
        void *head = NULL;
        for (; mib < 64 * 1024; mib += 16) { /* at most 64 GiB, never touched */
            void **b = malloc((size_t)16 << 20);
            if (!b) break;
            *b = head;
            head = b;
        }
        while (head) {
            void *next = *(void **)head;
            free(head);
            head = next;
        }
        out->steps = mib;
    } else if (!strcmp(c, "fds")) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int64_t n = 0;
        while (d && (e = readdir(d)))
            if (e->d_name[0] != '.') n++;
        if (d) closedir(d);
        out->steps = n - 1; /* the directory's own */
    } else if (!strncmp(c, "pid:", 4)) {
        FILE *f = fopen(c + 4, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
        for (;;) pause();
    }
}

static taml_pool *new_pool(int32_t workers, double timeout, int64_t memory_mb)
{
    taml_proc_opts o = {.workers = workers, .timeout = timeout, .memory_mb = memory_mb};
    taml_pool *p;
    taml_err err;
    CHECK_MSG(taml_proc_pool_new(&p, &o, misbehaving, NULL, &err) == 0, "%s", err.msg);
    return p;
}

static void submit(taml_pool *p, int64_t id, const char *what)
{
    taml_job j = {.id = id, .task = (int32_t)(id % 3), .config_json = what, .seed = 0};
    taml_err err;
    CHECK_MSG(taml_pool_submit(p, &j, &err) == 0, "%s", err.msg);
}

/* The next result (waiting up to 20 s). */
static taml_job_result next(taml_pool *p)
{
    taml_job_result r;
    int got = taml_pool_wait(p, &r, 20);
    CHECK_MSG(got == 1, "wait gave %d: %s", got, taml_pool_error(p));
    return r;
}

static int pid_alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z';
}

/* The pid a "pid:FILE" job wrote; p (when not NULL) is waited on meanwhile,
 * since a pool makes progress (starts workers, sends jobs) only then. */
static pid_t read_pid(const char *file, taml_pool *p)
{
    for (int i = 0; i < 2000; i++) {
        taml_job_result r;
        if (p) CHECK_EQ_INT(taml_pool_wait(p, &r, 0.005), 0);
        FILE *f = fopen(file, "r");
        int pid = 0;
        if (f) {
            int ok = fscanf(f, "%d", &pid) == 1;
            fclose(f);
            if (ok && pid > 0) return pid;
        }
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

TEST(proc_pool_returns_every_result_once_from_long_lived_workers)
{
    taml_pool *p = new_pool(2, 0, 0);
    enum { N = 40 };
    for (int i = 1; i <= N; i++) submit(p, i, "ok"); /* more than workers: they queue */
    CHECK_EQ_INT(taml_pool_pending(p), N);
    int seen[N + 1] = {0}, most_jobs = 0;
    pid_t pids[2] = {0, 0};
    for (int i = 0; i < N; i++) {
        taml_job_result r = next(p);
        CHECK(r.id >= 1 && r.id <= N && !seen[r.id]);
        seen[r.id] = 1;
        CHECK_EQ_INT(r.status, 2);
        CHECK_NEAR(r.valid_acc, (double)r.id / 1000.0, 0);
        CHECK_EQ_INT(r.task, r.id % 3);
        CHECK(r.worker == 0 || r.worker == 1);
        CHECK(r.loss != (double)getpid()); /* not run here */
        if (!pids[r.worker]) pids[r.worker] = (pid_t)r.loss;
        CHECK_EQ_INT((pid_t)r.loss, pids[r.worker]); /* the same process every time */
        if ((int)r.test_acc > most_jobs) most_jobs = (int)r.test_acc;
        CHECK(r.train_seconds >= 0 && r.train_seconds < 10);
    }
    CHECK(most_jobs >= N / 2); /* each worker ran many jobs in one process */
    CHECK_EQ_INT(taml_pool_pending(p), 0);
    taml_job_result r;
    CHECK_EQ_INT(taml_pool_wait(p, &r, 0), 0);
    taml_pool_free(p);
}

TEST(proc_pool_dead_worker_gives_its_job_died_with_the_reason_and_is_replaced)
{
    taml_pool *p = new_pool(1, 0, 0);
    submit(p, 1, "ok");
    taml_job_result r = next(p);
    pid_t first = (pid_t)r.loss;
    submit(p, 2, "segv");
    r = next(p);
    CHECK_EQ_INT(r.id, 2);
    CHECK_EQ_INT(r.status, TAML_JOB_DIED);
    CHECK(isnan(r.valid_acc));
    if (SANITIZED) /* the sanitizer reports the fault and exits */
        CHECK_CONTAINS(r.error, "its worker process ");
    else
        CHECK_STR(r.error, "its worker process died of signal 11 (Segmentation fault)");
    CHECK(!pid_alive(first));
    submit(p, 3, "abort-says");
    r = next(p);
    CHECK_EQ_INT(r.status, TAML_JOB_DIED);
    CHECK_CONTAINS(r.error, "it last said: taml: out of memory allocating 7 bytes");
    if (!SANITIZED) CHECK_CONTAINS(r.error, "died of signal 6 (Aborted)");
    submit(p, 4, "exit3");
    r = next(p);
    CHECK_EQ_INT(r.status, TAML_JOB_DIED);
    CHECK_STR(r.error, "its worker process exited with status 3");
    /* a fresh worker took its place each time */
    submit(p, 5, "ok");
    r = next(p);
    CHECK_EQ_INT(r.status, 2);
    CHECK_EQ_INT(r.worker, 0);
    CHECK_EQ_INT((int)r.test_acc, 1);
    CHECK(r.loss != (double)first);
    taml_pool_free(p);
}

TEST(proc_pool_job_past_its_time_limit_gets_timeout_and_the_others_go_on)
{
    taml_pool *p = new_pool(2, 0.3, 0);
    double t0 = taml_now();
    submit(p, 1, "hang");
    for (int i = 2; i <= 6; i++) submit(p, i, "ok");
    int timeouts = 0, done = 0;
    for (int i = 0; i < 6; i++) {
        taml_job_result r = next(p);
        if (r.id == 1) {
            CHECK_EQ_INT(r.status, TAML_JOB_TIMEOUT);
            CHECK_STR(r.error, "timed out: still running after 0.3 s, its worker process was killed");
            CHECK(r.train_seconds >= 0.3 && r.train_seconds < 10);
            timeouts++;
        } else {
            CHECK_EQ_INT(r.status, 2);
            done++;
        }
    }
    CHECK_EQ_INT(timeouts, 1);
    CHECK_EQ_INT(done, 5);
    CHECK(taml_now() - t0 >= 0.3);
    /* the worker that hung was replaced */
    submit(p, 7, "ok");
    submit(p, 8, "ok");
    CHECK_EQ_INT(next(p).status, 2);
    CHECK_EQ_INT(next(p).status, 2);
    taml_pool_free(p);
}

/* VmData of this process in MiB. */
static long my_data_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmData:", 7)) kb = strtol(line + 7, NULL, 10);
    if (f) fclose(f);
    return kb / 1024 + 1;
}

TEST(proc_pool_memory_limit_makes_allocations_fail_inside_the_worker)
{
    if (SANITIZED) {
        fprintf(stderr, "    (skipped: a sanitizer's shadow memory counts as the worker's data)\n");
        return;
    }
    long base = my_data_mib();
    taml_pool *p = new_pool(1, 0, base + 100);
    submit(p, 1, "alloc");
    taml_job_result r = next(p);
    CHECK_EQ_INT(r.status, 2);
    CHECK_MSG(r.steps >= 32 && r.steps <= 100, "allocated %lld MiB under a limit of %ld + 100",
              (long long)r.steps, base);
    taml_pool_free(p);

    /* a limit below what a worker holds at start is refused, saying so */
    p = new_pool(1, 0, 1);
    submit(p, 1, "ok");
    taml_job_result x;
    CHECK(taml_pool_wait(p, &x, 20) < 0);
    CHECK_CONTAINS(taml_pool_error(p), "worker process 0 could not start: a memory limit of 1 MiB");
    taml_pool_free(p);
}

TEST(proc_pool_workers_hold_no_descriptor_of_the_search_process)
{
    char *path = taml_path_join(taml_test_tmpdir(), "open.txt");
    FILE *held = fopen(path, "w"); /* a descriptor the workers must not inherit */
    CHECK(held != NULL);
    taml_pool *p = new_pool(1, 0, 0);
    submit(p, 1, "fds");
    taml_job_result r = next(p);
    CHECK_EQ_INT(r.status, 2);
    CHECK_EQ_INT(r.steps, 4); /* stdin, stdout and stderr (the pipe to the server), the socket */
    taml_pool_free(p);
    fclose(held);
    free(path);
}

TEST(proc_pool_freed_with_a_busy_worker_returns_at_once_and_leaves_no_process)
{
    char *pidfile = taml_path_join(taml_test_tmpdir(), "worker.pid");
    char *what = taml_asprintf("pid:%s", pidfile);
    taml_pool *p = new_pool(2, 0, 0);
    submit(p, 1, what);
    pid_t worker = read_pid(pidfile, p);
    CHECK(worker > 0 && pid_alive(worker));
    double t0 = taml_now();
    taml_pool_free(p);
    CHECK(taml_now() - t0 < 5);
    CHECK(!pid_alive(worker));
    free(what);
    free(pidfile);
}

TEST(proc_pool_search_process_killed_with_sigkill_leaves_no_worker_behind)
{
    char *pidfile = taml_path_join(taml_test_tmpdir(), "orphan.pid");
    char *what = taml_asprintf("pid:%s", pidfile);
    pid_t search = fork();
    if (search == 0) {
        taml_proc_opts o = {.workers = 1};
        taml_pool *p;
        taml_err err;
        if (taml_proc_pool_new(&p, &o, misbehaving, NULL, &err)) _exit(1);
        taml_job j = {.id = 1, .config_json = what};
        taml_pool_submit(p, &j, &err);
        taml_job_result r;
        taml_pool_wait(p, &r, 60);
        _exit(2);
    }
    CHECK(search > 0);
    pid_t worker = read_pid(pidfile, NULL);
    CHECK(worker > 0 && pid_alive(worker));
    kill(search, SIGKILL);
    int status;
    CHECK_EQ_INT(waitpid(search, &status, 0), search);
    int gone = 0;
    for (int i = 0; i < 500 && !gone; i++) {
        gone = !pid_alive(worker);
        struct timespec ts = {0, 10000000};
        if (!gone) nanosleep(&ts, NULL);
    }
    CHECK_MSG(gone, "worker %d outlived the search process", (int)worker);
    free(what);
    free(pidfile);
}

TEST(proc_pool_refuses_options_out_of_range)
{
    taml_pool *p;
    taml_err err;
    taml_proc_opts o = {.workers = 0};
    CHECK_EQ_INT(taml_proc_pool_new(&p, &o, misbehaving, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "workers: 0 is not in 1..4096");
    o = (taml_proc_opts){.workers = 1, .timeout = -1};
    CHECK_EQ_INT(taml_proc_pool_new(&p, &o, misbehaving, NULL, &err), TAML_EINVAL);
    o = (taml_proc_opts){.workers = 1, .memory_mb = -5};
    CHECK_EQ_INT(taml_proc_pool_new(&p, &o, misbehaving, NULL, &err), TAML_EINVAL);
}
