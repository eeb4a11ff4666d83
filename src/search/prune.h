/* search/prune.h - pruning: stopping hopeless children early, at rungs.
 *
 * Rungs are absolute training samples, as in ASHA and Hyperband: rung k is
 * at min x eta^k samples (defaults 1000 x 3^k: 1e3, 3e3, 9e3, 2.7e4, 8.1e4,
 * 2.43e5, 7.29e5). A trial measures its validation accuracy at each rung
 * below its own total (taml_prune_rungs; the validation pass is counted in
 * its time), and goes on only while the accuracy is >= the rung's
 * threshold; its end is its result as without a pruner. Since a child's
 * training up to s samples does not depend on how long it will train (no
 * schedule depends on the total), values at one rung compare trials of
 * every length fairly. A trial whose total is a rung's samples gives its
 * final accuracy (a done trial's) as its value there.
 *
 * The thresholds come from the values earlier trials of the same task
 * reached at the rung, and are fixed when the trial is given to a worker:
 * they travel with the job (exec/pool.h), so a child decides alone, on
 * threads, worker processes and MPI alike. Which trials count (search.c):
 * under --deterministic, trial i's come only from trials 1 .. i - lag (the
 * ones whose updates the controller applied before it sampled trial i), so
 * a run's pruning is that of its seed and lag only; asynchronously, every
 * trial finished when it is dispatched.
 *
 * The pruners (the values of n earlier trials at the rung, the trial's v):
 *   median  Optuna's MedianPruner: v goes on iff v >= the median of the
 *           values of earlier trials that were not pruned (an even count:
 *           the mean of the middle two, as numpy's percentile).
 *   asha    Optuna's SuccessiveHalvingPruner (asynchronous successive
 *           halving): k = max(floor((n + 1) / eta), 1); v goes on iff
 *           n < k or v >= the k-th largest of the n (ties go on). That is
 *           Optuna's "v is among the top k of the n + 1 values with v".
 *           Every earlier trial that reached the rung counts, pruned or not.
 * Both: with fewer than `warmup` values at a rung it decides nothing (no
 * threshold), so the first trials train to the end.
 *
 * The controller's reward of a pruned trial (taml_prune_reward): its rung
 * accuracy alone would punish long trainings (a trial pruned at 3e3 of its
 * 1e6 samples reports a 3e3-sample accuracy) and teach the policy to prefer
 * short ones, which pruning then never corrects. It gets instead its rung
 * accuracy plus the median gain from that rung to the end among earlier
 * trials of the task that trained to the same total and were not pruned
 * (their final accuracy minus their value at that rung), else among those
 * that trained past the rung to any total, else no gain: an estimate of
 * what it would have reached, clipped to [0, 1]. Pruned trials are the
 * worse ones at their rung, so the estimate stays below the survivors'; a
 * configuration that is bad is still told so, a long training is not.
 * (tests/test_prune.c checks this on a synthetic landscape where the
 * longest training is best.) The reward applied is stored with the trial,
 * so a resumed search replays it exactly.
 */
#ifndef TAML_SEARCH_PRUNE_H
#define TAML_SEARCH_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef enum taml_pruner {
    TAML_PRUNER_NONE = 0,
    TAML_PRUNER_MEDIAN = 1,
    TAML_PRUNER_ASHA = 2,
} taml_pruner;

/* "none", "median", "asha"; parse: the pruner named s, or -1. */
const char *taml_prune_name(taml_pruner p);
int taml_prune_parse(const char *s);

typedef struct taml_prune_opts {
    taml_pruner pruner;
    int32_t eta;          /* reduction factor, 2..100 (default 3) */
    int64_t min_samples;  /* rung 0's samples, >= 100 (default 1000) */
    int32_t warmup;       /* values a rung needs before it prunes, >= 1 (default 5) */
} taml_prune_opts;

/* The defaults above, with pruner none. */
void taml_prune_opts_default(taml_prune_opts *p);
/* EINVAL naming the flag (--prune-eta, --prune-min, --prune-warmup) when a
 * value is out of its range. */
int taml_prune_opts_check(const taml_prune_opts *p, taml_err *err);

/* The rungs of a trial of total samples: min x eta^k for k = 0, 1, ...
 * while < total, at most cap (<= exec/pool.h's TAML_JOB_RUNGS) into
 * samples. Returns how many. */
int taml_prune_rungs(const taml_prune_opts *p, int64_t total, int64_t *samples, int cap);
/* k when samples is rung k's, else -1. */
int taml_prune_rung_of(const taml_prune_opts *p, int64_t samples);

/* The threshold of a rung given the n values earlier trials reached there
 * (as the pruner counts them: median only those not pruned): a trial
 * goes on iff its value >= it. NaN: no decision (pruner none, fewer than
 * warmup values, or asha with n < k). values is not changed; scratch (n)
 * is the caller's. */
double taml_prune_threshold(const taml_prune_opts *p, const double *values, size_t n,
                            double *scratch);

/* A pruned trial's reward: rung_acc plus the median of the n gains (see
 * above; n = 0: none), clipped to [0, 1]. gains is reordered. */
double taml_prune_reward(double rung_acc, double *gains, size_t n);

#endif
