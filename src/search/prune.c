/* search/prune.c - the rungs, the pruners' thresholds and a pruned trial's
 * reward (see prune.h), as pure functions over arrays. */
#include "search/prune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"none", "median", "asha"};

const char *taml_prune_name(taml_pruner p)
{
    return (unsigned)p < 3 ? names[p] : "?";
}

int taml_prune_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s && !strcmp(s, names[i])) return i;
    return -1;
}

void taml_prune_opts_default(taml_prune_opts *p)
{
    p->pruner = TAML_PRUNER_NONE;
    p->eta = 3;
    p->min_samples = 1000;
    p->warmup = 5;
}

int taml_prune_opts_check(const taml_prune_opts *p, taml_err *err)
{
    if ((unsigned)p->pruner > TAML_PRUNER_ASHA)
        return taml_err_set(err, TAML_EINVAL, "--pruner: unknown pruner %d", (int)p->pruner);
    if (p->eta < 2 || p->eta > 100)
        return taml_err_set(err, TAML_EINVAL, "--prune-eta: %d is not in 2..100", (int)p->eta);
    if (p->min_samples < 100 || p->min_samples > 1000000000)
        return taml_err_set(err, TAML_EINVAL, "--prune-min: %lld is not in 100..1000000000",
                            (long long)p->min_samples);
    if (p->warmup < 1 || p->warmup > 1000000)
        return taml_err_set(err, TAML_EINVAL, "--prune-warmup: %d is not in 1..1000000",
                            (int)p->warmup);
    return TAML_OK;
}

int taml_prune_rungs(const taml_prune_opts *p, int64_t total, int64_t *samples, int cap)
{
    int n = 0;
    for (int64_t s = p->min_samples; s < total && n < cap; s *= p->eta) samples[n++] = s;
    return n;
}

int taml_prune_rung_of(const taml_prune_opts *p, int64_t samples)
{
    int k = 0;
    for (int64_t s = p->min_samples; s <= samples; s *= p->eta, k++)
        if (s == samples) return k;
    return -1;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* The median of x (n >= 1), reordered: the middle value, or the mean of the
 * middle two. */
static double median(double *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_desc);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

double taml_prune_threshold(const taml_prune_opts *p, const double *values, size_t n,
                            double *scratch)
{
    if (p->pruner == TAML_PRUNER_NONE || n == 0 || n < (size_t)p->warmup) return NAN;
    memcpy(scratch, values, n * sizeof *scratch);
    if (p->pruner == TAML_PRUNER_MEDIAN) return median(scratch, n);
    size_t k = (n + 1) / (size_t)p->eta;
    if (k < 1) k = 1;
    if (n < k) return NAN;
    qsort(scratch, n, sizeof *scratch, cmp_desc);
    return scratch[k - 1];
}

double taml_prune_reward(double rung_acc, double *gains, size_t n)
{
    double r = rung_acc + (n ? median(gains, n) : 0);
    return r < 0 ? 0 : r > 1 ? 1 : r;
}
