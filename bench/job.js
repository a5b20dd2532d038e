'use strict';
/**
 * The job of one benchmark row: its seeded data, rnnkit's reference weights and its FLOPs.
 * The parent builds it once per row and sends the same job to every implementation's child
 * process, so that all of them run on identical numbers.
 */
const { forwardFlops, rowData } = require('./data');
const rnnkit = require('./peers/rnnkit');

function prepareJob(row) {
  const { x, dOutput } = rowData(row.shape, row.seed);
  const weights = rnnkit.referenceWeights(row);
  const fwdFlops = forwardFlops(row.shape, row.cell);
  // A training step is forward + BPTT + weight gradients: three times the forward GEMM work.
  const flops = row.mode === 'training' ? 3 * fwdFlops : fwdFlops;
  return { ...row, x, dOutput, weights, flops };
}

/**
 * A tiny job of the row's cell and mode, which a child runs before the row's job: the
 * library's one-time costs (backend start-up, wasm instantiation, ORT's environment, JIT of
 * that cell's code) then count neither in the times nor in the memory growth.
 */
function warmupJob(row) {
  return prepareJob({ shape: { N: 2, T: 3, D: 4, H: 5 }, cell: row.cell, mode: row.mode, seed: 1 });
}

module.exports = { prepareJob, warmupJob };
