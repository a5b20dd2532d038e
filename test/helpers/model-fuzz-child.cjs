// Child of the model-file fuzzer (model-fuzz.ts): loads each listed model folder with
// rk.loadModel, one at a time, and prints one JSON verdict line per folder.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
// RNNKIT_FUZZ_PACKAGE: another build of the package (e.g. an older one, to see the fuzzer find its bugs).
const rk = require(process.env.RNNKIT_FUZZ_PACKAGE || path.resolve(__dirname, '../../dist'));

const { canary, timeoutMs, dirs } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

/** One forward pass over a loaded model (accepted files must run, not crash); skipped for big shapes. */
async function predictOnce(model, i) {
  const shape = model.inputShape;
  if (!shape) return;
  const dims = shape.map((d, k) => (k === 0 ? 2 : d === null ? 3 : d));
  if (dims.some((d) => d > 64)) return;
  const n = dims.reduce((a, b) => a * b, 1);
  const first = model.layers[0];
  const ids = first && first.constructor.name === 'Embedding' ? first.inputDim : 0;
  const values = new Float32Array(n);
  for (let k = 0; k < n; k++) values[k] = ids > 1 ? 1 + ((k * 7 + i) % (ids - 1)) : Math.sin(k + i);
  const out = await model.predict(rk.tensor(values, dims));
  out.dispose();
}

async function main() {
  for (let i = 0; i < dirs.length; i++) {
    const t0 = Date.now();
    let v;
    try {
      const model = await rk.loadModel(dirs[i], { timeoutMs });
      let found = false;
      for (const w of model.getWeights()) {
        if (w.dataSync().includes(canary)) found = true;
        w.dispose();
      }
      try {
        await predictOnce(model, i);
      } catch {
        // a model that loads but cannot run this input: not the loader's concern
      }
      model.dispose();
      v = { index: i, ok: true, canary: found, ms: Date.now() - t0 };
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      v = { index: i, ok: false, name: err.constructor.name, code: err.code ?? null, message: String(err.message).slice(0, 300), ms: Date.now() - t0 };
    }
    process.stdout.write(`${JSON.stringify(v)}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`fuzz child failed: ${e && e.stack}\n`);
  process.exit(2);
});
