// The TF.js side of the image-module reference (scripts/modules/tfjs-reference
// drives it): runs one of nsfwjs's original models in TF.js (cpu backend)
// on a few images and writes, per image, what the module pipeline would
// see at each step, all float32 little-endian:
//   resize-I.f32      the RGB image resized by tf.image.resizeBilinear
//                     (alignCorners false, halfPixelCenters true), unscaled
//   input-I.f32       tensor 0 of the module: for a layers model the model's
//                     input (resized * scale + shift); for the graph model the
//                     output of its input scaling node (its Mul/Sub)
//   cut-J-I.f32       the output of cut J (H x W x C)
//   cut-J-I-P.f32     that output pooled, P = global (tf.mean over H, W) or
//                     gridG (the G x G cells of docs/modules.md, each tf.mean)
// and OUT/result.json (shapes). A layers model is loaded with its input
// shape set to the module's size and cut after the last cut layer (the
// layers after it would not fit a small input); the graph model with its
// Placeholder's shape set to the size.
//
// usage: node tfjs-reference.js JOB.json   (the job: see tfjs-reference)
"use strict";
const fs = require("fs");
const path = require("path");

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const tf = require(path.join(job.tfjs, "node_modules", "@tensorflow", "tfjs"));

function f32(file, tensor) {
  const data = tensor.dataSync();
  fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

function ancestors(layers, cuts) {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const need = new Set();
  const stack = [...cuts];
  while (stack.length) {
    const n = stack.pop();
    if (need.has(n)) continue;
    if (!byName.has(n)) throw new Error(`no layer ${n}`);
    need.add(n);
    for (const node of byName.get(n).inbound_nodes) for (const ref of node) stack.push(ref[0]);
  }
  return need;
}

function pool(t, spec) {
  // t: [1, H, W, C]
  if (spec === "global") return tf.mean(t, [1, 2]).reshape([-1]);
  const g = parseInt(spec.slice(4), 10);
  const [, H, W, C] = t.shape;
  const cells = [];
  for (let i = 0; i < g; i++) {
    for (let j = 0; j < g; j++) {
      const r0 = Math.floor((i * H) / g), r1 = Math.floor(((i + 1) * H) / g);
      const c0 = Math.floor((j * W) / g), c1 = Math.floor(((j + 1) * W) / g);
      cells.push(tf.mean(t.slice([0, r0, c0, 0], [1, r1 - r0, c1 - c0, C]), [1, 2]).reshape([-1]));
    }
  }
  return tf.concat(cells);
}

async function main() {
  await tf.setBackend("cpu");
  const manifest = JSON.parse(fs.readFileSync(job.model.json, "utf8"));
  const bin = fs.readFileSync(job.model.bin);
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const weightSpecs = manifest.weightsManifest.flatMap((g) => g.weights);
  const topo = JSON.parse(JSON.stringify(manifest.modelTopology));
  const S = job.size;
  let run;
  if (job.model.kind === "layers") {
    const cfg = topo.model_config.config;
    const need = ancestors(cfg.layers, job.cuts.map((c) => c.name));
    cfg.layers = cfg.layers.filter((l) => need.has(l.name));
    for (const l of cfg.layers) {
      if (l.class_name === "InputLayer") l.config.batch_input_shape = [null, S, S, 3];
    }
    cfg.output_layers = job.cuts.map((c) => [c.name, 0, 0]);
    delete topo.training_config;
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: topo, weightSpecs, weightData }), { strict: false });
    run = (x) => {
      let outs = model.predict(x);
      if (!Array.isArray(outs)) outs = [outs];
      return { input: x, cuts: outs };
    };
  } else {
    for (const n of topo.node) {
      if (n.op === "Placeholder") {
        n.attr.shape.shape.dim = [{ size: "-1" }, { size: String(S) }, { size: String(S) }, { size: "3" }];
      }
    }
    const meta = manifest.userDefinedMetadata;
    if (meta && meta.signature) {
      for (const k of Object.keys(meta.signature.inputs)) {
        meta.signature.inputs[k].tensorShape.dim = [{ size: "-1" }, { size: String(S) }, { size: String(S) }, { size: "3" }];
      }
    }
    const model = await tf.loadGraphModel(tf.io.fromMemory({
      modelTopology: topo, weightSpecs, weightData, format: manifest.format,
      generatedBy: manifest.generatedBy, convertedBy: manifest.convertedBy,
      userDefinedMetadata: meta,
    }));
    run = (x) => {
      const outs = model.execute(x, [job.input_node, ...job.cuts.map((c) => c.node)]);
      return { input: outs[0], cuts: outs.slice(1) };
    };
  }
  const result = { cuts: [] };
  job.images.forEach((img, i) => {
    tf.tidy(() => {
      const bytes = fs.readFileSync(img.file);
      let x = tf.tensor3d(Float32Array.from(bytes), [img.h, img.w, img.c], "float32");
      if (img.c === 1) x = tf.tile(x, [1, 1, 3]);
      const resized = tf.image.resizeBilinear(x.expandDims(0), [S, S], false, true);
      f32(path.join(job.out, `resize-${i}.f32`), resized);
      const xin = resized.mul(tf.tensor1d(job.scale)).add(tf.tensor1d(job.shift));
      const out = run(xin);
      f32(path.join(job.out, `input-${i}.f32`), out.input);
      out.cuts.forEach((t, j) => {
        if (i === 0) result.cuts.push(t.shape.slice(1));
        f32(path.join(job.out, `cut-${j}-${i}.f32`), t);
        for (const p of job.poolings) f32(path.join(job.out, `cut-${j}-${i}-${p}.f32`), pool(t, p));
      });
    });
  });
  // Resizes to other sizes, for the resize check alone.
  (job.resize_sizes || []).forEach((s) => {
    job.images.forEach((img, i) => {
      tf.tidy(() => {
        const bytes = fs.readFileSync(img.file);
        let x = tf.tensor3d(Float32Array.from(bytes), [img.h, img.w, img.c], "float32");
        if (img.c === 1) x = tf.tile(x, [1, 1, 3]);
        f32(path.join(job.out, `resize-${i}-${s}.f32`),
          tf.image.resizeBilinear(x.expandDims(0), [s, s], false, true));
      });
    });
  });
  result.tfjs = tf.version.tfjs;
  result.backend = tf.getBackend();
  fs.writeFileSync(path.join(job.out, "result.json"), JSON.stringify(result));
}

main().catch((e) => {
  process.stderr.write(`tfjs-reference.js: ${e.stack || e}\n`);
  process.exit(1);
});
