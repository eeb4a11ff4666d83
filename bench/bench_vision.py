#!/usr/bin/python3
"""`make bench-vision`: image-module feature extraction, taml vs PyTorch (and TF.js).

For each module, one thread each, side by side in one run:
  - taml: build/bench/bench_vision features (nn/cnn.h), batch 1 and 4;
  - PyTorch (Debian's python3-torch): the same network built from cnn.json +
    weights.f32 (or from the .tamlm's own graph and weights, for a converted
    module whose cnn.json is not at hand), with the same input pipeline
    (grey to RGB, F.interpolate bilinear align_corners=False, scale and
    shift) and cut pooling; eager and TorchScript (frozen, optimised for
    inference), NCHW and channels_last, batches 1, 8 and 32: the fastest is
    reported; its features are checked against taml's (max relative
    difference);
  - TF.js in node (CPU backend), when node and @tensorflow/tfjs are in the
    package cache (bench/bench_vision_tfjs.js): the same graph, fewer images.
Then GFLOP/s per op type of taml against the single-thread SGEMM peak.

Modules: graphs of the real networks' shapes with random weights
(bench/make_cnn.py), plus every image module in --modules (data/modules: the
converted nsfwjs ones, once they are built; TF.js runs only on the graphs
this script wrote, whose cnn.json it has). The images are 28 x 28 grey, random bytes, as
fashion-mnist's are resized from.

Each side runs --repeat times (3), in turn with the other, and keeps its best
run (so a moment of load elsewhere does not decide the ratio). Two clocks:
images per wall-clock second and per CPU second of the process or thread
that computes them. The machine is shared: the CPU clock measures
the work itself, so its ratio is the one to read when the load is high (the
load and each side's CPU share are printed). A benchmark: never fails on a
timing.

  bench/bench_vision.py [--bin build/bench/bench_vision] [--taml build/taml]
                        [--only NAME,...] [--images N] [--repeat R] [--no-tfjs]
                        [--modules DIR]
"""
import argparse
import glob
import json
import math
import os
import struct
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "bench", "vision")
TFJS_DIRS = [os.path.expanduser("~/.cache/taml/packages/tfjs-4.22.0/node_modules"),
             os.path.join(ROOT, "node_modules")]

# name: make_cnn.py arguments, images for taml / torch, images for TF.js
SYNTHETIC = {
    "mnv2-b13e-96-g2": ("--net mobilenet_v2 --width 1.0 --size 96 --cut block_13_expand_relu "
                        "--pooling grid2", 400, 16),
    "mnv2-b10e-96-g2": ("--net mobilenet_v2 --width 1.0 --size 96 --cut block_10_expand_relu "
                        "--pooling grid2", 400, 16),
    "mnv2x14-e13-96-g2": ("--net mobilenet_v2 --width 1.4 --size 96 --cut block_13_expand_relu "
                          "--pooling grid2", 300, 16),
    "mnv2-b13e-224-g": ("--net mobilenet_v2 --width 1.0 --size 224 --cut block_13_expand_relu "
                        "--pooling global", 60, 4),
    "incv3-mixed5-96-g": ("--net inception_v3 --size 96 --cut mixed5 --pooling global", 100, 8),
    "incv3-mixed5-299-g": ("--net inception_v3 --size 299 --cut mixed5 --pooling global", 8, 2),
}


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode:
        sys.exit(f"{' '.join(cmd[:3])}...: {p.stderr.strip()[-800:]}")
    return p.stdout


# ---- the graph, from cnn.json or from a .tamlm ----

def read_tamlm(path):
    """The graph and weights of an image module (docs/formats.md)."""
    b = open(path, "rb").read()
    if b[:8] != b"TAMLMODL" or struct.unpack_from("<I", b, 8)[0] != 2:
        return None  # version 1 holds text modules only
    dim, kind = struct.unpack_from("<II", b, 24)
    if kind != 1:
        return None
    f = struct.unpack_from("<12Q", b, 32)  # rows, then the sections' (offset, length)s
    meta_off, meta_len, matrix_off, graph_off = f[1], f[2], f[8], f[10]
    meta = dict(l.split("=", 1) for l in b[meta_off:meta_off + meta_len].decode().splitlines())
    at = graph_off
    def u32():
        nonlocal at
        v = struct.unpack_from("<I", b, at)[0]
        at += 4
        return v
    def u64():
        nonlocal at
        v = struct.unpack_from("<Q", b, at)[0]
        at += 8
        return v
    def f32s(n):
        nonlocal at
        v = list(struct.unpack_from(f"<{n}f", b, at))
        at += 4 * n
        return v
    assert u32() == 1
    size, min_input, _ = u32(), u32(), u32()
    scale, shift = f32s(3), f32s(3)
    pooling, grid, n_ops, output, n_weights = u32(), u32(), u32(), u32(), u64()
    names = ["conv", "dwconv", "maxpool", "avgpool", "pad", "add", "concat"]
    acts = ["none", "relu", "relu6"]
    ops = []
    for _ in range(n_ops):
        kind_, act = u32(), u32()
        kh, kw, sh, sw = u32(), u32(), u32(), u32()
        pad = [u32() for _ in range(4)]
        cin, cout, w, bo = u32(), u32(), u64(), u64()
        ins = [u32() for _ in range(u32())]
        n = u32()
        name = b[at:at + n].decode()
        at += n
        op = {"op": names[kind_], "name": name, "in": ins, "k": [kh, kw], "s": [sh, sw],
              "pad": pad, "act": acts[act], "cin": cin, "cout": cout, "c": cin, "w": w, "b": bo}
        ops.append(op)
    model = {"input": {"size": size, "scale": scale, "shift": shift},
             "pooling": {"kind": "grid", "grid": grid} if pooling == 1 else {"kind": "global"},
             "ops": ops, "output": output, "name": meta.get("name", path)}
    weights = np.frombuffer(b, "<f4", n_weights, matrix_off)
    return model, weights


def needed_ops(model):
    ops, need = model["ops"], [False] * len(model["ops"])
    need[model["output"] - 1] = True
    for k in range(len(ops) - 1, -1, -1):
        if need[k]:
            for t in ops[k]["in"]:
                if t > 0:
                    need[t - 1] = True
    return need


# ---- PyTorch ----

def torch_net(model, weights):
    import torch
    import torch.nn.functional as F

    ops, need = model["ops"], needed_ops(model)
    S = model["input"]["size"]
    scale = torch.tensor(model["input"]["scale"], dtype=torch.float32).view(1, 3, 1, 1)
    shift = torch.tensor(model["input"]["shift"], dtype=torch.float32).view(1, 3, 1, 1)
    grid = model["pooling"].get("grid", 1) if model["pooling"]["kind"] == "grid" else 1

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.ParameterList()
            self.idx = {}
            for k, op in enumerate(ops):
                if not need[k] or op["op"] not in ("conv", "dwconv"):
                    continue
                kh, kw = op["k"]
                if op["op"] == "conv":
                    cin, cout = op["cin"], op["cout"]
                    w = weights[op["w"]:op["w"] + kh * kw * cin * cout].reshape(kh, kw, cin, cout)
                    w = w.transpose(3, 2, 0, 1)
                else:
                    cout = op["c"]
                    w = weights[op["w"]:op["w"] + kh * kw * cout].reshape(kh, kw, cout)
                    w = w.transpose(2, 0, 1)[:, None]
                b = weights[op["b"]:op["b"] + cout]
                self.idx[k] = len(self.p)
                self.p.append(torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(w)),
                                                 requires_grad=False))
                self.p.append(torch.nn.Parameter(torch.from_numpy(np.array(b)),
                                                 requires_grad=False))

        def forward(self, x):
            t = [x]
            for k, op in enumerate(ops):
                if not need[k]:
                    t.append(x)
                    continue
                a = t[op["in"][0]]
                kind, act = op["op"], op.get("act", "none")
                pt, pb, pl, pr = op.get("pad", [0, 0, 0, 0])
                sym = pt == pb and pl == pr
                if kind in ("conv", "dwconv"):
                    i = self.idx[k]
                    if not sym:
                        a = F.pad(a, (pl, pr, pt, pb))
                    y = F.conv2d(a, self.p[i], self.p[i + 1], stride=tuple(op["s"]),
                                 padding=(pt, pl) if sym else 0,
                                 groups=op["c"] if kind == "dwconv" else 1)
                elif kind == "maxpool":
                    if sym and pt <= op["k"][0] // 2 and pl <= op["k"][1] // 2:
                        y = F.max_pool2d(a, tuple(op["k"]), tuple(op["s"]), (pt, pl))
                    else:
                        y = F.max_pool2d(F.pad(a, (pl, pr, pt, pb), value=-math.inf),
                                         tuple(op["k"]), tuple(op["s"]))
                elif kind == "avgpool":
                    if sym and pt <= op["k"][0] // 2 and pl <= op["k"][1] // 2:
                        y = F.avg_pool2d(a, tuple(op["k"]), tuple(op["s"]), (pt, pl),
                                         count_include_pad=False)
                    else:
                        ones = torch.ones_like(a[:1, :1])
                        s = F.avg_pool2d(F.pad(a, (pl, pr, pt, pb)), tuple(op["k"]), tuple(op["s"]))
                        c = F.avg_pool2d(F.pad(ones, (pl, pr, pt, pb)), tuple(op["k"]), tuple(op["s"]))
                        y = s / c
                elif kind == "pad":
                    y = F.pad(a, (pl, pr, pt, pb))
                elif kind == "add":
                    y = a + t[op["in"][1]]
                else:
                    y = torch.cat([t[j] for j in op["in"]], 1)
                if act == "relu":
                    y = F.relu(y)
                elif act == "relu6":
                    y = F.hardtanh(y, 0.0, 6.0)
                t.append(y)
            return t[model["output"]]

    def features(net, u8, channels_last):
        x = torch.from_numpy(u8).permute(0, 3, 1, 2).float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(S, S), mode="bilinear", align_corners=False)
        x = x * scale + shift
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = net(x)
        H, W = y.shape[2], y.shape[3]
        cells = [y[:, :, i * H // grid:(i + 1) * H // grid, j * W // grid:(j + 1) * W // grid]
                 .mean((2, 3)) for i in range(grid) for j in range(grid)]
        return torch.stack(cells, 1).reshape(y.shape[0], -1)

    return Net().eval(), features


class TorchSide:
    """The network in PyTorch, every configuration timed by time_all()."""

    def __init__(self, model, weights, images, taml_feats):
        import torch
        torch.set_num_threads(1)
        self.torch = torch
        net, self.features = torch_net(model, weights)
        S = model["input"]["size"]
        with torch.inference_mode():
            ref = self.features(net, images[:len(taml_feats)], False).numpy()
            self.diff = float(np.max(np.abs(ref - taml_feats) / (1 + np.abs(ref))))
            self.variants = [("eager", net)]
            try:
                x0 = torch.zeros(1, 3, S, S)
                scripted = torch.jit.optimize_for_inference(
                    torch.jit.freeze(torch.jit.trace(net, x0)))
                self.variants.append(("torchscript", scripted))
            except Exception as e:  # an older or stricter torch: eager only
                print(f"  (torchscript not used: {str(e)[:100]})", file=sys.stderr)
        self.images, self.best = images, {}

    def time_all(self, n):
        """One timed run of every configuration; each keeps its best."""
        with self.torch.inference_mode():
            for vname, m in self.variants:
                for cl in (False, True):
                    for batch in (1, 8, 32):
                        if batch > n:
                            continue
                        self.features(m, self.images[:batch], cl)  # warm-up
                        done, t0, c0 = 0, time.perf_counter(), time.process_time()
                        while done < n:
                            b = min(batch, n - done)
                            self.features(m, self.images[done:done + b], cl)
                            done += b
                        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                        key = f"{vname} {'channels_last' if cl else 'NCHW'} batch {batch}"
                        old = self.best.get(key)
                        if not old or n / cpu > old["ips_cpu"]:
                            self.best[key] = {"variant": key, "ips": n / wall, "ips_cpu": n / cpu}

    def fastest(self):
        return max(self.best.values(), key=lambda r: r["ips_cpu"])


# ---- TF.js ----

def tfjs_dir():
    for d in TFJS_DIRS:
        if os.path.isdir(os.path.join(d, "@tensorflow", "tfjs")):
            return d
    return None


def bench_tfjs(json_path, weights_path, images_path, n, taml_feats):
    d = tfjs_dir()
    script = os.path.join(ROOT, "bench", "bench_vision_tfjs.js")
    env = dict(os.environ, NODE_PATH=d)
    out = run(["node", script, json_path, weights_path, images_path, str(n), "28", "28", "1"],
              env=env)
    r = json.loads(out.strip().splitlines()[-1])
    f = np.array(r.pop("features"), np.float32).reshape(-1, taml_feats.shape[1])
    m = min(len(f), len(taml_feats))
    r["diff"] = float(np.max(np.abs(f[:m] - taml_feats[:m]) / (1 + np.abs(f[:m])))) if m else None
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bench", "bench_vision"))
    ap.add_argument("--taml", default=os.path.join(ROOT, "build", "taml"))
    ap.add_argument("--only", default="")
    ap.add_argument("--images", type=int, default=0, help="images per module (0: its default)")
    ap.add_argument("--no-tfjs", action="store_true")
    ap.add_argument("--modules", default=os.path.join(ROOT, "data", "modules"),
                    help="a library whose image modules are measured too")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each side per module, taken in turn; the best is kept")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (512, 28, 28, 1), dtype=np.uint8)
    images_path = os.path.join(OUT, "images.u8")
    images.tofile(images_path)
    only = set(x for x in args.only.split(",") if x)
    modules = []  # (name, tamlm, model, weights, json, weights path, n, n_tfjs)
    for name, (mk, n, n_tfjs) in SYNTHETIC.items():
        if only and name not in only:
            continue
        d = os.path.join(OUT, name)
        jp, wp, tp = os.path.join(d, "cnn.json"), os.path.join(d, "weights.f32"), d + ".tamlm"
        if not os.path.exists(tp):
            run([sys.executable, os.path.join(ROOT, "bench", "make_cnn.py"), *mk.split(), "--out", d])
            run([args.taml, "embed", "import", jp, "--format", "cnn", "--matrix", wp, "--name",
                 name + "-random", "-o", tp])
        model = json.load(open(jp))
        weights = np.fromfile(wp, "<f4")
        modules.append((name + " (random weights)", tp, model, weights, jp, wp, n, n_tfjs))
    for tp in sorted(glob.glob(os.path.join(args.modules, "*.tamlm"))):
        got = read_tamlm(tp)
        name = os.path.basename(tp)[:-6]
        if got is None or (only and name not in only):
            continue
        modules.append((name, tp, got[0], got[1], None, None, 100, 8))
    gemm = json.loads(run([args.bin, "sgemm"]))
    peak = gemm["shapes"][0]["gflops"]
    load0 = loadavg()
    rows, types_rows = [], []
    use_tfjs = not args.no_tfjs and tfjs_dir() is not None and \
        subprocess.run(["node", "--version"], capture_output=True).returncode == 0
    for name, tp, model, weights, jp, wp, n, n_tfjs in modules:
        n = min(args.images or n, len(images))
        best, side = None, None
        for rep in range(args.repeat):  # taml and PyTorch in turn, each keeps its best
            for batch in (1, 4):
                dump = os.path.join(OUT, f"taml-features-{batch}.f32")
                r = json.loads(run([args.bin, "features", tp, "--images", str(n), "--batch",
                                    str(batch), "--input", images_path, "--dump", dump]))
                if best is None or r["images_per_cpu_s"] > best["images_per_cpu_s"]:
                    best = r
            if side is None:
                feats = np.fromfile(os.path.join(OUT, "taml-features-4.f32"), "<f4").reshape(4, -1)
                side = TorchSide(model, weights, images, feats)
            side.time_all(n)
        tb, diff = side.fastest(), side.diff
        tf = None
        if use_tfjs and jp:
            try:
                tf = bench_tfjs(jp, wp, images_path, n_tfjs, feats)
            except SystemExit as e:
                print(f"  TF.js failed on {name}: {e}", file=sys.stderr)
        rows.append((name, best, tb, diff, tf))
        types_rows.append((name, best))
        print(f"{name}: taml {best['images_per_s']:.1f} img/s ({best['images_per_cpu_s']:.1f} per "
              f"CPU s), torch {tb['ips']:.1f} ({tb['ips_cpu']:.1f}; {tb['variant']})"
              + (f", TF.js {tf['images_per_s']:.2f}" if tf else ""), file=sys.stderr)
    load1 = loadavg()
    lines = ["# bench-vision: image-module feature extraction, 1 thread", "",
             f"taml: {best['blas'] if rows else ''}; depthwise build {rows[0][1]['dw_isa'] if rows else ''}",
             f"load average {load0:.2f} before, {load1:.2f} after (2 cores, shared)", "",
             "| module | MFLOPs/img | taml img/s (wall) | taml img/s (CPU) | PyTorch img/s (wall) | "
             "PyTorch img/s (CPU) | taml / PyTorch (CPU) | PyTorch's best | TF.js img/s | "
             "max rel. diff (torch, TF.js) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |"]
    for name, b, t, diff, tf in rows:
        tfs = f"{tf['images_per_s']:.2f}" if tf else "n/a"
        tfd = f"{tf['diff']:.1e}" if tf and tf.get("diff") is not None else "n/a"
        lines.append(f"| {name} | {b['mflops']:.0f} | {b['images_per_s']:.1f} | "
                     f"{b['images_per_cpu_s']:.1f} | {t['ips']:.1f} | {t['ips_cpu']:.1f} | "
                     f"{b['images_per_cpu_s'] / t['ips_cpu']:.2f}x | {t['variant']} | {tfs} | "
                     f"{diff:.1e}, {tfd} |")
    lines += ["", f"Single-thread SGEMM peak (1024^3): {peak:.1f} GFLOP/s; at MobileNetV2's 1x1 "
              "shapes: " + ", ".join(f"{s['M']}x{s['N']}x{s['K']} {s['gflops']:.0f}"
                                     for s in gemm["shapes"][1:]), "",
              "| module | batch | 1x1 conv GFLOP/s (% of peak) | other conv GFLOP/s | "
              "depthwise GFLOP/s | CPU time: 1x1 / conv / dw / pool / other / input+cut |",
              "| --- | ---: | ---: | ---: | ---: | --- |"]
    for name, b in types_rows:
        ty = b["types"]
        tot = b["profiled_cpu_s"]
        share = " / ".join(f"{100 * ty[k]['seconds'] / tot:.0f}%" for k in
                           ("conv1x1", "conv", "dwconv", "pool", "other", "input_and_cut"))
        lines.append(f"| {name} | {b['batch']} | {ty['conv1x1']['gflops']:.1f} "
                     f"({100 * ty['conv1x1']['gflops'] / peak:.0f}%) | {ty['conv']['gflops']:.1f} | "
                     f"{ty['dwconv']['gflops']:.1f} | {share} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(OUT, "bench-vision.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
