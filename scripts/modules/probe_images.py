#!/usr/bin/python3
"""The probe that picks the default image modules (docs/modules.md "Image
modules"): for every image task and every candidate module, a logistic
regression on the module's features (taml embed features), its C tuned on
the task's valid split, and its accuracy on the test split; raw pixels
(/ 255) beside them as the baseline.

    scripts/modules/probe_images.py --modules DIR [--tasks DIR,DIR...]
        [--only NAME,...] [--cap TRAIN,VALID,TEST] [--work DIR]
        [--threads N] [--out probe.json]

Features come from taml's own C inference (`taml embed features`), never
from Python. A task larger than --cap (default 4000,1000,2000 images per
split) is probed on a fixed-seed sample of that many images of each split,
written as a task of its own under --work (so its features' disk cache is
written there too); the table says the sizes used. A module pooled
globally (-avg) whose grid twin (-g2) is probed too is not run again: the
global mean is the cells' means weighted by their sizes (the cut's H x W
from `taml embed info`), which is the same number up to float rounding.

Scaling: each feature standardised on the train split (the solver's
convergence needs it; it does not change what a linear model can do).
C in {0.001, 0.01, 0.1} (standardised, these many features want a
strong penalty: the best C of every task was the smallest of {0.01, 0.1,
1, 10} in a first run), lbfgs, at most 300 iterations, multinomial. One
BLAS thread (OMP/OPENBLAS_NUM_THREADS=1): run it alone, under nice.

Debian's /usr/bin/python3 with python3-numpy and python3-sklearn; the taml
binary from $TAML_BIN, else <repo>/build/taml.
"""
import json
import os
import re
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore", message=".*lbfgs failed to converge.*")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
TAML = os.environ.get("TAML_BIN") or os.path.join(REPO, "build", "taml")
CS = [0.001, 0.01, 0.1]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def taml(args, env=None):
    return subprocess.run([TAML] + args, check=True, capture_output=True, text=True,
                          env=env).stdout


def task_info(d):
    return json.loads(taml(["data", "info", d, "--json"]))


def sample_task(src, work, cap, seed=13):
    """The task src, or (when a split is above its cap) a sample of it as a
    task directory under work: (directory, info, sizes used)."""
    info = task_info(src)
    sizes = [info["train"], info["valid"], info["test"]]
    if all(n <= c for n, c in zip(sizes, cap)):
        return src, info, sizes
    d = os.path.join(work, "tasks", info["name"])
    px, lab = os.path.join(work, "px.npy"), os.path.join(work, "lab.npy")
    taml(["embed", "features", "pixels", "--task", src, "-o", px, "--labels", lab])
    x, lab_ = np.load(px), np.load(lab)
    rng = np.random.default_rng(seed)
    rows = []
    for sp in range(3):
        idx = np.flatnonzero(lab_[:, 0] == sp)
        if len(idx) > cap[sp]:
            idx = np.sort(rng.choice(idx, cap[sp], replace=False))
        rows.append(idx)
    used = [len(r) for r in rows]
    rows = np.concatenate(rows)
    os.makedirs(d, exist_ok=True)
    (np.rint(x[rows] * 255)).astype(np.uint8).tofile(os.path.join(d, "images.u8"))
    lab_[rows, 1].astype(np.uint8).tofile(os.path.join(d, "labels.u8"))
    with open(os.path.join(d, "meta.txt"), "w") as f:
        f.write(f"name={info['name']}\nn={len(rows)}\nheight={info['height']}\n"
                f"width={info['width']}\nchannels={info['channels']}\n"
                f"train={used[0]}\nvalid={used[1]}\ntest={used[2]}\n")
        f.write(f"note=probe sample of {src}: {used} of {sizes} images per split, seed {seed}\n")
    os.remove(px)
    os.remove(lab)
    return d, info, used


def features(module, task_dir, work, modules, threads):
    out, lab = os.path.join(work, "f.npy"), os.path.join(work, "l.npy")
    env = dict(os.environ, TAML_MODULES=modules) if modules else None
    args = ["embed", "features", module, "--task", task_dir, "-o", out, "--labels", lab]
    if threads:
        args += ["--threads", str(threads)]
    t0, c0 = time.time(), os.times()
    taml(args, env)
    c1 = os.times()
    x, l_ = np.load(out), np.load(lab)
    os.remove(out)
    os.remove(lab)
    return x, l_, time.time() - t0, (c1.children_user + c1.children_system) - (
        c0.children_user + c0.children_system)


_labels = {}


def labels_of(d, opts):
    """The (n, 2) split and class of each row of task d (from the pixels'
    export, once per task)."""
    if d not in _labels:
        _labels[d] = features("pixels", d, opts["work"], opts["modules"], 0)[1]
    return _labels[d]


def cut_hw(module, modules):
    info = taml(["embed", "info", module], dict(os.environ, TAML_MODULES=modules))
    m = re.search(r"^cut\s+tensor \d+ \(.*\), (\d+) x (\d+) x (\d+)", info, re.M)
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def global_from_grid(x, h, w, c, g=2):
    """The global mean of the cut from its G x G cell means (cell-major,
    then channel; cell i covers rows floor(i h / g) .. floor((i+1) h / g))."""
    rows = [(i * h) // g for i in range(g + 1)]
    cols = [(j * w) // g for j in range(g + 1)]
    out = np.zeros((x.shape[0], c), np.float64)
    for i in range(g):
        for j in range(g):
            k = i * g + j
            wgt = (rows[i + 1] - rows[i]) * (cols[j + 1] - cols[j]) / (h * w)
            out += wgt * x[:, k * c:(k + 1) * c]
    return out.astype(np.float32)


def probe(x, lab, cs=None):
    """Logistic regression on x (standardised on train), C from cs (default
    CS) by valid accuracy; {valid, C, test}."""
    from sklearn.linear_model import LogisticRegression
    sp, y = lab[:, 0], lab[:, 1]
    tr, va, te = sp == 0, sp == 1, sp == 2
    mu, sd = x[tr].mean(0), x[tr].std(0)
    sd[sd < 1e-6] = 1.0
    z = (x - mu) / sd
    best = None
    for C in cs or CS:
        m = LogisticRegression(C=C, max_iter=300)
        m.fit(z[tr], y[tr])
        v = float((m.predict(z[va]) == y[va]).mean())
        if best is None or v > best[0]:
            best = (v, C, float((m.predict(z[te]) == y[te]).mean()))
    return {"valid": best[0], "C": best[1], "test": best[2]}


def main(argv):
    opts = {"modules": None, "tasks": None, "only": None, "cap": "4000,1000,2000",
            "work": "/tmp/taml-probe", "threads": 0, "out": None}
    i = 0
    while i < len(argv):
        k = argv[i].lstrip("-")
        if k not in opts or i + 1 >= len(argv):
            sys.exit(__doc__)
        opts[k] = argv[i + 1]
        i += 2
    if not opts["modules"]:
        sys.exit(__doc__)
    sys.path.insert(0, HERE)
    import image_modules
    names = [r["name"] for r in image_modules.recipes()]
    if opts["only"]:
        names = [n for n in names if n in opts["only"].split(",")]
    tasks = (opts["tasks"].split(",") if opts["tasks"] else
             [os.path.join(REPO, "data", "tasks", t) for t in
              ["sklearn-digits", "emoji-google-category", "emoji-twitter-category",
               "glyph-digits", "glyph-scripts", "glyph-letters", "mnist-10k", "fashion-mnist"]])
    cap = [int(v) for v in opts["cap"].split(",")]
    os.makedirs(opts["work"], exist_ok=True)
    out = opts["out"] or os.path.join(opts["work"], "probe.json")
    results, dirs = [], []
    for src in tasks:
        d, info, used = sample_task(src, opts["work"], cap)
        results.append({"task": info["name"], "sizes": used,
                        "full": [info["train"], info["valid"], info["test"]], "modules": {}})
        dirs.append(d)
    if not opts["only"] or "pixels" in opts["only"].split(","):
        names = ["pixels"] + names
    # then module by module (each over every task), the cheap ones first, so
    # that a probe cut short still has whole columns
    grid = {}
    for name in names:
        twin = name[:-4] + "-g2" if name.endswith("-avg") else None
        for row, d in zip(results, dirs):
            if (row["task"], twin) in grid:
                h, w, c = cut_hw(name, opts["modules"])
                x = global_from_grid(grid.pop((row["task"], twin)), h, w, c)
                secs = cpu = 0.0
                how = f"from {twin}"
            else:
                x, lab, secs, cpu = features(name, d, opts["work"], opts["modules"],
                                             int(opts["threads"]) if name != "pixels" else 0)
                how = "taml"
                if name.endswith("-g2"):
                    grid[(row["task"], name)] = x
            lab = labels_of(d, opts)
            t0 = time.time()
            r = probe(x, lab)
            r.update({"dim": int(x.shape[1]), "features_wall": secs, "features_cpu": cpu,
                      "probe_wall": time.time() - t0, "how": how})
            row["modules"][name] = r
            log(f"{row['task']}: {name} {r}")
            with open(out, "w") as f:
                json.dump(results, f, indent=1)
    print_table(results)


def print_table(results):
    """The markdown table of test accuracies (best per task in bold), a row
    of the mean over the tasks and one of the mean gain over pixels."""
    cols = (["pixels"] if "pixels" in results[0]["modules"] else []) + \
        [m for m in results[0]["modules"] if m != "pixels"]
    cols = [c for c in cols if all(c in r["modules"] for r in results)]
    print("| task (train/valid/test used) | " + " | ".join(cols) + " |")
    print("| --- |" + " ---: |" * len(cols))
    for r in results:
        cells = []
        best = max(r["modules"][c]["test"] for c in cols)
        for c in cols:
            v = r["modules"][c]["test"]
            cells.append(f"**{v:.3f}**" if v == best else f"{v:.3f}")
        print(f"| {r['task']} ({'/'.join(map(str, r['sizes']))}) | " + " | ".join(cells) + " |")
    mean = [sum(r["modules"][c]["test"] for r in results) / len(results) for c in cols]
    print("| mean over the tasks | " + " | ".join(f"{v:.3f}" for v in mean) + " |")
    print("| features per image | " + " | ".join(
        str(results[0]["modules"][c]["dim"]) if c != "pixels" else "h w c" for c in cols) + " |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--table":
        with open(sys.argv[2]) as f:
            print_table(json.load(f))
    else:
        main(sys.argv[1:])
