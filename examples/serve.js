#!/usr/bin/env node
// The character model as an HTTP service: next-character predictions, batched across
// concurrent requests by rk.serving.batcher, and streaming sessions that carry the LSTM's
// state between requests (exportable, resumable in another process).
//
// Built on node:http alone, on purpose: four routes need no framework, and owning the
// request handling directly gives full control of what a service must get right (a body
// limit enforced before the body is read, one JSON error shape for every refusal, how
// keep-alive connections end on shutdown) with no dependency to install or audit.
//
//   npm run serve [-- --model DIR] [-- --port 8080] [-- --direct] ...   (--help: every flag)
//
//   POST   /predict              {"text": "Shall I compare thee"}   → {"next": [{"char": " ", "p": 0.42}, ...5], "ms": 1.9}
//                                 ("all": true adds "probs": {char: p} over the whole vocabulary)
//   POST   /sessions             {} or {"state": <a session's exported state>}  → 201 {"id": "...", "steps": 0}
//   POST   /sessions/:id/step    {"text": "S"} (one char: s.step; several: s.feed) → as /predict, plus "steps"
//   GET    /sessions/:id/state   → the exported state (post it back to /sessions to resume)
//   DELETE /sessions/:id
//   GET    /health               → {"ok": true, ...}
//   GET    /stats[?reset=1]      → the batcher's stats, HTTP counts, process figures, event-loop delay
//   POST   /stats/reset          → resets the event-loop histogram and the HTTP counts
//
// The model: --model DIR (a model.save folder), else the one `npm run demo` saved last
// (examples/char-lm.js: <tmpdir>/rnnkit-char-lm-*), else one an earlier run of this script
// trained (examples/out/serve-model), else a small one trained now the demo's way (as
// examples/neurons.js does; --train-units, --train-epochs). Its vocabulary is that of
// the corpus of examples/char-corpus.js (the demo's); one-hot models (the demo's) and Embedding models (neurons.js's)
// both work.
//
// Errors are JSON: {"error": {"code": "...", "message": "..."}}: bad JSON or fields 400,
// unknown route 404, wrong method 405, body over --max-body 413 (answered from the
// Content-Length header, without reading the body), the batcher's queue full 503 with
// Retry-After, shutting down 503, the per-request --timeout-ms passed 504 (predictions only:
// a session step is never timed out, since a step that ran after its answer was given up
// would have moved the session's state anyway).
//
// --direct: /predict calls model.predict once per request instead of the batcher (the
// baseline of bench/serve.js); sessions still use the batcher.
//
// SIGTERM/SIGINT: stops accepting connections, answers every request that had arrived
// (requests arriving later get 503 and their connection is closed), drains the batcher
// (await b.close()), then exits 0. A second signal exits at once with 1.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');
const rk = require('..');
const corpus = require('./char-corpus');
const lib = require('./neurons-lib');

const CACHE = path.join(__dirname, 'out', 'serve-model');
const TOP_K = 5;
/** The event-loop delay histogram's sampling interval (ms), subtracted from its figures. */
const ELD_RESOLUTION_MS = 1;

const USAGE = `usage: node examples/serve.js [options]   (npm run serve -- [options])
  --model DIR            a model saved with model.save (default: the demo's last model, else
                         examples/out/serve-model, else one trained now)
  --host HOST            default 127.0.0.1 (HOST)
  --port N               default 8080 (PORT); 0 picks a free port
  --direct               /predict runs model.predict per request, not the batcher (SERVE_DIRECT=1)
  --max-chars N          longest text per request (default 400)
  --max-body BYTES       largest request body (default 16384)
  --timeout-ms MS        per-prediction timeout (default 10000)
  --max-batch N          batcher maxBatchSize (default: the batcher's, 32)
  --max-delay-ms MS      batcher maxDelayMs (default: the batcher's, 0)
  --max-queue N          batcher maxQueue (default: the batcher's, 1024)
  --session-ttl-ms MS    batcher sessionTtlMs (default: the batcher's, 600000)
  --max-sessions N       batcher maxSessions (default: the batcher's, 100000)
  --shutdown-timeout-ms MS  how long a graceful shutdown may take before exit 1 (default 15000)
  --train-units N        units of the model trained when none is found (default 64)
  --train-epochs N       its epochs (default 5)
  --help`;

class UsageError extends Error {}

/** Flags taking a number: name → [option key, minimum]. */
const NUMERIC = {
  '--port': ['port', 0],
  '--max-chars': ['maxChars', 1],
  '--max-body': ['maxBodyBytes', 64],
  '--timeout-ms': ['timeoutMs', 1],
  '--max-batch': ['maxBatchSize', 1],
  '--max-delay-ms': ['maxDelayMs', 0],
  '--max-queue': ['maxQueue', 1],
  '--session-ttl-ms': ['sessionTtlMs', 1],
  '--max-sessions': ['maxSessions', 1],
  '--shutdown-timeout-ms': ['shutdownTimeoutMs', 1],
  '--train-units': ['trainUnits', 1],
  '--train-epochs': ['trainEpochs', 1],
};

/**
 * The command line (and PORT, HOST, SERVE_DIRECT) as options; throws UsageError.
 * @param {string[]} argv the arguments after the script
 * @param {Record<string, string | undefined>} env
 */
function parseArgs(argv, env = {}) {
  const o = {
    model: null,
    host: env.HOST || '127.0.0.1',
    port: 8080,
    direct: env.SERVE_DIRECT === '1' || env.SERVE_DIRECT === 'true',
    maxChars: 400,
    maxBodyBytes: 16 * 1024,
    timeoutMs: 10_000,
    maxBatchSize: undefined,
    maxDelayMs: undefined,
    maxQueue: undefined,
    sessionTtlMs: undefined,
    maxSessions: undefined,
    shutdownTimeoutMs: 15_000,
    trainUnits: 64,
    trainEpochs: 5,
    help: false,
  };
  if (env.PORT !== undefined && env.PORT !== '') o.port = integer('PORT', env.PORT, 0);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (name === '--help' || name === '-h') o.help = true;
    else if (name === '--direct') {
      if (inline !== undefined) throw new UsageError('--direct takes no value');
      o.direct = true;
    } else if (name === '--model') o.model = value();
    else if (name === '--host') o.host = value();
    else if (Object.hasOwn(NUMERIC, name)) {
      const [key, min] = NUMERIC[name];
      o[key] = integer(name, value(), min);
    } else throw new UsageError(`unknown argument: ${arg}`);
  }
  if (o.port > 65535) throw new UsageError(`--port must be at most 65535, got ${o.port}`);
  return o;
}

function integer(name, text, min) {
  const n = Number(text);
  if (!/^\d+$/.test(String(text).trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return n;
}

// ---------------------------------------------------------------------------------------
// The model

/** What the model takes and gives, checked against the vocabulary: throws when it does not fit. */
function describeModel(model, V) {
  const ids = lib.takesIds(model);
  const inV = ids ? model.layers[0].config.inputDim : model.inputShape?.at(-1);
  if (inV !== V) throw new Error(`it takes ${inV} distinct characters${ids ? ' (Embedding inputDim)' : ''}, the corpus has ${V}`);
  const out = model.outputShape;
  if (!out || out.at(-1) !== V) throw new Error(`its output has ${out?.at(-1)} values per step, expected ${V} next-character probabilities`);
  return { ids, perStep: out.length === 3 };
}

async function tryLoad(dir, V, what, log) {
  try {
    const model = await rk.loadModel(dir);
    try {
      describeModel(model, V);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  } catch (e) {
    log(`not using ${what} in ${dir}: ${e.message}`);
    return null;
  }
}

/** The model to serve and where it came from (see the top of the file). */
async function getModel(opts, text, V, log) {
  if (opts.model) {
    const m = await tryLoad(opts.model, V, '--model', log);
    if (!m) throw new Error(`--model ${opts.model} does not hold a usable character model`);
    return { model: m, dir: path.resolve(opts.model), source: `the model in ${opts.model} (--model)` };
  }
  const demo = lib.findDemoModel();
  if (demo) {
    const m = await tryLoad(demo, V, "the demo's model", log);
    if (m) return { model: m, dir: demo, source: `the model npm run demo saved in ${demo}` };
  }
  if (fs.existsSync(path.join(CACHE, 'model.json'))) {
    const m = await tryLoad(CACHE, V, 'the model an earlier run saved', log);
    if (m) return { model: m, dir: CACHE, source: `the model an earlier run of this server trained, in ${CACHE}` };
  }
  log(`no saved character model (run npm run demo for the demo's, or pass --model DIR): training a small one ` +
    `(Embedding 24 → LSTM ${opts.trainUnits} → Dense softmax, up to ${opts.trainEpochs} epochs, the demo's windows and optimizer)`);
  const model = lib.buildCharModel({ V, units: opts.trainUnits, seed: 1 });
  const t = await lib.trainCharModel(model, text, { epochs: opts.trainEpochs, seed: 3, log });
  log(`trained in ${t.seconds.toFixed(1)} s; kept epoch ${t.keptEpoch}'s weights (held-out loss ${t.keptValLoss.toFixed(2)} nats per character, uniform guessing ${Math.log(V).toFixed(2)})`);
  await model.save(CACHE);
  log(`saved it in ${CACHE} for the next start`);
  return { model, dir: CACHE, source: `a small model this server trained (LSTM ${opts.trainUnits}, epoch ${t.keptEpoch}), saved in ${CACHE}` };
}

// ---------------------------------------------------------------------------------------
// Requests and answers

class HttpError extends Error {
  constructor(status, code, message, headers = {}) {
    // No stack trace: these are answers, not bugs, and a server shedding load (503) makes
    // many of them.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** The `k` most probable characters, most probable first (ties: vocabulary order). */
function topK(probs, vocab, k = TOP_K) {
  const order = Array.from(probs, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  return order.slice(0, k).map((i) => ({ char: vocab[i], p: probs[i] }));
}

/** The last step's probabilities of a batcher Output ([K] or [T, K]) or a predict tensor's data. */
function lastRow(data, K) {
  return data.subarray(data.length - K);
}

/** The body's `text` as characters (code points) of the vocabulary; throws HttpError 400. */
function textChars(body, index, maxChars) {
  if (!Object.hasOwn(body, 'text')) throw new HttpError(400, 'missing_field', 'the body needs a "text" field: {"text": "..."}');
  if (typeof body.text !== 'string') throw new HttpError(400, 'invalid_field', `"text" must be a string, got ${jsonType(body.text)}`);
  const chars = [...body.text];
  if (chars.length < 1 || chars.length > maxChars) {
    throw new HttpError(400, 'invalid_field', `"text" must have 1 to ${maxChars} characters, got ${chars.length}`);
  }
  const at = chars.findIndex((c) => !index.has(c));
  if (at >= 0) {
    const c = chars[at];
    const cp = `U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw new HttpError(400, 'unknown_char', `the character ${JSON.stringify(c)} (${cp}) at position ${at} is not in the model's vocabulary`);
  }
  return chars;
}

function jsonType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** Rejects fields other than `allowed` (a typo must not be silently ignored). */
function onlyFields(body, allowed) {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length) {
    throw new HttpError(400, 'unknown_field', `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')} (allowed: ${allowed.join(', ')})`);
  }
}

/**
 * Reads the body, at most `limit` bytes: a larger Content-Length is refused before any of the
 * body is read; a chunked body is refused as soon as it passes the limit.
 */
function readBody(req, limit) {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new HttpError(413, 'body_too_large', `the body is ${declared} bytes; the limit is ${limit}`, { connection: 'close' }));
  }
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    const onData = (chunk) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(new HttpError(413, 'body_too_large', `the body passed the limit of ${limit} bytes`, { connection: 'close' }));
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = () => {
      cleanup();
      reject(new HttpError(400, 'body_incomplete', 'the connection ended before the whole body arrived'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** The body as a JSON object; `optional`: an empty body is `{}`. Throws HttpError 400. */
function parseJson(buf, optional) {
  const s = buf.toString('utf8');
  if (s.trim() === '') {
    if (optional) return {};
    throw new HttpError(400, 'bad_json', 'the body is empty: expected a JSON object such as {"text": "..."}');
  }
  let v;
  try {
    v = JSON.parse(s);
  } catch (e) {
    throw new HttpError(400, 'bad_json', `the body is not valid JSON: ${e.message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'invalid_body', `the body must be a JSON object, got ${jsonType(v)}`);
  return v;
}

/** An rnnkit serving error as an HTTP error. */
function fromServingError(e, shuttingDown) {
  switch (e?.code) {
    case 'RNNKIT_QUEUE_FULL':
      return new HttpError(503, 'queue_full', `the server is at capacity: ${e.message}`, { 'retry-after': '1' });
    case 'RNNKIT_TIMEOUT':
      return new HttpError(504, 'timeout', e.message);
    case 'RNNKIT_CLOSED':
      return shuttingDown ? new HttpError(503, 'shutting_down', 'the server is shutting down', { connection: 'close' }) : null;
    case 'RNNKIT_ABORTED':
      return new HttpError(499, 'client_closed', 'the client went away before the answer');
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------
// The server

/**
 * Creates the service (not yet listening). `model` stays the caller's; `close()` does the
 * graceful shutdown and resolves when every connection has ended.
 */
function createService({ model, vocab, opts, source = '', dir = null, log = console.log }) {
  const index = new Map(vocab.map((c, i) => [c, i]));
  const V = vocab.length;
  const { ids } = describeModel(model, V);
  if (!rk.serving?.batcher) throw new Error('this rnnkit has no rk.serving.batcher (rebuild dist: npx tsc -p tsconfig.json)');
  const batcherOptions = Object.fromEntries(
    ['maxBatchSize', 'maxDelayMs', 'maxQueue', 'sessionTtlMs', 'maxSessions'].filter((k) => opts[k] !== undefined).map((k) => [k, opts[k]]),
  );
  const b = rk.serving.batcher(model, batcherOptions);
  const started = Date.now();

  // The inputs the batcher takes: ids, or one-hot rows flattened ([T·V] values).
  const sequence = (chars) => {
    if (ids) return Int32Array.from(chars, (c) => index.get(c));
    const x = new Float32Array(chars.length * V);
    chars.forEach((c, t) => (x[t * V + index.get(c)] = 1));
    return x;
  };
  const stepInput = (c) => {
    if (ids) return index.get(c);
    const x = new Float32Array(V);
    x[index.get(c)] = 1;
    return x;
  };
  const answer = (probs, ms, all) => {
    const out = { next: topK(probs, vocab), ms: Math.round(ms * 1000) / 1000 };
    if (all) out.probs = Object.fromEntries(vocab.map((c, i) => [c, probs[i]]));
    return out;
  };

  // Figures for /stats. The event-loop delay is sampled every ELD_RESOLUTION_MS.
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  eld.enable();
  let http_ = freshCounts();
  function freshCounts() {
    return { since: new Date().toISOString(), t0: performance.now(), cpu0: process.cpuUsage(), requests: 0, statuses: {} };
  }
  const eldFigures = () => {
    const f = (ns) => (eld.count ? Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS) : 0);
    return {
      p50: round3(f(eld.percentile(50))),
      p90: round3(f(eld.percentile(90))),
      p99: round3(f(eld.percentile(99))),
      max: round3(f(eld.max)),
      mean: round3(eld.count ? Math.max(0, eld.mean / 1e6 - ELD_RESOLUTION_MS) : 0),
      samples: eld.count,
      resolutionMs: ELD_RESOLUTION_MS,
    };
  };
  const resetStats = () => {
    eld.reset();
    http_ = freshCounts();
  };
  const statsBody = () => {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage(http_.cpu0);
    const wall = (performance.now() - http_.t0) / 1000;
    return {
      mode: opts.direct ? 'direct' : 'batcher',
      batcher: b.stats(),
      http: { since: http_.since, requests: http_.requests, inFlight: active, statuses: { ...http_.statuses }, openSessions: sessions.size },
      eventLoopDelayMs: eldFigures(),
      process: {
        pid: process.pid,
        uptimeS: round3(process.uptime()),
        rssMB: round3(mem.rss / 2 ** 20),
        heapUsedMB: round3(mem.heapUsed / 2 ** 20),
        externalMB: round3(mem.external / 2 ** 20),
        // since the last reset: CPU seconds and the cores they kept busy
        cpuUserS: round3(cpu.user / 1e6),
        cpuSystemS: round3(cpu.system / 1e6),
        cpuCores: wall > 0 ? round3((cpu.user + cpu.system) / 1e6 / wall) : 0,
      },
    };
  };

  // Sessions by id. The batcher evicts idle ones (sessionTtlMs) by closing them; a closed
  // session found here is forgotten, and a sweep forgets those nobody asks for.
  const sessions = new Map();
  const lookup = (id) => {
    const e = sessions.get(id);
    if (e && !e.s.closed) return e;
    if (e) sessions.delete(id);
    throw new HttpError(404, 'session_not_found', `no session ${JSON.stringify(id)} (never created, deleted, or closed after being idle)`);
  };
  const sweep = setInterval(() => {
    for (const [id, e] of sessions) if (e.s.closed) sessions.delete(id);
  }, 30_000);
  sweep.unref();

  let shuttingDown = false;
  let active = 0; // requests not yet answered
  let intake = 0; // requests not yet handed to the batcher (reading their body, checking it)
  const waiters = [];
  const settle = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].test()) waiters.splice(i, 1)[0].resolve();
    }
  };
  const until = (test) => (test() ? Promise.resolve() : new Promise((resolve) => waiters.push({ test, resolve })));

  function send(res, status, body, headers = {}) {
    const counts = res.counts ?? http_; // those current when the request came (a reset may come between)
    counts.statuses[status] = (counts.statuses[status] ?? 0) + 1;
    if (res.headersSent || res.destroyed) return;
    const json = JSON.stringify(body);
    const h = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), 'cache-control': 'no-store', ...headers };
    if (shuttingDown) h.connection = 'close';
    res.writeHead(status, h);
    res.end(json);
  }

  function fail(res, e) {
    if (!(e instanceof HttpError)) {
      log(`error: ${e?.stack ?? e}`);
      e = new HttpError(500, 'internal', `internal error: ${e?.message ?? e}`);
    }
    send(res, e.status, { error: { code: e.code, message: e.message } }, e.headers);
  }

  /** Reads and parses the body. */
  async function body(req, optional) {
    return parseJson(await readBody(req, opts.maxBodyBytes), optional);
  }

  const routes = [
    { path: /^\/predict$/, methods: { POST: predict } },
    { path: /^\/sessions$/, methods: { POST: createSession } },
    { path: /^\/sessions\/([^/]+)\/step$/, methods: { POST: step } },
    { path: /^\/sessions\/([^/]+)\/state$/, methods: { GET: getState } },
    { path: /^\/sessions\/([^/]+)$/, methods: { DELETE: deleteSession } },
    { path: /^\/health$/, methods: { GET: health } },
    { path: /^\/stats$/, methods: { GET: stats } },
    { path: /^\/stats\/reset$/, methods: { POST: statsReset } },
  ];

  async function predict(req, res, _id, _url, ctx) {
    const t0 = performance.now();
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(); // the client went away: the request leaves the queue
    });
    const b_ = await body(req, false);
    onlyFields(b_, ['text', 'all']);
    if (b_.all !== undefined && typeof b_.all !== 'boolean') throw new HttpError(400, 'invalid_field', `"all" must be a boolean, got ${jsonType(b_.all)}`);
    const chars = textChars(b_, index, opts.maxChars);
    let probs;
    if (opts.direct) {
      probs = await withTimeout(ctx.handedOver(directPredict(chars)), opts.timeoutMs);
    } else {
      const out = await ctx.handedOver(b.predict(sequence(chars), { timeoutMs: opts.timeoutMs, signal: controller.signal }));
      probs = lastRow(out.data, V);
    }
    send(res, 200, answer(probs, performance.now() - t0, b_.all === true));
  }

  async function directPredict(chars) {
    const x = lib.encode(chars, index, V, ids);
    try {
      const y = await model.predict(x);
      try {
        return lastRow(y.dataSync(), V).slice();
      } finally {
        y.dispose();
      }
    } finally {
      x.dispose();
    }
  }

  async function createSession(req, res) {
    const b_ = await body(req, true);
    onlyFields(b_, ['state']);
    if (b_.state !== undefined && (b_.state === null || typeof b_.state !== 'object' || Array.isArray(b_.state))) {
      throw new HttpError(400, 'invalid_field', `"state" must be an exported session state (an object), got ${jsonType(b_.state)}`);
    }
    let s;
    try {
      s = b.session(b_.state === undefined ? {} : { state: b_.state });
    } catch (e) {
      if (e?.code === 'RNNKIT_INVALID_ARGUMENT') throw new HttpError(400, 'invalid_state', `"state" cannot be resumed here: ${e.message}`);
      throw e;
    }
    const steps = s.exportState().steps;
    sessions.set(s.id, { s, steps });
    send(res, 201, { id: s.id, steps }, { location: `/sessions/${encodeURIComponent(s.id)}` });
  }

  async function step(req, res, id, _url, ctx) {
    const t0 = performance.now();
    const e = lookup(id);
    const b_ = await body(req, false);
    onlyFields(b_, ['text', 'all']);
    if (b_.all !== undefined && typeof b_.all !== 'boolean') throw new HttpError(400, 'invalid_field', `"all" must be a boolean, got ${jsonType(b_.all)}`);
    const chars = textChars(b_, index, opts.maxChars);
    lookup(id); // still open after the body arrived
    let out;
    try {
      out = await ctx.handedOver(chars.length === 1 ? e.s.step(stepInput(chars[0])) : e.s.feed(sequence(chars)));
    } catch (err) {
      if (err?.code === 'RNNKIT_CLOSED' && !shuttingDown) lookup(id); // closed meanwhile: 404
      throw err;
    }
    e.steps += chars.length;
    send(res, 200, { ...answer(lastRow(out.data, V), performance.now() - t0, b_.all === true), steps: e.steps });
  }

  async function getState(req, res, id) {
    send(res, 200, lookup(id).s.exportState());
  }

  async function deleteSession(req, res, id) {
    const e = lookup(id);
    e.s.close();
    sessions.delete(id);
    send(res, 200, { id, deleted: true });
  }

  async function health(req, res) {
    send(res, 200, {
      ok: true,
      mode: opts.direct ? 'direct' : 'batcher',
      model: source,
      modelDir: dir,
      input: ids ? 'ids' : 'one-hot',
      vocabulary: vocab.join(''),
      maxChars: opts.maxChars,
      uptimeS: round3((Date.now() - started) / 1000),
    });
  }

  async function stats(req, res, _id, url) {
    const reset = url.searchParams.get('reset');
    if (reset !== null && reset !== '0' && reset !== '1') throw new HttpError(400, 'invalid_query', `reset must be 0 or 1, got ${JSON.stringify(reset)}`);
    const s = statsBody();
    if (reset === '1') resetStats();
    send(res, 200, s);
  }

  async function statsReset(req, res) {
    await body(req, true);
    resetStats();
    send(res, 200, { reset: true, since: http_.since });
  }

  async function handle(req, res) {
    http_.requests++;
    res.counts = http_;
    active++;
    res.on('close', () => {
      active--;
      settle();
    });
    // Until a request is handed to the batcher (or to model.predict), a shutdown waits for it
    // before closing the batcher: a request that came before the signal is answered, even if
    // its body was still arriving.
    intake++;
    let inIntake = true;
    const leaveIntake = () => {
      if (!inIntake) return;
      inIntake = false;
      intake--;
      settle();
    };
    /** Called with the promise of the batcher call just made (synchronously accepted). */
    const ctx = {
      handedOver: (promise) => {
        leaveIntake();
        return promise;
      },
    };
    try {
      if (shuttingDown) throw new HttpError(503, 'shutting_down', 'the server is shutting down', { connection: 'close' });
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = routes.map((r) => ({ r, m: r.path.exec(url.pathname) })).find((x) => x.m);
      if (!route) throw new HttpError(404, 'not_found', `no route ${req.method} ${url.pathname} (routes: POST /predict, POST /sessions, POST /sessions/:id/step, GET /sessions/:id/state, DELETE /sessions/:id, GET /health, GET /stats, POST /stats/reset)`);
      const fn = route.r.methods[req.method];
      if (!fn) {
        const allow = Object.keys(route.r.methods).join(', ');
        throw new HttpError(405, 'method_not_allowed', `${url.pathname} takes ${allow}, not ${req.method}`, { allow });
      }
      const id = route.m[1] === undefined ? undefined : safeDecode(route.m[1]);
      await fn(req, res, id, url, ctx);
    } catch (e) {
      fail(res, fromServingError(e, shuttingDown) ?? e);
    } finally {
      leaveIntake();
    }
  }

  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((e) => log(`error: ${e?.stack ?? e}`));
  });
  server.keepAliveTimeout = 5_000;

  let closing = null;
  /**
   * Graceful shutdown: no new connections; requests already reading their body are let in,
   * then the batcher stops intake and runs what it accepted; every response is sent; keep-alive
   * connections close after their response (idle ones at once).
   */
  function close() {
    if (closing) return closing;
    shuttingDown = true;
    const serverClosed = new Promise((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    closing = (async () => {
      await until(() => intake === 0);
      await b.close();
      await until(() => active === 0);
      server.closeIdleConnections();
      await serverClosed;
      clearInterval(sweep);
      eld.disable();
    })();
    return closing;
  }

  return { server, batcher: b, close, get shuttingDown() { return shuttingDown; } };
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(504, 'timeout', `no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const round3 = (v) => Math.round(v * 1000) / 1000;

// ---------------------------------------------------------------------------------------

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2), process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const log = (s) => console.log(s);
  const text = corpus.readCorpus();
  const { vocab } = lib.charVocab(text);
  const { model, source, dir } = await getModel(opts, text, vocab.length, log);
  const service = createService({ model, vocab, opts, source, dir, log });
  const { server } = service;

  let signalled = false;
  const onSignal = (signal) => {
    if (signalled) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    signalled = true;
    log(`${signal}: shutting down (answering the requests in flight, draining the batcher)`);
    const force = setTimeout(() => {
      log(`shutdown took longer than ${opts.shutdownTimeoutMs} ms: closing the remaining connections and exiting`);
      server.closeAllConnections();
      process.exit(1);
    }, opts.shutdownTimeoutMs);
    force.unref();
    service.close().then(
      () => {
        const s = service.batcher.stats();
        log(`stopped; the batcher completed ${s.completed} request${s.completed === 1 ? '' : 's'} in all`);
        model.dispose();
        process.exit(0);
      },
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  server.on('error', (e) => {
    console.error(`cannot listen on ${opts.host}:${opts.port}: ${e.message}`);
    process.exit(1);
  });
  server.listen(opts.port, opts.host, () => {
    const { port } = server.address();
    log(`model: ${source}`);
    log(`rnnkit on ${rk.getBackend()} (${rk.getIsa()}, ${rk.getNumThreads()} threads); ${opts.direct ? '/predict runs model.predict per request (--direct)' : '/predict goes through rk.serving.batcher'}`);
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    log(`listening on http://${host}:${port}`);
  });
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = { parseArgs, UsageError, USAGE, topK, createService, describeModel };
