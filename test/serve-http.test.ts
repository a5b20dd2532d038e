/**
 * examples/serve.js, the HTTP service over rk.serving, run as a child process on
 * 127.0.0.1 (port 0, read from its "listening on" line) with a small untrained character
 * model saved to a temp folder (reads dist/: `npx tsc` first):
 * - /predict equals model.predict of the same text (every probability within 1e-6), alone
 *   and when concurrent requests are batched; --direct and an Embedding model too;
 * - every refusal is a JSON error with the right status: bad JSON, missing, wrong-type or
 *   unknown fields, unknown characters, too long a text (400), an oversize body (413, by
 *   Content-Length and chunked), unknown route (404), wrong method (405 with Allow),
 *   unknown, deleted or evicted session (404);
 * - sessions: create, step char by char (= /predict of the whole text), feed, state,
 *   delete; an exported state resumes in a new session and in a second server process;
 * - /stats counts, and its reset;
 * - SIGTERM with 50 requests in flight: every one answered 200, a later one refused
 *   cleanly, exit code 0.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { useTempDirs } from './helpers/temp-dirs';

// The example is CommonJS on the compiled package (require('..') → dist/): load rnnkit the
// same way, so that the reference predictions run the code the server runs.
const require = createRequire(import.meta.url);
const root = path.join(__dirname, '..');
const rk = require(root);
const lib = require(path.join(root, 'examples', 'neurons-lib.js'));
const serve = require(path.join(root, 'examples', 'serve.js'));
const ENTRY = path.join(root, 'examples', 'serve.js');
const freshDir = useTempDirs('serve-http');

const CORPUS = require(path.join(root, 'examples', 'char-corpus.js')).readCorpus();
const { vocab, index } = lib.charVocab(CORPUS) as { vocab: string[]; index: Map<string, number> };
const V = vocab.length;

// ---------------------------------------------------------------------------------------
// A server process and requests to it

interface Server {
  proc: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const servers: Server[] = [];

function startServer(args: string[]): Promise<Server> {
  const proc = spawn(process.execPath, [ENTRY, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line within 20 s:\n${out}\n${err}`)), 20_000);
    proc.stderr!.on('data', (d: string) => (err += d));
    proc.stdout!.on('data', (d: string) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m && !servers.some((s) => s.proc === proc)) {
        clearTimeout(timer);
        const s: Server = { proc, port: Number(m[1]), output: () => out + err, exited };
        servers.push(s);
        resolve(s);
      }
    });
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
}

afterAll(async () => {
  for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One request; `body`: an object (sent as JSON) or a string/Buffer sent as it is. */
function call(port: number, method: string, url: string, body?: unknown, options: { headers?: Record<string, string>; agent?: http.Agent | false } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path: url, agent: options.agent, headers: { ...(data !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}), ...options.headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON: the test says so
          }
          resolve({ status: res.statusCode!, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function expectError(r: Reply, status: number, code: string, message?: RegExp) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expect(r.json?.error?.code, r.text).toBe(code);
  expect(typeof r.json.error.message).toBe('string');
  if (message) expect(r.json.error.message).toMatch(message);
}

// ---------------------------------------------------------------------------------------
// Reference answers

/** model.predict's last-step probabilities for `text`. */
async function reference(model: any, text: string): Promise<Float32Array> {
  const x = lib.encode([...text], index, V, lib.takesIds(model));
  const y = await model.predict(x);
  const d = y.dataSync();
  const p = d.slice(d.length - V);
  x.dispose();
  y.dispose();
  return p;
}

/** The answer's probabilities (`all: true`) and top 5 agree with `ref` within 1e-6. */
function expectAnswer(json: any, ref: Float32Array) {
  // Every character once; a JSON object lists digit keys first, so compare them sorted.
  expect(Object.keys(json.probs).sort()).toEqual(vocab);
  let diff = 0;
  vocab.forEach((c, i) => (diff = Math.max(diff, Math.abs(json.probs[c] - ref[i]!))));
  expect(diff).toBeLessThanOrEqual(1e-6);
  expectTop(json.next, ref);
}

/** A top-5 list agrees with `ref`: same probabilities within 1e-6; a different char only for a near-tie. */
function expectTop(next: { char: string; p: number }[], ref: Float32Array) {
  expect(next).toHaveLength(5);
  const want = serve.topK(ref, vocab) as { char: string; p: number }[];
  next.forEach((n, k) => {
    expect(Math.abs(n.p - want[k]!.p)).toBeLessThanOrEqual(1e-6);
    if (n.char !== want[k]!.char) expect(Math.abs(ref[index.get(n.char)!]! - want[k]!.p)).toBeLessThanOrEqual(2e-6);
  });
}

/** Two top-5 answers of the same text agree (within 1e-6, near-ties aside). */
function expectSameTop(a: { char: string; p: number }[], b: { char: string; p: number }[]) {
  expect(a).toHaveLength(5);
  a.forEach((x, k) => {
    expect(Math.abs(x.p - b[k]!.p)).toBeLessThanOrEqual(1e-6);
    if (x.char !== b[k]!.char) expect(Math.abs(x.p - b[k]!.p)).toBeLessThanOrEqual(2e-6);
  });
  expect(a.map((x) => x.char)).toEqual(b.map((x) => x.char));
}

const TEXTS = ['S', 'Shall I compare thee', 'to a summer\'s day?\nThou art more lovely', 'When forty winters shall besiege thy brow', 'O', 'and summer\'s lease hath all too short a date'];

// ---------------------------------------------------------------------------------------

describe('examples/serve.js', () => {
  let dir = '';
  let model: any;
  let main: Server;

  beforeAll(async () => {
    // The demo's kind of model (one-hot input, an LSTM returning sequences, a softmax),
    // small and untrained: the service does not care what the weights learnt.
    dir = freshDir();
    model = lib.buildCharModel({ V, units: 24, seed: 5, embedding: false });
    await model.save(dir);
    main = await startServer(['--model', dir, '--max-chars', '100', '--max-delay-ms', '5']);
  });

  afterAll(() => model?.dispose());

  it('parses its command line: defaults, flags, PORT/SERVE_DIRECT, and refuses unknown flags', () => {
    const d = serve.parseArgs([], {});
    expect(d).toMatchObject({ model: null, host: '127.0.0.1', port: 8080, direct: false, maxChars: 400, maxBodyBytes: 16384 });
    expect(serve.parseArgs(['--model', 'm', '--port=0', '--direct', '--max-batch', '64'], {})).toMatchObject({ model: 'm', port: 0, direct: true, maxBatchSize: 64 });
    expect(serve.parseArgs([], { PORT: '9000', SERVE_DIRECT: '1' })).toMatchObject({ port: 9000, direct: true });
    expect(() => serve.parseArgs(['--fast'], {})).toThrow(serve.UsageError);
    expect(() => serve.parseArgs(['--port'], {})).toThrow(/--port needs a value/);
    expect(() => serve.parseArgs(['--max-chars', '0'], {})).toThrow(/integer >= 1/);
    expect(() => serve.parseArgs(['--port', '70000'], {})).toThrow(/65535/);
  });

  it('GET /health: ok, the mode, the model and its vocabulary', async () => {
    const r = await call(main.port, 'GET', '/health');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, mode: 'batcher', input: 'one-hot', vocabulary: vocab.join(''), maxChars: 100 });
    expect(r.json.model).toContain(dir);
  });

  it('POST /predict: the top 5 of model.predict\'s last step, alone and batched with concurrent requests', async () => {
    const alone = await call(main.port, 'POST', '/predict', { text: TEXTS[1], all: true });
    expect(alone.status, alone.text).toBe(200);
    expect(alone.json.ms).toBeGreaterThanOrEqual(0);
    expectAnswer(alone.json, await reference(model, TEXTS[1]!));
    const plain = await call(main.port, 'POST', '/predict', { text: TEXTS[1] });
    expect(plain.json.probs).toBeUndefined();
    expectTop(plain.json.next, await reference(model, TEXTS[1]!));

    const before = (await call(main.port, 'GET', '/stats')).json.batcher;
    const texts = Array.from({ length: 24 }, (_, i) => TEXTS[i % TEXTS.length]!);
    const replies = await Promise.all(texts.map((text) => call(main.port, 'POST', '/predict', { text, all: true })));
    for (let i = 0; i < texts.length; i++) {
      expect(replies[i]!.status, replies[i]!.text).toBe(200);
      expectAnswer(replies[i]!.json, await reference(model, texts[i]!));
    }
    const after = (await call(main.port, 'GET', '/stats')).json.batcher;
    expect(after.completed - before.completed).toBe(texts.length);
    expect(after.batches - before.batches).toBeLessThan(texts.length); // some were coalesced
  });

  it('bad bodies get 400 JSON errors: bad JSON, not an object, missing, wrong-type or unknown fields, empty or too long text, unknown characters', async () => {
    const p = (body: unknown) => call(main.port, 'POST', '/predict', body);
    expectError(await p('{"text": "abc"'), 400, 'bad_json', /not valid JSON/);
    expectError(await p(''), 400, 'bad_json', /empty/);
    expectError(await p('[1, 2]'), 400, 'invalid_body', /JSON object, got an array/);
    expectError(await p('"text"'), 400, 'invalid_body');
    expectError(await p({}), 400, 'missing_field', /"text"/);
    expectError(await p({ text: 42 }), 400, 'invalid_field', /"text" must be a string, got a number/);
    expectError(await p({ text: null }), 400, 'invalid_field', /got null/);
    expectError(await p({ text: ['a'] }), 400, 'invalid_field', /got an array/);
    expectError(await p({ text: 'abc', all: 'yes' }), 400, 'invalid_field', /"all" must be a boolean/);
    expectError(await p({ text: 'abc', txet: 'x' }), 400, 'unknown_field', /"txet"/);
    expectError(await p({ text: '' }), 400, 'invalid_field', /1 to 100 characters, got 0/);
    expectError(await p({ text: 'a'.repeat(101) }), 400, 'invalid_field', /1 to 100 characters, got 101/);
    expectError(await p({ text: 'thee é' }), 400, 'unknown_char', /"é" \(U\+00E9\) at position 5/);
    expectError(await p({ text: 'a\u{1F600}' }), 400, 'unknown_char', /U\+1F600\) at position 1/);
    // The server is still fine.
    expect((await p({ text: 'thee' })).status).toBe(200);
  });

  it('a body over the limit gets 413, by its Content-Length before it is read, or as soon as a chunked body passes it', async () => {
    const big = JSON.stringify({ text: 'a'.repeat(20_000) });
    const r = await call(main.port, 'POST', '/predict', big, { agent: false });
    expectError(r, 413, 'body_too_large', /20\d{3} bytes; the limit is 16384/);
    expect(r.headers.connection).toBe('close');

    const chunked = await new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: main.port, method: 'POST', path: '/predict', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: JSON.parse(text) }));
      });
      req.on('error', reject);
      for (let i = 0; i < 5; i++) req.write('x'.repeat(4096)); // 20 KiB, chunked
      req.end();
    });
    expectError(chunked, 413, 'body_too_large', /passed the limit of 16384/);
    expect((await call(main.port, 'POST', '/predict', { text: 'thee' })).status).toBe(200);
  });

  it('unknown route 404, wrong method 405 with Allow', async () => {
    expectError(await call(main.port, 'GET', '/nope'), 404, 'not_found', /GET \/nope/);
    expectError(await call(main.port, 'GET', '/predict/x'), 404, 'not_found');
    const m = await call(main.port, 'GET', '/predict');
    expectError(m, 405, 'method_not_allowed', /POST/);
    expect(m.headers.allow).toBe('POST');
    expect((await call(main.port, 'POST', '/health')).headers.allow).toBe('GET');
    expectError(await call(main.port, 'PUT', '/sessions/abc'), 405, 'method_not_allowed');
    expectError(await call(main.port, 'POST', '/sessions/abc/state'), 405, 'method_not_allowed');
  });

  it('sessions: create, step char by char (= /predict of the whole text), feed, state, delete, then 404', async () => {
    const text = TEXTS[2]!;
    const created = await call(main.port, 'POST', '/sessions');
    expect(created.status, created.text).toBe(201);
    const id = created.json.id as string;
    expect(typeof id).toBe('string');
    expect(created.headers.location).toBe(`/sessions/${encodeURIComponent(id)}`);
    let last: Reply | null = null;
    for (const c of text) {
      last = await call(main.port, 'POST', `/sessions/${id}/step`, { text: c });
      expect(last.status, last.text).toBe(200);
    }
    expect(last!.json.steps).toBe(text.length);
    const whole = await call(main.port, 'POST', '/predict', { text });
    expectSameTop(last!.json.next, whole.json.next);

    // A chunk (s.feed) in a second session gives the same answer.
    const s2 = (await call(main.port, 'POST', '/sessions', {})).json.id;
    await call(main.port, 'POST', `/sessions/${s2}/step`, { text: text.slice(0, 7) });
    const fed = await call(main.port, 'POST', `/sessions/${s2}/step`, { text: text.slice(7), all: true });
    expect(fed.json.steps).toBe(text.length);
    expectAnswer(fed.json, await reference(model, text));

    const state = await call(main.port, 'GET', `/sessions/${id}/state`);
    expect(state.status).toBe(200);
    expect(state.json).toMatchObject({ format: 'rnnkit-session-state', version: 1, steps: text.length });
    expect(Array.isArray(state.json.states)).toBe(true);

    expectError(await call(main.port, 'POST', `/sessions/${id}/step`, { text: 'é' }), 400, 'unknown_char');
    expectError(await call(main.port, 'POST', `/sessions/${id}/step`, { text: '' }), 400, 'invalid_field');
    const del = await call(main.port, 'DELETE', `/sessions/${id}`);
    expect(del.status).toBe(200);
    expect(del.json).toEqual({ id, deleted: true });
    expectError(await call(main.port, 'POST', `/sessions/${id}/step`, { text: 'a' }), 404, 'session_not_found');
    expectError(await call(main.port, 'GET', `/sessions/${id}/state`), 404, 'session_not_found');
    expectError(await call(main.port, 'DELETE', `/sessions/${id}`), 404, 'session_not_found');
    expectError(await call(main.port, 'GET', '/sessions/no-such-id/state'), 404, 'session_not_found', /no-such-id/);
    await call(main.port, 'DELETE', `/sessions/${s2}`);
  });

  it('an exported state resumes in a new session and in a second server process, continuing identically', async () => {
    const head = 'Shall I compare thee ';
    const tail = 'to a summer';
    const id = (await call(main.port, 'POST', '/sessions')).json.id;
    await call(main.port, 'POST', `/sessions/${id}/step`, { text: head });
    const state = (await call(main.port, 'GET', `/sessions/${id}/state`)).json;
    const original = await call(main.port, 'POST', `/sessions/${id}/step`, { text: tail, all: true });
    expect(original.status).toBe(200);
    expectAnswer(original.json, await reference(model, head + tail));

    // The state went through JSON (the wire) and comes back as the body of POST /sessions.
    const resumed = await call(main.port, 'POST', '/sessions', { state });
    expect(resumed.status, resumed.text).toBe(201);
    expect(resumed.json.steps).toBe([...head].length);
    const again = await call(main.port, 'POST', `/sessions/${resumed.json.id}/step`, { text: tail, all: true });
    expect(again.json.steps).toBe([...head + tail].length);
    expectSameTop(again.json.next, original.json.next);
    expectAnswer(again.json, await reference(model, head + tail));

    const other = await startServer(['--model', dir]);
    const elsewhere = await call(other.port, 'POST', '/sessions', { state });
    expect(elsewhere.status, elsewhere.text).toBe(201);
    const there = await call(other.port, 'POST', `/sessions/${elsewhere.json.id}/step`, { text: tail, all: true });
    expectAnswer(there.json, await reference(model, head + tail));
    other.proc.kill('SIGTERM');
    expect((await other.exited).code).toBe(0);

    // A malformed state, or not an object: 400.
    expectError(await call(main.port, 'POST', '/sessions', { state: { ...state, states: [[1, 2]] } }), 400, 'invalid_state');
    expectError(await call(main.port, 'POST', '/sessions', { state: 'abc' }), 400, 'invalid_field');
    expectError(await call(main.port, 'POST', '/sessions', { stat: state }), 400, 'unknown_field');
  });

  it('/stats counts requests, statuses and batches, with the event-loop delay; ?reset=1 and POST /stats/reset start afresh', async () => {
    const reset = await call(main.port, 'POST', '/stats/reset');
    expect(reset.status).toBe(200);
    const b0 = (await call(main.port, 'GET', '/stats?reset=1')).json;
    await Promise.all(Array.from({ length: 10 }, (_, i) => call(main.port, 'POST', '/predict', { text: TEXTS[i % TEXTS.length] })));
    await call(main.port, 'POST', '/predict', '{');
    await call(main.port, 'GET', '/nope');
    const s = (await call(main.port, 'GET', '/stats')).json;
    expect(s.mode).toBe('batcher');
    expect(s.http.requests).toBe(13); // 10 + 2 + this one
    expect(s.http.statuses).toEqual({ 200: 10, 400: 1, 404: 1 });
    expect(s.batcher.requests - b0.batcher.requests).toBe(10);
    expect(s.batcher.completed - b0.batcher.completed).toBe(10);
    expect(s.batcher.batches).toBeGreaterThan(b0.batcher.batches);
    expect(s.batcher.batchSizes.reduce((n: number, x: any) => n + x.size * x.count, 0)).toBeGreaterThanOrEqual(s.batcher.completed);
    expect(s.batcher.queueDepth).toBe(0);
    for (const k of ['p50', 'p99', 'max']) expect(s.eventLoopDelayMs[k]).toBeGreaterThanOrEqual(0);
    expect(s.eventLoopDelayMs.samples).toBeGreaterThan(0);
    expect(s.process.rssMB).toBeGreaterThan(0);
    expectError(await call(main.port, 'GET', '/stats?reset=yes'), 400, 'invalid_query');
    const after = (await call(main.port, 'GET', '/stats?reset=1')).json;
    expect(after.http.requests).toBe(15); // since the last reset, this one included
    expect(after.http.statuses).toEqual({ 200: 11, 400: 2, 404: 1 });
    expect((await call(main.port, 'GET', '/stats')).json.http.requests).toBe(1);
  });

  it('--direct with an Embedding model: /predict runs model.predict per request, same answers; idle sessions are evicted (404)', async () => {
    const d = freshDir();
    const m = lib.buildCharModel({ V, units: 16, embeddingDim: 8, seed: 9 });
    await m.save(d);
    const s = await startServer(['--model', d, '--direct', '--session-ttl-ms', '200']);
    const h = await call(s.port, 'GET', '/health');
    expect(h.json).toMatchObject({ mode: 'direct', input: 'ids' });
    const before = (await call(s.port, 'GET', '/stats')).json.batcher;
    const replies = await Promise.all(TEXTS.map((text) => call(s.port, 'POST', '/predict', { text, all: true })));
    for (let i = 0; i < TEXTS.length; i++) expectAnswer(replies[i]!.json, await reference(m, TEXTS[i]!));
    expect((await call(s.port, 'GET', '/stats')).json.batcher.requests).toBe(before.requests); // the batcher saw none

    // Sessions go through the batcher in both modes; one left idle past its TTL is gone.
    const id = (await call(s.port, 'POST', '/sessions')).json.id;
    const step = await call(s.port, 'POST', `/sessions/${id}/step`, { text: TEXTS[3], all: true });
    expectAnswer(step.json, await reference(m, TEXTS[3]!));
    await new Promise((r) => setTimeout(r, 600));
    expectError(await call(s.port, 'POST', `/sessions/${id}/step`, { text: 'a' }), 404, 'session_not_found');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    m.dispose();
  });

  it('a full batcher queue gets 503 with Retry-After; a prediction past --timeout-ms gets 504', async () => {
    // 4 places in the queue, and a batching delay (1 s) longer than the timeout (300 ms):
    // the first 4 wait and time out, the others find the queue full (unless they come after
    // the first ones timed out, on a very slow machine: then they time out too).
    const s = await startServer(['--model', dir, '--max-queue', '4', '--max-delay-ms', '1000', '--timeout-ms', '300']);
    const replies = await Promise.all(Array.from({ length: 10 }, () => call(s.port, 'POST', '/predict', { text: 'thee' }, { agent: false })));
    const full = replies.filter((r) => r.status === 503);
    const late = replies.filter((r) => r.status === 504);
    expect(full.length + late.length, replies.map((r) => r.text).join('\n')).toBe(10);
    expect(late.length).toBeGreaterThanOrEqual(4);
    expect(full.length).toBeGreaterThanOrEqual(1);
    for (const r of full) {
      expectError(r, 503, 'queue_full');
      expect(r.headers['retry-after']).toBe('1');
    }
    for (const r of late) expectError(r, 504, 'timeout');
    const st = (await call(s.port, 'GET', '/stats')).json;
    expect(st.batcher.rejected).toMatchObject({ queueFull: full.length, timedOut: late.length });
    expect(st.http.statuses).toMatchObject({ 503: full.length, 504: late.length });
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('SIGTERM with 50 requests in flight: every one answered 200, later ones refused cleanly, exit code 0', async () => {
    // A long batching delay keeps the requests waiting in the batcher when the signal comes:
    // the batcher's close() runs them.
    const s = await startServer(['--model', dir, '--max-delay-ms', '5000', '--max-batch', '64']);
    const agent = new http.Agent({ keepAlive: true });
    const pending = Array.from({ length: 50 }, (_, i) =>
      call(s.port, 'POST', '/predict', { text: TEXTS[i % TEXTS.length] }, { agent }).then(
        (r) => ({ ok: true as const, r }),
        (e: Error) => ({ ok: false as const, e }),
      ),
    );
    // Wait until all 50 are waiting in the batcher (asked on a connection of its own).
    let queued = 0;
    for (let i = 0; i < 400 && queued < 50; i++) {
      queued = (await call(s.port, 'GET', '/stats', undefined, { agent: false })).json.batcher.queueDepth;
      if (queued < 50) await new Promise((r) => setTimeout(r, 10));
    }
    expect(queued).toBe(50);
    const signalled = performance.now();
    s.proc.kill('SIGTERM');
    const results = await Promise.all(pending);
    for (const x of results) {
      expect(x.ok, x.ok ? '' : String(x.e)).toBe(true);
      if (x.ok) expect(x.r.status, x.r.text).toBe(200);
    }
    // After the signal: refused (connection refused or 503), never reset mid-answer.
    const late = await call(s.port, 'POST', '/predict', { text: 'thee' }, { agent: false }).then(
      (r) => r.status,
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect([503, 'ECONNREFUSED']).toContain(late);
    const { code } = await s.exited;
    expect(code, s.output()).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(4000); // drained at once, not after the batching delay
    expect(s.output()).toMatch(/SIGTERM: shutting down/);
    expect(s.output()).toMatch(/the batcher completed 50 requests/);
    agent.destroy();
  });

  it('SIGTERM while a request is still sending its body: it is answered 200, its connection closed, then exit 0', async () => {
    const s = await startServer(['--model', dir]);
    const body = JSON.stringify({ text: 'Shall I compare thee' });
    const sock = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let reply = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (reply += d));
    const ended = new Promise((r) => sock.once('end', r));
    sock.write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((r) => setTimeout(r, 150));
    s.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    expect(s.proc.exitCode).toBe(null); // still waiting for that body
    sock.write(body.slice(10));
    await ended; // the server closes the connection after answering
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(reply.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)).next).toHaveLength(5);
    expect((await s.exited).code).toBe(0);
    sock.destroy();
  });
});
