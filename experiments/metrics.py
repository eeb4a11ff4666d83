"""experiments/metrics.py - the paper's accuracy-topN and trials-to-target
(sections 4.2-4.3) for trials that do not live in a taml study: the Optuna
TPE and Python random-search trials of tpe.py (JSONL), and the fixed-budget
columns of tables.py.

The rules are those of src/search/metrics.h, line for line, so a number here
and the same number from `taml status` agree: trials in trial order; a trial
without a validation accuracy (NaN: failed) spends budget but is never
ranked; the top N are the N best by validation accuracy, ties to the earlier
trial; the test value is the mean of *their* test accuracies; trials-to-
target is the first trial count with a full top N whose validation mean is
>= the target; the target is random search's validation accuracy-topN after
its first T trials. selftest.py checks this file against `taml status
--against` on a real study.
"""
import math

TOP = 10


def _mean_sem(xs):
    k = len(xs)
    if k == 0:
        return float("nan"), float("nan")
    s = 0.0
    for x in xs:
        s += x
    m = s / k
    if k < 2:
        return m, float("nan")
    ss = 0.0
    for x in xs:
        ss += (x - m) * (x - m)
    return m, math.sqrt(ss / (k - 1)) / math.sqrt(k)


def topn_curve(valid, test=None, top=TOP):
    """The accuracy-topN curve: a list of dicts, one per trial t (after the
    first t + 1 trials): valid, valid_sem, test, test_sem, count."""
    if top < 1:
        raise ValueError("top N must be at least 1")
    for i, v in enumerate(valid):
        if not math.isnan(v) and not 0.0 <= v <= 1.0:
            raise ValueError("trial %d: validation accuracy %g is outside [0, 1]" % (i, v))
    idx = []
    out = []
    for t, v in enumerate(valid):
        if not math.isnan(v):
            pos = len(idx)
            while pos > 0 and valid[idx[pos - 1]] < v:
                pos -= 1
            if pos < top:
                idx.insert(pos, t)
                del idx[top:]
        vm, vs = _mean_sem([valid[i] for i in idx])
        if test is not None:
            tm, ts = _mean_sem([test[i] for i in idx])
        else:
            tm = ts = float("nan")
        out.append({"valid": vm, "valid_sem": vs, "test": tm, "test_sem": ts, "count": len(idx)})
    return out


def at_budget(valid, test, budget, top=TOP):
    """accuracy-topN after the first `budget` trials (all when budget is 0 or
    more than there are): the curve's point there, or None for no trials."""
    n = len(valid) if not budget or budget > len(valid) else budget
    if n == 0:
        return None
    return topn_curve(valid[:n], test[:n] if test is not None else None, top)[-1]


def target(valid, budget=0, top=TOP):
    """Random search's validation accuracy-topN after its first `budget`
    trials (0 = all). Raises ValueError as taml_metrics_target refuses."""
    if budget == 0:
        budget = len(valid)
    if budget > len(valid):
        raise ValueError("the random study has %d trials, fewer than the budget T = %d"
                         % (len(valid), budget))
    if budget == 0:
        raise ValueError("the random study has no trials")
    last = topn_curve(valid[:budget], None, top)[-1]
    if last["count"] < top:
        raise ValueError("the random study has %d trials with an accuracy in its first %d, "
                         "fewer than the %d a top-%d target needs" % (last["count"], budget, top, top))
    return last["valid"]


def trials_to_target(valid, tgt, top=TOP):
    """The first trial count (1-based) with a full top N whose validation
    mean is >= tgt; 0 when never ("n/a") or tgt is NaN."""
    if not valid or math.isnan(tgt):
        return 0
    for t, p in enumerate(topn_curve(valid, None, top)):
        if p["count"] == top and p["valid"] >= tgt:
            return t + 1
    return 0
