/* search/similar.c - the known tasks ranked by their embeddings' cosine to a
 * new task's (similar.h). */
#include "search/similar.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ctrl/controller.h"
#include "search/method.h"
#include "search/metrics.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"

void taml_similar_deinit(taml_similar *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->rows[i].task);
        free(s->rows[i].best_config);
    }
    free(s->rows);
    free(s->task);
    free(s->source);
    memset(s, 0, sizeof *s);
}

/* The study at path, opened to read, with its settings (*s, *st: the
 * caller closes and deinits both on success). */
static int open_study(const char *path, taml_store **s, taml_study *st, taml_err *err)
{
    int rc = taml_store_open(s, path, TAML_STORE_READONLY, err);
    if (rc) return rc;
    if ((rc = taml_store_study(*s, st, err))) taml_store_close(*s);
    return rc;
}

/* The newest controller of the transfer study at path, in its own space;
 * its first task (*task, heap), that task's finished trials and the
 * recorded source (*source, heap or NULL). */
static int study_controller(const char *path, taml_ctrl **out, char **task, int64_t *trials,
                            char **source, taml_err *err)
{
    *out = NULL;
    *task = *source = NULL;
    *trials = 0;
    taml_store *s;
    taml_study st;
    int rc = open_study(path, &s, &st, err);
    if (rc) return rc;
    if (taml_search_method_parse(st.method) != TAML_SEARCH_TRANSFER || st.n_tasks < 1) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: a %s study, not a transfer to a new task", path,
                          st.method);
    } else {
        *task = taml_strdup(st.task_names[0]);
        int64_t all = taml_store_count(s, -1, 0, err);
        int64_t pend = taml_store_count(s, TAML_TRIAL_PENDING, 0, err);
        int64_t run = taml_store_count(s, TAML_TRIAL_RUNNING, 0, err);
        *trials = all - pend - run;
        taml_store_transfer t;
        if ((rc = taml_store_transfer_get(s, &t, err)) == 1) {
            *source = taml_strdup(t.source);
            taml_store_transfer_deinit(&t);
        }
        if (rc > 0) rc = TAML_OK;
    }
    taml_study_deinit(&st);
    taml_store_close(s);
    if (rc) return rc;
    void *blob = NULL;
    size_t size = 0;
    rc = taml_search_load_source(path, &blob, &size, err);
    taml_space *space = NULL;
    if (!rc) rc = taml_ctrl_checkpoint_space(&space, blob, size, path, err);
    if (!rc) rc = taml_ctrl_load_named(out, space, blob, size, path, err);
    taml_space_free(space);
    free(blob);
    return rc;
}

/* The best trial of each row's task in the study at path (rows whose task
 * it does not hold keep has_best 0). */
static int best_trials(const char *path, taml_similar_row *rows, size_t n, taml_err *err)
{
    taml_store *s;
    taml_study st;
    int rc = open_study(path, &s, &st, err);
    if (rc) return rc;
    int *row_of = taml_malloc((size_t)(st.n_tasks ? st.n_tasks : 1) * sizeof *row_of);
    for (int32_t k = 0; k < st.n_tasks; k++) {
        row_of[k] = -1;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(rows[i].task, st.task_names[k])) row_of[k] = (int)i;
    }
    taml_store_iter *it;
    if (!(rc = taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, err))) {
        taml_trial t;
        while ((rc = taml_store_iter_next(it, &t, err)) == 1) {
            if (t.task < 0 || t.task >= st.n_tasks || row_of[t.task] < 0) continue;
            if (!taml_trial_state_final(t.state) || t.state == TAML_TRIAL_FAILED ||
                !isfinite(t.valid_acc))
                continue;
            taml_similar_row *r = &rows[row_of[t.task]];
            if (r->has_best && r->best_valid >= t.valid_acc) continue; /* ties: the earlier */
            r->has_best = 1;
            r->best_id = t.id;
            r->best_valid = t.valid_acc;
            r->best_test = t.test_acc;
            free(r->best_config);
            r->best_config = taml_strdup(t.config_json);
        }
        taml_store_iter_free(it);
        if (rc > 0) rc = TAML_OK;
    }
    free(row_of);
    taml_study_deinit(&st);
    taml_store_close(s);
    return rc;
}

static int by_cosine(const void *a, const void *b)
{
    const taml_similar_row *x = a, *y = b;
    int nx = isnan(x->cosine), ny = isnan(y->cosine);
    if (nx != ny) return nx - ny;
    if (!nx && x->cosine != y->cosine) return x->cosine > y->cosine ? -1 : 1;
    return strcmp(x->task, y->task);
}

int taml_similar_rank(const char *study_path, taml_similar *out, taml_err *err)
{
    memset(out, 0, sizeof *out);
    taml_ctrl *c = NULL;
    int64_t trials = 0;
    char *task = NULL, *source = NULL;
    int rc = study_controller(study_path, &c, &task, &trials, &source, err);
    out->task = task;
    out->source = source;
    if (rc) {
        taml_ctrl_free(c);
        taml_similar_deinit(out);
        return rc;
    }
    int me = taml_ctrl_find_task(c, task);
    if (me < 0) {
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: its controller has no task '%s'", study_path,
                          task);
        taml_ctrl_free(c);
        return rc;
    }
    size_t k = (size_t)taml_ctrl_tasks(c);
    double *emb = taml_malloc(k * TAML_CTRL_EMBED * sizeof *emb), *cos = taml_malloc(k * k * sizeof *cos);
    for (size_t i = 0; i < k; i++)
        memcpy(emb + i * TAML_CTRL_EMBED, taml_ctrl_task_embedding(c, (int)i),
               TAML_CTRL_EMBED * sizeof *emb);
    rc = taml_metrics_cosine(emb, k, TAML_CTRL_EMBED, cos, err);
    if (!rc) {
        out->trials = trials;
        out->rows = taml_calloc(k, sizeof *out->rows);
        for (size_t i = 0; i < k; i++) {
            if ((int)i == me) continue;
            taml_similar_row *r = &out->rows[out->n++];
            r->task = taml_strdup(taml_ctrl_task_name(c, (int)i));
            r->cosine = cos[(size_t)me * k + i];
        }
        taml_err ignored;
        out->source_is_study = source && taml_search_is_study_file(source, &ignored) == 1;
        if (out->source_is_study) rc = best_trials(source, out->rows, out->n, err);
        qsort(out->rows, out->n, sizeof *out->rows, by_cosine);
    }
    free(emb);
    free(cos);
    taml_ctrl_free(c);
    if (rc) taml_similar_deinit(out);
    return rc;
}

char *taml_similar_text(const taml_similar *s)
{
    const char *source_path = s->source;
    char *b = taml_asprintf("task %s after %lld transfer %s from %s: the tasks its controller "
                            "knows, by the cosine of their task embeddings to this one's\n",
                            s->task, (long long)s->trials, s->trials == 1 ? "trial" : "trials",
                            source_path ? source_path : "?");
    if (!s->source_is_study)
        b = taml_append(b, "(the source is a controller file: it holds no trials, so no best "
                           "configuration is shown; give the study it was made from for them)\n");
    for (size_t i = 0; i < s->n; i++) {
        const taml_similar_row *r = &s->rows[i];
        b = taml_append(b, "%3zu  %-28s cosine %s", i + 1, r->task, "");
        b = isnan(r->cosine) ? taml_append(b, "   n/a") : taml_append(b, "%+.3f", r->cosine);
        if (r->has_best)
            b = taml_append(b, "  best valid %.4f test %.4f (trial %lld) %s", r->best_valid,
                            r->best_test, (long long)r->best_id, r->best_config);
        else if (s->source_is_study)
            b = taml_append(b, "  (no finished trial of it in %s)", source_path);
        b = taml_append(b, "\n");
    }
    return b;
}

char *taml_similar_json(const taml_similar *s)
{
    const char *source_path = s->source;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", s->task);
    cJSON_AddNumberToObject(o, "trials", (double)s->trials);
    cJSON_AddStringToObject(o, "source", source_path ? source_path : "");
    cJSON_AddBoolToObject(o, "source_is_study", s->source_is_study);
    cJSON *known = cJSON_AddArrayToObject(o, "known");
    for (size_t i = 0; i < s->n; i++) {
        const taml_similar_row *r = &s->rows[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "task", r->task);
        if (isnan(r->cosine)) cJSON_AddNullToObject(j, "cosine");
        else cJSON_AddNumberToObject(j, "cosine", r->cosine);
        if (r->has_best) {
            cJSON *best = cJSON_AddObjectToObject(j, "best");
            cJSON_AddNumberToObject(best, "trial", (double)r->best_id);
            cJSON_AddNumberToObject(best, "valid", r->best_valid);
            if (isfinite(r->best_test)) cJSON_AddNumberToObject(best, "test", r->best_test);
            else cJSON_AddNullToObject(best, "test");
            cJSON *cfg = cJSON_Parse(r->best_config);
            if (cfg) cJSON_AddItemToObject(best, "config", cfg);
            else cJSON_AddStringToObject(best, "config", r->best_config);
        } else {
            cJSON_AddNullToObject(j, "best");
        }
        cJSON_AddItemToArray(known, j);
    }
    char *text = cJSON_Print(o);
    char *res = taml_asprintf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(o);
    return res;
}
