/* report/study.c - loads a study file into the plain arrays that status and
 * report compute on (see report.h). Two passes over the store's trial
 * iterator: one to size the arrays, one to fill them, so a study of any
 * length costs two allocations per array. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/study.h"
#include "store/store.h"

static void task_free(taml_report_task *t)
{
    free(t->name);
    free(t->id);
    free(t->state);
    free(t->valid);
    free(t->test);
    free(t->reward);
    free(t->actions);
    free(t->seq);
    if (t->config)
        for (size_t i = 0; i < t->n; i++) free(t->config[i]);
    free(t->config);
    taml_store_ensemble_deinit(&t->ensemble);
}

void taml_report_study_free(taml_report_study *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n_tasks; i++) task_free(&s->tasks[i]);
    free(s->tasks);
    free(s->path);
    free(s->label);
    free(s->space_json);
    free(s->ckpt);
    free(s->first);
    taml_store_transfer_deinit(&s->transfer);
    free(s);
}

const taml_report_task *taml_report_study_task(const taml_report_study *s, const char *name)
{
    for (size_t i = 0; i < s->n_tasks; i++)
        if (!strcmp(s->tasks[i].name, name)) return &s->tasks[i];
    return NULL;
}

/* Pass 1: finished trials per task and the longest action vector. */
static int count_trials(taml_store *st, taml_report_study *s, size_t *cap, taml_err *err)
{
    taml_store_iter *it;
    int rc = taml_store_iter_new(st, TAML_ITER_BY_ID, 0, &it, err);
    if (rc < 0) return rc;
    taml_trial t;
    while ((rc = taml_store_iter_next(it, &t, err)) == 1) {
        if (t.task < 0 || (size_t)t.task >= s->n_tasks) {
            rc = taml_err_set(err, TAML_ECORRUPT, "%s: trial %lld names task %d of %zu",
                              s->path, (long long)t.id, t.task, s->n_tasks);
            break;
        }
        if (!taml_trial_state_final(t.state)) {
            s->tasks[t.task].n_unfinished++;
            continue;
        }
        cap[t.task]++;
        if (t.n_actions > 0 && (size_t)t.n_actions > s->n_actions) s->n_actions = (size_t)t.n_actions;
    }
    taml_store_iter_free(it);
    return rc < 0 ? rc : 0;
}

/* Pass 2: copies every finished trial into its task's arrays. */
static int fill_trials(taml_store *st, taml_report_study *s, taml_err *err)
{
    taml_store_iter *it;
    int rc = taml_store_iter_new(st, TAML_ITER_BY_ID, 0, &it, err);
    if (rc < 0) return rc;
    taml_trial t;
    size_t na = s->n_actions;
    while ((rc = taml_store_iter_next(it, &t, err)) == 1) {
        if (!taml_trial_state_final(t.state)) continue;
        taml_report_task *k = &s->tasks[t.task];
        size_t i = k->n++;
        k->id[i] = t.id;
        k->state[i] = (int)t.state;
        int failed = t.state == TAML_TRIAL_FAILED, pruned = t.state == TAML_TRIAL_PRUNED;
        k->valid[i] = failed || pruned ? NAN : t.valid_acc;
        k->test[i] = failed || pruned ? NAN : t.test_acc;
        k->reward[i] = failed ? NAN : pruned && isfinite(t.reward) ? t.reward : t.valid_acc;
        k->n_failed += failed;
        k->n_pruned += pruned;
        k->n_diverged += t.state == TAML_TRIAL_DIVERGED;
        k->n_invalid += t.state == TAML_TRIAL_INVALID;
        for (size_t d = 0; d < na; d++)
            k->actions[i * na + d] =
                t.actions && d < (size_t)t.n_actions ? t.actions[d] : -1;
        k->config[i] = taml_strdup(t.config_json ? t.config_json : "{}");
        k->seq[i] = t.update_seq > 0 ? t.update_seq : 0;
    }
    taml_store_iter_free(it);
    return rc < 0 ? rc : 0;
}

int taml_report_study_load(taml_report_study **out, const char *path, taml_err *err)
{
    *out = NULL;
    taml_store *st = NULL;
    taml_study meta;
    memset(&meta, 0, sizeof meta);
    taml_report_study *s = taml_calloc(1, sizeof *s);
    s->path = taml_strdup(path);
    size_t *cap = NULL;
    const char *base = NULL; /* these two before the first goto fail */
    int method = -1;
    int rc = taml_store_open(&st, path, TAML_STORE_READONLY, err);
    if (rc < 0) goto fail;
    if (!taml_store_has_study(st)) {
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: holds no study (was the search started?)",
                          path);
        goto fail;
    }
    rc = taml_store_study(st, &meta, err);
    if (rc < 0) goto fail;
    method = taml_search_method_parse(meta.method);
    if (method < 0) {
        rc = taml_err_set(err, TAML_ECORRUPT,
                          "%s: the study's method is '%s', none of random, aml, multitask, "
                          "transfer",
                          path, meta.method ? meta.method : "");
        goto fail;
    }
    s->method = (taml_search_method)method;
    base = strrchr(path, '/');
    s->label = taml_asprintf("%s: %s", taml_search_method_name(s->method), base ? base + 1 : path);
    s->trials_per_task = meta.trials_per_task;
    s->space_json = taml_strdup(meta.space_json ? meta.space_json : "{}");
    s->n_tasks = meta.n_tasks > 0 ? (size_t)meta.n_tasks : 0;
    s->tasks = taml_calloc(s->n_tasks ? s->n_tasks : 1, sizeof *s->tasks);
    for (size_t i = 0; i < s->n_tasks; i++) s->tasks[i].name = taml_strdup(meta.task_names[i]);
    cap = taml_calloc(s->n_tasks ? s->n_tasks : 1, sizeof *cap);
    rc = count_trials(st, s, cap, err);
    if (rc < 0) goto fail;
    for (size_t i = 0; i < s->n_tasks; i++) {
        taml_report_task *k = &s->tasks[i];
        size_t c = cap[i] ? cap[i] : 1;
        k->id = taml_malloc(c * sizeof *k->id);
        k->state = taml_malloc(c * sizeof *k->state);
        k->valid = taml_malloc(c * sizeof *k->valid);
        k->test = taml_malloc(c * sizeof *k->test);
        k->reward = taml_malloc(c * sizeof *k->reward);
        k->actions = taml_malloc(c * (s->n_actions ? s->n_actions : 1) * sizeof *k->actions);
        k->config = taml_calloc(c, sizeof *k->config);
        k->seq = taml_malloc(c * sizeof *k->seq);
    }
    rc = fill_trials(st, s, err);
    if (rc < 0) goto fail;
    for (size_t i = 0; i < s->n_tasks; i++) {
        rc = taml_store_ensemble_get(st, (int32_t)i, &s->tasks[i].ensemble, err);
        if (rc < 0) goto fail;
        s->tasks[i].has_ensemble = rc;
    }
    rc = taml_store_transfer_get(st, &s->transfer, err);
    if (rc < 0) goto fail;
    s->has_transfer = rc;
    rc = taml_store_checkpoint_last(st, &s->ckpt, &s->ckpt_size, &s->ckpt_seq, err);
    if (rc < 0) goto fail;
    int64_t first_seq;
    rc = taml_store_checkpoint_first(st, &s->first, &s->first_size, &first_seq, err);
    if (rc < 0) goto fail;
    /* Only a checkpoint from before any update is a replay's start. */
    if (s->first && first_seq != 0) {
        free(s->first);
        s->first = NULL;
        s->first_size = 0;
    }
    free(cap);
    taml_study_deinit(&meta);
    taml_store_close(st);
    *out = s;
    return 0;
fail:
    free(cap);
    taml_study_deinit(&meta);
    taml_store_close(st);
    taml_report_study_free(s);
    return rc;
}
