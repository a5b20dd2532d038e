/**
 * rk.loadModel treats model files as hostile (DESIGN principle 6):
 * - every shard resolves, after symlinks, to a regular file inside the model's folder;
 *   absolute paths, ../ escapes, symlinks out, devices, /proc files, FIFOs, directories,
 *   empty names and NUL bytes are refused, naming the manifest entry;
 * - each group's shards hold exactly what its weights need, checked before reading;
 * - model.json is a regular file under a size cap, nested at most 64 levels;
 * - options maxBytes and timeoutMs bound the bytes and the time;
 * - every error has code RNNKIT_MODEL_FILE, and no fd or libuv pool thread is left held;
 * - a seeded slice of the model-file fuzzer (the full one: npm run test:stress).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as rk from '../lib';
import { Rng } from './helpers/random';
import { useTempDirs } from './helpers/temp-dirs';
import { readArtifacts } from './helpers/model-files';
import { runModelFuzz, summarize } from './helpers/model-fuzz';

const freshDir = useTempDirs('model-files');
const D = 4;
const H = 3;
const OUT = 2;
// LSTM(H) on D features, then Dense(OUT): the bytes its weights need, counted by hand.
const NEEDED_BYTES = 4 * (D * 4 * H + H * 4 * H + 4 * H + H * OUT + OUT);

/** A saved LSTM -> Dense model with seeded weights, in a fresh folder inside a fresh parent. */
async function savedModel(): Promise<{ dir: string; json: rk.ModelJson; weights: Float32Array[] }> {
  const rng = new Rng(4242);
  const model = rk.sequential([rk.layers.lstm({ units: H, inputShape: [5, D] }), rk.layers.dense({ units: OUT })]);
  const weights = model.getWeights().map((w) => {
    const values = rng.uniform(w.shape.reduce((a, b) => a * b, 1), -0.8, 0.8);
    w.dispose();
    return values;
  });
  model.setWeights(weights);
  const dir = path.join(freshDir(), 'model');
  await model.save(dir);
  model.dispose();
  return { dir, json: readArtifacts(dir).json, weights };
}

const writeJson = (dir: string, json: unknown) => writeFileSync(path.join(dir, 'model.json'), typeof json === 'string' ? json : JSON.stringify(json));

function withPaths(json: rk.ModelJson, paths: string[]): rk.ModelJson {
  const j = structuredClone(json);
  j.weightsManifest[0]!.paths = paths;
  return j;
}

/** Float32 bytes that would be recognizable as weights if loaded. */
function canaryFile(file: string, bytes: number): void {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i + 4 <= bytes; i += 4) b.writeFloatLE(2477.8125, i);
  writeFileSync(file, b);
}

type ErrorClass = typeof TypeError | typeof RangeError | typeof Error;

/** The load's rejection: of `kind`, code RNNKIT_MODEL_FILE, its message matching every pattern. */
async function expectRefused(load: Promise<unknown>, kind: ErrorClass, ...patterns: RegExp[]): Promise<Error> {
  const e = await load.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'the load must fail').toBeInstanceOf(kind);
  expect((e as { code?: string }).code).toBe('RNNKIT_MODEL_FILE');
  for (const p of patterns) expect((e as Error).message).toMatch(p);
  return e as Error;
}

const openFds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
const linux = process.platform === 'linux';

let fdsAtStart = 0;
beforeAll(() => {
  fdsAtStart = openFds();
});

describe('loadModel confines shards to the model folder', () => {
  it('an absolute path is refused, even one naming a file inside the folder', async () => {
    const { dir, json } = await savedModel();
    writeJson(dir, withPaths(json, [path.join(dir, 'weights.bin')]));
    await expectRefused(rk.loadModel(dir), TypeError, /weightsManifest\[0\]\.paths\[0\]/, /absolute paths are refused/, /weights\.bin/);
  });

  it('a ../ escape to a file of exactly the right size is refused', async () => {
    const { dir, json } = await savedModel();
    canaryFile(path.join(dir, '..', 'outside.bin'), NEEDED_BYTES);
    for (const p of ['../outside.bin', 'sub/../../outside.bin', './../outside.bin', '..']) {
      writeJson(dir, withPaths(json, [p]));
      await expectRefused(rk.loadModel(dir), TypeError, /weightsManifest\[0\]\.paths\[0\]/, /leaves the model's folder/);
    }
  });

  it('a symlink pointing outside is refused; one inside the folder loads', async () => {
    const { dir, json, weights } = await savedModel();
    const outside = path.join(dir, '..', 'outside.bin');
    canaryFile(outside, NEEDED_BYTES);
    symlinkSync(outside, path.join(dir, 'link-out.bin'));
    writeJson(dir, withPaths(json, ['link-out.bin']));
    await expectRefused(rk.loadModel(dir), TypeError, /weights file 'link-out\.bin' \(weightsManifest\[0\]\.paths\[0\]/, /outside the model's folder/);
    // a folder symlinked from inside to outside: the same
    symlinkSync(path.dirname(outside), path.join(dir, 'up'));
    writeJson(dir, withPaths(json, ['up/outside.bin']));
    await expectRefused(rk.loadModel(dir), TypeError, /paths\[0\]/, /outside the model's folder/);

    mkdirSync(path.join(dir, 'shards'));
    symlinkSync('../weights.bin', path.join(dir, 'shards', 'link-in.bin'));
    writeJson(dir, withPaths(json, ['shards/link-in.bin']));
    const model = await rk.loadModel(dir);
    const got = model.getWeights().map((w) => w.dataSync());
    expect(got).toEqual(weights);
    model.dispose();
  });

  it.runIf(linux)('/etc/passwd, /proc/self/environ, /dev/zero and /dev/urandom are refused however named', async () => {
    const { dir, json } = await savedModel();
    const up = '../'.repeat(path.resolve(dir).split(path.sep).length);
    for (const target of ['/etc/passwd', '/proc/self/environ', '/dev/zero', '/dev/urandom']) {
      const name = path.basename(target);
      writeJson(dir, withPaths(json, [target]));
      await expectRefused(rk.loadModel(dir), TypeError, /absolute paths are refused/, new RegExp(`weights file '${target}'`));
      writeJson(dir, withPaths(json, [`${up}${target.slice(1)}`]));
      await expectRefused(rk.loadModel(dir), TypeError, /leaves the model's folder/, /paths\[0\]/);
      symlinkSync(target, path.join(dir, `${name}.bin`));
      writeJson(dir, withPaths(json, ['weights.bin', `${name}.bin`]));
      await expectRefused(rk.loadModel(dir), TypeError, /outside the model's folder/, new RegExp(`'${name}\\.bin' \\(weightsManifest\\[0\\]\\.paths\\[1\\]`));
    }
  });

  it('empty names, NUL bytes, the folder itself, a directory and a missing file are refused', async () => {
    const { dir, json } = await savedModel();
    mkdirSync(path.join(dir, 'adir'));
    const cases: [string, ErrorClass, RegExp][] = [
      ['', TypeError, /the path is empty/],
      // the NUL is written as \x00 in the message: no control characters from a file reach logs
      ['weights.bin\0.txt', TypeError, /'weights\.bin\\x00\.txt' .*NUL byte/],
      ['.', TypeError, /leaves the model's folder/],
      ['adir', TypeError, /is a directory, not a regular file/],
      ['missing.bin', Error, /cannot be read: ENOENT/],
    ];
    for (const [p, kind, pattern] of cases) {
      writeJson(dir, withPaths(json, ['weights.bin', p]));
      await expectRefused(rk.loadModel(dir), kind, /weightsManifest\[0\]\.paths\[1\]/, pattern);
    }
  });

  it.runIf(linux)('a FIFO shard is refused at once, and holds no libuv pool thread afterwards', async () => {
    const { dir, json } = await savedModel();
    // six FIFOs loaded at once: more than the 4 pool threads they could each hold forever
    const loads: Promise<Error>[] = [];
    const t0 = Date.now();
    for (let k = 0; k < 6; k++) {
      execFileSync('mkfifo', [path.join(dir, `fifo${k}.bin`)]);
      // one model.json per FIFO (loadModel takes the file too), all loading at once
      writeJson(dir, withPaths(json, [`fifo${k}.bin`]));
      renameSync(path.join(dir, 'model.json'), path.join(dir, `fifo${k}.json`));
      const sub = path.join(dir, `m${k}`);
      mkdirSync(sub);
      execFileSync('mkfifo', [path.join(sub, 'pipe')]);
      symlinkSync('pipe', path.join(sub, 'w.bin'));
      writeJson(sub, withPaths(json, ['w.bin']));
      loads.push(expectRefused(rk.loadModel(path.join(dir, `fifo${k}.json`)), TypeError, /is a FIFO, not a regular file/, new RegExp(`'fifo${k}\\.bin' \\(weightsManifest\\[0\\]\\.paths\\[0\\]`)));
      // behind a symlink, in a sub-folder's own model: the same
      loads.push(expectRefused(rk.loadModel(sub), TypeError, /is a FIFO/));
    }
    await Promise.all(loads);
    expect(Date.now() - t0).toBeLessThan(3000);

    const layer = rk.layers.lstm({ units: 8, seed: 3 });
    const rng = new Rng(77);
    const xs = Array.from({ length: 6 }, () => rk.tensor(rng.uniform(2 * 7 * 5), [2, 7, 5]));
    const forwards = Promise.all(xs.map((x) => layer.forward(x)));
    const timeout = new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), 5000).unref());
    const outcome = await Promise.race([forwards, timeout]);
    expect(outcome).not.toBe('stalled');
    for (const f of outcome as rk.ForwardResult[]) {
      expect(f.output.shape).toEqual([2, 8]);
      f.dispose();
    }
    for (const x of xs) x.dispose();
    layer.dispose();
  });
});

describe('loadModel checks shard sizes before reading', () => {
  it('a short shard is a RangeError naming the group, its paths, and the byte counts', async () => {
    const { dir } = await savedModel();
    const bin = readFileSync(path.join(dir, 'weights.bin'));
    expect(bin.length).toBe(NEEDED_BYTES);
    writeFileSync(path.join(dir, 'weights.bin'), bin.subarray(0, NEEDED_BYTES - 6));
    await expectRefused(
      rk.loadModel(dir),
      RangeError,
      new RegExp(`weightsManifest\\[0\\] \\('weights\\.bin'\\): its weights need ${NEEDED_BYTES} bytes, but its shards hold only ${NEEDED_BYTES - 6}`),
      /weight 'dense_\d+\/bias' \[2\]/,
    );
  });

  it('a long shard is a RangeError too (extra bytes are never ignored)', async () => {
    const { dir } = await savedModel();
    const bin = readFileSync(path.join(dir, 'weights.bin'));
    writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat([bin, Buffer.from([1, 2, 3, 4, 5])]));
    await expectRefused(rk.loadModel(dir), RangeError, new RegExp(`need ${NEEDED_BYTES} bytes, but its shards hold ${NEEDED_BYTES + 5}, 5 more`));
  });

  it('the sum over several shards must match; a 5 GiB sparse shard is refused without reading it', async () => {
    const { dir, json, weights } = await savedModel();
    const bin = readFileSync(path.join(dir, 'weights.bin'));
    const cut = 4 * 13 + 2; // not on a float boundary: shards are byte ranges
    writeFileSync(path.join(dir, 'a.bin'), bin.subarray(0, cut));
    writeFileSync(path.join(dir, 'b.bin'), bin.subarray(cut));
    writeJson(dir, withPaths(json, ['a.bin', 'b.bin']));
    const model = await rk.loadModel(dir);
    expect(model.getWeights().map((w) => w.dataSync())).toEqual(weights);
    model.dispose();
    writeJson(dir, withPaths(json, ['a.bin', 'b.bin', 'a.bin']));
    await expectRefused(rk.loadModel(dir), RangeError, /'a\.bin' \+ 'b\.bin' \+ 'a\.bin'/, new RegExp(`shards hold ${NEEDED_BYTES + cut}`));
    truncateSync(path.join(dir, 'b.bin'), 5 * 2 ** 30);
    const t0 = Date.now();
    await expectRefused(rk.loadModel(dir), RangeError, new RegExp(`shards hold ${2 * cut + 5 * 2 ** 30}`));
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('loadModel bounds model.json', () => {
  it.runIf(linux)('a FIFO, /dev/zero, or a directory as model.json is refused at once', async () => {
    const { dir } = await savedModel();
    const fifoDir = freshDir();
    execFileSync('mkfifo', [path.join(fifoDir, 'model.json')]);
    await expectRefused(rk.loadModel(fifoDir), TypeError, /model\.json': is a FIFO, not a regular file/);
    await expectRefused(rk.loadModel(path.join(fifoDir, 'model.json')), TypeError, /is a FIFO/);
    const zeroDir = freshDir();
    symlinkSync('/dev/zero', path.join(zeroDir, 'model.json'));
    await expectRefused(rk.loadModel(zeroDir), TypeError, /is a character device, not a regular file/);
    await expectRefused(rk.loadModel('/dev/zero'), TypeError, /'\/dev\/zero': is a character device/);
    const dirDir = freshDir();
    mkdirSync(path.join(dirDir, 'model.json'));
    await expectRefused(rk.loadModel(dirDir), TypeError, /is a directory/);
    // the model itself still loads
    (await rk.loadModel(dir)).dispose();
  });

  it('a model.json over 64 MiB is refused by its size (sparse: nothing read)', async () => {
    const { dir } = await savedModel();
    truncateSync(path.join(dir, 'model.json'), 65 * 2 ** 20);
    await expectRefused(rk.loadModel(dir), RangeError, new RegExp(`holds ${65 * 2 ** 20} bytes, more than the limit of ${64 * 2 ** 20}`));
  });

  it('nesting 5,000 deep is a clear coded error, not a stack overflow', async () => {
    const { dir, json } = await savedModel();
    const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    const text = JSON.stringify({ ...json, modelTopology: { ...json.modelTopology, extra: 'DEEP' } }).replace('"DEEP"', deep);
    writeJson(dir, text);
    const e = await expectRefused(rk.loadModel(dir), RangeError, /nested deeper than 64 levels at modelTopology\.extra(\[0\])+/);
    expect(e.message).not.toMatch(/call stack/);
    // in memory too, and a cycle ends at the limit
    let v: unknown = 1;
    for (let i = 0; i < 5000; i++) v = { a: v };
    expect(() => rk.modelFromJson({ ...json, modelTopology: v }, [new ArrayBuffer(NEEDED_BYTES)])).toThrow(/nested deeper than 64 levels at modelTopology(\.a)+/);
    const cyclic: Record<string, unknown> = { class_name: 'Sequential' };
    cyclic.config = cyclic;
    expect(() => rk.modelFromJson({ ...json, modelTopology: cyclic }, [new ArrayBuffer(NEEDED_BYTES)])).toThrow(RangeError);
  });

  it('messages quote a short prefix of bad values (nesting 100, long names and strings)', async () => {
    const { dir, json } = await savedModel();
    let v: unknown = 'x'.repeat(10_000);
    for (let i = 0; i < 100; i++) v = [v, 'y'.repeat(100)];
    const j = structuredClone(json) as unknown as { modelTopology: { config: { layers: { config: Record<string, unknown> }[] } } };
    j.modelTopology.config.layers[0]!.config.batch_input_shape = v;
    writeJson(dir, j);
    const e1 = await expectRefused(rk.loadModel(dir), RangeError, /nested deeper than 64 levels/);
    expect(e1.message.length).toBeLessThan(500);
    // not nested, but long: a shape and a layer name of 100 KB
    const j2 = structuredClone(json) as unknown as typeof j;
    j2.modelTopology.config.layers[0]!.config.batch_input_shape = [null, 5, 'z'.repeat(100_000)];
    j2.modelTopology.config.layers[0]!.config.name = 'n'.repeat(100_000);
    writeJson(dir, j2);
    const e2 = await expectRefused(rk.loadModel(dir), TypeError, /batch_input_shape must be an array of positive integers/);
    expect(e2.message.length).toBeLessThan(500);
    const j3 = withPaths(json, [`${'../'.repeat(20_000)}etc/passwd`]);
    writeJson(dir, j3);
    const e3 = await expectRefused(rk.loadModel(dir), TypeError, /leaves the model's folder/);
    expect(e3.message.length).toBeLessThan(500 + dir.length);
  });
});

describe('loadModel options', () => {
  it('maxBytes bounds model.json and its weights together', async () => {
    const { dir } = await savedModel();
    const jsonBytes = readFileSync(path.join(dir, 'model.json')).length;
    const all = jsonBytes + NEEDED_BYTES;
    await expectRefused(
      rk.loadModel(dir, { maxBytes: all - 1 }),
      RangeError,
      new RegExp(`\\(${jsonBytes} bytes\\) and the weights it lists \\(${NEEDED_BYTES} bytes\\) need ${all} bytes, more than maxBytes \\(${all - 1}\\)`),
    );
    await expectRefused(rk.loadModel(dir, { maxBytes: 100 }), RangeError, new RegExp(`model\\.json': holds ${jsonBytes} bytes, more than the limit of 100`));
    (await rk.loadModel(dir, { maxBytes: all })).dispose();
  });

  it('timeoutMs bounds the time: a manifest of 300 shards cannot load in 1 ms', async () => {
    const { dir, json } = await savedModel();
    const bin = readFileSync(path.join(dir, 'weights.bin'));
    const paths: string[] = [];
    for (let k = 0; k < 300; k++) {
      const part = bin.subarray(Math.floor((k * bin.length) / 300), Math.floor(((k + 1) * bin.length) / 300));
      writeFileSync(path.join(dir, `part${k}.bin`), part);
      paths.push(`part${k}.bin`);
    }
    writeJson(dir, withPaths(json, paths));
    const t0 = Date.now();
    await expectRefused(rk.loadModel(dir, { timeoutMs: 1 }), Error, /took longer than timeoutMs \(1 ms\)/);
    expect(Date.now() - t0).toBeLessThan(2000);
    const model = await rk.loadModel(dir, { timeoutMs: 30_000 });
    expect(model.countParams()).toBe(NEEDED_BYTES / 4);
    model.dispose();
  });

  it('bad options and arguments are argument errors', async () => {
    const { dir } = await savedModel();
    const bad: [unknown, ErrorClass, RegExp][] = [
      [{ maxbytes: 10 }, TypeError, /unknown option 'maxbytes'/],
      [{ maxBytes: '10' }, TypeError, /options\.maxBytes must be a number/],
      [{ maxBytes: 0 }, RangeError, /options\.maxBytes must be an integer/],
      [{ timeoutMs: -5 }, RangeError, /options\.timeoutMs/],
      [{ timeoutMs: 1.5 }, RangeError, /options\.timeoutMs/],
      [{ timeoutMs: 2 ** 31 }, RangeError, /options\.timeoutMs/],
      [null, TypeError, /options must be an object/],
    ];
    for (const [options, kind, pattern] of bad) {
      const e = await rk.loadModel(dir, options as rk.LoadModelOptions).then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(kind);
      expect((e as { code?: string }).code).toBe('RNNKIT_INVALID_ARGUMENT');
      expect((e as Error).message).toMatch(pattern);
    }
    await expect(rk.loadModel('' as string)).rejects.toMatchObject({ code: 'RNNKIT_INVALID_ARGUMENT' });
  });
});

describe('loadModel errors', () => {
  it('errors of layer constructors and of modelFromJson carry RNNKIT_MODEL_FILE', async () => {
    const { dir, json } = await savedModel();
    const j = structuredClone(json) as unknown as { modelTopology: { config: { layers: { config: Record<string, unknown> }[] } } };
    j.modelTopology.config.layers[0]!.config.units = -2;
    writeJson(dir, j);
    await expectRefused(rk.loadModel(dir), RangeError, /layer 0 'lstm_\d+' \(LSTM\).*units must be a positive integer, got -2/);
    const { data } = readArtifacts(dir);
    expect(() => rk.modelFromJson(j, [data])).toThrow(expect.objectContaining({ code: 'RNNKIT_MODEL_FILE' }));
    expect(() => rk.modelFromJson(json, [data.slice(0, 8)])).toThrow(expect.objectContaining({ code: 'RNNKIT_MODEL_FILE', message: expect.stringMatching(/hold only 8/) }));
    expect(() => rk.modelFromJson(json, 'x' as never)).toThrow(expect.objectContaining({ code: 'RNNKIT_INVALID_ARGUMENT' }));
  });

  it('a Dense units of 1e9 against a small kernel is refused before anything is allocated for it', async () => {
    const { dir, json } = await savedModel();
    const j = structuredClone(json) as unknown as { modelTopology: { config: { layers: { config: Record<string, unknown> }[] } } };
    j.modelTopology.config.layers[1]!.config.units = 1e9;
    writeJson(dir, j);
    const rss = process.memoryUsage().rss;
    const t0 = Date.now();
    await expectRefused(rk.loadModel(dir), RangeError, /layer 'dense_\d+' \(Dense\).*kernel\) must have shape \[3,1000000000\].*got \[3,2\]/);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 2 ** 20);
  });

  it('a model.json listing more than 4,096 layers is refused before any is built', async () => {
    const { dir, json } = await savedModel();
    const j = structuredClone(json) as unknown as { modelTopology: { config: { layers: unknown[] } } };
    const layers = j.modelTopology.config.layers;
    for (let i = 0; i < 5000; i++) layers.push({ class_name: 'Dropout', config: { name: `drop${i}`, rate: 0.1 } });
    writeJson(dir, j);
    const t0 = Date.now();
    await expectRefused(rk.loadModel(dir), RangeError, /lists 5002 layers, more than 4096/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('weights listed in another order than the layers are matched to them by name', async () => {
    const { dir, json, weights } = await savedModel();
    // the manifest lists the Dense weights first, and the shard holds them first
    const j = structuredClone(json);
    const specs = j.weightsManifest[0]!.weights;
    j.weightsManifest[0]!.weights = [...specs.slice(3), ...specs.slice(0, 3)];
    writeJson(dir, j);
    const bytes = (ws: Float32Array[]) => Buffer.concat(ws.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength)));
    writeFileSync(path.join(dir, 'weights.bin'), bytes([...weights.slice(3), ...weights.slice(0, 3)]));
    const model = await rk.loadModel(dir);
    expect(model.getWeights().map((w) => w.dataSync())).toEqual(weights);
    model.dispose();
  });

  it.runIf(linux)('no file descriptor is left open by any load above', async () => {
    // an abandoned (timed-out) load closes its files when its current read ends
    await new Promise((r) => setTimeout(r, 200));
    // (a little slack for the test runner's own files)
    expect(openFds()).toBeLessThanOrEqual(fdsAtStart + 2);
  });
});

describe('loadModel under a seeded slice of the model-file fuzzer', () => {
  it.runIf(linux)('200 mutated model files: no crash, hang, escape or uncoded error', async () => {
    const r = await runModelFuzz({ seed: 1206, count: 200, batch: 100 });
    const show = (xs: { mutations: string[] }[]) => xs.map((c) => c.mutations.join('; '));
    expect(show(r.crashes), summarize(r)).toEqual([]);
    expect(show(r.hangs)).toEqual([]);
    expect(show(r.escapes)).toEqual([]);
    expect(r.uncoded.map(({ c, v }) => `${c.mutations.join('; ')} -> ${v.name}: ${v.message}`)).toEqual([]);
    expect(r.miscoded.map(({ c, v }) => `${c.mutations.join('; ')} -> ${v.code}: ${v.message}`)).toEqual([]);
    // the mutations are not all fatal: some files still load (NaN weights, split shards, symlinks inside)
    expect(r.loaded).toBeGreaterThan(10);
    expect(r.rejected).toBeGreaterThan(100);
  }, 60_000);
});
