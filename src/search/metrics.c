/* search/metrics.c - accuracy-topN, trials-to-target, similarity and action
 * frequencies (see metrics.h for the definitions and why they are so). */
#include "search/metrics.h"

#include <math.h>
#include <stdlib.h>

#include "core/text.h"

/* Rejects an accuracy that is not NaN and not in [0, 1]. */
static int check_acc(const double *a, size_t n, const char *what, taml_err *err)
{
    if (!a) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(a[i]) && !(a[i] >= 0.0 && a[i] <= 1.0))
            return taml_err_set(err, TAML_EINVAL,
                                "metrics: trial %zu: %s accuracy %g is outside [0, 1]", i, what,
                                a[i]);
    return 0;
}

/* Mean and standard error of x[idx[0..k-1]], summed in that order. */
static void mean_sem_idx(const double *x, const size_t *idx, size_t k, double *mean, double *sem)
{
    if (k == 0) {
        *mean = NAN;
        *sem = NAN;
        return;
    }
    double s = 0;
    for (size_t j = 0; j < k; j++) s += x[idx[j]];
    double m = s / (double)k;
    *mean = m;
    if (k < 2) {
        *sem = NAN;
        return;
    }
    double ss = 0;
    for (size_t j = 0; j < k; j++) ss += (x[idx[j]] - m) * (x[idx[j]] - m);
    *sem = sqrt(ss / (double)(k - 1)) / sqrt((double)k);
}

/* Inserts trial i into the ranked list idx (k entries, capacity top): after
 * every entry whose valid is >= valid[i], so equal values keep the earlier
 * trial ahead. Returns the new k. */
static size_t rank_insert(size_t *idx, size_t k, size_t top, const double *valid, size_t i)
{
    size_t pos = k;
    while (pos > 0 && valid[idx[pos - 1]] < valid[i]) pos--;
    if (pos >= top) return k;
    size_t last = k < top ? k : top - 1;
    for (size_t j = last; j > pos; j--) idx[j] = idx[j - 1];
    idx[pos] = i;
    return k < top ? k + 1 : k;
}

int taml_metrics_topn(const double *valid, const double *test, size_t n, size_t top,
                      double *out_valid, double *out_test, double *out_valid_sem,
                      double *out_test_sem, size_t *out_count, taml_err *err)
{
    if (top == 0) return taml_err_set(err, TAML_EINVAL, "metrics: top N must be at least 1");
    if (n > 0 && !valid)
        return taml_err_set(err, TAML_EINVAL, "metrics: no validation accuracies given");
    int rc = check_acc(valid, n, "validation", err);
    if (rc == 0) rc = check_acc(test, n, "test", err);
    if (rc < 0) return rc;
    size_t cap = top < n ? top : (n ? n : 1);
    size_t *idx = taml_malloc(cap * sizeof *idx);
    size_t k = 0;
    for (size_t t = 0; t < n; t++) {
        if (!isnan(valid[t])) k = rank_insert(idx, k, cap, valid, t);
        double m, s;
        mean_sem_idx(valid, idx, k, &m, &s);
        if (out_valid) out_valid[t] = m;
        if (out_valid_sem) out_valid_sem[t] = s;
        if (test) {
            mean_sem_idx(test, idx, k, &m, &s);
        } else {
            m = NAN;
            s = NAN;
        }
        if (out_test) out_test[t] = m;
        if (out_test_sem) out_test_sem[t] = s;
        if (out_count) out_count[t] = k;
    }
    free(idx);
    return 0;
}

long taml_metrics_trials_to_target(const double *valid, size_t n, size_t top, double target,
                                   taml_err *err)
{
    if (top == 0) return taml_err_set(err, TAML_EINVAL, "metrics: top N must be at least 1");
    if (n == 0 || isnan(target)) return 0;
    double *curve = taml_malloc(n * sizeof *curve);
    size_t *count = taml_malloc(n * sizeof *count);
    long found = 0;
    int rc = taml_metrics_topn(valid, NULL, n, top, curve, NULL, NULL, NULL, count, err);
    if (rc < 0) {
        found = rc;
        goto done;
    }
    for (size_t t = 0; t < n; t++)
        if (count[t] == top && curve[t] >= target) {
            found = (long)t + 1;
            break;
        }
done:
    free(curve);
    free(count);
    return found;
}

int taml_metrics_target(const double *valid, size_t n, size_t top, size_t budget,
                        double *target, taml_err *err)
{
    *target = NAN;
    if (top == 0) return taml_err_set(err, TAML_EINVAL, "metrics: top N must be at least 1");
    if (budget == 0) budget = n;
    if (budget > n)
        return taml_err_set(err, TAML_EINVAL,
                            "metrics: the random study has %zu %s, fewer than the budget "
                            "T = %zu asked for",
                            n, taml_text_plural((long long)n, "trial", "trials"), budget);
    if (budget == 0)
        return taml_err_set(err, TAML_EINVAL, "metrics: the random study has no trials");
    double *curve = taml_malloc(budget * sizeof *curve);
    size_t *count = taml_malloc(budget * sizeof *count);
    int rc = taml_metrics_topn(valid, NULL, budget, top, curve, NULL, NULL, NULL, count, err);
    if (rc == 0 && count[budget - 1] < top)
        rc = taml_err_set(err, TAML_EINVAL,
                          "metrics: the random study has %zu %s with an accuracy in its "
                          "first %zu, fewer than the %zu a top-%zu target needs",
                          count[budget - 1],
                          taml_text_plural((long long)count[budget - 1], "trial", "trials"), budget,
                          top, top);
    if (rc == 0) *target = curve[budget - 1];
    free(curve);
    free(count);
    return rc;
}

size_t taml_metrics_best(const double *valid, size_t n, size_t k, size_t *out_idx)
{
    if (k == 0) return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(valid[i])) m = rank_insert(out_idx, m, k, valid, i);
    return m;
}

size_t taml_metrics_gap(const double *valid, const double *test, size_t n, size_t top,
                        double *mean, double *sem)
{
    *mean = *sem = NAN;
    if (top == 0) return 0;
    size_t *idx = taml_malloc(top * sizeof *idx);
    size_t m = taml_metrics_best(valid, n, top, idx);
    double *d = taml_malloc((m ? m : 1) * sizeof *d);
    for (size_t j = 0; j < m; j++) d[j] = valid[idx[j]] - test[idx[j]];
    for (size_t j = 0; j < m; j++) idx[j] = j;
    mean_sem_idx(d, idx, m, mean, sem);
    free(d);
    free(idx);
    return m;
}

void taml_metrics_mean_sem(const double *x, size_t n, double *mean, double *sem)
{
    size_t *idx = taml_malloc((n ? n : 1) * sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) idx[k++] = i;
    mean_sem_idx(x, idx, k, mean, sem);
    free(idx);
}

int taml_metrics_cosine(const double *emb, size_t k, size_t d, double *out, taml_err *err)
{
    if (k == 0 || d == 0)
        return taml_err_set(err, TAML_EINVAL,
                            "metrics: cosine similarity needs at least one vector of dimension "
                            ">= 1 (got %zu x %zu)",
                            k, d);
    for (size_t i = 0; i < k * d; i++)
        if (!isfinite(emb[i]))
            return taml_err_set(err, TAML_EINVAL,
                                "metrics: task embedding %zu has a non-finite entry at %zu", i / d,
                                i % d);
    double *norm = taml_malloc(k * sizeof *norm);
    for (size_t i = 0; i < k; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) s += emb[i * d + j] * emb[i * d + j];
        norm[i] = sqrt(s);
    }
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            if (norm[a] == 0 || norm[b] == 0) {
                out[a * k + b] = NAN;
                continue;
            }
            double s = 0;
            for (size_t j = 0; j < d; j++) s += emb[a * d + j] * emb[b * d + j];
            double c = s / (norm[a] * norm[b]);
            /* Rounding can step just past +-1; clamp so a diagonal reads 1. */
            out[a * k + b] = c > 1 ? 1 : c < -1 ? -1 : c;
        }
    free(norm);
    return 0;
}

int taml_metrics_action_freq(const int *actions, size_t n, size_t n_choices, size_t window,
                             double *out, taml_err *err)
{
    if (window == 0 || n_choices == 0)
        return taml_err_set(err, TAML_EINVAL,
                            "metrics: action frequencies need a window >= 1 and >= 1 choice "
                            "(got window %zu, %zu choices)",
                            window, n_choices);
    for (size_t i = 0; i < n; i++)
        if (actions[i] >= (int)n_choices)
            return taml_err_set(err, TAML_EINVAL,
                                "metrics: trial %zu: action %d is not one of the decision's %zu "
                                "choices",
                                i, actions[i], n_choices);
    size_t *cnt = taml_calloc(n_choices, sizeof *cnt);
    size_t known = 0;
    for (size_t t = 0; t < n; t++) {
        if (actions[t] >= 0) {
            cnt[actions[t]]++;
            known++;
        }
        if (t >= window && actions[t - window] >= 0) {
            cnt[actions[t - window]]--;
            known--;
        }
        for (size_t c = 0; c < n_choices; c++)
            out[t * n_choices + c] = known ? (double)cnt[c] / (double)known : NAN;
    }
    free(cnt);
    return 0;
}
