/**
 * A model-file fuzzer for rk.loadModel. It saves small valid models, applies seeded
 * mutations to their model.json, shards and folder (hostile paths, symlinks, FIFOs,
 * devices, wrong sizes, wrong types, deep nesting, huge numbers, NaN weights...), and
 * loads each case in a child process (model-fuzz-child.cjs, `--max-old-space-size=256`)
 * under a watchdog. It counts:
 * - crashes: the child died (signal or abnormal exit) on a case;
 * - hangs: no verdict within the watchdog's time;
 * - escapes: a load that succeeded with a shard outside the folder, or whose weights hold
 *   the canary values planted outside every model folder;
 * - uncoded: errors without an rnnkit code; miscoded: with a code other than RNNKIT_MODEL_FILE.
 * The child reads the compiled package (dist/): run `npx tsc -p tsconfig.json` first
 * (RNNKIT_FUZZ_PACKAGE=<dir> points it at another build).
 */
import { spawn, execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as rk from '../../lib';
import { Rng } from './random';

/** A float32 value planted outside the model folders: seeing it in weights means an escape. */
export const CANARY = 2477.8125;

const CHILD = path.join(__dirname, 'model-fuzz-child.cjs');

/** One case: a model folder, and whether its manifest names a file outside it. */
export interface FuzzCase {
  index: number;
  dir: string;
  /** What was done to the seed model, for reports. */
  mutations: string[];
  /** The manifest points outside the folder: a successful load is an escape. */
  outside: boolean;
}

/** What the child reports for one case. */
export interface Verdict {
  index: number;
  ok: boolean;
  /** Error class name and code when the load failed. */
  name?: string;
  code?: string | null;
  message?: string;
  /** The canary value appeared in the loaded weights. */
  canary?: boolean;
  ms: number;
}

/** The fuzzer's tallies. */
export interface FuzzReport {
  cases: number;
  loaded: number;
  rejected: number;
  crashes: FuzzCase[];
  hangs: FuzzCase[];
  escapes: FuzzCase[];
  uncoded: { c: FuzzCase; v: Verdict }[];
  miscoded: { c: FuzzCase; v: Verdict }[];
  /** Cases whose load took over 5 s (under the watchdog, over any sane file's time). */
  slow: { c: FuzzCase; v: Verdict }[];
  /** The slowest load, in ms. */
  slowestMs: number;
  /** Verdicts by mutation kind: how many loaded / were rejected. */
  byKind: Record<string, { loaded: number; rejected: number; example?: string }>;
  seconds: number;
}

export interface FuzzOptions {
  seed: number;
  count: number;
  /** Cases per child process (default 150). */
  batch?: number;
  /** Kills a child that gives no verdict for this long (default 10 s). */
  watchdogMs?: number;
  /** timeoutMs given to loadModel in the child (default 3 s). */
  loadTimeoutMs?: number;
}

// ------------------------------------------------------------------ seeds

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Seed {
  name: string;
  json: { [k: string]: Json };
  bin: Buffer;
}

function seedModels(): rk.Sequential[] {
  return [
    rk.sequential([rk.layers.lstm({ units: 4, returnSequences: true, inputShape: [5, 3], seed: 11 }), rk.layers.dense({ units: 2, seed: 12 })]),
    rk.sequential([rk.layers.gru({ units: 3, inputShape: [null, 4], seed: 21 }), rk.layers.dense({ units: 2, activation: 'softmax', seed: 22 })]),
    rk.sequential([
      rk.layers.bidirectional({ layer: rk.layers.simpleRNN({ units: 3, returnSequences: true, inputShape: [4, 2], seed: 31 }), mergeMode: 'concat' }),
      rk.layers.gru({ units: 2, resetAfter: false, seed: 32 }),
    ]),
    rk.sequential([rk.layers.dense({ units: 3, activation: 'tanh', inputShape: [4], seed: 41 }), rk.layers.dense({ units: 1, seed: 42 })]),
    rk.sequential([
      rk.layers.embedding({ inputDim: 6, outputDim: 3, maskZero: true, inputShape: [5], seed: 51 }),
      rk.layers.lstm({ units: 3, seed: 52 }),
      rk.layers.dense({ units: 2, seed: 53 }),
    ]),
  ];
}

async function saveSeeds(root: string): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const models = seedModels();
  for (const [i, m] of models.entries()) {
    const dir = path.join(root, `seed${i}`);
    await m.save(dir);
    m.dispose();
    seeds.push({
      name: `seed${i}`,
      json: JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as { [k: string]: Json },
      bin: readFileSync(path.join(dir, 'weights.bin')),
    });
  }
  return seeds;
}

/** Float32 little-endian bytes all equal to CANARY. */
function canaryBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i + 4 <= n; i += 4) b.writeFloatLE(CANARY, i);
  return b;
}

// ------------------------------------------------------------------ mutations

/** Every object/array in `v` with the path to it (the root included). */
function containers(v: Json, at: (string | number)[] = [], out: { node: Json[] | { [k: string]: Json }; at: (string | number)[] }[] = []) {
  if (v !== null && typeof v === 'object') {
    out.push({ node: v, at });
    if (Array.isArray(v)) v.forEach((x, i) => containers(x, [...at, i], out));
    else for (const [k, x] of Object.entries(v)) containers(x, [...at, k], out);
  }
  return out;
}

function nested(depth: number): Json {
  let v: Json = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

function hostileValue(rng: Rng): { v: Json; what: string } {
  const pick = rng.int(0, 21);
  switch (pick) {
    case 0: return { v: null, what: 'null' };
    case 1: return { v: true, what: 'true' };
    case 2: return { v: -1, what: '-1' };
    case 3: return { v: 0, what: '0' };
    case 4: return { v: 1e308, what: '1e308' };
    case 5: return { v: -1e308, what: '-1e308' };
    case 6: return { v: 2 ** 53, what: '2^53' };
    case 7: return { v: 1.5, what: '1.5' };
    case 8: return { v: '', what: "''" };
    case 9: return { v: 'x'.repeat(rng.int(1000, 200_000)), what: 'long string' };
    case 10: return { v: {}, what: '{}' };
    case 11: return { v: [], what: '[]' };
    case 12: return { v: nested(rng.int(60, 120)), what: 'nesting ~100' };
    case 13: return { v: Array.from({ length: rng.int(1000, 100_000) }, (_, i) => i), what: 'long array' };
    case 14: return { v: '4', what: "'4'" };
    case 15: return rng.random() < 0.5 ? { v: 1e9, what: '1e9' } : { v: 10 ** rng.int(5, 8), what: '1e5..1e8' };
    case 16: return { v: [1e9, 1e9], what: '[1e9,1e9]' };
    case 17: return { v: [-3, 2], what: '[-3,2]' };
    case 18: return { v: 'INFINITY', what: 'Infinity' }; // written as 1e999 below
    case 19: return { v: { class_name: 'LSTM', config: { units: 1e7 } }, what: 'units 1e7 layer' };
    case 20: return { v: '__proto__', what: "'__proto__'" };
    default: return { v: rng.int(2, 64), what: 'small int' };
  }
}

interface Draft {
  json: { [k: string]: Json };
  bin: Buffer;
  /** Raw text of model.json instead of JSON.stringify(json). */
  text?: string;
  mutations: string[];
  /** Paths set that name something outside the folder. */
  outside: Set<string>;
  /** Work on the case folder after the files are written. */
  setup: ((dir: string) => void)[];
}

/** The manifest's first group, when earlier mutations left it usable. */
function firstGroup(d: Draft): { paths: Json[] } | null {
  const m = d.json.weightsManifest;
  const g = Array.isArray(m) ? m[0] : undefined;
  return g && typeof g === 'object' && !Array.isArray(g) && Array.isArray(g.paths) ? (g as { paths: Json[] }) : null;
}

/** Sets the manifest's first path (or one added) to `p`. */
function setShardPath(d: Draft, p: string, rng: Rng): void {
  const g = firstGroup(d) ?? { paths: [] };
  d.json.weightsManifest = [...(Array.isArray(d.json.weightsManifest) ? d.json.weightsManifest.slice(1) : [])];
  d.json.weightsManifest.unshift(g as Json);
  if (rng.random() < 0.2 || g.paths.length === 0) g.paths.push(p);
  else g.paths[0] = p;
}

/** Truncates `p` only if it is still a regular file: opening a FIFO another mutation made would block. */
function truncateRegular(p: string, bytes: number): void {
  if (lstatSync(p).isFile()) truncateSync(p, bytes);
}

function mkfifo(p: string): void {
  execFileSync('mkfifo', [p], { stdio: 'ignore' });
}

function pathMutation(d: Draft, rng: Rng, root: string, canaryFile: string): void {
  const rel = path.relative(path.join(root, 'cases', 'x'), canaryFile);
  const pick = rng.int(0, 19);
  const set = (p: string, what: string, outside: boolean) => {
    setShardPath(d, p, rng);
    d.mutations.push(what);
    if (outside) d.outside.add(p);
  };
  switch (pick) {
    case 0: return set('/etc/passwd', 'path /etc/passwd', true);
    case 1: return set('/proc/self/environ', 'path /proc/self/environ', true);
    case 2: return set('/dev/zero', 'path /dev/zero', true);
    case 3: return set('/dev/urandom', 'path /dev/urandom', true);
    case 4: return set(rel, 'path ../ to canary', true);
    case 5: return set(canaryFile, 'absolute path to canary', true);
    case 6: return set(`sub/../${rel}`, 'path sub/../../ to canary', true);
    case 7: return set('', "path ''", false);
    case 8: return set('weights\0.bin', 'path with NUL', false);
    case 9: return set('.', "path '.'", false);
    case 10: return set('..', "path '..'", true);
    case 11:
      d.setup.push((dir) => mkdirSync(path.join(dir, 'adir')));
      return set('adir', 'shard is a directory', false);
    case 12:
      d.setup.push((dir) => mkfifo(path.join(dir, 'fifo.bin')));
      return set('fifo.bin', 'shard is a FIFO', false);
    case 13:
      d.setup.push((dir) => symlinkSync(canaryFile, path.join(dir, 'out.bin')));
      return set('out.bin', 'shard symlink to canary outside', true);
    case 14:
      d.setup.push((dir) => symlinkSync('/dev/zero', path.join(dir, 'zero.bin')));
      return set('zero.bin', 'shard symlink to /dev/zero', true);
    case 15:
      d.setup.push((dir) => symlinkSync(path.dirname(canaryFile), path.join(dir, 'outdir')));
      return set(`outdir/${path.basename(canaryFile)}`, 'shard under a symlinked folder outside', true);
    case 16:
      // inside the folder: a valid load
      d.setup.push((dir) => symlinkSync('weights.bin', path.join(dir, 'in.bin')));
      return set('in.bin', 'shard symlink inside (valid)', false);
    case 17:
      d.setup.push((dir) => mkdirSync(path.join(dir, 'sub')));
      return set('sub/../weights.bin', 'path sub/../weights.bin (inside)', false);
    case 18:
      d.setup.push((dir) => symlinkSync(path.join(dir, 'loop.bin'), path.join(dir, 'loop.bin')));
      return set('loop.bin', 'shard symlink loop', false);
    default:
      d.setup.push((dir) => symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling.bin')));
      return set('dangling.bin', 'dangling symlink', false);
  }
}

function shardMutation(d: Draft, rng: Rng): void {
  const bin = Buffer.from(d.bin);
  const pick = rng.int(0, 6);
  switch (pick) {
    case 0: {
      const keep = rng.int(0, Math.max(0, bin.length - 1));
      d.bin = bin.subarray(0, keep);
      d.mutations.push('shard truncated');
      return;
    }
    case 1: {
      const extra = Buffer.from(Array.from({ length: rng.int(1, 64) }, () => rng.int(0, 255)));
      d.bin = Buffer.concat([bin, extra]);
      d.mutations.push('shard extended');
      return;
    }
    case 2:
      for (let i = 0; i < bin.length; i++) if (rng.random() < 0.3) bin[i] = rng.int(0, 255);
      d.bin = bin;
      d.mutations.push('shard random bytes (valid)');
      return;
    case 3:
      for (let i = 0; i + 4 <= bin.length; i += 4) {
        const r = rng.random();
        if (r < 0.2) bin.writeFloatLE(NaN, i);
        else if (r < 0.3) bin.writeFloatLE(r < 0.25 ? Infinity : -Infinity, i);
        else if (r < 0.35) bin.writeFloatLE(3.4e38, i);
      }
      d.bin = bin;
      d.mutations.push('shard NaN/Inf floats (valid)');
      return;
    case 4:
      d.bin = Buffer.alloc(0);
      d.mutations.push('shard empty');
      return;
    case 5:
      // a sparse file of 5 GiB: its size alone must refuse it, nothing read
      d.setup.push((dir) => truncateRegular(path.join(dir, 'weights.bin'), 5 * 2 ** 30));
      d.mutations.push('shard sparse 5 GiB');
      return;
    default: {
      // split into two shards (valid)
      const cut = rng.int(0, bin.length);
      const g = firstGroup(d);
      if (g && g.paths.length === 1 && g.paths[0] === 'weights.bin') {
        g.paths = ['weights.bin', 'weights2.bin'];
        d.bin = bin.subarray(0, cut);
        const rest = bin.subarray(cut);
        d.setup.push((dir) => writeFileSync(path.join(dir, 'weights2.bin'), rest));
        d.mutations.push('two shards (valid)');
      }
    }
  }
}

function jsonMutation(d: Draft, rng: Rng): void {
  const nodes = containers(d.json);
  const { node, at } = nodes[rng.int(0, nodes.length - 1)]!;
  const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
  const where = at.join('.') || '(root)';
  const pick = rng.int(0, 3);
  if (keys.length === 0 || pick === 3) {
    const { v, what } = hostileValue(rng);
    if (Array.isArray(node)) node.push(v);
    else node[`k${rng.int(0, 9)}`] = v;
    d.mutations.push(`add ${what} at ${where}`);
    return;
  }
  const key = keys[rng.int(0, keys.length - 1)]!;
  if (pick === 0) {
    if (Array.isArray(node)) node.splice(key as number, 1);
    else delete node[key as string];
    d.mutations.push(`delete ${where}.${key}`);
  } else {
    const { v, what } = hostileValue(rng);
    (node as Record<string | number, Json>)[key] = v;
    d.mutations.push(`set ${where}.${key} = ${what}`);
  }
}

function modelJsonMutation(d: Draft, rng: Rng): void {
  const pick = rng.int(0, 7);
  const text = JSON.stringify(d.json);
  switch (pick) {
    case 0:
      d.text = text.slice(0, rng.int(0, text.length - 1));
      d.mutations.push('model.json truncated');
      return;
    case 1:
      d.text = Buffer.from(Array.from({ length: rng.int(1, 2000) }, () => rng.int(0, 255))).toString('latin1');
      d.mutations.push('model.json random bytes');
      return;
    case 2:
      d.setup.push((dir) => {
        rmSync(path.join(dir, 'model.json'));
        mkfifo(path.join(dir, 'model.json'));
      });
      d.mutations.push('model.json is a FIFO');
      return;
    case 3:
      d.setup.push((dir) => {
        rmSync(path.join(dir, 'model.json'));
        symlinkSync('/dev/zero', path.join(dir, 'model.json'));
      });
      d.mutations.push('model.json symlink to /dev/zero');
      return;
    case 4:
      d.setup.push((dir) => {
        rmSync(path.join(dir, 'model.json'));
        mkdirSync(path.join(dir, 'model.json'));
      });
      d.mutations.push('model.json is a directory');
      return;
    case 5:
      // sparse 100 MiB: over the 64 MiB cap, refused by size
      d.setup.push((dir) => truncateRegular(path.join(dir, 'model.json'), 100 * 2 ** 20));
      d.mutations.push('model.json sparse 100 MiB');
      return;
    case 6:
      if (rng.random() < 0.5) {
        d.text = `${'['.repeat(5000)}${']'.repeat(5000)}`;
        d.mutations.push('model.json nested 5000');
      } else {
        // thousands of layers: building them must stay bounded
        const extra = Array.from({ length: rng.int(3000, 6000) }, (_, i) => `{"class_name":"Dropout","config":{"name":"x${i}","rate":0.5}}`).join(',');
        d.text = text.replace(/"layers":\[/, `"layers":[${extra},`);
        d.mutations.push('thousands of Dropout layers');
      }
      return;
    default:
      d.text = text.replace(/"units":\d+/, '"units":1e999');
      d.mutations.push('units 1e999 (Infinity)');
  }
}

/** Writes case `index` (seeded) under root/cases and says what it is. */
function makeCase(index: number, seed: number, root: string, seeds: Seed[]): FuzzCase {
  const rng = new Rng((seed * 1_000_003 + index * 7919) >>> 0);
  const s = seeds[rng.int(0, seeds.length - 1)]!;
  const d: Draft = { json: structuredClone(s.json), bin: Buffer.from(s.bin), mutations: [`${s.name}`], outside: new Set(), setup: [] };
  const canaryFile = path.join(root, 'canary', `${s.name}.bin`);
  const n = rng.random() < 0.5 ? 1 : rng.int(2, 3);
  for (let k = 0; k < n; k++) {
    const r = rng.random();
    if (r < 0.45) jsonMutation(d, rng);
    else if (r < 0.7) pathMutation(d, rng, root, canaryFile);
    else if (r < 0.9) shardMutation(d, rng);
    else modelJsonMutation(d, rng);
  }
  const dir = path.join(root, 'cases', String(index));
  // A case rerun after its batch's child died: start clean (writing over a FIFO would block).
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const text = d.text ?? JSON.stringify(d.json).replace(/"INFINITY"/g, '1e999');
  writeFileSync(path.join(dir, 'model.json'), text);
  writeFileSync(path.join(dir, 'weights.bin'), d.bin);
  for (const f of d.setup) {
    try {
      f(dir);
    } catch {
      // two mutations wanting the same name: the first one stays
    }
  }
  // Outside only if such a path is still in the manifest after all mutations.
  const manifest = d.text === undefined ? d.json.weightsManifest : undefined;
  const paths = Array.isArray(manifest) ? manifest.flatMap((g) => (g && typeof g === 'object' && !Array.isArray(g) && Array.isArray(g.paths) ? g.paths : [])) : [];
  return { index, dir, mutations: d.mutations, outside: paths.some((p) => typeof p === 'string' && d.outside.has(p)) };
}

// ------------------------------------------------------------------ running

interface ChildResult {
  verdicts: Verdict[];
  /** Set when the child died or was killed before finishing. */
  died?: { signal: NodeJS.Signals | null; status: number | null; hung: boolean; stderr: string };
}

/** Runs `cases` in one child, one verdict line per case; stops at the first death. */
function runChild(cases: FuzzCase[], watchdogMs: number, loadTimeoutMs: number, listFile: string): Promise<ChildResult> {
  writeFileSync(listFile, JSON.stringify({ canary: CANARY, timeoutMs: loadTimeoutMs, dirs: cases.map((c) => c.dir) }));
  return new Promise((resolve) => {
    // A 4 GB address-space cap besides the heap cap: a loader that reads a device without
    // end fails in its child, not by starving the machine. AddressSanitizer reserves far more
    // address space for its shadow memory, so under it (npm run test:asan) the heap cap alone holds.
    const args = ['--max-old-space-size=256', CHILD, listFile];
    const sanitized = (process.env.LD_PRELOAD ?? '').includes('libasan');
    const child =
      process.platform === 'linux' && !sanitized
        ? spawn('/bin/sh', ['-c', 'ulimit -v 4000000 2>/dev/null; exec "$0" "$@"', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const verdicts: Verdict[] = [];
    let out = '';
    let err = '';
    let hung = false;
    let timer = setTimeout(kill, watchdogMs);
    function kill() {
      hung = true;
      child.kill('SIGKILL');
    }
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const v = JSON.parse(line) as Verdict;
        v.index = cases[v.index]!.index;
        verdicts.push(v);
        clearTimeout(timer);
        timer = setTimeout(kill, watchdogMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-4000);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const finished = verdicts.length === cases.length && status === 0;
      resolve(finished ? { verdicts } : { verdicts, died: { signal, status, hung, stderr: err } });
    });
  });
}

/** Runs the fuzzer: `count` seeded cases, in child processes of `batch` cases each. */
export async function runModelFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { seed, count, batch = 150, watchdogMs = 10_000, loadTimeoutMs = 3_000 } = options;
  const started = Date.now();
  const root = mkdtempSync(path.join(os.tmpdir(), 'rnnkit-fuzz-'));
  const report: FuzzReport = { cases: count, loaded: 0, rejected: 0, crashes: [], hangs: [], escapes: [], uncoded: [], miscoded: [], slow: [], slowestMs: 0, byKind: {}, seconds: 0 };
  try {
    const seeds = await saveSeeds(root);
    mkdirSync(path.join(root, 'canary'));
    for (const s of seeds) writeFileSync(path.join(root, 'canary', `${s.name}.bin`), canaryBytes(s.bin.length));
    const listFile = path.join(root, 'list.json');
    let next = 0;
    while (next < count) {
      const cases: FuzzCase[] = [];
      for (let i = next; i < Math.min(count, next + batch); i++) cases.push(makeCase(i, seed, root, seeds));
      const r = await runChild(cases, watchdogMs, loadTimeoutMs, listFile);
      for (const v of r.verdicts) tally(report, cases[v.index - next]!, v);
      if (r.died) {
        // The case after the last verdict killed the child (cases run one at a time).
        // A child that gave every verdict but did not exit holds something (a pool thread).
        const culprit = cases[r.verdicts.length] ?? { index: -1, dir: '', mutations: ['(batch)', 'child did not exit after its last case'], outside: false };
        {
          if (r.died.hung) report.hangs.push(culprit);
          else report.crashes.push(culprit);
          // eslint-disable-next-line no-console
          console.error(`model fuzz: case ${culprit.index} [${culprit.mutations.join('; ')}] ${r.died.hung ? 'hung' : `died (${r.died.signal ?? r.died.status})`}\n${r.died.stderr}`);
        }
        next += r.verdicts.length + 1;
      } else {
        next += cases.length;
      }
      for (const c of cases) if (c.index < next) rmSync(c.dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

function tally(report: FuzzReport, c: FuzzCase, v: Verdict): void {
  for (const m of c.mutations.slice(1)) {
    const kind = m.startsWith('delete ') ? 'delete a key' : m.startsWith('set ') ? `set to ${m.replace(/.* = /, '')}` : m.replace(/ at .*/, '');
    const k = (report.byKind[kind] ??= { loaded: 0, rejected: 0 });
    if (v.ok) k.loaded++;
    else k.rejected++;
    if (!v.ok && c.mutations.length === 2) k.example ??= `${v.name} ${v.code}: ${v.message}`;
  }
  report.slowestMs = Math.max(report.slowestMs, v.ms);
  if (v.ms > 5000) report.slow.push({ c, v });
  if (v.ok) {
    report.loaded++;
    if (v.canary || c.outside) report.escapes.push(c);
    return;
  }
  report.rejected++;
  if (typeof v.code !== 'string' || !v.code.startsWith('RNNKIT_')) report.uncoded.push({ c, v });
  else if (v.code !== 'RNNKIT_MODEL_FILE') report.miscoded.push({ c, v });
}

/** A short text of the report's counts. */
export function summarize(r: FuzzReport): string {
  return (
    `${r.cases} cases in ${r.seconds.toFixed(1)} s: ${r.loaded} loaded, ${r.rejected} rejected; ` +
    `crashes ${r.crashes.length}, hangs ${r.hangs.length}, escapes ${r.escapes.length}, uncoded ${r.uncoded.length}, miscoded ${r.miscoded.length}; ` +
    `slow (> 5 s) ${r.slow.length}, slowest ${r.slowestMs} ms`
  );
}
