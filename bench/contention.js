'use strict';
/**
 * `npm run bench -- --contention [--quick] [--isa LIST]`: issue 11's contention targets.
 * With one other process spinning on one core, rnnkit's default settings (no setNumThreads
 * call, no RNNKIT_NUM_THREADS or other tuning variable in the environment) must run N = 1
 * forward no slower than 1.2x its 1-thread time on a quiet machine, and the
 * (32,100,128,256) LSTM no slower than its 1-thread time.
 *
 * Per ISA and row (plan.CONTENTION), each in a fresh child process as in the main bench:
 *  - quiet: rnnkit at 1 thread, nothing else running;
 *  - contended: the same while a busy process this run starts itself spins on one core
 *    (unpinned: the scheduler places it, as it would a user's other work), with rnnkit's
 *    default settings, and for information at 1 and 2 threads explicitly.
 * The run goes in rounds (quiet phase, then contended phase, each round); each figure is the
 * median of the rounds' medians. Not the best round, as in the main tables: the contended
 * time depends on where the scheduler happens to put the spinner against rnnkit's threads,
 * and the best round would report the luckiest placement; the quiet time is taken the same
 * way so that the ratio compares like with like. Every output is checked against the first
 * quiet run's (a thread pool that misbehaves under preemption would show there first).
 */
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { CONTENTION, TIMING, TOLERANCE, rnnkitKey } = require('./plan');
const { prepareJob, warmupJob } = require('./job');
const { runInChild } = require('./isolate');
const { relL2, shapeLabel, CELL_LABEL } = require('./data');
const { median } = require('./stats');
const { BUSY_CORES } = require('./machine');
const { table } = require('./report');

/** The settings measured per row and ISA; `threads` null: rnnkit's defaults. */
const CONFIGS = [
  { key: 'quiet-1t', busy: false, threads: 1, label: 'quiet 1t' },
  { key: 'busy-default', busy: true, threads: null, label: 'contended default' },
  { key: 'busy-1t', busy: true, threads: 1, label: 'contended 1t' },
  { key: 'busy-2t', busy: true, threads: 2, label: 'contended 2t' },
];

/**
 * The busy process: node spinning on one core. It checks every 50 ms that this process is
 * still alive and exits when not, so that it cannot outlive a killed bench; and this process
 * kills it on exit, SIGINT and SIGTERM.
 */
const SPINNER = `const parent = ${process.pid};
process.stdout.write('spinning\\n');
for (;;) {
  const end = Date.now() + 50;
  while (Date.now() < end);
  try { process.kill(parent, 0); } catch { process.exit(0); }
}`;

/** Starts the busy process; resolves once it spins. */
async function startSpinner() {
  const child = spawn(process.execPath, ['-e', SPINNER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const onSignal = (signal) => {
    kill();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', kill);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const spinner = {
    pid: child.pid,
    async stop() {
      process.off('exit', kill);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      kill();
      await exited;
    },
  };
  try {
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve);
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`the busy process exited (${signal ?? `code ${code}`}) before it spun`)));
    });
    // Let it settle on its core (and the clock ramp up) before the first measurement.
    await new Promise((resolve) => setTimeout(resolve, 300));
  } catch (e) {
    await spinner.stop();
    throw e;
  }
  return spinner;
}

/** One setting on one row with one ISA, in a fresh child; the result and the output. */
async function measureOne(state, isa, config, timing) {
  const impl = { key: rnnkitKey(isa, config.threads), peer: 'rnnkit', isa, threads: config.threads };
  const reply = await runInChild({ kind: 'impl', impl, job: state.job, warmup: state.warmup, timing }, { isa, defaults: true });
  const r = { ...reply.timing, threadsUsed: reply.threadsUsed, isa: reply.isa };
  if (state.reference) r.relErr = relL2(reply.values.output, state.reference);
  else state.reference = reply.values.output;
  return r;
}

/**
 * Runs the contention measurement and prints its report.
 * @param {{quick: boolean, isas: string[], machine: object, warnIfBusy: () => Promise<number>, log: (s: string) => void}} o
 */
async function runContention({ quick, isas, machine, warnIfBusy, log }) {
  const started = Date.now();
  const rounds = CONTENTION.rounds[quick ? 'quick' : 'full'];
  const timing = TIMING[quick ? 'quick' : 'full'].main;
  const foreignBefore = await warnIfBusy();
  const states = CONTENTION.rows.map((row) => ({ row, job: prepareJob(row), warmup: warmupJob(row), reference: null, results: {} }));
  const record = (state, isa, config, r) => {
    const key = `${isa} ${config.key}`;
    (state.results[key] ??= []).push(r);
  };
  const phase = async (busy) => {
    for (const state of states) {
      for (const isa of isas) {
        for (const config of CONFIGS.filter((c) => c.busy === busy)) {
          log(`  ${`${state.row.cell} (${Object.values(state.row.shape).join(',')}) ${isa} ${config.label}`.padEnd(48)}`);
          try {
            const r = await measureOne(state, isa, config, timing);
            record(state, isa, config, r);
            log(` ${r.medianMs.toFixed(3)} ms median (${r.reps} reps${r.threadsUsed !== undefined ? `, ${r.threadsUsed} threads` : ''})\n`);
          } catch (e) {
            record(state, isa, config, { error: String(e.message ?? e).split('\n')[0] });
            log(` error: ${String(e.message ?? e).split('\n')[0]}\n`);
          }
        }
      }
    }
  };
  for (let round = 0; round < rounds; round++) {
    log(`contention round ${round + 1}/${rounds}: quiet machine, 1 thread\n`);
    await phase(false);
    log(`contention round ${round + 1}/${rounds}: one busy process spinning\n`);
    const spinner = await startSpinner();
    try {
      await phase(true);
    } finally {
      await spinner.stop();
    }
  }
  const res = {
    date: new Date().toISOString(),
    quick,
    isas,
    machine,
    rounds,
    timing,
    tolerance: TOLERANCE,
    busyProcess: `node -e "for(;;){}" (checks every 50 ms that the bench is alive), unpinned`,
    foreignCoresBefore: foreignBefore,
    rows: summarize(states, isas),
    durationS: (Date.now() - started) / 1000,
  };
  console.log(render(res));
  console.log(`Run took ${res.durationS.toFixed(0)} s.`);
  const file = path.join(__dirname, 'results', quick ? 'latest-contention-quick.json' : 'latest-contention.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(res, null, 2) + '\n');
  console.log(`Wrote ${path.relative(process.cwd(), file)}.`);
  if (res.rows.some((r) => r.status === 'FAIL')) process.exitCode = 1;
}

/**
 * One setting's figure over the rounds: the median of the rounds' mean ms per call, every
 * round's mean, the median of the rounds' call medians and 90th percentiles, and whether
 * other processes (beyond the busy one we started) loaded the CPU.
 */
function figure(list, busy) {
  const okRuns = (list ?? []).filter((r) => r.meanMs !== undefined);
  if (!okRuns.length) return { ms: null, error: list?.find((r) => r.error)?.error ?? 'not measured' };
  const allowed = BUSY_CORES + (busy ? 1 : 0); // the spinner is one busy core of its own
  return {
    ms: median(okRuns.map((r) => r.meanMs)),
    roundMeans: okRuns.map((r) => r.meanMs),
    callMedianMs: median(okRuns.map((r) => r.medianMs)),
    p90Ms: median(okRuns.map((r) => r.p90Ms)),
    threads: okRuns[0].threadsUsed,
    foreignCores: Math.max(...okRuns.map((r) => r.foreignCores)),
    crowded: okRuns.some((r) => r.foreignCores > allowed),
    maxRelErr: Math.max(0, ...okRuns.map((r) => r.relErr ?? 0)),
  };
}

/**
 * The verdict on one row and ISA: contended default time over quiet 1-thread time against
 * the row's maxRatio, with what limits a miss.
 */
function judgeContention(row, figures) {
  const q = figures['quiet-1t'];
  const d = figures['busy-default'];
  const failed = Object.entries(figures).filter(([, f]) => f.maxRelErr > TOLERANCE).map(([k]) => k);
  if (failed.length) return { status: 'FAIL', ratio: null, limit: `outputs disagree with the quiet run (${failed.join(', ')})` };
  if (q.ms === null || d.ms === null) return { status: 'n/a', ratio: null, limit: q.error ?? d.error };
  const ratio = d.ms / q.ms;
  const met = ratio <= row.maxRatio;
  const status = (met ? 'PASS' : 'MISS') + (q.crowded || d.crowded ? ' †' : '');
  return { status, ratio, ...(met ? {} : { limit: contentionLimit(row, figures, ratio) }) };
}

/** What a missed contention ratio would take, from the explicit 1- and 2-thread contended runs. */
function contentionLimit(row, f, ratio) {
  const q = f['quiet-1t'].ms;
  const needs = `needs ≤ ${(row.maxRatio * q).toPrecision(3)} ms`;
  const r1 = f['busy-1t'].ms === null ? null : f['busy-1t'].ms / q;
  const r2 = f['busy-2t'].ms === null ? null : f['busy-2t'].ms / q;
  const threads = f['busy-default'].threads;
  const parts = [needs, `the default ran ${threads ?? '?'} threads (${times(ratio)})`];
  if (r1 !== null) parts.push(`1 thread ${times(r1)}`);
  if (r2 !== null) parts.push(`2 threads ${times(r2)}`);
  let why;
  if (r1 !== null && r1 <= row.maxRatio && threads > 1) why = `1 thread meets it: the default's ${threads} threads are what lose to the busy process (one of them has to share a core with it)`;
  else if (r1 !== null && r1 > row.maxRatio) why = 'even 1 thread misses it: the busy process takes part of the core rnnkit runs on';
  else why = 'the default settings lose to the busy process';
  return `${parts.join('; ')}: ${why}`;
}

/** Per row and ISA: every setting's figure and the verdict. */
function summarize(states, isas) {
  return states.flatMap(({ row, results }) =>
    isas.map((isa) => {
      const figures = Object.fromEntries(CONFIGS.map((c) => [c.key, figure(results[`${isa} ${c.key}`], c.busy)]));
      return {
        shape: row.shape,
        cell: row.cell,
        label: `${shapeLabel(row.shape)} ${CELL_LABEL[row.cell]}`,
        isa,
        maxRatio: row.maxRatio,
        figures,
        ...judgeContention(row, figures),
      };
    }),
  );
}

function ms(v) {
  if (v === null) return '–';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(v >= 1 ? 2 : 3);
}

const times = (v) => `${v.toFixed(v < 10 ? 2 : 0)}x`;

const mark = (f) => (f.crowded ? ' †' : '');

function render(res) {
  const m = res.machine;
  const lines = [
    `## rnnkit contention benchmark — ${res.date}${res.quick ? ' (--quick)' : ''}`,
    '',
    `CPU: ${m.cpu} · ${m.cores} logical cores · ${m.isaFlags.join(' ')} · ${m.platform} · node ${m.node} · rnnkit ${m.rnnkit} (ISAs: ${res.isas.join(', ')}, each forced with RNNKIT_ISA)`,
    `Busy process: ${res.busyProcess}. Quiet: rnnkit with setNumThreads(1), nothing else running. Contended default: rnnkit's default settings (no setNumThreads, no RNNKIT_NUM_THREADS / RNNKIT_CPU_* in its environment) while the busy process spins.`,
    `Each figure: mean ms per call (the total time over the calls, as a service sees it in throughput: a pool that stalls now and then shows there, while the median of the calls hides it), the median over ${res.rounds} round${res.rounds > 1 ? 's' : ''} (each round a fresh process per setting, timed over the run's time budget); the median, not the best round, since the contended time depends on where the scheduler puts the spinner against rnnkit's threads. For information, the contended default's median and 90th percentile of its calls.`,
    `Other processes used ${Number.isFinite(res.foreignCoresBefore) ? res.foreignCoresBefore.toFixed(2) : '?'} cores before the run.`,
    '',
    '### Issue 11 under contention: contended default / quiet 1 thread, mean ms per call',
    '',
    table(
      ['shape (N,T,D,H)', 'cell', 'ISA', 'quiet 1t ms', 'contended default ms (threads)', 'ratio', 'target', 'status', 'contended 1t ms', 'contended 2t ms', 'default, every round', 'default: median / p90 of calls', 'what a miss would take / what limits it'],
      res.rows.map((r) => {
        const f = r.figures;
        const d = f['busy-default'];
        return [
          r.label.split(' ')[0],
          r.label.split(' ').slice(1).join(' '),
          r.isa,
          ms(f['quiet-1t'].ms) + mark(f['quiet-1t']),
          `${ms(d.ms)}${d.threads !== undefined ? ` (${d.threads})` : ''}${mark(d)}`,
          r.ratio === null ? '–' : times(r.ratio),
          `≤ ${r.maxRatio.toFixed(1)}x`,
          r.status.startsWith('PASS') ? r.status : `**${r.status}**`,
          ms(f['busy-1t'].ms) + mark(f['busy-1t']),
          ms(f['busy-2t'].ms) + mark(f['busy-2t']),
          d.roundMeans ? d.roundMeans.map(ms).join(' · ') : d.error,
          d.roundMeans ? `${ms(d.callMedianMs)} / ${ms(d.p90Ms)}` : '–',
          r.limit ?? '',
        ];
      }),
    ),
  ];
  if (res.rows.some((r) => r.status.endsWith('†'))) {
    lines.push('', `† measured while other processes (beyond the busy one started here) used more than ${BUSY_CORES} cores: rerun on a quiet machine before believing it.`);
  }
  lines.push('');
  return lines.join('\n');
}

module.exports = { runContention, judgeContention, summarize, startSpinner, CONFIGS };
