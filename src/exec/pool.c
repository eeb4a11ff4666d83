/* exec/pool.c - the executor's thread backend (see pool.h).
 *
 * One mutex guards both queues; workers sleep on `work` until a job or the
 * stop flag arrives, the submitter sleeps on `done` until a result arrives.
 * Queues are singly-linked lists with a tail pointer, so submit and wait are
 * O(1) and never block on a worker's job.
 */
#include "exec/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

struct taml_pool {
    const taml_pool_ops *ops;
    void *impl;
    int32_t workers;
    int64_t pending; /* submitted, result not yet taken (main thread only) */
    taml_err err;    /* why the last wait failed */
};

/* ------------------------------------------------------- threads backend */

struct node {
    struct node *next;
    taml_job job;          /* job.config_json points to config */
    char *config;          /* heap copy */
    taml_job_result result;
};

struct queue {
    struct node *head, *tail;
};

struct threads {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    struct queue jobs, results;
    int stop;
    taml_job_fn fn;
    void *ctx;
    int32_t n;
    pthread_t *th;
    struct worker_arg {
        struct threads *t;
        int32_t index;
    } *args;
};

static void queue_push(struct queue *q, struct node *n)
{
    n->next = NULL;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
}

static struct node *queue_pop(struct queue *q)
{
    struct node *n = q->head;
    if (n) {
        q->head = n->next;
        if (!q->head) q->tail = NULL;
    }
    return n;
}

static void queue_drop(struct queue *q)
{
    struct node *n;
    while ((n = queue_pop(q))) {
        free(n->config);
        free(n);
    }
}

static void *worker_main(void *p)
{
    struct worker_arg *a = p;
    struct threads *t = a->t;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->stop && !t->jobs.head) pthread_cond_wait(&t->work, &t->mu);
        if (t->stop) break;
        struct node *n = queue_pop(&t->jobs);
        pthread_mutex_unlock(&t->mu);

        memset(&n->result, 0, sizeof n->result);
        double t0 = taml_now();
        t->fn(t->ctx, a->index, &n->job, &n->result);
        n->result.train_seconds = taml_now() - t0;
        n->result.id = n->job.id;
        n->result.task = n->job.task;
        n->result.worker = a->index;
        n->result.error[TAML_JOB_ERR - 1] = '\0';

        pthread_mutex_lock(&t->mu);
        queue_push(&t->results, n);
        pthread_cond_signal(&t->done);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static int threads_submit(void *impl, const taml_job *job, taml_err *err)
{
    (void)err;
    struct threads *t = impl;
    struct node *n = taml_calloc(1, sizeof *n);
    n->job = *job;
    n->config = taml_strdup(job->config_json ? job->config_json : "");
    n->job.config_json = n->config;
    pthread_mutex_lock(&t->mu);
    queue_push(&t->jobs, n);
    pthread_cond_signal(&t->work);
    pthread_mutex_unlock(&t->mu);
    return TAML_OK;
}

static int threads_wait(void *impl, taml_job_result *out, double timeout, taml_err *err)
{
    (void)err;
    struct threads *t = impl;
    struct timespec until;
    if (timeout >= 0) {
        clock_gettime(CLOCK_REALTIME, &until); /* pthread_cond_timedwait's default clock */
        double s = (double)until.tv_sec + 1e-9 * (double)until.tv_nsec + timeout;
        until.tv_sec = (time_t)s;
        until.tv_nsec = (long)((s - (double)until.tv_sec) * 1e9);
        if (until.tv_nsec >= 1000000000L) until.tv_nsec = 999999999L;
    }
    pthread_mutex_lock(&t->mu);
    while (!t->results.head) {
        int rc = timeout >= 0 ? pthread_cond_timedwait(&t->done, &t->mu, &until)
                              : pthread_cond_wait(&t->done, &t->mu);
        if (rc == ETIMEDOUT) break;
    }
    struct node *n = queue_pop(&t->results);
    pthread_mutex_unlock(&t->mu);
    if (!n) return 0;
    *out = n->result;
    free(n->config);
    free(n);
    return 1;
}

static void threads_free(void *impl)
{
    struct threads *t = impl;
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_broadcast(&t->work);
    pthread_mutex_unlock(&t->mu);
    for (int32_t i = 0; i < t->n; i++) pthread_join(t->th[i], NULL);
    queue_drop(&t->jobs);
    queue_drop(&t->results);
    pthread_cond_destroy(&t->work);
    pthread_cond_destroy(&t->done);
    pthread_mutex_destroy(&t->mu);
    free(t->th);
    free(t->args);
    free(t);
}

static const taml_pool_ops threads_ops = {threads_submit, threads_wait, threads_free};

/* ------------------------------------------------------------- interface */

taml_pool *taml_pool_from_ops(const taml_pool_ops *ops, void *impl, int32_t workers)
{
    taml_pool *p = taml_calloc(1, sizeof *p);
    p->ops = ops;
    p->impl = impl;
    p->workers = workers;
    return p;
}

int taml_pool_new(taml_pool **out, int32_t workers, taml_job_fn fn, void *ctx, taml_err *err)
{
    *out = NULL;
    if (workers < 1 || workers > 4096)
        return taml_err_set(err, TAML_EINVAL, "workers: %d is not in 1..4096", (int)workers);
    struct threads *t = taml_calloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->work, NULL);
    pthread_cond_init(&t->done, NULL);
    t->fn = fn;
    t->ctx = ctx;
    t->th = taml_calloc((size_t)workers, sizeof *t->th);
    t->args = taml_calloc((size_t)workers, sizeof *t->args);
    for (int32_t i = 0; i < workers; i++) {
        t->args[i].t = t;
        t->args[i].index = i;
        int rc = pthread_create(&t->th[i], NULL, worker_main, &t->args[i]);
        if (rc != 0) {
            threads_free(t); /* joins the t->n threads started so far */
            return taml_err_set(err, TAML_ESYS, "cannot start worker thread %d of %d: %s",
                                (int)i + 1, (int)workers, strerror(rc));
        }
        t->n++;
    }
    *out = taml_pool_from_ops(&threads_ops, t, workers);
    return TAML_OK;
}

void taml_pool_free(taml_pool *p)
{
    if (!p) return;
    p->ops->free(p->impl);
    free(p);
}

int32_t taml_pool_workers(const taml_pool *p)
{
    return p->workers;
}

int taml_pool_submit(taml_pool *p, const taml_job *job, taml_err *err)
{
    int rc = p->ops->submit(p->impl, job, err);
    if (rc == TAML_OK) p->pending++;
    return rc;
}

int64_t taml_pool_pending(const taml_pool *p)
{
    return p->pending;
}

int taml_pool_wait(taml_pool *p, taml_job_result *out, double timeout)
{
    if (p->pending == 0) return 0;
    taml_err_clear(&p->err);
    int got = p->ops->wait(p->impl, out, timeout, &p->err);
    if (got == 1) p->pending--;
    if (got < 0 && !p->err.msg[0]) taml_err_set(&p->err, got, "the executor's transport failed");
    return got;
}

const char *taml_pool_error(const taml_pool *p)
{
    return p->err.msg;
}
