#!/usr/bin/env node
// GPU check, step "torch" (first half): runs rnnkit's layers on a backend and writes, for
// scripts/gpu-check/torch_compare.py, what PyTorch needs to run the same layers (weights from
// exportWeights('pytorch'), inputs, initial states, lengths, output gradient) and what rnnkit
// computed (outputs, final states, input / initial-state / weight gradients in PyTorch's layout),
// plus rnnkit's timings (median of --repeats runs, each ended by a device-to-host copy of a small
// result, which waits for all the stream's work).
//
//   node scripts/gpu-check/torch-export.js --dir DIR [--pkg DIR] [--backend cuda|cpu] [--small] [--repeats 20]
//
// DIR/manifest.json lists the cases; each array is a raw little-endian float32 file DIR/<case>.<name>.bin
// with its shape in the manifest (lengths as float32 too). Weight gradients are converted to
// PyTorch's layout by loading them as weights into a twin layer and exporting that (the
// mapping is a permutation); a single Keras bias comes back as one of bias_ih / bias_hh, the
// other zero, so the comparison sums them (see torch_compare.py).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const dir = path.resolve(arg('--dir', 'torch-data'));
const pkg = path.resolve(arg('--pkg', path.join(__dirname, '..', '..')));
const backend = arg('--backend', 'cuda');
const small = process.argv.includes('--small');
const repeats = Number(arg('--repeats', small ? '3' : '20'));
const rk = require(path.join(pkg, 'dist'));

const { mulberry32, uniform } = require('./random');

// [N, T, D, H]. The timed shapes are the issue's; the others check options against cuDNN.
const BIG = small ? [4, 10, 8, 16] : [32, 100, 128, 256];
const ONE = small ? [1, 10, 6, 12] : [1, 100, 64, 128];
const MID = small ? [3, 8, 5, 7] : [8, 40, 32, 64];
const CASE_LIST = [
  { cell: 'lstm', shape: BIG, time: true },
  { cell: 'gru', shape: BIG, time: true },
  { cell: 'lstm', shape: ONE, time: true },
  { cell: 'gru', shape: ONE, time: true },
  { cell: 'rnn', shape: MID },
  { cell: 'lstm', shape: MID, lengths: true },
  { cell: 'gru', shape: MID, lengths: true },
  { cell: 'lstm', shape: MID, lengths: true, bi: true },
  { cell: 'gru', shape: MID, bi: true },
];
// Names such as lstm_32x100x128x256, bilstm_lengths_8x40x32x64 (N x T x D x H).
const CASES = CASE_LIST.map((c) => ({ ...c, name: `${c.bi ? 'bi' : ''}${c.cell}${c.lengths ? '_lengths' : ''}_${c.shape.join('x')}` }));

function makeLayer(c, H, seed) {
  const o = { units: H, returnSequences: true, seed };
  const inner = c.cell === 'lstm' ? rk.layers.lstm(o) : c.cell === 'gru' ? rk.layers.gru({ ...o, resetAfter: true }) : rk.layers.simpleRNN(o);
  return c.bi ? rk.layers.bidirectional({ layer: inner, mergeMode: 'concat' }) : inner;
}

const manifest = { backend, small, repeats, cases: [] };
function save(entry, name, data, shape) {
  const file = `${entry.name}.${name}.bin`;
  const f = data instanceof Float32Array ? data : Float32Array.from(data);
  fs.writeFileSync(path.join(dir, file), Buffer.from(f.buffer, f.byteOffset, f.byteLength));
  entry.arrays[name] = { file, shape };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : null;
}

async function timeIt(fn) {
  for (let i = 0; i < 3; i++) await fn(); // warm-up: cuBLAS handle, allocator cache
  const ms = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { medianMs: median(ms), minMs: Math.min(...ms), runs: ms.length };
}

async function runCase(c, caseSeed) {
  const [N, T, D, H] = c.shape;
  const next = mulberry32(caseSeed);
  const dirs = c.bi ? 2 : 1;
  const nStates = (c.cell === 'lstm' ? 2 : 1) * dirs;
  const entry = { name: c.name, cell: c.cell, bidirectional: !!c.bi, shape: { N, T, D, H }, time: !!c.time, arrays: {} };
  rk.setBackend(backend);
  const layer = makeLayer(c, H, caseSeed);
  layer.build([null, T, D]);
  // Weights drawn a little larger than the initializers' so the gates leave their linear range.
  const weights = layer.getWeights().map((w) => uniform(next, w.size ?? w.shape.reduce((a, b) => a * b, 1), -0.3, 0.3));
  layer.setWeights(weights);
  const exported = layer.exportWeights('pytorch');
  entry.weights = [];
  for (const [k, t] of Object.entries(exported)) {
    save(entry, `w.${k}`, t.dataSync(), t.shape);
    entry.weights.push(k);
    t.dispose();
  }
  const xv = uniform(next, N * T * D);
  const lengths = c.lengths ? Int32Array.from({ length: N }, (_, n) => (n === 0 ? T : 1 + Math.floor(next() * T))) : null;
  const statesV = Array.from({ length: nStates }, () => uniform(next, N * H, -0.5, 0.5));
  const dOutV = uniform(next, N * T * dirs * H);
  save(entry, 'x', xv, [N, T, D]);
  if (lengths) save(entry, 'lengths', Float32Array.from(lengths), [N]);
  statesV.forEach((s, i) => save(entry, `h0.${i}`, s, [N, H]));
  save(entry, 'dOutput', dOutV, [N, T, dirs * H]);
  entry.stateOrder = c.cell === 'lstm' ? (c.bi ? ['h_fw', 'c_fw', 'h_bw', 'c_bw'] : ['h', 'c']) : c.bi ? ['h_fw', 'h_bw'] : ['h'];

  const x = rk.tensor(xv, [N, T, D]);
  const init = statesV.map((s) => rk.tensor(s, [N, H]));
  const dOut = rk.tensor(dOutV, [N, T, dirs * H]);
  const opts = { initialState: init, ...(lengths ? { lengths } : {}) };
  const fwd = await layer.forward(x, { ...opts, training: true });
  const g = await layer.backward(fwd, { dOutput: dOut });
  entry.device = fwd.output.device;
  save(entry, 'rk.output', fwd.output.dataSync(), fwd.output.shape);
  fwd.states.forEach((s, i) => save(entry, `rk.state.${i}`, s.dataSync(), s.shape));
  save(entry, 'rk.dInput', g.dInput.dataSync(), g.dInput.shape);
  g.dInitialState.forEach((s, i) => save(entry, `rk.dh0.${i}`, s.dataSync(), s.shape));
  // Weight gradients to PyTorch's layout through a twin layer on the CPU.
  const dW = g.dWeights.map((w) => w.dataSync());
  rk.setBackend('cpu');
  const twin = makeLayer(c, H, caseSeed);
  twin.build([null, T, D]);
  twin.setWeights(dW);
  for (const [k, t] of Object.entries(twin.exportWeights('pytorch'))) {
    save(entry, `rk.grad.${k}`, t.dataSync(), t.shape);
    t.dispose();
  }
  rk.setBackend(backend);
  fwd.dispose();
  for (const t of [g.dInput, ...g.dInitialState, ...g.dWeights]) t.dispose();

  if (c.time) {
    entry.rkTiming = {
      forward: await timeIt(async () => {
        const f = await layer.forward(x, opts);
        await f.states[0].data();
        f.dispose();
      }),
      forwardBackward: await timeIt(async () => {
        const f = await layer.forward(x, { ...opts, training: true });
        const gg = await layer.backward(f, { dOutput: dOut });
        await gg.dWeights[gg.dWeights.length - 1].data();
        f.dispose();
        for (const t of [gg.dInput, ...gg.dInitialState, ...gg.dWeights]) t.dispose();
      }),
    };
    console.log(`${c.name}: rnnkit ${backend} forward ${entry.rkTiming.forward.medianMs.toFixed(3)} ms, forward+backward ${entry.rkTiming.forwardBackward.medianMs.toFixed(3)} ms (median of ${repeats})`);
  }
  for (const t of [x, dOut, ...init]) t.dispose();
  rk.setBackend('cpu');
  return entry;
}

async function main() {
  fs.mkdirSync(dir, { recursive: true });
  const info = rk.backends().find((b) => b.name === backend);
  manifest.backendInfo = info;
  if (!info || !info.available) {
    manifest.error = `${backend} backend unavailable: ${info ? info.reason : 'not listed'}`;
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
    console.log(manifest.error);
    return 2;
  }
  let seed = 100;
  let failed = 0;
  for (const c of CASES) {
    try {
      manifest.cases.push(await runCase(c, seed++));
      console.log(`exported ${c.name}`);
    } catch (e) {
      failed++;
      rk.setBackend('cpu');
      manifest.cases.push({ name: c.name, error: String(e && e.stack ? e.stack : e) });
      console.log(`FAIL ${c.name}: ${e && e.stack ? e.stack : e}`);
    }
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
