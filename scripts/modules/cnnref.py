"""Plain numpy reference of taml's image modules: the pipeline of one image
(grey to RGB, TF's bilinear resize with half-pixel centres, the module's
per-channel scaling), a forward pass of a `cnn.json` + `weights.f32` op by
op, and the pooling of the cut tensor (global, grid G). The format is the
one scripts/modules/cnn.py writes (docs/modules.md "Image modules").

It is the independent side of two checks: against TF.js running nsfwjs's
original models (scripts/modules/tfjs-reference), and, through the
fixtures that check writes (tests/fixtures/vision/), of taml's C inference.
So it stays simple: float64 arithmetic, one numpy expression per kernel
position, no cleverness. The resize follows TF.js's cpu kernel
(tfjs-backend-cpu ResizeBilinear) expression for expression, in double
rounded to float32 once, so it is bit-exact with it.
"""
import json
import os

import numpy as np


def load(json_path, weights_path=None):
    """(doc, weights): cnn.json and its float32 blob (default: weights.f32
    beside it); the blob's length must match weights_floats."""
    with open(json_path) as f:
        doc = json.load(f)
    weights_path = weights_path or os.path.join(os.path.dirname(json_path), "weights.f32")
    w = np.fromfile(weights_path, dtype="<f4")
    if w.size != doc["weights_floats"]:
        raise ValueError(f"{weights_path}: {w.size} floats, {json_path} says "
                         f"{doc['weights_floats']}")
    return doc, w


# ---------------------------------------------------------------- pipeline --

def to_rgb(img):
    """(h, w, c) bytes, c = 1 or 3 -> (h, w, 3) float32 pixel values."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if img.shape[2] != 3:
        raise ValueError(f"{img.shape[2]} channels, expected 1 or 3")
    return img.astype(np.float32)


def resize_bilinear(x, size):
    """TF.js resizeBilinear(x, [size, size], alignCorners=false,
    halfPixelCenters=true) of (h, w, c) float32 -> (size, size, c) float32.
    Source position (i + 0.5) * in / out - 0.5; the floor is clamped at 0 and
    the ceiling at in - 1 (so edges repeat), the fraction is the position
    minus the clamped floor, as in TF.js."""
    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    h, w, _ = x.shape

    def axis(n_in, n_out):
        ratio = n_in / n_out
        pos = ratio * (np.arange(n_out) + 0.5) - 0.5
        lo = np.maximum(0, np.floor(pos)).astype(np.int64)
        hi = np.minimum(n_in - 1, np.ceil(pos)).astype(np.int64)
        return lo, hi, pos - lo

    r0, r1, rf = axis(h, size)
    c0, c1, cf = axis(w, size)
    cf = cf[None, :, None]
    top = x[r0][:, c0] + (x[r0][:, c1] - x[r0][:, c0]) * cf
    bottom = x[r1][:, c0] + (x[r1][:, c1] - x[r1][:, c0]) * cf
    return (top + (bottom - top) * rf[:, None, None]).astype(np.float32)


def preprocess(img, doc):
    """Task image bytes (h, w, c) -> the module's tensor 0 (S, S, 3) float32:
    RGB, resized, then x * scale[ch] + shift[ch] in float32."""
    inp = doc["input"]
    x = resize_bilinear(to_rgb(img), inp["size"])
    scale = np.asarray(inp["scale"], np.float32)
    shift = np.asarray(inp["shift"], np.float32)
    return (x * scale + shift).astype(np.float32)


# ----------------------------------------------------------------- the ops --

def _windows(x, k, s, out_hw):
    """Yields (i, j, the input slice under kernel position (i, j) for every
    output position) of a padded (H, W, C) array."""
    (kh, kw), (sh, sw), (ho, wo) = k, s, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i, j, x[i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw, :]


def _out_hw(shape, k, s, pad):
    H, W = shape[0] + pad[0] + pad[1], shape[1] + pad[2] + pad[3]
    if H < k[0] or W < k[1]:
        raise ValueError(f"input {shape[0]}x{shape[1]} padded {pad} smaller than {k}")
    return (H - k[0]) // s[0] + 1, (W - k[1]) // s[1] + 1


def _pad(x, pad, value=0.0):
    return np.pad(x, ((pad[0], pad[1]), (pad[2], pad[3]), (0, 0)), constant_values=value)


def _act(x, act):
    if act == "relu":
        return np.maximum(x, 0)
    if act == "relu6":
        return np.clip(x, 0, 6)
    if act != "none":
        raise ValueError(f"activation {act!r}")
    return x


def conv(x, w, b, k, s, pad, act):
    """x (H, W, Cin), w (kh, kw, Cin, Cout), b (Cout) -> (Ho, Wo, Cout)."""
    ho, wo = _out_hw(x.shape, k, s, pad)
    xp = _pad(x, pad)
    out = np.zeros((ho, wo, w.shape[3])) + b
    for i, j, win in _windows(xp, k, s, (ho, wo)):
        out += win @ w[i, j]
    return _act(out, act)


def dwconv(x, w, b, k, s, pad, act):
    """x (H, W, C), w (kh, kw, C), b (C) -> (Ho, Wo, C)."""
    ho, wo = _out_hw(x.shape, k, s, pad)
    xp = _pad(x, pad)
    out = np.zeros((ho, wo, x.shape[2])) + b
    for i, j, win in _windows(xp, k, s, (ho, wo)):
        out += win * w[i, j]
    return _act(out, act)


def maxpool(x, k, s, pad):
    """Padded positions are -inf: they never win."""
    ho, wo = _out_hw(x.shape, k, s, pad)
    out = np.full((ho, wo, x.shape[2]), -np.inf)
    for _, _, win in _windows(_pad(x, pad, -np.inf), k, s, (ho, wo)):
        out = np.maximum(out, win)
    return out


def avgpool(x, k, s, pad):
    """The mean over the window's positions inside the input (TF: padded
    positions are not counted)."""
    ho, wo = _out_hw(x.shape, k, s, pad)
    total = np.zeros((ho, wo, x.shape[2]))
    count = np.zeros((ho, wo, 1))
    ones = _pad(np.ones(x.shape[:2] + (1,)), pad)
    for (_, _, win), (_, _, one) in zip(_windows(_pad(x, pad), k, s, (ho, wo)),
                                        _windows(ones, k, s, (ho, wo))):
        total += win
        count += one
    return total / count


def forward(doc, weights, x0):
    """Every tensor of the graph for tensor 0 = x0 (S, S, 3): a list, tensor
    k + 1 made by op k, float64."""
    t = [np.asarray(x0, np.float64)]
    for op in doc["ops"]:
        kind = op["op"]
        ins = [t[i] for i in op["in"]]
        if kind == "conv":
            kh, kw = op["k"]
            w = weights[op["w"]:op["w"] + kh * kw * op["cin"] * op["cout"]]
            w = w.reshape(kh, kw, op["cin"], op["cout"]).astype(np.float64)
            b = weights[op["b"]:op["b"] + op["cout"]].astype(np.float64)
            y = conv(ins[0], w, b, op["k"], op["s"], op["pad"], op["act"])
        elif kind == "dwconv":
            kh, kw = op["k"]
            w = weights[op["w"]:op["w"] + kh * kw * op["c"]].reshape(kh, kw, op["c"])
            b = weights[op["b"]:op["b"] + op["c"]].astype(np.float64)
            y = dwconv(ins[0], w.astype(np.float64), b, op["k"], op["s"], op["pad"], op["act"])
        elif kind == "maxpool":
            y = maxpool(ins[0], op["k"], op["s"], op["pad"])
        elif kind == "avgpool":
            y = avgpool(ins[0], op["k"], op["s"], op["pad"])
        elif kind == "pad":
            y = _pad(ins[0], op["pad"])
        elif kind == "add":
            if ins[0].shape != ins[1].shape:
                raise ValueError(f"op {op['name']}: add of {ins[0].shape} and {ins[1].shape}")
            y = _act(ins[0] + ins[1], op.get("act", "none"))
        elif kind == "concat":
            y = np.concatenate(ins, axis=2)
        else:
            raise ValueError(f"op {op['name']}: unknown op {kind!r}")
        t.append(y)
    return t


def pool(x, pooling):
    """(H, W, C) -> features: global (C: the mean over positions) or grid G
    (G x G x C: cell (i, j) rows [floor(i H / G), floor((i + 1) H / G)),
    columns likewise; cell-major, then channel)."""
    H, W, C = x.shape
    if pooling["kind"] == "global":
        return x.mean(axis=(0, 1))
    g = pooling["grid"]
    cells = []
    for i in range(g):
        for j in range(g):
            cell = x[(i * H) // g:((i + 1) * H) // g, (j * W) // g:((j + 1) * W) // g]
            if cell.size == 0:
                raise ValueError(f"{H}x{W} is too small for a {g}x{g} grid")
            cells.append(cell.mean(axis=(0, 1)))
    return np.concatenate(cells)


def features(doc, weights, img):
    """The module's features of one task image (h, w, c) bytes: float64."""
    t = forward(doc, weights, preprocess(img, doc))
    return pool(t[doc["output"]], doc["pooling"])
