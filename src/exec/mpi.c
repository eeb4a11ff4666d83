/* exec/mpi.c - the MPI transport of the executor (see mpi.h): rank 0's pool
 * backend and the worker ranks' serve loop. The only file with MPI code; it
 * is compiled against MPI with `make MPI=1` (TAML_MPI), and without it
 * reduces to functions that explain how to get MPI.
 *
 * Rank 0 keeps, per worker rank, the ids of the jobs it runs (one slot per
 * thread), so a result is accepted only from the rank that runs that trial,
 * and submits go to the rank with the most free slots. Sends are MPI_Isend
 * kept in a list until complete, so neither side ever blocks in a send
 * while the other blocks in its own (no deadlock whatever the sizes).
 */
#include "exec/mpi.h"

#include <stdlib.h>

int taml_mpi_launch_size(const char *ompi_comm_world_size, const char *pmi_size)
{
    const char *vars[] = {ompi_comm_world_size, pmi_size};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = vars[i];
        if (v && *v) {
            long n = strtol(v, NULL, 10);
            return n > 1 && n < 1000000 ? (int)n : 1;
        }
    }
    return 1;
}

#ifndef TAML_MPI

static int not_built(taml_err *err)
{
    return taml_err_set(err, TAML_EINVAL,
                        "this taml was built without MPI, so under mpirun every rank would run "
                        "the whole search: build it with `make MPI=1` (Open MPI, scripts/setup "
                        "mpi) and run build-mpi/taml under mpirun");
}

int taml_mpi_built(void)
{
    return 0;
}

int taml_mpi_open(taml_mpi **out, taml_err *err)
{
    *out = NULL;
    return not_built(err);
}

void taml_mpi_close(taml_mpi *m)
{
    (void)m;
}

int taml_mpi_rank(const taml_mpi *m)
{
    (void)m;
    return 0;
}

int taml_mpi_size(const taml_mpi *m)
{
    (void)m;
    return 1;
}

int taml_mpi_pool_new(taml_mpi *m, uint64_t tasks_fp, taml_pool **out, taml_err *err)
{
    (void)m, (void)tasks_fp;
    *out = NULL;
    return not_built(err);
}

int taml_mpi_serve(taml_mpi *m, int32_t threads, taml_job_fn fn, void *ctx, taml_pool *local,
                   uint64_t tasks_fp, taml_err *err)
{
    (void)m, (void)threads, (void)fn, (void)ctx, (void)local, (void)tasks_fp;
    return not_built(err);
}

#else /* TAML_MPI */

#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "exec/wire.h"

#define TAG 7301
#define NAP_MIN 20e-6
#define NAP_MAX 1e-3

struct taml_mpi {
    MPI_Comm comm; /* a duplicate of MPI_COMM_WORLD: taml's traffic only */
    int rank, size;
};

int taml_mpi_built(void)
{
    return 1;
}

/* An MPI error code as a taml error with MPI's own words. */
static int mpi_fail(taml_err *err, int code, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(code, text, &n) != MPI_SUCCESS) snprintf(text, sizeof text, "code %d", code);
    return taml_err_set(err, TAML_ESYS, "MPI: %s failed: %s", what, text);
}

int taml_mpi_open(taml_mpi **out, taml_err *err)
{
    *out = NULL;
    int inited = 0;
    MPI_Initialized(&inited);
    if (inited) return taml_err_set(err, TAML_EINVAL, "MPI: already started in this process");
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Init_thread");
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        return taml_err_set(err, TAML_EINVAL,
                            "MPI: the library gives thread level %d, taml needs FUNNELED (%d): its "
                            "children run on threads",
                            provided, MPI_THREAD_FUNNELED);
    }
    taml_mpi *m = taml_calloc(1, sizeof *m);
    if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &m->comm)) != MPI_SUCCESS) {
        free(m);
        MPI_Finalize();
        return mpi_fail(err, rc, "MPI_Comm_dup");
    }
    /* errors come back as codes (translated with MPI_Error_string), not aborts */
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(m->comm, &m->rank);
    MPI_Comm_size(m->comm, &m->size);
    *out = m;
    return TAML_OK;
}

void taml_mpi_close(taml_mpi *m)
{
    if (!m) return;
    MPI_Comm_free(&m->comm);
    free(m);
    MPI_Finalize();
}

int taml_mpi_rank(const taml_mpi *m)
{
    return m->rank;
}

int taml_mpi_size(const taml_mpi *m)
{
    return m->size;
}

static void nap(double *s)
{
    struct timespec ts = {0, (long)(*s * 1e9)};
    nanosleep(&ts, NULL);
    *s = *s * 2 < NAP_MAX ? *s * 2 : NAP_MAX;
}

/* ------------------------------------------------------------- sending */

/* Sends in flight: each buffer lives until its MPI_Isend completes. */
typedef struct sendq {
    MPI_Request *req;
    void **buf;
    int n, cap;
} sendq;

/* Sends msg (len bytes, heap, owned by the queue from now on) to dest. */
static int sendq_post(taml_mpi *m, sendq *q, int dest, void *msg, size_t len, taml_err *err)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 16;
        q->req = taml_realloc(q->req, (size_t)q->cap * sizeof *q->req);
        q->buf = taml_realloc(q->buf, (size_t)q->cap * sizeof *q->buf);
    }
    int rc = MPI_Isend(msg, (int)len, MPI_BYTE, dest, TAG, m->comm, &q->req[q->n]);
    if (rc != MPI_SUCCESS) {
        free(msg);
        return mpi_fail(err, rc, "MPI_Isend");
    }
    q->buf[q->n++] = msg;
    return TAML_OK;
}

/* Frees the buffers of the sends that completed. */
static int sendq_reap(sendq *q, taml_err *err)
{
    for (int i = 0; i < q->n;) {
        int done = 0;
        int rc = MPI_Test(&q->req[i], &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Test");
        if (!done) {
            i++;
            continue;
        }
        free(q->buf[i]);
        q->n--;
        q->req[i] = q->req[q->n];
        q->buf[i] = q->buf[q->n];
    }
    return TAML_OK;
}

/* Waits (napping, not spinning) until every send completed, then frees. */
static int sendq_drain(sendq *q, taml_err *err)
{
    double s = NAP_MIN;
    int rc = TAML_OK;
    while (q->n > 0 && !(rc = sendq_reap(q, err)))
        if (q->n > 0) nap(&s);
    return rc;
}

static void sendq_deinit(sendq *q)
{
    for (int i = 0; i < q->n; i++) {
        MPI_Cancel(&q->req[i]);
        MPI_Request_free(&q->req[i]);
        free(q->buf[i]);
    }
    free(q->req);
    free(q->buf);
    memset(q, 0, sizeof *q);
}

/* ----------------------------------------------------------- receiving */

/* Takes one waiting message from `source` (or MPI_ANY_SOURCE) if there is
 * one: returns 1 with *msg (heap), *len and *src, 0 when none is waiting, a
 * negative status on an MPI failure or a message over the size limit. An
 * oversized message is still received whole and then dropped: receiving it
 * into a smaller buffer (MPI_ERR_TRUNCATE) crashes Open MPI 4.1's
 * shared-memory single-copy path, and leaving it unreceived would block its
 * sender forever. Its size is MPI's own count of what the sender sent, not
 * a length read from the bytes, so this allocates no more than it holds. */
static int try_recv(taml_mpi *m, int source, void **msg, size_t *len, int *src, taml_err *err)
{
    *msg = NULL;
    *len = 0;
    int flag = 0;
    MPI_Status st;
    int rc = MPI_Iprobe(source, TAG, m->comm, &flag, &st);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Iprobe");
    if (!flag) return 0;
    *src = st.MPI_SOURCE;
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    if (count < 0)
        return taml_err_set(err, TAML_ESYS, "MPI: a message from rank %d has no size",
                            st.MPI_SOURCE);
    void *buf = taml_malloc(count > 0 ? (size_t)count : 1);
    rc = MPI_Recv(buf, count, MPI_BYTE, st.MPI_SOURCE, TAG, m->comm, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
        free(buf);
        return mpi_fail(err, rc, "MPI_Recv");
    }
    if ((size_t)count > TAML_WIRE_MAX_MSG) {
        free(buf);
        return taml_err_set(err, TAML_EFORMAT,
                            "rank %d sent a message of %d bytes, more than the %u a taml message "
                            "may have",
                            st.MPI_SOURCE, count, (unsigned)TAML_WIRE_MAX_MSG);
    }
    *msg = buf;
    *len = (size_t)count;
    return 1;
}

/* --------------------------------------------------------- rank 0's pool */

typedef struct rank_info {
    int32_t threads;
    int32_t offset;  /* its first worker's global index */
    int32_t busy;    /* slots holding a job */
    int64_t *slot;   /* (threads) trial id running there, 0 = free */
    int stopped;     /* STOP sent */
    int gone;        /* BYE received */
    char host[TAML_WIRE_HOST];
} rank_info;

/* A job waiting at rank 0 for a free slot (only when more are submitted
 * than there are workers). */
typedef struct waiting {
    struct waiting *next;
    int64_t id;
    void *msg;
    size_t len;
} waiting;

typedef struct mpi_pool {
    taml_mpi *m;
    rank_info *ranks; /* (size); [0] unused */
    sendq sq;
    waiting *wait_head, *wait_tail;
    int next_rank; /* where the search for a free slot starts (round robin) */
    int failed;    /* sticky: a transport failure was reported */
    taml_err fail; /* and its reason */
} mpi_pool;

/* The rank with the most free slots, 0 when none has one. Ties go round
 * robin, so equal ranks share the work. */
static int free_rank(mpi_pool *p)
{
    int best = 0, best_free = 0, n = p->m->size - 1;
    for (int k = 0; k < n; k++) {
        int r = 1 + (p->next_rank + k) % n;
        rank_info *ri = &p->ranks[r];
        int f = ri->stopped || ri->gone ? 0 : ri->threads - ri->busy;
        if (f > best_free) best = r, best_free = f;
    }
    if (best) p->next_rank = best % n;
    return best;
}

static int dispatch(mpi_pool *p, int r, int64_t id, void *msg, size_t len, taml_err *err)
{
    rank_info *ri = &p->ranks[r];
    int32_t s = 0;
    while (s < ri->threads && ri->slot[s] != 0) s++;
    TAML_ASSERT(s < ri->threads); /* free_rank chose a rank with a free slot */
    ri->slot[s] = id;
    ri->busy++;
    return sendq_post(p->m, &p->sq, r, msg, len, err);
}

static int pool_submit(void *impl, const taml_job *job, taml_err *err)
{
    mpi_pool *p = impl;
    if (p->failed) {
        if (err) *err = p->fail;
        return p->fail.code;
    }
    void *msg;
    size_t len;
    int rc = taml_wire_job_encode(job, &msg, &len, err);
    if (rc) return rc;
    int r = free_rank(p);
    if (r) return dispatch(p, r, job->id, msg, len, err);
    waiting *w = taml_calloc(1, sizeof *w);
    w->id = job->id;
    w->msg = msg;
    w->len = len;
    if (p->wait_tail)
        p->wait_tail->next = w;
    else
        p->wait_head = w;
    p->wait_tail = w;
    return TAML_OK;
}

/* Records a transport failure (the first one wins) and returns its code. */
static int pool_failed(mpi_pool *p, const taml_err *why)
{
    if (!p->failed) {
        p->failed = 1;
        p->fail = *why;
        if (p->fail.code >= 0) p->fail.code = TAML_EFORMAT;
    }
    return p->fail.code;
}

/* Handles one message from worker rank src. Returns 1 when it was a result
 * (in *out), 0 when it needs no more, negative on a protocol failure. */
static int on_message(mpi_pool *p, int src, const void *msg, size_t len, taml_job_result *out,
                      taml_err *err)
{
    rank_info *ri = &p->ranks[src];
    taml_err e;
    int type = taml_wire_type_of(msg, len, &e);
    if (type == TAML_WIRE_RESULT) {
        if (taml_wire_result_decode(msg, len, out, &e)) goto bad;
        int32_t s = 0;
        while (s < ri->threads && ri->slot[s] != out->id) s++;
        if (s == ri->threads) {
            taml_err_set(&e, TAML_EFORMAT, "it returned trial %lld, which it was not running",
                         (long long)out->id);
            goto bad;
        }
        if (out->worker >= ri->threads) {
            taml_err_set(&e, TAML_EFORMAT, "its result names thread %d of its %d",
                         (int)out->worker, (int)ri->threads);
            goto bad;
        }
        ri->slot[s] = 0;
        ri->busy--;
        out->worker += ri->offset;
        /* a freed slot takes the oldest waiting job */
        int r;
        while (p->wait_head && (r = free_rank(p))) {
            waiting *w = p->wait_head;
            p->wait_head = w->next;
            if (!p->wait_head) p->wait_tail = NULL;
            int rc = dispatch(p, r, w->id, w->msg, w->len, err);
            free(w);
            if (rc) return pool_failed(p, err);
        }
        return 1;
    }
    if (type == TAML_WIRE_BYE) {
        taml_wire_bye b;
        if (taml_wire_bye_decode(msg, len, &b, &e)) goto bad;
        ri->gone = 1;
        if (ri->stopped && b.status == 0) return 0;
        taml_err_set(err, b.status ? b.status : TAML_EINVAL,
                     "worker rank %d (%s) stopped before the search ended: %s", src, ri->host,
                     b.error[0] ? b.error : "no reason given");
        return pool_failed(p, err);
    }
    if (type > 0) taml_err_set(&e, TAML_EFORMAT, "it sent an unexpected message of type %d", type);
bad:
    taml_err_set(err, e.code < 0 ? e.code : TAML_EFORMAT,
                 "worker rank %d (%s) sent a malformed message: %s", src, ri->host, e.msg);
    return pool_failed(p, err);
}

static int pool_wait(void *impl, taml_job_result *out, double timeout, taml_err *err)
{
    mpi_pool *p = impl;
    if (p->failed) {
        *err = p->fail;
        return p->fail.code;
    }
    double until = timeout >= 0 ? taml_now() + timeout : 0, s = NAP_MIN;
    for (;;) {
        int rc = sendq_reap(&p->sq, err);
        if (rc) return pool_failed(p, err);
        void *msg;
        size_t len;
        int src;
        rc = try_recv(p->m, MPI_ANY_SOURCE, &msg, &len, &src, err);
        if (rc < 0) return pool_failed(p, err);
        if (rc == 1) {
            rc = src >= 1 && src < p->m->size
                     ? on_message(p, src, msg, len, out, err)
                     : (taml_err_set(err, TAML_EFORMAT, "a message came from rank %d", src),
                        pool_failed(p, err));
            free(msg);
            if (rc != 0) return rc;
            s = NAP_MIN;
            continue;
        }
        if (timeout >= 0 && taml_now() >= until) return 0;
        nap(&s);
    }
}

/* Sends STOP to every rank still serving and waits for all their BYEs
 * (dropping the results still coming: their trials re-run on resume). */
static void stop_ranks(mpi_pool *p)
{
    taml_err err;
    for (int r = 1; r < p->m->size; r++) {
        rank_info *ri = &p->ranks[r];
        if (ri->gone || ri->stopped) continue;
        void *msg;
        size_t len;
        taml_wire_stop_encode(&msg, &len);
        if (sendq_post(p->m, &p->sq, r, msg, len, &err) == 0) ri->stopped = 1;
    }
    double s = NAP_MIN;
    for (;;) {
        int left = 0;
        for (int r = 1; r < p->m->size; r++) left += p->ranks[r].stopped && !p->ranks[r].gone;
        if (!left) break;
        void *msg;
        size_t len;
        int src;
        int rc = try_recv(p->m, MPI_ANY_SOURCE, &msg, &len, &src, &err);
        if (rc == TAML_ESYS) break; /* MPI itself failed: nobody to wait for */
        if (rc < 0) continue;       /* an oversized message, received and dropped */
        if (rc == 0) {
            sendq_reap(&p->sq, &err);
            nap(&s);
            continue;
        }
        taml_wire_bye b;
        if (src >= 1 && src < p->m->size && taml_wire_bye_decode(msg, len, &b, &err) == 0)
            p->ranks[src].gone = 1;
        free(msg);
        s = NAP_MIN;
    }
    sendq_drain(&p->sq, &err);
}

static void pool_free(void *impl)
{
    mpi_pool *p = impl;
    stop_ranks(p);
    sendq_deinit(&p->sq);
    while (p->wait_head) {
        waiting *w = p->wait_head;
        p->wait_head = w->next;
        free(w->msg);
        free(w);
    }
    for (int r = 0; r < p->m->size; r++) free(p->ranks[r].slot);
    free(p->ranks);
    free(p);
}

static const taml_pool_ops mpi_ops = {pool_submit, pool_wait, pool_free};

int taml_mpi_pool_new(taml_mpi *m, uint64_t tasks_fp, taml_pool **out, taml_err *err)
{
    *out = NULL;
    if (m->rank != 0)
        return taml_err_set(err, TAML_EINVAL, "MPI: the pool lives on rank 0, this is rank %d",
                            m->rank);
    if (m->size < 2)
        return taml_err_set(err, TAML_EINVAL,
                            "MPI: %d rank, so no worker rank: run mpirun -n 2 or more", m->size);
    mpi_pool *p = taml_calloc(1, sizeof *p);
    p->m = m;
    p->ranks = taml_calloc((size_t)m->size, sizeof *p->ranks);
    int hellos = 0, rc = TAML_OK;
    taml_err first; /* the first rank that could not start */
    taml_err_clear(&first);
    double s = NAP_MIN;
    while (hellos < m->size - 1) {
        void *msg;
        size_t len;
        int src;
        int got = try_recv(m, MPI_ANY_SOURCE, &msg, &len, &src, err);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got == 0) {
            nap(&s);
            continue;
        }
        s = NAP_MIN;
        taml_wire_hello h;
        taml_err e;
        rank_info *ri = src >= 1 && src < m->size ? &p->ranks[src] : NULL;
        int bad = taml_wire_hello_decode(msg, len, &h, &e);
        free(msg);
        if (!ri || ri->threads) {
            rc = taml_err_set(err, TAML_EFORMAT, "MPI: a second greeting from rank %d", src);
            break;
        }
        hellos++;
        if (bad) {
            /* count it as a rank that could not start; it still awaits STOP */
            ri->threads = 1;
            if (!first.code)
                taml_err_set(&first, bad, "worker rank %d sent a malformed greeting: %s", src, e.msg);
            continue;
        }
        ri->threads = h.threads;
        snprintf(ri->host, sizeof ri->host, "%s", h.host);
        if (!first.code && h.status != 0)
            taml_err_set(&first, h.status, "worker rank %d (%s) could not start: %s", src, h.host,
                         h.error);
        else if (!first.code && h.tasks_fp != tasks_fp)
            taml_err_set(&first, TAML_EMISMATCH,
                         "worker rank %d (%s) loaded another task list than rank 0: every rank "
                         "must be given the same --task paths, and see the same files there (a "
                         "shared filesystem)",
                         src, h.host);
    }
    int32_t total = 0;
    for (int r = 1; r < m->size; r++) {
        p->ranks[r].offset = total;
        total += p->ranks[r].threads;
        p->ranks[r].slot = taml_calloc((size_t)(p->ranks[r].threads ? p->ranks[r].threads : 1),
                                       sizeof(int64_t));
    }
    if (!rc && first.code) {
        if (err) *err = first;
        rc = first.code;
    }
    if (!rc && total > 4096)
        rc = taml_err_set(err, TAML_EINVAL,
                          "MPI: the worker ranks have %d threads together, at most 4096 are "
                          "supported: lower --workers",
                          (int)total);
    if (rc) {
        pool_free(p); /* stops the ranks that said hello */
        return rc;
    }
    *out = taml_pool_from_ops(&mpi_ops, p, total);
    return TAML_OK;
}

/* ------------------------------------------------------- a worker rank */

static int send_bye(taml_mpi *m, sendq *q, int status, const char *why, taml_err *err)
{
    taml_wire_bye b = {.status = status};
    snprintf(b.error, sizeof b.error, "%s", why ? why : "");
    void *msg;
    size_t len;
    taml_wire_bye_encode(&b, &msg, &len);
    return sendq_post(m, q, 0, msg, len, err);
}

int taml_mpi_serve(taml_mpi *m, int32_t threads, taml_job_fn fn, void *ctx, taml_pool *given,
                   uint64_t tasks_fp, taml_err *err)
{
    if (m->rank == 0)
        return taml_err_set(err, TAML_EINVAL, "MPI: rank 0 runs the search, it does not serve");
    sendq q = {0};
    taml_pool *local = given;
    if (given) threads = taml_pool_workers(given);
    taml_err e; /* this loop's failure, copied to err at the end */
    taml_err_clear(&e);
    taml_wire_hello h = {.threads = threads > 0 ? threads : 1, .tasks_fp = tasks_fp};
    if (gethostname(h.host, sizeof h.host - 1) != 0) snprintf(h.host, sizeof h.host, "?");
    if (!local && taml_pool_new(&local, threads, fn, ctx, &e)) {
        /* said in HELLO: rank 0 then stops the search before sending jobs */
        h.status = e.code;
        snprintf(h.error, sizeof h.error, "%s", e.msg);
        taml_err_clear(&e);
    }
    void *msg;
    size_t len;
    int rc = taml_wire_hello_encode(&h, &msg, &len, &e);
    if (!rc) rc = sendq_post(m, &q, 0, msg, len, &e);
    int stopped = 0;
    double s = NAP_MIN;
    taml_job_result res;
    while (!rc && !stopped) {
        if ((rc = sendq_reap(&q, &e))) break;
        /* results first: they free the slots rank 0 is waiting for */
        int progressed = 0;
        int w0;
        while (local && (w0 = taml_pool_wait(local, &res, 0)) != 0) {
            if (w0 < 0) {
                rc = taml_err_set(&e, w0, "its workers failed: %s", taml_pool_error(local));
                break;
            }
            if ((rc = taml_wire_result_encode(&res, &msg, &len, &e))) break;
            if ((rc = sendq_post(m, &q, 0, msg, len, &e))) break;
            progressed = 1;
        }
        if (rc) break;
        int src;
        int got = try_recv(m, 0, &msg, &len, &src, &e);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got == 1) {
            taml_err why;
            int type = taml_wire_type_of(msg, len, &why);
            if (type == TAML_WIRE_JOB && local) {
                taml_job job;
                char *cfg;
                if ((rc = taml_wire_job_decode(msg, len, &job, &cfg, &why)) == 0) {
                    rc = taml_pool_submit(local, &job, &e);
                    free(cfg);
                }
            } else if (type == TAML_WIRE_STOP) {
                rc = taml_wire_stop_decode(msg, len, &why);
                stopped = rc == 0;
            } else if (type > 0) {
                rc = taml_err_set(&why, TAML_EFORMAT, "an unexpected message of type %d", type);
            } else {
                rc = type;
            }
            free(msg);
            if (rc && !e.code)
                rc = taml_err_set(&e, rc, "rank 0 sent a malformed message: %s", why.msg);
            progressed = 1;
        }
        if (rc) break;
        if (progressed) {
            s = NAP_MIN;
            continue;
        }
        /* Idle: sleep until a child finishes (its result wakes us at once) or
         * the nap ends; when all threads are busy only a STOP can come, so
         * the nap may be long. */
        if (local && taml_pool_pending(local) > 0) {
            int busy = taml_pool_pending(local) >= threads;
            int w = taml_pool_wait(local, &res, busy ? 0.05 : s);
            if (w < 0) {
                rc = taml_err_set(&e, w, "its workers failed: %s", taml_pool_error(local));
                break;
            }
            if (w == 1) {
                if ((rc = taml_wire_result_encode(&res, &msg, &len, &e))) break;
                if ((rc = sendq_post(m, &q, 0, msg, len, &e))) break;
                s = NAP_MIN;
            } else if (!busy) {
                s = s * 2 < NAP_MAX ? s * 2 : NAP_MAX;
            }
        } else {
            nap(&s);
        }
    }
    /* STOP (or a failure): let the running children finish, drop their
     * results (rank 0 no longer wants them), and say BYE with the reason. */
    if (local != given) taml_pool_free(local);
    taml_err ignore;
    if (stopped) {
        rc = send_bye(m, &q, 0, NULL, &e);
        if (!rc) rc = sendq_drain(&q, &e);
    } else {
        send_bye(m, &q, rc, e.msg, &ignore);
        sendq_drain(&q, &ignore);
    }
    sendq_deinit(&q);
    if (rc && err) *err = e;
    return rc;
}

#endif /* TAML_MPI */
