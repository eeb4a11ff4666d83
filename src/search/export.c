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
#include "search/search_internal.h"
#include "store/store.h"

void taml_export_source_deinit(taml_export_source *s)
{
    if (!s) return;
    taml_store_close(s->store);
    free(s->study_path);
    free(s->task_name);
    free(s->method);
    free(s->task_dir);
    free(s->modules_dir);
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
    out->study_path = taml_strdup(study_path);
    out->task_name = taml_strdup(task_name);
    taml_study st;
    memset(&st, 0, sizeof st);
    taml_store_iter *it = NULL;
    int32_t idx = -1; /* all before the first goto out */
    int rc = taml_store_open(&out->store, study_path, TAML_STORE_READONLY, err);
    if (rc) goto out;
    if (!taml_store_has_study(out->store)) {
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: holds no study", study_path);
        goto out;
    }
    if ((rc = taml_store_study(out->store, &st, err))) goto out;
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
    if (st.modules_dir) out->modules_dir = taml_strdup(st.modules_dir);
    out->task_dir = taml_strdup(st.task_dirs[idx]);
    out->method = taml_strdup(st.method);
    out->best = taml_calloc((size_t)n_best, sizeof *out->best);
    if ((rc = taml_store_iter_new(out->store, TAML_ITER_BY_ID, 0, &it, err))) goto out;
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
    if (rc) taml_export_source_deinit(out);
    return rc;
}

const char *taml_export_module_dir(const taml_export_source *s, const char *module_dir,
                                   const char *default_dir)
{
    if (module_dir) return module_dir;
    return s->modules_dir && taml_is_dir(s->modules_dir) ? s->modules_dir : default_dir;
}

/* Refuses a task directory that holds other data than the study recorded
 * for the task (when it recorded any), naming both. */
static int check_task(const taml_export_source *s, const taml_task *task, taml_err *err)
{
    taml_study_task was;
    int rc = taml_store_task_data_get(s->store, s->task, &was, err);
    if (rc <= 0) return rc;
    taml_study_task now = taml_search_data_of(&task->identity, task->dir);
    char diff[512];
    taml_search_data_diff(&was, &now, diff, sizeof diff);
    rc = diff[0] ? taml_err_set(err, TAML_EMISMATCH,
                                "%s: task '%s': %s holds other data than the study ran on (it "
                                "recorded %s); they differ in %s: give --task-dir the directory it "
                                "ran on",
                                s->study_path, task->name, task->dir, was.dir, diff)
                 : TAML_OK;
    taml_study_task_deinit(&was);
    return rc;
}

int taml_export_task_load(const taml_export_source *s, const char *task_dir, taml_task **out,
                          const char **used, taml_err *err)
{
    *out = NULL;
    *used = task_dir ? task_dir : s->task_dir;
    int rc = taml_task_load(out, *used, NULL, err);
    if (rc) {
        if (!task_dir)
            taml_err_prefix(err, "task \"%s\" (the directory the study recorded; give another with "
                                 "--task-dir)",
                            s->task_name);
        return rc;
    }
    if (strcmp((*out)->name, s->task_name))
        rc = taml_err_set(err, TAML_EMISMATCH, "%s holds task \"%s\", not \"%s\"", *used,
                          (*out)->name, s->task_name);
    else
        rc = check_task(s, *out, err);
    if (rc) {
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

/* Refuses a module file that is not the one the study recorded under the
 * name (when it recorded one), naming both. */
static int check_module(const taml_export_source *s, const char *name, const char *module_dir,
                        taml_err *err)
{
    taml_study_module was;
    int rc = taml_store_module_get(s->store, name, &was, err);
    if (rc <= 0) return rc;
    taml_module_stamp now;
    rc = taml_module_stamp_get(&now, name, module_dir, err);
    if (rc == 1 && (now.crc32 != was.crc32 || now.size != was.size))
        rc = taml_err_set(err, TAML_EMISMATCH,
                          "%s: module '%s' is not the file the study ran on: it recorded %s "
                          "(%llu bytes, CRC-32 %08x), now it is %s (%llu bytes, CRC-32 %08x): give "
                          "--modules the library it ran with",
                          s->study_path, name, was.path, (unsigned long long)was.size,
                          (unsigned)was.crc32, now.path, (unsigned long long)now.size,
                          (unsigned)now.crc32);
    else if (rc >= 0)
        rc = TAML_OK;
    taml_module_stamp_deinit(&now);
    taml_study_module_deinit(&was);
    return rc;
}

int taml_export_uses_module(const taml_task *task, const taml_child_config *cfg)
{
    if (task->kind == TAML_TASK_TEXT) return 1;
    /* an image module's features feed the deep tower (the model then
     * carries its CNN: model file version 4); pixels need no file */
    return cfg->embedding[0] && strcmp(cfg->embedding, "pixels") != 0 && !cfg->deep_disabled;
}

int taml_export_module_open(const taml_export_source *s, const char *name, const char *module_dir,
                            taml_module **out, taml_err *err)
{
    *out = NULL;
    int rc = check_module(s, name, module_dir, err);
    return rc ? rc : taml_module_open(out, name, module_dir, err);
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

char *taml_export_provenance(const taml_export_source *s, const taml_export_trial *t,
                             const char *module, const char *task_dir)
{
    cJSON *o = cJSON_CreateObject();
    char *abs = realpath(s->study_path, NULL);
    cJSON_AddStringToObject(o, "study", abs ? abs : s->study_path);
    free(abs);
    cJSON_AddStringToObject(o, "method", s->method);
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
                     const char *module_dir, const char *default_module_dir, taml_model **out,
                     taml_export_info *info, taml_err *err)
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
    module_dir = taml_export_module_dir(&src, module_dir, default_module_dir);
    if ((rc = taml_export_task_load(&src, task_dir, &task, &used, err))) goto out;
    snprintf(info->task_dir, sizeof info->task_dir, "%s", used);
    taml_child_config cfg;
    if ((rc = taml_export_config(t, task, &cfg, err))) goto out;
    if (taml_export_uses_module(task, &cfg) &&
        (rc = taml_export_module_open(&src, cfg.embedding, module_dir, &module, err)))
        goto out;
    if ((rc = taml_features_new(&f, task, module, err))) goto out;
    if ((rc = taml_export_retrain(t, &cfg, f, &c, &info->train_s, err))) goto out;
    prov = taml_export_provenance(&src, t, cfg.embedding, info->task_dir);
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
