#!/usr/bin/python3
"""experiments/images.py - the image experiment's baselines and table
(issue 13; `make -C experiments images`, docs/RESULTS.md "Images").

  images.py baselines --task DIR --out OUT [--module NAME] [--cnn-seconds S]
      What an image user would try instead of taml, on taml's own splits
      (rows from `taml embed features`: train, valid, test):
        lr-pixels    logistic regression on the pixels / 255
        lr-MODULE    logistic regression on the module's features (taml's C
                     inference; standardised on train)
        cnn          a small CNN trained from scratch in PyTorch (Debian
                     python3-torch): conv 3x3 32 - relu - maxpool - conv 3x3
                     64 - relu - maxpool - dense 128 - relu - dense C, Adam
                     1e-3, batch 64, trained for S seconds of wall time (the
                     transferred search's, when given) on one thread, the
                     epoch with the best valid accuracy scored on test.
      LR: lbfgs, C in {0.01, 0.1, 1, 10} by valid accuracy, test of that C.
      One JSON file per method under OUT/, skipped when present.

  images.py table --out OUT --task NAME [--t T]
      The markdown table of the held-out task: per method (random, aml,
      transfer studies under OUT/, `taml status --json`) the trials, the
      test accuracy of the best-valid trial, validation accuracy-top10 at
      T/4, T/2 and T (metrics.py, taml's rules), the wall time; the
      baselines beside them; and the transferred controller's most chosen
      module and activation over its second half of trials.

Debian /usr/bin/python3 (numpy, sklearn, torch); taml from $TAML_BIN.
"""
import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore", message=".*lbfgs failed to converge.*")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                                "modules"))
import probe_images  # noqa: E402  (the LR probe and `taml embed features`)



def taml(args):
    return probe_images.taml(args)


def features(module, task, work):
    x, lab, _, _ = probe_images.features(module, task, work, os.environ.get("TAML_MODULES", ""), 0)
    return x, lab


def lr(x, lab):
    """probe_images.py's probe with this experiment's C grid."""
    return probe_images.probe(x, lab, [0.01, 0.1, 1.0, 10.0])


def small_cnn(x, lab, h, w, c, seconds, seed=1):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    sp, y = lab[:, 0], lab[:, 1]
    X = torch.tensor(x.reshape(-1, h, w, c).transpose(0, 3, 1, 2).copy())
    Y = torch.tensor(y.astype(np.int64))
    tr, va, te = [torch.tensor(np.flatnonzero(sp == k)) for k in range(3)]
    C = int(y.max()) + 1
    flat = 64 * (h // 4) * (w // 4)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(c, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(flat, 128), torch.nn.ReLU(), torch.nn.Linear(128, C))
    opt = torch.optim.Adam(net.parameters(), 1e-3)

    def acc(idx):
        net.eval()
        with torch.no_grad():
            hits = sum(int((net(X[idx[i:i + 512]]).argmax(1) == Y[idx[i:i + 512]]).sum())
                       for i in range(0, len(idx), 512))
        net.train()
        return hits / len(idx)

    t0, epochs, best = time.time(), 0, {"valid": -1.0}
    g = torch.Generator().manual_seed(seed)
    while time.time() - t0 < seconds:
        perm = tr[torch.randperm(len(tr), generator=g)]
        for i in range(0, len(perm), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(X[b]), Y[b]).backward()
            opt.step()
            if time.time() - t0 >= seconds:
                break
        epochs += 1
        v = acc(va)
        if v > best["valid"]:
            best = {"valid": v, "test": acc(te), "epoch": epochs}
    best.update({"epochs": epochs, "seconds": time.time() - t0})
    return best


def baselines(a):
    os.makedirs(a.out, exist_ok=True)
    info = json.loads(taml(["data", "info", a.task, "--json"]))
    h, w, c = info["height"], info["width"], info["channels"]
    todo = [("lr-pixels", "pixels"), ("cnn", "pixels")]
    if a.module:
        todo.insert(1, ("lr-" + a.module, a.module))
    for name, module in todo:
        path = os.path.join(a.out, f"{info['name']}.{name}.json")
        if os.path.exists(path):
            print(f"images: {path} exists, skipped")
            continue
        t0, c0 = time.time(), time.process_time()
        x, lab = features(module, a.task, a.out)
        r = small_cnn(x, lab, h, w, c, a.cnn_seconds) if name == "cnn" else lr(x, lab)
        r.update({"task": info["name"], "method": name, "wall": time.time() - t0,
                  "cpu": time.process_time() - c0})
        with open(path + ".tmp", "w") as f:
            json.dump(r, f)
        os.replace(path + ".tmp", path)
        print(f"images: {info['name']} {name}: test {r['test']:.4f} ({r['wall']:.0f} s)")


def trials_of(db):
    """(valid, test, configs) of the finished trials in trial order (a
    failed one's accuracy NaN, as metrics.py counts it)."""
    import sqlite3
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("select valid_acc, test_acc, config_json from trials where state >= 2 "
                       "order by id").fetchall()
    con.close()
    nan = float("nan")
    return ([nan if v is None else v for v, _, _ in rows],
            [nan if t is None else t for _, t, _ in rows], [c for _, _, c in rows])


def table(a):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import metrics
    rows = ["| method | trials | test acc. of best valid | valid top10 @T/4 | @T/2 | @T | wall s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    prefs = []
    for m in ["random", "aml", "transfer"]:
        db = os.path.join(a.out, f"{a.task}.{m}.db")
        if not os.path.exists(db):
            rows.append(f"| {m} | not run | | | | | |")
            continue
        valid, test, configs = trials_of(db)
        curve = metrics.topn_curve(valid, test)
        pick = [curve[min(len(curve), k) - 1]["valid"] if curve else float("nan")
                for k in (max(a.t // 4, 1), max(a.t // 2, 1), a.t)]
        ok = [i for i, v in enumerate(valid) if v == v]
        best = max(ok, key=lambda i: (valid[i], -i)) if ok else None
        wall = 0.0
        if os.path.exists(db + ".time"):
            wall = sum(float(line.split()[0]) for line in open(db + ".time"))
        rows.append(f"| {m} | {len(valid)} | "
                    + (f"{test[best]:.4f}" if best is not None else "") + " | "
                    + " | ".join(f"{v:.4f}" for v in pick) + f" | {wall:.0f} |")
        if m == "transfer" and configs:
            half = [json.loads(c) for c in configs[len(configs) // 2:]]
            for key in ("embedding", "activation"):
                counts = {}
                for c in half:
                    counts[c[key]] = counts.get(c[key], 0) + 1
                top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
                prefs.append(f"{key}: " + ", ".join(f"{k} {v}/{len(half)}" for k, v in top))
    for f in sorted(os.listdir(a.out)):
        if f.startswith(a.task + ".") and f.endswith(".json"):
            r = json.load(open(os.path.join(a.out, f)))
            rows.append(f"| {r['method']} (baseline) | | {r['test']:.4f} | | | | {r['wall']:.0f} |")
    print("\n".join(rows))
    if prefs:
        print("\nThe transferred controller's choices over its second half of trials: "
              + "; ".join(prefs))


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("baselines")
    b.add_argument("--task", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--module")
    b.add_argument("--cnn-seconds", type=float, default=600.0)
    t = sub.add_parser("table")
    t.add_argument("--task", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--t", type=int, default=100)
    a = ap.parse_args()
    baselines(a) if a.cmd == "baselines" else table(a)


if __name__ == "__main__":
    sys.exit(main())
