'use strict';
/**
 * rnnkit (this package, through dist/) as a benchmark runner. Every runner has the same
 * shape: call() runs one benchmark operation (a forward pass, or a training step = forward
 * with training:true + backward), output() / gradients() read the last call's results for
 * the agreement check, dispose() frees everything.
 */
const rk = require('../..');
const { uniform } = require('../data');

/** The CPU device's thread count. */
const threads = {
  supported: true,
  set(n) {
    rk.setNumThreads(n);
  },
  get() {
    return rk.getNumThreads();
  },
};

/** The ISA the CPU device dispatches to. */
function isa() {
  return rk.getIsa();
}

/** A layer with rnnkit's defaults for `cell` (LSTM/GRU reset_after/SimpleRNN), sequence output. */
function makeLayer(cell, H, seed) {
  return rk.layers[cell]({ units: H, returnSequences: true, seed });
}

/**
 * The weights every implementation of a row runs: rnnkit's seeded initializers (Glorot
 * kernel, orthogonal recurrent kernel) with the all-zero/one default biases replaced by
 * seeded random values, so that a bias mapped to the wrong gate cannot go unnoticed.
 * @returns {{keras: {values: Float32Array, shape: number[]}[], onnx: {W, R, B: Float32Array}}}
 */
function referenceWeights({ shape, cell, seed }) {
  const layer = makeLayer(cell, shape.H, seed);
  layer.build([shape.N, shape.T, shape.D]);
  const [kernel, recurrent, bias] = layer.getWeights();
  const randomBias = uniform(seed + 2, bias.shape.reduce((a, b) => a * b, 1), -0.5, 0.5);
  layer.setWeights([kernel, recurrent, randomBias]);
  const keras = layer.getWeights().map((t) => ({ values: t.dataSync(), shape: t.shape }));
  const exported = layer.exportWeights('onnx');
  const onnx = { W: exported.W.dataSync(), R: exported.R.dataSync(), B: exported.B.dataSync() };
  for (const t of [kernel, recurrent, bias, ...Object.values(exported)]) t.dispose();
  return { keras, onnx };
}

/**
 * @param {{shape, cell, mode: 'forward'|'training', x: Float32Array, dOutput: Float32Array, weights}} job
 * @param {number|null} nThreads null: rnnkit's default (no setNumThreads call)
 */
function create(job, nThreads) {
  const { N, T, D, H } = job.shape;
  if (nThreads !== null) threads.set(nThreads);
  const layer = makeLayer(job.cell, H, job.seed);
  layer.setWeights(job.weights.keras.map((w) => w.values));
  const x = rk.tensor(job.x, [N, T, D]);
  const dOutput = job.mode === 'training' ? rk.tensor(job.dOutput, [N, T, H]) : null;
  let last = null; // { fwd, grads } of the latest call, freed by the next one

  const release = (r) => {
    if (!r) return;
    r.fwd.output.dispose();
    r.fwd.states.forEach((s) => s.dispose());
    r.fwd.dispose();
    if (r.grads) [r.grads.dInput, ...r.grads.dInitialState, ...r.grads.dWeights].forEach((t) => t.dispose());
  };

  return {
    async call() {
      const training = job.mode === 'training';
      const fwd = await layer.forward(x, { training });
      const grads = training ? await layer.backward(fwd, { dOutput }) : null;
      release(last);
      last = { fwd, grads, reserveBytes: fwd.reserveBytes };
    },
    output: () => last.fwd.output.dataSync(),
    gradients: () => last.grads && { dInput: last.grads.dInput.dataSync(), dWeights: last.grads.dWeights.map((t) => t.dataSync()) },
    /** Bytes the training forward pass saved for backward (0 for inference). */
    reserveBytes: () => last.reserveBytes,
    dispose() {
      release(last);
      last = null;
      x.dispose();
      dOutput?.dispose();
    },
  };
}

module.exports = { rk, threads, isa, referenceWeights, create };
