/* search/child.c - the real child as an executor job (see child.h). */
#include "search/child.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"
#include "space/space.h"
#include "store/store.h"

struct taml_child_runner {
    int32_t n_tasks;
    char **names;
    taml_task **tasks;
    taml_task_identity *identity; /* (n_tasks) */
    char *module_dir; /* the module library (NULL: none) */

    pthread_mutex_t mu; /* guards the module list */
    int n_modules;
    char **module_names;
    taml_module **modules;
    taml_features_cache *cache;
};

int taml_child_runner_new(taml_child_runner **out, int32_t n_tasks, const char *const *task_dirs,
                          const char *module_dir, taml_err *err)
{
    *out = NULL;
    taml_child_runner *r = taml_calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->n_tasks = n_tasks;
    r->names = taml_calloc((size_t)n_tasks, sizeof *r->names);
    r->tasks = taml_calloc((size_t)n_tasks, sizeof *r->tasks);
    r->identity = taml_calloc((size_t)n_tasks, sizeof *r->identity);
    r->module_dir = module_dir ? taml_strdup(module_dir) : NULL;
    int rc = TAML_OK;
    for (int32_t i = 0; i < n_tasks; i++) {
        if ((rc = taml_task_load(&r->tasks[i], task_dirs[i], NULL, err))) goto fail;
        r->names[i] = taml_strdup(r->tasks[i]->name);
        r->identity[i] = r->tasks[i]->identity;
    }
    r->cache = taml_features_cache_new();
    *out = r;
    return TAML_OK;
fail:
    taml_child_runner_free(r);
    return rc;
}

void taml_child_runner_free(taml_child_runner *r)
{
    if (!r) return;
    taml_features_cache_free(r->cache); /* before the tasks and modules it points into */
    for (int i = 0; i < r->n_modules; i++) {
        taml_module_close(r->modules[i]);
        free(r->module_names[i]);
    }
    free(r->modules);
    free(r->module_names);
    for (int32_t i = 0; i < r->n_tasks; i++) {
        taml_task_free(r->tasks[i]);
        free(r->names[i]);
    }
    free(r->tasks);
    free(r->identity);
    free(r->names);
    free(r->module_dir);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void taml_child_runner_set_image_opts(taml_child_runner *r, const taml_image_features_opts *o)
{
    taml_features_cache_set_image_opts(r->cache, o);
}

const char *const *taml_child_runner_names(const taml_child_runner *r)
{
    return (const char *const *)r->names;
}

const taml_task_identity *taml_child_runner_identities(const taml_child_runner *r)
{
    return r->identity;
}

int taml_child_runner_check_space(const taml_child_runner *r, const taml_space *space,
                                  const char *origin, taml_err *err)
{
    (void)r; /* every runner trains the same child; kept for the contract's sake */
    if (!origin) origin = "the search space";
    int n = taml_space_decisions(space), rc = TAML_OK;
    static const char names[] = "fine_tune, layers, hidden_size, activation, normalization, "
                                "dropout, deep_lr, deep_l2, wide_lr, wide_l1, samples";
    /* the decisions first: one the child does not know, or one it needs
     * that the space lacks, is the space's fault, not a choice's */
    for (int d = 0; d < n; d++)
        if (taml_child_config_decision(taml_space_name(space, d)) < 0)
            return taml_err_set(err, TAML_EINVAL,
                                "%s: decision '%s' is not one the child model has; its decisions "
                                "are embedding (optional), %s (and the optional word_ngrams, "
                                "char_ngrams, weighting, subwords, buckets)",
                                origin, taml_space_name(space, d), names);
    for (int i = 1; i < TAML_CHILD_DECISIONS; i++)
        if (taml_space_find(space, taml_child_config_decision_name(i)) < 0)
            return taml_err_set(err, TAML_EINVAL,
                                "%s: the space has no decision '%s'; the child model needs each "
                                "of %s (embedding is optional)",
                                origin, taml_child_config_decision_name(i), names);
    /* then each choice on its own (the others at their first choice, which
     * do not matter: each decision is checked alone) */
    int32_t *a = taml_calloc((size_t)n, sizeof *a);
    for (int d = 0; d < n && !rc; d++) {
        for (int c = 0; c < taml_space_choices(space, d) && !rc; c++) {
            a[d] = c;
            char *text = taml_space_config_text(space, a);
            rc = taml_child_config_check_decision(text, strlen(text), taml_space_name(space, d),
                                                  err);
            if (rc) {
                char choice[64];
                taml_space_choice_text(taml_space_choice(space, d, c), choice, sizeof choice);
                taml_err_prefix(err, "%s: the search space does not make valid child "
                                     "configurations (decision '%s', choice %d of %d: %s)",
                                origin, taml_space_name(space, d), c + 1,
                                taml_space_choices(space, d), choice);
            }
            free(text);
        }
        a[d] = 0;
    }
    if (!rc) { /* and the whole: nothing the checks above miss */
        char *text = taml_space_config_text(space, a);
        taml_child_config parsed;
        rc = taml_child_config_parse(&parsed, text, strlen(text), err);
        if (rc) taml_err_prefix(err, "%s: the search space does not make valid child configurations", origin);
        free(text);
    }
    free(a);
    return rc;
}

/* The module named name, opened once and shared by every worker. */
static int get_module(taml_child_runner *r, const char *name, const taml_module **out,
                      taml_err *err)
{
    int rc = TAML_OK;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n_modules; i++)
        if (!strcmp(r->module_names[i], name)) {
            *out = r->modules[i];
            goto out;
        }
    taml_module *m;
    if ((rc = taml_module_open(&m, name, r->module_dir, err))) goto out;
    r->modules = taml_realloc(r->modules, (size_t)(r->n_modules + 1) * sizeof *r->modules);
    r->module_names =
        taml_realloc(r->module_names, (size_t)(r->n_modules + 1) * sizeof *r->module_names);
    r->modules[r->n_modules] = m;
    r->module_names[r->n_modules] = taml_strdup(name);
    r->n_modules++;
    *out = m;
out:
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void taml_child_runner_job(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    taml_child_runner *r = ctx;
    (void)worker;
    taml_err err;
    taml_err_clear(&err);
    taml_child_config cfg;
    const taml_task *task = r->tasks[job->task];
    const taml_module *module = NULL;
    const taml_features *f;
    int rc = taml_child_config_parse(&cfg, job->config_json, strlen(job->config_json), &err);
    if (!rc && task->kind == TAML_TASK_TEXT) {
        if (!cfg.embedding[0])
            rc = taml_err_set(&err, TAML_EINVAL,
                              "the configuration names no embedding module (a text task needs one)");
        else
            rc = get_module(r, cfg.embedding, &module, &err);
    } else if (!rc && cfg.embedding[0] && strcmp(cfg.embedding, "pixels") != 0) {
        /* an image task under an image module (features.c checks the kind) */
        rc = get_module(r, cfg.embedding, &module, &err);
    }
    if (!rc) rc = taml_features_cache_get(r->cache, task, module, &f, &err);
    taml_child_result res;
    double rung_acc[TAML_JOB_RUNGS];
    taml_child_rungs rungs = {.n = job->n_rungs, .samples = job->rung_samples,
                              .threshold = job->rung_threshold, .acc = rung_acc};
    if (!rc)
        rc = taml_child_train_rungs(&cfg, f, job->seed, job->n_rungs ? &rungs : NULL, &res, &err);
    if (rc) {
        out->status = TAML_TRIAL_FAILED;
        out->valid_acc = out->test_acc = out->loss = 0.0 / 0.0;
        snprintf(out->error, sizeof out->error, "%s", err.msg[0] ? err.msg : taml_err_name(rc));
        return;
    }
    out->status = res.status == TAML_CHILD_OK         ? TAML_TRIAL_DONE
                  : res.status == TAML_CHILD_DIVERGED ? TAML_TRIAL_DIVERGED
                  : res.status == TAML_CHILD_PRUNED   ? TAML_TRIAL_PRUNED
                                                      : TAML_TRIAL_INVALID;
    if (job->n_rungs) {
        out->n_rungs = rungs.reached;
        memcpy(out->rung_acc, rung_acc, (size_t)rungs.reached * sizeof *rung_acc);
        if (res.status == TAML_CHILD_PRUNED) out->pruned_rung = rungs.pruned;
    }
    out->valid_acc = res.valid_acc;
    out->test_acc = res.test_acc;
    out->loss = res.final_loss;
    out->steps = res.steps;
    if (res.status == TAML_CHILD_DIVERGED)
        snprintf(out->error, sizeof out->error, "diverged after %lld %s", (long long)res.steps,
                 taml_text_plural(res.steps, "step", "steps"));
    else if (res.status == TAML_CHILD_INVALID)
        snprintf(out->error, sizeof out->error, "both towers disabled: majority-class accuracy");
}
