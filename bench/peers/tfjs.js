'use strict';
/**
 * TensorFlow.js (tf.layers) as a benchmark runner, on its 'cpu' (plain JavaScript) and
 * 'wasm' (XNNPACK, SIMD) backends. Inference is layer.apply; a training step is
 * tf.variableGrads of sum(output · dOutput) with respect to the input and the three weights,
 * which is exactly what rnnkit's backward computes.
 */
const path = require('path');

// Loaded by init(), not here: the bench's parent process asks this module only for the
// version and what tfjs supports, and must not carry the library (see bench/isolate.js).
let tf = null;
let wasm = null;

/** Loads tfjs; one-time setup: production mode (no debug checks, no "install tfjs-node" banner), wasm paths. */
function init(threads) {
  if (tf) return;
  tf = require('@tensorflow/tfjs');
  wasm = require('@tensorflow/tfjs-backend-wasm');
  tf.enableProdMode();
  // In Node the wasm binaries are loaded from disk: point at the package's dist folder
  // (a directory prefix, so the trailing slash matters).
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(dist + path.sep);
  // Only honoured by the threaded wasm binary, which tfjs selects only where it detects
  // multithread support (browsers with cross-origin isolation; not Node): see wasmThreads().
  wasm.setThreadsCount(threads);
}

/** Threads the wasm backend really uses (1 when it runs the single-threaded binary). */
function wasmThreads() {
  return typeof wasm.getThreadsCount === 'function' ? wasm.getThreadsCount() : 1;
}

function version() {
  return require('@tensorflow/tfjs/package.json').version;
}

/** Why tfjs cannot run a job, or null. */
function unsupported(job) {
  // rnnkit's GRU default is reset_after (cuDNN / TF2); tfjs-layers implements only the
  // classic reset_after=false GRU and rejects the option.
  if (job.cell === 'gru') return 'unsupported (reset_after)';
  return null;
}

function makeLayer(cell, H) {
  const opts = {
    units: H,
    returnSequences: true,
    // Weights are overwritten right away; the default orthogonal initializer would cost
    // tens of seconds of QR in plain JS at H=256 for nothing.
    kernelInitializer: 'zeros',
    recurrentInitializer: 'zeros',
  };
  // tfjs defaults recurrentActivation to hardSigmoid (Keras 1/2); rnnkit follows TF2 (sigmoid).
  if (cell !== 'simpleRNN') opts.recurrentActivation = 'sigmoid';
  return tf.layers[cell](opts);
}

/**
 * A runner; init() must have been called.
 * @param {{shape, cell, mode, x: Float32Array, dOutput: Float32Array, weights}} job
 * @param {'cpu'|'wasm'} backend
 */
async function create(job, backend) {
  const { N, T, D, H } = job.shape;
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialise`);
  await tf.ready();
  const layer = makeLayer(job.cell, H);
  tf.dispose(layer.apply(tf.zeros([1, 1, D]))); // builds the weights (shape-independent of N, T)
  layer.setWeights(job.weights.keras.map((w) => tf.tensor(w.values, w.shape)));
  const training = job.mode === 'training';
  const x = training ? tf.variable(tf.tensor3d(job.x, [N, T, D]), true, 'bench_x') : tf.tensor3d(job.x, [N, T, D]);
  const dOutput = training ? tf.tensor3d(job.dOutput, [N, T, H]) : null;
  const weightVars = layer.trainableWeights.map((w) => w.read());
  let last = null; // forward: the output tensor; training: { name: gradient }

  const forward = () => layer.apply(x);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x), dOutput)), [x, ...weightVars]);
    value.dispose();
    return grads;
  };

  const release = () => {
    if (last) tf.dispose(training ? Object.values(last) : last);
    last = null;
  };

  return {
    // Both backends execute kernels eagerly and synchronously, so the work is done when
    // apply / variableGrads return; no read-back is timed (nor is it for the others).
    async call() {
      const r = training ? step() : forward();
      release();
      last = r;
    },
    output: () => last.dataSync(),
    gradients: () =>
      last && {
        dInput: last[x.name].dataSync(),
        dWeights: weightVars.map((v) => last[v.name].dataSync()),
      },
    dispose() {
      release();
      tf.dispose([x, dOutput].filter(Boolean));
      layer.dispose();
    },
  };
}

module.exports = { init, wasmThreads, version, unsupported, create };
