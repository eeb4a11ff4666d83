#!/usr/bin/python3
"""Compares taml's child model with the PyTorch reference (anchors/torch_child.py).

For each task x config x seed, runs `taml train --json` and torch_child.py on the
same task directory, config and module (random-100 on both sides: N(0, 1/100)
rows, same distribution, different draws), and writes a Markdown table of
test accuracy mean +- sd over the seeds, side by side, with Welch's t statistic.

  experiments/child_vs_torch.py [--tasks DIR...] [--seeds 5] [--shared-table] [--out docs/child-vs-torch.md]

TORCH_CHILD names the reference script (default /work/shared/anchors/torch_child.py).
PyTorch gets OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs (its fast kernels), one thread.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH = os.environ.get("TORCH_CHILD", "/work/shared/anchors/torch_child.py")

CONFIGS = {
    "A: wide+deep 2x64 relu, frozen": {
        "embedding": "random-100", "fine_tune": False, "layers": 2, "hidden_size": 64,
        "activation": "relu", "normalization": "none", "dropout": 0.1, "deep_lr": 0.1,
        "deep_l2": 1e-4, "wide_lr": 0.1, "wide_l1": 1e-4, "samples": 30000},
    "B: deep 1x128 swish BN, fine-tuned": {
        "embedding": "random-100", "fine_tune": True, "layers": 1, "hidden_size": 128,
        "activation": "swish", "normalization": "batch_norm", "dropout": 0.2, "deep_lr": 0.3,
        "deep_l2": 0.0, "wide_lr": 0.1, "wide_l1": "disable", "samples": 30000},
    "C: wide+deep 3x32 relu LN, L1 1e-3": {
        "embedding": "random-100", "fine_tune": False, "layers": 3, "hidden_size": 32,
        "activation": "relu", "normalization": "layer_norm", "dropout": 0.0, "deep_lr": 0.03,
        "deep_l2": 1e-3, "wide_lr": 0.3, "wide_l1": 1e-3, "samples": 10000},
}


def run(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def taml_bin():
    return os.environ.get("TAML_BIN", os.path.join(ROOT, "build", "taml"))


def taml(task, cfg, seed, table=None):
    if table:
        cfg = dict(cfg, embedding=table[1])
    return run([taml_bin(), "train", "--task", task, "--config", json.dumps(cfg), "--seed", str(seed),
                "--json"])


def torch(task, cfg, seed, table=None):
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", OPENBLAS_NUM_THREADS="1")
    return run(["/usr/bin/python3", TORCH, task, json.dumps(cfg), "--seed", str(seed),
                "--threads", "1"] + (["--embedding", table[0]] if table else []), env)


def shared_table(task, dim, tmp):
    """One N(0, 1/dim) table over the task's tokens (numpy, seed 0), written as
    a vocab.txt + vectors.f32 directory (the reference reads it) and imported
    into a taml module (taml embed import --format vocab-f32): the very same
    input rows on both sides. Returns (directory, module path)."""
    import numpy as np
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import tasks as T
    words = sorted({t for rows in T.tokenised_splits(task).values() for _, toks in rows for t in toks})
    d = os.path.join(tmp, os.path.basename(os.path.normpath(task)))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(w + "\n" for w in words))
    rng = np.random.RandomState(0)
    (rng.standard_normal((len(words), dim)) / dim ** 0.5).astype("<f4").tofile(os.path.join(d, "vectors.f32"))
    mod = d + ".tamlm"
    subprocess.run([taml_bin(), "embed", "import", os.path.join(d, "vocab.txt"), "--format", "vocab-f32",
                    "--matrix", os.path.join(d, "vectors.f32"), "--dim", str(dim), "--name", "shared-random",
                    "--language", "any", "-o", mod], check=True, capture_output=True)
    return d, mod


def msd(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def welch(a, b):
    (ma, sa), (mb, sb) = msd(a), msd(b)
    se = (sa * sa / len(a) + sb * sb / len(b)) ** 0.5
    return (ma - mb) / se if se > 0 else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", nargs="+", default=[os.path.join(ROOT, "data", "tasks", t) for t in
                    ("spamassassin", "fortunes-en-category", "emoji-group-en")])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "child-vs-torch.md"))
    ap.add_argument("--shared-table", action="store_true",
                    help="give both sides one random table (numpy, seed 0) instead of each its own random-100")
    args = ap.parse_args()
    rows, t0 = [], time.time()
    tmp = tempfile.mkdtemp(prefix="cvt-")
    for task in args.tasks:
        table = shared_table(task, 100, tmp) if args.shared_table else None
        for name, cfg in CONFIGS.items():
            a, b, sa, sb, st = [], [], [], [], set()
            for seed in range(args.seeds):
                r1, r2 = taml(task, cfg, seed, table), torch(task, cfg, seed, table)
                a.append(r1["test_acc"]), b.append(r2["test_acc"])
                sa.append(r1["samples_per_s"] or 0), sb.append(r2["samples_per_s"] or 0)
                st.add(f"{r1['status']}/{r2['status']}")
            rows.append((os.path.basename(task), name, a, b, sa, sb, st))
            print(f"{rows[-1][0]:24s} {name:38s} taml {msd(a)[0]:.4f}+-{msd(a)[1]:.4f} "
                  f"torch {msd(b)[0]:.4f}+-{msd(b)[1]:.4f} t={welch(a, b):+.2f}", file=sys.stderr)
    lines = [
        "# taml's child model vs the PyTorch reference",
        "",
        "Test accuracy, mean ± sd over seeds 0..%d, of `taml train` and" % (args.seeds - 1),
        "`anchors/torch_child.py` (PyTorch %s) on the same task, config and module." % run_version(),
    ] + ([
        "Module: one table of N(0, 1/100) rows over the task's tokens (numpy, seed 0),",
        "given to both sides (`--shared-table`: a vocab.txt + vectors.f32 directory for",
        "the reference, the same rows imported with `taml embed import --format",
        "vocab-f32` for taml), so both start from the same inputs; the seeds vary",
        "initialisation, dropout and batch order.",
    ] if args.shared_table else [
        "Module random-100 on both sides: N(0, 1/100) rows per task token, the same",
        "distribution but different draws (taml seeds a row from the word's bytes, the",
        "reference from a fixed generator). Each side's table is fixed across seeds, so",
        "on a small task the two draws can differ by a point or more with no seed",
        "averaging it away (run with `--shared-table` to remove it).",
    ]) + [
        "t is Welch's statistic of the difference of means (|t| < ~2.1 at 10 seeds:",
        "no evidence of a difference at the 5% level). samples/s is training speed, 1",
        "thread (indicative only; see `make bench-child`).",
        "",
        "Made by `experiments/child_vs_torch.py` (%s, %.0f s)." % (time.strftime("%Y-%m-%d"),
                                                                   time.time() - t0),
        "",
        "| task | config | taml test acc | torch test acc | t | taml samples/s | torch samples/s | status taml/torch |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for task, name, a, b, sa, sb, st in rows:
        lines.append("| %s | %s | %.4f ± %.4f | %.4f ± %.4f | %+.2f | %.0f | %.0f | %s |" % (
            task, name, *msd(a), *msd(b), welch(a, b), statistics.median(sa),
            statistics.median(sb), ", ".join(sorted(st))))
    lines += ["", "Configs (JSON as given to both):", ""]
    for name, cfg in CONFIGS.items():
        lines.append("- %s: `%s`" % (name, json.dumps(cfg)))
    lines += ["", "Machine: %s, %d CPUs." % (platform.processor() or platform.machine(),
                                            os.cpu_count()), ""]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("wrote", args.out, file=sys.stderr)


def run_version():
    try:
        return subprocess.run(["/usr/bin/python3", "-c", "import torch; print(torch.__version__)"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
