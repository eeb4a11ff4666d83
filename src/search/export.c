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

/* Finds the task and its best trial in the open study s; fills info
 * (config, seed, ...), *idx_out (the task's index), *method, *dir and
 * *modules_dir (heap; the last NULL when the study recorded none). */
static int find_best(taml_store *s, const char *study_path, const char *task_name,
                     taml_export_info *info, int32_t *idx_out, char **method, char **dir,
                     char **modules_dir, taml_err *err)
{
    taml_study st;
    memset(&st, 0, sizeof st);
    taml_store_iter *it = NULL;
    int32_t idx = -1; /* all before the first goto out */
    int found = 0;
    int rc = TAML_OK;
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
    *idx_out = idx;
    if (st.modules_dir) *modules_dir = taml_strdup(st.modules_dir);
    *dir = taml_strdup(st.task_dirs[idx]);
    *method = taml_strdup(st.method);
    if ((rc = taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, err))) goto out;
    taml_trial t;
    while ((rc = taml_store_iter_next(it, &t, err)) == 1) {
        if (t.task != idx || (t.state != TAML_TRIAL_DONE && t.state != TAML_TRIAL_DIVERGED)) continue;
        if (!isfinite(t.valid_acc) || !t.config_json) continue;
        info->candidates++;
        if (found && !(t.valid_acc > info->valid_acc)) continue; /* ties: the earliest */
        found = 1;
        info->trial = t.id;
        info->seed = t.seed;
        info->valid_acc = t.valid_acc;
        info->test_acc = t.test_acc;
        snprintf(info->state, sizeof info->state, "%s", taml_trial_state_name(t.state));
        snprintf(info->config, sizeof info->config, "%s", t.config_json);
    }
    if (rc < 0) goto out;
    rc = TAML_OK;
    if (!found)
        rc = taml_err_set(err, TAML_ENOTFOUND,
                          "%s: task \"%s\" has no finished trial with a model yet (done or diverged)",
                          study_path, task_name);
out:
    taml_store_iter_free(it);
    taml_study_deinit(&st);
    return rc;
}

/* Refuses a task directory that holds other data than the study recorded
 * for the task (when it recorded any), naming both. */
static int check_task(taml_store *s, const char *study_path, int32_t idx, const taml_task *task,
                      taml_err *err)
{
    taml_study_task was;
    int rc = taml_store_task_data_get(s, idx, &was, err);
    if (rc <= 0) return rc;
    taml_study_task now = taml_search_data_of(&task->identity, task->dir);
    char diff[512];
    taml_search_data_diff(&was, &now, diff, sizeof diff);
    rc = diff[0] ? taml_err_set(err, TAML_EMISMATCH,
                                "%s: task '%s': %s holds other data than the study ran on (it "
                                "recorded %s); they differ in %s: give --task-dir the directory it "
                                "ran on",
                                study_path, task->name, task->dir, was.dir, diff)
                 : TAML_OK;
    taml_study_task_deinit(&was);
    return rc;
}

/* Refuses a module file that is not the one the study recorded under the
 * name (when it recorded one), naming both. */
static int check_module(taml_store *s, const char *study_path, const char *name,
                        const char *module_dir, taml_err *err)
{
    taml_study_module was;
    int rc = taml_store_module_get(s, name, &was, err);
    if (rc <= 0) return rc;
    taml_module_stamp now;
    rc = taml_module_stamp_get(&now, name, module_dir, err);
    if (rc == 1 && (now.crc32 != was.crc32 || now.size != was.size))
        rc = taml_err_set(err, TAML_EMISMATCH,
                          "%s: module '%s' is not the file the study ran on: it recorded %s "
                          "(%llu bytes, CRC-32 %08x), now it is %s (%llu bytes, CRC-32 %08x): give "
                          "--modules the library it ran with",
                          study_path, name, was.path, (unsigned long long)was.size,
                          (unsigned)was.crc32, now.path, (unsigned long long)now.size,
                          (unsigned)now.crc32);
    else if (rc >= 0)
        rc = TAML_OK;
    taml_module_stamp_deinit(&now);
    taml_study_module_deinit(&was);
    return rc;
}

static char *provenance(const char *study_path, const char *method, const taml_export_info *info,
                        const char *module)
{
    cJSON *o = cJSON_CreateObject();
    char *abs = realpath(study_path, NULL);
    cJSON_AddStringToObject(o, "study", abs ? abs : study_path);
    free(abs);
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddNumberToObject(o, "trial", (double)info->trial);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)info->seed);
    cJSON_AddStringToObject(o, "seed", seed); /* a string: 64 bits do not fit a JSON number */
    cJSON_AddStringToObject(o, "state", info->state);
    cJSON_AddNumberToObject(o, "valid_acc", info->valid_acc);
    cJSON_AddNumberToObject(o, "test_acc", info->test_acc);
    cJSON_AddStringToObject(o, "module", module);
    cJSON_AddStringToObject(o, "task_dir", info->task_dir);
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
    char *method = NULL, *recorded_dir = NULL, *recorded_modules = NULL, *prov = NULL;
    taml_store *s = NULL;
    taml_task *task = NULL;
    taml_module *module = NULL;
    taml_features *f = NULL;
    taml_child *c = NULL;
    double t0 = 0, valid = 0, test = 0; /* all before the first goto out */
    const char *state = NULL;
    int32_t idx = -1;
    int rc = taml_store_open(&s, study_path, TAML_STORE_READONLY, err);
    if (rc) goto out;
    if ((rc = find_best(s, study_path, task_name, info, &idx, &method, &recorded_dir,
                        &recorded_modules, err)))
        goto out;
    /* the library: --modules, else the one the study recorded (while it is
     * there), else the caller's default */
    if (!module_dir)
        module_dir = recorded_modules && taml_is_dir(recorded_modules) ? recorded_modules
                                                                       : default_module_dir;
    snprintf(info->task_dir, sizeof info->task_dir, "%s", task_dir ? task_dir : recorded_dir);
    if ((rc = taml_task_load(&task, info->task_dir, NULL, err))) {
        if (!task_dir)
            taml_err_prefix(err, "task \"%s\" (the directory the study recorded; give another with "
                                 "--task-dir)",
                            task_name);
        goto out;
    }
    if (strcmp(task->name, task_name)) {
        rc = taml_err_set(err, TAML_EMISMATCH, "%s holds task \"%s\", not \"%s\"", info->task_dir,
                          task->name, task_name);
        goto out;
    }
    if ((rc = check_task(s, study_path, idx, task, err))) goto out;
    taml_child_config cfg;
    if ((rc = taml_child_config_parse(&cfg, info->config, strlen(info->config), err))) goto out;
    if (cfg.deep_disabled && cfg.wide_disabled) {
        rc = taml_err_set(err, TAML_EINVAL, "trial %lld disables both towers: no model",
                          (long long)info->trial);
        goto out;
    }
    if (task->kind == TAML_TASK_TEXT) {
        if (!cfg.embedding[0]) {
            rc = taml_err_set(err, TAML_EINVAL, "trial %lld names no embedding module",
                              (long long)info->trial);
            goto out;
        }
        if ((rc = check_module(s, study_path, cfg.embedding, module_dir, err))) goto out;
        if ((rc = taml_module_open(&module, cfg.embedding, module_dir, err))) goto out;
    } else if (cfg.embedding[0] && strcmp(cfg.embedding, "pixels") != 0 && !cfg.deep_disabled) {
        /* an image module: the model carries its CNN (model file version 4);
         * its features come from the disk cache the search wrote */
        if ((rc = check_module(s, study_path, cfg.embedding, module_dir, err))) goto out;
        if ((rc = taml_module_open(&module, cfg.embedding, module_dir, err))) goto out;
    }
    if ((rc = taml_features_new(&f, task, module, err))) goto out;
    if ((rc = taml_child_new(&c, &cfg, f, info->seed, err))) goto out;
    taml_child_result res;
    t0 = taml_now();
    taml_child_fit(c, &res);
    valid = taml_child_accuracy(c, TAML_VALID);
    test = taml_child_accuracy(c, TAML_TEST);
    info->train_s = taml_now() - t0;
    state = res.status == TAML_CHILD_DIVERGED ? "diverged" : "done";
    if (valid != info->valid_acc || test != info->test_acc || strcmp(state, info->state)) {
        rc = taml_err_set(err, TAML_EMISMATCH,
                          "trial %lld retrained gives valid %.17g, test %.17g (%s), but the study "
                          "recorded valid %.17g, test %.17g (%s): the task files, the module \"%s\" "
                          "or taml changed since the search; refusing to export another model than "
                          "the one the study scored",
                          (long long)info->trial, valid, test, state, info->valid_acc, info->test_acc,
                          info->state, cfg.embedding);
        goto out;
    }
    prov = provenance(study_path, method, info, cfg.embedding);
    rc = taml_model_from_child(out, c, &cfg, f, prov, err);
out:
    taml_child_free(c);
    taml_features_free(f);
    taml_module_close(module);
    taml_task_free(task);
    taml_store_close(s);
    free(method);
    free(recorded_dir);
    free(recorded_modules);
    free(prov);
    return rc;
}
