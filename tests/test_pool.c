/* tests/test_pool.c - the executor with fake children: every job's result
 * comes back once, jobs run in parallel on at most K workers, timeouts, and
 * shutting down with work still queued. Clean under ThreadSanitizer
 * (`make SANITIZE=thread test TESTS=pool`). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/rng.h"
#include "exec/pool.h"
#include "test.h"

struct fake {
    int running, max_running; /* touched only with __atomic builtins */
    int sleep_ms;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A fake child: its "accuracy" is a pure function of seed and config, so the
 * test can check each result belongs to its job. */
static void fake_child(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    struct fake *f = ctx;
    int now = __atomic_add_fetch(&f->running, 1, __ATOMIC_SEQ_CST);
    int seen = __atomic_load_n(&f->max_running, __ATOMIC_SEQ_CST);
    while (now > seen &&
           !__atomic_compare_exchange_n(&f->max_running, &seen, now, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
    }
    taml_rng r;
    taml_rng_seed(&r, job->seed);
    double acc = 0;
    for (int i = 0; i < 1000; i++) acc += taml_rng_uniform(&r);
    if (f->sleep_ms) sleep_ms(f->sleep_ms);
    out->valid_acc = acc / 1000;
    out->test_acc = (double)strlen(job->config_json);
    out->steps = job->seed % 97;
    out->status = job->seed % 5 == 0 ? 5 : 2; /* every fifth fails */
    if (out->status == 5) snprintf(out->error, sizeof out->error, "job %lld failed", (long long)job->id);
    (void)worker;
    __atomic_sub_fetch(&f->running, 1, __ATOMIC_SEQ_CST);
}

TEST(pool_returns_every_job_result_once_with_its_own_values)
{
    struct fake f = {0};
    taml_pool *p;
    taml_err err;
    CHECK_EQ_INT(taml_pool_new(&p, 3, fake_child, &f, &err), 0);
    enum { N = 200 };
    char cfg[64];
    for (int i = 0; i < N; i++) {
        snprintf(cfg, sizeof cfg, "{\"n\":%d}", i); /* the buffer is reused: submit copies */
        taml_job j = {.id = i + 1, .task = i % 4, .config_json = cfg, .seed = (uint64_t)i * 7 + 1};
        CHECK_EQ_INT(taml_pool_submit(p, &j, &err), 0);
    }
    CHECK_EQ_INT(taml_pool_pending(p), N);
    int seen[N + 1] = {0}, workers_used[3] = {0};
    taml_job_result r;
    int got = 0;
    while (taml_pool_wait(p, &r, -1) == 1) {
        CHECK(r.id >= 1 && r.id <= N);
        seen[r.id]++;
        int i = (int)r.id - 1;
        uint64_t seed = (uint64_t)i * 7 + 1;
        taml_rng g;
        taml_rng_seed(&g, seed);
        double acc = 0;
        for (int k = 0; k < 1000; k++) acc += taml_rng_uniform(&g);
        CHECK(r.valid_acc == acc / 1000);
        snprintf(cfg, sizeof cfg, "{\"n\":%d}", i);
        CHECK_EQ_INT((int)r.test_acc, (int)strlen(cfg));
        CHECK_EQ_INT(r.task, i % 4);
        CHECK_EQ_INT(r.steps, (int64_t)(seed % 97));
        CHECK_EQ_INT(r.status, seed % 5 == 0 ? 5 : 2);
        if (r.status == 5) CHECK(strstr(r.error, "failed") != NULL);
        CHECK(r.worker >= 0 && r.worker < 3);
        CHECK(r.train_seconds >= 0);
        workers_used[r.worker] = 1;
        got++;
    }
    CHECK_EQ_INT(got, N);
    for (int i = 1; i <= N; i++) CHECK_EQ_INT(seen[i], 1);
    CHECK_EQ_INT(taml_pool_pending(p), 0);
    CHECK(workers_used[0] + workers_used[1] + workers_used[2] >= 1);
    taml_pool_free(p);
}

TEST(pool_runs_jobs_in_parallel_on_at_most_k_workers)
{
    struct fake f = {.sleep_ms = 30};
    taml_pool *p;
    taml_err err;
    CHECK_EQ_INT(taml_pool_new(&p, 4, fake_child, &f, &err), 0);
    for (int i = 0; i < 12; i++) {
        taml_job j = {.id = i + 1, .config_json = "{}", .seed = (uint64_t)i + 1};
        CHECK_EQ_INT(taml_pool_submit(p, &j, &err), 0);
    }
    taml_job_result r;
    int got = 0;
    while (taml_pool_wait(p, &r, -1) == 1) got++;
    CHECK_EQ_INT(got, 12);
    int peak = __atomic_load_n(&f.max_running, __ATOMIC_SEQ_CST);
    /* sleeping jobs overlap even on a busy 2-core machine; never more than K */
    CHECK(peak >= 2);
    CHECK(peak <= 4);
    taml_pool_free(p);
}

TEST(pool_wait_times_out_and_returns_nothing_when_idle)
{
    struct fake f = {.sleep_ms = 200};
    taml_pool *p;
    taml_err err;
    CHECK_EQ_INT(taml_pool_new(&p, 1, fake_child, &f, &err), 0);
    taml_job_result r;
    CHECK_EQ_INT(taml_pool_wait(p, &r, -1), 0); /* nothing submitted: no hang */
    taml_job j = {.id = 1, .config_json = "{}", .seed = 1};
    CHECK_EQ_INT(taml_pool_submit(p, &j, &err), 0);
    CHECK_EQ_INT(taml_pool_wait(p, &r, 0.01), 0); /* still sleeping */
    CHECK_EQ_INT(taml_pool_pending(p), 1);
    CHECK_EQ_INT(taml_pool_wait(p, &r, 5.0), 1);
    CHECK_EQ_INT(r.id, 1);
    taml_pool_free(p);
}

TEST(pool_shuts_down_with_jobs_still_queued)
{
    struct fake f = {.sleep_ms = 5};
    taml_pool *p;
    taml_err err;
    CHECK_EQ_INT(taml_pool_new(&p, 2, fake_child, &f, &err), 0);
    for (int i = 0; i < 50; i++) {
        taml_job j = {.id = i + 1, .config_json = "{\"x\":1}", .seed = (uint64_t)i};
        CHECK_EQ_INT(taml_pool_submit(p, &j, &err), 0);
    }
    taml_job_result r;
    CHECK_EQ_INT(taml_pool_wait(p, &r, -1), 1);
    taml_pool_free(p); /* joins the two running jobs, drops the rest, frees all */
    CHECK_EQ_INT(__atomic_load_n(&f.running, __ATOMIC_SEQ_CST), 0);
}

TEST(pool_refuses_a_worker_count_out_of_range)
{
    taml_pool *p;
    taml_err err;
    CHECK_EQ_INT(taml_pool_new(&p, 0, fake_child, NULL, &err), TAML_EINVAL);
    CHECK(p == NULL);
    CHECK_CONTAINS(err.msg, "workers: 0 is not in 1..4096");
    taml_pool_free(NULL);
}
