#!/usr/bin/python3
"""experiments/similar_loo.py - issue 16's leave-one-out of `taml similar`
over the k-fold experiment (`make -C experiments kfold-similar`, after
kfold-heldout): every text task is a new task once, and the tasks its
fold's controller was trained on are the known ones.

Per held-out task D of fold f:

  1. `taml similar --from KF_OUT/fold-f.R.tamlctrl --task D --study
     KF_OUT/D.transfer.R.db --trials T` (R: the controller recipe) with the
     k-fold flags: the ranking of
     the known tasks after the held-out task's T-AML study (made by
     kfold-heldout, complete: nothing more is trained), by the cosine of
     the task embeddings;
  2. each known task's best configuration (best validation accuracy among
     its finished trials, ties the earliest, as `taml similar` picks) from
     the fold's multitask study, and the most and the least similar known
     task's configuration trained once on D (`taml train`, one seed);
  3. against random search on D (KF_OUT/D.random.db): the median validation
     accuracy of its finished trials (with a pruner these are the trials
     that survived it, so this median is a harder bar than an unpruned
     random trial's), and its best.

Then the tallies (how often the most similar task's configuration beats the
median, and beats the least similar one's) and, over every (held-out,
known) pair, Pearson's r between the cosine and the overlap of the two
tasks' 10 best configurations (per decision, the share of choices in
common, averaged over the decisions: the measure of docs/RESULTS.md "Task
similarity"). Results are cached in KF_OUT/D.similar.R.json (a task is
skipped when it is there).

usage: similar_loo.py --dir KF_OUT --t T --space FILE --data DIR --flags "..." --recipe R
                      --fold NAME "TASK ..." [--fold ...]
"""
import argparse
import json
import math
import os
import shlex
import sqlite3
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tasks as T  # noqa: E402


def finished(db, task=None):
    """[(id, valid, config)] of the done trials (of task), in id order."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        q = ("SELECT t.id, t.valid_acc, t.config_json, k.name FROM trials t JOIN tasks k ON k.idx = t.task "
             "WHERE t.state = 'done' AND t.valid_acc IS NOT NULL ORDER BY t.id")
        return [(i, v, json.loads(c)) for i, v, c, n in con.execute(q) if task is None or n == task]
    finally:
        con.close()


def ended(db):
    """The trials of a study that ended (any final state)."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute("SELECT count(*) FROM trials WHERE state NOT IN ('pending', 'running')").fetchone()[0]
    finally:
        con.close()


def best(rows):
    b = None
    for r in rows:
        if b is None or r[1] > b[1]:
            b = r
    return b


def top_configs(rows, k=10):
    return [c for _, _, c in sorted(rows, key=lambda r: (-r[1], r[0]))[:k]]


def overlap(a, b):
    """Per decision, the share of choices two lists of configurations have in
    common (the smaller count of each value over the list length), averaged."""
    if not a or not b:
        return float("nan")
    ds = list(a[0])
    tot = 0.0
    for d in ds:
        ca, cb = {}, {}
        for c in a:
            ca[json.dumps(c[d])] = ca.get(json.dumps(c[d]), 0) + 1 / len(a)
        for c in b:
            cb[json.dumps(c[d])] = cb.get(json.dumps(c[d]), 0) + 1 / len(b)
        tot += sum(min(ca[k], cb.get(k, 0)) for k in ca)
    return tot / len(ds)


def pearson(x, y):
    n = len(x)
    if n < 3:
        return float("nan")
    mx, my = sum(x) / n, sum(y) / n
    sx = math.sqrt(sum((v - mx) ** 2 for v in x))
    sy = math.sqrt(sum((v - my) ** 2 for v in y))
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / (sx * sy) if sx and sy else float("nan")


def train(task_dir, config, seed):
    p = subprocess.run([T.taml_bin(), "train", "--task", task_dir, "--config", json.dumps(config),
                        "--seed", str(seed), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("taml train on %s: %s" % (task_dir, p.stderr.decode().strip()))
    r = json.loads(p.stdout)
    return {"valid": r["valid_acc"], "test": r["test_acc"], "seconds": r.get("train_s")}


def one(a, fold, task):
    out = os.path.join(a.dir, "%s.similar.%s.json" % (task, a.recipe))
    if os.path.isfile(out):
        with open(out, encoding="utf-8") as f:
            return json.load(f)
    study = os.path.join(a.dir, "%s.transfer.%s.db" % (task, a.recipe))
    rs = os.path.join(a.dir, task + ".random.db")
    ctrl = os.path.join(a.dir, "fold-%s.%s.tamlctrl" % (fold, a.recipe))
    multi = os.path.join(a.dir, "fold-%s.%s.multitask.db" % (fold, a.recipe))
    if not all(os.path.isfile(p) for p in (study, rs, ctrl, multi)):
        return None
    if ended(study) < a.t or ended(rs) < a.t:
        return None  # not complete: `taml similar` would go on training it
    task_dir = os.path.join(a.data, task)
    cmd = [T.taml_bin(), "similar", "--from", ctrl, "--task", task_dir, "--study", study,
           "--trials", str(a.t), "--space", a.space, "--json"] + shlex.split(a.flags)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.decode().strip()[-400:]))
    ranking = json.loads(p.stdout)
    if ranking["trials"] != a.t:
        raise RuntimeError("%s: the ranking is after %s trials, not %d" % (study, ranking["trials"], a.t))
    known = [k for k in ranking["known"] if k["cosine"] is not None]
    held_top = top_configs(finished(study, task))
    pairs = []
    for k in known:
        rows = finished(multi, k["task"])
        b = best(rows)
        k["best_config"] = b[2] if b else None
        pairs.append((k["cosine"], overlap(held_top, top_configs(rows))))
    seed = 7919
    most, least = known[0], known[-1]
    res = {"task": task, "fold": fold, "trials": ranking["trials"],
           "ranking": [(k["task"], k["cosine"]) for k in known],
           "most": {"task": most["task"], "cosine": most["cosine"]},
           "least": {"task": least["task"], "cosine": least["cosine"]},
           "pairs": pairs}
    for name, k in (("most", most), ("least", least)):
        if k["best_config"] is not None:
            res[name].update(train(task_dir, k["best_config"], seed))
    rv = [v for _, v, _ in finished(rs, task)]
    res["random_median"] = statistics.median(rv) if rv else None
    res["random_best"] = max(rv) if rv else None
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)
    os.replace(out + ".tmp", out)
    return res


def pct(x):
    return "-" if x is None else "%.1f" % (100 * x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--t", type=int, required=True)
    ap.add_argument("--space", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--flags", default="")
    ap.add_argument("--recipe", required=True)
    ap.add_argument("--fold", nargs=2, action="append", metavar=("NAME", "TASKS"), required=True)
    a = ap.parse_args()
    rows = ["| fold | task | most similar (cos) | its config on the task: valid / test | least similar (cos) | "
            "its config: valid / test | random search: median / best valid |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    n = beats_median = beats_least = 0
    cos, ovl = [], []
    for fold, names in a.fold:
        for task in names.split():
            r = one(a, fold, task)
            if r is None:
                continue
            m, l = r["most"], r["least"]
            rows.append("| %s | %s | %s (%.2f) | %s / %s | %s (%.2f) | %s / %s | %s / %s |" % (
                fold, task, m["task"], m["cosine"], pct(m.get("valid")), pct(m.get("test")), l["task"],
                l["cosine"], pct(l.get("valid")), pct(l.get("test")), pct(r["random_median"]),
                pct(r["random_best"])))
            if m.get("valid") is not None and r["random_median"] is not None:
                n += 1
                beats_median += m["valid"] > r["random_median"]
                beats_least += l.get("valid") is not None and m["valid"] > l["valid"]
            for c, o in r["pairs"]:
                if not math.isnan(o):
                    cos.append(c)
                    ovl.append(o)
    out = ["## `taml similar`, leave one out (k-fold, recipe %s)" % a.recipe, "",
           "Per held-out task: the known task ranked most and least similar after the task's T-AML study "
           "(T = %d trials), each one's best configuration of its fold's multitask study trained once on "
           "the held-out task, and random search's finished trials on it (median and best validation "
           "accuracy, %%)." % a.t, ""] + rows + [""]
    if n:
        out.append("The most similar task's configuration beat random search's median finished trial on "
                   "%d of %d held-out tasks, and beat the least similar task's configuration on %d of %d." % (
                       beats_median, n, beats_least, n))
    if cos:
        out.append("Over %d (held-out, known) pairs: Pearson r = %.2f between the cosine of the task "
                   "embeddings and the overlap of the two tasks' 10 best configurations." % (
                       len(cos), pearson(cos, ovl)))
    print("\n".join(out + [""]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
