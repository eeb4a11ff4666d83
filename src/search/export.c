/* search/export.c - the best trial of a study's task, retrained and checked
 * (see export.h). */
#include "search/export.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"
#include "store/store.h"

void taml_export_source_deinit(taml_export_source *s)
{
    if (!s) return;
    free(s->method);
    free(s->task_dir);
    for (int32_t i = 0; s->best && i < s->n_best; i++) free(s->best[i].config);
    free(s->best);
    memset(s, 0, sizeof *s);
}

/* Puts trial t among the n (< cap, or the worst is dropped) best of b,
 * which stays sorted by validation accuracy, the earlier trial first on a
 * tie: t comes after every kept trial that is at least as good. */
static void keep_best(taml_export_trial *b, int32_t *n, int32_t cap, const taml_trial *t)
{
    int32_t at = *n;
    while (at > 0 && t->valid_acc > b[at - 1].valid_acc) at--;
    if (at >= cap) return;
    if (*n == cap) free(b[--*n].config);
    memmove(b + at + 1, b + at, sizeof *b * (size_t)(*n - at));
    taml_export_trial *e = &b[at];
    e->id = t->id;
    e->seed = t->seed;
    e->valid_acc = t->valid_acc;
    e->test_acc = t->test_acc;
    snprintf(e->state, sizeof e->state, "%s", taml_trial_state_name(t->state));
    e->config = taml_strdup(t->config_json);
    (*n)++;
}

int taml_export_source_open(const char *study_path, const char *task_name, int32_t n_best,
                            taml_export_source *out, taml_err *err)
{
    TAML_ASSERT(n_best >= 1);
    memset(out, 0, sizeof *out);
    taml_store *s = NULL;
    taml_study st;
    memset(&st, 0, sizeof st);
    taml_store_iter *it = NULL;
    int32_t idx = -1; /* all before the first goto out */
    int rc = taml_store_open(&s, study_path, TAML_STORE_READONLY, err);
    if (rc) return rc;
    if (!taml_store_has_study(s)) {
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: holds no study", study_path);
        goto out;
    }
    if ((rc = taml_store_study(s, &st, err))) goto out;
    for (int32_t i = 0; i < st.n_tasks; i++)
        if (!strcmp(st.task_names[i], task_name)) idx = i;
    if (idx < 0) {
        char names[512] = "";
        for (int32_t i = 0; i < st.n_tasks; i++) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", st.task_names[i]);
        }
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: no task named \"%s\" in this study (its tasks: %s)",
                          study_path, task_name, names);
        goto out;
    }
    out->task = idx;
    out->task_dir = taml_strdup(st.task_dirs[idx]);
    out->method = taml_strdup(st.method);
    out->best = taml_calloc((size_t)n_best, sizeof *out->best);
    if ((rc = taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, err))) goto out;
    taml_trial t;
    while ((rc = taml_store_iter_next(it, &t, err)) == 1) {
        if (t.task == idx && taml_trial_state_final(t.state)) out->n_finished++;
        if (t.task != idx || (t.state != TAML_TRIAL_DONE && t.state != TAML_TRIAL_DIVERGED)) continue;
        if (!isfinite(t.valid_acc) || !t.config_json) continue;
        out->n_models++;
        keep_best(out->best, &out->n_best, n_best, &t);
    }
    if (rc < 0) goto out;
    rc = TAML_OK;
    if (!out->n_best)
        rc = taml_err_set(err, TAML_ENOTFOUND,
                          "%s: task \"%s\" has no finished trial with a model yet (done or diverged)",
                          study_path, task_name);
out:
    taml_store_iter_free(it);
    taml_study_deinit(&st);
    taml_store_close(s);
    if (rc) taml_export_source_deinit(out);
    return rc;
}

int taml_export_task_load(const char *task_dir, const char *recorded_dir, const char *task_name,
                          taml_task **out, const char **used, taml_err *err)
{
    *out = NULL;
    *used = task_dir ? task_dir : recorded_dir;
    int rc = taml_task_load(out, *used, NULL, err);
    if (rc) {
        if (!task_dir)
            taml_err_prefix(err, "task \"%s\" (the directory the study recorded; give another with "
                                 "--task-dir)",
                            task_name);
        return rc;
    }
    if (strcmp((*out)->name, task_name)) {
        rc = taml_err_set(err, TAML_EMISMATCH, "%s holds task \"%s\", not \"%s\"", *used,
                          (*out)->name, task_name);
        taml_task_free(*out);
        *out = NULL;
    }
    return rc;
}

int taml_export_config(const taml_export_trial *t, const taml_task *task, taml_child_config *cfg,
                       taml_err *err)
{
    int rc = taml_child_config_parse(cfg, t->config, strlen(t->config), err);
    if (rc) return rc;
    if (cfg->deep_disabled && cfg->wide_disabled)
        return taml_err_set(err, TAML_EINVAL, "trial %lld disables both towers: no model",
                            (long long)t->id);
    if (task->kind == TAML_TASK_TEXT && !cfg->embedding[0])
        return taml_err_set(err, TAML_EINVAL, "trial %lld names no embedding module",
                            (long long)t->id);
    return TAML_OK;
}

int taml_export_retrain(const taml_export_trial *t, const taml_child_config *cfg,
                        const taml_features *f, taml_child **out, double *train_s, taml_err *err)
{
    *out = NULL;
    taml_child *c = NULL;
    int rc = taml_child_new(&c, cfg, f, t->seed, err);
    if (rc) return rc;
    taml_child_result res;
    double t0 = taml_now();
    taml_child_fit(c, &res);
    double valid = taml_child_accuracy(c, TAML_VALID);
    double test = taml_child_accuracy(c, TAML_TEST);
    *train_s = taml_now() - t0;
    const char *state = res.status == TAML_CHILD_DIVERGED ? "diverged" : "done";
    if (valid != t->valid_acc || test != t->test_acc || strcmp(state, t->state)) {
        taml_child_free(c);
        return taml_err_set(err, TAML_EMISMATCH,
                            "trial %lld retrained gives valid %.17g, test %.17g (%s), but the study "
                            "recorded valid %.17g, test %.17g (%s): the task files, the module \"%s\" "
                            "or taml changed since the search; refusing to export another model than "
                            "the one the study scored",
                            (long long)t->id, valid, test, state, t->valid_acc, t->test_acc,
                            t->state, cfg->embedding);
    }
    *out = c;
    return TAML_OK;
}

char *taml_export_provenance(const char *study_path, const char *method, const taml_export_trial *t,
                             const char *module, const char *task_dir)
{
    cJSON *o = cJSON_CreateObject();
    char *abs = realpath(study_path, NULL);
    cJSON_AddStringToObject(o, "study", abs ? abs : study_path);
    free(abs);
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddNumberToObject(o, "trial", (double)t->id);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->seed);
    cJSON_AddStringToObject(o, "seed", seed); /* a string: 64 bits do not fit a JSON number */
    cJSON_AddStringToObject(o, "state", t->state);
    cJSON_AddNumberToObject(o, "valid_acc", t->valid_acc);
    cJSON_AddNumberToObject(o, "test_acc", t->test_acc);
    cJSON_AddStringToObject(o, "module", module);
    cJSON_AddStringToObject(o, "task_dir", task_dir);
    cJSON_AddNumberToObject(o, "exported", (double)time(NULL)); /* Unix seconds */
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *copy = taml_strdup(text);
    cJSON_free(text);
    return copy;
}

int taml_export_best(const char *study_path, const char *task_name, const char *task_dir,
                     const char *module_dir, taml_model **out, taml_export_info *info,
                     taml_err *err)
{
    *out = NULL;
    memset(info, 0, sizeof *info);
    taml_export_source src;
    char *prov = NULL;
    taml_task *task = NULL;
    taml_module *module = NULL;
    taml_features *f = NULL;
    taml_child *c = NULL;
    const char *used = NULL; /* all before the first goto out */
    int rc = taml_export_source_open(study_path, task_name, 1, &src, err);
    if (rc) return rc;
    const taml_export_trial *t = &src.best[0];
    info->trial = t->id;
    info->seed = t->seed;
    info->candidates = src.n_models;
    info->valid_acc = t->valid_acc;
    info->test_acc = t->test_acc;
    snprintf(info->state, sizeof info->state, "%s", t->state);
    snprintf(info->config, sizeof info->config, "%s", t->config);
    if ((rc = taml_export_task_load(task_dir, src.task_dir, task_name, &task, &used, err))) goto out;
    snprintf(info->task_dir, sizeof info->task_dir, "%s", used);
    taml_child_config cfg;
    if ((rc = taml_export_config(t, task, &cfg, err))) goto out;
    if (task->kind == TAML_TASK_TEXT && (rc = taml_module_open(&module, cfg.embedding, module_dir, err)))
        goto out;
    if ((rc = taml_features_new(&f, task, module, err))) goto out;
    if ((rc = taml_export_retrain(t, &cfg, f, &c, &info->train_s, err))) goto out;
    prov = taml_export_provenance(study_path, src.method, t, cfg.embedding, info->task_dir);
    rc = taml_model_from_child(out, c, &cfg, f, prov, err);
out:
    taml_child_free(c);
    taml_features_free(f);
    taml_module_close(module);
    taml_task_free(task);
    taml_export_source_deinit(&src);
    free(prov);
    return rc;
}
