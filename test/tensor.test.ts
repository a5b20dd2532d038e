/**
 * rk.tensor: construction from Float32Array / number[] / nested arrays, shape inference
 * and validation, host copies, dispose, and native memory release.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

type Tensor = ReturnType<typeof rk.tensor>;

function f32(values: number[]): number[] {
  return values.map((v) => Math.fround(v));
}

/** Flattens nested arrays row-major, independently of rnnkit. */
function flatten(v: unknown): number[] {
  if (Array.isArray(v)) return v.flatMap((x) => flatten(x));
  return [v as number];
}

function expectShapeError(fn: () => unknown, pattern?: RegExp): void {
  let err: unknown;
  try {
    const t = fn() as Tensor | undefined;
    t?.dispose?.();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').toBeDefined();
  expect(err instanceof TypeError || err instanceof RangeError, `got ${String(err)}`).toBe(true);
  if (pattern) expect((err as Error).message).toMatch(pattern);
}

describe('rk.tensor: construction and shape inference', () => {
  it('from a Float32Array with a shape', () => {
    const values = new Rng(1).normal(24);
    const t = rk.tensor(values, [2, 3, 4]);
    expect(t.shape).toEqual([2, 3, 4]);
    expect(t.dtype).toBe('float32');
    expect(typeof t.device).toBe('string');
    if (rk.getBackend() === 'cpu') expect(t.device).toBe('cpu');
    expect(t.size).toBe(24);
    expect(t.isDisposed).toBe(false);
    expect(Array.from(t.dataSync())).toEqual(Array.from(values));
    t.dispose();
  });

  it('from a Float32Array without a shape → 1-D', () => {
    const values = new Rng(2).uniform(10);
    const t = rk.tensor(values);
    expect(t.shape).toEqual([10]);
    expect(Array.from(t.dataSync())).toEqual(Array.from(values));
    t.dispose();
  });

  it('from a Float32Array view (subarray with an offset) uses only the view', () => {
    const base = new Rng(3).uniform(20);
    const view = base.subarray(5, 11);
    const t = rk.tensor(view, [2, 3]);
    expect(Array.from(t.dataSync())).toEqual(Array.from(base.slice(5, 11)));
    t.dispose();
  });

  it('from number[] (rounded to float32), with and without a shape', () => {
    const rng = new Rng(4);
    const values = Array.from({ length: 12 }, () => rng.normal1());
    const a = rk.tensor(values);
    expect(a.shape).toEqual([12]);
    expect(Array.from(a.dataSync())).toEqual(f32(values));
    const b = rk.tensor(values, [3, 4]);
    expect(b.shape).toEqual([3, 4]);
    expect(Array.from(b.dataSync())).toEqual(f32(values));
    const c = rk.tensor([0.1, 1 / 3, -2.5e-8], [3]);
    expect(Array.from(c.dataSync())).toEqual(f32([0.1, 1 / 3, -2.5e-8]));
    for (const t of [a, b, c]) t.dispose();
  });

  it('from nested arrays: shape inferred, values row-major', () => {
    const rng = new Rng(5);
    const m2 = Array.from({ length: 3 }, () => Array.from({ length: 4 }, () => rng.normal1()));
    const t2 = rk.tensor(m2);
    expect(t2.shape).toEqual([3, 4]);
    expect(Array.from(t2.dataSync())).toEqual(f32(flatten(m2)));

    const m3 = Array.from({ length: 2 }, () =>
      Array.from({ length: 3 }, () => Array.from({ length: 5 }, () => rng.normal1())),
    );
    const t3 = rk.tensor(m3);
    expect(t3.shape).toEqual([2, 3, 5]);
    expect(Array.from(t3.dataSync())).toEqual(f32(flatten(m3)));

    // A nested array with an explicit matching shape.
    const t3b = rk.tensor(m3, [2, 3, 5]);
    expect(Array.from(t3b.dataSync())).toEqual(f32(flatten(m3)));
    for (const t of [t2, t3, t3b]) t.dispose();
  });

  it('nested arrays with size-1 dimensions', () => {
    const t = rk.tensor([[[1.5]], [[-2]]]);
    expect(t.shape).toEqual([2, 1, 1]);
    expect(Array.from(t.dataSync())).toEqual([1.5, -2]);
    t.dispose();
  });

  it('a flat array reshaped by an explicit shape', () => {
    const values = new Rng(6).uniform(30);
    for (const shape of [[30], [5, 6], [6, 5], [2, 3, 5], [1, 30], [30, 1]]) {
      const t = rk.tensor(values, shape);
      expect(t.shape).toEqual(shape);
      expect(Array.from(t.dataSync())).toEqual(Array.from(values));
      t.dispose();
    }
  });

  it('the shape argument is not aliased: mutating it afterwards does not change the tensor', () => {
    const shape = [2, 3];
    const t = rk.tensor(new Rng(7).uniform(6), shape);
    shape[0] = 99;
    expect(t.shape).toEqual([2, 3]);
    t.dispose();
  });
});

describe('rk.tensor: validation', () => {
  it('mismatched size between values and shape → error naming the shape', () => {
    const v = new Rng(8).uniform(6);
    expectShapeError(() => rk.tensor(v, [4, 2]), /shape/i);
    expectShapeError(() => rk.tensor(v, [7]), /shape/i);
    expectShapeError(() => rk.tensor(Array.from(v), [2, 2]), /shape/i);
    expectShapeError(() => rk.tensor([[1, 2], [3, 4]], [3, 2]), /shape/i);
  });

  it('bad shapes (negative, non-integer, NaN, non-array) → error', () => {
    const v = new Rng(9).uniform(6);
    expectShapeError(() => rk.tensor(v, [-2, -3]), /shape/i);
    expectShapeError(() => rk.tensor(v, [2.5, 2.4]), /shape/i);
    expectShapeError(() => rk.tensor(v, [NaN, 6]), /shape/i);
    expectShapeError(() => rk.tensor(v, 'abc' as unknown as number[]), /shape/i);
    expectShapeError(() => rk.tensor(v, [2, '3'] as unknown as number[]), /shape/i);
  });

  it('ragged nested arrays → error', () => {
    expectShapeError(() => rk.tensor([[1, 2, 3], [4, 5]]));
    expectShapeError(() => rk.tensor([[[1], [2]], [[3]]]));
    expectShapeError(() => rk.tensor([[1, 2], 3] as unknown as number[][]));
  });

  it('non-numeric values → TypeError', () => {
    for (const bad of [['a', 'b'], [1, null], [1, {}], [[1], ['x']], 'abc', null, undefined, { length: 2 }]) {
      let err: unknown;
      try {
        rk.tensor(bad as unknown as number[]);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad)).toBeInstanceOf(TypeError);
    }
  });

  it('a Float64Array or other typed array is either converted exactly or rejected with a TypeError', () => {
    const v = new Float64Array([0.1, 2, -3.5]);
    let t: Tensor | undefined;
    try {
      t = rk.tensor(v as unknown as Float32Array);
    } catch (e) {
      expect(e).toBeInstanceOf(TypeError);
      return;
    }
    expect(Array.from(t.dataSync())).toEqual(f32([0.1, 2, -3.5]));
    t.dispose();
  });
});

describe('rk.tensor: host copies', () => {
  it('the tensor owns its data: mutating the source afterwards does not change it', () => {
    const src = new Rng(10).normal(8);
    const want = Array.from(src);
    const t = rk.tensor(src, [2, 4]);
    src.fill(123);
    expect(Array.from(t.dataSync())).toEqual(want);
    const arr = Array.from(want);
    const u = rk.tensor(arr, [8]);
    arr[0] = 999;
    expect(Array.from(u.dataSync())).toEqual(want);
    t.dispose();
    u.dispose();
  });

  it('dataSync returns a fresh copy every time', () => {
    const values = new Rng(11).normal(6);
    const t = rk.tensor(values, [3, 2]);
    const a = t.dataSync();
    expect(a).toBeInstanceOf(Float32Array);
    a.fill(-7);
    const b = t.dataSync();
    expect(b).not.toBe(a);
    expect(Array.from(b)).toEqual(Array.from(values));
    t.dispose();
  });

  it('data() resolves to a fresh copy every time', async () => {
    const values = new Rng(12).normal(6);
    const t = rk.tensor(values, [6]);
    const a = await t.data();
    expect(a).toBeInstanceOf(Float32Array);
    expect(Array.from(a)).toEqual(Array.from(values));
    a[2] = 1e9;
    const b = await t.data();
    expect(b).not.toBe(a);
    expect(Array.from(b)).toEqual(Array.from(values));
    expect(Array.from(t.dataSync())).toEqual(Array.from(values));
    t.dispose();
  });
});

describe('rk.tensor: dispose', () => {
  it('dispose is idempotent', () => {
    const t = rk.tensor(new Rng(13).uniform(4), [4]);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(() => t.dispose()).not.toThrow();
    expect(() => t.dispose()).not.toThrow();
    expect(t.isDisposed).toBe(true);
  });

  it('shape reads the same after dispose, also when first read then, and is one array on every read', async () => {
    const layer = rk.layers.lstm({ units: 3, seed: 1, returnSequences: true });
    const fwd = await layer.forward(rk.tensor(new Rng(15).normal(2 * 4 * 5), [2, 4, 5]));
    fwd.output.dispose();
    for (const s of fwd.states) s.dispose();
    expect(fwd.output.shape).toEqual([2, 4, 3]);
    expect(fwd.states.map((s) => s.shape)).toEqual([[2, 3], [2, 3]]);
    expect(fwd.output.shape).toBe(fwd.output.shape);
    const t = rk.tensor(new Rng(16).uniform(6), [2, 3]);
    const before = t.shape;
    t.dispose();
    expect(t.shape).toBe(before);
    expect(t.shape).toEqual([2, 3]);
  });

  it("using a disposed tensor throws an Error mentioning 'disposed'", async () => {
    const t = rk.tensor(new Rng(14).uniform(4), [2, 2]);
    t.dispose();
    expect(() => t.dataSync()).toThrow(/disposed/);
    let err: unknown;
    try {
      await t.data();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/disposed/);
  });

  it('disposing one tensor does not affect another made from the same values', () => {
    const values = new Rng(15).uniform(9);
    const a = rk.tensor(values, [3, 3]);
    const b = rk.tensor(values, [9]);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual(Array.from(values));
    b.dispose();
  });

  it('explicit dispose releases native memory (many 1 MB tensors)', () => {
    const values = new Rng(16).uniform(1 << 18); // 1 MiB
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 1500; i++) {
      const t = rk.tensor(values, [512, 512]);
      if (i % 100 === 0) expect(t.dataSync()[i]).toBe(values[i]);
      t.dispose();
    }
    const grown = process.memoryUsage().rss - rss0;
    // Leaking would grow by ~1.5 GB; allow generous allocator slack.
    expect(grown).toBeLessThan(400 * 1024 * 1024);
  });

  it('tensors created and dropped without dispose are collected (global.gc if exposed)', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    const values = new Rng(17).uniform(1 << 16); // 256 KiB
    const rss0 = process.memoryUsage().rss;
    let check = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 100; i++) {
        const t = rk.tensor(values, [256, 256]);
        check += t.size;
      }
      if (gc) {
        gc();
        // Let finalizers scheduled by the collection run.
        await new Promise((r) => setImmediate(r));
      }
    }
    expect(check).toBe(20 * 100 * (1 << 16));
    if (gc) {
      gc();
      await new Promise((r) => setImmediate(r));
      const grown = process.memoryUsage().rss - rss0;
      // 2000 × 256 KiB = 500 MB if nothing were freed.
      expect(grown).toBeLessThan(300 * 1024 * 1024);
    }
    // The process is alive and tensors still work.
    const t = rk.tensor([1, 2, 3]);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    t.dispose();
  });
});
