#!/usr/bin/python3
"""Writes a taml-cnn-1 graph (cnn.json + weights.f32) with the shapes of a real
network and random weights, for `make bench-vision` and the tests until the
converted nsfwjs modules exist (scripts/modules/ writes those, same format).

  bench/make_cnn.py --net mobilenet_v2 --width 1.0 --size 96 --cut block_13_expand_relu \
      --pooling grid2 --out DIR
  bench/make_cnn.py --net inception_v3 --size 299 --cut mixed5 --pooling global --out DIR

The graphs follow Keras's applications: MobileNetV2 (ZeroPadding2D before the
stride-2 depthwise convolutions as correct_pad does, 'same' elsewhere,
widths rounded to multiples of 8, residual adds, ReLU6) and Inception v3 up
to mixed0 .. mixed7 (1x7 / 7x1 convolutions, 'valid' stems, max and average
pooling, concatenations). Batch norm is taken as folded: every convolution
has a bias. Weights are N(0, 2 / fan_in) (He), biases N(0, 0.01), so
activations stay in range through the depth; seeded, so a run is repeatable.
Cut names: the op names (MobileNetV2's block_N_expand_relu is the expand
conv with its ReLU6; Inception's mixedN is the concatenation).
"""
import argparse
import json
import math
import os
import sys

import numpy as np


class Graph:
    def __init__(self, size, rng):
        self.ops, self.w, self.n, self.rng = [], [], 0, rng
        self.shape = {0: (size, size, 3)}
        self.names = {}

    def _weights(self, arr):
        off = self.n
        self.w.append(arr.astype(np.float32).ravel())
        self.n += arr.size
        return off

    def _add(self, op, shape):
        self.ops.append(op)
        t = len(self.ops)
        self.shape[t] = shape
        self.names[op["name"]] = t
        return t

    @staticmethod
    def same_pad(n, k, s):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        return total // 2, total - total // 2

    def conv(self, name, x, cout, k, s=(1, 1), padding="same", act="relu6", dw=False):
        h, w, c = self.shape[x]
        if padding == "same":
            pt, pb = self.same_pad(h, k[0], s[0])
            pl, pr = self.same_pad(w, k[1], s[1])
        else:
            pt = pb = pl = pr = 0
        ho = (h + pt + pb - k[0]) // s[0] + 1
        wo = (w + pl + pr - k[1]) // s[1] + 1
        fan_in = k[0] * k[1] * (1 if dw else c)
        wshape = (k[0], k[1], c) if dw else (k[0], k[1], c, cout)
        woff = self._weights(self.rng.normal(0, math.sqrt(2 / fan_in), wshape))
        boff = self._weights(self.rng.normal(0, 0.01, (c if dw else cout,)))
        op = {"op": "dwconv" if dw else "conv", "name": name, "in": [x], "k": list(k),
              "s": list(s), "pad": [pt, pb, pl, pr]}
        op.update({"c": c} if dw else {"cin": c, "cout": cout})
        op.update({"act": act, "w": woff, "b": boff})
        return self._add(op, (ho, wo, c if dw else cout))

    def pad(self, name, x, p):
        h, w, c = self.shape[x]
        return self._add({"op": "pad", "name": name, "in": [x], "pad": list(p)},
                         (h + p[0] + p[1], w + p[2] + p[3], c))

    def pool(self, kind, name, x, k, s, padding):
        h, w, c = self.shape[x]
        if padding == "same":
            pt, pb = self.same_pad(h, k, s)
            pl, pr = self.same_pad(w, k, s)
        else:
            pt = pb = pl = pr = 0
        ho, wo = (h + pt + pb - k) // s + 1, (w + pl + pr - k) // s + 1
        return self._add({"op": kind, "name": name, "in": [x], "k": [k, k], "s": [s, s],
                          "pad": [pt, pb, pl, pr]}, (ho, wo, c))

    def add(self, name, a, b, act="none"):
        return self._add({"op": "add", "name": name, "in": [a, b], "act": act}, self.shape[a])

    def concat(self, name, xs):
        h, w, _ = self.shape[xs[0]]
        return self._add({"op": "concat", "name": name, "in": list(xs)},
                         (h, w, sum(self.shape[x][2] for x in xs)))


def divisible(v, d=8):
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def mobilenet_v2(g, width):
    x = g.conv("Conv1", 0, divisible(32 * width), (3, 3), (2, 2))
    g.names["Conv1_relu"] = x
    c = g.shape[x][2]
    blocks = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1)]
    bid = 0
    for t, cout, n, s in blocks:
        cout = divisible(cout * width)
        for i in range(n):
            stride = s if i == 0 else 1
            pre = "expanded_conv_" if bid == 0 else f"block_{bid}_"
            inp, y = x, x
            if t != 1:
                y = g.conv(pre + "expand", y, c * t, (1, 1))
                g.names[pre + "expand_relu"] = y
            if stride == 2:
                h = g.shape[y][0]
                y = g.pad(pre + "pad", y, [1 - h % 2, 1, 1 - h % 2, 1])
                y = g.conv(pre + "depthwise", y, 0, (3, 3), (2, 2), "valid", dw=True)
            else:
                y = g.conv(pre + "depthwise", y, 0, (3, 3), (1, 1), "same", dw=True)
            g.names[pre + "depthwise_relu"] = y
            y = g.conv(pre + "project", y, cout, (1, 1), act="none")
            if stride == 1 and c == cout:
                y = g.add(pre + "add", inp, y)
            x, c = y, cout
            bid += 1
    return x


def inception_v3(g, last):
    def cbr(name, x, cout, k, s=(1, 1), padding="same"):
        return g.conv(name, x, cout, k, s, padding, act="relu")

    n = [0]

    def nm():
        n[0] += 1
        return f"conv2d_{n[0]}"
    x = cbr(nm(), 0, 32, (3, 3), (2, 2), "valid")
    x = cbr(nm(), x, 32, (3, 3), padding="valid")
    x = cbr(nm(), x, 64, (3, 3))
    x = g.pool("maxpool", "max_pooling2d_1", x, 3, 2, "valid")
    x = cbr(nm(), x, 80, (1, 1), padding="valid")
    x = cbr(nm(), x, 192, (3, 3), padding="valid")
    x = g.pool("maxpool", "max_pooling2d_2", x, 3, 2, "valid")
    for i, pool_c in enumerate([32, 64, 64]):
        b1 = cbr(nm(), x, 64, (1, 1))
        b5 = cbr(nm(), cbr(nm(), x, 48, (1, 1)), 64, (5, 5))
        b3 = cbr(nm(), cbr(nm(), cbr(nm(), x, 64, (1, 1)), 96, (3, 3)), 96, (3, 3))
        bp = cbr(nm(), g.pool("avgpool", f"average_pooling2d_{i + 1}", x, 3, 1, "same"),
                 pool_c, (1, 1))
        x = g.concat(f"mixed{i}", [b1, b5, b3, bp])
        if last == i:
            return x
    b3 = cbr(nm(), x, 384, (3, 3), (2, 2), "valid")
    bd = cbr(nm(), cbr(nm(), cbr(nm(), x, 64, (1, 1)), 96, (3, 3)), 96, (3, 3), (2, 2), "valid")
    bp = g.pool("maxpool", "max_pooling2d_3", x, 3, 2, "valid")
    x = g.concat("mixed3", [b3, bd, bp])
    if last == 3:
        return x
    for i, c7 in zip(range(4, 8), [128, 160, 160, 192]):
        b1 = cbr(nm(), x, 192, (1, 1))
        b7 = cbr(nm(), cbr(nm(), cbr(nm(), x, c7, (1, 1)), c7, (1, 7)), 192, (7, 1))
        bd = x
        for c, k in [(c7, (1, 1)), (c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)), (192, (1, 7))]:
            bd = cbr(nm(), bd, c, k)
        bp = cbr(nm(), g.pool("avgpool", f"average_pooling2d_{i}", x, 3, 1, "same"), 192, (1, 1))
        x = g.concat(f"mixed{i}", [b1, b7, bd, bp])
        if last == i:
            return x
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", choices=["mobilenet_v2", "inception_v3"], default="mobilenet_v2")
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--cut", default="block_13_expand_relu")
    ap.add_argument("--pooling", default="grid2", help="global or gridG")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="directory for cnn.json and weights.f32")
    args = ap.parse_args()
    g = Graph(args.size, np.random.default_rng(args.seed))
    if args.net == "mobilenet_v2":
        mobilenet_v2(g, args.width)
        scale, shift = [1 / 255] * 3, [0.0] * 3
    else:
        last = int(args.cut[5:]) if args.cut.startswith("mixed") else 7
        inception_v3(g, last)
        scale, shift = [1 / 255] * 3, [0.0] * 3
    if args.cut not in g.names:
        sys.exit(f"make_cnn.py: no layer '{args.cut}' (have: {', '.join(sorted(g.names))})")
    out = g.names[args.cut]
    keep = len(g.ops)
    # the ops after the cut are dropped: the graph ends at it
    ops = g.ops[:out] if out <= keep else g.ops
    pooling = {"kind": "global"} if args.pooling == "global" else \
        {"kind": "grid", "grid": int(args.pooling[4:])}
    w = np.concatenate(g.w) if g.w else np.zeros(0, np.float32)
    used = max([o["b"] + (o.get("cout") or o.get("c")) for o in ops if "b" in o] + [0])
    w = w[:used]
    model = {"format": "taml-cnn-1", "network": args.net, "width": args.width,
             "source": f"random weights of {args.net}'s shapes (bench/make_cnn.py, seed {args.seed})",
             "license": "CC0", "trained_on": "nothing (random weights)", "cut": args.cut,
             "input": {"size": args.size, "min_input": 8, "scale": scale, "shift": shift},
             "pooling": pooling, "ops": ops, "output": out, "weights_floats": int(w.size)}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "cnn.json"), "w") as f:
        json.dump(model, f, indent=None, separators=(",", ":"))
    w.astype("<f4").tofile(os.path.join(args.out, "weights.f32"))
    print(f"{args.out}: {args.net} {args.width} at {args.size}, {len(ops)} ops, cut {args.cut} "
          f"{g.shape[out]}, {w.size} weights")


if __name__ == "__main__":
    main()
