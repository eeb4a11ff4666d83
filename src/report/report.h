/* report/report.h - what `taml status` and `taml report` show of studies.
 *
 * The top of the read side: a study file (src/store) is loaded once into a
 * taml_report_study (every finished trial of every task, in trial-id order,
 * and the task embeddings of its last controller checkpoint), then
 *   - taml_report_status computes the per-task table of `taml status`
 *     (search/metrics.h defines every number in it), printed as text or JSON;
 *   - taml_report_html writes the self-contained HTML report of one or more
 *     studies: inline CSS and SVG plots (report/svg.h), no scripts, no
 *     external resources, so it can be mailed or archived as one file.
 * Nothing here prints: results come back as heap strings for the CLI.
 *
 * Files: study.c (loading), status.c (the status table), policy.c (the
 * controllers of checkpoints and the policy replayed over updates),
 * report.c (HTML).
 */
#ifndef TAML_REPORT_REPORT_H
#define TAML_REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "ctrl/controller.h"
#include "space/space.h"

/* The accuracy-topN the status and report use: the paper's N = 10. */
#define TAML_REPORT_TOP 10

/* One task's finished trials, in trial-id order. A failed trial is kept
 * with valid = test = NaN (it spent budget; metrics.h says how it counts);
 * pending and running trials are left out and only counted. */
typedef struct taml_report_task {
    char *name;
    size_t n;            /* finished trials */
    int64_t *id;         /* (n) trial ids */
    int *state;          /* (n) taml_trial_state */
    double *valid;       /* (n) validation accuracy, NaN when failed */
    double *test;        /* (n) test accuracy, NaN when failed */
    int32_t *actions;    /* (n, n_actions) one choice per decision; -1 when unknown */
    char **config;       /* (n) config JSON as stored */
    int64_t *seq;        /* (n) the controller update that applied the trial's reward, 0 = none */
    size_t n_failed, n_diverged, n_invalid;
    size_t n_unfinished; /* pending + running */
} taml_report_task;

/* A study as the report sees it. */
typedef struct taml_report_study {
    char *path;
    char *label;  /* "method: file name", for legends */
    char *method; /* "random", "aml", "multitask", "transfer" */
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
} taml_report_study;

/* Loads the study at path read-only (it may be running: WAL). Errors from
 * the store (not a study, missing file) come back with the path. */
int taml_report_study_load(taml_report_study **out, const char *path, taml_err *err);
void taml_report_study_free(taml_report_study *s);
/* The task named name, or NULL. */
const taml_report_task *taml_report_study_task(const taml_report_study *s, const char *name);

/* One line of `taml status`. */
typedef struct taml_status_row {
    const char *task; /* borrowed from the study */
    size_t trials;    /* finished trials */
    size_t failed, diverged, invalid, unfinished;
    int64_t best_id;  /* the trial with the best validation accuracy (ties: earliest), or 0 */
    double best_valid, best_test; /* that trial's accuracies (the test split never selects) */
    size_t top_count;             /* models in the top (< TOP while the study is young) */
    double top_valid, top_valid_sem, top_test, top_test_sem; /* accuracy-top10 and s.e.m. */
    /* Against a random-search study (all NaN / 0 without one): */
    int has_target;      /* 1 when the random study gave a target for this task */
    double target;       /* random search's valid accuracy-top10 at its budget T */
    size_t budget;       /* that T */
    long rs_to_target;   /* random search's own trials-to-target (paper: "RS" column) */
    long to_target;      /* this study's trials-to-target; 0 = n/a (never reached) */
    char *target_note;   /* why there is no target (heap), or NULL */
} taml_status_row;

/* The status table of study s (one row per task, in the study's task
 * order). against (may be NULL) is a random-search study; its tasks are
 * matched by name, and budget caps its T (0: all its trials). Rows are a
 * heap array (*rows, *n) freed with taml_status_rows_free. A task the random
 * study lacks, or that has too few trials for a target, gets a row with
 * has_target 0 and a note saying why; it is not an error. */
int taml_report_status(const taml_report_study *s, const taml_report_study *against,
                       size_t budget, taml_status_row **rows, size_t *n, taml_err *err);
void taml_status_rows_free(taml_status_row *rows, size_t n);

/* The table as aligned text (heap string). */
char *taml_status_text(const taml_report_study *s, const taml_report_study *against,
                       const taml_status_row *rows, size_t n);
/* The table as JSON (heap string): {"study", "method", "against", "top",
 * "tasks": [{"task", "trials", ..., "trials_to_target"}]}; NaN and n/a are
 * null. */
char *taml_status_json(const taml_report_study *s, const taml_report_study *against,
                       const taml_status_row *rows, size_t n);

/* The controllers of a checkpoint blob as the search stores it
 * (search/search.h): one taml_ctrl_save buffer (multitask, transfer), or
 * for aml a controller bundle (ctrl/bundle.h), one controller per task in
 * task order (per_task = 1). */
typedef struct taml_report_ctrls {
    taml_ctrl **c;
    size_t n;
    int per_task;
} taml_report_ctrls;

/* Loads them for space sp; source names the blob in messages. On error
 * (TAML_ECORRUPT for a bad bundle, or the controller's own errors) *out is
 * left empty. */
int taml_report_ctrls_load(taml_report_ctrls *out, const taml_space *sp, const void *blob,
                           size_t size, const char *source, taml_err *err);
void taml_report_ctrls_deinit(taml_report_ctrls *cs);
/* The controller serving the study's task index `task` and the task's id
 * inside it (*tid), or NULL when none does. */
taml_ctrl *taml_report_ctrls_find(const taml_report_ctrls *cs, const taml_report_study *s,
                                  size_t task, int *tid);

/* The policy over trials (paper Figure 5 through the controller): one
 * task's choice probabilities at up to max_points moments. Point j: after
 * x[j] of the task's rewards were applied (x[0] = 0: the first checkpoint;
 * the last point is the controller at the end, after every task's updates),
 * p[j * total + taml_space_offset(d) + c] is the probability of choice c of
 * decision d along the greedy path (decision 0 is unconditional; decision
 * d > 0 is conditioned on the most likely choices before it). */
typedef struct taml_report_policy {
    size_t n;     /* points */
    size_t total; /* taml_space_total_choices */
    double *x;    /* (n) */
    double *p;    /* (n, total) */
} taml_report_policy;

/* Rebuilds the controller after every update by replaying the study's
 * trials in update order (their recorded actions and validation accuracy
 * as the reward, as the search applied them) onto its first checkpoint,
 * and samples each task's policy. *out is a heap array of s->n_tasks
 * curves (taml_report_policy_free). When the study cannot be replayed (no
 * controller, no first checkpoint, actions that do not fit the space) *out
 * is NULL and *note (heap) says why; that is not an error. Negative status
 * only for a controller update that fails (a corrupt study). */
int taml_report_policy_replay(const taml_report_study *s, const taml_space *sp, size_t max_points,
                              taml_report_policy **out, char **note, taml_err *err);
void taml_report_policy_free(taml_report_policy *p, size_t n);

/* Options of the HTML report. */
typedef struct taml_report_opts {
    const char *title; /* NULL: "taml report" */
    size_t window;     /* moving window of the action-frequency plots; 0: n/10 in [10, 200] */
    size_t best;       /* configurations listed per task and study; 0: 5 */
} taml_report_opts;

/* The HTML report of ns studies (heap string in *html). Studies are drawn in
 * the given order with one colour each; trials-to-target is measured against
 * the first random-search study among them, if any. A study whose
 * checkpoint cannot be read (or whose space cannot be parsed) still gets its
 * curves and tables, with a note in place of the controller's figures.
 * Errors: TAML_EINVAL for ns == 0. */
int taml_report_html(taml_report_study *const *studies, size_t ns, const taml_report_opts *opts,
                     char **html, taml_err *err);

#endif
