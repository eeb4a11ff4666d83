/* search/search.c - the search loop (see search.h for strategies, orders and
 * resume; study.c sets up the study it runs on).
 *
 * Everything here runs on the calling thread: it samples configurations,
 * writes them to the store, hands them to the executor, and when results come
 * back commits them together with the controller update they cause (and,
 * every few updates, a checkpoint) in one transaction. A crash between two
 * transactions loses nothing that was committed, and the in-memory state can
 * always be rebuilt from the store: the newest checkpoint plus the updates
 * recorded after it (study.c does that when a study continues).
 */
#include "search/search.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/rng.h"
#include "core/util.h"
#include "ctrl/bundle.h"
#include "search/search_internal.h"

void taml_search_opts_default(taml_search_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = TAML_SEARCH_RANDOM;
    o->trials = 10;
    o->workers = 1;
    o->seed = 1;
    o->retries = 2;
    taml_prune_opts_default(&o->prune);
}

void taml_search_log(search_run *r, const char *fmt, ...)
{
    if (!r->o->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->o->log(r->o->user, line);
}

void taml_search_grow(search_run *r, int64_t need)
{
    if (need < r->cap) return;
    int64_t cap = r->cap ? r->cap : 64;
    while (cap <= need) cap *= 2;
    r->task = taml_realloc(r->task, (size_t)cap * sizeof *r->task);
    r->acts = taml_realloc(r->acts, (size_t)cap * (size_t)r->n_dec * sizeof *r->acts);
    r->flags = taml_realloc(r->flags, (size_t)cap);
    r->reward = taml_realloc(r->reward, (size_t)cap * sizeof *r->reward);
    r->attempts = taml_realloc(r->attempts, (size_t)cap * sizeof *r->attempts);
    memset(r->attempts + r->cap, 0, (size_t)(cap - r->cap) * sizeof *r->attempts);
    if (r->prune.pruner != TAML_PRUNER_NONE) {
        r->rung_acc = taml_realloc(r->rung_acc, (size_t)cap * TAML_JOB_RUNGS * sizeof *r->rung_acc);
        for (size_t i = (size_t)r->cap * TAML_JOB_RUNGS; i < (size_t)cap * TAML_JOB_RUNGS; i++)
            r->rung_acc[i] = NAN;
        r->prung = taml_realloc(r->prung, (size_t)cap * sizeof *r->prung);
        memset(r->prung + r->cap, 0, (size_t)(cap - r->cap));
        free(r->scratch);
        r->scratch = taml_malloc(2 * (size_t)cap * sizeof *r->scratch);
    }
    /* the ring is re-laid flat, oldest first, in its new size */
    int64_t *fifo = taml_malloc((size_t)cap * sizeof *fifo);
    for (int64_t i = 0; i < r->fifo_len; i++) fifo[i] = r->fifo[(r->fifo_head + i) % r->cap];
    free(r->fifo);
    r->fifo = fifo;
    r->fifo_head = 0;
    memset(r->flags + r->cap, 0, (size_t)(cap - r->cap));
    r->cap = cap;
}

void taml_search_queue(search_run *r, int64_t id)
{
    /* ids in the fifo are distinct and < cap, so it never overflows */
    r->fifo[(r->fifo_head + r->fifo_len) % r->cap] = id;
    r->fifo_len++;
}

/* Puts id back at the head of the queue: a trial run again goes first. */
static void queue_front(search_run *r, int64_t id)
{
    r->fifo_head = (r->fifo_head + r->cap - 1) % r->cap;
    r->fifo[r->fifo_head] = id;
    r->fifo_len++;
}

static int64_t fifo_pop(search_run *r)
{
    int64_t id = r->fifo[r->fifo_head];
    r->fifo_head = (r->fifo_head + 1) % r->cap;
    r->fifo_len--;
    return id;
}

/* ------------------------------------------------------------ checkpoints */

/* The controllers as one blob: one checkpoint, or for aml a bundle of one
 * per task (ctrl/bundle.h); study.c's load_blob reads it back. */
static void save_blob(search_run *r, void **blob, size_t *size)
{
    if (r->method != TAML_SEARCH_AML)
        taml_ctrl_save(r->ctrl[0], blob, size);
    else
        taml_ctrl_bundle_save(r->ctrl, r->n_ctrl, blob, size);
}

int taml_search_checkpoint(search_run *r, taml_err *err)
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

static uint64_t trial_seed(const search_run *r, int64_t id)
{
    return taml_rng_derive(r->seed, (uint64_t)id);
}

static int32_t task_of(const search_run *r, int64_t id)
{
    if (r->method == TAML_SEARCH_MULTITASK) {
        taml_rng g;
        taml_rng_seed(&g, taml_rng_derive(trial_seed(r, id), STREAM_TASK));
        return (int32_t)taml_rng_below(&g, (uint64_t)r->n_tasks);
    }
    return (int32_t)((id - 1) % r->n_tasks);
}

int taml_search_sample(search_run *r, int64_t id, taml_err *err)
{
    TAML_ASSERT(id == r->next_id);
    taml_search_grow(r, id);
    int32_t task = task_of(r, id);
    int32_t *a = r->acts + (size_t)id * (size_t)r->n_dec;
    uint64_t seed = trial_seed(r, id);
    taml_rng g;
    taml_rng_seed(&g, taml_rng_derive(seed, STREAM_SAMPLE));
    int uniform = !run_has_ctrl(r);
    if (!uniform && r->explore > 0) { /* search.h's explore_uniform */
        taml_rng x;
        taml_rng_seed(&x, taml_rng_derive(seed, STREAM_EXPLORE));
        uniform = taml_rng_uniform(&x) < r->explore;
    }
    if (!uniform) {
        double f = 1 - (double)(id - 1) / r->temp_trials; /* search.h's explore_temperature */
        double temp = r->temp0 == 1 || f <= 0 ? 1 : 1 + (r->temp0 - 1) * f;
        taml_ctrl_sample_temp(run_ctrl_of(r, task), r->ctrl_task[task], &g, temp, a);
    } else {
        for (int d = 0; d < r->n_dec; d++)
            a[d] = (int32_t)taml_rng_below(&g, (uint64_t)taml_space_choices(r->space, d));
    }
    char *text = taml_space_config_text(r->space, a);
    taml_trial t = {.task = task, .method = (char *)taml_search_method_name(r->method),
                    .config_json = text, .n_actions = r->n_dec, .actions = a, .seed = seed};
    int rc = taml_store_trial_add(r->store, &t, err);
    free(text);
    if (rc) return rc;
    if (t.id != id)
        return taml_err_set(err, TAML_ECORRUPT, "%s: new trial got id %lld, expected %lld",
                            taml_store_path(r->store), (long long)t.id, (long long)id);
    r->task[id] = task;
    r->flags[id] = RUN_SAMPLED;
    r->next_id++;
    taml_search_queue(r, id);
    return TAML_OK;
}

/* Applies trial id's reward to its controller and records the update number. */
int taml_search_apply(search_run *r, int64_t id, int record, taml_err *err)
{
    TAML_ASSERT((r->flags[id] & RUN_FINISHED) && !(r->flags[id] & RUN_APPLIED));
    if (!run_has_ctrl(r) || (r->flags[id] & RUN_NOREWARD)) {
        r->flags[id] |= RUN_APPLIED;
        return TAML_OK;
    }
    int32_t task = r->task[id];
    if (r->flags[id] & RUN_PRUNED) r->reward[id] = taml_search_pruned_reward(r, id);
    taml_ctrl_step info;
    int rc = taml_ctrl_update(run_ctrl_of(r, task), r->ctrl_task[task],
                              r->acts + (size_t)id * (size_t)r->n_dec, r->reward[id], &info, err);
    if (rc) return taml_err_prefix(err, "trial %lld", (long long)id);
    r->baseline[task] = info.baseline;
    r->sigma[task] = info.sigma;
    r->seq++;
    r->flags[id] |= RUN_APPLIED;
    if (record)
        return taml_store_trial_applied(r->store, id, r->seq,
                                        r->flags[id] & RUN_PRUNED ? r->reward[id] : NAN, err);
    return TAML_OK;
}

int taml_search_advance(search_run *r, taml_err *err)
{
    int rc;
    if (!r->deterministic) {
        while (r->next_id <= r->total && r->fifo_len + r->inflight < r->o->workers)
            if ((rc = taml_search_sample(r, r->next_id, err))) return rc;
        return TAML_OK;
    }
    for (;;) {
        while (r->next_id <= r->total && r->next_id <= r->resolved + r->lag)
            if ((rc = taml_search_sample(r, r->next_id, err))) return rc;
        int64_t m = r->resolved + 1;
        if (m >= r->next_id || !(r->flags[m] & RUN_FINISHED)) return TAML_OK;
        if (!(r->flags[m] & RUN_APPLIED) && (rc = taml_search_apply(r, m, 1, err))) return rc;
        r->resolved = m;
    }
}

static void progress(search_run *r, const taml_trial *last)
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

void taml_search_count_finished(search_run *r, int32_t task, double valid)
{
    r->done++;
    r->task_done[task]++;
    if (isfinite(valid) && !(r->best_valid[task] >= valid)) r->best_valid[task] = valid;
}

/* Trial id's worker process died (res->error says how) with retries left:
 * the trial goes back to pending with its attempt counted, committed before
 * it is given out again (at the head of the queue). */
static int retry_trial(search_run *r, const taml_job_result *res, taml_err *err)
{
    int64_t id = res->id;
    int32_t runs = r->o->retries + 1;
    char *why = taml_asprintf("attempt %d of %d: %s", (int)r->attempts[id] + 1, (int)runs,
                              res->error);
    int32_t attempts = 0;
    int rc = taml_store_trial_retry(r->store, id, why, &attempts, err);
    free(why);
    if (rc) return rc;
    r->attempts[id] = attempts;
    r->inflight--;
    queue_front(r, id);
    taml_search_log(r, "trial %lld %s: %s (worker %d): it runs again (attempt %d of %d)",
                    (long long)id, r->names[r->task[id]], res->error, (int)res->worker,
                    (int)attempts + 1, (int)runs);
    return TAML_OK;
}

int taml_search_record(search_run *r, const taml_job_result *res, taml_err *err)
{
    int64_t id = res->id;
    TAML_ASSERT(id >= 1 && id < r->next_id && !(r->flags[id] & RUN_FINISHED));
    if (res->status == TAML_JOB_DIED && r->attempts[id] < r->o->retries)
        return retry_trial(r, res, err);
    int status = res->status;
    char lost[TAML_JOB_ERR + 96] = ""; /* a death or a timeout, as recorded */
    if (status == TAML_JOB_DIED)
        snprintf(lost, sizeof lost, "attempt %d of %d, the last allowed (--trial-retries %d): %s",
                 (int)r->attempts[id] + 1, (int)r->o->retries + 1, (int)r->o->retries, res->error);
    else if (status == TAML_JOB_TIMEOUT)
        snprintf(lost, sizeof lost, "%s", res->error);
    if (!taml_trial_state_final((taml_trial_state)status)) {
        /* a death or a timeout, or a child that returned no final state (a
         * bug there): recorded as failed */
        status = TAML_TRIAL_FAILED;
    }
    if (status == TAML_TRIAL_PRUNED && (r->prune.pruner == TAML_PRUNER_NONE ||
                                        res->pruned_rung < 0 || res->pruned_rung >= res->n_rungs ||
                                        !isfinite(res->rung_acc[res->pruned_rung]))) {
        status = TAML_TRIAL_FAILED; /* a child's bug: pruned where no rung said so */
        snprintf(lost, sizeof lost, "the child reported itself pruned at no rung it reached");
    }
    int reward_ok = status != TAML_TRIAL_FAILED && isfinite(res->valid_acc);
    r->flags[id] |= RUN_FINISHED | (reward_ok ? 0 : RUN_NOREWARD);
    r->reward[id] = res->valid_acc;
    int32_t n_rungs = status == TAML_TRIAL_FAILED ? 0 : res->n_rungs;
    taml_search_note_rungs(r, id, status, n_rungs, res->rung_acc, res->pruned_rung, res->valid_acc);
    r->inflight--;
    r->attempts[id]++;

    int rc = taml_store_begin(r->store, err);
    if (rc) return rc;
    taml_trial t = {.state = (taml_trial_state)status,
                    .valid_acc = res->valid_acc,
                    .test_acc = res->test_acc,
                    .loss = res->loss,
                    .steps = res->steps,
                    .train_seconds = res->train_seconds,
                    .worker = res->worker,
                    .error = lost[0] ? lost : res->error[0] ? (char *)res->error : NULL,
                    .n_rungs = n_rungs,
                    .rung_acc = (double *)res->rung_acc,
                    .pruned_rung = status == TAML_TRIAL_PRUNED ? res->pruned_rung : -1,
                    .reward = NAN};
    if (status == TAML_TRIAL_FAILED && !t.error) t.error = "the child failed without a message";
    if (!r->deterministic && (rc = taml_search_apply(r, id, 0, err))) goto fail;
    t.update_seq = (r->flags[id] & RUN_NOREWARD) || !run_has_ctrl(r) ? 0 : r->deterministic ? 0 : r->seq;
    if (t.update_seq && status == TAML_TRIAL_PRUNED) t.reward = r->reward[id];
    if ((rc = taml_store_trial_finish(r->store, id, &t, err))) goto fail;
    if ((rc = taml_search_advance(r, err))) goto fail;
    if (run_has_ctrl(r) && r->seq - r->seq_ckpt >= r->ckpt_every && (rc = taml_search_checkpoint(r, err)))
        goto fail;
    if ((rc = taml_store_commit(r->store, err))) return rc;

    /* a pruned trial's rung accuracy is never a best (search/prune.h) */
    taml_search_count_finished(r, r->task[id],
                               reward_ok && status != TAML_TRIAL_PRUNED ? res->valid_acc : NAN);
    r->done_this_run++;
    if (r->o->log && status == TAML_TRIAL_PRUNED)
        taml_search_log(r, "trial %lld %s pruned at rung %d (%lld samples) valid %.4f (%.2f s, worker %d)",
                        (long long)id, r->names[r->task[id]], (int)res->pruned_rung,
                        (long long)res->steps * 100, res->valid_acc, res->train_seconds,
                        (int)res->worker);
    else if (r->o->log)
        taml_search_log(r, "trial %lld %s %s valid %.4f test %.4f (%.2f s, worker %d)%s%s", (long long)id,
              r->names[r->task[id]], taml_trial_state_name((taml_trial_state)status),
              res->valid_acc, res->test_acc, res->train_seconds, (int)res->worker,
              t.error ? ": " : "", t.error ? t.error : "");
    t.id = id;
    t.task = r->task[id];
    t.seed = trial_seed(r, id);
    t.n_actions = r->n_dec;
    t.actions = r->acts + (size_t)id * (size_t)r->n_dec;
    t.attempts = r->attempts[id];
    progress(r, &t);
    return TAML_OK;
fail:
    taml_store_rollback(r->store);
    return rc;
}

void taml_search_run_deinit(search_run *r)
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
    free(r->attempts);
    free(r->rung_acc);
    free(r->prung);
    free(r->scratch);
    free(r->fifo);
    free(r->best_valid);
    free(r->task_done);
    taml_store_close(r->store);
}

int taml_search_check_names(int32_t n_tasks, const char *const *task_names, taml_err *err)
{
    for (int32_t i = 0; i < n_tasks; i++)
        for (int32_t j = 0; j < i; j++)
            if (!strcmp(task_names[i], task_names[j]))
                return taml_err_set(err, TAML_EINVAL,
                                    "task '%s' is given twice (tasks %d and %d): a study's task "
                                    "names must be distinct",
                                    task_names[i], (int)j + 1, (int)i + 1);
    return TAML_OK;
}

void taml_search_run_init(search_run *r, const taml_space *space, int32_t n_tasks,
                          const char *const *task_names, const taml_search_opts *o)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->space = space;
    r->n_dec = taml_space_decisions(space);
    r->n_tasks = n_tasks;
    r->names = task_names;
    r->method = o->method;
    r->seed = o->seed;
    r->deterministic = o->deterministic;
    r->lag = o->deterministic ? (o->lag ? o->lag : o->workers) : 0;
    r->explore = o->explore_uniform;
    r->temp0 = o->explore_temperature > 0 ? o->explore_temperature : 1;
    r->temp_trials = o->explore_trials > 0 ? o->explore_trials : 100;
    r->prune = o->prune;
    r->d_samples = -1;
    r->ckpt_every = o->checkpoint_every > 0 ? o->checkpoint_every : 100;
    r->next_id = 1;
    r->total = (int64_t)o->trials * n_tasks;
    r->ctrl_task = taml_calloc((size_t)n_tasks, sizeof *r->ctrl_task);
    r->baseline = taml_malloc((size_t)n_tasks * sizeof *r->baseline);
    r->sigma = taml_malloc((size_t)n_tasks * sizeof *r->sigma);
    r->best_valid = taml_malloc((size_t)n_tasks * sizeof *r->best_valid);
    r->task_done = taml_calloc((size_t)n_tasks, sizeof *r->task_done);
    for (int32_t k = 0; k < n_tasks; k++) r->baseline[k] = r->sigma[k] = r->best_valid[k] = NAN;
    r->t0 = taml_now();
    taml_search_grow(r, r->total);
}

int taml_search_lock(const search_run *r, const char *study_path, const char *const *task_dirs,
                     double wait, int *fd, taml_err *err)
{
    /* One search per study at a time: a second one would take the first
     * one's running trials for crashed ones and re-run them. flock() locks
     * are independent of SQLite's own (fcntl) locks, and readers (status,
     * report) do not take it. The kernel drops it when the process dies. */
    struct stat sb;
    int rc;
    *fd = -1;
    /* a transfer's source is checked before a new study's file exists, so
     * that a damaged or foreign one leaves no file behind */
    if ((stat(study_path, &sb) != 0 || sb.st_size == 0) &&
        (rc = taml_search_check_source(r, task_dirs, err)))
        return rc;
    int lock_fd = open(study_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0)
        return taml_err_set(err, TAML_EIO, "%s: cannot open or create the study file: %s",
                            study_path, taml_text_errno(errno));
    /* ask and tell hold the lock for milliseconds: they wait for each other */
    double until = taml_now() + wait;
    int got;
    while ((got = flock(lock_fd, LOCK_EX | LOCK_NB)) != 0 && errno == EWOULDBLOCK &&
           taml_now() < until)
        usleep(2000);
    if (got != 0) {
        rc = errno == EWOULDBLOCK
                 ? taml_err_set(err, TAML_EINVAL,
                                "%s: another taml search is running on this study; wait for it "
                                "or stop it (Ctrl-C) first",
                                study_path)
                 : taml_err_set(err, TAML_EIO, "%s: cannot lock: %s", study_path, strerror(errno));
        close(lock_fd);
        return rc;
    }
    *fd = lock_fd;
    return TAML_OK;
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
    if (o->explore_temperature != 0 && !(o->explore_temperature > 0 && o->explore_temperature <= 100))
        return taml_err_set(err, TAML_EINVAL, "--explore-temperature: %g is not in (0, 100]",
                            o->explore_temperature);
    if (o->explore_trials < 0)
        return taml_err_set(err, TAML_EINVAL, "--explore-trials: %d is not >= 1", (int)o->explore_trials);
    if (!(o->explore_uniform >= 0 && o->explore_uniform <= 1))
        return taml_err_set(err, TAML_EINVAL, "--explore-uniform: %g is not a probability in [0, 1]",
                            o->explore_uniform);
    if (o->lag < 0) return taml_err_set(err, TAML_EINVAL, "--lag: %d is not >= 0", (int)o->lag);
    if (o->retries < 0 || o->retries > 100)
        return taml_err_set(err, TAML_EINVAL, "--trial-retries: %d is not in 0..100", (int)o->retries);
    if (!o->child) return taml_err_set(err, TAML_EINVAL, "no child function given");
    int rc0 = taml_search_check_names(n_tasks, task_names, err);
    if (rc0) return rc0;

    search_run r;
    taml_search_run_init(&r, space, n_tasks, task_names, o);
    taml_pool *pool = NULL;
    int rc = TAML_OK, stopping = 0; /* stopping: before the first goto out */
    int lock_fd = -1;
    if ((rc = taml_search_prune_setup(&r, err))) goto out;
    if ((rc = taml_search_lock(&r, study_path, task_dirs, 0, &lock_fd, err))) goto out;
    rc = taml_search_study_open(&r, study_path, task_dirs, err);
    if (rc) goto out;
    if (r.next_id - 1 > r.total) {
        taml_search_log(&r, "the study already holds %lld trials, more than the %lld asked for",
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
    if ((rc = taml_search_advance(&r, err))) {
        taml_store_rollback(r.store);
        goto out;
    }
    if ((rc = taml_store_commit(r.store, err))) goto out;
    progress(&r, NULL);

    for (;;) {
        while (r.inflight < o->workers && r.fifo_len > 0 && !(o->stop && *o->stop)) {
            int64_t id = fifo_pop(&r);
            if ((rc = taml_store_trial_start(r.store, id, -1, err))) goto out;
            char *text = taml_space_config_text(space, r.acts + (size_t)id * (size_t)r.n_dec);
            taml_job job = {.id = id, .task = r.task[id], .config_json = text,
                            .seed = trial_seed(&r, id)};
            taml_search_job_rungs(&r, id, &job);
            rc = taml_pool_submit(pool, &job, err);
            free(text);
            if (rc) goto out;
            r.inflight++;
        }
        if (r.inflight == 0) break; /* nothing queued either: the study is complete (or stopped) */
        if (o->stop && *o->stop && !stopping) {
            /* no new trial; the running ones finish and are recorded */
            stopping = 1;
            taml_search_log(&r, "stopping: waiting for the %lld running trials to finish (stop again to "
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
        if ((rc = taml_search_record(&r, &res, err))) goto out;
    }
    if (run_has_ctrl(&r) && r.seq != r.seq_ckpt) {
        /* the final controller, so that transfer and reports start from it */
        if ((rc = taml_search_checkpoint(&r, err))) goto out;
    }
    if (stopping)
        taml_search_log(&r, "stopped: %lld of %lld %s finished; run the same command to continue",
                        (long long)r.done, (long long)r.total,
                        taml_text_plural(r.total, "trial", "trials"));
out:
    if (pool != o->pool) taml_pool_free(pool); /* waits for running children; their results are dropped */
    taml_search_run_deinit(&r);
    if (lock_fd >= 0) close(lock_fd); /* releases the flock */
    return rc;
}
