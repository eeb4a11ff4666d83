#!/usr/bin/python3
"""experiments/tables.py - the tables of docs/RESULTS.md from the protocol's
outputs under OUT (experiments/Makefile), written to OUT/tables.md. A table
whose studies are missing or unfinished says so instead of showing numbers.

  Table 4 analogue   pre-training: test accuracy-top10 +- 2 s.e.m. of random
                     search, AML and multitask AML after PRE trials per task.
  Table 2 analogue   held-out: trials each method needs to reach random
                     search's validation accuracy-top10 at T (`taml status
                     --against`; TPE through metrics.py, the same rule).
  Table 3 analogue   held-out: test accuracy-top10 +- 2 s.e.m. after FIXED
                     trials.
  Figure 5 analogue  the embedding module chosen by the transfer searches on
                     the Spanish, German and Italian tasks, per window of trials.
  Figure 6 (part)    per pre-training task, the winning configurations' choices
                     (the task-embedding similarity itself is `taml report`'s).
  Side by side       fastText autotune, TF-IDF + LR, and taml's best model.

The per-trial accuracies are read from the study files (SQLite, read only;
schema in src/store/store.h) for the fixed-budget columns; every full-budget
number computed here is checked against `taml status --json` (the C metrics),
and the script fails if they differ, so these tables cannot drift from taml.
"""
import argparse
import glob
import html
import json
import math
import os
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics as M  # noqa: E402
import tasks as T  # noqa: E402
import tpe as TPE  # noqa: E402


def status(path, against=None, budget=0):
    cmd = [T.taml_bin(), "status", path, "--json"]
    if against:
        cmd += ["--against", against]
    if budget:
        cmd += ["--budget", str(budget)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.decode().strip()))
    return {r["task"]: r for r in json.loads(p.stdout)["tasks"]}


def study_trials(path):
    """{task: (valid list, test list, config list)} of the finished trials,
    in id order, as report/study.c loads them (failed and pruned: NaN)."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        names = dict(con.execute("SELECT idx, name FROM tasks"))
        out = {n: ([], [], []) for n in names.values()}
        for task, state, v, t, cfg in con.execute(
                "SELECT task, state, valid_acc, test_acc, config_json FROM trials ORDER BY id"):
            if state in ("pending", "running"):
                continue
            nan = float("nan")
            if state in ("failed", "pruned"):  # they spent a trial, never rank
                v = t = None
            out[names[task]][0].append(nan if v is None else v)
            out[names[task]][1].append(nan if t is None else t)
            out[names[task]][2].append(json.loads(cfg))
        return out
    finally:
        con.close()


def close(a, b):
    """Equal to 1e-12, NaN (metrics.py) and null (taml status JSON) alike."""
    a = float("nan") if a is None else a
    b = float("nan") if b is None else b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-12


def checked(path):
    """study_trials, after checking metrics.py on them equals `taml status`."""
    tr = study_trials(path)
    st = status(path)
    for task, (v, t, _) in tr.items():
        if not v:
            continue
        p = M.at_budget(v, t, 0)
        s = st[task]
        if not (close(p["valid"], s["top_valid"]) and close(p["test"], s["top_test"])):
            raise SystemExit("tables: %s %s: metrics.py gives %r / %r, taml status %r / %r" % (
                path, task, p["valid"], p["test"], s["top_valid"], s["top_test"]))
    return tr


def fmt_acc(p, sem=True):
    if p is None or math.isnan(p["test"]):
        return "-"
    s = "%.1f" % (100 * p["test"])
    if sem and not math.isnan(p["test_sem"]):
        s += " ± %.1f" % (200 * p["test_sem"])
    if p["count"] < M.TOP:
        s += " (top %d)" % p["count"]
    return s


def complete(tr, task, n):
    return task in tr and len(tr[task][0]) >= n


def table4(out, pre, tasks):
    paths = {m: os.path.join(out, "pretrain", m + ".db") for m in ("random", "aml", "multitask")}
    lines = ["## Pre-training (Table 4 analogue)", ""]
    have = {m: checked(p) for m, p in paths.items() if os.path.isfile(p)}
    if not have:
        return lines + ["Not run yet (`make -C experiments pretrain`).", ""]
    lines += ["Test accuracy-top10 (%%) ± 2 s.e.m. (valid accuracy-top10 in brackets) after "
              "the first n trials of each task, the same n for the three methods: n = %d, or the "
              "multitask study's count of the task when smaller (it draws a task per trial, so "
              "its tasks get unequal shares of its %d x tasks trials)." % (pre, pre), "",
              "| task | n | RS | AML | M-AML | best |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    wins = {m: 0 for m in ("random", "aml", "multitask")}
    for task in tasks:
        mt = have.get("multitask")
        n = pre
        if mt and task in mt and mt[task][0]:
            n = min(pre, len(mt[task][0]))
        cells, tops = [], {}
        for m in ("random", "aml", "multitask"):
            tr = have.get(m)
            if not tr or task not in tr or not tr[task][0]:
                cells.append("-")
                continue
            v, t, _ = tr[task]
            p = M.at_budget(v, t, n)
            c = fmt_acc(p) + " (%.1f)" % (100 * p["valid"])
            if len(v) < n:
                c += " [%d trials]" % len(v)
            cells.append(c)
            tops[m] = p["test"]
        best = max(tops, key=lambda m: tops[m]) if len(tops) == 3 else ""
        if best:
            wins[best] += 1
        names = {"random": "RS", "aml": "AML", "multitask": "M-AML"}
        lines.append("| %s | %d | %s | %s |" % (task, n, " | ".join(cells), names.get(best, "")))
    if all(m in have for m in wins):
        lines += ["", "Best test accuracy-top10 on %d tasks for RS, %d for AML, %d for M-AML." % (
            wins["random"], wins["aml"], wins["multitask"])]
    return lines + [""]


def heldout(out, t_budget, fixed, tasks):
    lines2 = ["## Transfer: trials to target (Table 2 analogue)", ""]
    lines3 = ["## Transfer: test accuracy-top10 at a fixed budget (Table 3 analogue)", ""]
    rows2, rows3 = [], []
    tally = {"tenth": 0, "tenth_of": 0, "t_vs_aml": [0, 0, 0]}
    for task in tasks:
        base = os.path.join(out, "heldout", task)
        rs = base + ".random.db"
        if not os.path.isfile(rs):
            continue
        rtr = checked(rs)
        if not complete(rtr, task, t_budget):
            rows2.append("| %s | random search has %d of %d trials | | | |" % (task, len(rtr.get(task, ([],))[0]), t_budget))
            continue
        cells2, cells3 = [], []
        ttt = {}
        st_rs = status(rs, rs, t_budget)[task]
        cells2.append("%s" % (st_rs.get("random_trials_to_target") or "n/a"))
        cells3.append(fmt_acc(M.at_budget(rtr[task][0], rtr[task][1], fixed)))
        for m in ("aml", "transfer"):
            p = "%s.%s.db" % (base, m)
            if not os.path.isfile(p):
                cells2.append("-")
                cells3.append("-")
                continue
            tr = checked(p)
            st = status(p, rs, t_budget)[task]
            n = len(tr[task][0])
            ttt[m] = st.get("trials_to_target") or None
            cells2.append(("%s" % st["trials_to_target"]) if st.get("trials_to_target") else "n/a (%d)" % n)
            cells3.append(fmt_acc(M.at_budget(tr[task][0], tr[task][1], fixed)) if n >= fixed else "[%d trials]" % n)
        tp = os.path.join(out, "tpe", task + ".tpe.jsonl")
        if os.path.isfile(tp):
            trials = TPE.read_trials(tp)
            v, t = TPE.accs(trials)
            n = M.trials_to_target(v, st_rs["target"])
            cells2.append(("%d" % n) if n else "n/a (%d)" % len(v))
            cells3.append(fmt_acc(M.at_budget(v, t, fixed)) if len(v) >= fixed else "[%d trials]" % len(v))
        else:
            cells2.append("-")
            cells3.append("-")
        rows2.append("| %s | %.1f | %s |" % (task, 100 * st_rs["target"], " | ".join(cells2)))
        if "transfer" in ttt:
            tally["tenth_of"] += 1
            tally["tenth"] += ttt["transfer"] is not None and ttt["transfer"] <= t_budget // 10
            if "aml" in ttt:  # fewer trials to target wins; never reaching it loses to reaching it
                a, b = ttt["transfer"] or t_budget + 1, ttt["aml"] or t_budget + 1
                tally["t_vs_aml"][0 if a < b else 1 if a == b else 2] += 1
        rows3.append("| %s | %s |" % (task, " | ".join(cells3)))
    if not rows2:
        return (lines2 + ["Not run yet (`make -C experiments heldout`).", ""],
                lines3 + ["Not run yet.", ""])
    summary2 = []
    if tally["tenth_of"]:
        summary2 = ["T-AML reached the target within T/10 = %d trials on %d of %d tasks; against "
                    "AML it needed fewer trials on %d, as many on %d, more on %d (a method that "
                    "never reaches the target counts as needing T + 1)." % (
                        t_budget // 10, tally["tenth"], tally["tenth_of"], *tally["t_vs_aml"]), ""]
    lines2 += ["Trials each method needs until its validation accuracy-top10 reaches random "
               "search's at T = %d (the target column, %%); n/a (k): not reached in its k trials. "
               "RS: random search's own count (the paper's RS column)." % t_budget, "",
               "| task | target | RS | AML | T-AML | TPE (Optuna) |",
               "| --- | ---: | ---: | ---: | ---: | ---: |"] + rows2 + [""]
    lines2 += summary2
    lines3 += ["Test accuracy-top10 (%%) ± 2 s.e.m. after the first %d trials." % fixed, "",
               "| task | RS | AML | T-AML | TPE (Optuna) |", "| --- | ---: | ---: | ---: | ---: |"] + rows3 + [""]
    lines3 += early_trials(out, tasks, t_budget)
    return lines2, lines3


def trial_costs(path):
    """{task: (valid list, child seconds list)} of the finished trials in id order."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        names = dict(con.execute("SELECT idx, name FROM tasks"))
        out = {n: ([], []) for n in names.values()}
        for task, state, v, secs in con.execute(
                "SELECT task, state, valid_acc, train_seconds FROM trials ORDER BY id"):
            if state in ("pending", "running"):
                continue
            out[names[task]][0].append(float("nan") if v is None or state == "pruned" else v)
            out[names[task]][1].append(secs or 0.0)
        return out
    finally:
        con.close()


def early_trials(out, tasks, t_budget, first=20):
    """What a method's first trials are worth (the transferred prior against
    the uniform one) and what its trials cost: mean validation accuracy of the
    first `first` trials, and child seconds per trial over the whole study."""
    rows = []
    for task in tasks:
        cells, tcells = [], []
        rs = os.path.join(out, "heldout", "%s.random.db" % task)
        tgt = None
        if os.path.isfile(rs):
            rv = trial_costs(rs).get(task, ([], []))[0]
            try:
                tgt = M.target(rv, t_budget)
            except ValueError:
                tgt = None
        for m in ("random", "aml", "transfer"):
            p = os.path.join(out, "heldout", "%s.%s.db" % (task, m))
            if not os.path.isfile(p):
                cells.append("-")
                tcells.append("-")
                continue
            v, secs = trial_costs(p).get(task, ([], []))
            head = [x for x in v[:first] if not math.isnan(x)]
            cells.append("%.1f / %.2f s" % (100 * sum(head) / len(head), sum(secs) / len(secs))
                         if head and secs else "-")
            n = M.trials_to_target(v, tgt) if tgt is not None else 0
            tcells.append("%.0f s" % sum(secs[:n]) if n else "n/a (%.0f s)" % sum(secs))
        if any(c != "-" for c in cells):
            rows.append("| %s | %s | %s |" % (task, " | ".join(cells), " | ".join(tcells)))
    if not rows:
        return []
    return ["Mean validation accuracy (%%) of each method's first %d trials / child training "
            "seconds per trial over the study (one core each): the quality of the starting "
            "policy and the price of its choices; then the child seconds each method spent "
            "until it reached the target of Table 2 (n/a: not reached, with what it spent)." % first, "",
            "| task | RS | AML | T-AML | RS to target | AML to target | T-AML to target |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"] + rows + [""]


def variants(out, t_budget, fixed, tasks):
    """The transfer studies re-run with other search flags (`make -C
    experiments variant`), against the default T-AML of Table 2."""
    lines = []
    for vdir in sorted(glob.glob(os.path.join(out, "variants", "*"))):
        name = os.path.basename(vdir)
        flags = ""
        if os.path.isfile(os.path.join(vdir, "FLAGS")):
            with open(os.path.join(vdir, "FLAGS")) as f:
                flags = f.read().strip()
        rows, tally = [], [0, 0, 0, 0]
        for task in tasks:
            p = os.path.join(vdir, task + ".transfer.db")
            rs = os.path.join(out, "heldout", task + ".random.db")
            base = os.path.join(out, "heldout", task + ".transfer.db")
            if not (os.path.isfile(p) and os.path.isfile(rs) and os.path.isfile(base)):
                continue
            vt = checked(p)
            if len(vt.get(task, ([],))[0]) < t_budget:
                rows.append("| %s | | | | [%d of %d trials] | | |" % (task, len(vt.get(task, ([],))[0]), t_budget))
                continue
            cells = []
            got = []
            for q, tr in ((base, checked(base)), (p, vt)):
                st = status(q, rs, t_budget)[task]
                v, t, _ = tr[task]
                n = st.get("trials_to_target")
                got.append(n or t_budget + 1)
                head = [x for x in v[:20] if not math.isnan(x)]
                cells.append("%s | %s | %s" % (
                    n or "n/a (%d)" % len(v),
                    fmt_acc(M.at_budget(v, t, fixed)) if len(v) >= fixed else "[%d trials]" % len(v),
                    "%.1f" % (100 * sum(head) / len(head)) if head else "-"))
            tally[0 if got[1] < got[0] else 1 if got[1] == got[0] else 2] += 1
            tally[3] += got[1] <= t_budget // 10
            rows.append("| %s | %s |" % (task, " | ".join(cells)))
        if not rows:
            continue
        lines += ["## Variant %s: T-AML with `%s`" % (name, flags), "",
                  "The transfer studies again with these `taml search` flags (`make -C experiments "
                  "variant`), against the default T-AML: trials to target (T = %d), test "
                  "accuracy-top10 after %d trials, mean validation accuracy of the first 20 "
                  "trials." % (t_budget, fixed), "",
                  "| task | T-AML to target | test top10 | first 20 | %s to target | test top10 | first 20 |" % name,
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"] + rows + [
                  "", "The variant needed fewer trials than the default on %d tasks, as many on %d, "
                  "more on %d; it reached the target within T/10 on %d." % tuple(tally), ""]
    return lines


def figure5(out, tasks, window):
    lines = ["## Across languages (Figure 5 analogue)", "",
             "Held-out tasks in Spanish, German or Italian (meta.txt language): %s." % ", ".join(tasks), ""]
    rows = []
    for task in tasks:
        p = os.path.join(out, "heldout", task + ".transfer.db")
        if not os.path.isfile(p):
            continue
        _, _, cfgs = study_trials(p)[task]
        mods = sorted({c["embedding"] for c in cfgs})
        for w in range(0, len(cfgs), window):
            part = [c["embedding"] for c in cfgs[w:w + window]]
            share = {m: part.count(m) / len(part) for m in mods}
            top = sorted(share.items(), key=lambda kv: -kv[1])[:3]
            rows.append("| %s | %d-%d | %s |" % (task, w + 1, w + len(part),
                                                 ", ".join("%s %.0f%%" % (m, 100 * s) for m, s in top)))
    if not rows:
        return lines + ["Not run yet (the transfer studies of the es, de and it tasks).", ""]
    return lines + ["Share of trials choosing each embedding module (three most chosen) per "
                    "window of %d trials, transfer from the English-trained controller; the "
                    "probabilities themselves are plotted by `taml report`." % window, "",
                    "| task | trials | modules |", "| --- | --- | --- |"] + rows + [""]


def figure6(out, tasks):
    lines = ["## Task similarity (Figure 6 analogue)", ""]
    p = os.path.join(out, "pretrain", "multitask.db")
    if not os.path.isfile(p):
        return lines + ["Not run yet (the multitask study).", ""]
    tr = study_trials(p)
    lines += ["The 10 best configurations (by validation accuracy) of each pre-training task "
              "in the multitask study: the most common choice of each decision among them. "
              "Tasks that the controller embeds close together (the cosine matrix of "
              "`taml report`) should share choices.", ""]
    decisions = None
    rows = []
    tops = {}
    for task in tasks:
        if task not in tr or not tr[task][0]:
            continue
        v, _, cfgs = tr[task]
        order = sorted(range(len(v)), key=lambda i: (-(v[i] if not math.isnan(v[i]) else -1), i))[:M.TOP]
        best = [cfgs[i] for i in order]
        tops[task] = best
        decisions = decisions or list(best[0])
        modal = []
        for d in decisions:
            vals = [json.dumps(c[d]) for c in best]
            m = max(set(vals), key=lambda x: (vals.count(x), x))
            modal.append("%s (%d)" % (m.strip('"'), vals.count(m)))
        rows.append("| %s | %s |" % (task, " | ".join(modal)))
    if not rows:
        return lines + ["No finished trials yet.", ""]
    lines += ["| task | " + " | ".join(decisions) + " |",
              "| --- |" + " --- |" * len(decisions)] + rows + [""]
    return lines + similarity_vs_winners(out, tops, decisions)


def report_similarity(path):
    """The multitask controller's task-embedding cosines, as `taml report`
    drew them (its Figure 6 heat map: one <title>A / B: cosine</title> per
    cell), from the report file; {} when the file or the map is missing."""
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    i = doc.find('id="similarity"')
    j = doc.find("</svg>", i)
    if i < 0 or j < 0:
        return {}
    sim = {}
    for t in re.findall(r"<title>([^<]*)</title>", doc[i:j]):
        m = re.match(r"(.+?) / (.+): (-?[0-9.]+)$", html.unescape(t))
        if m:
            sim[(m.group(1), m.group(2))] = float(m.group(3))
    return sim


def overlap(a, b, decisions):
    """How alike two sets of configurations are: per decision, the overlap
    sum_choice min(share in a, share in b) of their choice shares, averaged
    over the decisions (1: the same mix of choices, 0: disjoint)."""
    tot = 0.0
    for d in decisions:
        va = [json.dumps(c[d]) for c in a]
        vb = [json.dumps(c[d]) for c in b]
        tot += sum(min(va.count(x) / len(va), vb.count(x) / len(vb)) for x in set(va) | set(vb))
    return tot / len(decisions)


def ranks(x):
    order = sorted(range(len(x)), key=lambda i: x[i])
    r = [0.0] * len(x)
    i = 0
    while i < len(order):  # ties share their mean rank
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sx = math.sqrt(sum((a - mx) ** 2 for a in x))
    sy = math.sqrt(sum((b - my) ** 2 for b in y))
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / (sx * sy) if sx and sy else float("nan")


def similarity_vs_winners(out, tops, decisions):
    """Figure 6's question: do tasks the controller embeds alike share their
    winning configurations? The cosine of each pair of task embeddings (from
    out/pretrain.html, `make -C experiments report`) against the overlap of the
    pair's 10 best configurations."""
    sim = report_similarity(os.path.join(out, "pretrain.html"))
    names = [t for t in tops if (t, t) in sim]
    if len(names) < 3:
        return ["The cosine matrix is in `experiments/out/pretrain.html` once `make -C "
                "experiments report` has run (not yet).", ""]
    lines = ["Cosine similarity of the multitask controller's task embeddings (from the heat map "
             "of `taml report`, out/pretrain.html):", "",
             "| | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    for a in names:
        lines.append("| %s | %s |" % (a, " | ".join("%.2f" % sim[(a, b)] for b in names)))
    pairs = [(sim[(a, b)], overlap(tops[a], tops[b], decisions), a, b)
             for i, a in enumerate(names) for b in names[i + 1:]]
    cos = [p[0] for p in pairs]
    ov = [p[1] for p in pairs]
    pairs.sort(reverse=True)
    lines += ["", "Per pair of tasks: the cosine against the overlap of their 10 best "
              "configurations (per decision, the shared share of choices, averaged over the %d "
              "decisions). Over the %d pairs: Pearson r = %.2f, Spearman rho = %.2f. Most "
              "similar pairs: %s. Least: %s." % (
                  len(decisions), len(pairs), pearson(cos, ov), pearson(ranks(cos), ranks(ov)),
                  "; ".join("%s / %s (cos %.2f, overlap %.2f)" % (a, b, c, o) for c, o, a, b in pairs[:3]),
                  "; ".join("%s / %s (cos %.2f, overlap %.2f)" % (a, b, c, o) for c, o, a, b in pairs[-3:])),
              ""]
    return lines


def side_by_side(out, tasks):
    lines = ["## Side by side: fastText, TF-IDF + LR, taml", ""]
    rows = []
    for task in tasks:
        res = {}
        for m in ("fasttext", "tfidf"):
            p = os.path.join(out, "baselines", "%s.%s.json" % (task, m))
            if os.path.isfile(p):
                with open(p) as f:
                    res[m] = json.load(f)
        best = None
        for p in sorted(glob.glob(os.path.join(out, "heldout", task + ".*.db")) +
                        glob.glob(os.path.join(out, "pretrain", "*.db"))):
            st = status(p)
            r = st.get(task)
            if r and r.get("best_valid") is not None and (best is None or r["best_valid"] > best[0]):
                best = (r["best_valid"], r["best_test"], os.path.basename(p))
        if not res and not best:
            continue
        ft, lr = res.get("fasttext"), res.get("tfidf")
        rows.append("| %s | %s | %s | %s |" % (
            task,
            "%.1f (%.0f s)" % (100 * ft["test_acc"], ft["wall_s"]) if ft else "-",
            "%.1f (%.1f s)" % (100 * lr["test_acc"], lr["wall_s"]) if lr else "-",
            "%.1f (valid %.1f; %s)" % (100 * best[1], 100 * best[0], best[2]) if best else "-"))
    if not rows:
        return lines + ["Not run yet (`make -C experiments baselines`).", ""]
    return lines + ["Test accuracy (%) and wall time. taml: the test accuracy of the trial with the "
                    "best validation accuracy over all of the task's studies.", "",
                    "| task | fastText autotune | TF-IDF + LR | taml best model |",
                    "| --- | ---: | ---: | ---: |"] + rows + [""]


def language(task_dir):
    """The language= of a task's meta.txt, or None."""
    try:
        with open(os.path.join(task_dir, "meta.txt"), encoding="utf-8") as f:
            for line in f:
                k, eq, v = line.partition("=")
                if eq and k.strip() == "language":
                    return v.strip()
    except FileNotFoundError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pre-trials", type=int, required=True)
    ap.add_argument("--t", type=int, required=True)
    ap.add_argument("--fixed", type=int, required=True)
    ap.add_argument("--pretrain", required=True, help="space-separated task names")
    ap.add_argument("--heldout", required=True, help="space-separated task names")
    ap.add_argument("--window", type=int, default=25)
    ap.add_argument("--data", default=os.environ.get("TAML_DATA", os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "tasks")))
    a = ap.parse_args()
    pre, held = a.pretrain.split(), a.heldout.split()
    lang = [t for t in held if language(os.path.join(a.data, t)) in ("es", "de", "it")]
    parts = table4(a.out, a.pre_trials, pre)
    l2, l3 = heldout(a.out, a.t, a.fixed, held)
    parts += l2 + l3 + variants(a.out, a.t, a.fixed, held)
    parts += figure5(a.out, lang, a.window) + figure6(a.out, pre) + side_by_side(a.out, pre + held)
    text = "\n".join(parts)
    path = os.path.join(a.out, "tables.md")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    print(text)


if __name__ == "__main__":
    main()
