// Turns one of nsfwjs's bundled models (dist/models/NAME/) into plain files:
// OUT.json, the model manifest (modelTopology + weightsManifest, as TF.js's
// model.json would hold it), and OUT.bin, the weight shards decoded from
// base64 and concatenated in manifest order (uint8, quantised per tensor).
//
// nsfwjs ships each file as a browserify bundle (`.min.js`) whose require()
// returns the manifest object or one base64 string: evaluating them is the
// only reason node is needed by the conversion (scripts/modules/cnn.py).
//
// usage: node nsfwjs-dump.js MODEL_DIR OUT
"use strict";
const fs = require("fs");
const path = require("path");

if (process.argv.length !== 4) {
  process.stderr.write("usage: node nsfwjs-dump.js MODEL_DIR OUT\n");
  process.exit(2);
}
const dir = path.resolve(process.argv[2]);
const out = process.argv[3];
const manifest = require(path.join(dir, "model.min.js"));
if (!manifest || !manifest.modelTopology || !manifest.weightsManifest) {
  process.stderr.write(`${dir}/model.min.js: no modelTopology / weightsManifest\n`);
  process.exit(1);
}
const parts = [];
for (const group of manifest.weightsManifest) {
  for (const p of group.paths) {
    const b64 = require(path.join(dir, p + ".min.js"));
    if (typeof b64 !== "string") {
      process.stderr.write(`${dir}/${p}.min.js: not a base64 string\n`);
      process.exit(1);
    }
    parts.push(Buffer.from(b64, "base64"));
  }
}
fs.writeFileSync(out + ".json", JSON.stringify(manifest));
fs.writeFileSync(out + ".bin", Buffer.concat(parts));
