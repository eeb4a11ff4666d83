/* report/policy.h - the controllers of a study's checkpoints, and the policy
 * replayed over the study's updates (the paper's Figure 5 through the
 * controller). */
#ifndef TAML_REPORT_POLICY_H
#define TAML_REPORT_POLICY_H

#include <stddef.h>

#include "core/err.h"
#include "ctrl/controller.h"
#include "report/study.h"
#include "space/space.h"

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

#endif
