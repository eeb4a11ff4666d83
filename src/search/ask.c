/* search/ask.c - ask and tell (search/ask.h): one short session on a study
 * per call, on the loop's own steps (search_internal.h): the study opened
 * as a continued search opens it (study.c), trials sampled and results
 * recorded by the same functions the loop uses, so that the two make the
 * same study. */
#include "search/ask.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/text.h"
#include "core/util.h"
#include "search/search_internal.h"

/* How long an ask or a tell waits for another holder of the study's lock. */
#define LOCK_WAIT 30.0


void taml_asked_deinit(taml_asked *a)
{
    if (!a) return;
    free(a->task_name);
    free(a->config_json);
    memset(a, 0, sizeof *a);
}

/* One session on a study: its settings (read from the study when no setup
 * was given), the loop's state and the lock. */
typedef struct session {
    taml_search_opts o;
    search_run r;
    int have_run;
    taml_space *space; /* read from the study (else the setup's, borrowed) */
    taml_study st;     /* the study's record (when read) */
    int have_st;
    int lock_fd;
} session;

/* The options of a study that exists, from its record. */
static int settings_of(session *s, const char *path, taml_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || sb.st_size == 0)
        return taml_err_set(err, TAML_ENOTFOUND,
                            "%s: no study here: the first ask of a study gives its settings as "
                            "`taml search` takes them (--method, --task, --trials, ...)",
                            path);
    taml_store *store;
    int rc = taml_store_open(&store, path, TAML_STORE_READONLY, err);
    if (rc) return rc;
    if (!taml_store_has_study(store))
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: the file holds no study yet", path);
    if (!rc && !(rc = taml_store_study(store, &s->st, err))) s->have_st = 1;
    taml_store_close(store);
    if (rc) return rc;
    int m = taml_search_method_parse(s->st.method);
    if (m < 0)
        return taml_err_set(err, TAML_ECORRUPT, "%s: unknown method '%s'", path, s->st.method);
    if ((rc = taml_space_from_json(&s->space, s->st.space_json, path, err))) return rc;
    taml_search_opts_default(&s->o);
    s->o.method = (taml_search_method)m;
    s->o.trials = s->st.trials_per_task;
    s->o.seed = s->st.seed;
    s->o.seed_set = 1;
    s->o.modules_dir = s->st.modules_dir;
    cJSON *j = cJSON_Parse(s->st.options_json);
    cJSON *det = cJSON_GetObjectItemCaseSensitive(j, "deterministic");
    cJSON *lag = cJSON_GetObjectItemCaseSensitive(j, "lag");
    s->o.deterministic = cJSON_IsTrue(det);
    if (s->o.deterministic && cJSON_IsNumber(lag) && lag->valuedouble >= 1)
        s->o.lag = (int32_t)lag->valuedouble;
    cJSON_Delete(j);
    if (taml_search_prune_of_options(s->st.options_json, &s->o.prune) < 0)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: the study's options %s name a pruner this taml does not know",
                            path, s->st.options_json);
    return TAML_OK;
}

static int session_open(session *s, const char *path, const taml_ask_setup *setup, int requeue,
                        taml_err *err)
{
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
    const taml_space *space;
    int32_t n_tasks;
    const char *const *names, *const *dirs;
    int rc;
    if (setup) {
        s->o = *setup->opts;
        space = setup->space;
        n_tasks = setup->n_tasks;
        names = setup->task_names;
        dirs = setup->task_dirs;
        if (n_tasks < 1) return taml_err_set(err, TAML_EINVAL, "a study needs at least one task");
        if (s->o.trials < 1)
            return taml_err_set(err, TAML_EINVAL, "--trials: %d is not >= 1", (int)s->o.trials);
        if ((rc = taml_search_check_names(n_tasks, names, err))) return rc;
    } else {
        if ((rc = settings_of(s, path, err))) return rc;
        space = s->space;
        n_tasks = s->st.n_tasks;
        names = (const char *const *)s->st.task_names;
        dirs = (const char *const *)s->st.task_dirs;
    }
    s->o.workers = 1; /* the default lag of a new deterministic study */
    taml_search_run_init(&s->r, space, n_tasks, names, &s->o);
    s->have_run = 1;
    if ((rc = taml_search_prune_setup(&s->r, err))) return rc;
    s->r.keep_running = !requeue;
    s->r.store_flags = TAML_STORE_KEEP_WAL;
    if ((rc = taml_search_lock(&s->r, path, dirs, LOCK_WAIT, &s->lock_fd, err))) return rc;
    if ((rc = taml_search_study_open(&s->r, path, dirs, err))) return rc;
    if (s->r.next_id - 1 > s->r.total) s->r.total = s->r.next_id - 1;
    return TAML_OK;
}

static void session_close(session *s)
{
    if (s->have_run) taml_search_run_deinit(&s->r);
    taml_space_free(s->space);
    if (s->have_st) taml_study_deinit(&s->st);
    if (s->lock_fd >= 0) close(s->lock_fd);
}

/* The task index named name, or -1. */
static int32_t task_index(const search_run *r, const char *name)
{
    for (int32_t k = 0; k < r->n_tasks; k++)
        if (!strcmp(r->names[k], name)) return k;
    return -1;
}

/* The first pending trial of task (any when task < 0), or 0. */
static int64_t pending_of(const search_run *r, int32_t task)
{
    for (int64_t i = 0; i < r->fifo_len; i++) {
        int64_t id = r->fifo[(r->fifo_head + i) % r->cap];
        if (task < 0 || r->task[id] == task) return id;
    }
    return 0;
}

/* Why nothing can be handed out now (ENOTFOUND). */
static int nothing_due(const search_run *r, const char *path, int32_t task, taml_err *err)
{
    int64_t out = r->inflight;
    if (r->done >= r->total)
        return taml_err_set(err, TAML_ENOTFOUND,
                            "%s: the study is complete: its %lld %s told (a larger --trials "
                            "extends it)",
                            path, (long long)r->total,
                            taml_text_plural(r->total, "trial is", "trials are"));
    const char *which = task >= 0 ? " of that task" : "";
    if (r->deterministic && r->next_id <= r->total && task < 0)
        return taml_err_set(err, TAML_ENOTFOUND,
                            "%s: trial %lld is due only after trial %lld is told (deterministic "
                            "order, lag %d); %lld %s out",
                            path, (long long)r->next_id, (long long)(r->next_id - r->lag),
                            (int)r->lag, (long long)out, out == 1 ? "trial is" : "trials are");
    return taml_err_set(err, TAML_ENOTFOUND,
                        "%s: no trial%s to hand out now: %lld %s out and not told (tell them, "
                        "or ask with --requeue to hand out again those never told)",
                        path, which, (long long)out, out == 1 ? "trial is" : "trials are");
}

int taml_search_ask_prepare(const char *path, const taml_ask_setup *setup, taml_err *err)
{
    session s;
    int rc = session_open(&s, path, setup, 0, err);
    search_run *r = &s.r;
    if (!rc && !(rc = taml_store_begin(r->store, err))) {
        if ((rc = taml_search_advance(r, err)))
            taml_store_rollback(r->store);
        else
            rc = taml_store_commit(r->store, err);
    }
    session_close(&s);
    return rc;
}

int taml_search_ask(const char *path, const taml_ask_setup *setup, const char *task, int requeue,
                    taml_asked *out, taml_err *err)
{
    memset(out, 0, sizeof *out);
    session s;
    int rc = session_open(&s, path, setup, requeue, err);
    search_run *r = &s.r;
    int32_t want = -1;
    int64_t id = 0;
    taml_job job = {0};
    if (!rc && task && (want = task_index(r, task)) < 0) {
        char list[512] = "";
        for (int32_t k = 0; k < r->n_tasks; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                     r->names[k]);
        rc = taml_err_set(err, TAML_EINVAL, "%s: no task '%s' in the study (its tasks: %s)", path,
                          task, list);
    }
    if (rc) goto out;
    if ((rc = taml_store_begin(r->store, err))) goto out;
    if ((rc = taml_search_advance(r, err))) goto fail;
    id = pending_of(r, want);
    /* asynchronous: a new trial from the controller as it is now (for a
     * task, trials of the others sampled on the way wait as pending) */
    while (!id && !r->deterministic && r->next_id <= r->total) {
        if ((rc = taml_search_sample(r, r->next_id, err))) goto fail;
        if (want < 0 || r->task[r->next_id - 1] == want) id = r->next_id - 1;
    }
    if (!id) {
        rc = nothing_due(r, path, want, err);
        goto fail;
    }
    if ((rc = taml_store_trial_start(r->store, id, -1, err))) goto fail;
    if ((rc = taml_store_commit(r->store, err))) goto out;
    out->id = id;
    out->task = r->task[id];
    out->task_name = taml_strdup(r->names[out->task]);
    out->seed = taml_rng_derive(r->seed, (uint64_t)id);
    out->config_json = taml_space_config_text(r->space, r->acts + (size_t)id * (size_t)r->n_dec);
    taml_search_job_rungs(r, id, &job);
    out->n_rungs = job.n_rungs;
    memcpy(out->rung_samples, job.rung_samples, sizeof out->rung_samples);
    memcpy(out->rung_threshold, job.rung_threshold, sizeof out->rung_threshold);
    goto out;
fail:
    taml_store_rollback(r->store);
out:
    session_close(&s);
    return rc;
}

static int in_unit(double x)
{
    return x >= 0 && x <= 1;
}

/* The told values that need no study: states, ranges, the rung list. */
static int told_check(int64_t id, const taml_told *told, taml_err *err)
{
    if (!taml_trial_state_final(told->state))
        return taml_err_set(err, TAML_EINVAL,
                            "trial %lld: a told state is done, diverged, invalid, failed or pruned",
                            (long long)id);
    int failed = told->state == TAML_TRIAL_FAILED, pruned = told->state == TAML_TRIAL_PRUNED;
    if (!((failed || pruned) && isnan(told->valid)) && !in_unit(told->valid))
        return taml_err_set(err, TAML_EINVAL, "trial %lld: valid %g is not an accuracy in [0, 1]",
                            (long long)id, told->valid);
    if (!isnan(told->test) && !in_unit(told->test))
        return taml_err_set(err, TAML_EINVAL, "trial %lld: test %g is not an accuracy in [0, 1]",
                            (long long)id, told->test);
    if (told->n_rungs < 0 || told->n_rungs > TAML_JOB_RUNGS || (told->n_rungs && !told->rung_acc))
        return taml_err_set(err, TAML_EINVAL, "trial %lld: %d rung values (at most %d)",
                            (long long)id, (int)told->n_rungs, TAML_JOB_RUNGS);
    for (int k = 0; k < told->n_rungs; k++)
        if (!in_unit(told->rung_acc[k]))
            return taml_err_set(err, TAML_EINVAL,
                                "trial %lld: rung %d's value %g is not an accuracy in [0, 1]",
                                (long long)id, k, told->rung_acc[k]);
    if (failed && told->n_rungs)
        return taml_err_set(err, TAML_EINVAL, "trial %lld: a failed trial has no rung values",
                            (long long)id);
    if (pruned && told->n_rungs == 0)
        return taml_err_set(err, TAML_EINVAL,
                            "trial %lld: a pruned trial needs its rung values (it stopped at the "
                            "last)",
                            (long long)id);
    if (pruned && !isnan(told->valid) && told->valid != told->rung_acc[told->n_rungs - 1])
        return taml_err_set(err, TAML_EINVAL,
                            "trial %lld: pruned with valid %.17g, but its last rung's value is "
                            "%.17g (a pruned trial's accuracy is its last rung's)",
                            (long long)id, told->valid, told->rung_acc[told->n_rungs - 1]);
    return TAML_OK;
}

/* The rungs told fit the study and the trial: a pruner, and no more rungs
 * than the trial has. */
static int told_rungs_fit(const search_run *r, const char *path, int64_t id, const taml_told *told,
                          taml_err *err)
{
    if (told->n_rungs == 0) return TAML_OK;
    if (r->prune.pruner == TAML_PRUNER_NONE)
        return taml_err_set(err, TAML_EINVAL,
                            "%s: trial %lld: rung values (or the pruned state) are for a study "
                            "with a pruner; this one has none",
                            path, (long long)id);
    int32_t n = taml_search_trial_rungs(r, id);
    if (told->n_rungs > n)
        return taml_err_set(err, TAML_EINVAL,
                            "%s: trial %lld has %d %s (its samples' rungs), not %d", path,
                            (long long)id, (int)n, taml_text_plural(n, "rung", "rungs"),
                            (int)told->n_rungs);
    return TAML_OK;
}

int taml_search_tell(const char *path, int64_t id, const taml_told *told, taml_err *err)
{
    int rc0 = told_check(id, told, err);
    if (rc0) return rc0;
    int failed = told->state == TAML_TRIAL_FAILED, pruned = told->state == TAML_TRIAL_PRUNED;
    session s;
    int rc = session_open(&s, path, NULL, 0, err);
    search_run *r = &s.r;
    taml_trial t = {0};
    taml_job_result res = {0};
    int have_t = 0;
    if (rc) goto out;
    if (id < 1 || id >= r->next_id) {
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: no trial %lld: the study holds trials 1..%lld",
                          path, (long long)id, (long long)(r->next_id - 1));
        goto out;
    }
    if ((rc = taml_store_trial_get(r->store, id, &t, err))) goto out;
    have_t = 1;
    if (taml_trial_state_final(t.state)) {
        char valid[32] = "no accuracy";
        if (isfinite(t.valid_acc)) snprintf(valid, sizeof valid, "valid %.17g", t.valid_acc);
        rc = taml_err_set(err, TAML_EINVAL,
                          "%s: trial %lld was told already (%s, %s): a told trial never changes",
                          path, (long long)id, taml_trial_state_name(t.state), valid);
        goto out;
    }
    if (t.state != TAML_TRIAL_RUNNING) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: trial %lld is not out: it is %s (ask for it first)",
                          path, (long long)id, taml_trial_state_name(t.state));
        goto out;
    }
    if ((rc = told_rungs_fit(r, path, id, told, err))) goto out;
    res = (taml_job_result){.id = id, .task = t.task, .worker = -1, .status = (int)told->state,
                            .valid_acc = pruned ? told->rung_acc[told->n_rungs - 1] : told->valid,
                            .test_acc = pruned ? NAN : told->test, .loss = NAN,
                            .n_rungs = told->n_rungs, .pruned_rung = pruned ? told->n_rungs - 1 : 0,
                            .train_seconds = t.started_at > 0 ? taml_store_now() - t.started_at : 0};
    for (int k = 0; k < told->n_rungs; k++) res.rung_acc[k] = told->rung_acc[k];
    if (failed) snprintf(res.error, sizeof res.error, "%s", told->error ? told->error : "told as failed");
    if ((rc = taml_search_record(r, &res, err))) goto out;
    /* the last trial told: the final controller, as a search ends with */
    if (r->done >= r->total && r->inflight == 0 && r->fifo_len == 0 && run_has_ctrl(r) &&
        r->seq != r->seq_ckpt)
        rc = taml_search_checkpoint(r, err);
out:
    if (have_t) taml_trial_deinit(&t);
    session_close(&s);
    return rc;
}
