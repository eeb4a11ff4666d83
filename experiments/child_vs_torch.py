#!/usr/bin/python3
"""Compares taml's child model with the PyTorch reference (anchors/torch_child.py).

For each task x config x seed, runs `taml train --json` and torch_child.py on the
same task directory, config and module (random-100 on both sides: N(0, 1/100)
rows, same distribution, different draws), and writes a Markdown table of
test accuracy mean +- sd over the seeds, side by side, with Welch's t statistic.

  experiments/child_vs_torch.py [--tasks DIR...] [--seeds 5] [--out docs/child-vs-torch.md]

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


def taml(task, cfg, seed):
    return run([os.environ.get("TAML_BIN", os.path.join(ROOT, "build", "taml")), "train", "--task", task, "--config",
                json.dumps(cfg), "--seed", str(seed), "--json"])


def torch(task, cfg, seed):
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", OPENBLAS_NUM_THREADS="1")
    return run(["/usr/bin/python3", TORCH, task, json.dumps(cfg), "--seed", str(seed),
                "--threads", "1"], env)


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
    args = ap.parse_args()
    rows, t0 = [], time.time()
    for task in args.tasks:
        for name, cfg in CONFIGS.items():
            a, b, sa, sb, st = [], [], [], [], set()
            for seed in range(args.seeds):
                r1, r2 = taml(task, cfg, seed), torch(task, cfg, seed)
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
        "Module random-100 on both sides: N(0, 1/100) rows per task token, the same",
        "distribution but different draws (taml seeds a row from the word's bytes, the",
        "reference from a fixed generator), so single runs differ and means agree within",
        "noise. t is Welch's statistic of the difference of means (|t| < ~2.3: no",
        "evidence of a difference at 5 seeds). samples/s is training speed, 1 thread,",
        "on a machine shared with other jobs (indicative only; see `make bench-child`).",
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
