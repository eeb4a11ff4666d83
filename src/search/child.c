/* search/child.c - the real child as an executor job (see child.h). */
#include "search/child.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    r->module_dir = module_dir ? taml_strdup(module_dir) : NULL;
    int rc = TAML_OK;
    for (int32_t i = 0; i < n_tasks; i++) {
        if ((rc = taml_task_load(&r->tasks[i], task_dirs[i], NULL, err))) goto fail;
        r->names[i] = taml_strdup(r->tasks[i]->name);
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
    free(r->names);
    free(r->module_dir);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

const char *const *taml_child_runner_names(const taml_child_runner *r)
{
    return (const char *const *)r->names;
}

int taml_child_runner_check_space(const taml_child_runner *r, const taml_space *space,
                                  taml_err *err)
{
    (void)r; /* every runner trains the same child; kept for the contract's sake */
    int n = taml_space_decisions(space), rc = TAML_OK;
    int32_t *a = taml_calloc((size_t)n, sizeof *a);
    for (int d = 0; d < n && !rc; d++) {
        for (int c = 0; c < taml_space_choices(space, d) && !rc; c++) {
            a[d] = c;
            char *text = taml_space_config_text(space, a);
            taml_child_config parsed;
            rc = taml_child_config_parse(&parsed, text, strlen(text), err);
            if (rc) {
                char choice[64];
                taml_space_choice_text(taml_space_choice(space, d, c), choice, sizeof choice);
                taml_err_prefix(err, "the search space does not make valid child configurations "
                                     "(decision '%s', choice %s)",
                                taml_space_name(space, d), choice);
            }
            free(text);
        }
        a[d] = 0;
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
    }
    if (!rc) rc = taml_features_cache_get(r->cache, task, module, &f, &err);
    taml_child_result res;
    if (!rc) rc = taml_child_train(&cfg, f, job->seed, &res, &err);
    if (rc) {
        out->status = TAML_TRIAL_FAILED;
        out->valid_acc = out->test_acc = out->loss = 0.0 / 0.0;
        snprintf(out->error, sizeof out->error, "%s", err.msg[0] ? err.msg : taml_err_name(rc));
        return;
    }
    out->status = res.status == TAML_CHILD_OK         ? TAML_TRIAL_DONE
                  : res.status == TAML_CHILD_DIVERGED ? TAML_TRIAL_DIVERGED
                                                      : TAML_TRIAL_INVALID;
    out->valid_acc = res.valid_acc;
    out->test_acc = res.test_acc;
    out->loss = res.final_loss;
    out->steps = res.steps;
    if (res.status == TAML_CHILD_DIVERGED)
        snprintf(out->error, sizeof out->error, "diverged after %lld steps", (long long)res.steps);
    else if (res.status == TAML_CHILD_INVALID)
        snprintf(out->error, sizeof out->error, "both towers disabled: majority-class accuracy");
}
