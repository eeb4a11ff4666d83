/* ctrl/controller.h - the Transfer-AML controller: an LSTM policy over a
 * search space (src/space), trained by REINFORCE with per-task reward
 * normalisation, shared by many tasks through learned task embeddings
 * (paper sections 2.1-2.3 and 4.1; docs/controller.md).
 *
 * Policy: a 2-layer LSTM of 50 units decides the space's decisions in order.
 * At step t its input is [embedding of the action taken at t-1 (a learned
 * start vector at t = 0); the task's embedding], 25 + 25 values; decision t's
 * softmax head reads [LSTM output; that input] (the skip connection). Each
 * decision has its own action-embedding table and head. All weights start
 * uniform in [-init_scale, init_scale], so the first policy is near uniform.
 *
 * Learning: one REINFORCE step per finished trial, taml_ctrl_update, given the
 * trial's own stored actions: results may arrive in any order. The advantage
 * is (R - b_task) / sigma_task with exponential moving averages per task, plus
 * an entropy bonus; Adam with global-norm gradient clipping. The task
 * embeddings are the only task-specific parameters.
 *
 * Threads: a controller is single-threaded. The search layer calls it from one
 * thread (sample when a worker is free, update when a result comes back);
 * nothing here locks. Distinct controllers are independent.
 *
 * Numbers: all parameters, gradients and Adam state are double (the model is
 * ~50k weights, so the cost is small, and central-difference gradient checks
 * and bitwise save/load/continue need the precision).
 */
#ifndef TAML_CTRL_CONTROLLER_H
#define TAML_CTRL_CONTROLLER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"
#include "space/space.h"

#define TAML_CTRL_HIDDEN 50 /* LSTM units per layer (paper 4.1) */
#define TAML_CTRL_EMBED 25  /* action and task embedding size (paper 4.1) */
#define TAML_CTRL_LAYERS 2

/* Learning options; taml_ctrl_opts_default fills the documented defaults
 * (docs/controller.md gives the experiments behind them). */
typedef struct taml_ctrl_opts {
    double lr;             /* Adam step size */
    double beta1, beta2;   /* Adam moment decays */
    double adam_eps;
    double grad_clip;      /* clip the gradient's global L2 norm to this (0: off) */
    double entropy_weight; /* bonus weight of the summed per-step entropy */
    double ema_decay;      /* decay of the per-task reward mean/variance EMAs */
    int warmup;            /* a task's first `warmup` rewards only feed its EMAs (>= 2) */
    int normalise;         /* 1: divide the advantage by sigma_task; 0: only subtract b */
    double adv_clip;       /* clip |advantage| to this (0: off) */
    double init_scale;     /* uniform init range of the shared weights */
    double task_init_scale;/* uniform init range of a new task's embedding */
    int transfer_restart;  /* 1: adding a task to a controller that has taken steps
                            * restarts Adam's moments (see taml_ctrl_add_task) */
    uint64_t seed;         /* seeds the initial weights and the controller's own RNG */
} taml_ctrl_opts;

void taml_ctrl_opts_default(taml_ctrl_opts *o);

typedef struct taml_ctrl taml_ctrl;

/* A fresh controller for space (copied: the caller may free its space), with
 * no tasks. opts NULL means the defaults. TAML_EINVAL for out-of-range
 * options or a space of fewer than one decision. */
int taml_ctrl_new(taml_ctrl **out, const taml_space *space, const taml_ctrl_opts *opts,
                  taml_err *err);
void taml_ctrl_free(taml_ctrl *c);

const taml_space *taml_ctrl_space(const taml_ctrl *c);
const taml_ctrl_opts *taml_ctrl_get_opts(const taml_ctrl *c);
/* Replaces the learning options (e.g. a new lr after transfer). The weights,
 * Adam state and baselines are kept; seed and the init scales only affect tasks
 * added later. TAML_EINVAL for out-of-range values. */
int taml_ctrl_set_opts(taml_ctrl *c, const taml_ctrl_opts *opts, taml_err *err);

/* Registers a task by name and returns its id (>= 0); a fresh embedding is
 * drawn uniform in [-task_init_scale, task_init_scale] from the controller's own RNG.
 * A name already registered returns its existing id (nothing else changes).
 * TAML_EINVAL for an empty name. Ids are dense: 0, 1, 2, ... in registration
 * order. Transfer is: load a trained controller, add the new task, update.
 * With opts.transfer_restart (the default), adding a new task to a
 * controller that has already taken Adam steps also zeroes the shared
 * weights' Adam moments and step count (the old tasks' embeddings keep
 * theirs), so the new task starts with full-size steps instead of
 * steps scaled by the old tasks' gradient history; without it, transfer to
 * a task whose optimum differs from the seen ones often stays locked in
 * (docs/controller.md, "Transfer"). Tasks added before any step are
 * unaffected. */
int taml_ctrl_add_task(taml_ctrl *c, const char *name, taml_err *err);
/* The id of a task, or -1. */
int taml_ctrl_find_task(const taml_ctrl *c, const char *name);
int taml_ctrl_tasks(const taml_ctrl *c);
const char *taml_ctrl_task_name(const taml_ctrl *c, int task);
/* The task's embedding (TAML_CTRL_EMBED values), valid until the next
 * add_task/update/free. */
const double *taml_ctrl_task_embedding(const taml_ctrl *c, int task);

/* Samples one configuration for task: writes one action per decision to
 * actions and returns the log-probability of the whole configuration. rng is
 * the caller's (e.g. derived from (study seed, trial id)), or NULL for the
 * controller's own (saved in checkpoints); the weights are not changed. */
double taml_ctrl_sample(taml_ctrl *c, int task, taml_rng *rng, int32_t *actions);
/* taml_ctrl_sample with each decision drawn at temperature temperature
 * (> 0): from p^(1/temperature), renormalised, so above 1 flatter (more
 * exploration), below 1 sharper; 1 is taml_ctrl_sample exactly. Returns the
 * log-probability of the actions under the policy itself (temperature 1),
 * which is what taml_ctrl_update's step uses: a draw at another
 * temperature is an off-policy sample. */
double taml_ctrl_sample_temp(taml_ctrl *c, int task, taml_rng *rng, double temperature,
                             int32_t *actions);
/* The most likely configuration by greedy decoding (the arg-max at every
 * step, given the previous arg-maxes); returns its log-probability. */
double taml_ctrl_greedy(taml_ctrl *c, int task, int32_t *actions);
/* The probability of every choice of every decision along a path: along
 * `path` when given (decision d's distribution conditioned on path[0..d-1]),
 * else along the greedy path (written to greedy_out when not NULL). probs has
 * taml_space_total_choices entries, decision d at taml_space_offset(d). */
void taml_ctrl_probabilities(taml_ctrl *c, int task, const int32_t *path, int32_t *greedy_out,
                             double *probs);
/* The log-probability of a given configuration and the summed entropy of
 * the per-step distributions along it (entropy may be NULL). */
double taml_ctrl_log_prob(taml_ctrl *c, int task, const int32_t *actions, double *entropy);

/* What one update did (for logs and the study store). */
typedef struct taml_ctrl_step {
    double advantage;  /* the advantage used (0 during warm-up) */
    double baseline;   /* b_task before this reward */
    double sigma;      /* sigma_task before this reward */
    double grad_norm;  /* global gradient norm before clipping (0 during warm-up) */
    double log_prob;   /* of the actions under the weights before the step */
    double entropy;    /* summed per-step entropy along the actions */
    int warmup;        /* 1: the reward only fed the EMAs, no weight changed */
} taml_ctrl_step;

/* One REINFORCE step for a finished trial of task: actions are that trial's
 * own (as sampled, possibly many updates ago), reward its score (any finite
 * number; a higher reward is better). First computes the advantage from the
 * task's EMAs, then folds the reward into them, then (after warm-up) takes
 * one Adam step on the shared weights and this task's embedding. info may be
 * NULL. TAML_EINVAL for an unknown task, an action out of range or a
 * non-finite reward (the controller is then unchanged). */
int taml_ctrl_update(taml_ctrl *c, int task, const int32_t *actions, double reward,
                     taml_ctrl_step *info, taml_err *err);

/* Checkpoints (format and versions: the top of ctrl/checkpoint.c): the
 * space (fingerprint and canonical description), the options, all weights,
 * Adam state, per-task names, embeddings and baselines and the controller's
 * RNG, in the checksummed envelope of core/bytes.h. Loading then continuing
 * gives bitwise the same controller as never stopping. */

/* Serialises into a new heap buffer (*buf, *size); the caller frees *buf. */
void taml_ctrl_save(const taml_ctrl *c, void **buf, size_t *size);
/* Rebuilds a controller from a buffer of either version; source names it in
 * messages ("s.db: checkpoint after update 40"; NULL: "controller
 * checkpoint"). space is the space the caller searches (copied);
 * TAML_EMISMATCH with a message saying how the checkpoint's space differs
 * (or for another LSTM size), TAML_ECORRUPT for a bad magic, CRC, truncation
 * or field ("SOURCE: offset N: FIELD: what"), TAML_EFORMAT for an unknown
 * version. */
int taml_ctrl_load_named(taml_ctrl **out, const taml_space *space, const void *buf, size_t size,
                         const char *source, taml_err *err);
/* taml_ctrl_load_named with no name. */
int taml_ctrl_load(taml_ctrl **out, const taml_space *space, const void *buf, size_t size,
                   taml_err *err);
/* The space a checkpoint was made for (new, caller frees), to inspect or
 * search a checkpoint's own space. Same errors as taml_ctrl_load_named. */
int taml_ctrl_checkpoint_space(taml_space **out, const void *buf, size_t size,
                               const char *source, taml_err *err);
/* The same to and from a file (written atomically); errors name the path. */
int taml_ctrl_save_file(const taml_ctrl *c, const char *path, taml_err *err);
int taml_ctrl_load_file(taml_ctrl **out, const taml_space *space, const char *path,
                        taml_err *err);

/* --- Introspection for tests and tools ---------------------------------
 * Parameter groups, each a flat double array inside the controller. */
typedef enum taml_ctrl_group {
    TAML_CTRL_LSTM1 = 0, /* layer 1: W (E + E + H, 4H) rows [task; action; h1], b (4H);
                          * gates i, f, g, o */
    TAML_CTRL_LSTM2,     /* layer 2: W (H + H, 4H), b (4H) */
    TAML_CTRL_HEADS,     /* per decision: W (H + E + E, n_d) rows [h2; action; task], b (n_d) */
    TAML_CTRL_ACTIONS,   /* per decision but the last: (n_d, E) action embeddings */
    TAML_CTRL_START,     /* (E) the step-0 input */
    TAML_CTRL_TASK,      /* (E) the embedding of the task given to taml_ctrl_group */
    TAML_CTRL_GROUPS
} taml_ctrl_group;

/* The parameters of group g (for TAML_CTRL_TASK: of task) and their count;
 * writable, so tests can perturb them. */
double *taml_ctrl_params(taml_ctrl *c, taml_ctrl_group g, int task, size_t *n);
/* The gradient of  w_logp * log pi(actions) + w_ent * entropy(actions)  with
 * respect to group g's parameters (for TAML_CTRL_TASK: task's embedding),
 * written to grad (n entries as taml_ctrl_params gives). Used by the
 * gradient check; the update uses the same backward pass. */
void taml_ctrl_gradient(taml_ctrl *c, int task, const int32_t *actions, double w_logp,
                        double w_ent, taml_ctrl_group g, double *grad);
/* The name of a group ("lstm1", ...). */
const char *taml_ctrl_group_name(taml_ctrl_group g);

#endif
