"""Conversion of nsfwjs's three models into taml image modules: the layer
graph up to a cut layer, batch norm folded, TF's padding resolved for the
module's input size, written as `cnn.json` + `weights.f32` (the format of
/work/wt/IMAGE-SPEC.md, documented in docs/modules.md "Image modules"),
which `taml embed import cnn.json --format cnn --matrix weights.f32` turns
into a module file. Run by scripts/modules/cnn-convert; the numpy forward
pass of the result is scripts/modules/cnnref.py.

Stages, each a function:
  fetch(model)       npm pack nsfwjs@4.4.0 (the fetchers' package cache),
                     node evaluates the browserify files (nsfwjs-dump.js),
                     dequantise() turns uint8 into float32 as TF.js does
  keras_raw / graph_raw
                     the Keras layers model (mobilenet_v2, inception_v3:
                     modelTopology.model_config) or the TF graph model
                     (mobilenet_v2_mid: modelTopology.node), from the input
                     to the cut, as "raw" ops one per source layer
                     (batch norm and activations still apart)
  fuse()             zero padding into the next convolution, batch norm
                     into the convolution before it, an activation into the
                     op before it, each only where the tensor in between
                     has no other reader and is not the cut
  shapes()           every tensor's shape at input size S, 'same'/'valid'
                     resolved into explicit pads (the extra pixel bottom/right)
  write()            cnn.json (ops, offsets into the weights) + weights.f32

Only Python's standard library and numpy; run with Debian's /usr/bin/python3.
Refusals (an unsupported layer before the cut, an unknown cut, a shape that
breaks) raise ConvertError naming the layer.
"""
import base64
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fetch"))

NSFWJS = "nsfwjs@4.4.0"
LICENSE = "MIT"  # nsfwjs's LICENSE (Infinite Red); the model: github.com/gantman/nsfw_model

# What each nsfwjs model is (issue 13; the `trainable` flags of the shipped
# Keras configs say which layers nsfwjs's fine-tuning left frozen).
MODELS = {
    "mobilenet_v2": {"kind": "layers", "network": "mobilenet_v2", "width": 1.0,
                     "scale": 1 / 255, "shift": 0.0},
    "mobilenet_v2_mid": {"kind": "graph", "network": "mobilenet_v2", "width": 1.4,
                         "scale": 1 / 255, "shift": 0.0},
    "inception_v3": {"kind": "layers", "network": "inception_v3", "width": 1.0,
                     "scale": 1 / 255, "shift": 0.0},
}
ACTS = ("none", "relu", "relu6")


class ConvertError(Exception):
    pass


# ---------------------------------------------------------------- fetching --

def package_dir():
    """nsfwjs@4.4.0 unpacked in the package cache (npm pack, exact version)."""
    from common import npm_package
    pkg, spec = npm_package(NSFWJS)
    if spec != NSFWJS:
        raise ConvertError(f"npm pack {NSFWJS} gave {spec}")
    return pkg


def dequantise(manifest, blob, source="weights"):
    """name -> float32 array, from the weight manifest and the concatenated
    shard bytes. uint8/uint16-quantised tensors become q * scale + min,
    computed in double and rounded to float32 as TF.js's decodeWeights does;
    plain float32 tensors are read as they are."""
    out, off = {}, 0
    for group in manifest["weightsManifest"]:
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = spec.get("quantization")
            if spec["dtype"] != "float32":
                raise ConvertError(f"{source}: weight {spec['name']}: dtype {spec['dtype']}, "
                                   "expected float32")
            if q:
                dt = {"uint8": "<u1", "uint16": "<u2"}.get(q["dtype"])
                if dt is None:
                    raise ConvertError(f"{source}: weight {spec['name']}: quantisation "
                                       f"{q['dtype']} not supported (uint8, uint16)")
                size = n * np.dtype(dt).itemsize
                if off + size > len(blob):
                    raise ConvertError(f"{source}: weight {spec['name']} at byte {off}: "
                                       f"{size} bytes past the end ({len(blob)})")
                raw = np.frombuffer(blob, dt, n, off).astype(np.float64)
                vals = (raw * float(q["scale"]) + float(q["min"])).astype(np.float32)
            else:
                size = 4 * n
                if off + size > len(blob):
                    raise ConvertError(f"{source}: weight {spec['name']} at byte {off}: "
                                       f"{size} bytes past the end ({len(blob)})")
                vals = np.frombuffer(blob, "<f4", n, off).astype(np.float32)
            out[spec["name"]] = vals.reshape(shape)
            off += size
    if off != len(blob):
        raise ConvertError(f"{source}: {len(blob) - off} bytes after the last weight")
    return out


def fetch(model, pkg=None):
    """(manifest, weights) of nsfwjs model `model` (a key of MODELS)."""
    if model not in MODELS:
        raise ConvertError(f"unknown model {model}; known: {', '.join(MODELS)}")
    pkg = pkg or package_dir()
    src = os.path.join(pkg, "dist", "models", model)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, model)
        r = subprocess.run(["node", os.path.join(HERE, "nsfwjs-dump.js"), src, out],
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise ConvertError(f"node nsfwjs-dump.js {src} failed:\n{r.stderr}")
        manifest = json.load(open(out + ".json"))
        blob = open(out + ".bin", "rb").read()
    return manifest, dequantise(manifest, blob, f"{src}")


# ------------------------------------------------------------- raw graphs --
#
# A raw op: {"op", "name", "in": [raw tensor ids], attributes, "w"/"b":
# arrays}; raw tensor 0 is the scaled input, raw op i makes raw tensor i + 1.
# Extra raw kinds fuse() removes: "bn" (gamma, beta, mean, var, eps), "act".
# Convolutions and pools carry "padding": ("same"|"valid", [t, b, l, r]),
# the mode and any zero padding fused in front of it.

def _pair(v, name, what):
    if isinstance(v, int):
        return [v, v]
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, int) for x in v):
        return list(v)
    raise ConvertError(f"layer {name}: {what} {v!r}, expected an int or two")


def _keras_act(a, name):
    if a in (None, "linear"):
        return "none"
    if a in ("relu", "relu6"):
        return a
    raise ConvertError(f"layer {name}: activation {a!r} not supported (linear, relu, relu6)")


KERAS_LAYERS = ("Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Activation, Add, "
                "Concatenate, ZeroPadding2D, MaxPooling2D, AveragePooling2D")
GRAPH_OPS = ("_FusedConv2D, FusedDepthwiseConv2dNative, Conv2D, DepthwiseConv2dNative, AddV2, "
             "Relu, Relu6, ConcatV2, MaxPool, AvgPool; Mul/Sub at the input")


def _unsupported(what, name, kind, supported):
    return ConvertError(f"{what} {name}: {kind} is not supported before the cut (taml's image "
                        f"ops take: {supported})")


def _pool(is_max, k, s, mode):
    return {"op": "maxpool" if is_max else "avgpool", "k": k, "s": s,
            "padding": (mode, [0, 0, 0, 0])}


def _weight(weights, key, name):
    if key not in weights:
        raise ConvertError(f"layer {name}: weight {key} missing from the manifest")
    return weights[key]


def keras_raw(manifest, weights, cut):
    """Raw ops of a Keras layers model from its input to layer `cut`."""
    cfg = manifest["modelTopology"]["model_config"]
    layers = cfg["config"]["layers"]
    by_name = {l["name"]: l for l in layers}
    if cut not in by_name:
        raise ConvertError(f"cut {cut!r}: no such layer (the model has {len(layers)} layers, "
                           f"e.g. {', '.join(l['name'] for l in layers[1:6])} ...)")

    def inputs_of(l):
        nodes = l.get("inbound_nodes") or []
        if len(nodes) > 1:
            raise ConvertError(f"layer {l['name']}: used {len(nodes)} times (shared layers "
                               "are not supported)")
        ins = []
        for ref in nodes[0] if nodes else []:
            if ref[1] != 0 or ref[2] != 0:
                raise ConvertError(f"layer {l['name']}: input {ref[:3]} is not the first "
                                   "output of a layer")
            ins.append(ref[0])
        return ins

    needed, stack = set(), [cut]
    while stack:
        n = stack.pop()
        if n not in needed:
            needed.add(n)
            stack.extend(inputs_of(by_name[n]))
    raw, tensor = [], {}
    for l in layers:
        name, cls, c = l["name"], l["class_name"], l["config"]
        if name not in needed:
            continue
        ins = [tensor[i] for i in inputs_of(l)]
        if c.get("data_format", "channels_last") != "channels_last":
            raise ConvertError(f"layer {name}: data_format {c['data_format']}, expected "
                               "channels_last")
        if cls == "InputLayer":
            shape = c.get("batch_input_shape")
            if not shape or shape[-1] != 3:
                raise ConvertError(f"layer {name}: input shape {shape}, expected 3 channels")
            tensor[name] = 0
            continue
        op = {"name": name, "in": ins}
        if cls == "ZeroPadding2D":
            p = c["padding"]
            if isinstance(p, int):
                p = [[p, p], [p, p]]
            elif all(isinstance(x, int) for x in p):
                p = [[p[0], p[0]], [p[1], p[1]]]
            op.update(op="pad", pad=[p[0][0], p[0][1], p[1][0], p[1][1]])
        elif cls in ("Conv2D", "DepthwiseConv2D"):
            if _pair(c.get("dilation_rate", 1), name, "dilation_rate") != [1, 1]:
                raise ConvertError(f"layer {name}: dilation {c['dilation_rate']} not supported")
            if c.get("groups", 1) != 1:
                raise ConvertError(f"layer {name}: groups {c['groups']} not supported")
            k = _pair(c["kernel_size"], name, "kernel_size")
            s = _pair(c["strides"], name, "strides")
            if cls == "Conv2D":
                w = _weight(weights, f"{name}/kernel", name)
                op.update(op="conv", cin=int(w.shape[2]), cout=int(w.shape[3]))
            else:
                if c.get("depth_multiplier", 1) != 1:
                    raise ConvertError(f"layer {name}: depth_multiplier "
                                       f"{c['depth_multiplier']} not supported (1)")
                w = _weight(weights, f"{name}/depthwise_kernel", name)
                w = w.reshape(w.shape[0], w.shape[1], w.shape[2])
                op.update(op="dwconv", c=int(w.shape[2]))
            if list(w.shape[:2]) != k:
                raise ConvertError(f"layer {name}: kernel {list(w.shape)} for kernel_size {k}")
            nout = w.shape[-1]
            b = (_weight(weights, f"{name}/bias", name) if c.get("use_bias")
                 else np.zeros(nout, np.float32))
            op.update(k=k, s=s, padding=(c["padding"], [0, 0, 0, 0]),
                      act=_keras_act(c.get("activation"), name), w=w, b=b)
        elif cls == "BatchNormalization":
            if c.get("axis", -1) not in (-1, 3, [3], [-1]):
                raise ConvertError(f"layer {name}: axis {c['axis']}, expected the channels")
            mean = _weight(weights, f"{name}/moving_mean", name)
            n = mean.shape[0]
            op.update(op="bn", eps=float(c["epsilon"]), mean=mean,
                      var=_weight(weights, f"{name}/moving_variance", name),
                      gamma=(_weight(weights, f"{name}/gamma", name) if c.get("scale", True)
                             else np.ones(n, np.float32)),
                      beta=(_weight(weights, f"{name}/beta", name) if c.get("center", True)
                            else np.zeros(n, np.float32)))
        elif cls == "ReLU":
            mv, slope, th = c.get("max_value"), c.get("negative_slope", 0), c.get("threshold", 0)
            if slope or th or mv not in (None, 6):
                raise ConvertError(f"layer {name}: ReLU max_value {mv} negative_slope {slope} "
                                   f"threshold {th} not supported (plain ReLU or ReLU6)")
            op.update(op="act", act="relu6" if mv == 6 else "relu")
        elif cls == "Activation":
            act = _keras_act(c["activation"], name)
            if act == "none":
                tensor[name] = ins[0]
                continue
            op.update(op="act", act=act)
        elif cls == "Add":
            if len(ins) != 2:
                raise ConvertError(f"layer {name}: Add of {len(ins)} inputs, expected 2")
            op.update(op="add", act="none")
        elif cls == "Concatenate":
            if c.get("axis", -1) not in (-1, 3):
                raise ConvertError(f"layer {name}: concatenation on axis {c['axis']}, "
                                   "expected the channels")
            op.update(op="concat")
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            k = _pair(c["pool_size"], name, "pool_size")
            s = _pair(c.get("strides") or k, name, "strides")
            op.update(_pool(cls == "MaxPooling2D", k, s, c["padding"]))
        else:
            raise _unsupported("layer", name, cls, KERAS_LAYERS)
        raw.append(op)
        tensor[name] = len(raw)
    return raw, tensor[cut], None


def short_name(node):
    """The layer scope of a TF graph node: the path after MobilenetV2/ without
    the op's own suffix (".../expanded_conv_13/expand/Relu6" ->
    "expanded_conv_13/expand")."""
    n = node.split("/MobilenetV2/", 1)[-1]
    n = n.split("/predict/", 1)[-1]
    for suffix in ("/BatchNorm/FusedBatchNormV3", "/Relu6", "/Relu", "/depthwise", "/Conv2D"):
        if n.endswith(suffix) and n != suffix[1:]:
            return n[: -len(suffix)]
    return n


def _attr(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(x) for x in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(x).decode() for x in lst["s"]]
        return []
    return default


def graph_node(manifest, cut):
    """The node of the graph model whose short name (or full name) is cut."""
    nodes = manifest["modelTopology"]["node"]
    hits = [n for n in nodes if n["op"] != "Const" and cut in (n["name"], short_name(n["name"]))]
    if len(hits) != 1:
        some = [short_name(n["name"]) for n in nodes if n["op"] not in ("Const", "Placeholder")]
        raise ConvertError(f"cut {cut!r}: {'no' if not hits else len(hits)} matching nodes "
                           f"(layers are named like {', '.join(some[:4])} ...)")
    return hits[0]


def graph_raw(manifest, weights, cut):
    """Raw ops of a TF.js graph model from its Placeholder to node `cut`;
    Mul / Sub by constants straight after the input become the input's
    scale and shift (returned as the third value)."""
    nodes = {n["name"]: n for n in manifest["modelTopology"]["node"]}
    target = graph_node(manifest, cut)["name"]

    def refs(n):
        out = []
        for r in n.get("input", []):
            if r.startswith("^"):
                continue
            name, _, idx = r.partition(":")
            if idx not in ("", "0"):
                raise ConvertError(f"node {n['name']}: input {r} is not a first output")
            out.append(name)
        return out

    order, seen = [], set()

    def visit(name):  # post-order: inputs first
        stack = [(name, False)]
        while stack:
            n, done = stack.pop()
            if done:
                order.append(n)
                continue
            if n in seen:
                continue
            seen.add(n)
            if n not in nodes:
                raise ConvertError(f"node {n}: referenced but not in the graph")
            stack.append((n, True))
            for r in reversed(refs(nodes[n])):
                stack.append((r, False))

    visit(target)
    readers = {}
    for name in order:
        for r in refs(nodes[name]):
            readers[r] = readers.get(r, 0) + 1
    raw, tensor, const = [], {}, {}
    scale, shift = 1.0, 0.0
    input_alias = set()
    for name in order:
        n = nodes[name]
        op_type, ins = n["op"], refs(n)
        short = short_name(name)
        if op_type == "Placeholder":
            tensor[name] = 0
            input_alias.add(name)
            continue
        if op_type == "Const":
            if name not in weights:
                raise ConvertError(f"node {name}: constant missing from the weights manifest")
            const[name] = weights[name]
            continue
        if op_type in ("Mul", "Sub") and len(ins) == 2:
            a, b = ins
            if op_type == "Mul" and a in const and b in input_alias:
                a, b = b, a
            if a in input_alias and b in const and const[b].size == 1 and readers[a] == 1:
                v = float(const[b].reshape(()))
                if op_type == "Mul":
                    scale, shift = scale * v, shift * v
                else:
                    shift = shift - v
                tensor[name] = 0
                input_alias.add(name)
                continue
            raise ConvertError(f"node {short} ({op_type}): only a scalar Mul/Sub right after "
                               "the input is supported")
        if any(i in input_alias for i in ins):
            input_alias.clear()  # the input is used: later Mul/Sub are real ops
        op = {"name": short, "in": [tensor[i] for i in ins if i not in const]}
        if op_type in ("_FusedConv2D", "FusedDepthwiseConv2dNative", "Conv2D",
                       "DepthwiseConv2dNative"):
            if _attr(n, "data_format", "NHWC") != "NHWC":
                raise ConvertError(f"node {short}: data_format {_attr(n, 'data_format')}")
            if any(d != 1 for d in _attr(n, "dilations", [1, 1, 1, 1])):
                raise ConvertError(f"node {short}: dilations {_attr(n, 'dilations')}")
            st = _attr(n, "strides", [1, 1, 1, 1])
            pad = _attr(n, "padding", "VALID")
            if pad not in ("SAME", "VALID"):
                raise ConvertError(f"node {short}: padding {pad} not supported (SAME, VALID)")
            fused = _attr(n, "fused_ops", []) if op_type.startswith(("_", "Fused")) else []
            wname = ins[1]
            w = const[wname]
            if fused[:1] == ["BiasAdd"]:
                b, fused = const[ins[2]], fused[1:]
            elif not fused:
                b = np.zeros(w.shape[-1] * (w.shape[2] if "Depthwise" in op_type else 1),
                             np.float32)
            else:
                raise ConvertError(f"node {short}: fused ops {fused} not supported "
                                   "(BiasAdd, then Relu or Relu6)")
            act = {(): "none", ("Relu",): "relu", ("Relu6",): "relu6"}.get(tuple(fused))
            if act is None:
                raise ConvertError(f"node {short}: fused ops {fused} not supported")
            op.update(k=[int(w.shape[0]), int(w.shape[1])], s=[st[1], st[2]],
                      padding=(pad.lower(), [0, 0, 0, 0]), act=act, b=b)
            if "Depthwise" in op_type:
                if w.shape[3] != 1:
                    raise ConvertError(f"node {short}: depth multiplier {w.shape[3]} (1)")
                op.update(op="dwconv", c=int(w.shape[2]), w=w.reshape(w.shape[:3]))
            else:
                op.update(op="conv", cin=int(w.shape[2]), cout=int(w.shape[3]), w=w)
        elif op_type in ("AddV2", "Add"):
            if len(op["in"]) != 2:
                raise ConvertError(f"node {short}: {op_type} with a constant not supported")
            op.update(op="add", act="none")
        elif op_type in ("Relu", "Relu6"):
            op.update(op="act", act=op_type.lower())
        elif op_type == "ConcatV2":
            axis = int(const[ins[-1]].reshape(())) if ins[-1] in const else None
            if axis not in (3, -1):
                raise ConvertError(f"node {short}: ConcatV2 on axis {axis}, expected channels")
            op.update(op="concat")
        elif op_type in ("MaxPool", "AvgPool"):
            ks, st = _attr(n, "ksize"), _attr(n, "strides")
            pad = _attr(n, "padding", "VALID")
            if pad not in ("SAME", "VALID"):
                raise ConvertError(f"node {short}: padding {pad} not supported (SAME, VALID)")
            op.update(_pool(op_type == "MaxPool", [ks[1], ks[2]], [st[1], st[2]], pad.lower()))
        else:
            raise _unsupported("node", short, op_type, GRAPH_OPS)
        raw.append(op)
        tensor[name] = len(raw)
    return raw, tensor[target], (scale, shift)


# ------------------------------------------------------------------ fusion --

def fuse(raw, output):
    """Folds pads, batch norms and activations into their neighbours (see the
    file header); returns (ops, output) with tensors renumbered so that op k
    makes tensor k + 1. Weights are float32 again after float64 folding."""
    readers = [0] * (len(raw) + 1)
    for op in raw:
        for t in op["in"]:
            readers[t] += 1
    readers[output] += 1
    alias = {}  # raw tensor -> raw tensor it became (fused away)

    def res(t):
        while t in alias:
            t = alias[t]
        return t

    dead = set()
    for i, op in enumerate(raw):
        t = i + 1
        src = op["in"][0] if op["in"] else None
        if op["op"] in ("conv", "dwconv") and src and raw[res(src) - 1]["op"] == "pad" \
                and readers[src] == 1 and src != output:
            # ZeroPadding2D + conv == conv with those pads. Not into pools:
            # a zero is a value to max and average, TF's pool padding is not.
            p = raw[res(src) - 1]
            mode, extra = op["padding"]
            op["padding"] = (mode, [a + b for a, b in zip(extra, p["pad"])])
            op["in"] = [p["in"][0]] + op["in"][1:]
            dead.add(res(src) - 1)
        op["in"] = [res(x) for x in op["in"]]
        if op["op"] not in ("bn", "act"):
            continue
        prod = raw[res(src) - 1] if res(src) > 0 else None
        kinds = ("conv", "dwconv") if op["op"] == "bn" else ("conv", "dwconv", "add")
        if prod is None or prod["op"] not in kinds or prod["act"] != "none" or \
                readers[src] != 1 or src == output:
            what = "BatchNormalization" if op["op"] == "bn" else f"activation {op['act']}"
            prev = prod["name"] if prod else "the input"
            raise ConvertError(f"layer {op['name']} ({what}): cannot be folded into {prev} "
                               "(it must follow a convolution (batch norm) or a convolution "
                               "or add (activation) whose output nothing else reads)")
        if op["op"] == "bn":
            f = op["gamma"].astype(np.float64) / np.sqrt(op["var"].astype(np.float64) + op["eps"])
            prod["w"] = (prod["w"].astype(np.float64) * f).astype(np.float32)
            prod["b"] = ((prod["b"].astype(np.float64) - op["mean"]) * f +
                         op["beta"]).astype(np.float32)
        else:
            prod["act"] = op["act"]
        alias[t] = res(src)
        dead.add(i)
    new_id, ops = {0: 0}, []
    for i, op in enumerate(raw):
        if i in dead:
            continue
        op = dict(op, **{"in": [new_id[x] for x in op["in"]]})
        ops.append(op)
        new_id[i + 1] = len(ops)
    return ops, new_id[res(output)]


# ------------------------------------------------------------------ shapes --

def same_pads(n, k, s):
    """TF's 'same': total = max((ceil(n/s) - 1) s + k - n, 0), the extra
    pixel at the end."""
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def shapes(ops, size):
    """(shape per tensor [H, W, C], explicit pads per op or None) at input
    size x size; ConvertError when a shape breaks."""
    sh, pads = [(size, size, 3)], []
    for i, op in enumerate(ops):
        ins = [sh[t] for t in op["in"]]
        H, W, C = ins[0]
        pad = None
        kind = op["op"]
        if kind in ("conv", "dwconv", "maxpool", "avgpool"):
            mode, ex = op["padding"]
            kh, kw = op["k"]
            sh_, sw = op["s"]
            if mode == "same":
                hp, wp = H + ex[0] + ex[1], W + ex[2] + ex[3]
                t, b = same_pads(hp, kh, sh_)
                l, r = same_pads(wp, kw, sw)
                pad = [ex[0] + t, ex[1] + b, ex[2] + l, ex[3] + r]
            elif mode == "valid":
                pad = list(ex)
            else:
                raise ConvertError(f"op {i} ({op['name']}): padding {mode!r}")
            hh, ww = H + pad[0] + pad[1], W + pad[2] + pad[3]
            if hh < kh or ww < kw:
                raise ConvertError(f"op {i} ({op['name']}): input {H}x{W} (padded {hh}x{ww}) "
                                   f"smaller than the {kh}x{kw} window at input size {size}")
            if kind in ("maxpool", "avgpool") and (max(pad[0], pad[1]) >= kh or
                                                   max(pad[2], pad[3]) >= kw):
                raise ConvertError(f"op {i} ({op['name']}): a window of padding only")
            out_c = op["cout"] if kind == "conv" else C
            if kind == "conv" and op["cin"] != C:
                raise ConvertError(f"op {i} ({op['name']}): {C} input channels, weights "
                                   f"for {op['cin']}")
            if kind == "dwconv" and op["c"] != C:
                raise ConvertError(f"op {i} ({op['name']}): {C} channels, weights for {op['c']}")
            out = ((hh - kh) // sh_ + 1, (ww - kw) // sw + 1, out_c)
        elif kind == "pad":
            out = (H + op["pad"][0] + op["pad"][1], W + op["pad"][2] + op["pad"][3], C)
        elif kind == "add":
            if len(ins) != 2 or ins[0] != ins[1]:
                raise ConvertError(f"op {i} ({op['name']}): add of shapes {ins}")
            out = ins[0]
        elif kind == "concat":
            if any(s[:2] != (H, W) for s in ins):
                raise ConvertError(f"op {i} ({op['name']}): concat of shapes {ins}")
            out = (H, W, sum(s[2] for s in ins))
        else:
            raise ConvertError(f"op {i} ({op['name']}): unknown op {kind}")
        sh.append(out)
        pads.append(pad)
    return sh, pads


def pooled_dim(shape, pooling):
    H, W, C = shape
    return C if pooling["kind"] == "global" else pooling["grid"] ** 2 * C


def min_input(ops, output, size, pooling):
    """The smallest input size m such that every size from m to `size` gives
    every op an output of at least 1 x 1 (and the cut at least G x G
    positions for grid pooling G)."""
    need = pooling.get("grid", 1)
    m = size
    while m > 1:
        try:
            sh, _ = shapes(ops, m - 1)
        except ConvertError:
            break
        if sh[output][0] < need or sh[output][1] < need:
            break
        m -= 1
    return m


def mflops(ops, sh):
    """Multiply-adds x 2 / 1e6 of the convolutions (pools and adds not
    counted), per image."""
    total = 0
    for i, op in enumerate(ops):
        H, W, C = sh[i + 1]
        kh, kw = op.get("k", (0, 0))
        if op["op"] == "conv":
            total += H * W * kh * kw * op["cin"] * op["cout"]
        elif op["op"] == "dwconv":
            total += H * W * kh * kw * op["c"]
    return 2 * total / 1e6


# -------------------------------------------------------------- top level --

def parse_pooling(text):
    if text == "global":
        return {"kind": "global"}
    if text.startswith("grid:"):
        try:
            g = int(text[5:])
        except ValueError:
            g = 0
        if 1 <= g <= 16:
            return {"kind": "grid", "grid": g}
    raise ConvertError(f"pooling {text!r}: expected global or grid:G (G from 1 to 16)")


def trained_on(model, manifest, cut, raw_names):
    """What the layers up to the cut learnt from: nsfwjs fine-tuned ImageNet
    networks on its 5-class task, the Keras ones with the early layers
    frozen (trainable false in the shipped configs)."""
    if model == "mobilenet_v2_mid":
        return ("ImageNet (a TF Hub MobileNetV2 1.4 backbone), then fine-tuned throughout "
                "on nsfwjs's 5-class task")
    layers = manifest["modelTopology"]["model_config"]["config"]["layers"]
    first = next((i for i, l in enumerate(layers) if l["config"].get("trainable", True)
                  and l["class_name"] != "InputLayer"), len(layers))
    last_frozen = layers[first - 1]["name"]
    tuned = [l["name"] for l in layers[first:] if l["name"] in raw_names]
    text = f"ImageNet (frozen up to {last_frozen}), then nsfwjs's 5-class task"
    if not tuned:
        return text + f"; the layers up to the cut {cut} are all frozen ones"
    return text + f"; the layers from {tuned[0]} to the cut {cut} were fine-tuned on it"


def convert(model, cut, size, pooling, fetched=None):
    """(doc, weights, info) of nsfwjs model `model` cut at layer `cut`: see
    document(). fetched: (manifest, weights) to reuse, else fetch(model)."""
    meta = MODELS.get(model)
    if meta is None:
        raise ConvertError(f"unknown model {model}; known: {', '.join(MODELS)}")
    manifest, weights = fetched or fetch(model)
    if meta["kind"] == "layers":
        raw, out, fold = keras_raw(manifest, weights, cut)
    else:
        raw, out, fold = graph_raw(manifest, weights, cut)
    names = {op["name"] for op in raw} | {cut}
    scale, shift = meta["scale"], meta["shift"]
    if fold:  # the graph's own Mul/Sub after an input of pixels * scale + shift
        scale, shift = scale * fold[0], shift * fold[0] + fold[1]
    ops, output = fuse(raw, out)
    if output == 0:
        raise ConvertError(f"cut {cut!r} is the input itself")
    text = {"network": meta["network"], "width": meta["width"],
            "source": f"npm {NSFWJS} dist/models/{model}", "license": LICENSE,
            "trained_on": trained_on(model, manifest, cut, names), "cut": cut}
    return document(ops, output, size, pooling, [scale] * 3, [shift] * 3, text)


def document(ops, output, size, pooling, scale, shift, text):
    """(doc, weights, info) of fused ops (fuse()'s form) at input size
    `size`: doc, the cnn.json content (exactly the members of the format:
    the importer refuses others; text gives network, width, source,
    license, trained_on, cut); weights, the float32 blob; info, what the
    summary prints ("shapes" of every tensor, feature "dim", "mflops")."""
    if not 8 <= size <= 1024:
        raise ConvertError(f"size {size}: expected 8 to 1024")
    sh, pads = shapes(ops, size)
    H, W, _ = sh[output]
    if pooling["kind"] == "grid" and (H < pooling["grid"] or W < pooling["grid"]):
        raise ConvertError(f"cut {text['cut']} is {H}x{W} at size {size}: too small for a "
                           f"{pooling['grid']}x{pooling['grid']} grid")
    blob, doc_ops = [], []
    offset = 0
    for i, op in enumerate(ops):
        d = {"op": op["op"], "name": op["name"], "in": op["in"]}
        if op["op"] in ("conv", "dwconv", "maxpool", "avgpool"):
            d.update(k=op["k"], s=op["s"], pad=pads[i])
        if op["op"] == "pad":
            d["pad"] = op["pad"]
        if op["op"] == "conv":
            d.update(cin=op["cin"], cout=op["cout"])
        if op["op"] == "dwconv":
            d["c"] = op["c"]
        if op["op"] in ("conv", "dwconv", "add"):
            d["act"] = op["act"]
        if op["op"] in ("conv", "dwconv"):
            for key in ("w", "b"):
                a = np.ascontiguousarray(op[key], dtype=np.float32).ravel()
                d[key] = offset
                offset += a.size
                blob.append(a)
        doc_ops.append(d)
    weights_f32 = np.concatenate(blob) if blob else np.zeros(0, np.float32)
    doc = {
        "format": "taml-cnn-1",
        "network": text["network"], "width": text["width"],
        "source": text["source"], "license": text["license"],
        "trained_on": text["trained_on"], "cut": text["cut"],
        "input": {"size": size, "min_input": min_input(ops, output, size, pooling),
                  "scale": list(scale), "shift": list(shift)},
        "pooling": pooling,
        "ops": doc_ops,
        "output": output,
        "weights_floats": int(weights_f32.size),
    }
    info = {"shapes": [list(x) for x in sh], "dim": pooled_dim(sh[output], pooling),
            "mflops": mflops(ops, sh)}
    return doc, weights_f32, info


def write(doc, weights_f32, out_dir):
    """cnn.json and weights.f32 (little-endian float32) into out_dir,
    each written to a temporary name first."""
    os.makedirs(out_dir, exist_ok=True)
    wpath, jpath = os.path.join(out_dir, "weights.f32"), os.path.join(out_dir, "cnn.json")
    with open(wpath + ".tmp", "wb") as f:
        f.write(weights_f32.astype("<f4").tobytes())
    os.replace(wpath + ".tmp", wpath)
    with open(jpath + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(jpath + ".tmp", jpath)
    return jpath, wpath
