#!/usr/bin/python3
"""experiments/kfold.py - issue 16's measurement of the shipped controller's
recipe (`make -C experiments kfold`): every text task held out once, by
folds, each fold's controller made as scripts/controller/build makes the
shipped one but from the other fold's tasks.

  check-space  the space file the experiment writes (space.py --taml
               --paper-samples) is the default space of `taml search`: a
               study made by `taml ask` without --space and one made with
               the file record the same space fingerprint
  table        from DIR (KF_OUT): per fold and held-out task, random search's
               target (its validation accuracy-top10 at T, `taml status
               --against`), the trials AML, T-AML and Optuna's TPE need to
               reach it, the test accuracy-top10 of each at T, and the child
               CPU seconds each spent; the paper's 10x tally (T-AML within
               T/10), the tasks where T-AML never reaches the target, T-AML
               against TPE; then the entropy of the choices over trials per
               decision (the lock-on diagnosis of issue 16), T-AML beside
               AML.

Trials-to-target counts every trial, pruned ones too (metrics.h); TPE's
comes from its JSONL through metrics.py, the rule of the C metrics. A study
short of T trials is shown as running, never as a number.

usage: kfold.py check-space --space FILE --task DIR
       kfold.py table --dir DIR --t T --fold NAME "TASK ..." [--fold ...] [--recipe R ...] [--window W]
"""
import argparse
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics as M  # noqa: E402
import tasks as T  # noqa: E402
import tpe as TPE  # noqa: E402
from tables import checked, fmt_acc, status  # noqa: E402


def fingerprint(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute("SELECT space_fingerprint, space_json FROM study").fetchone()
    finally:
        con.close()


def cmd_check_space(a):
    with tempfile.TemporaryDirectory() as d:
        got = []
        for name, extra in (("default", []), ("file", ["--space", a.space])):
            db = os.path.join(d, name + ".db")
            cmd = [T.taml_bin(), "ask", db, "--method", "random", "--task", a.task, "--trials", "1"] + extra
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode != 0:
                sys.exit("kfold: %s: %s" % (" ".join(cmd), p.stderr.decode().strip()))
            got.append(fingerprint(db))
    if got[0][0] != got[1][0]:
        dflt, mine = json.loads(got[0][1]), json.loads(got[1][1])
        diff = sorted(k for k in set(dflt) | set(mine) if dflt.get(k) != mine.get(k))
        sys.exit("kfold: %s is not the default space of taml search (fingerprints %s and %s); "
                 "they differ in: %s" % (a.space, got[1][0], got[0][0], ", ".join(diff) or "their form"))
    print("kfold: %s is the default space (fingerprint %s)" % (a.space, got[0][0]))
    return 0


def study_extra(path):
    """(child CPU seconds, configs in trial order) of a study's finished trials."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        secs, cfgs = 0.0, []
        for state, s, cfg in con.execute("SELECT state, train_seconds, config_json FROM trials ORDER BY id"):
            if state in ("pending", "running"):
                continue
            secs += s or 0.0
            cfgs.append(json.loads(cfg))
        return secs, cfgs
    finally:
        con.close()


def entropy(values):
    """Entropy of the choices in values, in bits."""
    n = len(values)
    counts = {}
    for v in values:
        k = json.dumps(v)
        counts[k] = counts.get(k, 0) + 1
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else float("nan")


def ttt_cell(n, total):
    return ("%d" % n) if n else "n/a (%d)" % total


def cmd_table(a):
    t_budget, tenth = a.t, max(1, a.t // 10)
    recipes = a.recipe or ["capped100"]
    methods = ["aml"] + ["transfer." + r for r in recipes]
    label = {"aml": "AML"}
    label.update({"transfer." + r: "T-AML (%s)" % r for r in recipes})
    head = " | ".join(label[m] for m in methods)
    rows = ["| fold | task | target (valid top10 at T) | RS | %s | TPE | test top10 at T: RS / %s | "
            "child CPU s: RS / %s / TPE |" % (head, " / ".join(label[m] for m in methods),
                                              " / ".join(label[m] for m in methods)),
            "| --- | --- | ---: | ---: |%s ---: | --- | --- |" % (" ---: |" * len(methods))]
    tally = {m: {"held": 0, "tenth": 0, "never": [], "vs_tpe": [0, 0, 0], "tpe_of": 0} for m in methods}
    tpe_tenth = {}
    configs = {m: [] for m in methods + ["random"]}
    running = []
    for fold, names in a.fold:
        for task in names.split():
            base = os.path.join(a.dir, task)
            rs = base + ".random.db"
            if not os.path.isfile(rs):
                continue
            rtr = checked(rs)
            if len(rtr.get(task, ([],))[0]) < t_budget:
                running.append("%s (random search: %d of %d trials)" % (task, len(rtr.get(task, ([],))[0]), t_budget))
                continue
            st_rs = status(rs, rs, t_budget)[task]
            tgt = st_rs.get("target")
            if tgt is None:
                rows.append("| %s | %s | no target: %s |%s" % (fold, task, st_rs.get("target_note"),
                                                                " |" * (len(methods) + 4)))
                continue
            ttt, tops, cpu, done = {}, [fmt_acc(M.at_budget(rtr[task][0], rtr[task][1], t_budget))], [], {}
            rs_secs, rs_cfgs = study_extra(rs)
            cpu.append("%.0f" % rs_secs)
            configs["random"].append((task, rs_cfgs[:t_budget]))
            cells = [ttt_cell(st_rs.get("random_trials_to_target"), len(rtr[task][0]))]
            for m in methods:
                p = "%s.%s.db" % (base, m)
                if not os.path.isfile(p):
                    cells.append("-")
                    tops.append("-")
                    cpu.append("-")
                    continue
                tr = checked(p)
                n = len(tr[task][0])
                done[m] = n >= t_budget
                if not done[m]:
                    running.append("%s (%s: %d of %d trials)" % (task, label[m], n, t_budget))
                st = status(p, rs, t_budget)[task]
                ttt[m] = st.get("trials_to_target") or None
                cells.append(ttt_cell(ttt[m], n) + ("" if done[m] else " [running]"))
                tops.append(fmt_acc(M.at_budget(tr[task][0], tr[task][1], t_budget)))
                secs, cfgs = study_extra(p)
                cpu.append("%.0f" % secs)
                if done[m]:
                    configs[m].append((task, cfgs[:t_budget]))
            tp = base + ".tpe.jsonl"
            tpe_done = False
            if os.path.isfile(tp):
                trials = TPE.read_trials(tp)
                v, _ = TPE.accs(trials)
                n = M.trials_to_target(v, tgt)
                ttt["tpe"] = n or None
                tpe_done = bool(n) or len(v) >= t_budget
                cells.append(ttt_cell(n, len(v)) + ("" if tpe_done else " [running]"))
                cpu.append("%.0f" % sum(x.get("wall_s") or 0.0 for x in trials))
                if tpe_done:
                    tpe_tenth[task] = n is not None and 0 < n <= tenth
            else:
                cells.append("-")
                cpu.append("-")
            rows.append("| %s | %s | %.1f | %s | %s | %s |" % (
                fold, task, 100 * tgt, " | ".join(cells), " / ".join(tops), " / ".join(cpu)))
            for m in methods:
                if not done.get(m):
                    continue
                ta = tally[m]
                ta["held"] += 1
                n = ttt.get(m)
                ta["tenth"] += n is not None and n <= tenth
                if n is None:
                    ta["never"].append(task)
                if tpe_done:
                    ta["tpe_of"] += 1
                    # fewer trials wins; never reaching it loses to reaching it
                    x = n if n is not None else math.inf
                    y = ttt["tpe"] if ttt.get("tpe") is not None else math.inf
                    ta["vs_tpe"][0 if x < y else 1 if x == y else 2] += 1
    out = ["## Table 2, every text task held out once (k-fold)", "",
           "Trials each method needs for its validation accuracy-top10 to reach random search's at "
           "T = %d (RS: random search's own; n/a (k): never within its k trials). The paper's "
           "criterion: T-AML within T/10 = %d trials." % (t_budget, tenth), ""] + rows + [""]
    for m in methods:
        ta = tally[m]
        if not ta["held"]:
            continue
        h = ta["held"]
        line = "%s: complete on %d held-out tasks; within T/10 on %d (%.0f%%); never reached the target on %d%s." % (
            label[m], h, ta["tenth"], 100.0 * ta["tenth"] / h, len(ta["never"]),
            (" (" + ", ".join(ta["never"]) + ")") if ta["never"] else "")
        if ta["tpe_of"]:
            w, e, l = ta["vs_tpe"]
            line += " Against TPE (%d tasks): fewer trials on %d, as many on %d, more on %d." % (ta["tpe_of"], w, e, l)
        out.append(line)
    if tpe_tenth:
        out.append("TPE: within T/10 on %d of the %d tasks where its run is complete." % (
            sum(tpe_tenth.values()), len(tpe_tenth)))
    out.append("")
    if running:
        out += ["Not complete yet: " + "; ".join(running) + ".", ""]
    out += variants_table(a, t_budget, tenth, recipes)
    for r in recipes:
        out += entropy_table(configs, "transfer." + r, label["transfer." + r], t_budget, a.window)
    print("\n".join(out))
    return 0


def variants_table(a, t_budget, tenth, recipes):
    """T-AML with other search flags (kfold-variant): per held-out task whose
    default T-AML and variant are complete, the trials to target and the test
    accuracy-top10 at T of each, and the tallies."""
    names = sorted(f[len("variant-"):-len(".flags")] for f in os.listdir(a.dir)
                   if f.startswith("variant-") and f.endswith(".flags"))
    out = []
    for v in names:
        recipe = next((r for r in recipes if v.startswith(r + "-")), None)
        if recipe is None:
            continue
        with open(os.path.join(a.dir, "variant-%s.flags" % v), encoding="utf-8") as f:
            flags = f.read().strip()
        rows, tally, running = [], {"n": 0, "tenth": [0, 0], "never": [0, 0], "better": [0, 0, 0]}, []
        for _, names_ in a.fold:
            for task in names_.split():
                base = os.path.join(a.dir, task)
                rs, p0 = base + ".random.db", "%s.transfer.%s.db" % (base, recipe)
                p1 = "%s.transfer.%s.db" % (base, v)
                if not all(os.path.isfile(p) for p in (rs, p0, p1)):
                    continue
                n_ok, cells, tops, ttt = True, [], [], []
                for p in (p0, p1):
                    tr = checked(p)
                    n = len(tr[task][0])
                    n_ok = n_ok and n >= t_budget and len(checked(rs)[task][0]) >= t_budget
                    st = status(p, rs, t_budget)[task]
                    ttt.append(st.get("trials_to_target") or None)
                    cells.append(ttt_cell(ttt[-1], n))
                    tops.append(fmt_acc(M.at_budget(tr[task][0], tr[task][1], t_budget)))
                if not n_ok:
                    running.append(task)
                    continue
                rows.append("| %s | %s | %s |" % (task, " | ".join(cells), " | ".join(tops)))
                tally["n"] += 1
                for k in (0, 1):
                    tally["tenth"][k] += ttt[k] is not None and ttt[k] <= tenth
                    tally["never"][k] += ttt[k] is None
                x, y = (math.inf if t is None else t for t in ttt)
                tally["better"][0 if y < x else 1 if y == x else 2] += 1
        if not rows and not running:
            continue
        out += ["## T-AML variant %s (`%s`)" % (v, flags), "",
                "| task | T-AML (%s): trials to target | %s: trials to target | T-AML test top10 at T | %s test top10 at T |"
                % (recipe, v, v), "| --- | ---: | ---: | ---: | ---: |"] + rows + [""]
        if tally["n"]:
            out.append("On %d tasks: within T/10 %d (T-AML) and %d (%s); never reached %d and %d; the variant "
                       "needed fewer trials on %d, as many on %d, more on %d." % (
                           tally["n"], tally["tenth"][0], tally["tenth"][1], v, tally["never"][0],
                           tally["never"][1], *tally["better"]))
        if running:
            out.append("Not complete yet: %s." % ", ".join(running))
        out.append("")
    return out


def entropy_table(configs, m, name, t_budget, window):
    """Per decision, the mean over held-out tasks of the entropy (bits) of the
    choices in consecutive windows of trials, T-AML (method m) beside AML and
    random search: how far each search narrows its sampling as it goes
    (random search's is the uniform draw's, biased low by the window's
    length)."""
    if not configs[m]:
        return []
    w = window or max(5, t_budget // 5)
    decisions = list(configs[m][0][1][0])
    starts = list(range(0, t_budget, w))
    head = " | ".join("%d-%d" % (s + 1, min(s + w, t_budget)) for s in starts)
    out = ["## The choices' entropy over trials, %s (bits, mean over held-out tasks)" % name, "",
           "Per decision, the entropy of the choices each search sampled in trials i..j, averaged over "
           "the held-out tasks with complete studies (%d): %s / AML / random search (whose figure is "
           "what a uniform draw gives in a window this short; 0 is one choice every time)." % (
               len(configs[m]), name), "",
           "| decision | log2(choices) seen | %s |" % head, "| --- | ---: |%s" % (" ---: |" * len(starts))]
    for d in decisions:
        seen = set()
        for k in (m, "aml", "random"):
            for _, cfgs in configs[k]:
                seen.update(json.dumps(c[d]) for c in cfgs)
        cells = []
        for s in starts:
            vals = []
            for k in (m, "aml", "random"):
                es = [entropy([c[d] for c in cfgs[s:s + w]]) for _, cfgs in configs[k] if len(cfgs) > s]
                vals.append("%.2f" % (sum(es) / len(es)) if es else "-")
            cells.append(" / ".join(vals))
        out.append("| %s | %.2f | %s |" % (d, math.log2(len(seen)) if seen else 0, " | ".join(cells)))
    collapsed = []
    for task, cfgs in configs[m]:
        last = cfgs[-w:]
        one = [d for d in decisions if entropy([c[d] for c in last]) == 0]
        if one:
            collapsed.append("%s: %s" % (task, ", ".join(one)))
    out += ["", "%s's decisions with a single choice in its last %d trials, per task: %s." % (
        name, w, "; ".join(collapsed) if collapsed else "none"), ""]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check-space")
    c.add_argument("--space", required=True)
    c.add_argument("--task", required=True)
    t = sub.add_parser("table")
    t.add_argument("--dir", required=True)
    t.add_argument("--t", type=int, required=True)
    t.add_argument("--fold", nargs=2, action="append", metavar=("NAME", "TASKS"), required=True)
    t.add_argument("--window", type=int, default=0)
    t.add_argument("--recipe", action="append", help="a controller recipe whose T-AML studies to show "
                   "(TASK.transfer.RECIPE.db); repeatable; default capped100")
    a = ap.parse_args()
    return cmd_check_space(a) if a.cmd == "check-space" else cmd_table(a)


if __name__ == "__main__":
    sys.exit(main())
