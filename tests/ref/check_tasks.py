#!/usr/bin/python3
"""Cross-checks `taml data info --json` against the reference implementation's
loading rules (anchors/torch_child.py: read_lines, load_task, tokenize) on
real text task directories. Not part of `make test` (needs python3 and the
fetched tasks). Usage, from the repository root:
    python3 tests/ref/check_tasks.py data/tasks/*
For each text task it prints the counts both sides give and OK or DIFF, and
for a DIFF the first rows whose tokens differ."""
import json
import os
import re
import subprocess
import sys

TOKEN = re.compile(r"[^\W_]+")


def tokenize(text):
    return TOKEN.findall(text.lower())


def read_lines(path):
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [l.decode("utf-8", "replace").partition("\t")[::2] for l in lines]


def load_task(task_dir):
    names = [os.path.join(task_dir, s + ".tsv") for s in ("train", "valid", "test")]
    if all(os.path.isfile(p) for p in names):
        parts = [read_lines(p) for p in names]
        rows, n_train, n_valid = parts[0] + parts[1] + parts[2], len(parts[0]), len(parts[1])
    else:
        rows = read_lines(os.path.join(task_dir, "all.tsv"))
        n_train, n_valid = len(rows) * 8 // 10, len(rows) // 10
    return [r[0] for r in rows], [tokenize(r[1]) for r in rows], n_train, n_valid


bad = 0
taml = os.environ.get("TAML_BIN", "build/taml")
for d in sys.argv[1:]:
    if not any(os.path.isfile(os.path.join(d, f)) for f in ("all.tsv", "train.tsv")):
        continue
    labels, docs, n_train, n_valid = load_task(d)
    ref = {
        "examples": len(docs), "train": n_train, "valid": n_valid,
        "classes": len(set(labels)),
        "dictionary": len({t for doc in docs for t in doc}),
        "wide_vocabulary": len({t for doc in docs[:n_train] for t in doc}),
        "tokens": sum(len(doc) for doc in docs),
    }
    out = subprocess.run([taml, "data", "info", d, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        print("%-40s taml failed: %s" % (d, out.stderr.strip()))
        bad += 1
        continue
    got = json.loads(out.stdout)
    diff = {k: (v, got.get(k)) for k, v in ref.items() if got.get(k) != v}
    print("%-40s %s %s" % (d, "OK  " if not diff else "DIFF", " ".join("%s=%s" % kv for kv in ref.items())))
    for k, (want, have) in diff.items():
        print("    %s: reference %s, taml %s" % (k, want, have))
    bad += bool(diff)
sys.exit(1 if bad else 0)
