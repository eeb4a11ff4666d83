/* ctrl/ctrl_internal.h - the controller's private state, shared by
 * controller.c (policy, learning) and checkpoint.c (serialisation). Nothing
 * outside src/ctrl includes this. */
#ifndef TAML_CTRL_INTERNAL_H
#define TAML_CTRL_INTERNAL_H

#include <stdint.h>

#include "core/strmap.h"
#include "ctrl/controller.h"

/* A task: its embedding with its own Adam moments and step count, and the
 * EMAs of its rewards (mean b, variance var, over n rewards so far). */
typedef struct ctrl_task {
    char *name;
    double emb[TAML_CTRL_EMBED], m[TAML_CTRL_EMBED], v[TAML_CTRL_EMBED];
    uint64_t step;
    double b, var;
    uint64_t n;
} ctrl_task;

struct taml_ctrl {
    taml_space *space; /* own copy */
    taml_ctrl_opts opts;
    int D;           /* decisions */
    int max_choices;
    size_t goff[TAML_CTRL_GROUPS]; /* offsets of the groups in theta; goff[TASK] = n_theta */
    size_t *head_off, *act_off;    /* (D) offsets of each decision's head and action table */
    size_t n_theta;
    double *theta, *grad, *m, *v; /* (n_theta) shared weights, gradient, Adam moments */
    uint64_t step;                /* Adam steps taken on the shared weights */
    taml_rng rng;                 /* the controller's own: new task embeddings */
    ctrl_task *tasks;
    int n_tasks, cap_tasks;
    taml_strmap *names;
    /* forward caches, step t: */
    double *x;            /* (D, 2E) inputs */
    double *gate1, *gate2;/* (D, 4H) activated gates */
    double *c1, *c2;      /* (D + 1, H) cell states; row 0 = initial zeros */
    double *h1, *h2;      /* (D + 1, H) outputs; row 0 = initial zeros */
    double *tc1, *tc2;    /* (D, H) tanh of the cell states */
    double *z1, *z2;      /* (D, In1), (D, In2) the LSTM cells' inputs [x; h1_prev], [h1; h2_prev] */
    double *da1, *da2;    /* (D, 4H) gate pre-activation gradients (backward) */
    double *probs;        /* (total choices) per-step distributions */
    int32_t *acts;        /* (D) the actions of the current pass */
    /* the caches above hold a pass of task cache_task made with the weights
     * of version cache_version (version counts weight changes) */
    int cache_ok, cache_task;
    uint64_t version, cache_version;
    double cache_logp, cache_ent;
};

/* A controller sized from space (its own copy) with options opts (not
 * checked): every array allocated, all weights, moments and steps zero, no
 * tasks. taml_ctrl_new then draws the initial weights; a checkpoint load
 * reads them. */
taml_ctrl *taml_ctrl_alloc(const taml_space *space, const taml_ctrl_opts *opts);
/* Appends a task named name (copied) with a zero embedding, moments and
 * statistics; returns it (valid until the next push). The caller has made
 * sure no task of that name exists. */
ctrl_task *taml_ctrl_push_task(taml_ctrl *c, const char *name);

#endif
