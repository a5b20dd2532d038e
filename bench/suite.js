'use strict';
/**
 * Runs the benchmarks: for each row, every implementation on the same data and weights,
 * each in its own child process (bench/isolate.js, bench/worker.js); the output (or, for
 * training, the gradients) is checked against rnnkit's; times and peak RSS come back from
 * the child.
 */
const { relL2, shapeLabel, CELL_LABEL } = require('./data');
const { prepareJob, warmupJob } = require('./job');
const { runInChild } = require('./isolate');
const { BUSY_CORES } = require('./machine');
const rnnkit = require('./peers/rnnkit');
const tfjs = require('./peers/tfjs');
const { SCALING, TOLERANCE, skipOf } = require('./plan');

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

/** The worst relative L2 error over the compared arrays, and which array it was. */
function compare(values, reference) {
  let worst = { err: 0, what: '' };
  for (const [what, ref] of Object.entries(reference)) {
    const err = relL2(values[what], ref);
    if (!(err <= worst.err)) worst = { err, what };
  }
  return worst;
}

/**
 * One implementation on one row, in a fresh child process; its values are compared with
 * `reference` (rnnkit 1t's) when given. Returns the result and the compared values.
 */
async function benchImpl(impl, job, warmup, ctx, reference) {
  const reply = await runInChild({ kind: 'impl', impl, job, warmup, timing: ctx.timing.main }, { isa: impl.isa });
  // Known only once the wasm backend has started (in its child).
  if (reply.wasmThreads !== undefined) ctx.tfjsWasmThreads = reply.wasmThreads;
  const r = { status: 'ok', ...reply.timing, peakRssMB: reply.peakMB, deltaRssMB: reply.deltaMB };
  if (reply.isa !== undefined) Object.assign(r, { isa: reply.isa, threads: reply.threadsUsed });
  if (reply.reserveBytes !== undefined) r.reserveBytes = reply.reserveBytes;
  if (reference) {
    const { err, what } = compare(reply.values, reference);
    r.relErr = err;
    r.checked = what;
    if (!(err <= TOLERANCE)) r.status = 'FAIL';
  }
  return { result: r, values: reply.values };
}

/**
 * Benchmarks the rows with the implementations of ctx.impls (plan.implsFor). rnnkit on one
 * thread with the first ISA runs first on each row and is the reference of its agreement
 * check; every other implementation, rnnkit on two threads and with the other ISAs
 * included, is compared with it. The fast implementations run ctx.rounds times, each time in a fresh
 * process, and the rounds go over all rows in turn (round 1 of every row, then round 2...),
 * so that one row's rounds are a minute or more apart; the round with the lowest median
 * stands, and a disagreement in any round fails the implementation.
 */
async function benchRows(rows, ctx, log, afterRound) {
  const states = rows.map((row) => ({ row, job: prepareJob(row), warmup: warmupJob(row), results: {}, reference: null }));
  const rounds = (impl) => (impl.peer === 'tfjs' ? 1 : ctx.rounds);
  const width = Math.max(...ctx.impls.map((i) => i.label.length));
  for (let round = 0; round < ctx.rounds; ++round) {
    for (const state of states) {
      const { row, job, warmup, results } = state;
      log(`${row.mode} ${row.cell} (${Object.values(row.shape).join(',')})${ctx.rounds > 1 ? `, round ${round + 1}/${ctx.rounds}` : ''}\n`);
      for (const impl of ctx.impls.filter((i) => round < rounds(i))) {
        const skipped = notRunResult(impl, row, ctx);
        if (skipped) {
          results[impl.key] = skipped;
          continue;
        }
        if (results[impl.key]?.status === 'error') continue;
        log(`  ${impl.label.padEnd(width)}`);
        try {
          const { result, values } = await benchImpl(impl, job, warmup, ctx, state.reference);
          if (!state.reference && impl.peer === 'rnnkit') state.reference = values;
          results[impl.key] = keepBest(results[impl.key], result);
          log(describeResult(result));
        } catch (e) {
          results[impl.key] = { status: 'error', note: `error: ${String(e.message ?? e).split('\n')[0]}` };
          log(` ${results[impl.key].note}\n`);
        }
      }
    }
    if (ctx.rounds > 1) await afterRound();
  }
  return states.map(({ row, job, results }) => ({ ...row, label: `${shapeLabel(row.shape)} ${CELL_LABEL[row.cell]}`, flops: job.flops, results }));
}

/** The better of two rounds' results (lowest median), with every round's median listed. */
function keepBest(previous, next) {
  if (!previous) return { ...next, roundMedians: [next.medianMs] };
  const roundMedians = [...previous.roundMedians, next.medianMs];
  const failed = previous.status === 'FAIL' ? previous : next.status === 'FAIL' ? next : null;
  const best = failed ?? (next.medianMs < previous.medianMs ? next : previous);
  return { ...best, roundMedians };
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

/** rnnkit's forward time along each scaling series, at `threads` with `isa`, all in one clean child process. */
async function benchScaling(threads, isa, ctx) {
  const reply = await runInChild({ kind: 'scaling', series: SCALING, threads, isa, timing: ctx.timing.scaling }, { isa });
  return reply.scaling;
}

module.exports = { benchRows, benchScaling, predictSkipped };
