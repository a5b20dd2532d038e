'use strict';
/**
 * onnxruntime-node as a benchmark runner: a single-op ONNX LSTM / GRU / RNN model built
 * in-process from rnnkit's exported weights (exportWeights('onnx')), run on the CPU
 * execution provider. Inference only: ONNX Runtime has no training step to compare.
 */
const { buildRnnModel } = require('../onnx-model');
const { toTimeMajor } = require('../data');

const OP = { lstm: 'LSTM', gru: 'GRU', simpleRNN: 'RNN' };

function version() {
  return require('onnxruntime-node/package.json').version;
}

/**
 * @param {{shape, cell, mode, x: Float32Array, weights}} job
 * @param {number} threads intra-op threads (the RNN kernels parallelise over the batch
 *   and inside their GEMMs); inter-op 1 and sequential execution, since the graph is one node.
 */
async function create(job, threads) {
  // Required here, not at the top: the bench's parent process asks this module only for
  // the version, and must not carry the library (see bench/isolate.js).
  const ort = require('onnxruntime-node');
  const { N, T, D, H } = job.shape;
  const model = buildRnnModel({
    op: OP[job.cell],
    T, N, D, H,
    ...job.weights.onnx,
    // rnnkit's GRU default is resetAfter: true (cuDNN / TF2), which is ONNX's linear_before_reset=1.
    linearBeforeReset: job.cell === 'gru' ? 1 : 0,
  });
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = { X: new ort.Tensor('float32', toTimeMajor(job.x, N, T, D), [T, N, D]) };
  let last = null;

  return {
    async call() {
      // Fetch Y only: the full sequence output, as rnnkit and tfjs produce it.
      last = await session.run(feeds, ['Y']);
    },
    // Y is [T, 1, N, H]: swap back to batch-first [N, T, H].
    output: () => toTimeMajor(last.Y.data, T, N, H),
    gradients: () => null,
    async dispose() {
      last = null;
      // Releasing the session also stops its intra-op threads, which would otherwise spin
      // and steal cycles from the next measurement.
      await session.release();
    },
  };
}

module.exports = { create, version };
