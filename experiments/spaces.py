#!/usr/bin/python3
"""experiments/spaces.py - the table of `make -C experiments spaces` (issue
15): per task, the best model by validation accuracy of the taml-space study
and of the paper-space study (same method, budget and seed), with its test
accuracy, the study's wall time (run-study's STUDY.time) and its trials'
seconds (train_seconds summed: each trial's wall time in its worker, the
task's features included when that trial computed them), the text features the
taml study's best trial used, and the baselines of experiments/baselines.py
(TF-IDF + LR, fastText autotune): from OUT/baselines/ when it holds them,
else the figures of docs/RESULTS.md's baseline table (--results), marked *.

usage: experiments/spaces.py --out OUT --trials N [--results docs/RESULTS.md] TASK...
A task whose studies are missing or not complete is listed as not measured.
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess

TAML = os.environ.get("TAML_BIN", "build/taml")


def study(path, trials):
    """The best trial (valid, test, config), trials done, wall and trial seconds,
    or None when the study is not there or not complete."""
    if not os.path.isfile(path):
        return None
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    rows = db.execute("select valid_acc, test_acc, config_json, train_seconds from trials "
                      "where state in ('done', 'diverged', 'invalid') order by id").fetchall()
    db.close()
    if len(rows) < trials:
        return None
    # the best by validation accuracy, the earliest of ties (as taml status)
    best = max(enumerate(rows), key=lambda ir: (ir[1][0], -ir[0]))[1]
    wall = 0.0
    if os.path.isfile(path + ".time"):
        wall = sum(float(l.split()[0]) for l in open(path + ".time") if l.strip())
    return {"valid": best[0], "test": best[1], "config": json.loads(best[2]), "trials": len(rows),
            "wall": wall, "trial_s": sum(r[3] or 0 for r in rows)}


def baseline(out, task, method, published):
    """(test accuracy, its text) of a baseline: this run's, else the
    published table's (the text marked *), else None."""
    p = os.path.join(out, "baselines", "%s.%s.json" % (task, method))
    if os.path.isfile(p):
        with open(p) as f:
            acc = json.load(f)["test_acc"]
        return acc, pct(acc)
    if (task, method) in published:
        acc = published[(task, method)]
        return acc, pct(acc) + "*"
    return None


def published_baselines(path):
    """{(task, "fasttext"|"tfidf"): test accuracy} from the rows of RESULTS.md's
    table "| task | classes | train / valid / test | majority (test) | fastText
    autotune test acc | fastText wall s | TF-IDF + LR test acc | ..."."""
    out = {}
    if not path or not os.path.isfile(path):
        return out
    row = re.compile(r"^\| ([a-z0-9-]+) \| \d+ \| [\d / ]+ \| [\d.]+% \| ([\d.]+)% \| \d+ \| ([\d.]+)% \|")
    for line in open(path):
        m = row.match(line)
        if m:
            out[(m.group(1), "fasttext")] = float(m.group(2)) / 100
            out[(m.group(1), "tfidf")] = float(m.group(3)) / 100
    return out


def features(cfg):
    """The text features a config uses beyond the paper's, in words."""
    parts = []
    if cfg.get("word_ngrams", 1) > 1:
        parts.append("words 1-%d" % cfg["word_ngrams"])
    if cfg.get("char_ngrams", "none") != "none":
        parts.append("chars " + cfg["char_ngrams"])
    if cfg.get("weighting", "count") != "count":
        parts.append(cfg["weighting"])
    if cfg.get("subwords"):
        parts.append("subwords")
    if cfg.get("wide_l1") == "disable":
        parts.append("no wide tower")
    return ", ".join(parts) or "the paper's features"


def pct(x):
    return "%.1f" % (100 * x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--trials", type=int, required=True)
    ap.add_argument("--results", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "docs", "RESULTS.md"))
    ap.add_argument("tasks", nargs="+")
    a = ap.parse_args()
    print("| task | taml space: valid / test | paper space: valid / test | taml - paper (test) "
          "| TF-IDF + LR test | fastText test | taml wall s (trials s) | paper wall s (trials s) "
          "| taml best's text features |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    published = published_baselines(a.results)
    missing, diffs, vs_lr, vs_best = [], [], [], []
    for t in a.tasks:
        s = {k: study(os.path.join(a.out, "spaces", "%s.%s.db" % (t, k)), a.trials)
             for k in ("taml", "paper")}
        if not s["taml"] or not s["paper"]:
            missing.append(t)
            continue
        lr, ft = baseline(a.out, t, "tfidf", published), baseline(a.out, t, "fasttext", published)
        d = s["taml"]["test"] - s["paper"]["test"]
        diffs.append(d)
        if lr:
            vs_lr.append(s["taml"]["test"] - lr[0])
        if lr and ft:
            vs_best.append(s["taml"]["test"] - max(lr[0], ft[0]))
        print("| %s | %s / %s | %s / %s | %+.1f | %s | %s | %.0f (%.0f) | %.0f (%.0f) | %s |" % (
            t, pct(s["taml"]["valid"]), pct(s["taml"]["test"]), pct(s["paper"]["valid"]),
            pct(s["paper"]["test"]), 100 * d, lr[1] if lr else "-",
            ft[1] if ft else "-", s["taml"]["wall"], s["taml"]["trial_s"],
            s["paper"]["wall"], s["paper"]["trial_s"], features(s["taml"]["config"])))
    print()
    if diffs:
        print("%d tasks measured, %d trials a study: the taml space's best is ahead of the paper "
              "space's on test on %d, equal on %d, behind on %d; mean difference %+.2f points." % (
                  len(diffs), a.trials, sum(d > 0 for d in diffs), sum(d == 0 for d in diffs),
                  sum(d < 0 for d in diffs), 100 * sum(diffs) / len(diffs)))
    if vs_lr:
        print("Against TF-IDF + LR (%d tasks with its result): at least as good on %d, mean "
              "difference %+.2f points." % (len(vs_lr), sum(d >= 0 for d in vs_lr),
                                            100 * sum(vs_lr) / len(vs_lr)))
    if vs_best:
        print("Against the better of the two baselines (%d tasks): at least as good on %d, mean "
              "difference %+.2f points." % (len(vs_best), sum(d >= 0 for d in vs_best),
                                            100 * sum(vs_best) / len(vs_best)))
    if published:
        print("* the published baseline figure (docs/RESULTS.md, measured on the same splits "
              "and tokens), not re-run here.")
    if missing:
        print("Not measured (no complete studies): " + ", ".join(missing) + ".")


if __name__ == "__main__":
    main()
