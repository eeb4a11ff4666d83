/* nn/child.h - one child model of the search: built from a configuration (the
 * 12 decisions, nn/config.h) on the features of a (task, module) pair
 * (nn/features.h), trained on the train split, scored on valid and test.
 *
 * This is what every trial of every search runs. Its life:
 *
 *   taml_child_new --> taml_child_fit --+--> ok        (all steps ran)
 *   (one block,        (steps =         +--> diverged  (a non-finite loss or an
 *    Glorot init)       samples / 100)                  unsafe gradient: stopped
 *                                                       before applying that step)
 *   both towers disabled ------------------> invalid   (no model: majority class)
 *
 * Everything a child touches while training lives in one allocation sized
 * from its config; the features are shared read-only. One child is used by
 * one thread at a time; children on different threads are independent.
 */
#ifndef TAML_NN_CHILD_H
#define TAML_NN_CHILD_H

#include <stdint.h>

#include "core/err.h"
#include "nn/config.h"
#include "nn/features.h"

#define TAML_CHILD_BATCH 100

typedef enum {
    TAML_CHILD_OK = 0,
    TAML_CHILD_DIVERGED = 1, /* stopped early; accuracies of the last good weights */
    TAML_CHILD_INVALID = 2,  /* both towers disabled; accuracies of the majority class */
    TAML_CHILD_PRUNED = 3,   /* stopped at a rung below its threshold (taml_child_rungs) */
} taml_child_status;

/* "ok", "diverged", "invalid", "pruned". */
const char *taml_child_status_name(taml_child_status s);

typedef struct taml_child_result {
    taml_child_status status;
    double valid_acc, test_acc; /* in [0, 1]; 0 for an empty split */
    double final_loss;    /* mean loss per example over the last (up to) 100 steps; NaN if none */
    int64_t steps;        /* training steps applied */
    double train_s;       /* seconds in training steps (batch assembly included) */
    double train_cpu_s;   /* CPU seconds of the training thread in those steps (on a busy
                           * machine a steadier measure of the work than train_s) */
    double wall_s;        /* seconds of the whole call (allocation, training, evaluation) */
    double samples_per_s; /* steps * 100 / train_s; 0 when no step ran */
    int64_t bytes;        /* size of the child's allocation block */
} taml_child_result;

typedef struct taml_child taml_child;

/* Builds a child: one block for parameters, optimiser state, gradients and
 * buffers, weights initialised from seed. f must be the features of the task
 * and of the module cfg->embedding names (the caller resolves the name; image
 * tasks use the "pixels" extractor). Fails (TAML_EINVAL) when both towers are
 * disabled (use taml_child_train, which records that as invalid), when the
 * task has no train example, or when the block cannot be allocated
 * (TAML_ENOMEM, naming the size: core/err.h's policy for blocks a
 * configuration sizes). */
int taml_child_new(taml_child **out, const taml_child_config *cfg, const taml_features *f,
                   uint64_t seed, taml_err *err);
void taml_child_free(taml_child *c);

/* Runs the training steps (cfg->samples / 100) and fills res (status, loss,
 * steps, train_s; accuracies not yet). Call once. */
void taml_child_fit(taml_child *c, taml_child_result *res);

#define TAML_CHILD_RUNGS_MAX 24 /* rungs a trial can have */

/* Rungs (search/prune.h): after ceil(samples[k] / 100) steps the child
 * measures its validation accuracy (taml_child_accuracy: the weights are
 * not touched, so the training goes on exactly as without the rung) into
 * acc[k]; below threshold[k] (a NaN threshold never is) it stops there:
 * status pruned, *pruned = k. reached: the rungs measured (fewer than n
 * when the child diverged or was pruned first). The measuring is counted
 * in train_s (and train_cpu_s), as it is part of the trial's cost. */
typedef struct taml_child_rungs {
    int n;
    const int64_t *samples;  /* (n) ascending, >= 1 */
    const double *threshold; /* (n) in [0, 1] or NaN */
    double *acc;             /* (n) out, NaN past reached */
    int reached;             /* out */
    int pruned;              /* out: the rung it stopped at, -1 if none */
    /* optional: called on the training thread with each rung's accuracy as
     * it is measured (`taml train --rungs` prints it), before the
     * threshold is applied */
    void (*on_rung)(void *user, int k, int64_t samples, double acc);
    void *user;
} taml_child_rungs;

/* taml_child_fit with rungs (NULL: none, as taml_child_fit). */
void taml_child_fit_rungs(taml_child *c, taml_child_rungs *rungs, taml_child_result *res);

/* Accuracy on split TAML_TRAIN / TAML_VALID / TAML_TEST with the current
 * weights (batch norm on running averages, no dropout). */
double taml_child_accuracy(taml_child *c, int split);

/* The logits (n_split[split], C) of every example of split with the current
 * weights, computed in the batches taml_child_accuracy counts them in (so
 * their argmax, ties to the lowest class, is what it scores). */
void taml_child_logits(taml_child *c, int split, float *logits);

/* The whole trial: new, fit, accuracies on valid and test, free. Both towers
 * disabled is not an error: res->status = invalid with the majority class's
 * accuracies. Returns 0, or a negative status (res untouched) when the child
 * could not be built. Deterministic given (features, cfg, seed) on one thread. */
int taml_child_train(const taml_child_config *cfg, const taml_features *f, uint64_t seed,
                     taml_child_result *res, taml_err *err);
/* The rungs a child of `samples` samples can take: 0 to TAML_CHILD_RUNGS_MAX,
 * ascending from >= 1, each below `samples`, thresholds in [0, 1] or NaN.
 * 0, or TAML_EINVAL naming the first rung that is not. */
int taml_child_rungs_check(const taml_child_rungs *rungs, int64_t samples, taml_err *err);
/* The same with rungs (NULL: none; checked by taml_child_rungs_check): a
 * child pruned at a rung gets that rung's validation accuracy and a NaN test
 * accuracy (not measured). */
int taml_child_train_rungs(const taml_child_config *cfg, const taml_features *f, uint64_t seed,
                           taml_child_rungs *rungs, taml_child_result *res, taml_err *err);

/* The child's network (weights, batch-norm running averages), read-only, for
 * serialising a trained child (nn/model.h). Valid until taml_child_free. */
struct taml_net_t;
const struct taml_net_t *taml_child_net(const taml_child *c);

#endif
