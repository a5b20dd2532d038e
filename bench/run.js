'use strict';
/**
 * `npm run bench` (`node bench/run.js [--quick] [--isa LIST] [--contention]`, see
 * bench/args.js): rnnkit, once per instruction set (AVX-512 and AVX2 on an AVX-512 CPU),
 * against onnxruntime-node and TensorFlow.js (cpu, wasm) on the shapes of issues 3 and 11,
 * each implementation and row in its own fresh child process (bench/isolate.js). Prints
 * Markdown tables, issue 11's targets per ISA among them, and writes
 * bench/results/latest.json and latest.svg (latest-quick.* for --quick).
 * --contention runs bench/contention.js instead.
 *
 * Flow: machine and FMA peak per ISA → main rows (each: time in a child, check outputs
 * agree) → FLOP-scaled predictions for skipped slow peers → scaling series → targets → report.
 */
const path = require('path');
const plan = require('./plan');
const rnnkit = require('./peers/rnnkit');
const ort = require('./peers/ort');
const tfjs = require('./peers/tfjs');
const { probePeaks, summarizePeaks, bestCacheReads } = require('./peak');
const { parseArgs, chooseIsas, UsageError, USAGE } = require('./args');
const { runContention } = require('./contention');
const { benchRows, benchScaling, predictSkipped } = require('./suite');
const { childCpuSeconds } = require('./isolate');
const { evaluateTargets } = require('./targets');
const { render, writeJson } = require('./report');
const { writeSvg } = require('./chart');
const memory = require('./memory');
const machine = require('./machine');

const RESULTS = path.join(__dirname, 'results');

/** The command line and the ISAs to run, or the usage and exit code 2. */
function options() {
  try {
    const args = parseArgs(process.argv.slice(2));
    const supported = rnnkit.rk.supportedIsas();
    const { isas, from } = chooseIsas(args.isas, supported, plan.defaultIsas(supported), process.env.RNNKIT_ISA);
    if (from === 'RNNKIT_ISA') log(`RNNKIT_ISA=${process.env.RNNKIT_ISA} is set: measuring rnnkit with ${isas.join(', ')} only (--isa overrides)\n`);
    return { ...args, isas };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
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

/** Says at once when other processes are using the CPU, rather than after minutes of skewed runs; returns their cores. */
async function warnIfBusy() {
  const { foreignCores } = await machine.watchLoad(() => new Promise((resolve) => setTimeout(resolve, 1000)));
  if (foreignCores > machine.BUSY_CORES) {
    log(`warning: other processes are using ${foreignCores.toFixed(1)} cores; times taken now are not trustworthy (they will be marked †)\n`);
  }
  return foreignCores;
}

async function main() {
  const { quick, isas, contention } = options();
  if (contention) return runContention({ quick, isas, machine: describeMachine(), warnIfBusy, log });
  const started = Date.now();
  const ctx = { quick, isas, impls: plan.implsFor(isas), timing: plan.TIMING[quick ? 'quick' : 'full'], rounds: plan.ROUNDS[quick ? 'quick' : 'full'] };
  const m = describeMachine();
  const runStart = machine.snapshot();
  log(`rnnkit runs with ${isas.join(', ')}\n`);

  await warnIfBusy();
  // The peak is probed before the benchmarks and again after each of their rounds.
  const peakRounds = [];
  const probeRound = async () => {
    log(`measuring the FMA peak...\n`);
    const { result, foreignCores } = await machine.watchLoad(
      async () => probePeaks(rnnkit.rk, isas, plan.THREAD_COUNTS, quick, plan.cacheReadSizes(plan.ROWS)),
      (p) => p.childCpuSeconds,
    );
    peakRounds.push({ ...result, foreignCores });
  };
  await probeRound();
  const rows = await benchRows(plan.ROWS, ctx, log, probeRound);
  predictSkipped(rows);
  const peaks = summarizePeaks(peakRounds.flatMap((r) => r.probes), isas, plan.THREAD_COUNTS, peakRounds.length);
  peaks.childCpuSeconds = peakRounds.reduce((sum, r) => sum + r.childCpuSeconds, 0);
  peaks.foreignCores = Math.max(...peakRounds.map((r) => r.foreignCores));
  peaks.cacheReads = bestCacheReads(peakRounds.flatMap((r) => r.cacheReads));
  m.tfjsWasmThreads = ctx.tfjsWasmThreads ?? null;

  // Scaling runs with the best ISA measured, at the highest thread count rnnkit supports in this build.
  const scalingThreads = rnnkit.threads.supported ? Math.max(...plan.THREAD_COUNTS) : 1;
  const scaling = await benchScaling(scalingThreads, isas[0], ctx);

  const res = {
    date: new Date().toISOString(),
    quick,
    isas,
    machine: m,
    peaks,
    tolerance: plan.TOLERANCE,
    memoryMethod: memory.METHOD,
    timing: ctx.timing,
    rounds: ctx.rounds,
    rows,
    scaling,
    targets: evaluateTargets(rows, peaks, isas),
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
