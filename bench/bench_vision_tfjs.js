// bench/bench_vision_tfjs.js - the TF.js side of `make bench-vision`: a taml-cnn-1
// graph (cnn.json + weights.f32) built with @tensorflow/tfjs ops (CPU backend,
// node, one thread: JavaScript), the same input pipeline (grey to RGB,
// resizeBilinear with half-pixel centres, scale and shift) and cut pooling.
//   NODE_PATH=.../node_modules node bench/bench_vision_tfjs.js cnn.json weights.f32 \
//       images.u8 N H W C
// Prints one JSON line: images/s (wall and process CPU) and the features of
// the first batch (4 images) for bench_vision.py to compare with taml's.
'use strict';
const fs = require('fs');
const tf = require('@tensorflow/tfjs');

function sameOrValid(op, h, w) {
  // 'valid' when unpadded, 'same' when the pads are TF's 'same' for this size
  const [pt, pb, pl, pr] = op.pad;
  if (pt + pb + pl + pr === 0) return 'valid';
  const side = (n, k, s) => {
    const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [a, b] = side(h, op.k[0], op.s[0]), [c, d] = side(w, op.k[1], op.s[1]);
  return a === pt && b === pb && c === pl && d === pr ? 'same' : null;
}

function act(y, a) {
  if (a === 'relu') return tf.relu(y);
  if (a === 'relu6') return tf.relu6(y);
  return y;
}

function build(model, weights) {
  const need = new Array(model.ops.length).fill(false);
  need[model.output - 1] = true;
  for (let k = model.ops.length - 1; k >= 0; k--)
    if (need[k]) for (const t of model.ops[k].in) if (t > 0) need[t - 1] = true;
  const params = model.ops.map((op) => {
    if (op.op !== 'conv' && op.op !== 'dwconv') return null;
    const [kh, kw] = op.k;
    const cout = op.op === 'conv' ? op.cout : op.c;
    const n = op.op === 'conv' ? kh * kw * op.cin * op.cout : kh * kw * op.c;
    const shape = op.op === 'conv' ? [kh, kw, op.cin, op.cout] : [kh, kw, op.c, 1];
    return {w: tf.tensor4d(weights.subarray(op.w, op.w + n), shape),
            b: tf.tensor1d(weights.subarray(op.b, op.b + cout))};
  });
  return (x) => {
    const t = [x];
    model.ops.forEach((op, k) => {
      if (!need[k]) { t.push(null); return; }
      const a = t[op.in[0]];
      const [, h, w] = a.shape;
      const explicit = [[0, 0], [op.pad ? op.pad[0] : 0, op.pad ? op.pad[1] : 0],
                        [op.pad ? op.pad[2] : 0, op.pad ? op.pad[3] : 0], [0, 0]];
      let y;
      if (op.op === 'conv' || op.op === 'dwconv') {
        const p = params[k];
        const pad = sameOrValid(op, h, w);
        const xin = pad ? a : tf.pad(a, explicit);
        y = op.op === 'conv' ? tf.conv2d(xin, p.w, op.s, pad || 'valid')
                             : tf.depthwiseConv2d(xin, p.w, op.s, pad || 'valid');
        y = act(tf.add(y, p.b), op.act);
      } else if (op.op === 'maxpool' || op.op === 'avgpool') {
        const pad = sameOrValid(op, h, w);
        if (!pad && op.op === 'avgpool') throw new Error(`${op.name}: padding TF.js cannot express`);
        const xin = pad ? a : tf.pad(a, explicit, -Infinity);
        y = (op.op === 'maxpool' ? tf.maxPool : tf.avgPool)(xin, op.k, op.s, pad || 'valid');
      } else if (op.op === 'pad') {
        y = tf.pad(a, explicit);
      } else if (op.op === 'add') {
        y = act(tf.add(a, t[op.in[1]]), op.act || 'none');
      } else {
        y = tf.concat(op.in.map((i) => t[i]), 3);
      }
      t.push(y);
    });
    return t[model.output];
  };
}

function main() {
  const [jsonPath, weightsPath, imagesPath, nArg, hArg, wArg, cArg] = process.argv.slice(2);
  const model = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const wb = fs.readFileSync(weightsPath);
  const weights = new Float32Array(wb.buffer, wb.byteOffset, wb.length / 4);
  const images = fs.readFileSync(imagesPath);
  const [n, h, w, c] = [nArg, hArg, wArg, cArg].map(Number);
  const S = model.input.size;
  const net = build(model, weights);
  const grid = model.pooling.kind === 'grid' ? model.pooling.grid : 1;
  const scale = tf.tensor1d(model.input.scale), shift = tf.tensor1d(model.input.shift);
  const features = (start, b) => tf.tidy(() => {
    const px = new Float32Array(b * h * w * c);
    for (let i = 0; i < px.length; i++) px[i] = images[(start * h * w * c + i) % images.length];
    let x = tf.tensor4d(px, [b, h, w, c]);
    if (c === 1) x = tf.tile(x, [1, 1, 1, 3]);
    x = tf.image.resizeBilinear(x, [S, S], false, true);
    x = tf.add(tf.mul(x, scale), shift);
    const y = net(x);
    const [, H, W, C] = y.shape;
    const cells = [];
    for (let i = 0; i < grid; i++)
      for (let j = 0; j < grid; j++) {
        const y0 = Math.floor(i * H / grid), y1 = Math.floor((i + 1) * H / grid);
        const x0 = Math.floor(j * W / grid), x1 = Math.floor((j + 1) * W / grid);
        cells.push(tf.mean(tf.slice(y, [0, y0, x0, 0], [b, y1 - y0, x1 - x0, C]), [1, 2]));
      }
    return tf.stack(cells, 1).reshape([b, grid * grid * C]).dataSync();
  });
  const batch = Math.min(4, n);
  const first = Array.from(features(0, batch));  // warm-up, and the features to compare
  const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
  for (let done = 0; done < n; done += batch) features(done, Math.min(batch, n - done));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0), cpu = (cu.user + cu.system) / 1e6;
  console.log(JSON.stringify({backend: tf.getBackend(), version: tf.version.tfjs, images: n,
                              images_per_s: n / wall, images_per_cpu_s: n / cpu,
                              features: first}));
}

main();
