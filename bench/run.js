'use strict';
/**
 * `npm run bench` (`node bench/run.js [--quick]`): rnnkit against onnxruntime-node and
 * TensorFlow.js (cpu, wasm) on the shapes of issue 3, each implementation and row in its
 * own fresh child process (bench/isolate.js). Prints Markdown tables and writes
 * bench/results/latest.json and latest.svg (latest-quick.* for --quick).
 *
 * Flow: machine and FMA peak → main rows (each: time in a child, check outputs agree) →
 * FLOP-scaled predictions for skipped slow peers → scaling series → targets → report.
 */
const path = require('path');
const plan = require('./plan');
const rnnkit = require('./peers/rnnkit');
const ort = require('./peers/ort');
const tfjs = require('./peers/tfjs');
const { probePeaks, summarizePeaks } = require('./peak');
const { benchRows, benchScaling, predictSkipped } = require('./suite');
const { childCpuSeconds } = require('./isolate');
const { evaluateTargets } = require('./targets');
const { render, writeJson } = require('./report');
const { writeSvg } = require('./chart');
const memory = require('./memory');
const machine = require('./machine');

const RESULTS = path.join(__dirname, 'results');

function parseArgs(argv) {
  const known = new Set(['--quick']);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length) {
    console.error(`unknown argument(s): ${unknown.join(' ')}\nusage: npm run bench [-- --quick]`);
    process.exit(2);
  }
  return { quick: argv.includes('--quick') };
}

function describeMachine() {
  return {
    ...machine.describe(),
    rnnkit: require('../package.json').version,
    rnnkitIsa: rnnkit.isa(),
    rnnkitThreads: rnnkit.threads.supported,
    ort: ort.version(),
    tfjs: tfjs.version(),
    tfjsWasmThreads: null, // known once the wasm backend has started (in a child)
  };
}

/** Progress goes to stderr, so that stdout is the report alone. */
const log = (s) => process.stderr.write(s);

/** Says at once when other processes are using the CPU, rather than after minutes of skewed runs. */
async function warnIfBusy() {
  const { foreignCores } = await machine.watchLoad(() => new Promise((resolve) => setTimeout(resolve, 1000)));
  if (foreignCores > machine.BUSY_CORES) {
    log(`warning: other processes are using ${foreignCores.toFixed(1)} cores; times taken now are not trustworthy (they will be marked †)\n`);
  }
}

async function main() {
  const { quick } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const ctx = { quick, timing: plan.TIMING[quick ? 'quick' : 'full'], rounds: plan.ROUNDS[quick ? 'quick' : 'full'] };
  const m = describeMachine();
  const runStart = machine.snapshot();

  await warnIfBusy();
  // The peak is probed before the benchmarks and again after each of their rounds.
  const peakRounds = [];
  const probeRound = async () => {
    log(`measuring the FMA peak...\n`);
    const { result, foreignCores } = await machine.watchLoad(
      async () => probePeaks(rnnkit.rk, plan.THREAD_COUNTS, quick),
      (p) => p.childCpuSeconds,
    );
    peakRounds.push({ ...result, foreignCores });
  };
  await probeRound();
  const rows = await benchRows(plan.ROWS, ctx, log, probeRound);
  predictSkipped(rows);
  const peaks = summarizePeaks(peakRounds.flatMap((r) => r.probes), plan.THREAD_COUNTS, peakRounds.length);
  peaks.childCpuSeconds = peakRounds.reduce((sum, r) => sum + r.childCpuSeconds, 0);
  peaks.foreignCores = Math.max(...peakRounds.map((r) => r.foreignCores));
  m.tfjsWasmThreads = ctx.tfjsWasmThreads ?? null;

  // Scaling runs at the highest thread count rnnkit supports in this build.
  const scalingThreads = rnnkit.threads.supported ? Math.max(...plan.THREAD_COUNTS) : 1;
  const scaling = await benchScaling(scalingThreads, ctx);

  const res = {
    date: new Date().toISOString(),
    quick,
    machine: m,
    peaks,
    tolerance: plan.TOLERANCE,
    memoryMethod: memory.METHOD,
    timing: ctx.timing,
    rounds: ctx.rounds,
    rows,
    scaling,
    targets: evaluateTargets(rows, peaks),
  };
  res.durationS = (Date.now() - started) / 1000;
  res.foreignCores = machine.foreignCores(runStart, machine.snapshot(), peaks.childCpuSeconds + childCpuSeconds());

  console.log(render(res));
  console.log(`Run took ${res.durationS.toFixed(0)} s.`);
  // A --quick smoke run must not overwrite the results of the last full run.
  const base = path.join(RESULTS, quick ? 'latest-quick' : 'latest');
  writeJson(`${base}.json`, res);
  writeSvg(`${base}.svg`, res);
  console.log(`Wrote ${path.relative(process.cwd(), base)}.json and .svg.`);
  if (rows.some((r) => Object.values(r.results).some((x) => x.status === 'FAIL'))) {
    console.log('\n**FAIL**: some outputs disagree with rnnkit beyond the tolerance; those times are not results.');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
