#!/usr/bin/python3
"""experiments/baselines.py - what a user would pick instead of taml, on the
same splits: fastText supervised with its autotune (Debian fasttext) and
TF-IDF + logistic regression (python3-sklearn), test accuracy and wall time
per task (issue 8, "Side by side").

Both read the task through tasks.py: taml's split rule and taml's tokens
(`taml embed tokenise`), so the three methods see the same examples and the
same words. Each method tunes on the validation split only and is trained on
the train split only (as a taml child is), then scored once on test.

  fastText: `fasttext supervised -input train -autotune-validation valid
            -autotune-duration D -thread 1` (labels as __label__<class index>;
            the autotune's own metric, f1 over all labels), then
            `fasttext predict` on the test texts; accuracy = top-1 label equal.
            The autotune is budgeted in time, so it is not deterministic.
  TF-IDF + LR: TfidfVectorizer over taml's tokens (unigrams, sublinear tf,
            min_df 1), LogisticRegression (lbfgs, multinomial, max_iter 2000),
            C from {0.01, 0.1, 1, 10, 100} by validation accuracy (ties: the
            smaller C), fitted on train in that order with warm starts; the
            chosen C's model is scored on test.

Resumable: one JSON file per (task, method) under OUT/baselines/, skipped when
present (--force re-runs). At the end the markdown table of every result
present is written to OUT/baselines.md and printed.

usage: experiments/baselines.py [--out DIR] [--data DIR] [--ft-duration S]
                                [--only fasttext|tfidf] [--force] [TASK ...]
TASK names default to the text tasks of issue 8 found under --data.
"""
import argparse
import copy
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# One BLAS thread: the machine is shared, and every method here gets one
# core (fastText is run with -thread 1).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tasks as T  # noqa: E402

# Issue 8's pre-training and held-out text tasks, in its order.
PRETRAIN = ["fortunes-en-category", "wordnet-noun-supersense", "sotu-party", "spamassassin",
            "afinn-111-valence", "debian-section-en", "emoji-group-en", "wordnet-verb-supersense"]
HELDOUT = ["brown-genre", "sotu-president", "opinion-lexicon-polarity", "fortunes-es-category",
           "fortunes-de-category", "fortunes-it-category", "fortunes-langid", "wordnet-pos",
           "bible-genre-en", "emoji-group-es", "debian-section-es"]
C_GRID = [0.01, 0.1, 1.0, 10.0, 100.0]


def accuracy(pred, gold):
    return sum(p == g for p, g in zip(pred, gold)) / len(gold) if gold else float("nan")


def run_fasttext(splits, duration, workdir):
    classes = sorted({l for rows in splits.values() for l, _ in rows})
    index = {c: i for i, c in enumerate(classes)}
    paths = {}
    for name, rows in splits.items():
        paths[name] = os.path.join(workdir, name + ".txt")
        with open(paths[name], "w", encoding="utf-8") as f:
            for label, toks in rows:
                f.write("__label__%d %s\n" % (index[label], " ".join(toks)))
    test_text = os.path.join(workdir, "test-text.txt")
    with open(test_text, "w", encoding="utf-8") as f:
        for _, toks in splits["test"]:
            f.write(" ".join(toks) + "\n")
    model = os.path.join(workdir, "model")
    t0 = time.monotonic()
    proc = subprocess.Popen(["fasttext", "supervised", "-input", paths["train"], "-output", model,
                             "-autotune-validation", paths["valid"], "-autotune-duration",
                             str(duration), "-thread", "1", "-verbose", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Debian's fastText 0.9.2 starts its autotune timer thread before it sets
    # the flag the thread tests; when the thread runs first it ends at once
    # and the search never stops (seen here: a 10 s autotune still searching
    # after 10 minutes). SIGINT is fastText's own way to end an autotune
    # early: it stops the search as the timer would, then trains the best
    # arguments and saves the model. So at the duration (plus a second for
    # the timer's own 0.5 s tick) the script sends it.
    interrupted = False
    try:
        proc.wait(timeout=duration + 1)
    except subprocess.TimeoutExpired:
        interrupted = True
        proc.send_signal(signal.SIGINT)
        proc.wait()
    if proc.returncode != 0:
        raise RuntimeError("fasttext supervised exited with status %d" % proc.returncode)
    t_train = time.monotonic() - t0
    out = subprocess.run(["fasttext", "predict", model + ".bin", test_text, "1"], check=True,
                         stdout=subprocess.PIPE).stdout.decode("utf-8").split("\n")
    wall = time.monotonic() - t0
    if out and out[-1] == "":
        out.pop()
    if len(out) != len(splits["test"]):
        raise RuntimeError("fasttext predict gave %d lines for %d texts" % (len(out), len(splits["test"])))
    pred = [int(l.split()[0][len("__label__"):]) if l.strip() else -1 for l in out]
    gold = [index[l] for l, _ in splits["test"]]
    # The hyperparameters the autotune chose, from the saved model.
    args = subprocess.run(["fasttext", "dump", model + ".bin", "args"], stdout=subprocess.PIPE,
                          check=False).stdout.decode("utf-8", "replace")
    chosen = dict(l.split(None, 1) for l in args.splitlines() if len(l.split(None, 1)) == 2)
    keep = {k: chosen[k] for k in ("dim", "epoch", "lr", "wordNgrams", "minn", "maxn", "bucket",
                                   "minCount", "loss", "dsub") if k in chosen}
    return {"test_acc": accuracy(pred, gold), "wall_s": wall, "train_s": t_train,
            "settings": {"autotune_duration_s": duration, "threads": 1, "chosen": keep,
                         "ended_by_sigint": interrupted},
            "model_bytes": os.path.getsize(model + ".bin")}


def run_tfidf(splits):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    t0 = time.monotonic()
    vec = TfidfVectorizer(analyzer=lambda toks: toks, sublinear_tf=True)
    x = {n: None for n in splits}
    x["train"] = vec.fit_transform([tk for _, tk in splits["train"]])
    x["valid"] = vec.transform([tk for _, tk in splits["valid"]])
    x["test"] = vec.transform([tk for _, tk in splits["test"]])
    y = {n: [l for l, _ in rows] for n, rows in splits.items()}
    valid_by_c = {}
    best = None
    # C ascending with warm starts: each fit starts from the previous, more
    # regularised optimum; the optimum is the same, but weakly regularised
    # fits (C = 100) need far fewer lbfgs iterations (the first version, cold
    # starts, spent over 20 minutes on one 12,000-text task on the loaded
    # machine).
    clf = LogisticRegression(max_iter=2000, warm_start=True)
    for c in sorted(C_GRID):
        clf.set_params(C=c)
        clf.fit(x["train"], y["train"])
        acc = accuracy(list(clf.predict(x["valid"])), y["valid"])
        valid_by_c[str(c)] = acc
        if best is None or acc > best[1]:
            best = (c, acc, copy.deepcopy(clf))
    c, valid_acc, clf = best
    test_acc = accuracy(list(clf.predict(x["test"])), y["test"])
    return {"test_acc": test_acc, "valid_acc": valid_acc, "wall_s": time.monotonic() - t0,
            "settings": {"C": c, "valid_by_C": valid_by_c, "features": x["train"].shape[1]}}


def table(out_dir, names):
    rows = ["| task | classes | train / valid / test | majority (test) | fastText autotune test acc | "
            "fastText wall s | TF-IDF + LR test acc | TF-IDF + LR wall s | LR C |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in names:
        res = {}
        for m in ("fasttext", "tfidf"):
            p = os.path.join(out_dir, "baselines", "%s.%s.json" % (name, m))
            if os.path.isfile(p):
                with open(p) as f:
                    res[m] = json.load(f)
        if not res:
            continue
        info = next(iter(res.values()))
        ft, lr = res.get("fasttext"), res.get("tfidf")
        rows.append("| %s | %d | %d / %d / %d | %.1f%% | %s | %s | %s | %s | %s |" % (
            name, info["classes"], info["n_train"], info["n_valid"], info["n_test"],
            100 * info["test_majority"],
            "%.1f%%" % (100 * ft["test_acc"]) if ft else "-", "%.0f" % ft["wall_s"] if ft else "-",
            "%.1f%%" % (100 * lr["test_acc"]) if lr else "-", "%.1f" % lr["wall_s"] if lr else "-",
            "%g" % lr["settings"]["C"] if lr else "-"))
    return "\n".join(rows) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "out"))
    ap.add_argument("--data", default=os.environ.get("TAML_DATA", os.path.join(os.path.dirname(here), "data", "tasks")))
    ap.add_argument("--ft-duration", type=int, default=60, help="fastText autotune seconds per task")
    ap.add_argument("--only", choices=["fasttext", "tfidf"])
    ap.add_argument("--force", action="store_true")
    ap.add_argument("tasks", nargs="*")
    a = ap.parse_args()
    names = a.tasks or [n for n in PRETRAIN + HELDOUT if T.is_text_task(os.path.join(a.data, n))]
    if not names:
        sys.exit("baselines: no text tasks under %s (run `taml data fetch all`)" % a.data)
    if shutil.which("fasttext") is None and a.only != "tfidf":
        sys.exit("baselines: no fasttext command (scripts/setup extra installs it)")
    os.makedirs(os.path.join(a.out, "baselines"), exist_ok=True)
    methods = [a.only] if a.only else ["fasttext", "tfidf"]
    for name in names:
        todo = [m for m in methods
                if a.force or not os.path.isfile(os.path.join(a.out, "baselines", "%s.%s.json" % (name, m)))]
        if not todo:
            print("%-26s done (skipped)" % name, flush=True)
            continue
        task_dir = os.path.join(a.data, name)
        t0 = time.monotonic()
        splits = T.tokenised_splits(task_dir)
        t_tok = time.monotonic() - t0
        test_labels = [l for l, _ in splits["test"]]
        train_labels = [l for l, _ in splits["train"]]
        majority = max(set(train_labels), key=lambda c: (train_labels.count(c), c))
        info = {"task": name, "classes": len({l for rows in splits.values() for l, _ in rows}),
                "n_train": len(splits["train"]), "n_valid": len(splits["valid"]),
                "n_test": len(splits["test"]), "tokenise_s": t_tok,
                "test_majority": accuracy([majority] * len(test_labels), test_labels),
                "machine": "%s, %d cores (shared with other jobs)" % (platform.node(), os.cpu_count()),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        for m in todo:
            if m == "fasttext":
                with tempfile.TemporaryDirectory(prefix="taml-ft-") as tmp:
                    res = run_fasttext(splits, a.ft_duration, tmp)
            else:
                res = run_tfidf(splits)
            res.update(info, method=m, finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            path = os.path.join(a.out, "baselines", "%s.%s.json" % (name, m))
            with open(path + ".tmp", "w") as f:
                json.dump(res, f, indent=1, sort_keys=True)
            os.replace(path + ".tmp", path)
            print("%-26s %-8s test %.4f  wall %.1f s" % (name, m, res["test_acc"], res["wall_s"]), flush=True)
    md = table(a.out, names)
    with open(os.path.join(a.out, "baselines.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
