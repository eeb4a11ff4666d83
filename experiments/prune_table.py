#!/usr/bin/python3
"""experiments/prune_table.py - the table of issue 17 (docs/RESULTS.md
"Pruning") from `make -C experiments prune`'s outputs under DIR: per
held-out task and method (random search, AML, T-AML, and Optuna TPE driving
`taml train`), without and with pruning,

  CPU to target  the child seconds (the trials' train_seconds, summed in
                 trial order; pruned trials count what they ran) until the
                 study's validation accuracy-top10 first reaches random
                 search's without pruning at its full budget T (the
                 trials-to-target rule of metrics.h, with seconds on the
                 x-axis); "n/a" when never; x = random search's (without
                 pruning) seconds divided by these (the issue's goal: >= 3)
  test top10     the test accuracy-top10 (+- 2 s.e.m.) of the trials
                 finished within a fixed budget of child seconds B: per
                 task, what random search without pruning spent on its first
                 FIXED trials (--cpu-budget S sets one B for every task)

A child's train_seconds is the wall time of its job on one worker (one
thread, a single-threaded BLAS), so with WORKERS <= cores it is its CPU
time; a TPE trial's is its `taml train` process's wall time up to its end
or its kill (process start and the task's features included: that driver's
real cost per trial). Pruned and failed trials spend seconds and trials but
never rank (metrics.h). A study or file not there (or short of T trials)
is shown as "not run" / "running", never as a number.

usage: prune_table.py --dir DIR --t T --fixed K [--pruner NAME] [--cpu-budget S] TASK...
"""
import argparse
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics as M  # noqa: E402
from tables import fmt_acc  # noqa: E402

NAN = float("nan")


def study_rows(path):
    """(valid, test, seconds) lists of the finished trials in id order, or
    None when there is no study file."""
    if not os.path.isfile(path):
        return None
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        v, t, s = [], [], []
        for state, va, te, secs in con.execute(
                "SELECT state, valid_acc, test_acc, train_seconds FROM trials ORDER BY id"):
            if state in ("pending", "running"):
                continue
            ranked = state not in ("failed", "pruned")
            v.append(va if ranked and va is not None else NAN)
            t.append(te if ranked and te is not None else NAN)
            s.append(secs or 0.0)
        return v, t, s
    finally:
        con.close()


def jsonl_rows(path):
    if not os.path.isfile(path):
        return None
    v, t, s = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                break  # a torn last line
            ranked = r["state"] not in ("failed", "pruned")
            v.append(r["valid_acc"] if ranked and r["valid_acc"] is not None else NAN)
            t.append(r["test_acc"] if ranked and r["test_acc"] is not None else NAN)
            s.append(r.get("wall_s") or 0.0)
    return v, t, s


def cpu_to_target(v, s, tgt):
    n = M.trials_to_target(v, tgt)
    return sum(s[:n]) if n else None


def within(s, budget):
    """How many trials, in order, fit in budget seconds."""
    n, acc = 0, 0.0
    for x in s:
        if acc + x > budget:
            break
        acc += x
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--t", type=int, required=True)
    ap.add_argument("--fixed", type=int, required=True)
    ap.add_argument("--pruner", default="asha")
    ap.add_argument("--cpu-budget", type=float, default=0)
    ap.add_argument("tasks", nargs="+")
    a = ap.parse_args()
    methods = [("random", "db"), ("aml", "db"), ("transfer", "db"), ("tpe", "jsonl")]
    out = ["| task | method | pruner | trials | CPU s to target | x | test top10 at B | B (s) |",
           "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for task in a.tasks:
        base = study_rows(os.path.join(a.dir, "%s.random.none.db" % task))
        tgt = budget = base_cpu = None
        note = None
        if base is None:
            note = "no random search without pruning yet: no target"
        elif len(base[0]) < a.t:
            note = "random search without pruning has %d of %d trials" % (len(base[0]), a.t)
        else:
            try:
                tgt = M.target(base[0], a.t)
            except ValueError as e:
                note = str(e)
            base_cpu = cpu_to_target(base[0], base[2], tgt) if tgt is not None else None
            budget = a.cpu_budget or sum(base[2][:a.fixed])
        if note:
            out.append("| %s | (all) | | | %s | | | |" % (task, note))
            continue
        for m, kind in methods:
            for pr in ("none", a.pruner):
                path = os.path.join(a.dir, "%s.%s.%s.%s" % (task, m, pr, kind))
                rows = study_rows(path) if kind == "db" else jsonl_rows(path)
                label = "T-AML" if m == "transfer" else "TPE (Optuna)" if m == "tpe" else m
                if rows is None:
                    out.append("| %s | %s | %s | not run | | | | |" % (task, label, pr))
                    continue
                v, t, s = rows
                c = cpu_to_target(v, s, tgt)
                x = "%.2f" % (base_cpu / c) if c and base_cpu else "-"
                p = M.at_budget(v, t, within(s, budget)) if within(s, budget) else None
                state = "" if len(v) >= a.t else " (running)"
                out.append("| %s | %s | %s | %d%s | %s | %s | %s | %.0f |" % (
                    task, label, pr, len(v), state, "%.1f" % c if c is not None else "n/a", x,
                    fmt_acc(p), budget))
    print("Target: random search's (no pruning) validation accuracy-top10 after T = %d trials; "
          "B: %s.\n" % (a.t, "%g s" % a.cpu_budget if a.cpu_budget else
                        "the child seconds random search without pruning spent on its first %d trials" % a.fixed))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
