/* search/metrics.h - the paper's measures of a search (sections 4.2-4.3),
 * as pure functions over plain arrays.
 *
 * `taml status` and `taml report` read a study's trials from the store and
 * hand them here; nothing in this file knows about SQLite, the controller or
 * files, so every number a user sees can be checked by hand in a test.
 *
 * Trials of one task are given in trial-id order: the order the search
 * proposed them, which is what the paper's x-axis ("number of trials") counts
 * (with parallel workers trials may finish out of order; the id order keeps a
 * curve the same however many workers ran). Each trial contributes two numbers:
 *
 *   valid[i], test[i]   accuracy on the validation and test split, in [0, 1].
 *
 * What the trial states count as (the caller maps a stored trial to the two
 * numbers; the rule is fixed here so that every report agrees):
 *   done      its accuracies.
 *   diverged  its accuracies: a diverged child still gets evaluated (DESIGN:
 *             "the trial still gets an accuracy"), usually a poor one.
 *   invalid   its recorded accuracies (the defined reward of an invalid
 *             config, e.g. the majority-class accuracy): the search spent a
 *             trial on it and the controller was rewarded with it.
 *   failed    valid = NaN: it counts as a trial on the x-axis (the budget was
 *             spent) but can never be among the best N. So do the trials
 *             failed because their worker process died on every allowed
 *             attempt or ran past the time limit (store/store.h): they are
 *             failed trials like any other.
 *   pruned    valid = NaN, as failed: the search's pruner stopped it at a
 *             rung (search/prune.h); it spent budget (and counts in
 *             trials-to-target) but its rung accuracy is not a final one,
 *             so it never ranks above, or beside, a trial that finished.
 *   pending, running: not finished, not passed at all.
 *
 * accuracy-topN after t trials: among the first t trials with a valid
 * accuracy, take the N with the highest validation accuracy; ties are broken
 * by the earlier trial (a later trial must be strictly better to displace an
 * equal one), so the set is unique and does not depend on a sort's whim. The
 * curve's valid value is the mean of their validation accuracies, its test
 * value the mean of *their* test accuracies (the test split never selects).
 * Means are summed in rank order, so two runs that find the same accuracies
 * in another order get bit-identical values.
 * With k < N ranked trials so far the value is the mean over those k (and
 * `count` says k); with k = 0 it is NaN. The validation curve is
 * non-decreasing from the trial at which k reaches N; before that it is not,
 * which is why trials-to-target only counts trial counts with a full top N.
 */
#ifndef TAML_SEARCH_METRICS_H
#define TAML_SEARCH_METRICS_H

#include <stddef.h>

#include "core/err.h"

/* The accuracy-topN curve of n trials (see the file comment). Inputs: valid
 * and test (n) accuracies in [0, 1] or NaN (valid NaN = no accuracy; test
 * NaN with a finite valid makes the test curve NaN while that trial is in the
 * top). top >= 1. Outputs, each (n) and each optional (NULL to skip):
 *   out_valid[t], out_test[t]   accuracy-topN after the first t + 1 trials;
 *   out_valid_sem[t], out_test_sem[t]  standard error of the mean over the
 *       top k (sample standard deviation / sqrt(k)); NaN when k < 2 (one
 *       model says nothing about its spread). The paper's error bars are
 *       +- 2 s.e.m.;
 *   out_count[t]   k, the number of trials in the top (<= top).
 * Errors: TAML_EINVAL for top == 0, a NULL valid with n > 0, or an accuracy
 * outside [0, 1] (naming the trial index). test may be NULL (test outputs
 * are then NaN). */
int taml_metrics_topn(const double *valid, const double *test, size_t n, size_t top,
                      double *out_valid, double *out_test, double *out_valid_sem,
                      double *out_test_sem, size_t *out_count, taml_err *err);

/* Trials-to-target (paper Table 2): the first trial count t (1-based) at
 * which the validation accuracy-topN over the first t trials has a full top
 * (k = N) and is >= target. Returns 0 when the trials never reach it ("n/a"),
 * or when target is NaN. A negative status (TAML_EINVAL) for bad input, as
 * taml_metrics_topn. */
long taml_metrics_trials_to_target(const double *valid, size_t n, size_t top, double target,
                                   taml_err *err);

/* The random-search target (paper 4.3): the validation accuracy-topN of a
 * random study after its first `budget` trials (its full budget T; 0 means
 * all n). Errors (TAML_EINVAL): budget > n (the random study is shorter than
 * the budget asked for), fewer than `top` trials with an accuracy within the
 * budget (the target of a top N needs N models), bad accuracies. */
int taml_metrics_target(const double *valid, size_t n, size_t top, size_t budget,
                        double *target, taml_err *err);

/* Indices of the (up to) k best trials by validation accuracy, best first,
 * ties to the earlier trial; trials with NaN valid are skipped. Writes into
 * out_idx (k) and returns how many were written (<= k). */
size_t taml_metrics_best(const double *valid, size_t n, size_t k, size_t *out_idx);

/* The valid/test gap of the top N (paper Figure 4) over all n trials: the
 * mean of valid - test over the N trials with the best validation accuracy
 * (ties as above; equals valid accuracy-topN minus test accuracy-topN) and
 * the standard error of those N differences (NaN for fewer than two).
 * Returns the number of models used (0: *mean and *sem NaN). */
size_t taml_metrics_gap(const double *valid, const double *test, size_t n, size_t top,
                        double *mean, double *sem);

/* Mean and sample standard error of n values (NaN ones skipped). *sem is
 * NaN for fewer than two values, *mean NaN for none. */
void taml_metrics_mean_sem(const double *x, size_t n, double *mean, double *sem);

/* Cosine similarity of k vectors of dimension d (rows of emb, row-major
 * (k, d)) into out (k, k). A zero vector has no direction: its row and
 * column are NaN (its diagonal too). Errors: TAML_EINVAL for k == 0, d == 0
 * or a non-finite entry. */
int taml_metrics_cosine(const double *emb, size_t k, size_t d, double *out, taml_err *err);

/* Action frequencies in a moving window (paper Figure 5 drawn from the
 * trials themselves): actions (n) are one decision's choices in trial order
 * (values 0..n_choices-1; a negative value = unknown, skipped), out is
 * (n, n_choices): row t holds, for each choice, the fraction of the known
 * actions among trials max(0, t - window + 1) .. t that chose it (a row with
 * no known action is all NaN). Errors: TAML_EINVAL for window == 0,
 * n_choices == 0, or an action >= n_choices (naming the trial index). */
int taml_metrics_action_freq(const int *actions, size_t n, size_t n_choices, size_t window,
                             double *out, taml_err *err);

#endif
