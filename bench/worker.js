'use strict';
/**
 * The child process of one benchmark task (forked by bench/isolate.js, one task per
 * process): it loads only the library the task needs, runs the task and sends back what
 * the parent reports and checks, then exits. Tasks:
 *  - { kind: 'impl', impl, job, warmup, timing }: one implementation on one row's job
 *    (bench/job.js); replies with the timing, peak RSS, and the output or gradients for
 *    the parent's agreement check;
 *  - { kind: 'scaling', series, threads, isa, timing }: rnnkit's scaling series.
 * rnnkit's children run the ISA in their RNNKIT_ISA (set by the parent), checked here.
 * Every reply carries the child's CPU seconds, so that the parent does not count them as
 * foreign load.
 */
const { measure, timeOnce } = require('./stats');
const { watchLoad } = require('./machine');
const { track } = require('./memory');
const { THREAD_COUNTS } = require('./plan');

/** Required on use: a child holds only the library it benchmarks. */
const PEERS = { rnnkit: './peers/rnnkit', ort: './peers/ort', tfjs: './peers/tfjs' };

function createRunner(impl, job) {
  const peer = require(PEERS[impl.peer]);
  if (impl.peer === 'rnnkit' && impl.isa && peer.isa() !== impl.isa) {
    // The parent forks rnnkit's children with RNNKIT_ISA set (bench/isolate.js).
    throw new Error(`rnnkit runs ${peer.isa()}, not the ${impl.isa} the bench asked for (RNNKIT_ISA=${process.env.RNNKIT_ISA})`);
  }
  if (impl.peer !== 'tfjs') return peer.create(job, impl.threads ?? null);
  peer.init(Math.max(...THREAD_COUNTS));
  return peer.create(job, impl.backend);
}

/** What the agreement check compares: the sequence output, or every gradient for training. */
function checkValues(runner, mode) {
  if (mode === 'forward') return { output: runner.output() };
  const g = runner.gradients();
  return { dInput: g.dInput, dKernel: g.dWeights[0], dRecurrentKernel: g.dWeights[1], dBias: g.dWeights[2] };
}

/** One implementation on one row: warm up, then create, check, time, dispose inside the RSS window. */
async function benchImpl({ impl, job, warmup, timing }) {
  const w = await createRunner(impl, warmup);
  await w.call();
  await w.dispose();

  const { result, peakMB, deltaMB } = await track(async () => {
    const runner = await createRunner(impl, job);
    try {
      let values;
      // The load window includes the first call: it is the only sample of a slow call, and
      // a window of no time would turn one 10 ms tick of /proc/stat into many cores.
      const { result: t, foreignCores } = await watchLoad(async () => {
        const [, firstMs] = await timeOnce(() => runner.call());
        values = checkValues(runner, job.mode);
        return measure(() => runner.call(), firstMs, timing);
      });
      return { values, timing: { ...t, foreignCores }, reserveBytes: runner.reserveBytes?.() };
    } finally {
      await runner.dispose();
    }
  });
  delete result.timing.samples;
  const reply = { ...result, peakMB, deltaMB };
  if (impl.backend === 'wasm') reply.wasmThreads = require(PEERS.tfjs).wasmThreads();
  if (impl.peer === 'rnnkit') Object.assign(reply, { isa: require(PEERS.rnnkit).isa(), threadsUsed: require(PEERS.rnnkit).threads.get() });
  return reply;
}

/** rnnkit forward time along each series' dimension, at `threads`, with `isa`. */
async function benchScaling({ series, threads, isa, timing }) {
  const rnnkit = require(PEERS.rnnkit);
  if (isa && rnnkit.isa() !== isa) throw new Error(`rnnkit runs ${rnnkit.isa()}, not ${isa}`);
  const { prepareJob } = require('./job');
  const out = [];
  for (const s of series) {
    process.stderr.write(`scaling against ${s.vary}...\n`);
    const points = [];
    for (const [i, shape] of s.shapes.entries()) {
      const job = prepareJob({ shape, cell: s.cell, mode: 'forward', seed: 5000 + i });
      const runner = rnnkit.create(job, threads);
      try {
        const { result: t, foreignCores } = await watchLoad(async () => {
          const [, firstMs] = await timeOnce(() => runner.call());
          return measure(() => runner.call(), firstMs, timing);
        });
        points.push({ [s.vary]: shape[s.vary], shape, flops: job.flops, medianMs: t.medianMs, minMs: t.minMs, reps: t.reps, foreignCores });
      } finally {
        runner.dispose();
      }
    }
    out.push({ vary: s.vary, cell: s.cell, threads, isa: rnnkit.isa(), points });
  }
  return { scaling: out };
}

const TASKS = { impl: benchImpl, scaling: benchScaling };

process.once('message', async (task) => {
  let reply;
  try {
    reply = await TASKS[task.kind](task);
  } catch (e) {
    reply = { error: String(e?.message ?? e) };
  }
  const cpu = process.cpuUsage();
  reply.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // Exit once the reply is written: a library's leftover handles or threads must not keep
  // the process (and the parent, which waits for the exit) alive.
  process.send(reply, () => process.exit(0));
});
