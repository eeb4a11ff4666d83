/* exec/wire.c - encoder and validating decoder of the MPI transport's
 * messages (format in wire.h), on core/bytes: the writer fills the
 * envelope, the reader refuses to move past the end, so a truncated or
 * lying message ends in an error naming the field and its offset, never in
 * a read outside the buffer.
 */
#include "exec/wire.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/util.h"

#define MAGIC "TAMLWIRE"
/* store/store.h's TAML_TRIAL_PRUNED (exec sits below the store). */
#define WIRE_PRUNED 6
_Static_assert(TAML_JOB_RUNGS == 24, "the rung count's message below says 24");

/* What a message of type t is called in errors (its source). */
static const char *type_name(int t)
{
    switch (t) {
    case TAML_WIRE_HELLO: return "HELLO message";
    case TAML_WIRE_JOB: return "JOB message";
    case TAML_WIRE_RESULT: return "RESULT message";
    case TAML_WIRE_STOP: return "STOP message";
    case TAML_WIRE_BYE: return "BYE message";
    default: return "message";
    }
}

/* ------------------------------------------------------------------ writing */

static size_t begin(taml_bytes_writer *w, int type)
{
    taml_bytes_writer_init(w);
    size_t start = taml_envelope_begin(w, MAGIC, TAML_WIRE_VERSION, 0);
    taml_bytes_put_u32(w, (uint32_t)type);
    return start;
}

static int finish(taml_bytes_writer *w, size_t start, void **out, size_t *len)
{
    taml_envelope_end(w, start);
    *out = taml_bytes_writer_take(w, len);
    return TAML_OK;
}

int taml_wire_hello_encode(const taml_wire_hello *h, void **out, size_t *len, taml_err *err)
{
    (void)err;
    taml_bytes_writer w;
    size_t start = begin(&w, TAML_WIRE_HELLO);
    taml_bytes_put_i32(&w, h->threads);
    taml_bytes_put_i32(&w, h->status);
    taml_bytes_put_u64(&w, h->tasks_fp);
    taml_bytes_put_str16(&w, h->host, sizeof h->host - 1);
    taml_bytes_put_str16(&w, h->error, sizeof h->error - 1);
    return finish(&w, start, out, len);
}

int taml_wire_job_encode(const taml_job *job, void **out, size_t *len, taml_err *err)
{
    *out = NULL;
    *len = 0;
    const char *cfg = job->config_json ? job->config_json : "";
    size_t n = strlen(cfg);
    if (n > TAML_WIRE_MAX_BODY - 24)
        return taml_err_set(err, TAML_EINVAL,
                            "trial %lld: its config is %zu bytes, more than a message carries (%u)",
                            (long long)job->id, n, TAML_WIRE_MAX_BODY - 24);
    taml_bytes_writer w;
    size_t start = begin(&w, TAML_WIRE_JOB);
    taml_bytes_put_i64(&w, job->id);
    taml_bytes_put_i32(&w, job->task);
    taml_bytes_put_u64(&w, job->seed);
    taml_bytes_put_str32(&w, cfg);
    TAML_ASSERT(job->n_rungs >= 0 && job->n_rungs <= TAML_JOB_RUNGS);
    taml_bytes_put_u32(&w, (uint32_t)job->n_rungs);
    for (int32_t k = 0; k < job->n_rungs; k++) {
        taml_bytes_put_i64(&w, job->rung_samples[k]);
        taml_bytes_put_f64(&w, job->rung_threshold[k]);
    }
    return finish(&w, start, out, len);
}

int taml_wire_result_encode(const taml_job_result *r, void **out, size_t *len, taml_err *err)
{
    (void)err;
    taml_bytes_writer w;
    size_t start = begin(&w, TAML_WIRE_RESULT);
    taml_bytes_put_i64(&w, r->id);
    taml_bytes_put_i32(&w, r->task);
    taml_bytes_put_i32(&w, r->worker);
    taml_bytes_put_i32(&w, r->status);
    taml_bytes_put_f64(&w, r->valid_acc);
    taml_bytes_put_f64(&w, r->test_acc);
    taml_bytes_put_f64(&w, r->loss);
    taml_bytes_put_i64(&w, r->steps);
    taml_bytes_put_f64(&w, r->train_seconds);
    TAML_ASSERT(r->n_rungs >= 0 && r->n_rungs <= TAML_JOB_RUNGS);
    taml_bytes_put_u32(&w, (uint32_t)r->n_rungs);
    for (int32_t k = 0; k < r->n_rungs; k++) taml_bytes_put_f64(&w, r->rung_acc[k]);
    taml_bytes_put_i32(&w, r->pruned_rung);
    taml_bytes_put_str16(&w, r->error, sizeof r->error - 1);
    return finish(&w, start, out, len);
}

int taml_wire_stop_encode(void **out, size_t *len)
{
    taml_bytes_writer w;
    size_t start = begin(&w, TAML_WIRE_STOP);
    return finish(&w, start, out, len);
}

int taml_wire_bye_encode(const taml_wire_bye *b, void **out, size_t *len)
{
    taml_bytes_writer w;
    size_t start = begin(&w, TAML_WIRE_BYE);
    taml_bytes_put_i32(&w, b->status);
    taml_bytes_put_str16(&w, b->error, sizeof b->error - 1);
    return finish(&w, start, out, len);
}

/* ------------------------------------------------------------------ reading */

/* taml_wire_type_of with src naming the message in errors. */
static int type_of(const void *msg, size_t len, const char *src, taml_err *err)
{
    if (!msg) len = 0;
    if (len >= 6 && !memcmp(msg, "TMLW", 4))
        return taml_bytes_error(err, TAML_EMISMATCH, src, 4, "version",
                                "%u (a \"TMLW\" header), this taml speaks %d: run the same taml "
                                "build on every rank",
                                (unsigned)((const unsigned char *)msg)[4] |
                                    (unsigned)((const unsigned char *)msg)[5] << 8,
                                TAML_WIRE_VERSION);
    uint32_t version;
    if (taml_envelope_peek(msg, len, MAGIC, &version) && version != TAML_WIRE_VERSION)
        return taml_bytes_error(err, TAML_EMISMATCH, src, 8, "version",
                                "%u, this taml speaks %d: run the same taml build on every rank",
                                version, TAML_WIRE_VERSION);
    if (len > TAML_WIRE_MAX_MSG)
        return taml_err_set(err, TAML_EFORMAT, "%s: %zu bytes, more than the %u a taml message may have",
                            src, len, (unsigned)TAML_WIRE_MAX_MSG);
    taml_envelope env;
    taml_bytes_reader r;
    int rc = taml_envelope_open_payload(msg, len, src, MAGIC, "taml message", &env, &r, err);
    if (rc) return rc;
    uint32_t type = taml_bytes_u32(&r, "type");
    if (taml_bytes_ok(&r) && (type < TAML_WIRE_HELLO || type > TAML_WIRE_BYE))
        taml_bytes_fail(&r, TAML_EFORMAT, "type", "unknown type %u", type);
    if ((rc = taml_bytes_status(&r, err))) return rc;
    return (int)type;
}

int taml_wire_type_of(const void *msg, size_t len, taml_err *err)
{
    return type_of(msg, len, "message", err);
}

/* Checks the envelope for a message of type want and sets r to read its
 * fields; errors name the message after the type wanted. */
static int open_msg(taml_bytes_reader *r, const void *msg, size_t len, int want, taml_err *err)
{
    int t = type_of(msg, len, type_name(want), err);
    if (t < 0) return t;
    if (t != want)
        return taml_err_set(err, TAML_EFORMAT, "expected a %s, got a %s", type_name(want),
                            type_name(t));
    taml_bytes_reader_init(r, (const unsigned char *)msg + TAML_WIRE_HEADER,
                           len - TAML_WIRE_HEADER - TAML_WIRE_TRAILER, type_name(want));
    r->base = TAML_WIRE_HEADER;
    return TAML_OK;
}

/* A u16-length string into dst (cap bytes with the NUL): refused, not cut,
 * when longer than the field (the encoding stays canonical) or holding a
 * NUL. */
static void str16(taml_bytes_reader *r, char *dst, size_t cap, const char *field)
{
    size_t start = r->at;
    uint16_t n = taml_bytes_u16(r, field);
    if (taml_bytes_ok(r) && n >= cap)
        taml_bytes_fail(r, TAML_EFORMAT, field, "%u bytes, at most %zu fit", n, cap - 1);
    const char *p = taml_bytes_take(r, n, field);
    r->last = start; /* refusals below and after name the field at its length */
    if (p && memchr(p, 0, n)) taml_bytes_fail(r, TAML_EFORMAT, field, "holds a NUL byte");
    if (!taml_bytes_ok(r)) return;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

/* A value read and then refused: "... FIELD: what". */
static void refuse_if(taml_bytes_reader *r, int bad, const char *field, const char *what)
{
    if (bad && taml_bytes_ok(r)) taml_bytes_fail(r, TAML_EFORMAT, field, "%s", what);
}

int taml_wire_hello_decode(const void *msg, size_t len, taml_wire_hello *h, taml_err *err)
{
    memset(h, 0, sizeof *h);
    taml_bytes_reader r;
    int rc = open_msg(&r, msg, len, TAML_WIRE_HELLO, err);
    if (rc) return rc;
    h->threads = taml_bytes_i32(&r, "threads");
    refuse_if(&r, h->threads < 1 || h->threads > 4096, "threads", "not in 1..4096");
    h->status = taml_bytes_i32(&r, "status");
    refuse_if(&r, h->status > 0, "status", "positive (0 or an error code expected)");
    h->tasks_fp = taml_bytes_u64(&r, "tasks fingerprint");
    str16(&r, h->host, sizeof h->host, "host");
    str16(&r, h->error, sizeof h->error, "error");
    refuse_if(&r, h->status < 0 && !h->error[0], "error", "a failed worker sent no reason");
    if ((rc = taml_bytes_expect_end(&r, "the last field"))) {
        taml_bytes_status(&r, err);
        memset(h, 0, sizeof *h);
    }
    return rc;
}

int taml_wire_job_decode(const void *msg, size_t len, taml_job *job, char **config, taml_err *err)
{
    memset(job, 0, sizeof *job);
    *config = NULL;
    taml_bytes_reader r;
    int rc = open_msg(&r, msg, len, TAML_WIRE_JOB, err);
    if (rc) return rc;
    int64_t id = taml_bytes_i64(&r, "id");
    refuse_if(&r, id < 1, "id", "not >= 1");
    int32_t task = taml_bytes_i32(&r, "task");
    refuse_if(&r, task < 0, "task", "negative");
    uint64_t seed = taml_bytes_u64(&r, "seed");
    char *cfg = taml_bytes_str32(&r, TAML_WIRE_MAX_BODY, "config");
    uint32_t n = taml_bytes_u32(&r, "rungs");
    refuse_if(&r, n > TAML_JOB_RUNGS, "rungs", "more than 24 (TAML_JOB_RUNGS)");
    for (uint32_t k = 0; k < n && taml_bytes_ok(&r); k++) {
        job->rung_samples[k] = taml_bytes_i64(&r, "rung samples");
        refuse_if(&r, job->rung_samples[k] < 1 || (k > 0 && job->rung_samples[k] <= job->rung_samples[k - 1]),
                  "rung samples", "not ascending from >= 1");
        job->rung_threshold[k] = taml_bytes_f64(&r, "rung threshold");
        refuse_if(&r, !isnan(job->rung_threshold[k]) && !(job->rung_threshold[k] >= 0 && job->rung_threshold[k] <= 1),
                  "rung threshold", "not in [0, 1] or NaN");
    }
    if ((rc = taml_bytes_expect_end(&r, "the last field"))) {
        taml_bytes_status(&r, err);
        free(cfg);
        memset(job, 0, sizeof *job);
        return rc;
    }
    job->n_rungs = (int32_t)n;
    job->id = id;
    job->task = task;
    job->seed = seed;
    job->config_json = cfg;
    *config = cfg;
    return TAML_OK;
}

int taml_wire_result_decode(const void *msg, size_t len, taml_job_result *res, taml_err *err)
{
    memset(res, 0, sizeof *res);
    taml_bytes_reader r;
    int rc = open_msg(&r, msg, len, TAML_WIRE_RESULT, err);
    if (rc) return rc;
    /* Accuracies and loss may be NaN (a diverged or failed child); the
     * bookkeeping fields may not be nonsense. */
    res->id = taml_bytes_i64(&r, "id");
    refuse_if(&r, res->id < 1, "id", "not >= 1");
    res->task = taml_bytes_i32(&r, "task");
    refuse_if(&r, res->task < 0, "task", "negative");
    res->worker = taml_bytes_i32(&r, "worker");
    refuse_if(&r, res->worker < 0, "worker", "negative");
    res->status = taml_bytes_i32(&r, "status");
    refuse_if(&r, res->status < 0 || res->status > 63, "status", "not a trial state");
    res->valid_acc = taml_bytes_f64(&r, "valid accuracy");
    res->test_acc = taml_bytes_f64(&r, "test accuracy");
    res->loss = taml_bytes_f64(&r, "loss");
    res->steps = taml_bytes_i64(&r, "steps");
    refuse_if(&r, res->steps < 0, "steps", "negative");
    res->train_seconds = taml_bytes_f64(&r, "train seconds");
    refuse_if(&r, !(res->train_seconds >= 0) || isinf(res->train_seconds), "train seconds",
              "not a finite number >= 0");
    uint32_t n = taml_bytes_u32(&r, "rungs");
    refuse_if(&r, n > TAML_JOB_RUNGS, "rungs", "more than 24 (TAML_JOB_RUNGS)");
    for (uint32_t k = 0; k < n && taml_bytes_ok(&r); k++) {
        res->rung_acc[k] = taml_bytes_f64(&r, "rung accuracy");
        refuse_if(&r, !isnan(res->rung_acc[k]) && !(res->rung_acc[k] >= 0 && res->rung_acc[k] <= 1),
                  "rung accuracy", "not in [0, 1] or NaN");
    }
    res->n_rungs = (int32_t)n;
    res->pruned_rung = taml_bytes_i32(&r, "pruned rung");
    refuse_if(&r, res->status == WIRE_PRUNED ? res->pruned_rung < 0 || res->pruned_rung >= res->n_rungs
                                             : res->pruned_rung != 0,
              "pruned rung", res->status == WIRE_PRUNED ? "not a rung of the result" : "not 0 for a trial not pruned");
    str16(&r, res->error, sizeof res->error, "error");
    if ((rc = taml_bytes_expect_end(&r, "the last field"))) {
        taml_bytes_status(&r, err);
        memset(res, 0, sizeof *res);
    }
    return rc;
}

int taml_wire_stop_decode(const void *msg, size_t len, taml_err *err)
{
    taml_bytes_reader r;
    int rc = open_msg(&r, msg, len, TAML_WIRE_STOP, err);
    if (rc) return rc;
    if ((rc = taml_bytes_expect_end(&r, "the type"))) taml_bytes_status(&r, err);
    return rc;
}

int taml_wire_bye_decode(const void *msg, size_t len, taml_wire_bye *b, taml_err *err)
{
    memset(b, 0, sizeof *b);
    taml_bytes_reader r;
    int rc = open_msg(&r, msg, len, TAML_WIRE_BYE, err);
    if (rc) return rc;
    b->status = taml_bytes_i32(&r, "status");
    refuse_if(&r, b->status > 0, "status", "positive");
    str16(&r, b->error, sizeof b->error, "error");
    if ((rc = taml_bytes_expect_end(&r, "the last field"))) {
        taml_bytes_status(&r, err);
        memset(b, 0, sizeof *b);
    }
    return rc;
}

int taml_wire_frame_size(const void *head, size_t *size, taml_err *err)
{
    *size = 0;
    const unsigned char *h = head;
    if (memcmp(h, MAGIC, 8) != 0)
        return taml_err_set(err, TAML_EFORMAT, "message: offset 0: magic: not \"%s\"", MAGIC);
    uint32_t version = taml_bytes_load_u32(h + 8);
    if (version != TAML_WIRE_VERSION)
        return taml_err_set(err, TAML_EMISMATCH,
                            "message: offset 8: version: %u, this taml speaks %d", version,
                            TAML_WIRE_VERSION);
    uint64_t payload = taml_bytes_load_u64(h + 16);
    if (payload < 4 || payload > TAML_WIRE_MAX_MSG - TAML_WIRE_FRAME_HEAD - TAML_WIRE_TRAILER)
        return taml_err_set(err, TAML_EFORMAT,
                            "message: offset 16: length: %llu payload bytes, not in 4..%u",
                            (unsigned long long)payload,
                            (unsigned)(TAML_WIRE_MAX_MSG - TAML_WIRE_FRAME_HEAD - TAML_WIRE_TRAILER));
    *size = TAML_WIRE_FRAME_HEAD + (size_t)payload + TAML_WIRE_TRAILER;
    return TAML_OK;
}

uint64_t taml_wire_tasks_fp(int32_t n_tasks, const char *const *names)
{
    uint64_t h = taml_fnv1a(TAML_FNV_INIT, &n_tasks, sizeof n_tasks);
    for (int32_t i = 0; i < n_tasks; i++) h = taml_fnv1a(h, names[i], strlen(names[i]) + 1);
    return h;
}
