/**
 * rk.clip.byValue / byNorm / byGlobalNorm against plain-JS float64 implementations of the
 * Keras formulas:
 *   clipvalue:      clamp(g, -c, c) elementwise
 *   clipnorm:       g · c / max(‖g‖₂, c)            per tensor
 *   global_clipnorm g · c / max(‖[g₁,…,gₖ]‖₂, c)     over all tensors as one vector;
 *                   the returned norm is the global norm before clipping
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

type Tensor = ReturnType<typeof rk.tensor>;

const SHAPES: number[][] = [[1], [7], [3, 4], [2, 3, 4], [64, 33], [5, 1, 6]];

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function makeGrads(seed: number, shapes: number[][], scale: number): { arrays: Float32Array[]; tensors: Tensor[] } {
  const rng = new Rng(seed);
  const arrays = shapes.map((s) => rng.normal(size(s), 0, scale));
  const tensors = arrays.map((a, i) => rk.tensor(a, shapes[i]));
  return { arrays, tensors };
}

function l2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function refByValue(g: Float32Array, c: number): Float64Array {
  const cf = Math.fround(c);
  const out = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) out[i] = Math.min(cf, Math.max(-cf, g[i]));
  return out;
}

function refScale(g: Float32Array, factor: number): Float64Array {
  const out = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) out[i] = g[i] * factor;
  return out;
}

/** float32 tolerance: relative to the largest magnitude of the reference tensor. */
function expectClose(got: Float32Array, want: Float64Array, rel = 2e-6): void {
  expect(got.length).toBe(want.length);
  let scale = 0;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (d > worst) {
      worst = d;
      worstAt = i;
    }
  }
  if (worst > rel * scale) {
    throw new Error(
      `max |got - want| = ${worst} at ${worstAt} (got ${got[worstAt]}, want ${want[worstAt]}), ` +
        `allowed ${rel * scale}`,
    );
  }
}

function snapshot(ts: Tensor[]): Float32Array[] {
  return ts.map((t) => t.dataSync());
}

function expectUnchanged(ts: Tensor[], before: Float32Array[], shapes: number[][]): void {
  ts.forEach((t, i) => {
    expect(t.isDisposed).toBe(false);
    expect(t.shape).toEqual(shapes[i]);
    expect(Array.from(t.dataSync())).toEqual(Array.from(before[i]));
  });
}

function expectNewTensors(out: Tensor[], inp: Tensor[]): void {
  expect(out.length).toBe(inp.length);
  out.forEach((o, i) => {
    expect(o).not.toBe(inp[i]);
    for (const t of inp) expect(o).not.toBe(t);
    expect(o.shape).toEqual(inp[i].shape);
    expect(o.dtype).toBe('float32');
  });
}

function disposeAll(ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}

// ------------------------------------------------------------------ byValue

describe('rk.clip.byValue (Keras clipvalue: elementwise clamp to [-c, c])', () => {
  for (const [label, c] of [
    ['clipping (c below most magnitudes)', 0.3],
    ['mixed', 1.0],
    ['non-clipping (c above every magnitude)', 100],
  ] as [string, number][]) {
    it(`${label}, c=${c}`, () => {
      const { arrays, tensors } = makeGrads(101, SHAPES, 1);
      const before = snapshot(tensors);
      const out = rk.clip.byValue(tensors, c);
      expectNewTensors(out, tensors);
      let clipped = 0;
      out.forEach((o, i) => {
        const ref = refByValue(arrays[i], c);
        // A clamp of float32 values to a float32 bound is exact.
        expect(Array.from(o.dataSync())).toEqual(Array.from(ref, (v) => Math.fround(v)));
        for (let j = 0; j < arrays[i].length; j++) if (Math.abs(arrays[i][j]) > c) clipped++;
      });
      if (c === 100) expect(clipped).toBe(0);
      else expect(clipped).toBeGreaterThan(0);
      expectUnchanged(tensors, before, SHAPES);
      // Disposing the results leaves the inputs intact.
      disposeAll(out);
      expectUnchanged(tensors, before, SHAPES);
      disposeAll(tensors);
    });
  }

  it('handles a single tensor and clips positive and negative sides', () => {
    const t = rk.tensor(new Float32Array([-3, -0.5, 0.25, 2, 1e-3, -1e-3]), [2, 3]);
    const [o] = rk.clip.byValue([t], 1);
    expect(Array.from(o.dataSync())).toEqual(Array.from(new Float32Array([-1, -0.5, 0.25, 1, 1e-3, -1e-3])));
    o.dispose();
    t.dispose();
  });
});

// ------------------------------------------------------------------ byNorm

describe('rk.clip.byNorm (Keras clipnorm: g·c/max(‖g‖, c) per tensor)', () => {
  for (const mode of ['clipping every tensor', 'mixed (some tensors above c, some below)', 'non-clipping'] as const) {
    it(mode, () => {
      const { arrays, tensors } = makeGrads(202, SHAPES, 0.5);
      const norms = arrays.map(l2).sort((a, b) => a - b);
      // c chosen from the data so that the regime is what the test says it is.
      const c =
        mode === 'clipping every tensor'
          ? 0.5 * norms[0]
          : mode === 'non-clipping'
            ? 2 * norms[norms.length - 1]
            : 0.5 * (norms[2] + norms[3]);
      const before = snapshot(tensors);
      const out = rk.clip.byNorm(tensors, c);
      expectNewTensors(out, tensors);
      let nClipped = 0;
      out.forEach((o, i) => {
        const n = l2(arrays[i]);
        if (n > c) nClipped++;
        const ref = refScale(arrays[i], c / Math.max(n, c));
        const got = o.dataSync();
        expectClose(got, ref);
        // Each clipped tensor ends with norm c; unclipped ones keep their norm.
        expect(Math.abs(l2(got) - Math.min(n, c))).toBeLessThanOrEqual(2e-6 * Math.max(n, c));
      });
      if (mode === 'clipping every tensor') expect(nClipped).toBe(SHAPES.length);
      else if (mode === 'non-clipping') expect(nClipped).toBe(0);
      else expect(nClipped).toBe(SHAPES.length - 3);
      expectUnchanged(tensors, before, SHAPES);
      disposeAll(out);
      expectUnchanged(tensors, before, SHAPES);
      disposeAll(tensors);
    });
  }

  it('is per tensor, not global: a small tensor is not scaled because a big one is', () => {
    const rng = new Rng(7);
    const big = rng.normal(400, 0, 10); // norm ≈ 200
    const small = rng.normal(4, 0, 0.01); // norm ≈ 0.02
    const tb = rk.tensor(big, [20, 20]);
    const ts = rk.tensor(small, [4]);
    const [ob, os] = rk.clip.byNorm([tb, ts], 1);
    expectClose(ob.dataSync(), refScale(big, 1 / l2(big)));
    expectClose(os.dataSync(), refScale(small, 1));
    disposeAll([ob, os, tb, ts]);
  });
});

// ------------------------------------------------------------------ byGlobalNorm

describe('rk.clip.byGlobalNorm (Keras global_clipnorm: g·c/max(global, c), returns global)', () => {
  for (const [label, scale, c] of [
    ['clipping', 1, 2],
    ['non-clipping', 0.005, 50],
    ['just above c', 0.2, 0],
  ] as [string, number, number][]) {
    it(label, () => {
      const { arrays, tensors } = makeGrads(303, SHAPES, scale);
      let sq = 0;
      for (const a of arrays) sq += l2(a) ** 2;
      const global = Math.sqrt(sq);
      const clipNorm = c === 0 ? global * 0.97 : c; // 'just above c': global slightly above clipNorm
      const before = snapshot(tensors);
      const res = rk.clip.byGlobalNorm(tensors, clipNorm);
      expect(typeof res.norm).toBe('number');
      expect(Math.abs(res.norm - global)).toBeLessThanOrEqual(2e-6 * global);
      expectNewTensors(res.grads, tensors);
      const factor = clipNorm / Math.max(global, clipNorm);
      if (label === 'non-clipping') expect(factor).toBe(1);
      else expect(factor).toBeLessThan(1);
      let outSq = 0;
      res.grads.forEach((o, i) => {
        const got = o.dataSync();
        expectClose(got, refScale(arrays[i], factor));
        outSq += l2(got) ** 2;
      });
      // After clipping the global norm is min(global, clipNorm).
      expect(Math.abs(Math.sqrt(outSq) - Math.min(global, clipNorm))).toBeLessThanOrEqual(
        2e-6 * Math.max(global, clipNorm),
      );
      expectUnchanged(tensors, before, SHAPES);
      disposeAll(res.grads);
      expectUnchanged(tensors, before, SHAPES);
      disposeAll(tensors);
    });
  }

  it('is global, not per tensor: every tensor is scaled by the same factor', () => {
    const rng = new Rng(8);
    const big = rng.normal(400, 0, 10);
    const small = rng.normal(4, 0, 0.01);
    const tb = rk.tensor(big, [20, 20]);
    const ts = rk.tensor(small, [4]);
    const global = Math.sqrt(l2(big) ** 2 + l2(small) ** 2);
    const { grads, norm } = rk.clip.byGlobalNorm([tb, ts], 1);
    expect(Math.abs(norm - global)).toBeLessThanOrEqual(2e-6 * global);
    expectClose(grads[0].dataSync(), refScale(big, 1 / global));
    expectClose(grads[1].dataSync(), refScale(small, 1 / global));
    disposeAll([...grads, tb, ts]);
  });
});

// ------------------------------------------------------------------ bad arguments

function captureSync(fn: () => unknown): unknown {
  try {
    const r = fn();
    // Results of a call that should have thrown are released.
    if (Array.isArray(r)) for (const t of r) (t as Tensor | undefined)?.dispose?.();
    return undefined;
  } catch (e) {
    return e;
  }
}

function expectArgError(fn: () => unknown, argPattern: RegExp): void {
  const err = captureSync(fn);
  expect(err, `expected a TypeError/RangeError matching ${argPattern}`).toBeDefined();
  expect(err instanceof TypeError || err instanceof RangeError, `got ${String(err)}`).toBe(true);
  expect((err as Error).message).toMatch(argPattern);
}

describe('rk.clip: bad arguments', () => {
  const fns = [
    ['byValue', (g: unknown, c: unknown) => rk.clip.byValue(g as Tensor[], c as number), /clip ?value/i],
    ['byNorm', (g: unknown, c: unknown) => rk.clip.byNorm(g as Tensor[], c as number), /clip ?norm/i],
    ['byGlobalNorm', (g: unknown, c: unknown) => rk.clip.byGlobalNorm(g as Tensor[], c as number), /clip ?norm/i],
  ] as const;

  for (const [name, call, cPattern] of fns) {
    it(`${name}: negative / NaN / non-number clip value → error naming it; inputs unchanged`, () => {
      const { tensors } = makeGrads(404, [[3, 4], [5]], 1);
      const before = snapshot(tensors);
      for (const bad of [-1, -1e-3, NaN, -Infinity]) expectArgError(() => call(tensors, bad), cPattern);
      for (const bad of ['1', null, undefined, [1], {}]) {
        const err = captureSync(() => call(tensors, bad));
        expect(err).toBeInstanceOf(TypeError);
        expect((err as Error).message).toMatch(cPattern);
      }
      expectUnchanged(tensors, before, [[3, 4], [5]]);
      disposeAll(tensors);
    });

    it(`${name}: non-tensors in grads → TypeError naming grads`, () => {
      const t = rk.tensor(new Float32Array([1, -2, 3]), [3]);
      const bads: unknown[] = [
        null,
        undefined,
        t, // a tensor, not a list
        'grads',
        [t, new Float32Array([1, 2])],
        [t, [1, 2, 3]],
        [null],
        [t, 5],
        [{ shape: [3], dtype: 'float32' }],
      ];
      for (const bad of bads) {
        const err = captureSync(() => call(bad, 1));
        expect(err, `grads = ${String(bad)}`).toBeInstanceOf(TypeError);
        expect((err as Error).message).toMatch(/grads/);
      }
      expect(Array.from(t.dataSync())).toEqual([1, -2, 3]);
      t.dispose();
    });

    it(`${name}: a disposed tensor in grads → Error mentioning 'disposed'; others unchanged`, () => {
      const a = rk.tensor(new Float32Array([0.5, -4, 2]), [3]);
      const b = rk.tensor(new Float32Array([1, 2]), [2]);
      b.dispose();
      const err = captureSync(() => call([a, b], 1));
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/disposed/);
      expect(Array.from(a.dataSync())).toEqual([0.5, -4, 2]);
      a.dispose();
    });

    it(`${name}: an empty list gives an empty result (or a clear error naming grads)`, () => {
      let res: unknown;
      let err: unknown;
      try {
        res = call([], 1);
      } catch (e) {
        err = e;
      }
      if (err !== undefined) {
        expect(err instanceof TypeError || err instanceof RangeError).toBe(true);
        expect((err as Error).message).toMatch(/grads/);
      } else if (name === 'byGlobalNorm') {
        const r = res as { grads: Tensor[]; norm: number };
        expect(r.grads).toEqual([]);
        expect(r.norm).toBe(0); // tf.clip_by_global_norm([]) has global norm 0
      } else {
        expect(res).toEqual([]);
      }
    });
  }
});

// Clip bounds outside float32's range (1e39, 1e300 are Infinity as floats) and tiny ones
// (0/0 with zero gradients) once gave NaN. The Keras formulas in float64 are the reference.
describe('rk.clip: bounds past float32 range and tiny bounds (float64 Keras formulas)', () => {
  // Results of tiny bounds are float32 denormals, exact only to 2^-149 each (a few of them
  // after the two roundings of factor and product): that absolute slack, never relative.
  const DENORMAL = 2 ** -149;
  function expectFormula(got: Float32Array, want: Float64Array): void {
    let scale = 0;
    for (const w of want) scale = Math.max(scale, Math.abs(w));
    const allowed = Math.max(2e-6 * scale, 4 * DENORMAL);
    for (let i = 0; i < got.length; i++) {
      if (!(Math.abs(got[i]! - want[i]!) <= allowed)) {
        throw new Error(`at ${i}: got ${got[i]}, want ${want[i]} (allowed ${allowed})`);
      }
    }
  }
  const HUGE = [1e39, 1e300, Number.MAX_VALUE];
  const TINY = [1e-30, 1e-45, 1e-50, 1e-300, Number.MIN_VALUE];

  for (const c of [...HUGE, ...TINY]) {
    it(`byNorm / byGlobalNorm / byValue with c=${c} match the formulas and stay finite`, () => {
      const { arrays, tensors } = makeGrads(4242, SHAPES, 3);
      const before = snapshot(tensors);
      const byNorm = rk.clip.byNorm(tensors, c);
      byNorm.forEach((t, i) => {
        const g = arrays[i]!;
        expect(t.dataSync().every(Number.isFinite)).toBe(true);
        expectFormula(t.dataSync(), refScale(g, c / Math.max(l2(g), c)));
      });
      const global = rk.clip.byGlobalNorm(tensors, c);
      const norm = Math.sqrt(arrays.reduce((s, g) => s + l2(g) ** 2, 0));
      expect(global.norm).toBeCloseTo(norm, 3);
      global.grads.forEach((t, i) => {
        expect(t.dataSync().every(Number.isFinite)).toBe(true);
        expectFormula(t.dataSync(), refScale(arrays[i]!, c / Math.max(norm, c)));
      });
      const byValue = rk.clip.byValue(tensors, c);
      byValue.forEach((t, i) => expectFormula(t.dataSync(), refByValue(arrays[i]!, c > 3.4e38 ? Infinity : c)));
      expectUnchanged(tensors, before, SHAPES);
      for (const t of [...tensors, ...byNorm, ...global.grads, ...byValue]) t.dispose();
    });
  }

  for (const c of [1e-30, 1e-300, Number.MIN_VALUE, 1, 1e39]) {
    it(`all-zero gradients with c=${c} stay exactly zero (no 0/0)`, () => {
      const zeros = SHAPES.map((s) => rk.tensor(new Float32Array(size(s)), s));
      const results = [...rk.clip.byNorm(zeros, c), ...rk.clip.byGlobalNorm(zeros, c).grads];
      for (const t of results) expect(Array.from(t.dataSync()).every((v) => v === 0)).toBe(true);
      expect(rk.clip.byGlobalNorm(zeros, c).norm).toBe(0);
      for (const t of [...zeros, ...results]) t.dispose();
    });
  }

  it('Infinity is rejected with a coded RangeError naming the bound (the formula is ∞/∞ there)', () => {
    const { tensors } = makeGrads(7, [[3]], 1);
    for (const call of [() => rk.clip.byNorm(tensors, Infinity), () => rk.clip.byGlobalNorm(tensors, Infinity), () => rk.clip.byValue(tensors, Infinity)]) {
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RangeError);
      expect((err as { code?: string }).code).toBe('RNNKIT_INVALID_ARGUMENT');
      expect((err as Error).message).toMatch(/clip(Norm|Value)/);
    }
    for (const t of tensors) t.dispose();
  });

  for (const kind of ['clipnorm', 'globalClipnorm'] as const) {
    for (const c of [1e39, 1e300]) {
      it(`optimizers.sgd({ ${kind}: ${c} }) takes the unclipped SGD step (weights finite, w - lr·g)`, () => {
        const { arrays, tensors: grads } = makeGrads(99, [[4, 3], [3]], 2);
        const w0 = [new Rng(5).normal(12), new Rng(6).normal(3)];
        const weights = w0.map((w, i) => rk.tensor(w, i === 0 ? [4, 3] : [3]));
        const opt = rk.optimizers.sgd({ learningRate: 0.1, [kind]: c });
        opt.applyGradients(weights, grads);
        weights.forEach((w, i) => {
          const got = w.dataSync();
          expect(got.every(Number.isFinite)).toBe(true);
          const want = Float64Array.from(w0[i]!, (v, k) => v - Math.fround(0.1) * arrays[i]![k]!);
          expectClose(got, want, 1e-6);
        });
        for (const t of [...grads, ...weights]) t.dispose();
      });
    }
  }
});
