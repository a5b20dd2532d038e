// readKerasFile on files written by test/fixtures/keras/make_fixtures.py (h5py, in the
// layouts Keras writes), checked against the values that script drew; and on corrupt,
// truncated, oversized, wrong-kind files and zip bombs, which must give RNNKIT_MODEL_FILE
// errors, never a crash or a hang.
import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readKerasFile, type KerasFile } from '../lib/io/keras-file';
import { matchWeights, type ExpectedLayerWeights } from '../lib/io/weight-names';
import { LoadBudget } from '../lib/io/untrusted-files';

const DIR = path.join(__dirname, 'fixtures', 'keras');
const tmp = mkdtempSync(path.join(tmpdir(), 'rnnkit-keras-'));

interface Expected {
  format: string;
  kerasVersion: string;
  modelName: string;
  modelConfig: unknown;
  layers: (ExpectedLayerWeights & { values: number[][] })[];
  stored: { name: string; shape: number[]; values: number[] }[];
}

const expectedOf = (file: string): Expected => JSON.parse(readFileSync(path.join(DIR, `${file}.expected.json`), 'utf8')) as Expected;
const read = (file: string, maxBytes = 1 << 30, timeoutMs = 30_000): Promise<KerasFile> =>
  readKerasFile(path.isAbsolute(file) ? file : path.join(DIR, file), { maxBytes, budget: new LoadBudget(timeoutMs) });
const f32 = (v: number[]) => v.map((x) => Math.fround(x));

async function rejectsWithFileError(p: Promise<unknown>, pattern: RegExp): Promise<Error> {
  const e = await p.then(
    () => null,
    (err: unknown) => err as Error,
  );
  expect(e, 'expected a rejection').toBeInstanceOf(Error);
  expect((e as { code?: string }).code).toBe('RNNKIT_MODEL_FILE');
  expect(e!.message).toMatch(pattern);
  return e!;
}

const FIXTURES = ['keras2-cell.h5', 'keras22.h5', 'keras3-legacy.h5', 'hdf5-named.keras', 'functional.h5', 'keras3-rnn.keras', 'keras3-conv.keras', 'functional.keras'];

describe('readKerasFile: the fixtures', () => {
  for (const file of FIXTURES) {
    it(`${file}: format, version, config and exactly the stored weights`, async () => {
      const want = expectedOf(file);
      const got = await read(file);
      expect(got.format).toBe(want.format);
      expect(got.kerasVersion).toBe(want.kerasVersion);
      expect(got.modelConfig).toEqual(want.modelConfig);
      const names = got.weights.map((w) => w.name);
      if (want.format === 'keras3') {
        // .keras weights come sorted by path; compare as a set, then the order rule.
        expect([...names].sort()).toEqual(want.stored.map((s) => s.name).sort());
      } else {
        // .h5 weights come in Keras' own order: layer_names, then weight_names.
        expect(names).toEqual(want.stored.map((s) => s.name));
      }
      for (const s of want.stored) {
        const w = got.weights.find((x) => x.name === s.name)!;
        expect(w.shape).toEqual(s.shape);
        expect(w.values).toBeInstanceOf(Float32Array);
        expect(Array.from(w.values)).toEqual(f32(s.values));
      }
    });

    it(`${file}: matched by name to the layers, every weight gets the generator's values`, async () => {
      const want = expectedOf(file);
      const got = await read(file);
      const slots = matchWeights(want.layers, got.weights, { modelName: want.modelName });
      want.layers.forEach((l, li) => {
        l.names.forEach((n, wi) => {
          const w = got.weights[slots[li]![wi]!]!;
          expect(Array.from(w.values), `${l.layer}/${n}`).toEqual(f32(l.values[wi]!));
        });
      });
    });
  }

  it('.keras weights are in path order, variables numerically', async () => {
    const got = await read('keras3-rnn.keras');
    const names = got.weights.map((w) => w.name);
    expect(names.slice(0, 3)).toEqual([
      'layers/bidirectional/backward_layer/cell/vars/0',
      'layers/bidirectional/backward_layer/cell/vars/1',
      'layers/bidirectional/backward_layer/cell/vars/2',
    ]);
  });

  it('the optimizer state is not read', async () => {
    for (const file of ['keras2-cell.h5', 'keras3-rnn.keras']) {
      const got = await read(file);
      expect(got.weights.some((w) => /optimizer|iter/i.test(w.name))).toBe(false);
    }
  });
});

describe('readKerasFile: refused files', () => {
  it('integer weights are refused, naming the weight', async () => {
    await rejectsWithFileError(read('int-weights.keras'), /layers\/embedding\/vars\/0' is integer.*only float16, float32 and float64/);
  });

  it('an HDF5 file without a model config (weights only) is refused', async () => {
    await rejectsWithFileError(read('weights-only.h5'), /weights-only\.h5.*without a 'model_config' attribute/);
  });

  it('a file of another kind is refused by its first bytes, whatever its name', async () => {
    const p = path.join(tmp, 'model.keras');
    writeFileSync(p, '{"format": "layers-model"}');
    const e = await rejectsWithFileError(read(p), /model\.keras: is neither a Keras \.keras file.*it starts with 7b 22/);
    expect(e).toBeInstanceOf(TypeError);
    const empty = path.join(tmp, 'empty.h5');
    writeFileSync(empty, '');
    await rejectsWithFileError(read(empty), /empty\.h5.*the file is empty/);
  });

  it('a missing file, a directory', async () => {
    await rejectsWithFileError(read(path.join(tmp, 'nope.keras')), /nope\.keras: cannot read: ENOENT/);
    await rejectsWithFileError(read(tmp), /is a directory/);
  });

  it('a file larger than maxBytes is refused before reading', async () => {
    const e = await rejectsWithFileError(read('keras2-cell.h5', 1000), /keras2-cell\.h5: holds \d+ bytes, more than the limit of 1000/);
    expect(e).toBeInstanceOf(RangeError);
  });

  it('truncated files', async () => {
    for (const file of ['keras2-cell.h5', 'keras3-legacy.h5', 'keras3-rnn.keras', 'keras3-conv.keras']) {
      const bytes = readFileSync(path.join(DIR, file));
      for (const frac of [0.1, 0.5, 0.9, 0.999]) {
        const p = path.join(tmp, `cut-${frac}-${file}`);
        writeFileSync(p, bytes.subarray(0, Math.floor(bytes.length * frac)));
        await rejectsWithFileError(read(p), new RegExp(`cut-${frac}-${file.replace(/\./g, '\\.')}.*(truncated|corrupt|not a readable zip)`));
      }
    }
  });

  it('corrupted bytes give a file error or a successful read, never a crash or a hang', async () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (const file of ['keras2-cell.h5', 'keras3-legacy.h5', 'keras3-rnn.keras']) {
      const src = readFileSync(path.join(DIR, file));
      for (let k = 0; k < 8; k++) {
        const bytes = Buffer.from(src);
        for (let j = 0; j < 6; j++) bytes[8 + Math.floor(rnd() * (bytes.length - 8))] = Math.floor(rnd() * 256);
        const p = path.join(tmp, `flip-${k}-${file}`);
        writeFileSync(p, bytes);
        const r = await read(p, 1 << 26, 20_000).then(
          () => 'read',
          (e: { code?: string }) => e.code,
        );
        expect(['read', 'RNNKIT_MODEL_FILE']).toContain(r);
      }
    }
  });

  it('a file that makes the HDF5 reader loop is stopped at the deadline, the event loop free meanwhile', async () => {
    // One byte of keras2-cell.h5 changed (found by fuzzing): jsfive loops on it.
    const bytes = Buffer.from(readFileSync(path.join(DIR, 'keras2-cell.h5')));
    bytes[23186] = 81;
    const p = path.join(tmp, 'loops.h5');
    writeFileSync(p, bytes);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    const t0 = Date.now();
    await rejectsWithFileError(read(p, 1 << 30, 1500), /loops\.h5: .*took longer than timeoutMs \(1500 ms\)/);
    clearInterval(timer);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(ticks).toBeGreaterThan(10);
  });

  it('the time limit ends a load', async () => {
    await rejectsWithFileError(read('keras2-cell.h5', 1 << 30, 0), /keras2-cell\.h5: .*took longer than timeoutMs \(0 ms\)/);
  });
});

/** A zip of `entries` (deflated), with the declared sizes optionally replaced. */
function zip(entries: { name: string; data: Buffer; declared?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const packed = zlib.deflateRawSync(e.data);
    const name = Buffer.from(e.name);
    const crc = zlib.crc32(e.data);
    const size = e.declared ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

describe('readKerasFile: hostile zips', () => {
  const config = Buffer.from(JSON.stringify({ class_name: 'Sequential', config: { name: 's', layers: [] } }));
  const h5 = (() => {
    // model.weights.h5 of a real fixture, taken out of its (stored) zip by its local header.
    const z = readFileSync(path.join(DIR, 'keras3-rnn.keras'));
    const at = z.indexOf(Buffer.from('model.weights.h5')) + 'model.weights.h5'.length;
    const size = z.readUInt32LE(at - 'model.weights.h5'.length - 30 + 22);
    return z.subarray(at, at + size);
  })();

  it('a zip bomb is refused by its declared size before inflating', async () => {
    const p = path.join(tmp, 'bomb.keras');
    writeFileSync(p, zip([{ name: 'config.json', data: config }, { name: 'model.weights.h5', data: Buffer.alloc(64 << 20) }]));
    const e = await rejectsWithFileError(read(p, 8 << 20), /bomb\.keras: 'model\.weights\.h5' inflates to 67108864 bytes, more than the limit of 8388608/);
    expect(e).toBeInstanceOf(RangeError);
  });

  it('an entry that inflates to more than it declares is refused', async () => {
    const p = path.join(tmp, 'liar.keras');
    writeFileSync(p, zip([{ name: 'config.json', data: config, declared: 10 }, { name: 'model.weights.h5', data: h5 }]));
    await rejectsWithFileError(read(p), /liar\.keras/);
  });

  it('a zip without model.weights.h5, or with config.json twice', async () => {
    const p = path.join(tmp, 'noweights.keras');
    writeFileSync(p, zip([{ name: 'config.json', data: config }]));
    await rejectsWithFileError(read(p), /noweights\.keras: a Keras \.keras zip must hold 'model\.weights\.h5'/);
    const q = path.join(tmp, 'twice.keras');
    writeFileSync(q, zip([{ name: 'config.json', data: config }, { name: 'config.json', data: config }, { name: 'model.weights.h5', data: h5 }]));
    await rejectsWithFileError(read(q), /twice\.keras: the zip holds 'config\.json' twice/);
  });

  it('entry names are compared, never used as paths', async () => {
    const p = path.join(tmp, 'paths.keras');
    writeFileSync(p, zip([{ name: '../config.json', data: config }, { name: '/model.weights.h5', data: h5 }]));
    // yauzl refuses such names: the zip is refused whole.
    await rejectsWithFileError(read(p), /paths\.keras: corrupt zip: invalid relative path/);
  });

  it('config.json that is not JSON, or not a model config', async () => {
    const p = path.join(tmp, 'badjson.keras');
    writeFileSync(p, zip([{ name: 'config.json', data: Buffer.from('{"class_name": ') }, { name: 'model.weights.h5', data: h5 }]));
    await rejectsWithFileError(read(p), /badjson\.keras: config\.json: is not valid JSON/);
    const q = path.join(tmp, 'notmodel.keras');
    writeFileSync(q, zip([{ name: 'config.json', data: Buffer.from('[1, 2]') }, { name: 'model.weights.h5', data: h5 }]));
    await rejectsWithFileError(read(q), /notmodel\.keras: config\.json: must be a Keras model config/);
  });

  it("an entry whose bytes do not match its CRC-32 is refused (a changed weight value)", async () => {
    const z = Buffer.from(readFileSync(path.join(DIR, 'keras3-rnn.keras')));
    // A float of layers/dense/vars/0 inside the stored model.weights.h5: find its bytes.
    const want = expectedOf('keras3-rnn.keras').stored.find((s) => s.name === 'layers/dense/vars/0')!;
    const at = z.indexOf(Buffer.from(new Float32Array(f32(want.values)).buffer));
    expect(at).toBeGreaterThan(0);
    z[at + 1] ^= 0x40;
    const p = path.join(tmp, 'crc.keras');
    writeFileSync(p, z);
    await rejectsWithFileError(read(p), /crc\.keras: 'model\.weights\.h5': corrupt: its CRC-32 is 0x[0-9a-f]{8}, the zip says 0x[0-9a-f]{8}/);
  });

  it('a deflated .keras reads as a stored one does', async () => {
    const want = expectedOf('keras3-rnn.keras');
    const p = path.join(tmp, 'deflated.keras');
    writeFileSync(p, zip([{ name: 'config.json', data: Buffer.from(JSON.stringify(want.modelConfig)) }, { name: 'model.weights.h5', data: h5 }]));
    const got = await read(p);
    expect(got.kerasVersion).toBe(null);
    expect(got.weights.map((w) => w.name).sort()).toEqual(want.stored.map((s) => s.name).sort());
  });
});
