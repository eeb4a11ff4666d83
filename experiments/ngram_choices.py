#!/usr/bin/python3
"""The measurements behind the choices of the text-feature decisions of the
taml space (docs/child-model.md "N-gram features"): `taml train` over a grid
of configs on real tasks, one JSON line per run, resumable.

  experiments/ngram_choices.py run --grid wide --out experiments/out/ngrams-wide.jsonl
  experiments/ngram_choices.py table experiments/out/ngrams-wide.jsonl

Grids (each a base config from the multitask prior of docs/RESULTS.md, with
the decisions under study varied):
  wide      word_ngrams x char_ngrams x weighting, both towers (frozen
            en-glove-100, 3 x 128), wide learning rate 0.1 and 0.3
  tfidf     the tfidf weighting (normalised: it wants larger steps): word_ngrams
            x char_ngrams (none, 1-3, 2-4, 3-5) x wide learning rate 0.3, 1, 3
  chars     more character ranges (1-3, 2-5, 3-6, 4-6) against the wide grid's
  buckets   the bucket count (2^16, 2^18, 2^21, 2^24) at word 3 + char 2-4, tfidf, lr 1
  subwords  subwords false / true, frozen and fine-tuned, deep tower alone and
            both towers, on the Spanish, German and Italian tasks with each
            language's module (es-sg-50, de-sg-50; Italian has none: en-glove-100)
            and en-glove-100
Every run is one child trained with seed 0 by `build/bench/bench_child
configs` (the configs of a task one after another in one process, on features
computed once, as a search's workers share them; `taml train --json` gives
the same accuracies, one process per child); the score of a (task, config) is
its validation accuracy (what a search selects by) and its test accuracy.
"""
import argparse
import concurrent.futures as cf
import itertools
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = ["fortunes-es-category", "fortunes-it-category", "fortunes-de-category",
         "debian-section-es", "emoji-group-es", "sotu-president", "bible-genre-en",
         "fortunes-en-category", "wordnet-verb-supersense", "brown-genre", "wordnet-pos"]
FOREIGN = {"fortunes-es-category": "es-sg-50", "debian-section-es": "es-sg-50",
           "emoji-group-es": "es-sg-50", "fortunes-de-category": "de-sg-50",
           "fortunes-it-category": "en-glove-100"}
BASE = {"embedding": "en-glove-100", "fine_tune": False, "layers": 3, "hidden_size": 128,
        "activation": "relu", "normalization": "none", "dropout": 0.3, "deep_lr": 0.01,
        "deep_l2": 0.0001, "wide_lr": 0.1, "wide_l1": 0, "samples": 30000}


def grid(name):
    """(task, config) pairs of a grid."""
    if name == "wide":
        for t, w, c, wt, lr in itertools.product(TASKS, [1, 2, 3], ["none", "2-4", "3-5"],
                                                 ["count", "binary", "log"], [0.1, 0.3]):
            yield t, dict(BASE, word_ngrams=w, char_ngrams=c, weighting=wt, wide_lr=lr)
    elif name == "tfidf":
        for t, w, c, lr in itertools.product(TASKS, [1, 2, 3], ["none", "1-3", "2-4", "3-5"],
                                             [0.3, 1.0, 3.0]):
            yield t, dict(BASE, word_ngrams=w, char_ngrams=c, weighting="tfidf", wide_lr=lr)
    elif name == "chars":
        for t, c, wt, lr in itertools.product(TASKS, ["1-3", "2-5", "3-6", "4-6"],
                                              ["count", "log"], [0.1, 0.3]):
            yield t, dict(BASE, word_ngrams=1, char_ngrams=c, weighting=wt, wide_lr=lr)
    elif name == "buckets":
        for t, b in itertools.product(TASKS, [1 << 16, 1 << 18, 1 << 21, 1 << 24]):
            yield t, dict(BASE, word_ngrams=3, char_ngrams="2-4", weighting="tfidf", wide_lr=1.0,
                          buckets=b)
    elif name == "subwords":
        for t, mod in FOREIGN.items():
            for m, ft, sw, wide, lr in itertools.product(sorted({mod, "en-glove-100"}),
                                                         [False, True], [False, True],
                                                         [False, True], [0.01, 0.1]):
                cfg = dict(BASE, embedding=m, fine_tune=ft, subwords=sw, deep_lr=lr)
                if not wide:
                    cfg["wide_l1"] = "disable"
                yield t, cfg
    else:
        sys.exit(f"no grid {name}")


def key(task, cfg):
    return task + " " + json.dumps(cfg, sort_keys=True)


def run_task(args, task, cfgs):
    """Trains cfgs on task in one bench_child process; the result lines."""
    text = "".join(json.dumps(c) + "\n" for c in cfgs)
    p = subprocess.run([args.bench, "configs", os.path.join(args.data, task), args.modules],
                       input=text, capture_output=True, text=True)
    out = [json.loads(l) for l in p.stdout.splitlines()]
    rows = [dict(r, task=task, config=c) for r, c in zip(out, cfgs)]
    if p.returncode:
        rows.append({"task": task, "config": cfgs[len(out)], "error": p.stderr.strip()[-300:]})
    return rows


def cmd_run(args):
    done = set()
    if os.path.exists(args.out):
        for line in open(args.out):
            r = json.loads(line)
            done.add(key(r["task"], r["config"]))
    todo = {}
    for t, c in grid(args.grid):
        if key(t, c) not in done and (not args.tasks or t in args.tasks.split(",")):
            todo.setdefault(t, []).append(c)
    print(f"{sum(map(len, todo.values()))} runs to do ({len(done)} done)", file=sys.stderr)
    with open(args.out, "a") as out, cf.ThreadPoolExecutor(args.workers) as ex:
        for rows in ex.map(lambda t: run_task(args, t, todo[t]), list(todo)):
            for r in rows:
                out.write(json.dumps(r) + "\n")
            out.flush()


def label(cfg, keys):
    return " ".join(f"{k}={cfg.get(k, '-')}" for k in keys)


def cmd_table(args):
    rows = [json.loads(l) for l in open(args.jsonl)]
    rows = [r for r in rows if "error" not in r]
    keys = args.keys.split(",")
    # per task: the best (by valid) over the configs not named by keys (e.g. the learning rate)
    best = {}
    for r in rows:
        k = (r["task"], label(r["config"], keys))
        if k not in best or r["valid_acc"] > best[k]["valid_acc"]:
            best[k] = r
    tasks = sorted({t for t, _ in best})
    labels = sorted({l for _, l in best})
    print("| setting | " + " | ".join(tasks) + " | mean valid | mean test | best on | CPU s |")
    print("| --- |" + " ---: |" * (len(tasks) + 4))
    top = {t: max((best[(t, l)]["valid_acc"] for l in labels if (t, l) in best)) for t in tasks}
    for l in labels:
        cells, v, te, wins, cpu = [], [], [], 0, 0
        for t in tasks:
            r = best.get((t, l))
            if not r:
                cells.append("-")
                continue
            cells.append(f"{100 * r['valid_acc']:.1f} / {100 * r['test_acc']:.1f}")
            v.append(r["valid_acc"])
            te.append(r["test_acc"])
            wins += r["valid_acc"] == top[t]
            cpu += r["train_cpu_s"]
        print(f"| {l} | " + " | ".join(cells) +
              f" | {100 * sum(v) / len(v):.2f} | {100 * sum(te) / len(te):.2f} | {wins} | {cpu:.0f} |")
    # the marginal of each key: the mean over tasks of the best over the other keys
    for k in keys:
        vals = sorted({str(r["config"].get(k, "-")) for r in rows})
        print(f"\n{k}: the best valid (test) over everything else, mean over tasks")
        for val in vals:
            vs, ts = [], []
            for t in tasks:
                cand = [r for r in rows if r["task"] == t and str(r["config"].get(k, "-")) == val]
                if cand:
                    b = max(cand, key=lambda r: r["valid_acc"])
                    vs.append(b["valid_acc"])
                    ts.append(b["test_acc"])
            print(f"  {val}: {100 * sum(vs) / len(vs):.2f} ({100 * sum(ts) / len(ts):.2f}) over {len(vs)} tasks")


def cmd_summary(args):
    """Per task: the paper's features against the best of each weighting and
    overall; per choice: the tasks whose best config uses it, and the mean
    best with it. Rows from several grids (JSONL files) together."""
    rows = [json.loads(l) for f in args.jsonl for l in open(f)]
    rows = [r for r in rows if "error" not in r]
    tasks = [t for t in TASKS if any(r["task"] == t for r in rows)]

    def best(rs):
        return max(rs, key=lambda r: (r["valid_acc"], r["test_acc"])) if rs else None

    def cell(r):
        return f"{100 * r['valid_acc']:.1f} / {100 * r['test_acc']:.1f}" if r else "-"

    def feat(c):
        return f"{c['word_ngrams']}, {c['char_ngrams']}, {c['weighting']}, lr {c['wide_lr']:g}"

    weights = ["count", "binary", "log", "tfidf"]
    print("| task | paper's features (1, none, count) | " + " | ".join(f"best {w}" for w in weights) +
          " | best overall: word n-grams, chars, weighting, wide lr |")
    print("| --- |" + " ---: |" * (1 + len(weights)) + " --- |")
    overall = {}
    for t in tasks:
        rs = [r for r in rows if r["task"] == t]
        paper = best([r for r in rs if r["config"]["word_ngrams"] == 1 and
                      r["config"]["char_ngrams"] == "none" and r["config"]["weighting"] == "count"])
        per = [best([r for r in rs if r["config"]["weighting"] == w]) for w in weights]
        overall[t] = best(rs)
        print(f"| {t} | {cell(paper)} | " + " | ".join(cell(r) for r in per) +
              f" | {cell(overall[t])}: {feat(overall[t]['config'])} |")
    for k in ["word_ngrams", "char_ngrams", "weighting"]:
        vals = sorted({r["config"][k] for r in rows}, key=str)
        print(f"\n{k}: tasks whose best config uses it; mean over tasks of the best valid / test with it")
        for v in vals:
            bs = [best([r for r in rows if r["task"] == t and r["config"][k] == v]) for t in tasks]
            bs = [b for b in bs if b]
            wins = sum(overall[t]["config"][k] == v for t in tasks)
            print(f"  {v}: best on {wins}; {100 * sum(b['valid_acc'] for b in bs) / len(bs):.2f} / "
                  f"{100 * sum(b['test_acc'] for b in bs) / len(bs):.2f} over {len(bs)} tasks")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--grid", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--tasks", default="")
    r.add_argument("--bench", default=os.path.join(ROOT, "build", "bench", "bench_child"))
    r.add_argument("--data", default=os.path.join(ROOT, "data", "tasks"))
    r.add_argument("--modules", default=os.path.join(ROOT, "data", "modules"))
    r.add_argument("--workers", type=int, default=2)
    t = sub.add_parser("table")
    t.add_argument("jsonl")
    t.add_argument("--keys", default="word_ngrams,char_ngrams,weighting")
    m = sub.add_parser("summary")
    m.add_argument("jsonl", nargs="+")
    args = ap.parse_args()
    {"run": cmd_run, "table": cmd_table, "summary": cmd_summary}[args.cmd](args)


if __name__ == "__main__":
    main()
