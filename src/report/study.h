/* report/study.h - a study as the read side sees it: a study file
 * (src/store) loaded once into arrays (every finished trial of every task,
 * in trial-id order, each task's recorded ensemble, and its first and
 * newest controller checkpoints), read
 * by the status table (report/status.h), the policy replay
 * (report/policy.h) and the HTML report (report/report.h). It may be read
 * while a search is still writing it (WAL). */
#ifndef TAML_REPORT_STUDY_H
#define TAML_REPORT_STUDY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "search/method.h"
#include "store/store.h"

/* The accuracy-topN the status and report use: the paper's N = 10. */
#define TAML_REPORT_TOP 10

/* One task's finished trials, in trial-id order. A failed or pruned trial
 * is kept with valid = test = NaN (it spent budget but never ranks;
 * metrics.h says how it counts); pending and running trials are left out
 * and only counted. */
typedef struct taml_report_task {
    char *name;
    size_t n;            /* finished trials */
    int64_t *id;         /* (n) trial ids */
    int *state;          /* (n) taml_trial_state */
    double *valid;       /* (n) validation accuracy, NaN when failed */
    double *test;        /* (n) test accuracy, NaN when failed */
    double *reward;      /* (n) the controller's reward: valid, a pruned trial's estimate */
    int32_t *actions;    /* (n, n_actions) one choice per decision; -1 when unknown */
    char **config;       /* (n) config JSON as stored */
    int64_t *seq;        /* (n) the controller update that applied the trial's reward, 0 = none */
    size_t n_failed, n_diverged, n_invalid, n_pruned;
    size_t n_unfinished; /* pending + running */
    /* The ensemble the study recorded for the task (search/ensemble.h), if
     * any: has_ensemble 0 when none was (or the study predates them). */
    int has_ensemble;
    taml_store_ensemble ensemble;
} taml_report_task;

/* A study as the report sees it. */
typedef struct taml_report_study {
    char *path;
    char *label;  /* "method: file name", for legends */
    taml_search_method method; /* the store's text, parsed (an unknown one is refused) */
    int32_t trials_per_task;
    char *space_json;
    size_t n_actions; /* decisions per trial (the longest action vector seen) */
    size_t n_tasks;
    taml_report_task *tasks;
    /* The newest controller checkpoint (NULL / 0 when the study has none:
     * random search never saves one). */
    void *ckpt;
    size_t ckpt_size;
    int64_t ckpt_seq;
    /* The first checkpoint (before any update): with the trials' updates
     * replayed onto it, the controller after any update (NULL when none). */
    void *first;
    size_t first_size;
    /* A transfer study's source as it recorded it (store.h): has_transfer 0
     * when none (another method, or a study made before schema 5). */
    int has_transfer;
    taml_store_transfer transfer;
} taml_report_study;

/* Loads the study at path read-only (it may be running: WAL). Errors from
 * the store (not a study, missing file) come back with the path; a method
 * that is none of taml_search_method's names is TAML_ECORRUPT. */
int taml_report_study_load(taml_report_study **out, const char *path, taml_err *err);
void taml_report_study_free(taml_report_study *s);
/* The task named name, or NULL. */
const taml_report_task *taml_report_study_task(const taml_report_study *s, const char *name);

#endif
