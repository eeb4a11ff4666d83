/* search/ensemble.c - building an ensemble of a task's best trials (see
 * ensemble.h): the candidates retrained on threads, the selection, the
 * ensemble's accuracies, its model and its record in the study.
 *
 * The candidates are retrained on threads of their own, not through the
 * search's executor (exec/pool.h): a job there carries plain accuracies
 * back, and an ensemble needs each candidate's logits on two splits (and,
 * for a model file, its weights), which only shared memory carries cheaply.
 * Every thread trains its own children on features built before the
 * threads start, so a candidate's logits do not depend on the thread. */
#include "search/ensemble.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "core/version.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"
#include "search/export.h"

static const char *const selection_names[] = {"top", "greedy"};

const char *taml_ensemble_selection_name(taml_ensemble_selection s)
{
    return (unsigned)s < 2 ? selection_names[s] : "?";
}

int taml_ensemble_selection_parse(const char *s)
{
    for (int i = 0; i < 2; i++)
        if (s && !strcmp(s, selection_names[i])) return i;
    return -1;
}

void taml_ensemble_opts_default(taml_ensemble_opts *o)
{
    memset(o, 0, sizeof *o);
    o->selection = TAML_ENSEMBLE_DEFAULT_SELECTION;
    o->workers = 1;
}

void taml_ensemble_result_deinit(taml_ensemble_result *r)
{
    if (!r) return;
    taml_store_ensemble_deinit(&r->rec);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ selection */

int32_t taml_ensemble_greedy(const double *proba, int32_t M, int32_t n, int32_t C,
                             const int32_t *labels, int32_t steps, int32_t *counts,
                             int32_t *order, double *accuracy)
{
    TAML_ASSERT(M >= 1 && steps >= 1 && n >= 0 && C >= 1);
    double *sum = taml_calloc((size_t)n * C + 1, sizeof *sum);
    double *row = taml_malloc(sizeof *row * (size_t)C);
    int32_t *pick = taml_malloc(sizeof *pick * (size_t)steps);
    int32_t best_step = 0;
    int64_t best_hits = -1;
    for (int32_t s = 0; s < steps; s++) {
        int32_t chosen = 0;
        int64_t chosen_hits = -1;
        for (int32_t c = 0; c < M; c++) {
            const double *p = proba + (size_t)c * n * C;
            int64_t hits = 0;
            for (int32_t i = 0; i < n; i++) {
                for (int32_t j = 0; j < C; j++)
                    row[j] = sum[(size_t)i * C + j] + p[(size_t)i * C + j];
                hits += taml_model_best_class(row, C) == labels[i];
            }
            if (hits > chosen_hits) chosen = c, chosen_hits = hits; /* ties: the earliest */
        }
        const double *p = proba + (size_t)chosen * n * C;
        for (size_t k = 0; k < (size_t)n * C; k++) sum[k] += p[k];
        pick[s] = chosen;
        if (chosen_hits > best_hits) best_step = s, best_hits = chosen_hits; /* ties: the earliest */
    }
    int32_t kept = 0;
    for (int32_t c = 0; c < M; c++) counts[c] = 0, order[c] = -1;
    for (int32_t s = 0; s <= best_step; s++) {
        if (!counts[pick[s]]) order[kept++] = pick[s];
        counts[pick[s]]++;
    }
    if (accuracy) *accuracy = n > 0 ? (double)best_hits / n : 0;
    free(sum);
    free(row);
    free(pick);
    return best_step + 1;
}

/* ------------------------------------------------------------ candidates */

/* One candidate: the study's record of it, and what retraining it gave. */
typedef struct candidate {
    const taml_export_trial *t;
    taml_child_config cfg;
    const taml_features *f;
    float *logits[2]; /* valid (n_valid, C), test (n_test, C) */
    taml_model *model; /* when a model is wanted */
    double train_s;
    int rc;
    taml_err err;
} candidate;

typedef struct build {
    const taml_export_source *src;
    const char *task_dir;
    int want_model;
    candidate *cand;
    int32_t n;
    pthread_mutex_t mu;
    int32_t next; /* the next candidate a thread takes (under mu) */
} build;

static void retrain_one(build *b, candidate *k)
{
    taml_child *c = NULL;
    k->rc = taml_export_retrain(k->t, &k->cfg, k->f, &c, &k->train_s, &k->err);
    if (k->rc) return;
    const taml_task *task = k->f->task;
    int32_t C = task->n_classes;
    for (int s = 0; s < 2; s++) {
        int split = s ? TAML_TEST : TAML_VALID;
        int32_t n = task->n_split[split];
        k->logits[s] = taml_malloc(sizeof *k->logits[s] * ((size_t)n * C + 1));
        taml_child_logits(c, split, k->logits[s]);
    }
    if (b->want_model) {
        char *prov = taml_export_provenance(b->src, k->t, k->cfg.embedding, b->task_dir);
        k->rc = taml_model_from_child(&k->model, c, &k->cfg, k->f, prov, &k->err);
        free(prov);
    }
    taml_child_free(c);
}

static void *retrain_thread(void *arg)
{
    build *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        int32_t i = b->next < b->n ? b->next++ : -1;
        pthread_mutex_unlock(&b->mu);
        if (i < 0) return NULL;
        retrain_one(b, &b->cand[i]);
    }
}

/* Retrains every candidate on up to `workers` threads. */
static void retrain_all(build *b, int32_t workers)
{
    if (workers > b->n) workers = b->n;
    pthread_t *th = taml_malloc(sizeof *th * (size_t)(workers > 1 ? workers : 1));
    int32_t started = 0;
    for (; started < workers - 1; started++)
        if (pthread_create(&th[started], NULL, retrain_thread, b)) break;
    retrain_thread(b); /* this thread works too (alone when none could start) */
    for (int32_t i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(th);
}

/* ------------------------------------------------------------ the build */

/* The accuracy of the weighted mean of members' logits on split s (0 valid,
 * 1 test): the labels taml_model_proba_* would give. */
static double ensemble_accuracy(const candidate *cand, const int32_t *members,
                                const uint32_t *weights, int32_t n_members, const taml_task *task,
                                int s)
{
    int split = s ? TAML_TEST : TAML_VALID;
    int32_t n = task->n_split[split], C = task->n_classes, lo = 0;
    for (int i = 0; i < split; i++) lo += task->n_split[i];
    if (n <= 0) return 0;
    const float **rows = taml_malloc(sizeof *rows * (size_t)n_members);
    for (int32_t k = 0; k < n_members; k++) rows[k] = cand[members[k]].logits[s];
    double *p = taml_malloc(sizeof *p * (size_t)n * C);
    taml_model_mean_proba(n_members, rows, weights, n, C, p);
    int32_t hits = 0;
    for (int32_t i = 0; i < n; i++)
        hits += taml_model_best_class(p + (size_t)i * C, C) == task->label[lo + i];
    free(p);
    free(rows);
    return (double)hits / n;
}

/* The ensemble's provenance JSON (heap). */
static char *ensemble_provenance(const taml_export_source *src, const taml_ensemble_result *r)
{
    cJSON *o = cJSON_CreateObject();
    char *abs = realpath(src->study_path, NULL);
    cJSON_AddStringToObject(o, "study", abs ? abs : src->study_path);
    free(abs);
    cJSON_AddStringToObject(o, "method", src->method);
    cJSON_AddStringToObject(o, "selection", r->rec.selection);
    cJSON_AddNumberToObject(o, "size", r->rec.size);
    cJSON_AddNumberToObject(o, "candidates", r->rec.candidates);
    cJSON_AddNumberToObject(o, "trials", (double)r->rec.trials);
    cJSON *m = cJSON_AddArrayToObject(o, "members");
    for (int32_t k = 0; k < r->rec.n_members; k++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "trial", (double)r->rec.member[k]);
        cJSON_AddNumberToObject(e, "weight", r->rec.weight[k]);
        cJSON_AddItemToArray(m, e);
    }
    cJSON_AddNumberToObject(o, "valid_acc", r->rec.valid_acc);
    cJSON_AddNumberToObject(o, "test_acc", r->rec.test_acc);
    cJSON_AddStringToObject(o, "task_dir", r->task_dir);
    cJSON_AddNumberToObject(o, "exported", (double)time(NULL)); /* Unix seconds */
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *copy = taml_strdup(text);
    cJSON_free(text);
    return copy;
}

/* Checks K and M against each other and the limits; *library gets M. */
static int check_opts(const taml_ensemble_opts *o, int32_t *library, taml_err *err)
{
    if (o->size < 1 || o->size > TAML_ENSEMBLE_MAX)
        return taml_err_set(err, TAML_EINVAL, "--ensemble: %d members is not in 1..%d",
                            (int)o->size, TAML_ENSEMBLE_MAX);
    if ((unsigned)o->selection > TAML_ENSEMBLE_GREEDY)
        return taml_err_set(err, TAML_EINVAL, "unknown ensemble selection %d", (int)o->selection);
    if (o->workers < 1) return taml_err_set(err, TAML_EINVAL, "ensemble: %d workers", (int)o->workers);
    if (o->selection == TAML_ENSEMBLE_TOP) {
        if (o->candidates && o->candidates != o->size)
            return taml_err_set(err, TAML_EINVAL, "--candidates is for --selection greedy (top "
                                "takes the %d best)", (int)o->size);
        *library = o->size;
        return TAML_OK;
    }
    if (o->candidates && (o->candidates < o->size || o->candidates > TAML_ENSEMBLE_MAX))
        return taml_err_set(err, TAML_EINVAL, "--candidates: %d is not in %d (the ensemble's "
                            "size) .. %d", (int)o->candidates, (int)o->size, TAML_ENSEMBLE_MAX);
    *library = o->candidates;
    if (!*library) {
        int64_t m = (int64_t)o->size * TAML_ENSEMBLE_LIBRARY_PER_MEMBER;
        *library = (int32_t)(m < TAML_ENSEMBLE_MAX ? m : TAML_ENSEMBLE_MAX);
    }
    return TAML_OK;
}

struct taml_ensemble_library {
    taml_export_source src;
    taml_task *task;
    char task_dir[4096];
    int32_t n, n_feat;
    candidate *cand;   /* (n) */
    taml_module **modules; /* (n_feat) */
    taml_features **feats; /* (n_feat) */
    int models;        /* 1: each candidate has its model */
    double retrain_s;
};

void taml_ensemble_library_free(taml_ensemble_library *lib)
{
    if (!lib) return;
    for (int32_t i = 0; lib->cand && i < lib->n; i++) {
        free(lib->cand[i].logits[0]);
        free(lib->cand[i].logits[1]);
        taml_model_free(lib->cand[i].model);
    }
    free(lib->cand);
    for (int32_t j = 0; j < lib->n_feat; j++) {
        taml_features_free(lib->feats[j]);
        taml_module_close(lib->modules[j]);
    }
    free(lib->feats);
    free(lib->modules);
    taml_task_free(lib->task);
    taml_export_source_deinit(&lib->src);
    free(lib);
}

int32_t taml_ensemble_library_size(const taml_ensemble_library *lib) { return lib->n; }

/* The configs, and the features of each module they name, before any thread. */

/* What a candidate's features depend on: its module when it reads one
 * (taml_export_uses_module), else nothing (an image task's pixels). */
static const char *feature_key(const taml_task *task, const taml_child_config *cfg)
{
    return taml_export_uses_module(task, cfg) ? cfg->embedding : "";
}

static int prepare_candidates(taml_ensemble_library *lib, const char *module_dir, taml_err *err)
{
    /* modules (text tasks) as export opens them: checked against the files
     * the study recorded */
    const taml_task *task = lib->task;
    int32_t M = lib->n;
    lib->cand = taml_calloc((size_t)M, sizeof *lib->cand);
    lib->modules = taml_calloc((size_t)M, sizeof *lib->modules);
    lib->feats = taml_calloc((size_t)M, sizeof *lib->feats);
    int32_t *feat_of = taml_calloc((size_t)M, sizeof *feat_of); /* a candidate of feats[j] */
    int rc = TAML_OK;
    for (int32_t i = 0; i < M && !rc; i++) {
        candidate *k = &lib->cand[i];
        k->t = &lib->src.best[i];
        if ((rc = taml_export_config(k->t, task, &k->cfg, err))) break;
        /* one set of features per module; image tasks' pixels need none */
        const char *name = feature_key(task, &k->cfg);
        int32_t j = 0;
        while (j < lib->n_feat && strcmp(name, feature_key(task, &lib->cand[feat_of[j]].cfg))) j++;
        if (j == lib->n_feat) {
            feat_of[j] = i;
            if (taml_export_uses_module(task, &k->cfg) &&
                (rc = taml_export_module_open(&lib->src, name, module_dir, &lib->modules[j], err)))
                break;
            lib->n_feat++; /* its module is the library's now, whatever follows */
            if ((rc = taml_features_new(&lib->feats[j], task, lib->modules[j], err))) break;
        }
        k->f = lib->feats[j];
    }
    free(feat_of);
    return rc;
}

int taml_ensemble_library_new(const char *study_path, const char *task_name,
                              const taml_ensemble_opts *o, taml_ensemble_library **out,
                              taml_err *err)
{
    *out = NULL;
    int32_t M = 0;
    int rc = check_opts(o, &M, err);
    if (rc) return rc;
    taml_ensemble_library *lib = taml_calloc(1, sizeof *lib);
    const char *used = NULL;
    build b = {0};
    pthread_mutex_init(&b.mu, NULL);
    double t0 = 0;
    int32_t need = o->candidates ? M : o->size; /* all before the first goto out */
    if ((rc = taml_export_source_open(study_path, task_name, M, &lib->src, err))) goto out;
    if (lib->src.n_models < need) {
        rc = taml_err_set(err, TAML_EINVAL,
                          "%s: task \"%s\" has %lld finished trial%s with a model (done or "
                          "diverged), fewer than the %d %s asks for",
                          study_path, task_name, (long long)lib->src.n_models,
                          lib->src.n_models == 1 ? "" : "s", (int)need,
                          o->candidates ? "--candidates" : "--ensemble");
        goto out;
    }
    lib->n = lib->src.n_best; /* greedy's default library is capped by the trials */
    if ((rc = taml_export_task_load(&lib->src, o->task_dir, &lib->task, &used, err))) goto out;
    snprintf(lib->task_dir, sizeof lib->task_dir, "%s", used);
    if ((rc = prepare_candidates(
             lib, taml_export_module_dir(&lib->src, o->module_dir, o->default_module_dir), err)))
        goto out;
    lib->models = o->want_model;
    b.src = &lib->src;
    b.task_dir = lib->task_dir;
    b.want_model = lib->models;
    b.cand = lib->cand;
    b.n = lib->n;
    t0 = taml_now();
    retrain_all(&b, o->workers);
    lib->retrain_s = taml_now() - t0;
    for (int32_t i = 0; i < lib->n; i++)
        if (lib->cand[i].rc) {
            rc = lib->cand[i].rc;
            *err = lib->cand[i].err;
            goto out;
        }
out:
    pthread_mutex_destroy(&b.mu);
    if (rc) taml_ensemble_library_free(lib);
    else *out = lib;
    return rc;
}

int taml_ensemble_select(taml_ensemble_library *lib, const taml_ensemble_opts *o,
                         taml_model **out, taml_ensemble_result *res, taml_err *err)
{
    if (out) *out = NULL;
    memset(res, 0, sizeof *res);
    int32_t M = 0, K = o->size, n_members = 0;
    int rc = check_opts(o, &M, err);
    if (rc) return rc;
    if (!o->candidates && M > lib->src.n_models) M = (int32_t)lib->src.n_models;
    if (M > lib->n)
        return taml_err_set(err, TAML_EINVAL, "ensemble: %d candidates asked of a library of %d",
                            (int)M, (int)lib->n);
    if (o->want_model && out && !lib->models)
        return taml_err_set(err, TAML_EINVAL, "ensemble: the library was retrained without models");
    const taml_task *task = lib->task;
    const candidate *cand = lib->cand;
    int32_t C = task->n_classes, nv = task->n_split[TAML_VALID], lo = task->n_split[TAML_TRAIN];
    int32_t *members = taml_calloc((size_t)M, sizeof *members);
    uint32_t *weights = taml_calloc((size_t)M, sizeof *weights);
    if (o->selection == TAML_ENSEMBLE_TOP) {
        for (int32_t i = 0; i < K; i++) members[i] = i, weights[i] = 1;
        n_members = K;
    } else {
        double *proba = taml_malloc(sizeof *proba * ((size_t)M * nv * C + 1));
        for (int32_t i = 0; i < M; i++)
            for (int32_t e = 0; e < nv; e++)
                taml_model_argmax(cand[i].logits[0] + (size_t)e * C, C,
                                  proba + ((size_t)i * nv + e) * C);
        int32_t *counts = taml_calloc((size_t)M, sizeof *counts);
        taml_ensemble_greedy(proba, M, nv, C, task->label + lo, K, counts, members, NULL);
        while (n_members < M && members[n_members] >= 0) {
            weights[n_members] = (uint32_t)counts[members[n_members]];
            n_members++;
        }
        free(counts);
        free(proba);
    }
    taml_store_ensemble *r = &res->rec;
    r->task = lib->src.task;
    r->selection = taml_strdup(taml_ensemble_selection_name(o->selection));
    r->size = K;
    r->candidates = M;
    r->trials = lib->src.n_finished;
    r->n_members = n_members;
    r->member = taml_malloc(sizeof *r->member * (size_t)n_members);
    r->weight = taml_malloc(sizeof *r->weight * (size_t)n_members);
    for (int32_t k = 0; k < n_members; k++) {
        r->member[k] = cand[members[k]].t->id;
        r->weight[k] = (int32_t)weights[k];
    }
    r->valid_acc = ensemble_accuracy(cand, members, weights, n_members, task, 0);
    r->test_acc = ensemble_accuracy(cand, members, weights, n_members, task, 1);
    r->taml_version = taml_strdup(TAML_VERSION);
    res->best_trial = lib->src.best[0].id;
    res->best_valid = lib->src.best[0].valid_acc;
    res->best_test = lib->src.best[0].test_acc;
    snprintf(res->task_dir, sizeof res->task_dir, "%s", lib->task_dir);
    res->retrain_s = lib->retrain_s;
    if (o->want_model && out) {
        taml_model **mm = taml_malloc(sizeof *mm * (size_t)n_members);
        for (int32_t k = 0; k < n_members; k++) {
            candidate *c = &lib->cand[members[k]];
            TAML_ASSERT(c->model); /* a library gives each model to one ensemble */
            mm[k] = c->model;
            c->model = NULL;
        }
        char *prov = ensemble_provenance(&lib->src, res);
        rc = taml_model_ensemble_new(out, mm, weights, n_members, prov, err);
        free(prov);
        free(mm);
    }
    free(members);
    free(weights);
    if (rc) taml_ensemble_result_deinit(res);
    return rc;
}

int taml_ensemble_build(const char *study_path, const char *task_name,
                        const taml_ensemble_opts *o, taml_model **out,
                        taml_ensemble_result *res, taml_err *err)
{
    if (out) *out = NULL;
    memset(res, 0, sizeof *res);
    taml_ensemble_opts lo = *o;
    lo.want_model = o->want_model && out;
    taml_ensemble_library *lib;
    int rc = taml_ensemble_library_new(study_path, task_name, &lo, &lib, err);
    if (rc) return rc;
    rc = taml_ensemble_select(lib, &lo, out, res, err);
    taml_ensemble_library_free(lib);
    return rc;
}

int taml_ensemble_save(const char *study_path, const taml_ensemble_result *res,
                              taml_err *err)
{
    taml_store *s = NULL;
    int rc = taml_store_open(&s, study_path, 0, err);
    if (rc) return rc;
    rc = taml_store_upgrade(s, err); /* a study made before ensembles were recorded */
    if (!rc) rc = taml_store_ensemble_put(s, &res->rec, err);
    taml_store_close(s);
    return rc;
}
