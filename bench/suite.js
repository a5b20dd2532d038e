'use strict';
/**
 * Runs the benchmarks: for each row, every implementation on the same data and weights;
 * the output (or, for training, the gradients) is checked against rnnkit's before any
 * timing; then warm-up and timed repetitions, with the peak RSS of each benchmark.
 */
const { forwardFlops, relL2, rowData, shapeLabel, CELL_LABEL } = require('./data');
const { measure, timeOnce } = require('./stats');
const { track } = require('./memory');
const { watchLoad, BUSY_CORES } = require('./machine');
const rnnkit = require('./peers/rnnkit');
const ort = require('./peers/ort');
const tfjs = require('./peers/tfjs');
const { IMPLS, TOLERANCE, skipOf } = require('./plan');

/** Data, weights and FLOPs of one row: the job every implementation runs. */
function prepareJob(row) {
  const { x, dOutput } = rowData(row.shape, row.seed);
  const weights = rnnkit.referenceWeights(row);
  const fwdFlops = forwardFlops(row.shape, row.cell);
  // A training step is forward + BPTT + weight gradients: three times the forward GEMM work.
  const flops = row.mode === 'training' ? 3 * fwdFlops : fwdFlops;
  return { ...row, x, dOutput, weights, flops };
}

/** Why `impl` does not run on `row` (an 'unsupported' or 'not run' result), or null. */
function notRunResult(impl, row, ctx) {
  if (impl.peer === 'rnnkit' && impl.threads > 1 && !rnnkit.threads.supported) {
    return { status: 'n/a', note: 'n/a (no rk.setNumThreads in this build)' };
  }
  if (impl.inferenceOnly && row.mode === 'training') return { status: 'n/a', note: 'n/a (inference only)' };
  if (impl.peer === 'tfjs') {
    const why = tfjs.unsupported(row);
    if (why) return { status: 'unsupported', note: why };
  }
  const skip = skipOf(impl, row, ctx.quick);
  if (skip?.predict) return { status: 'not run', predict: true, note: 'not run' };
  if (skip) return { status: 'not run', note: skip.why };
  return null;
}

function createRunner(impl, job) {
  if (impl.peer === 'rnnkit') return rnnkit.create(job, impl.threads);
  if (impl.peer === 'ort') return ort.create(job, impl.threads);
  return tfjs.create(job, impl.backend);
}

/** What the agreement check compares: the sequence output, or every gradient for training. */
function checkValues(runner, mode) {
  if (mode === 'forward') return { output: runner.output() };
  const g = runner.gradients();
  return { dInput: g.dInput, dKernel: g.dWeights[0], dRecurrentKernel: g.dWeights[1], dBias: g.dWeights[2] };
}

/** The worst relative L2 error over the compared arrays, and which array it was. */
function compare(values, reference) {
  let worst = { err: 0, what: '' };
  for (const [what, ref] of Object.entries(reference)) {
    const err = relL2(values[what], ref);
    if (!(err <= worst.err)) worst = { err, what };
  }
  return worst;
}

/** One implementation on one row: create, check, time, dispose; all inside the RSS window. */
async function benchImpl(impl, job, ctx, reference) {
  const { result, peakMB, deltaMB } = await track(async () => {
    const runner = await createRunner(impl, job);
    try {
      const [, firstMs] = await timeOnce(() => runner.call());
      const values = checkValues(runner, job.mode);
      const { result: timing, foreignCores } = await watchLoad(() => measure(() => runner.call(), firstMs, ctx.timing.main));
      return { values, timing: { ...timing, foreignCores }, reserveBytes: runner.reserveBytes?.() };
    } finally {
      await runner.dispose();
    }
  });
  const r = { status: 'ok', ...result.timing, peakRssMB: peakMB, deltaRssMB: deltaMB };
  delete r.samples;
  if (result.reserveBytes !== undefined) r.reserveBytes = result.reserveBytes;
  if (reference) {
    const { err, what } = compare(result.values, reference);
    r.relErr = err;
    r.checked = what;
    if (!(err <= TOLERANCE)) r.status = 'FAIL';
  }
  return { result: r, values: result.values };
}

/**
 * Benchmarks one row. rnnkit on one thread runs first and is the reference of the
 * agreement check; every other implementation, rnnkit on two threads included, is
 * compared with it before it is timed.
 */
/**
 * Lets the previous implementation's leftovers (garbage from multi-second tfjs runs, peers'
 * idle spinning threads) die down, so that they do not run on the cores the next one uses.
 */
async function settle() {
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 150));
}

async function benchRow(row, ctx, log) {
  const job = prepareJob(row);
  const results = {};
  let reference = null;
  for (const impl of IMPLS) {
    const skipped = notRunResult(impl, row, ctx);
    if (skipped) {
      results[impl.key] = skipped;
      continue;
    }
    log(`  ${impl.label.padEnd(10)}`);
    await settle();
    try {
      const { result, values } = await benchImpl(impl, job, ctx, reference);
      if (!reference && impl.peer === 'rnnkit') reference = values;
      results[impl.key] = result;
      log(describeResult(result));
    } catch (e) {
      results[impl.key] = { status: 'error', note: `error: ${String(e.message ?? e).split('\n')[0]}` };
      log(` ${results[impl.key].note}\n`);
    }
  }
  return { ...row, label: `${shapeLabel(row.shape)} ${CELL_LABEL[row.cell]}`, flops: job.flops, results };
}

function describeResult(r) {
  const check = r.relErr === undefined ? 'reference' : `relL2 ${r.relErr.toExponential(1)}${r.status === 'FAIL' ? ' FAIL' : ''}`;
  const busy = r.foreignCores > BUSY_CORES ? `, BUSY MACHINE (other processes used ${r.foreignCores.toFixed(1)} cores)` : '';
  return ` ${r.medianMs.toFixed(2)} ms median, ${r.minMs.toFixed(2)} min, ${r.reps} reps, ${check}${busy}\n`;
}

/**
 * Fills the 'not run' rows marked predict: the peer's measured time on the row with the
 * same mode (same cell preferred, then the largest FLOPs), scaled by the FLOP ratio.
 */
function predictSkipped(rows) {
  for (const row of rows) {
    for (const [key, r] of Object.entries(row.results)) {
      if (!r.predict) continue;
      const candidates = rows
        .filter((o) => o.mode === row.mode && o.results[key]?.status === 'ok')
        .sort((a, b) => (b.cell === row.cell) - (a.cell === row.cell) || b.flops - a.flops);
      const from = candidates[0];
      if (!from) {
        r.note = 'not run';
        continue;
      }
      r.predictedMs = from.results[key].medianMs * (row.flops / from.flops);
      r.predictedFrom = from.label;
      r.note = `not run (predicted ~${Math.round(r.predictedMs)} ms)`;
    }
  }
}

/**
 * Initialises every library once on a tiny job (backends, wasm instantiation, ORT's
 * environment and arenas, JIT) outside any measured window, so that the first row's times
 * and memory growth are not charged with one-time start-up costs.
 */
async function warmUpPeers(ctx) {
  for (const mode of ['forward', 'training']) {
    const row = { shape: { N: 2, T: 3, D: 4, H: 5 }, cell: 'lstm', mode, seed: 1 };
    const job = prepareJob(row);
    for (const impl of IMPLS) {
      if (notRunResult(impl, row, { ...ctx, quick: false })) continue;
      const runner = await createRunner(impl, job);
      await runner.call();
      await runner.dispose();
    }
  }
}

/** rnnkit forward time along one dimension (the scaling series), at `threads`. */
async function benchScaling(series, threads, ctx) {
  const points = [];
  for (const [i, shape] of series.shapes.entries()) {
    const job = prepareJob({ shape, cell: series.cell, mode: 'forward', seed: 5000 + i });
    const runner = rnnkit.create(job, threads);
    try {
      const [, firstMs] = await timeOnce(() => runner.call());
      const { result: t, foreignCores } = await watchLoad(() => measure(() => runner.call(), firstMs, ctx.timing.scaling));
      points.push({ [series.vary]: shape[series.vary], shape, flops: job.flops, medianMs: t.medianMs, minMs: t.minMs, reps: t.reps, foreignCores });
    } finally {
      runner.dispose();
    }
  }
  return { vary: series.vary, cell: series.cell, threads, points };
}

module.exports = { warmUpPeers, benchRow, benchScaling, predictSkipped };
