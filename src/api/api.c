/* api/api.c - the public library surface (include/taml/taml.h) over the
 * layers below: it translates plain data and opaque handles to the
 * internal calls (search/ask.h for studies, nn/child.h for training,
 * search/export.h and nn/model.h for models), so that nothing of src/ is in
 * a program's include path, and taml_err's messages to the caller's buffer. */
#include <taml/taml.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "core/version.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/blas.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"
#include "nn/model.h"
#include "search/ask.h"
#include "search/export.h"
#include "space/space.h"
#include "store/store.h"

_Static_assert(TAML_API_EIO == TAML_EIO && TAML_API_EINVAL == TAML_EINVAL &&
                   TAML_API_ENOTFOUND == TAML_ENOTFOUND && TAML_API_ENOMEM == TAML_ENOMEM &&
                   TAML_API_MSG == TAML_ERR_MSG,
               "the public status codes are taml's own");

const char *taml_api_version(void)
{
    return TAML_VERSION;
}

void taml_api_init(void)
{
    static const taml_blas_opts defaults = {0};
    taml_blas_init(&defaults);
}

/* The status rc with err's message in msg (when given). */
static int give(int rc, const taml_err *err, char *msg)
{
    if (msg) snprintf(msg, TAML_API_MSG, "%s", rc ? err->msg : "");
    return rc;
}

struct taml_api_study {
    char *path;
};

_Static_assert(TAML_API_RUNGS == TAML_JOB_RUNGS, "taml.h's rungs are the job's");
_Static_assert(TAML_API_RUNGS == TAML_CHILD_RUNGS_MAX, "taml.h's rungs are the child's");

/* The pruner of a new study's settings (0: the defaults). */
static int prune_settings(const taml_api_settings *st, taml_prune_opts *p, taml_err *err)
{
    taml_prune_opts_default(p);
    if (!st->pruner) return TAML_OK;
    int k = taml_prune_parse(st->pruner);
    if (k < 0)
        return taml_err_set(err, TAML_EINVAL, "pruner '%s' is not none, median or asha",
                            st->pruner);
    p->pruner = (taml_pruner)k;
    if (st->prune_eta) p->eta = st->prune_eta;
    if (st->prune_min) p->min_samples = st->prune_min;
    if (st->prune_warmup) p->warmup = st->prune_warmup;
    return taml_prune_opts_check(p, err);
}

int taml_api_study_open(taml_api_study **out, const char *path, const taml_api_settings *st,
                        char *msg)
{
    *out = NULL;
    taml_err err;
    taml_err_clear(&err);
    int rc = TAML_OK;
    taml_space *space = NULL;
    if (st) {
        taml_search_opts o;
        taml_search_opts_default(&o);
        int m = st->method ? taml_search_method_parse(st->method) : -1;
        if (m < 0)
            rc = taml_err_set(&err, TAML_EINVAL, "method '%s' is not random, aml, multitask or transfer",
                              st->method ? st->method : "(null)");
        else if (!st->space_json)
            rc = taml_err_set(&err, TAML_EINVAL, "a new study needs its space (space_json)");
        else
            rc = taml_space_from_json(&space, st->space_json, "space_json", &err);
        void *from = NULL;
        if (!rc && st->from) rc = taml_search_load_source(st->from, &from, &o.from_size, &err);
        if (!rc) {
            o.method = (taml_search_method)m;
            o.trials = st->trials;
            o.seed = st->seed;
            o.seed_set = 1;
            o.deterministic = st->deterministic;
            o.lag = st->lag;
            o.modules_dir = st->modules_dir;
            o.from_blob = from;
            o.from_path = st->from;
            o.taml_version = TAML_VERSION;
            rc = prune_settings(st, &o.prune, &err);
        }
        if (!rc) {
            taml_ask_setup setup = {.space = space, .n_tasks = st->n_tasks,
                                    .task_names = st->tasks,
                                    .task_dirs = st->task_dirs ? st->task_dirs : st->tasks,
                                    .opts = &o};
            rc = taml_search_ask_prepare(path, &setup, &err);
        }
        free(from);
    } else {
        rc = taml_search_ask_prepare(path, NULL, &err);
    }
    taml_space_free(space);
    if (rc) return give(rc, &err, msg);
    taml_api_study *s = taml_calloc(1, sizeof *s);
    s->path = taml_strdup(path);
    *out = s;
    return give(TAML_OK, &err, msg);
}

void taml_api_study_close(taml_api_study *s)
{
    if (!s) return;
    free(s->path);
    free(s);
}

void taml_api_trial_deinit(taml_api_trial *t)
{
    if (!t) return;
    free(t->task);
    free(t->config_json);
    memset(t, 0, sizeof *t);
}

int taml_api_ask(taml_api_study *s, const char *task, taml_api_trial *out, char *msg)
{
    memset(out, 0, sizeof *out);
    taml_err err;
    taml_err_clear(&err);
    taml_asked a;
    int rc = taml_search_ask(s->path, NULL, task, 0, &a, &err);
    if (rc) return give(rc, &err, msg);
    /* the strings move to the caller's struct */
    *out = (taml_api_trial){.id = a.id, .task = a.task_name, .seed = a.seed,
                            .config_json = a.config_json, .n_rungs = a.n_rungs};
    memcpy(out->rung_samples, a.rung_samples, sizeof out->rung_samples);
    memcpy(out->rung_threshold, a.rung_threshold, sizeof out->rung_threshold);
    return give(TAML_OK, &err, msg);
}

int taml_api_tell(taml_api_study *s, int64_t id, const char *state, double valid, double test,
                  char *msg)
{
    return taml_api_tell_rungs(s, id, state, valid, test, 0, NULL, msg);
}

int taml_api_tell_rungs(taml_api_study *s, int64_t id, const char *state, double valid,
                        double test, int32_t n_rungs, const double *rung_acc, char *msg)
{
    taml_err err;
    taml_err_clear(&err);
    int st = state ? taml_trial_state_parse(state) : TAML_TRIAL_DONE;
    if (st < 0 || !taml_trial_state_final((taml_trial_state)st))
        return give(taml_err_set(&err, TAML_EINVAL,
                                 "state '%s' is not done, diverged, invalid, failed or pruned",
                                 state),
                    &err, msg);
    taml_told t = {.state = (taml_trial_state)st, .valid = valid, .test = test,
                   .n_rungs = n_rungs, .rung_acc = rung_acc};
    return give(taml_search_tell(s->path, id, &t, &err), &err, msg);
}

int taml_api_train(const char *task_dir, const char *config_json, const char *modules_dir,
                   uint64_t seed, taml_api_result *out, char *msg)
{
    int32_t reached;
    return taml_api_train_rungs(task_dir, config_json, modules_dir, seed, 0, NULL, NULL, NULL,
                                &reached, out, msg);
}

int taml_api_train_rungs(const char *task_dir, const char *config_json, const char *modules_dir,
                         uint64_t seed, int32_t n_rungs, const int64_t *rung_samples,
                         const double *rung_threshold, double *rung_acc, int32_t *n_reached,
                         taml_api_result *out, char *msg)
{
    memset(out, 0, sizeof *out);
    *n_reached = 0;
    taml_api_init();
    taml_err err;
    taml_err_clear(&err);
    taml_child_config cfg;
    taml_task *task = NULL;
    taml_module *module = NULL;
    taml_features *feat = NULL;
    taml_child_result r;
    int rc = taml_child_config_parse(&cfg, config_json, strlen(config_json), &err);
    taml_child_rungs rungs = {.n = n_rungs, .samples = rung_samples, .threshold = rung_threshold,
                              .acc = rung_acc};
    /* the rungs checked first, as the child checks them: nothing is loaded
     * for rungs that cannot be run */
    if (!rc && n_rungs > 0 && (!rung_samples || !rung_threshold || !rung_acc))
        rc = taml_err_set(&err, TAML_EINVAL,
                          "%d rungs without their samples, thresholds or accuracies", (int)n_rungs);
    if (!rc) rc = taml_child_rungs_check(&rungs, cfg.samples, &err);
    if (!rc) rc = taml_task_load(&task, task_dir, NULL, &err);
    /* an image task trains on its pixels unless the config names a module */
    int pixels = !rc && task->kind == TAML_TASK_IMAGE &&
                 (!cfg.embedding[0] || !strcmp(cfg.embedding, "pixels"));
    if (!rc && !pixels)
        rc = taml_module_open(&module, cfg.embedding[0] ? cfg.embedding : "random-100",
                              modules_dir, &err);
    if (!rc) rc = taml_features_new(&feat, task, module, &err);
    if (!rc) rc = taml_child_train_rungs(&cfg, feat, seed, n_rungs ? &rungs : NULL, &r, &err);
    if (!rc) {
        snprintf(out->state, sizeof out->state, "%s", taml_child_status_name(r.status));
        out->valid = r.valid_acc;
        out->test = r.test_acc;
        out->loss = r.final_loss;
        out->steps = r.steps;
        out->seconds = r.train_s;
        *n_reached = n_rungs ? rungs.reached : 0;
    }
    taml_features_free(feat);
    taml_module_close(module);
    taml_task_free(task);
    return give(rc, &err, msg);
}

int taml_api_export(const char *study_path, const char *task, const char *model_path,
                    const char *modules_dir, char *msg)
{
    taml_api_init();
    taml_err err;
    taml_err_clear(&err);
    taml_model *m = NULL;
    taml_export_info info;
    int rc = taml_export_best(study_path, task, NULL, modules_dir, modules_dir, &m, &info, &err);
    if (!rc) rc = taml_model_save(m, model_path, &err);
    taml_model_free(m);
    return give(rc, &err, msg);
}

struct taml_api_model {
    taml_model *m;
    float *logits; /* (n_classes) */
};

int taml_api_model_open(taml_api_model **out, const char *path, char *msg)
{
    *out = NULL;
    taml_api_init();
    taml_err err;
    taml_err_clear(&err);
    taml_model *m;
    int rc = taml_model_load(&m, path, &err);
    if (rc) return give(rc, &err, msg);
    taml_api_model *h = taml_calloc(1, sizeof *h);
    h->m = m;
    h->logits = taml_calloc((size_t)taml_model_info_get(m)->n_classes, sizeof *h->logits);
    *out = h;
    return give(TAML_OK, &err, msg);
}

void taml_api_model_close(taml_api_model *h)
{
    if (!h) return;
    taml_model_free(h->m);
    free(h->logits);
    free(h);
}

const char *const *taml_api_model_classes(const taml_api_model *h, int32_t *n)
{
    const taml_model_info *info = taml_model_info_get(h->m);
    *n = info->n_classes;
    return info->class_names;
}

int taml_api_predict(taml_api_model *h, const char *text, size_t len, int32_t *label,
                     double *proba, char *msg)
{
    taml_err err;
    taml_err_clear(&err);
    const char *texts[1] = {text};
    size_t lens[1] = {len};
    int rc = taml_model_predict_texts(h->m, 1, texts, lens, h->logits, &err);
    if (!rc) *label = taml_model_argmax(h->logits, taml_model_info_get(h->m)->n_classes, proba);
    return give(rc, &err, msg);
}
