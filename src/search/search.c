/* search/search.c - the search loop (see search.h for strategies, orders and
 * resume).
 *
 * Everything here runs on the calling thread: it samples configurations,
 * writes them to the store, hands them to the executor, and when results come
 * back commits them together with the controller update they cause (and,
 * every few updates, a checkpoint) in one transaction. A crash between two
 * transactions loses nothing that was committed, and the in-memory state can
 * always be rebuilt from the store: the newest checkpoint plus the updates
 * recorded after it.
 */
#include "search/search.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "ctrl/bundle.h"

/* Stream ids under a trial's seed: the controller's sampling and the
 * multitask task draw get their own generators, distinct from the child's. */
#define STREAM_SAMPLE 0x73616d70ULL /* "samp" */
#define STREAM_TASK 0x7461736bULL   /* "task" */
/* Stream ids under the study seed for the initial controller weights. */
#define STREAM_CTRL 0x6374726cULL /* "ctrl" */

static const char *method_names[] = {"random", "aml", "multitask", "transfer"};

const char *taml_search_method_name(taml_search_method m)
{
    return (unsigned)m < 4 ? method_names[m] : "?";
}

int taml_search_method_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, method_names[i])) return i;
    return -1;
}

void taml_search_opts_default(taml_search_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = TAML_SEARCH_RANDOM;
    o->trials = 10;
    o->workers = 1;
    o->seed = 1;
}

/* Per-trial bookkeeping, indexed by trial id (1-based). */
enum { F_SAMPLED = 1, F_FINISHED = 2, F_APPLIED = 4, F_NOREWARD = 8 };

typedef struct run {
    const taml_search_opts *o;
    taml_store *store;
    const taml_space *space;
    int n_dec;
    int32_t n_tasks;
    const char *const *names;
    taml_search_method method;
    uint64_t seed;
    int deterministic;
    int32_t lag;
    int32_t ckpt_every;

    taml_ctrl **ctrl; /* n_ctrl controllers */
    int n_ctrl;
    int *ctrl_task; /* (n_tasks) the task's id inside its controller */
    double *baseline, *sigma; /* (n_tasks) as of each task's last update */

    int64_t total;    /* trials the study will hold */
    int64_t cap;      /* size of the per-id arrays */
    int32_t *task;    /* (cap) */
    int32_t *acts;    /* (cap, n_dec) */
    uint8_t *flags;   /* (cap) */
    double *reward;   /* (cap) */
    int64_t next_id;  /* the next id to sample */
    int64_t resolved; /* deterministic: trials 1..resolved are applied or reward-less */
    int64_t seq;      /* last controller update number */
    int64_t seq_ckpt; /* update number of the newest checkpoint */

    int64_t *fifo; /* sampled, pending ids waiting for a worker (ring) */
    int64_t fifo_head, fifo_len;
    int64_t inflight;

    /* progress */
    int64_t done;
    int64_t done_this_run;
    double t0;
    double *best_valid;
    int64_t *task_done;
} run;

static void logf_(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(run *r, const char *fmt, ...)
{
    if (!r->o->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->o->log(r->o->user, line);
}

static int has_ctrl(const run *r)
{
    return r->method != TAML_SEARCH_RANDOM;
}

static taml_ctrl *ctrl_of(run *r, int32_t task)
{
    return r->method == TAML_SEARCH_AML ? r->ctrl[task] : r->ctrl[0];
}

static void grow(run *r, int64_t need)
{
    if (need < r->cap) return;
    int64_t cap = r->cap ? r->cap : 64;
    while (cap <= need) cap *= 2;
    r->task = taml_realloc(r->task, (size_t)cap * sizeof *r->task);
    r->acts = taml_realloc(r->acts, (size_t)cap * (size_t)r->n_dec * sizeof *r->acts);
    r->flags = taml_realloc(r->flags, (size_t)cap);
    r->reward = taml_realloc(r->reward, (size_t)cap * sizeof *r->reward);
    /* the ring is re-laid flat, oldest first, in its new size */
    int64_t *fifo = taml_malloc((size_t)cap * sizeof *fifo);
    for (int64_t i = 0; i < r->fifo_len; i++) fifo[i] = r->fifo[(r->fifo_head + i) % r->cap];
    free(r->fifo);
    r->fifo = fifo;
    r->fifo_head = 0;
    memset(r->flags + r->cap, 0, (size_t)(cap - r->cap));
    r->cap = cap;
}

static void fifo_push(run *r, int64_t id)
{
    /* ids in the fifo are distinct and < cap, so it never overflows */
    r->fifo[(r->fifo_head + r->fifo_len) % r->cap] = id;
    r->fifo_len++;
}

static int64_t fifo_pop(run *r)
{
    int64_t id = r->fifo[r->fifo_head];
    r->fifo_head = (r->fifo_head + 1) % r->cap;
    r->fifo_len--;
    return id;
}

/* ------------------------------------------------------------ checkpoints */

/* The controllers as one blob: one checkpoint, or for aml a bundle of one
 * per task (ctrl/bundle.h). */
static void save_blob(run *r, void **blob, size_t *size)
{
    if (r->method != TAML_SEARCH_AML)
        taml_ctrl_save(r->ctrl[0], blob, size);
    else
        taml_ctrl_bundle_save(r->ctrl, r->n_ctrl, blob, size);
}

/* source names the blob in messages. */
static int load_blob(run *r, const void *blob, size_t size, const char *source, taml_err *err)
{
    if (r->method != TAML_SEARCH_AML) {
        r->n_ctrl = 1;
        r->ctrl = taml_calloc(1, sizeof *r->ctrl);
        return taml_ctrl_load_named(&r->ctrl[0], r->space, blob, size, source, err);
    }
    int32_t n;
    int rc = taml_ctrl_bundle_load(&r->ctrl, &n, r->space, blob, size, source, err);
    if (rc) return rc;
    r->n_ctrl = n;
    if (n != r->n_tasks)
        return taml_err_set(err, TAML_ECORRUPT, "%s: %d aml controllers for %d tasks", source,
                            (int)n, (int)r->n_tasks);
    return TAML_OK;
}

static int save_checkpoint(run *r, taml_err *err)
{
    void *blob;
    size_t size;
    save_blob(r, &blob, &size);
    int rc = taml_store_checkpoint_save(r->store, r->seq, blob, size, r->n_tasks, r->baseline,
                                        r->sigma, err);
    free(blob);
    if (!rc) r->seq_ckpt = r->seq;
    return rc;
}

/* ------------------------------------------------------------ the trials */

static uint64_t trial_seed(const run *r, int64_t id)
{
    return taml_rng_derive(r->seed, (uint64_t)id);
}

static int32_t task_of(const run *r, int64_t id)
{
    if (r->method == TAML_SEARCH_MULTITASK) {
        taml_rng g;
        taml_rng_seed(&g, taml_rng_derive(trial_seed(r, id), STREAM_TASK));
        return (int32_t)taml_rng_below(&g, (uint64_t)r->n_tasks);
    }
    return (int32_t)((id - 1) % r->n_tasks);
}

/* Samples trial id (the next one) and stores it as pending. */
static int sample_trial(run *r, int64_t id, taml_err *err)
{
    TAML_ASSERT(id == r->next_id);
    grow(r, id);
    int32_t task = task_of(r, id);
    int32_t *a = r->acts + (size_t)id * (size_t)r->n_dec;
    uint64_t seed = trial_seed(r, id);
    taml_rng g;
    taml_rng_seed(&g, taml_rng_derive(seed, STREAM_SAMPLE));
    if (has_ctrl(r)) {
        taml_ctrl_sample(ctrl_of(r, task), r->ctrl_task[task], &g, a);
    } else {
        for (int d = 0; d < r->n_dec; d++)
            a[d] = (int32_t)taml_rng_below(&g, (uint64_t)taml_space_choices(r->space, d));
    }
    cJSON *cfg = taml_space_config_json(r->space, a);
    char *text = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    taml_trial t = {.task = task, .method = (char *)taml_search_method_name(r->method),
                    .config_json = text, .n_actions = r->n_dec, .actions = a, .seed = seed};
    int rc = taml_store_trial_add(r->store, &t, err);
    cJSON_free(text);
    if (rc) return rc;
    if (t.id != id)
        return taml_err_set(err, TAML_ECORRUPT, "%s: new trial got id %lld, expected %lld",
                            taml_store_path(r->store), (long long)t.id, (long long)id);
    r->task[id] = task;
    r->flags[id] = F_SAMPLED;
    r->next_id++;
    fifo_push(r, id);
    return TAML_OK;
}

/* Applies trial id's reward to its controller and records the update number. */
static int apply_trial(run *r, int64_t id, int record, taml_err *err)
{
    TAML_ASSERT((r->flags[id] & F_FINISHED) && !(r->flags[id] & F_APPLIED));
    if (!has_ctrl(r) || (r->flags[id] & F_NOREWARD)) {
        r->flags[id] |= F_APPLIED;
        return TAML_OK;
    }
    int32_t task = r->task[id];
    taml_ctrl_step info;
    int rc = taml_ctrl_update(ctrl_of(r, task), r->ctrl_task[task],
                              r->acts + (size_t)id * (size_t)r->n_dec, r->reward[id], &info, err);
    if (rc) return taml_err_prefix(err, "trial %lld", (long long)id);
    r->baseline[task] = info.baseline;
    r->sigma[task] = info.sigma;
    r->seq++;
    r->flags[id] |= F_APPLIED;
    if (record) return taml_store_trial_applied(r->store, id, r->seq, err);
    return TAML_OK;
}

/* Takes every step the current state allows: deterministic mode applies
 * finished trials in id order, sampling trial m + lag right after trial m is
 * resolved; asynchronous mode samples as long as a worker would be idle. */
static int advance(run *r, taml_err *err)
{
    int rc;
    if (!r->deterministic) {
        while (r->next_id <= r->total && r->fifo_len + r->inflight < r->o->workers)
            if ((rc = sample_trial(r, r->next_id, err))) return rc;
        return TAML_OK;
    }
    for (;;) {
        while (r->next_id <= r->total && r->next_id <= r->resolved + r->lag)
            if ((rc = sample_trial(r, r->next_id, err))) return rc;
        int64_t m = r->resolved + 1;
        if (m >= r->next_id || !(r->flags[m] & F_FINISHED)) return TAML_OK;
        if (!(r->flags[m] & F_APPLIED) && (rc = apply_trial(r, m, 1, err))) return rc;
        r->resolved = m;
    }
}

static void progress(run *r, const taml_trial *last)
{
    if (!r->o->progress) return;
    double el = taml_now() - r->t0;
    double pm = el > 0 ? 60.0 * (double)r->done_this_run / el : 0;
    taml_search_progress p = {
        .done = r->done,
        .total = r->total,
        /* called between a result and the next dispatch: count the queued
         * trials a free worker takes right after this call */
        .running = r->inflight + r->fifo_len < r->o->workers ? r->inflight + r->fifo_len
                                                             : r->o->workers,
        .n_tasks = r->n_tasks,
        .task_names = r->names,
        .best_valid = r->best_valid,
        .task_done = r->task_done,
        .elapsed = el,
        .per_minute = pm,
        .eta = pm > 0 ? 60.0 * (double)(r->total - r->done) / pm : NAN,
        .last = last,
    };
    r->o->progress(r->o->user, &p);
}

static void count_finished(run *r, int32_t task, double valid)
{
    r->done++;
    r->task_done[task]++;
    if (isfinite(valid) && !(r->best_valid[task] >= valid)) r->best_valid[task] = valid;
}

/* Commits one result: the trial, its update (asynchronous), the updates it
 * unblocks (deterministic), and a checkpoint when one is due. */
static int on_result(run *r, const taml_job_result *res, taml_err *err)
{
    int64_t id = res->id;
    TAML_ASSERT(id >= 1 && id < r->next_id && !(r->flags[id] & F_FINISHED));
    int status = res->status;
    if (!taml_trial_state_final((taml_trial_state)status)) {
        /* a child that returned no final state is a bug there; record it */
        status = TAML_TRIAL_FAILED;
    }
    int reward_ok = status != TAML_TRIAL_FAILED && isfinite(res->valid_acc);
    r->flags[id] |= F_FINISHED | (reward_ok ? 0 : F_NOREWARD);
    r->reward[id] = res->valid_acc;
    r->inflight--;

    int rc = taml_store_begin(r->store, err);
    if (rc) return rc;
    taml_trial t = {.state = (taml_trial_state)status,
                    .valid_acc = res->valid_acc,
                    .test_acc = res->test_acc,
                    .loss = res->loss,
                    .steps = res->steps,
                    .train_seconds = res->train_seconds,
                    .worker = res->worker,
                    .error = res->error[0] ? (char *)res->error : NULL};
    if (status == TAML_TRIAL_FAILED && !t.error) t.error = "the child failed without a message";
    if (!r->deterministic && (rc = apply_trial(r, id, 0, err))) goto fail;
    t.update_seq = (r->flags[id] & F_NOREWARD) || !has_ctrl(r) ? 0 : r->deterministic ? 0 : r->seq;
    if ((rc = taml_store_trial_finish(r->store, id, &t, err))) goto fail;
    if ((rc = advance(r, err))) goto fail;
    if (has_ctrl(r) && r->seq - r->seq_ckpt >= r->ckpt_every && (rc = save_checkpoint(r, err)))
        goto fail;
    if ((rc = taml_store_commit(r->store, err))) return rc;

    count_finished(r, r->task[id], reward_ok ? res->valid_acc : NAN);
    r->done_this_run++;
    if (r->o->log)
        logf_(r, "trial %lld %s %s valid %.4f test %.4f (%.2f s, worker %d)%s%s", (long long)id,
              r->names[r->task[id]], taml_trial_state_name((taml_trial_state)status),
              res->valid_acc, res->test_acc, res->train_seconds, (int)res->worker,
              t.error ? ": " : "", t.error ? t.error : "");
    t.id = id;
    t.task = r->task[id];
    t.seed = trial_seed(r, id);
    t.n_actions = r->n_dec;
    t.actions = r->acts + (size_t)id * (size_t)r->n_dec;
    progress(r, &t);
    return TAML_OK;
fail:
    taml_store_rollback(r->store);
    return rc;
}

/* ------------------------------------------------------ setting up a study */

static char *options_json(const run *r)
{
    return taml_asprintf("{\"deterministic\":%s,\"lag\":%d}", r->deterministic ? "true" : "false",
                         r->deterministic ? (int)r->lag : 0);
}

static char *fingerprint_hex(const taml_space *s)
{
    return taml_asprintf("%016" PRIx64, taml_space_fingerprint(s));
}

/* Checks that a stored study is the one asked for; EMISMATCH says what differs. */
static int check_same_study(run *r, const taml_study *st, taml_err *err)
{
    const char *path = taml_store_path(r->store);
    if (strcmp(st->method, taml_search_method_name(r->method)) != 0)
        return taml_err_set(err, TAML_EMISMATCH,
                            "%s: the study was made with method %s, not %s; continue it with "
                            "--method %s or use another --study file",
                            path, st->method, taml_search_method_name(r->method), st->method);
    int same_tasks = st->n_tasks == r->n_tasks;
    for (int32_t i = 0; same_tasks && i < r->n_tasks; i++)
        same_tasks = !strcmp(st->task_names[i], r->names[i]);
    if (!same_tasks) {
        char have[512] = "", want[512] = "";
        for (int32_t i = 0; i < st->n_tasks; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", i ? ", " : "",
                     st->task_names[i]);
        for (int32_t i = 0; i < r->n_tasks; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? ", " : "",
                     r->names[i]);
        return taml_err_set(err, TAML_EMISMATCH,
                            "%s: the study's tasks are [%s] (in this order), not [%s]", path, have,
                            want);
    }
    char *fp = fingerprint_hex(r->space);
    int same_space = !strcmp(fp, st->space_fingerprint);
    free(fp);
    if (!same_space) {
        taml_space *old = NULL;
        char diff[512] = "the fingerprints differ";
        taml_err e2;
        if (taml_space_from_json(&old, st->space_json, "study space", &e2) == 0)
            taml_space_diff(old, r->space, diff, sizeof diff);
        taml_space_free(old);
        return taml_err_set(err, TAML_EMISMATCH,
                            "%s: the study was made with another search space (study vs now: %s)",
                            path, diff);
    }
    if (r->o->seed_set && r->o->seed != st->seed)
        return taml_err_set(err, TAML_EMISMATCH, "%s: the study's seed is %" PRIu64 ", not %" PRIu64,
                            path, st->seed, r->o->seed);
    if (r->deterministic && r->o->lag == 0) {
        /* no --lag given: keep the study's (its default was the worker count
         * of the run that made it, which this run need not share) */
        cJSON *j = cJSON_Parse(st->options_json);
        cJSON *lag = cJSON_GetObjectItemCaseSensitive(j, "lag");
        if (cJSON_IsNumber(lag) && lag->valuedouble >= 1) r->lag = (int32_t)lag->valuedouble;
        cJSON_Delete(j);
    }
    char *opt = options_json(r);
    int same_opts = !strcmp(opt, st->options_json);
    free(opt);
    if (!same_opts) {
        char *want = options_json(r);
        taml_err_set(err, TAML_EMISMATCH,
                     "%s: the study's order is %s, not %s (--deterministic and --lag must be "
                     "as when it was made)",
                     path, st->options_json, want);
        free(want);
        return TAML_EMISMATCH;
    }
    return TAML_OK;
}

static int new_controllers(run *r, taml_err *err)
{
    taml_ctrl_opts co;
    if (r->o->ctrl_opts)
        co = *r->o->ctrl_opts;
    else
        taml_ctrl_opts_default(&co);
    int rc;
    if (r->method == TAML_SEARCH_TRANSFER) {
        if (!r->o->from_blob)
            return taml_err_set(err, TAML_EINVAL,
                                "transfer needs a source controller (--from STUDY_OR_CHECKPOINT)");
        r->n_ctrl = 1;
        r->ctrl = taml_calloc(1, sizeof *r->ctrl);
        if ((rc = taml_ctrl_load_named(&r->ctrl[0], r->space, r->o->from_blob, r->o->from_size,
                                       "transfer source", err)))
            return rc;
        if (r->o->ctrl_opts) {
            taml_ctrl_opts keep = *taml_ctrl_get_opts(r->ctrl[0]);
            co.seed = keep.seed;
            if ((rc = taml_ctrl_set_opts(r->ctrl[0], &co, err))) return rc;
        }
        return TAML_OK;
    }
    r->n_ctrl = r->method == TAML_SEARCH_AML ? r->n_tasks : 1;
    r->ctrl = taml_calloc((size_t)r->n_ctrl, sizeof *r->ctrl);
    for (int i = 0; i < r->n_ctrl; i++) {
        co.seed = taml_rng_derive(r->seed, STREAM_CTRL + (uint64_t)i);
        if ((rc = taml_ctrl_new(&r->ctrl[i], r->space, &co, err))) return rc;
    }
    return TAML_OK;
}

/* Registers the study's tasks in their controllers (existing names keep
 * their embedding: a resumed study, or a transfer to a task seen before). */
static int register_tasks(run *r, taml_err *err)
{
    for (int32_t k = 0; k < r->n_tasks; k++) {
        int id = taml_ctrl_add_task(ctrl_of(r, k), r->names[k], err);
        if (id < 0) return id;
        r->ctrl_task[k] = id;
    }
    return TAML_OK;
}

/* A resumed study keeps the learning options its controllers were made with
 * (they are in the checkpoint); options given again must be the same ones. */
static int check_same_learning(run *r, taml_err *err)
{
    const taml_ctrl_opts *a = taml_ctrl_get_opts(r->ctrl[0]), *b = r->o->ctrl_opts;
    int same = a->lr == b->lr && a->beta1 == b->beta1 && a->beta2 == b->beta2 &&
               a->adam_eps == b->adam_eps && a->grad_clip == b->grad_clip &&
               a->entropy_weight == b->entropy_weight && a->ema_decay == b->ema_decay &&
               a->warmup == b->warmup && a->normalise == b->normalise &&
               a->adv_clip == b->adv_clip && a->transfer_restart == b->transfer_restart;
    if (same) return TAML_OK;
    return taml_err_set(err, TAML_EMISMATCH,
                        "%s: the study's controller learns with lr %g, entropy weight %g (and "
                        "its other options), not lr %g, entropy weight %g as given: continue it "
                        "with its own options (or without these flags)",
                        taml_store_path(r->store), a->lr, a->entropy_weight, b->lr,
                        b->entropy_weight);
}

/* Restores the controllers: the newest checkpoint, then the updates recorded
 * after it, in the order they were applied. */
static int restore(run *r, taml_err *err)
{
    void *blob = NULL;
    size_t size;
    int64_t after;
    int rc = taml_store_checkpoint_last(r->store, &blob, &size, &after, err);
    if (rc < 0) return rc;
    if (rc == 0)
        return taml_err_set(err, TAML_ECORRUPT, "%s: the study has no controller checkpoint",
                            taml_store_path(r->store));
    char *source = taml_asprintf("%s: checkpoint after update %lld", taml_store_path(r->store),
                                 (long long)after);
    rc = load_blob(r, blob, size, source, err);
    free(source);
    free(blob);
    if (rc) return rc;
    for (int32_t k = 0; k < r->n_tasks; k++) {
        r->ctrl_task[k] = taml_ctrl_find_task(ctrl_of(r, k), r->names[k]);
        if (r->ctrl_task[k] < 0)
            return taml_err_set(err, TAML_ECORRUPT, "%s: checkpoint has no task '%s'",
                                taml_store_path(r->store), r->names[k]);
    }
    r->seq = r->seq_ckpt = after;
    /* the baselines as of the checkpoint: a task with no update replayed
     * below keeps its value there, as in the run that saved it */
    if ((rc = taml_store_checkpoint_last_baselines(r->store, r->n_tasks, r->baseline, r->sigma,
                                                   err)) < 0)
        return rc;
    taml_store_iter *it;
    if ((rc = taml_store_iter_new(r->store, TAML_ITER_BY_SEQ, after, &it, err))) return rc;
    taml_trial t;
    int64_t replayed = 0;
    while ((rc = taml_store_iter_next(it, &t, err)) == 1) {
        if (t.update_seq != r->seq + 1 || t.n_actions != r->n_dec || t.task < 0 ||
            t.task >= r->n_tasks) {
            rc = taml_err_set(err, TAML_ECORRUPT,
                              "%s: trial %lld has update %lld where %lld was expected",
                              taml_store_path(r->store), (long long)t.id,
                              (long long)t.update_seq, (long long)r->seq + 1);
            break;
        }
        taml_ctrl_step info;
        if ((rc = taml_ctrl_update(ctrl_of(r, t.task), r->ctrl_task[t.task], t.actions, t.valid_acc,
                                   &info, err)))
            break;
        r->baseline[t.task] = info.baseline;
        r->sigma[t.task] = info.sigma;
        r->seq++;
        replayed++;
    }
    taml_store_iter_free(it);
    if (rc < 0) return rc;
    if (replayed) logf_(r, "replayed %lld controller updates after the checkpoint", (long long)replayed);
    return TAML_OK;
}

/* Loads what the store knows of every trial into the per-id arrays. */
static int load_trials(run *r, taml_err *err)
{
    taml_store_iter *it;
    int rc = taml_store_iter_new(r->store, TAML_ITER_BY_ID, 0, &it, err);
    if (rc) return rc;
    taml_trial t;
    while ((rc = taml_store_iter_next(it, &t, err)) == 1) {
        if (t.id != r->next_id || t.n_actions != r->n_dec || t.task < 0 || t.task >= r->n_tasks) {
            rc = taml_err_set(err, TAML_ECORRUPT, "%s: trial %lld does not fit the study",
                              taml_store_path(r->store), (long long)t.id);
            break;
        }
        grow(r, t.id);
        r->task[t.id] = t.task;
        memcpy(r->acts + (size_t)t.id * (size_t)r->n_dec, t.actions,
               (size_t)r->n_dec * sizeof(int32_t));
        r->flags[t.id] = F_SAMPLED;
        r->reward[t.id] = t.valid_acc;
        r->next_id++;
        if (t.state == TAML_TRIAL_PENDING) {
            fifo_push(r, t.id);
        } else {
            TAML_ASSERT(taml_trial_state_final(t.state)); /* running ones were requeued */
            int ok = t.state != TAML_TRIAL_FAILED && isfinite(t.valid_acc);
            r->flags[t.id] |= F_FINISHED | (ok ? 0 : F_NOREWARD);
            if (t.update_seq > 0 || !ok || !has_ctrl(r)) r->flags[t.id] |= F_APPLIED;
            count_finished(r, t.task, ok ? t.valid_acc : NAN);
        }
    }
    taml_store_iter_free(it);
    if (rc < 0) return rc;
    if (r->deterministic) {
        while (r->resolved + 1 < r->next_id && (r->flags[r->resolved + 1] & F_APPLIED))
            r->resolved++;
    } else {
        /* Asynchronous order commits a result with its update, so nothing
         * finished is unapplied; apply any that is, in id order, to be safe. */
        for (int64_t id = 1; id < r->next_id; id++)
            if ((r->flags[id] & F_FINISHED) && !(r->flags[id] & F_APPLIED)) {
                if ((rc = apply_trial(r, id, 1, err))) return rc;
            }
    }
    return TAML_OK;
}

static int open_study(run *r, const char *path, const char *const *task_dirs, taml_err *err)
{
    int rc = taml_store_open(&r->store, path, TAML_STORE_CREATE, err);
    if (rc) return rc;
    if (taml_store_has_study(r->store)) {
        taml_study st;
        if ((rc = taml_store_study(r->store, &st, err))) return rc;
        rc = check_same_study(r, &st, err);
        r->seed = st.seed;
        taml_study_deinit(&st);
        if (rc) return rc;
        if (has_ctrl(r) && (rc = restore(r, err))) return rc;
        if (has_ctrl(r) && r->o->ctrl_opts && (rc = check_same_learning(r, err))) return rc;
        int64_t n = 0;
        if ((rc = taml_store_requeue(r->store, &n, err))) return rc;
        if (n) logf_(r, "%lld trials were running when the search stopped: they run again",
                     (long long)n);
        return load_trials(r, err);
    }
    char *space_json = taml_space_to_json(r->space), *fp = fingerprint_hex(r->space);
    char *opts = options_json(r);
    taml_study st = {.method = (char *)taml_search_method_name(r->method),
                     .seed = r->seed,
                     .space_json = space_json,
                     .space_fingerprint = fp,
                     .trials_per_task = r->o->trials,
                     .options_json = opts,
                     .taml_version = (char *)(r->o->taml_version ? r->o->taml_version : ""),
                     .n_tasks = r->n_tasks,
                     .task_names = (char **)r->names,
                     .task_dirs = (char **)task_dirs};
    rc = taml_store_begin(r->store, err);
    if (!rc) rc = taml_store_create(r->store, &st, err);
    if (!rc && has_ctrl(r)) {
        rc = new_controllers(r, err);
        if (!rc) rc = register_tasks(r, err);
        if (!rc) rc = save_checkpoint(r, err);
    }
    if (!rc)
        rc = taml_store_commit(r->store, err);
    else
        taml_store_rollback(r->store);
    free(space_json);
    free(fp);
    free(opts);
    return rc;
}

static void run_deinit(run *r)
{
    for (int i = 0; i < r->n_ctrl; i++) taml_ctrl_free(r->ctrl[i]);
    free(r->ctrl);
    free(r->ctrl_task);
    free(r->baseline);
    free(r->sigma);
    free(r->task);
    free(r->acts);
    free(r->flags);
    free(r->reward);
    free(r->fifo);
    free(r->best_valid);
    free(r->task_done);
    taml_store_close(r->store);
}

int taml_search_run(const char *study_path, const taml_space *space, int32_t n_tasks,
                    const char *const *task_names, const char *const *task_dirs,
                    const taml_search_opts *o, taml_err *err)
{
    if ((unsigned)o->method > TAML_SEARCH_TRANSFER)
        return taml_err_set(err, TAML_EINVAL, "unknown search method %d", (int)o->method);
    if (n_tasks < 1) return taml_err_set(err, TAML_EINVAL, "a search needs at least one task");
    if (o->trials < 1)
        return taml_err_set(err, TAML_EINVAL, "--trials: %d is not >= 1", (int)o->trials);
    if (o->workers < 1 || o->workers > 4096)
        return taml_err_set(err, TAML_EINVAL, "--workers: %d is not in 1..4096", (int)o->workers);
    if (o->lag < 0) return taml_err_set(err, TAML_EINVAL, "--lag: %d is not >= 0", (int)o->lag);
    if (!o->child) return taml_err_set(err, TAML_EINVAL, "no child function given");
    for (int32_t i = 0; i < n_tasks; i++)
        for (int32_t j = 0; j < i; j++)
            if (!strcmp(task_names[i], task_names[j]))
                return taml_err_set(err, TAML_EINVAL,
                                    "task '%s' is given twice (tasks %d and %d): a study's task "
                                    "names must be distinct",
                                    task_names[i], (int)j + 1, (int)i + 1);

    run r = {0};
    r.o = o;
    r.space = space;
    r.n_dec = taml_space_decisions(space);
    r.n_tasks = n_tasks;
    r.names = task_names;
    r.method = o->method;
    r.seed = o->seed;
    r.deterministic = o->deterministic;
    r.lag = o->deterministic ? (o->lag ? o->lag : o->workers) : 0;
    r.ckpt_every = o->checkpoint_every > 0 ? o->checkpoint_every : 100;
    r.next_id = 1;
    r.total = (int64_t)o->trials * n_tasks;
    r.ctrl_task = taml_calloc((size_t)n_tasks, sizeof *r.ctrl_task);
    r.baseline = taml_malloc((size_t)n_tasks * sizeof *r.baseline);
    r.sigma = taml_malloc((size_t)n_tasks * sizeof *r.sigma);
    r.best_valid = taml_malloc((size_t)n_tasks * sizeof *r.best_valid);
    r.task_done = taml_calloc((size_t)n_tasks, sizeof *r.task_done);
    for (int32_t k = 0; k < n_tasks; k++) r.baseline[k] = r.sigma[k] = r.best_valid[k] = NAN;
    r.t0 = taml_now();
    grow(&r, r.total);

    taml_pool *pool = NULL;
    /* One search per study at a time: a second one would take the first
     * one's running trials for crashed ones and re-run them. flock() locks
     * are independent of SQLite's own (fcntl) locks, and readers (status,
     * report) do not take it. The kernel drops it when the process dies. */
    int rc = TAML_OK, stopping = 0; /* stopping: before the first goto out */
    int lock_fd = open(study_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) {
        rc = taml_err_set(err, TAML_EIO, "%s: cannot open: %s", study_path, strerror(errno));
        goto out;
    }
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? taml_err_set(err, TAML_EINVAL,
                                "%s: another taml search is running on this study; wait for it "
                                "or stop it (Ctrl-C) first",
                                study_path)
                 : taml_err_set(err, TAML_EIO, "%s: cannot lock: %s", study_path, strerror(errno));
        goto out;
    }
    rc = open_study(&r, study_path, task_dirs, err);
    if (rc) goto out;
    if (r.next_id - 1 > r.total) {
        logf_(&r, "the study already holds %lld trials, more than the %lld asked for",
              (long long)(r.next_id - 1), (long long)r.total);
        r.total = r.next_id - 1;
    }
    if (o->pool) {
        if (taml_pool_workers(o->pool) != o->workers) {
            rc = taml_err_set(err, TAML_EINVAL, "the executor has %d workers, the search %d",
                              (int)taml_pool_workers(o->pool), (int)o->workers);
            goto out;
        }
        pool = o->pool;
    } else if ((rc = taml_pool_new(&pool, o->workers, o->child, o->child_ctx, err))) {
        goto out;
    }
    if ((rc = taml_store_begin(r.store, err))) goto out;
    if ((rc = advance(&r, err))) {
        taml_store_rollback(r.store);
        goto out;
    }
    if ((rc = taml_store_commit(r.store, err))) goto out;
    progress(&r, NULL);

    for (;;) {
        while (r.inflight < o->workers && r.fifo_len > 0 && !(o->stop && *o->stop)) {
            int64_t id = fifo_pop(&r);
            if ((rc = taml_store_trial_start(r.store, id, -1, err))) goto out;
            cJSON *cfg = taml_space_config_json(space, r.acts + (size_t)id * (size_t)r.n_dec);
            char *text = cJSON_PrintUnformatted(cfg);
            cJSON_Delete(cfg);
            taml_job job = {.id = id, .task = r.task[id], .config_json = text,
                            .seed = trial_seed(&r, id)};
            rc = taml_pool_submit(pool, &job, err);
            cJSON_free(text);
            if (rc) goto out;
            r.inflight++;
        }
        if (r.inflight == 0) break; /* nothing queued either: the study is complete (or stopped) */
        if (o->stop && *o->stop && !stopping) {
            /* no new trial; the running ones finish and are recorded */
            stopping = 1;
            logf_(&r, "stopping: waiting for the %lld running trials to finish (stop again to "
                      "quit at once: they will run again next time)",
                  (long long)r.inflight);
        }
        taml_job_result res;
        int got = taml_pool_wait(pool, &res, 0.5);
        if (got < 0) {
            /* the trials out are lost to this run; the next one re-runs them */
            rc = taml_err_set(err, got, "%s", taml_pool_error(pool));
            goto out;
        }
        if (got != 1) continue;
        if ((rc = on_result(&r, &res, err))) goto out;
    }
    if (has_ctrl(&r) && r.seq != r.seq_ckpt) {
        /* the final controller, so that transfer and reports start from it */
        if ((rc = save_checkpoint(&r, err))) goto out;
    }
    if (stopping)
        logf_(&r, "stopped: %lld of %lld trials finished; run the same command to continue",
              (long long)r.done, (long long)r.total);
out:
    if (pool != o->pool) taml_pool_free(pool); /* waits for running children; their results are dropped */
    run_deinit(&r);
    if (lock_fd >= 0) close(lock_fd); /* releases the flock */
    return rc;
}

/* 1 when the file at path starts with SQLite's 16-byte magic (a study),
 * 0 when not, TAML_EIO when it cannot be read. */
static int is_sqlite_file(const char *path, taml_err *err)
{
    static const char magic[16] = "SQLite format 3";
    FILE *f = fopen(path, "rb");
    if (!f) return taml_err_set(err, TAML_EIO, "%s: cannot open: %s", path, strerror(errno));
    char head[16];
    size_t got = fread(head, 1, sizeof head, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) return taml_err_set(err, TAML_EIO, "%s: read error", path);
    return got == sizeof head && !memcmp(head, magic, sizeof head);
}

int taml_search_load_source(const char *path, void **blob, size_t *size, taml_err *err)
{
    *blob = NULL;
    *size = 0;
    int rc = is_sqlite_file(path, err);
    if (rc < 0) return rc;
    if (rc == 0) {
        char *data = NULL;
        size_t n = 0;
        if ((rc = taml_read_file(path, &data, &n, err))) return rc;
        *blob = data;
        *size = n;
        return TAML_OK;
    }
    taml_store *s;
    if ((rc = taml_store_open(&s, path, TAML_STORE_READONLY, err))) return rc;
    taml_study st;
    if ((rc = taml_store_study(s, &st, err))) {
        taml_store_close(s);
        return rc;
    }
    int ok = !strcmp(st.method, "multitask") || !strcmp(st.method, "transfer");
    if (!ok)
        rc = taml_err_set(err, TAML_EINVAL,
                          "%s: a %s study has no multitask controller to transfer from", path,
                          st.method);
    taml_study_deinit(&st);
    int64_t after;
    if (!rc) {
        rc = taml_store_checkpoint_last(s, blob, size, &after, err);
        if (rc == 0)
            rc = taml_err_set(err, TAML_ENOTFOUND, "%s: the study has no checkpoint", path);
        else if (rc > 0)
            rc = TAML_OK;
    }
    taml_store_close(s);
    return rc;
}
