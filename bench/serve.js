'use strict';
/**
 * `npm run bench:serve` (`node bench/serve.js [--quick] [--duration S] [--warmup S]
 * [--connections LIST] [--model DIR]`): issue 12's load test of the HTTP service
 * (examples/serve.js). Starts two servers as child processes on loopback, one answering
 * /predict through rk.serving.batcher and one with --direct (model.predict once per
 * request), on the same model: the demo's (npm run demo) if one exists, else the small
 * model the server trains and saves. Loads each with autocannon (run in this process),
 * POST /predict with windows of 40 characters of the examples' corpus picked by a seeded generator
 * (the same sequence of bodies for every run), at 1, 16, 64 and 256 connections: per run
 * a warm-up, then /stats is read and reset (its event-loop delay histogram, HTTP counts and
 * CPU figures start afresh), then the measured run, then /stats again. The two modes run
 * one after the other at each connection count, so that a change in background load hits
 * both alike.
 *
 * Prints Markdown tables (requests/s, latency percentiles, errors, the server's event-loop
 * delay, batch sizes, CPU) and the ratios, judges issue 12's targets (at 64 connections the
 * batcher serves >= 4x the requests/s of --direct with a p99 latency no worse; the server's
 * event-loop delay p99 < 20 ms in every batcher run) and writes
 * bench/results/latest-serve.json (latest-serve-quick.json for --quick).
 *
 * autocannon runs in this process on the same machine, so it takes CPU from the server: on
 * a 2-core machine the figures are those of a server sharing its cores with its load
 * generator (the report says so).
 */
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const http = require('http');
const { mulberry32 } = require('./data');
const { measure: timeCalls, timeOnce } = require('./stats');
const { table } = require('./report');
const machine = require('./machine');

const ROOT = path.join(__dirname, '..');
const SERVER = path.join(ROOT, 'examples', 'serve.js');
const corpus = require('../examples/char-corpus');
const RESULTS = path.join(__dirname, 'results');

/** The request bodies: WINDOW characters of the corpus (examples/char-corpus.js) from BODIES seeded random starts. */
const WINDOW = 40;
const SEED = 12;
const BODIES = 1024;
/** Most requests one measured run may make (it ends at its duration or at this count). */
const MAX_REQUESTS = 1_000_000;

/** Issue 12's targets. */
const TARGETS = { connections: 64, minRpsRatio: 4, maxP99Ratio: 1, maxLoopDelayP99Ms: 20 };

const USAGE = `usage: npm run bench:serve [-- [--quick] [--duration S] [--warmup S] [--connections LIST] [--model DIR]]
  --quick            a short smoke run (2 s runs, 0.5 s warm-up; results go to latest-serve-quick.json)
  --duration S       seconds per measured run (default 5)
  --warmup S         seconds of warm-up before each run (default 1)
  --connections LIST connection counts, e.g. 1,16,64,256 (the default)
  --model DIR        the model folder to serve (default: the server's choice: the demo's model,
                     else the one it trains)
  --max-batch N      the batcher server's maxBatchSize (default: the batcher's, 32)
  --max-delay-ms MS  the batcher server's maxDelayMs (default: the batcher's, 0)`;

class UsageError extends Error {}

/**
 * @param {string[]} argv the arguments after the script
 * @returns {{quick: boolean, durationS: number, warmupS: number, connections: number[], model: string | null}}
 * @throws {UsageError}
 */
function parseArgs(argv) {
  const out = { quick: false, durationS: null, warmupS: null, connections: [1, 16, 64, 256], model: null, maxBatchSize: null, maxDelayMs: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = () => {
      const v = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '' || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
      return v;
    };
    const seconds = (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || n > 600) throw new UsageError(`${name} must be a number of seconds in (0, 600], got ${JSON.stringify(v)}`);
      return n;
    };
    if (a === '--quick') out.quick = true;
    else if (name === '--duration') out.durationS = seconds(value());
    else if (name === '--warmup') out.warmupS = seconds(value());
    else if (name === '--model') out.model = value();
    else if (name === '--max-batch' || name === '--max-delay-ms') {
      const v = value();
      const n = Number(v);
      const min = name === '--max-batch' ? 1 : 0;
      if (!/^\d+$/.test(v) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
      out[name === '--max-batch' ? 'maxBatchSize' : 'maxDelayMs'] = n;
    }
    else if (name === '--connections') {
      const v = value();
      const list = v.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
      if (!list.length || list.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000)) throw new UsageError(`--connections must list integers in [1, 10000], got ${JSON.stringify(v)}`);
      out.connections = [...new Set(list)].sort((x, y) => x - y);
    } else throw new UsageError(`unknown argument: ${a}`);
  }
  out.durationS ??= out.quick ? 2 : 5;
  out.warmupS ??= out.quick ? 0.5 : 1;
  return out;
}

/** The bodies, in the order the requests take them: seeded windows of the text. */
function requestBodies(text, n = BODIES, window = WINDOW, seed = SEED) {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const start = Math.floor(rand() * (text.length - window));
    return JSON.stringify({ text: text.slice(start, start + window) });
  });
}

// ---------------------------------------------------------------------------------------
// Judging and the report (pure: tested in test/bench-serve.test.ts)

const find = (runs, mode, connections) => runs.find((r) => r.mode === mode && r.connections === connections);

/** Per connection count measured in both modes: batcher / direct requests/s and p99 latency. */
function ratios(runs) {
  const counts = [...new Set(runs.map((r) => r.connections))].sort((a, b) => a - b);
  return counts.flatMap((c) => {
    const b = find(runs, 'batcher', c);
    const d = find(runs, 'direct', c);
    if (!b || !d) return [];
    return [{ connections: c, rps: d.rps > 0 ? b.rps / d.rps : null, p99: d.latency.p99 > 0 ? b.latency.p99 / d.latency.p99 : null }];
  });
}

/**
 * Issue 12's targets: PASS, MISS, or – when not measured.
 * A run with errors or non-2xx answers misses what it is judged on: speed bought with
 * failures does not count.
 */
function judgeTargets(runs, t = TARGETS) {
  const b = find(runs, 'batcher', t.connections);
  const d = find(runs, 'direct', t.connections);
  const clean = (r) => r.errors === 0 && r.timeouts === 0 && r.non2xx === 0;
  const verdict = (measured, ok) => (measured ? (ok ? 'PASS' : 'MISS') : '–');
  const both = Boolean(b && d);
  const rpsRatio = both && d.rps > 0 ? b.rps / d.rps : null;
  const p99Ratio = both && d.latency.p99 > 0 ? b.latency.p99 / d.latency.p99 : null;
  const batcherRuns = runs.filter((r) => r.mode === 'batcher');
  const worst = batcherRuns.reduce((w, r) => (!w || r.eventLoopDelayMs.p99 > w.eventLoopDelayMs.p99 ? r : w), null);
  return [
    {
      id: 'throughput',
      target: `batcher >= ${t.minRpsRatio}x --direct requests/s at ${t.connections} connections`,
      measured: both ? `${fmtRatio(rpsRatio)} (${fmtRps(b.rps)} vs ${fmtRps(d.rps)} req/s)` : 'not measured',
      verdict: verdict(both, rpsRatio !== null && rpsRatio >= t.minRpsRatio && clean(b)),
    },
    {
      id: 'latency',
      target: `batcher p99 latency no worse than --direct at ${t.connections} connections`,
      measured: both ? `${fmtMs(b.latency.p99)} vs ${fmtMs(d.latency.p99)} ms (${fmtRatio(p99Ratio)})` : 'not measured',
      verdict: verdict(both, b && d && b.latency.p99 <= d.latency.p99 * t.maxP99Ratio && clean(b)),
    },
    {
      id: 'event-loop',
      target: `server event-loop delay p99 < ${t.maxLoopDelayP99Ms} ms in every batcher run`,
      measured: worst ? `worst ${fmtMs(worst.eventLoopDelayMs.p99)} ms (at ${worst.connections} connections)` : 'not measured',
      verdict: verdict(Boolean(worst), worst && batcherRuns.every((r) => r.eventLoopDelayMs.p99 < t.maxLoopDelayP99Ms)),
    },
  ];
}

function fmtRps(v) {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
}
function fmtMs(v) {
  if (v === null || v === undefined) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
function fmtRatio(v) {
  return v === null || v === undefined ? '–' : `${v.toFixed(2)}x`;
}

/** The printed report (Markdown). */
function render(res) {
  const m = res.machine;
  const out = [];
  out.push('## Serving load test (examples/serve.js under autocannon)', '');
  out.push(`Machine: ${m.cpu}, ${m.cores} cores (${m.isaFlags.join(', ') || 'no AVX flags'}), ${m.platform}, Node ${m.node}.`);
  out.push(`Model: ${res.model.source} (${res.model.input} input). rnnkit in the servers: ${res.server}.`);
  out.push(`Load: POST /predict with ${WINDOW}-character windows of the corpus (seeded, ${BODIES} distinct bodies in a fixed order), ` +
    `${res.settings.durationS} s per run after ${res.settings.warmupS} s of warm-up; batcher: maxBatchSize ${res.settings.maxBatchSize ?? '32 (default)'}, maxDelayMs ${res.settings.maxDelayMs ?? '0 (default)'}.`);
  if (res.forward) {
    const f = res.forward;
    out.push(`The model's forward alone (model.predict in one process, ${f.isa}, ${f.threads} threads, idle servers): batch 1 ${fmtMs(f.n1.medianMs)} ms, ` +
      `batch 32 ${fmtMs(f.n32.medianMs)} ms (${fmtMs(f.n32.perSequenceMs)} ms per sequence): batching makes a sequence's forward ${f.batchGain.toFixed(1)}x cheaper; ` +
      `that bounds what the batcher can gain over one predict at a time, and --direct's concurrent predicts already use both cores.`);
  }
  out.push(`Note: autocannon runs in the bench's process on the same ${m.cores} cores as the server, so it takes CPU the server would otherwise have; ` +
    `the server's own share is the "server CPU" column. autocannon times latency in whole milliseconds.`, '');
  const rows = res.runs.map((r) => [
    r.connections,
    r.mode,
    fmtRps(r.rps),
    fmtMs(r.latency.p50),
    fmtMs(r.latency.p99),
    fmtMs(r.latency.max),
    r.ok,
    r.non2xx,
    r.errors + r.timeouts,
    fmtMs(r.eventLoopDelayMs.p99),
    fmtMs(r.eventLoopDelayMs.max),
    r.batcher.meanBatch === null ? '–' : r.batcher.meanBatch.toFixed(1),
    r.serverCpuCores.toFixed(2),
    `${Number.isNaN(r.foreignCores) ? '?' : r.foreignCores.toFixed(2)}${r.foreignCores > machine.BUSY_CORES ? ' †' : ''}`,
  ]);
  out.push(table(['conns', 'mode', 'req/s', 'p50 ms', 'p99 ms', 'max ms', '2xx', 'non-2xx', 'errors', 'loop p99 ms', 'loop max ms', 'batch', 'server CPU', 'other load'], rows), '');
  out.push('req/s: answered 2xx per second of the run. loop: the server\'s event-loop delay (perf_hooks.monitorEventLoopDelay, beyond its 1 ms sampling). ' +
    'batch: mean sequences per forward (batcher runs). server CPU: cores the server process kept busy. other load: cores busy outside this bench and its servers (†: above ' +
    `${machine.BUSY_CORES}, the figures are not trustworthy).`, '');
  out.push(table(['conns', 'batcher/direct req/s', 'batcher/direct p99'], res.ratios.map((r) => [r.connections, fmtRatio(r.rps), fmtRatio(r.p99)])), '');
  out.push('### Targets (issue 12)', '');
  out.push(table(['target', 'measured', 'verdict'], res.targets.map((t) => [t.target, t.measured, `**${t.verdict}**`])), '');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------
// Servers and runs

/** Progress goes to stderr, so that stdout is the report alone. */
const log = (s) => process.stderr.write(`${s}\n`);

/** Starts examples/serve.js; resolves with its port once it prints its "listening on" line. */
function startServer(args) {
  const proc = spawn(process.execPath, [SERVER, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start within 300 s:\n${lines.join('\n')}`)), 300_000);
    proc.stderr.on('data', (d) => log(`  [server ${args.join(' ') || '(batcher)'}] ${String(d).trimEnd()}`));
    proc.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        log(`  [server${args.includes('--direct') ? ' --direct' : ''}] ${line}`);
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({ proc, port: Number(m[1]), lines, exited });
        }
      }
    });
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before listening:\n${lines.join('\n')}`));
    });
  });
}

/** A JSON request to a server (its own connection). */
function request(port, method, url) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: url, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${method} ${url}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** One autocannon run: POST /predict with the bodies in order (shared by every connection). */
function load(port, connections, durationS, bodies, maxRequests) {
  const autocannon = require('autocannon');
  let next = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: durationS,
    maxOverallRequests: maxRequests,
    timeout: 20,
    requests: [
      {
        method: 'POST',
        path: '/predict',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }),
      },
    ],
  });
}

/** A measured run: warm-up, /stats reset, the run, /stats. */
async function measure(server, mode, connections, settings, bodies) {
  await load(server.port, connections, settings.warmupS, bodies, MAX_REQUESTS);
  await new Promise((r) => setTimeout(r, 200)); // the warm-up's cut-off requests settle
  const before = await request(server.port, 'GET', '/stats?reset=1');
  const a = machine.snapshot();
  const r = await load(server.port, connections, settings.durationS, bodies, MAX_REQUESTS);
  const b = machine.snapshot();
  const after = await request(server.port, 'GET', '/stats');
  const serverCpu = after.process.cpuUserS + after.process.cpuSystemS;
  const batches = after.batcher.batches - before.batcher.batches;
  const sequences = after.batcher.completed - before.batcher.completed;
  return {
    mode,
    connections,
    durationS: r.duration,
    rps: r['2xx'] / r.duration,
    requests: r.requests.total,
    ok: r['2xx'],
    non2xx: r.non2xx,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    errors: r.errors,
    timeouts: r.timeouts,
    latency: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.mean },
    eventLoopDelayMs: after.eventLoopDelayMs,
    httpStatuses: after.http.statuses,
    batcher: {
      batches,
      completed: sequences,
      meanBatch: batches > 0 ? sequences / batches : null,
      rejected: after.batcher.rejected,
      queueWaitMs: after.batcher.queueWaitMs,
      computeMs: after.batcher.computeMs,
    },
    serverCpuCores: after.process.cpuCores,
    serverRssMB: after.process.rssMB,
    foreignCores: machine.foreignCores(a, b, serverCpu),
  };
}

/**
 * The model's forward alone, in this process, while the servers are idle: model.predict on
 * one window and on a full default batch (32) of windows. Their ratio per sequence is what
 * batching can gain in compute; --direct gets some of it back by running concurrent
 * predicts on several cores.
 */
async function forwardAlone(dir, bodies) {
  const rk = require('..');
  const lib = require('../examples/neurons-lib');
  const { vocab, index } = lib.charVocab(corpus.readCorpus());
  const model = await rk.loadModel(dir);
  const ids = lib.takesIds(model);
  const timing = { warmupMs: 300, budgetMs: 1500, maxReps: 500, reuseFirstMs: 2000 };
  const out = { threads: rk.getNumThreads(), isa: rk.getIsa() };
  for (const N of [1, 32]) {
    const chars = bodies.slice(0, N).map((b) => [...JSON.parse(b).text]);
    const T = chars[0].length;
    const V = vocab.length;
    const values = new Float32Array(ids ? N * T : N * T * V);
    chars.forEach((seq, n) => seq.forEach((c, t) => (ids ? (values[n * T + t] = index.get(c)) : (values[(n * T + t) * V + index.get(c)] = 1))));
    const x = rk.tensor(values, ids ? [N, T] : [N, T, V]);
    const call = async () => (await model.predict(x)).dispose();
    const [, firstMs] = await timeOnce(call);
    const t = await timeCalls(call, firstMs, timing);
    out[`n${N}`] = { medianMs: t.medianMs, perSequenceMs: t.medianMs / N, reps: t.reps };
    x.dispose();
  }
  model.dispose();
  out.batchGain = out.n1.perSequenceMs / out.n32.perSequenceMs;
  return out;
}

async function stopServer(s) {
  s.proc.kill('SIGTERM');
  const { code } = await s.exited;
  if (code !== 0) log(`warning: a server exited with ${code} after SIGTERM`);
  return code;
}

async function main() {
  let settings;
  try {
    settings = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
  const started = Date.now();
  const m = machine.describe();
  const { foreignCores } = await machine.watchLoad(() => new Promise((r) => setTimeout(r, 1000)));
  if (foreignCores > machine.BUSY_CORES) log(`warning: other processes are using ${foreignCores.toFixed(1)} cores; the figures taken now are not trustworthy (marked †)`);
  log(`note: autocannon runs in this process and shares the ${m.cores} cores with the server`);

  const text = corpus.readCorpus();
  const bodies = requestBodies(text);
  // The batcher's server first: it picks (or trains and saves) the model; the direct one
  // then serves the same folder.
  const servers = {};
  const all = [];
  const cleanup = () => all.forEach((s) => s.proc.exitCode === null && s.proc.kill('SIGKILL'));
  process.on('exit', cleanup);
  const batcherArgs = [
    ...(settings.model ? ['--model', settings.model] : []),
    ...(settings.maxBatchSize !== null ? ['--max-batch', String(settings.maxBatchSize)] : []),
    ...(settings.maxDelayMs !== null ? ['--max-delay-ms', String(settings.maxDelayMs)] : []),
  ];
  servers.batcher = await startServer(batcherArgs);
  all.push(servers.batcher);
  const health = await request(servers.batcher.port, 'GET', '/health');
  log('timing the model\'s forward alone (batch 1 and 32)...');
  const forward = await forwardAlone(health.modelDir, bodies);
  servers.direct = await startServer(['--direct', '--model', health.modelDir]);
  all.push(servers.direct);
  const serverLine = servers.batcher.lines.find((l) => l.startsWith('rnnkit on')) ?? '';

  const runs = [];
  for (const c of settings.connections) {
    for (const mode of ['batcher', 'direct']) {
      log(`${mode}, ${c} connection${c > 1 ? 's' : ''}: ${settings.warmupS} s warm-up, ${settings.durationS} s run...`);
      const r = await measure(servers[mode], mode, c, settings, bodies);
      log(`  ${fmtRps(r.rps)} req/s, p50 ${fmtMs(r.latency.p50)} ms, p99 ${fmtMs(r.latency.p99)} ms, non-2xx ${r.non2xx}, errors ${r.errors + r.timeouts}, event-loop p99 ${fmtMs(r.eventLoopDelayMs.p99)} ms`);
      runs.push(r);
    }
  }
  const exitCodes = { batcher: await stopServer(servers.batcher), direct: await stopServer(servers.direct) };

  const res = {
    date: new Date().toISOString(),
    quick: settings.quick,
    machine: m,
    server: serverLine.replace(/^rnnkit on /, '').replace(/;.*$/, ''),
    model: { source: health.model, dir: health.modelDir, input: health.input },
    settings: { ...settings, window: WINDOW, seed: SEED, bodies: BODIES, maxRequestsPerRun: MAX_REQUESTS, loadGenerator: `autocannon ${require('autocannon/package.json').version} in the bench process` },
    foreignCoresAtStart: foreignCores,
    forward,
    runs,
    ratios: ratios(runs),
    targets: judgeTargets(runs),
    serverExitCodes: exitCodes,
  };
  res.durationS = (Date.now() - started) / 1000;
  console.log(render(res));
  console.log(`Run took ${res.durationS.toFixed(0)} s.`);
  const file = path.join(RESULTS, settings.quick ? 'latest-serve-quick.json' : 'latest-serve.json');
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(res, null, 2) + '\n');
  console.log(`Wrote ${path.relative(process.cwd(), file)}.`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = { parseArgs, UsageError, USAGE, requestBodies, ratios, judgeTargets, render, TARGETS, WINDOW };
