'use strict';
/**
 * What the benchmark runs: the shapes and cells of issues 3 and 11, the implementations per
 * row (rnnkit once per instruction set), which slow peers are skipped (and predicted) in
 * full and quick runs, the scaling series, the contention mode's rows and the time budgets.
 * Everything tunable lives here.
 */

const { GATES } = require('./data');

const THREAD_COUNTS = [1, 2];

const s = (N, T, D, H) => ({ N, T, D, H });

/**
 * Rows of the main table, in the issue's order (small shapes first also warms tfjs's JIT).
 * Issue 11 judges the compute-bound shapes (32,100,128,256) and (64,50,256,512) for every
 * cell; the latency rows are N = 1 (LSTM, GRU) and (16,200,32,64) LSTM.
 */
const ROWS = [
  { shape: s(1, 100, 64, 128), cell: 'lstm', mode: 'forward' },
  { shape: s(1, 100, 64, 128), cell: 'gru', mode: 'forward' },
  { shape: s(32, 100, 128, 256), cell: 'lstm', mode: 'forward' },
  { shape: s(32, 100, 128, 256), cell: 'gru', mode: 'forward' },
  { shape: s(32, 100, 128, 256), cell: 'simpleRNN', mode: 'forward' },
  { shape: s(64, 50, 256, 512), cell: 'lstm', mode: 'forward' },
  { shape: s(64, 50, 256, 512), cell: 'gru', mode: 'forward' },
  { shape: s(64, 50, 256, 512), cell: 'simpleRNN', mode: 'forward' },
  { shape: s(16, 200, 32, 64), cell: 'lstm', mode: 'forward' },
  { shape: s(32, 100, 128, 256), cell: 'lstm', mode: 'training' },
].map((row, i) => ({ ...row, seed: 1000 + 10 * i }));

const isShape = (row, N, T, D, H) => row.shape.N === N && row.shape.T === T && row.shape.D === D && row.shape.H === H;

/** Issue 11's compute-bound shapes (judged against the FMA peak) and latency shapes (judged against ORT). */
const isComputeBound = (row) => isShape(row, 32, 100, 128, 256) || isShape(row, 64, 50, 256, 512);
const isLatency = (row) => row.shape.N === 1 || isShape(row, 16, 200, 32, 64);

/** Bytes of recurrent weights a step of `row` reads (G·H·H floats). */
const recurrentBytes = (row) => 4 * GATES[row.cell] * row.shape.H * row.shape.H;
/** Each thread's share of those bytes when `threads` threads read them. */
const cacheReadBytes = (row, threads) => Math.ceil(recurrentBytes(row) / threads);

/**
 * The cache reads bench/cache-probe.c measures: for each N = 1 row, a step's recurrent
 * weights on one thread, and half of them on each of two (a step of N = 1 is little more
 * than reading them; bench/targets.js sets the figure beside a missed N = 1 target).
 */
function cacheReadSizes(rows) {
  const sizes = new Map();
  for (const row of rows.filter((r) => r.shape.N === 1)) {
    for (const threads of THREAD_COUNTS) {
      const bytes = cacheReadBytes(row, threads);
      sizes.set(`${threads}/${bytes}`, { threads, bytes });
    }
  }
  return [...sizes.values()];
}

/**
 * The vector instruction sets the bench measures rnnkit with by default: every one the
 * addon supports on this CPU (best first, as rk.supportedIsas() lists them), without the
 * portable 'generic' kernels, which run only when asked for (--isa generic).
 */
function defaultIsas(supported) {
  const vector = supported.filter((isa) => isa !== 'generic');
  return vector.length ? vector : supported.slice(0, 1);
}

/** The result key of rnnkit with `isa` at `threads` (null: rnnkit's default thread count). */
const rnnkitKey = (isa, threads) => `rnnkit-${isa}-${threads === null ? 'default' : `${threads}t`}`;

/**
 * Implementations, in table order: rnnkit at 1 and 2 threads once per instruction set in
 * `isas` (best first: the first is the reference of the agreement check), then the peers,
 * which run once per row whatever rnnkit's ISA. ORT has no training step.
 * @param {string[]} isas
 */
function implsFor(isas) {
  return [
    ...isas.flatMap((isa) => THREAD_COUNTS.map((threads) => ({ key: rnnkitKey(isa, threads), peer: 'rnnkit', isa, threads, label: `rnnkit ${isa} ${threads}t` }))),
    { key: 'ort-1t', peer: 'ort', threads: 1, label: 'ORT 1t', inferenceOnly: true },
    { key: 'ort-2t', peer: 'ort', threads: 2, label: 'ORT 2t', inferenceOnly: true },
    { key: 'tfjs-wasm', peer: 'tfjs', backend: 'wasm', label: 'tfjs wasm' },
    { key: 'tfjs-cpu', peer: 'tfjs', backend: 'cpu', label: 'tfjs cpu' },
  ];
}

/**
 * Rows where a slow peer is not run: 'predict' (scaled by FLOPs from a measured row of the
 * same peer) or a reason. tfjs cpu takes ~4 s per forward call at (32,100,128,256) and
 * ~10 s per training step; at (64,50,256,512) it would take tens of seconds per call.
 */
function skipOf(impl, row, quick) {
  if (impl.key !== 'tfjs-cpu') return null;
  if (row.mode === 'training') return quick ? { why: 'not run (--quick)' } : null;
  if (isShape(row, 64, 50, 256, 512)) return { predict: true };
  // --quick: only the two shapes where tfjs cpu takes about a second or less.
  if (quick && !(isShape(row, 1, 100, 64, 128) || isShape(row, 16, 200, 32, 64))) return { predict: true };
  return null;
}

/** rnnkit forward time against one dimension, the others fixed at (32,100,128,256), LSTM. */
const SCALING = [
  { vary: 'T', values: [25, 50, 100, 200] },
  { vary: 'H', values: [64, 128, 256, 512] },
  { vary: 'N', values: [1, 8, 32, 64] },
].map((series) => ({
  ...series,
  cell: 'lstm',
  shapes: series.values.map((v) => ({ ...s(32, 100, 128, 256), [series.vary]: v })),
}));

/**
 * Time budgets per measurement (see stats.measure). A call slower than reuseFirstMs is
 * measured once: its check run is its sample.
 */
const TIMING = {
  full: {
    main: { warmupMs: 300, budgetMs: 1000, maxReps: 300, reuseFirstMs: 3000 },
    scaling: { warmupMs: 200, budgetMs: 700, maxReps: 200, reuseFirstMs: 3000 },
  },
  quick: {
    main: { warmupMs: 60, budgetMs: 250, maxReps: 40, reuseFirstMs: 700 },
    scaling: { warmupMs: 40, budgetMs: 150, maxReps: 20, reuseFirstMs: 700 },
  },
};

/**
 * Rounds over all rows: each fast implementation (rnnkit with every ISA, ORT) runs on each
 * row once per round in a fresh child process; the round with the lowest median is reported
 * and every round's median is kept in the JSON. On a small virtual machine the same 2-thread run is
 * sometimes up to 2x slower for seconds to minutes (for every implementation, whatever else
 * runs inside the machine: the host decides where and how fast the virtual cores run), so a
 * single process samples that lottery rather than the code. tfjs, one or two orders of
 * magnitude slower, runs in the first round only.
 */
const ROUNDS = { full: 4, quick: 1 };

/**
 * --contention: rnnkit's default settings (no setNumThreads, no RNNKIT_NUM_THREADS) while one
 * other process spins on one core, against its 1-thread time on the quiet machine (issue 11):
 * `maxRatio` is the contended time over the quiet 1-thread time the target allows. Each
 * figure is the median of `rounds` round medians (see bench/contention.js).
 */
const CONTENTION = {
  rows: [
    { shape: s(1, 100, 64, 128), cell: 'lstm', mode: 'forward', maxRatio: 1.2 },
    { shape: s(1, 100, 64, 128), cell: 'gru', mode: 'forward', maxRatio: 1.2 },
    { shape: s(32, 100, 128, 256), cell: 'lstm', mode: 'forward', maxRatio: 1.0 },
  ].map((row, i) => ({ ...row, seed: 3000 + 10 * i })),
  rounds: { full: 3, quick: 1 },
};

/** Relative L2 error allowed between any implementation and rnnkit. */
const TOLERANCE = 1e-4;

module.exports = { THREAD_COUNTS, ROWS, recurrentBytes, cacheReadBytes, cacheReadSizes, SCALING, TIMING, ROUNDS, CONTENTION, TOLERANCE, skipOf, implsFor, defaultIsas, rnnkitKey, isShape, isComputeBound, isLatency };
