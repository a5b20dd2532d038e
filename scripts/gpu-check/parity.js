#!/usr/bin/env node
// GPU check, step "parity": every recurrent cell and option, forward and backward, run on the
// CUDA backend and on the CPU backend with the same seeded weights and data, compared tensor by
// tensor; then gradient clipping and a short fit. Plain JavaScript against dist/ (no build step),
// so the Node binary carried to the GPU machine runs it as it is.
//
//   node scripts/gpu-check/parity.js [--pkg DIR] [--out FILE] [--quick] [--tol 1e-5]
//
//   --pkg    package root holding dist/ (default: this checkout)
//   --out    JSON report (default: print only)
//   --quick  first shape only, fewer options (for compute-sanitizer, which is ~100x slower)
//   --tol    largest relative error that passes (default 1e-5, GPU_CHECK_TOL)
//
// The CUDA plugin is the one the registry finds (RNNKIT_CUDA_PLUGIN, RNNKIT_CUBLAS): on a
// machine without a GPU, RNNKIT_CUDA_PLUGIN=build-cuda/rnnkit_cuda_emu.so runs this script's
// logic against the emulated device. Relative error of element i: |got - ref| / max(|ref|, rms(ref))
// (as native/cuda/check/check.cpp), so sums that cancel to near zero do not divide by nothing.
// Exit status: 0 all passed, 1 a case failed, 2 the CUDA backend is unavailable.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const quick = process.argv.includes('--quick');
const pkg = path.resolve(arg('--pkg', path.join(__dirname, '..', '..')));
const outFile = arg('--out', null);
const tol = Number(arg('--tol', process.env.GPU_CHECK_TOL || '1e-5'));
const rk = require(path.join(pkg, 'dist'));

const { mulberry32, uniform } = require('./random');

function relError(got, ref) {
  if (got.length !== ref.length) return Infinity;
  let ms = 0;
  for (let i = 0; i < ref.length; i++) ms += ref[i] * ref[i];
  const floor = Math.max(Math.sqrt(ms / Math.max(1, ref.length)), 1e-30);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(ref[i]) && Number.isNaN(got[i])) continue;
    const e = Math.abs(got[i] - ref[i]) / Math.max(Math.abs(ref[i]), floor);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

// ---- the matrix -----------------------------------------------------------------------

const CELLS = [
  { name: 'simpleRNN', make: (o) => rk.layers.simpleRNN(o), states: 1 },
  { name: 'lstm', make: (o) => rk.layers.lstm(o), states: 2 },
  { name: 'gru(resetAfter)', make: (o) => rk.layers.gru({ ...o, resetAfter: true }), states: 1 },
  { name: 'gru(classic)', make: (o) => rk.layers.gru({ ...o, resetAfter: false }), states: 1 },
];

// [N, T, D, H]: small; odd sizes (partial blocks, unaligned rows); one that fills more blocks.
const SHAPES = quick ? [[5, 7, 3, 8]] : [[5, 7, 3, 8], [9, 6, 17, 129], [64, 12, 32, 96]];

// Each option set: layer options, forward options (lengths etc. are filled per shape).
const VARIANTS = [
  { name: 'last output', layer: {}, fwd: {} },
  { name: 'returnSequences', layer: { returnSequences: true }, fwd: {} },
  { name: 'goBackwards', layer: { returnSequences: true, goBackwards: true }, fwd: {} },
  { name: 'lengths (zeros incl.)', layer: { returnSequences: true }, fwd: { lengths: true } },
  { name: 'lengths, last output', layer: {}, fwd: { lengths: true } },
  { name: 'lengths, maskedOutput carry', layer: { returnSequences: true, maskedOutput: 'carry' }, fwd: { lengths: true } },
  { name: 'lengths, goBackwards', layer: { returnSequences: true, goBackwards: true }, fwd: { lengths: true } },
  { name: 'initial states', layer: { returnSequences: true }, fwd: { initialState: true } },
  { name: 'initial states, lengths, dStates', layer: { returnSequences: true }, fwd: { initialState: true, lengths: true, dStates: true } },
  { name: 'mask (front padding)', layer: { returnSequences: true }, fwd: { mask: true } },
  { name: 'no bias, other activations', layer: { returnSequences: true, useBias: false, activation: 'relu', otherRecurrent: true }, fwd: { lengths: true } },
  { name: 'bidirectional concat', bi: 'concat', layer: { returnSequences: true }, fwd: { lengths: true, initialState: true } },
  { name: 'bidirectional sum, last output', bi: 'sum', layer: {}, fwd: { lengths: true } },
  { name: 'bidirectional ave, goBackwards', bi: 'ave', layer: { returnSequences: true, goBackwards: true }, fwd: {} },
  { name: 'bidirectional mul, carry', bi: 'mul', layer: { returnSequences: true, maskedOutput: 'carry' }, fwd: { lengths: true } },
];
const QUICK_VARIANTS = ['returnSequences', 'lengths, maskedOutput carry', 'initial states, lengths, dStates', 'bidirectional concat'];

function lengthsFor(next, N, T) {
  // Zeros, full lengths and everything between (as the check program's lengths_for).
  const v = new Int32Array(N);
  for (let n = 0; n < N; n++) v[n] = n % (T + 1);
  if (N > 1) v[1] = T;
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

function makeLayer(cell, variant, units, seed) {
  const o = { units, seed, ...variant.layer };
  delete o.otherRecurrent;
  if (variant.layer.otherRecurrent && cell.name !== 'simpleRNN') o.recurrentActivation = 'hardSigmoid';
  if (variant.bi) {
    // bidirectional takes the wrapped layer's returnSequences / goBackwards.
    return rk.layers.bidirectional({ layer: cell.make(o), mergeMode: variant.bi });
  }
  return cell.make(o);
}

// One case on the current backend: forward (inference and training) and backward.
async function runCase(cell, variant, shape, data, weights) {
  const [N, T, D, H] = shape;
  const layer = makeLayer(cell, variant, H, 1234);
  layer.build([null, T, D]);
  if (weights) layer.setWeights(weights);
  const held = [];
  const t = (v, s) => {
    const x = rk.tensor(v, s);
    held.push(x);
    return x;
  };
  const x = t(data.x, [N, T, D]);
  const opts = {};
  if (data.lengths) opts.lengths = data.lengths;
  if (data.mask) opts.mask = data.mask;
  if (data.initialState) opts.initialState = data.initialState.map((v) => t(v, [N, H]));
  const inference = await layer.forward(x, opts);
  const fwd = await layer.forward(x, { ...opts, training: true });
  const dOut = t(data.dOutput(fwd.output.shape), fwd.output.shape);
  const back = { dOutput: dOut };
  if (data.dStates) back.dStates = fwd.states.map((s, i) => t(data.dStates(i, s.shape), s.shape));
  const g = await layer.backward(fwd, back);
  const result = {
    devices: [...new Set([x.device, fwd.output.device, g.dInput.device, ...g.dWeights.map((w) => w.device)])],
    tensors: {
      'output (inference)': inference.output.dataSync(),
      output: fwd.output.dataSync(),
      ...Object.fromEntries(fwd.states.map((s, i) => [`state[${i}]`, s.dataSync()])),
      dInput: g.dInput.dataSync(),
      ...Object.fromEntries(g.dInitialState.map((s, i) => [`dInitialState[${i}]`, s.dataSync()])),
      ...Object.fromEntries(g.dWeights.map((w, i) => [`dWeights[${i}]`, w.dataSync()])),
    },
    weights: weights ? null : layer.getWeights().map((w) => w.dataSync()),
  };
  for (const r of [inference, fwd]) r.dispose();
  for (const a of [g.dInput, ...g.dInitialState, ...g.dWeights, ...held]) a.dispose();
  layer.dispose?.();
  return result;
}

function dataFor(cell, variant, shape, seed) {
  const [N, T, D, H] = shape;
  const next = mulberry32(seed);
  const states = cell.states * (variant.bi ? 2 : 1);
  const data = { x: uniform(next, N * T * D) };
  if (variant.fwd.lengths) data.lengths = lengthsFor(next, N, T);
  if (variant.fwd.mask) {
    // Front padding: each row's first k steps are masked out.
    data.mask = new Uint8Array(N * T);
    for (let n = 0; n < N; n++) {
      const k = Math.floor(next() * (T + 1));
      for (let s = k; s < T; s++) data.mask[n * T + s] = 1;
    }
  }
  if (variant.fwd.initialState) data.initialState = Array.from({ length: states }, () => uniform(next, N * H, -0.5, 0.5));
  const seedOut = Math.floor(next() * 2 ** 31);
  data.dOutput = (s) => uniform(mulberry32(seedOut), s.reduce((a, b) => a * b, 1));
  if (variant.fwd.dStates) data.dStates = (i, s) => uniform(mulberry32(seedOut + 1 + i), s.reduce((a, b) => a * b, 1));
  return data;
}

async function parityMatrix(report) {
  let seed = 1;
  const variants = quick ? VARIANTS.filter((v) => QUICK_VARIANTS.includes(v.name)) : VARIANTS;
  for (const shape of SHAPES)
    for (const cell of CELLS)
      for (const variant of variants) {
        const name = `${cell.name} | ${variant.name} | ${shape.join('x')}`;
        const entry = { name, cell: cell.name, variant: variant.name, shape, ok: false };
        const t0 = Date.now();
        try {
          const data = dataFor(cell, variant, shape, seed++);
          rk.setBackend('cpu');
          const ref = await runCase(cell, variant, shape, data, null);
          rk.setBackend('cuda');
          const got = await runCase(cell, variant, shape, data, ref.weights);
          rk.setBackend('cpu');
          entry.errors = {};
          let worst = 0;
          for (const [k, v] of Object.entries(ref.tensors)) {
            const e = relError(got.tensors[k] ?? new Float32Array(0), v);
            entry.errors[k] = e;
            worst = Math.max(worst, e);
          }
          entry.maxRelError = worst;
          entry.forwardMaxRelError = Math.max(
            ...Object.entries(entry.errors).filter(([k]) => k.startsWith('output') || k.startsWith('state')).map(([, e]) => e),
          );
          entry.backwardMaxRelError = Math.max(0, ...Object.entries(entry.errors).filter(([k]) => k.startsWith('d')).map(([, e]) => e));
          entry.devices = got.devices;
          const onCuda = got.devices.length === 1 && got.devices[0] === 'cuda';
          entry.ok = worst <= tol && onCuda;
          if (!onCuda) entry.error = `tensors not on cuda: ${got.devices.join(',')}`;
        } catch (e) {
          rk.setBackend('cpu');
          entry.error = String(e && e.stack ? e.stack : e);
        }
        entry.ms = Date.now() - t0;
        report.cases.push(entry);
        console.log(
          `${entry.ok ? 'OK  ' : 'FAIL'} ${name.padEnd(62)} fwd=${fmt(entry.forwardMaxRelError)} bwd=${fmt(entry.backwardMaxRelError)}${entry.error ? '  ' + entry.error.split('\n')[0] : ''}`,
        );
      }
}

function fmt(e) {
  return e === undefined ? '-' : e.toExponential(2);
}

// rk.clip.* on both devices: byValue, byNorm (per tensor), byGlobalNorm (norm and tensors).
function clipChecks(report) {
  const next = mulberry32(777);
  const shapes = [[7], [33, 65], [300, 129], [1]];
  const values = shapes.map((s) => uniform(next, s.reduce((a, b) => a * b, 1), -3, 3));
  const run = (backend) => {
    rk.setBackend(backend);
    const ts = values.map((v, i) => rk.tensor(v, shapes[i]));
    const byValue = rk.clip.byValue(ts, 0.7).map((t) => t.dataSync());
    const byNorm = rk.clip.byNorm(ts, 2.5).map((t) => t.dataSync());
    const g = rk.clip.byGlobalNorm(ts, 5);
    const inputsAfter = ts.map((t) => t.dataSync());
    const out = { byValue, byNorm, byGlobalNorm: g.grads.map((t) => t.dataSync()), norm: g.norm, inputsAfter, device: ts[0].device };
    rk.setBackend('cpu');
    return out;
  };
  const cpu = run('cpu');
  const cuda = run('cuda');
  for (const kind of ['byValue', 'byNorm', 'byGlobalNorm', 'inputsAfter']) {
    const e = Math.max(...cpu[kind].map((v, i) => relError(cuda[kind][i], v)));
    // byValue and leaving inputs unchanged are exact; the norms are sums in another order.
    const exact = kind === 'byValue' || kind === 'inputsAfter';
    const ok = exact ? e === 0 : e <= tol;
    report.clip.push({ name: `clip.${kind}`, maxRelError: e, exact, ok });
    console.log(`${ok ? 'OK  ' : 'FAIL'} clip.${kind.padEnd(57)} err=${fmt(e)}${exact ? ' (exact)' : ''}`);
  }
  const ne = Math.abs(cuda.norm - cpu.norm) / Math.abs(cpu.norm);
  report.clip.push({ name: 'clip.byGlobalNorm norm', cpu: cpu.norm, cuda: cuda.norm, relError: ne, ok: ne <= tol && cuda.device === 'cuda' });
  console.log(`${ne <= tol ? 'OK  ' : 'FAIL'} clip.byGlobalNorm norm ${cpu.norm} vs ${cuda.norm} (device ${cuda.device})`);
}

// A short fit: LSTM + Dense, SGD with clipnorm, then Adam; losses per epoch and final weights.
async function fitCheck(report) {
  const [N, T, D, H] = quick ? [32, 6, 4, 8] : [96, 10, 8, 24];
  const next = mulberry32(4242);
  const xs = uniform(next, N * T * D);
  const ys = uniform(next, N);
  const results = {};
  let weights = null;
  for (const backend of ['cpu', 'cuda']) {
    rk.setBackend(backend);
    const out = {};
    for (const opt of ['sgd', 'adam']) {
      const model = rk.sequential([rk.layers.lstm({ units: H, inputShape: [T, D], seed: 5 }), rk.layers.dense({ units: 1 })]);
      if (backend === 'cpu' && !weights?.[opt]) {
        weights = weights ?? {};
        weights[opt] = model.getWeights().map((w) => w.dataSync());
      } else {
        const flat = weights[opt];
        let k = 0;
        for (const layer of model.layers) {
          const count = layer.getWeights().length;
          layer.setWeights(flat.slice(k, k + count));
          k += count;
        }
      }
      model.compile({
        loss: 'mse',
        optimizer: opt === 'sgd' ? rk.optimizers.sgd({ learningRate: 0.05, momentum: 0.9, clipnorm: 1 }) : rk.optimizers.adam({ learningRate: 0.01, globalClipnorm: 1 }),
      });
      const x = rk.tensor(xs, [N, T, D]);
      const y = rk.tensor(ys, [N, 1]);
      const h = await model.fit(x, y, { epochs: 3, batchSize: 16, shuffle: false, verbose: 0 });
      out[opt] = { loss: h.history.loss, weights: model.getWeights().map((w) => w.dataSync()), device: x.device };
      x.dispose();
      y.dispose();
    }
    results[backend] = out;
    rk.setBackend('cpu');
  }
  for (const opt of ['sgd', 'adam']) {
    const a = results.cpu[opt], b = results.cuda[opt];
    const lossErr = relError(Float32Array.from(b.loss), Float32Array.from(a.loss));
    const wErr = Math.max(...a.weights.map((w, i) => relError(b.weights[i], w)));
    // Three epochs of updates amplify rounding a little: 10x the tolerance.
    const ok = lossErr <= 10 * tol && wErr <= 10 * tol && b.device === 'cuda';
    report.fit.push({ name: `fit ${opt}`, lossCpu: a.loss, lossCuda: b.loss, lossRelError: lossErr, weightsMaxRelError: wErr, ok });
    console.log(`${ok ? 'OK  ' : 'FAIL'} fit ${opt.padEnd(59)} loss=${fmt(lossErr)} weights=${fmt(wErr)} (${a.loss.map((l) => l.toFixed(5)).join(', ')})`);
  }
}

async function main() {
  const t0 = Date.now();
  const report = { tool: 'parity', quick, tolerance: tol, backends: rk.backends(), cases: [], clip: [], fit: [] };
  const cuda = report.backends.find((b) => b.name === 'cuda');
  console.log(`cuda backend: ${JSON.stringify(cuda)}`);
  if (!cuda || !cuda.available) {
    report.ok = false;
    report.error = `cuda backend unavailable: ${cuda ? cuda.reason : 'not listed'}`;
    finish(report, t0);
    return 2;
  }
  for (const [name, step] of [['matrix', parityMatrix], ['clip', clipChecks], ['fit', fitCheck]]) {
    try {
      await step(report);
    } catch (e) {
      rk.setBackend('cpu');
      report[`${name}Error`] = String(e && e.stack ? e.stack : e);
      console.log(`FAIL ${name}: ${report[`${name}Error`]}`);
    }
  }
  const all = [...report.cases, ...report.clip, ...report.fit];
  report.failed = all.filter((c) => !c.ok).map((c) => c.name);
  report.ok = report.failed.length === 0 && !report.matrixError && !report.clipError && !report.fitError && report.fit.length === 2;
  report.worstCase = report.cases.reduce((w, c) => ((c.maxRelError ?? Infinity) > (w?.maxRelError ?? -1) ? c : w), null)?.name;
  report.maxRelError = Math.max(0, ...report.cases.map((c) => c.maxRelError ?? Infinity));
  finish(report, t0);
  return report.ok ? 0 : 1;
}

function finish(report, t0) {
  report.seconds = (Date.now() - t0) / 1000;
  try {
    rk.setBackend('cuda');
    report.cudaMemory = rk.memory();
    rk.setBackend('cpu');
  } catch {
    /* unavailable */
  }
  console.log(
    `parity: ${report.cases.length} cases, ${report.failed ? report.failed.length : '?'} failed, max rel error ${fmt(report.maxRelError)} (tolerance ${tol}), ${report.seconds.toFixed(1)} s`,
  );
  if (outFile) fs.writeFileSync(outFile, JSON.stringify(report, null, 1));
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
