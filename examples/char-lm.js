#!/usr/bin/env node
// A character-level language model trained on Shakespeare's sonnets (public domain,
// shipped in examples/data): an LSTM reads 40 characters and predicts the next one at
// every step. It trains with model.fit, saves the model in the tfjs-layers format, loads
// it back and writes new text by temperature sampling.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const rk = require('..');

const WINDOW = 40;
const STRIDE = 3;
const UNITS = Number(process.env.DEMO_UNITS ?? 192);
const EPOCHS = Number(process.env.DEMO_EPOCHS ?? 30);
const GENERATE = 400;

const text = fs.readFileSync(path.join(__dirname, 'data', 'sonnets.txt'), 'utf8');
const vocab = [...new Set(text)].sort();
const index = new Map(vocab.map((c, i) => [c, i]));
const V = vocab.length;

function oneHot(chars) {
  const x = new Float32Array(chars.length * V);
  chars.forEach((c, t) => (x[t * V + index.get(c)] = 1));
  return x;
}

// Windows of WINDOW characters; the target at each step is the character that follows.
function dataset() {
  const starts = [];
  for (let s = 0; s + WINDOW + 1 <= text.length; s += STRIDE) starts.push(s);
  const x = new Float32Array(starts.length * WINDOW * V);
  const y = new Float32Array(starts.length * WINDOW);
  starts.forEach((s, n) => {
    x.set(oneHot([...text.slice(s, s + WINDOW)]), n * WINDOW * V);
    for (let t = 0; t < WINDOW; t++) y[n * WINDOW + t] = index.get(text[s + t + 1]);
  });
  return { x: rk.tensor(x, [starts.length, WINDOW, V]), y: rk.tensor(y, [starts.length, WINDOW]) };
}

// A seeded generator, so runs are repeatable.
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sample(probs, temperature, rand) {
  const logits = Array.from(probs, (p) => Math.log(Math.max(p, 1e-12)) / temperature);
  const max = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - max));
  let r = rand() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) if ((r -= weights[i]) <= 0) return i;
  return weights.length - 1;
}

async function generate(model, seed, temperature, rand) {
  let context = [...seed];
  let out = '';
  for (let i = 0; i < GENERATE; i++) {
    const window = context.slice(-WINDOW);
    const x = rk.tensor(oneHot(window), [1, window.length, V]);
    const y = await model.predict(x);
    const probs = y.dataSync().subarray((window.length - 1) * V);
    const next = vocab[sample(probs, temperature, rand)];
    x.dispose();
    y.dispose();
    out += next;
    context.push(next);
  }
  return out;
}

async function main() {
  const { x, y } = dataset();
  console.log(`sonnets: ${text.length} characters, ${V} distinct; ${x.shape[0]} windows of ${WINDOW}; ` +
    `rnnkit on ${rk.getBackend()} (${rk.getIsa()}, ${rk.getNumThreads()} threads)`);
  const model = rk.sequential([
    rk.layers.lstm({ units: UNITS, returnSequences: true, inputShape: [null, V], seed: 1 }),
    rk.layers.dense({ units: V, activation: 'softmax', seed: 2 }),
  ]);
  console.log(model.summary());
  model.compile({
    loss: 'sparseCategoricalCrossentropy',
    optimizer: rk.optimizers.adam({ learningRate: 0.005, clipnorm: 1 }),
    metrics: ['accuracy'],
  });
  const started = Date.now();
  const history = await model.fit(x, y, { epochs: EPOCHS, batchSize: 64, validationSplit: 0.1, seed: 3 });
  const seconds = (Date.now() - started) / 1000;
  console.log(`trained ${EPOCHS} epochs in ${seconds.toFixed(1)} s (${(seconds / EPOCHS).toFixed(2)} s per epoch); ` +
    `loss ${history.history.loss[0].toFixed(3)} -> ${history.history.loss.at(-1).toFixed(3)} (uniform guessing: ${Math.log(V).toFixed(3)})`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-char-lm-'));
  await model.save(dir);
  const loaded = await rk.loadModel(dir);
  console.log(`saved to ${dir}/model.json and loaded back`);

  const rand = mulberry32(7);
  const seed = 'Shall I compare thee to a summer';
  for (const temperature of [0.5, 0.8]) {
    console.log(`\n--- temperature ${temperature}, seed "${seed}" ---\n${seed}${await generate(loaded, seed, temperature, rand)}`);
  }
  x.dispose();
  y.dispose();
  model.dispose();
  loaded.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
