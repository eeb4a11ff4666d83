#!/usr/bin/python3
"""Offline self-test of the image-module scripts: the numpy reference
(cnnref.py) on tiny hand-made graphs against values computed by hand
(strides, padding corners, pools that must not count or pick the
padding, grid cells, the resize), the converter's pieces (cnn.py:
dequantisation, 'same' padding, batch-norm and padding folding,
refusals) on synthetic inputs, and the committed TF.js fixtures
(tests/fixtures/vision/) against the reference's pipeline. Converts no
nsfwjs model: no node, npm or network. Run by `make test`
(tests/test_cnn_scripts.c).
"""
import json
import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
HOME = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import cnn  # noqa: E402
import cnnref  # noqa: E402
import image_modules  # noqa: E402

FIXTURES = os.path.join(HOME, "tests", "fixtures", "vision")


def ramp(h=4, w=4):
    """x[i, j] = i * w + j, one channel."""
    return np.arange(h * w, dtype=np.float64).reshape(h, w, 1)


class Blob:
    """Weights appended to one float array, offsets handed out."""

    def __init__(self):
        self.parts, self.n = [], 0

    def add(self, a):
        a = np.asarray(a, np.float32).ravel()
        self.parts.append(a)
        self.n += a.size
        return self.n - a.size

    def array(self):
        return np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)


def run(ops, x0, blob):
    doc = {"ops": ops}
    return cnnref.forward(doc, blob.array(), x0)


class Ops(unittest.TestCase):
    def test_conv_stride_2_pads_bottom_right_only(self):
        # 4x4 ramp, 3x3 ones, stride 2, pad [0, 1, 0, 1]: windows rows 0-2 / 2-4,
        # row 4 and column 4 are the padding.
        b = Blob()
        op = {"op": "conv", "name": "c", "in": [0], "k": [3, 3], "s": [2, 2],
              "pad": [0, 1, 0, 1], "cin": 1, "cout": 1, "act": "none",
              "w": b.add(np.ones(9)), "b": b.add([0.5])}
        y = run([op], ramp(), b)[1]
        self.assertEqual(y.shape, (2, 2, 1))
        np.testing.assert_array_equal(y[:, :, 0], [[45.5, 39.5], [66.5, 50.5]])

    def test_conv_same_corners_and_hwio_order(self):
        # Output 0: 3x3 ones (a corner sees 2x2 of the input); output 1:
        # the centre tap of input channel 1 only (HWIO: w[i, j, cin, cout]).
        w = np.zeros((3, 3, 2, 2))
        w[:, :, 0, 0] = 1
        w[1, 1, 1, 1] = 1
        b = Blob()
        op = {"op": "conv", "name": "c", "in": [0], "k": [3, 3], "s": [1, 1],
              "pad": [1, 1, 1, 1], "cin": 2, "cout": 2, "act": "none",
              "w": b.add(w), "b": b.add([0, 1])}
        x = np.concatenate([ramp(), 100 + ramp()], axis=2)
        y = run([op], x, b)[1]
        self.assertEqual((y[0, 0, 0], y[0, 3, 0], y[3, 3, 0], y[1, 1, 0]), (10, 18, 50, 45))
        np.testing.assert_array_equal(y[:, :, 1], 101 + ramp()[:, :, 0])

    def test_depthwise_per_channel_with_relu6_and_bias(self):
        b = Blob()
        w = np.stack([np.full((3, 3), 0.1), np.ones((3, 3))], axis=2)
        op = {"op": "dwconv", "name": "d", "in": [0], "k": [3, 3], "s": [1, 1],
              "pad": [1, 1, 1, 1], "c": 2, "act": "relu6", "w": b.add(w), "b": b.add([-2, 0])}
        y = run([op], np.concatenate([ramp(), ramp()], axis=2), b)[1]
        np.testing.assert_allclose(y[0, 0], [0, 6])          # 1 - 2 -> 0; 10 -> 6
        np.testing.assert_allclose(y[1, 1], [2.5, 6])        # 4.5 - 2; 45 -> 6

    def test_maxpool_padding_never_wins(self):
        # -ramp: every value <= 0; TF 'same' 3x3 stride 2 on 4: pad [0, 1, 0, 1].
        self.assertEqual(cnn.same_pads(4, 3, 2), (0, 1))
        op = {"op": "maxpool", "name": "m", "in": [0], "k": [3, 3], "s": [2, 2],
              "pad": [0, 1, 0, 1]}
        y = run([op], -ramp(), Blob())[1]
        np.testing.assert_array_equal(y[:, :, 0], [[0, -2], [-8, -10]])

    def test_avgpool_excludes_padding_from_the_count(self):
        op = {"op": "avgpool", "name": "a", "in": [0], "k": [3, 3], "s": [1, 1],
              "pad": [1, 1, 1, 1]}
        y = run([op], ramp(), Blob())[1][:, :, 0]
        self.assertEqual((y[0, 0], y[0, 1], y[1, 1], y[3, 3]), (2.5, 3.0, 5.0, 12.5))

    def test_add_act_concat_order_and_pad(self):
        b = Blob()
        ops = [{"op": "conv", "name": "c", "in": [0], "k": [1, 1], "s": [1, 1],
                "pad": [0, 0, 0, 0], "cin": 1, "cout": 1, "act": "none",
                "w": b.add([1]), "b": b.add([-7.5])},
               {"op": "add", "name": "a", "in": [1, 1], "act": "relu"},
               {"op": "concat", "name": "cat", "in": [2, 0]},
               {"op": "pad", "name": "p", "in": [3], "pad": [1, 0, 0, 2]}]
        t = run(ops, ramp(), b)
        self.assertEqual((t[2][0, 0, 0], t[2][3, 3, 0]), (0, 15))
        np.testing.assert_array_equal(t[3][3, 3], [15, 15])   # [relu(2x - 15), x]
        self.assertEqual(t[4].shape, (5, 6, 2))
        self.assertEqual((t[4][0].sum(), t[4][:, 4:].sum(), t[4][4, 3, 1]), (0, 0, 15))

    def test_grid_cells_split_at_floor_and_go_cell_major(self):
        x = np.concatenate([ramp(3, 3), 10 * ramp(3, 3)], axis=2)
        np.testing.assert_array_equal(cnnref.pool(x, {"kind": "grid", "grid": 2}),
                                      [0, 0, 1.5, 15, 4.5, 45, 6, 60])
        np.testing.assert_array_equal(cnnref.pool(x, {"kind": "global"}), [4, 40])
        with self.assertRaises(ValueError):
            cnnref.pool(x[:1, :1], {"kind": "grid", "grid": 2})


class Pipeline(unittest.TestCase):
    def test_resize_half_pixel_centres_up_and_down(self):
        x = np.array([[0, 4], [8, 12]], np.float32)[:, :, None]
        y = cnnref.resize_bilinear(x, 4)[:, :, 0]
        # source rows/columns -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
        np.testing.assert_array_equal(y[0], [0, 1, 3, 4])
        np.testing.assert_array_equal(y[:, 0], [0, 2, 6, 8])
        self.assertEqual(y[1, 1], 3.0)   # .75 (.75 * 0 + .25 * 4) + .25 (.75 * 8 + .25 * 12)
        down = cnnref.resize_bilinear(ramp(4, 4).astype(np.float32), 2)[:, :, 0]
        np.testing.assert_array_equal(down, [[2.5, 4.5], [10.5, 12.5]])  # pair means
        self.assertEqual(cnnref.resize_bilinear(x, 2).tolist(), x.tolist())

    def test_grey_becomes_rgb_then_scale_and_shift_per_channel(self):
        img = np.array([[0, 255], [51, 102]], np.uint8)[:, :, None]
        doc = {"input": {"size": 2, "scale": [1 / 255, 2 / 255, 1], "shift": [0, -1, 0]}}
        x = cnnref.preprocess(img, doc)
        self.assertEqual(x.dtype, np.float32)
        np.testing.assert_allclose(x[0, 1], [1, 1, 255])
        np.testing.assert_allclose(x[1, 0], [0.2, -0.6, 51], rtol=1e-6)
        with self.assertRaises(ValueError):
            cnnref.to_rgb(np.zeros((2, 2, 2), np.uint8))


class Converter(unittest.TestCase):
    def test_dequantise_is_min_plus_q_times_scale_in_manifest_order(self):
        manifest = {"weightsManifest": [{"paths": ["g"], "weights": [
            {"name": "a", "shape": [2, 2], "dtype": "float32",
             "quantization": {"dtype": "uint8", "min": -1, "scale": 0.5}},
            {"name": "b", "shape": [], "dtype": "float32"}]}]}
        blob = bytes([0, 1, 2, 255]) + np.float32(3.25).tobytes()
        w = cnn.dequantise(manifest, blob)
        np.testing.assert_array_equal(w["a"], [[-1, -0.5], [0, 126.5]])
        self.assertEqual(float(w["b"]), 3.25)
        with self.assertRaisesRegex(cnn.ConvertError, "1 bytes after the last weight"):
            cnn.dequantise(manifest, blob + b"x")
        with self.assertRaisesRegex(cnn.ConvertError, "weight b at byte 4"):
            cnn.dequantise(manifest, blob[:6])

    def test_same_padding_puts_the_extra_pixel_at_the_end(self):
        self.assertEqual(cnn.same_pads(96, 3, 2), (0, 1))
        self.assertEqual(cnn.same_pads(7, 3, 2), (1, 1))
        self.assertEqual(cnn.same_pads(9, 3, 1), (1, 1))
        self.assertEqual(cnn.same_pads(6, 1, 1), (0, 0))
        self.assertEqual(cnn.same_pads(5, 7, 1), (3, 3))

    def raw_chain(self, rng):
        w = rng.standard_normal((3, 3, 3, 3)).astype(np.float32)
        b = rng.standard_normal(3).astype(np.float32)
        bn = {"op": "bn", "name": "bn", "in": [2], "eps": 1e-3,
              "gamma": rng.uniform(0.5, 2, 3).astype(np.float32),
              "beta": rng.standard_normal(3).astype(np.float32),
              "mean": rng.standard_normal(3).astype(np.float32),
              "var": rng.uniform(0.1, 2, 3).astype(np.float32)}
        return [{"op": "pad", "name": "zp", "in": [0], "pad": [0, 1, 0, 1]},
                {"op": "conv", "name": "conv", "in": [1], "k": [3, 3], "s": [2, 2],
                 "padding": ("valid", [0, 0, 0, 0]), "cin": 3, "cout": 3, "act": "none",
                 "w": w, "b": b},
                bn,
                {"op": "act", "name": "relu", "in": [3], "act": "relu6"}]

    def test_pad_batch_norm_and_relu6_fold_into_one_conv(self):
        rng = np.random.default_rng(1)
        raw = self.raw_chain(rng)
        x = rng.uniform(-3, 3, (7, 7, 3))
        conv, bn = raw[1], raw[2]
        want = cnnref.conv(np.pad(x, ((0, 1), (0, 1), (0, 0))), conv["w"].astype(np.float64),
                           conv["b"].astype(np.float64), [3, 3], [2, 2], [0, 0, 0, 0], "none")
        want = np.clip((want - bn["mean"]) / np.sqrt(bn["var"].astype(np.float64) + 1e-3) *
                       bn["gamma"] + bn["beta"], 0, 6)
        ops, out = cnn.fuse(raw, 4)
        self.assertEqual(([o["op"] for o in ops], out), (["conv"], 1))
        self.assertEqual((ops[0]["act"], ops[0]["padding"]), ("relu6", ("valid", [0, 1, 0, 1])))
        sh, pads = cnn.shapes(ops, 7)
        self.assertEqual((sh[1], pads[0]), ((3, 3, 3), [0, 1, 0, 1]))  # (7 + 1 - 3) // 2 + 1
        got = cnnref.conv(x, ops[0]["w"].astype(np.float64), ops[0]["b"].astype(np.float64),
                          [3, 3], [2, 2], pads[0], "relu6")
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        self.assertGreater(np.abs(want).max(), 1)

    def test_a_cut_before_the_batch_norm_keeps_the_conv_unfolded(self):
        raw = self.raw_chain(np.random.default_rng(2))[:2]
        ops, out = cnn.fuse(raw, 2)
        self.assertEqual((len(ops), out, ops[0]["act"]), (1, 1, "none"))
        # the cut on the padding itself: the pad stays an op of its own
        ops, out = cnn.fuse(self.raw_chain(np.random.default_rng(2))[:2], 1)
        self.assertEqual([o["op"] for o in ops], ["pad", "conv"])

    def test_a_batch_norm_that_cannot_fold_is_refused_by_name(self):
        raw = self.raw_chain(np.random.default_rng(3))[:3]
        raw.append({"op": "add", "name": "sum", "in": [2, 3], "act": "none"})
        with self.assertRaisesRegex(cnn.ConvertError, r"layer bn \(BatchNormalization\)"):
            cnn.fuse(raw, 4)

    def keras(self, extra):
        layers = [{"name": "in", "class_name": "InputLayer", "inbound_nodes": [],
                   "config": {"batch_input_shape": [None, 8, 8, 3]}},
                  {"name": "c1", "class_name": "Conv2D", "inbound_nodes": [[["in", 0, 0, {}]]],
                   "config": {"kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                              "activation": "relu", "use_bias": True}}] + extra
        manifest = {"modelTopology": {"model_config": {"config": {"layers": layers}}}}
        weights = {"c1/kernel": np.ones((3, 3, 3, 4), np.float32),
                   "c1/bias": np.zeros(4, np.float32)}
        return manifest, weights

    def test_keras_layers_after_the_cut_are_dropped_unsupported_before_refused(self):
        flat = [{"name": "flat", "class_name": "Flatten", "inbound_nodes": [[["c1", 0, 0, {}]]],
                 "config": {}}]
        manifest, weights = self.keras(flat)
        raw, out, _ = cnn.keras_raw(manifest, weights, "c1")
        self.assertEqual(([r["op"] for r in raw], out, raw[0]["act"]), (["conv"], 1, "relu"))
        with self.assertRaisesRegex(cnn.ConvertError, "layer flat: Flatten is not supported"):
            cnn.keras_raw(manifest, weights, "flat")
        with self.assertRaisesRegex(cnn.ConvertError, "cut 'c2': no such layer"):
            cnn.keras_raw(manifest, weights, "c2")

    def test_min_input_is_where_a_valid_window_or_the_grid_stops_fitting(self):
        ops = [{"op": "conv", "name": "c", "in": [0], "k": [3, 3], "s": [2, 2],
                "padding": ("valid", [0, 0, 0, 0]), "cin": 3, "cout": 1, "act": "none"}]
        self.assertEqual(cnn.min_input(ops, 1, 32, {"kind": "global"}), 3)
        self.assertEqual(cnn.min_input(ops, 1, 32, {"kind": "grid", "grid": 2}), 5)
        self.assertEqual(cnn.mflops(ops, cnn.shapes(ops, 9)[0]), 2 * 16 * 27 / 1e6)

    def test_graph_node_names_shorten_to_their_layer_scope(self):
        p = "StatefulPartitionedCall/a/predict/MobilenetV2/"
        self.assertEqual(cnn.short_name(p + "expanded_conv_13/expand/Relu6"),
                         "expanded_conv_13/expand")
        self.assertEqual(cnn.short_name(p + "expanded_conv/depthwise/depthwise"),
                         "expanded_conv/depthwise")
        self.assertEqual(cnn.short_name(p + "expanded_conv_1/project/BatchNorm/FusedBatchNormV3"),
                         "expanded_conv_1/project")
        self.assertEqual(cnn.short_name(p + "Conv/Relu6"), "Conv")
        self.assertEqual(cnn.short_name(p + "expanded_conv_2/add"), "expanded_conv_2/add")


class Fixtures(unittest.TestCase):
    """The TF.js fixtures are complete and the reference pipeline gives
    their inputs bit for bit."""

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(FIXTURES, "index.json")) as f:
            cls.index = json.load(f)

    def image(self, e):
        return np.fromfile(os.path.join(FIXTURES, e["file"]), np.uint8).reshape(
            e["h"], e["w"], e["c"])

    def test_numpy_pipeline_equals_the_tfjs_inputs_bit_for_bit(self):
        images = self.index["images"]
        self.assertEqual(len(images), 4)
        for inp in self.index["inputs"]:
            arr = np.fromfile(os.path.join(FIXTURES, inp["file"]), "<f4").reshape(inp["shape"])
            doc = {"input": inp}
            for e, want in zip(images, arr):
                got = cnnref.preprocess(self.image(e), doc)
                self.assertTrue(np.array_equal(got, want), f"{e['name']} at {inp['size']}")

    def test_every_candidate_has_features_within_the_tolerance(self):
        by_name = {f["module"]: f for f in self.index["features"]}
        for r in image_modules.recipes():
            f = by_name[r["name"]]
            H, W, C = f["cut_shape"]
            g = 1 if r["pooling"] == "global" else int(r["pooling"][5:])
            self.assertEqual(f["dim"], g * g * C, r["name"])
            size = os.path.getsize(os.path.join(FIXTURES, f["file"]))
            self.assertEqual(size, 4 * 4 * f["dim"], r["name"])
            self.assertLessEqual(max(f["agreement"].values()), 1e-4, r["name"])
        self.assertTrue(all(v["differ"] == 0 for v in self.index["resize_check"].values()))

    def test_the_tiny_module_fixture_is_what_the_reference_computes(self):
        # tests/fixtures/make_vision_tiny.py: every op, for the C side's tests
        tiny = os.path.join(FIXTURES, "tiny")
        doc, w = cnnref.load(os.path.join(tiny, "cnn.json"))
        with open(os.path.join(tiny, "expected.json")) as f:
            exp = json.load(f)
        kinds = {op["op"] for op in doc["ops"]}
        self.assertEqual(kinds, {"conv", "dwconv", "maxpool", "avgpool", "pad", "add", "concat"})
        tensors = np.fromfile(os.path.join(tiny, "tensors.f32"), "<f4").reshape(
            4, exp["floats_per_image"])
        feats = np.fromfile(os.path.join(tiny, "features.f32"), "<f4").reshape(4, exp["dim"])
        by_name = {e["name"]: e for e in self.index["images"]}
        for i, name in enumerate(exp["images"]):
            t = cnnref.forward(doc, w, cnnref.preprocess(self.image(by_name[name]), doc))
            for e in exp["tensors"]:
                n = int(np.prod(e["shape"]))
                got = t[e["tensor"]]
                self.assertEqual(list(got.shape), e["shape"])
                np.testing.assert_allclose(got.ravel(), tensors[i, e["offset"]:e["offset"] + n],
                                           rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(cnnref.pool(t[doc["output"]], doc["pooling"]), feats[i],
                                       rtol=1e-6, atol=1e-6)

    def test_the_fixtures_stay_small(self):
        total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(FIXTURES)
                    for f in fs)
        self.assertLess(total, 1_000_000)


if __name__ == "__main__":
    unittest.main(verbosity=1)
