/**
 * Weight initializers (lib/initializers.ts): Keras semantics checked statistically and
 * structurally against formulas written here, independently of the implementation.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { initialize, validateInitializer } from '../lib/initializers';
import type { InitializerSpec } from '../lib/initializers';
import { native } from '../lib/native';
import type { NativeInitArray } from '../lib/native';

// ------------------------------------------------------------------ helpers

function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s / v.length;
}

function variance(v: ArrayLike<number>): number {
  const m = mean(v);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) * (v[i] - m);
  return s / v.length;
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Gram matrix of the columns (float64): G = W^T W for W [rows, cols] row-major. */
function gramColumns(w: Float32Array, rows: number, cols: number): Float64Array {
  const g = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += w[r * cols + i] * w[r * cols + j];
      g[i * cols + j] = s;
    }
  }
  return g;
}

/** Gram matrix of the rows (float64): G = W W^T. */
function gramRows(w: Float32Array, rows: number, cols: number): Float64Array {
  const g = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += w[i * cols + c] * w[j * cols + c];
      g[i * rows + j] = s;
    }
  }
  return g;
}

function maxDevFromScaledIdentity(g: Float64Array, n: number, scale: number): number {
  let dev = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const want = i === j ? scale : 0;
      dev = Math.max(dev, Math.abs(g[i * n + j] - want));
    }
  }
  return dev;
}

function sameArray(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function countDistinct(v: Float32Array): number {
  return new Set(Array.from(v)).size;
}

/** Fraction of the standard normal within [-2, 2]; 1/sqrt of the truncated variance. */
const TRUNC_VAR_FACTOR = 0.7737413; // Var of N(0,1) truncated to [-2, 2]

// ------------------------------------------------------------------ shapes & sizes

describe('initialize: output size and type', () => {
  const names: InitializerSpec[] = [
    'glorotUniform',
    'glorotNormal',
    'heUniform',
    'heNormal',
    'zeros',
    'ones',
    'randomNormal',
    'randomUniform',
    'truncatedNormal',
    'constant',
  ];
  for (const name of names) {
    it(`${String(name)} returns a Float32Array of the shape's size`, () => {
      for (const shape of [[7], [3, 5], [2, 3, 4], [6, 1], [1, 6]]) {
        const v = initialize(name, shape, 1);
        expect(v).toBeInstanceOf(Float32Array);
        expect(v.length).toBe(shape.reduce((a, b) => a * b, 1));
        for (const x of v) expect(Number.isFinite(x)).toBe(true);
      }
    });
  }

  it('a zero-size shape gives an empty array', () => {
    expect(initialize('glorotUniform', [0, 5], 3).length).toBe(0);
    expect(initialize('orthogonal', [4, 0], 3).length).toBe(0);
  });
});

// ------------------------------------------------------------------ variance scaling

describe('glorot / he: Keras fans, limits and variances', () => {
  it('glorotUniform on [64, 128]: within ±sqrt(6/(fanIn+fanOut)), variance ≈ limit²/3, mean ≈ 0', () => {
    const rows = 64;
    const cols = 128;
    const v = initialize('glorotUniform', [rows, cols], 42);
    const limit = Math.sqrt(6 / (rows + cols));
    expect(maxAbs(v)).toBeLessThanOrEqual(limit);
    expect(maxAbs(v)).toBeGreaterThan(0.99 * limit);
    const n = v.length;
    const sd = limit / Math.sqrt(3);
    expect(Math.abs(mean(v))).toBeLessThan((5 * sd) / Math.sqrt(n));
    // sample variance of U(-l,l): sd of the estimate ≈ l² sqrt(4/45)/sqrt(n) ≈ 1% here.
    expect(variance(v) / (limit * limit / 3)).toBeGreaterThan(0.95);
    expect(variance(v) / (limit * limit / 3)).toBeLessThan(1.05);
    // Both halves of the range are used.
    const neg = Array.from(v).filter((x) => x < 0).length / n;
    expect(neg).toBeGreaterThan(0.47);
    expect(neg).toBeLessThan(0.53);
  });

  it('glorotUniform: fanIn=rows, fanOut=cols for rectangular shapes; fans of 1-D and rank-3 shapes', () => {
    // [2, 500]: limit sqrt(6/502). A transposed fan convention would not change the sum,
    // so also check rank-3 (receptive field) and 1-D.
    const a = initialize('glorotUniform', [2, 500], 5);
    expect(maxAbs(a)).toBeLessThanOrEqual(Math.sqrt(6 / 502));
    expect(maxAbs(a)).toBeGreaterThan(0.98 * Math.sqrt(6 / 502));
    const b = initialize('glorotUniform', [1000], 6); // fanIn = fanOut = 1000
    expect(maxAbs(b)).toBeLessThanOrEqual(Math.sqrt(6 / 2000));
    expect(maxAbs(b)).toBeGreaterThan(0.98 * Math.sqrt(6 / 2000));
    const c = initialize('glorotUniform', [10, 4, 25], 7); // fanIn 40, fanOut 250
    expect(maxAbs(c)).toBeLessThanOrEqual(Math.sqrt(6 / 290));
    expect(maxAbs(c)).toBeGreaterThan(0.98 * Math.sqrt(6 / 290));
  });

  it('heUniform uses fanIn = rows only: limit sqrt(6/fanIn)', () => {
    const rows = 24;
    const cols = 400;
    const v = initialize('heUniform', [rows, cols], 9);
    const limit = Math.sqrt(6 / rows);
    expect(maxAbs(v)).toBeLessThanOrEqual(limit);
    expect(maxAbs(v)).toBeGreaterThan(0.99 * limit);
    expect(variance(v) / (limit * limit / 3)).toBeGreaterThan(0.95);
    expect(variance(v) / (limit * limit / 3)).toBeLessThan(1.05);
    // rank 3: fanIn = shape[-2] * receptive field
    const w = initialize('heUniform', [3, 4, 2000], 10);
    expect(maxAbs(w)).toBeLessThanOrEqual(Math.sqrt(6 / 12));
    expect(maxAbs(w)).toBeGreaterThan(0.98 * Math.sqrt(6 / 12));
  });

  it('glorotNormal: truncated at 2σ with σ = sqrt(2/(fanIn+fanOut))/0.8796, so variance ≈ 2/(fanIn+fanOut)', () => {
    const rows = 100;
    const cols = 150;
    const v = initialize('glorotNormal', [rows, cols], 11);
    const target = 2 / (rows + cols);
    const sigma = Math.sqrt(target / TRUNC_VAR_FACTOR);
    expect(maxAbs(v)).toBeLessThanOrEqual(2 * sigma * (1 + 1e-6));
    expect(maxAbs(v)).toBeGreaterThan(1.9 * sigma);
    expect(variance(v) / target).toBeGreaterThan(0.96);
    expect(variance(v) / target).toBeLessThan(1.04);
    expect(Math.abs(mean(v))).toBeLessThan((5 * Math.sqrt(target)) / Math.sqrt(v.length));
  });

  it('heNormal: variance ≈ 2/fanIn, truncated at 2σ', () => {
    const rows = 50;
    const cols = 300;
    const v = initialize('heNormal', [rows, cols], 12);
    const target = 2 / rows;
    const sigma = Math.sqrt(target / TRUNC_VAR_FACTOR);
    expect(maxAbs(v)).toBeLessThanOrEqual(2 * sigma * (1 + 1e-6));
    expect(variance(v) / target).toBeGreaterThan(0.96);
    expect(variance(v) / target).toBeLessThan(1.04);
  });
});

// ------------------------------------------------------------------ plain distributions

describe('randomNormal / randomUniform / truncatedNormal (Keras defaults and config)', () => {
  it('randomNormal defaults: mean 0, stddev 0.05, not truncated; ≈68.3% within 1σ', () => {
    const v = initialize('randomNormal', [200, 100], 13);
    const n = v.length;
    expect(Math.abs(mean(v))).toBeLessThan((5 * 0.05) / Math.sqrt(n));
    expect(Math.sqrt(variance(v)) / 0.05).toBeGreaterThan(0.98);
    expect(Math.sqrt(variance(v)) / 0.05).toBeLessThan(1.02);
    expect(maxAbs(v)).toBeGreaterThan(3 * 0.05); // tails exist: not truncated
    const within1 = Array.from(v).filter((x) => Math.abs(x) <= 0.05).length / n;
    expect(Math.abs(within1 - 0.6827)).toBeLessThan(0.015);
    const within2 = Array.from(v).filter((x) => Math.abs(x) <= 0.1).length / n;
    expect(Math.abs(within2 - 0.9545)).toBeLessThan(0.008);
  });

  it('randomNormal with config mean/stddev', () => {
    const v = initialize({ className: 'randomNormal', config: { mean: 1.5, stddev: 2 } }, [20000], 14);
    expect(Math.abs(mean(v) - 1.5)).toBeLessThan((5 * 2) / Math.sqrt(v.length));
    expect(Math.sqrt(variance(v)) / 2).toBeGreaterThan(0.97);
    expect(Math.sqrt(variance(v)) / 2).toBeLessThan(1.03);
  });

  it('randomUniform defaults: [-0.05, 0.05), variance ≈ 0.05²/3', () => {
    const v = initialize('randomUniform', [20000], 15);
    for (const x of v) {
      expect(x).toBeGreaterThanOrEqual(-0.05 - 1e-9);
      expect(x).toBeLessThanOrEqual(0.05 + 1e-9);
    }
    expect(maxAbs(v)).toBeGreaterThan(0.0495);
    expect(variance(v) / ((0.05 * 0.05) / 3)).toBeGreaterThan(0.95);
    expect(variance(v) / ((0.05 * 0.05) / 3)).toBeLessThan(1.05);
  });

  it('randomUniform with config minval/maxval (asymmetric range)', () => {
    const v = initialize({ className: 'RandomUniform', config: { minval: 2, maxval: 5 } }, [20000], 16);
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    expect(lo).toBeGreaterThanOrEqual(2);
    expect(hi).toBeLessThanOrEqual(5);
    expect(lo).toBeLessThan(2.01);
    expect(hi).toBeGreaterThan(4.99);
    expect(Math.abs(mean(v) - 3.5)).toBeLessThan((5 * Math.sqrt(0.75)) / Math.sqrt(v.length));
  });

  it('truncatedNormal defaults: stddev 0.05 redrawn beyond 2σ (variance 0.05² · 0.7737)', () => {
    const v = initialize('truncatedNormal', [30000], 17);
    expect(maxAbs(v)).toBeLessThanOrEqual(0.1 * (1 + 1e-6));
    expect(maxAbs(v)).toBeGreaterThan(0.098);
    const target = 0.05 * 0.05 * TRUNC_VAR_FACTOR;
    expect(variance(v) / target).toBeGreaterThan(0.97);
    expect(variance(v) / target).toBeLessThan(1.03);
    // Redrawn, not clipped: no pile-up at the bounds.
    const atBound = Array.from(v).filter((x) => Math.abs(x) > 0.0999).length;
    expect(atBound).toBeLessThan(30);
  });

  it('truncatedNormal with config mean/stddev', () => {
    const v = initialize({ className: 'truncated_normal', config: { mean: -1, stddev: 0.5 } }, [20000], 18);
    for (const x of v) {
      expect(x).toBeGreaterThanOrEqual(-2 - 1e-6);
      expect(x).toBeLessThanOrEqual(0 + 1e-6);
    }
    expect(Math.abs(mean(v) + 1)).toBeLessThan(0.02);
  });
});

// ------------------------------------------------------------------ orthogonal

describe('orthogonal (Keras: QR of a normal matrix, sign-corrected, transposed when wide)', () => {
  const cases: [number, number][] = [
    [8, 8],
    [1, 1],
    [33, 33],
    [20, 7], // tall: columns orthonormal
    [7, 20], // wide: rows orthonormal
    [16, 64], // LSTM recurrent kernel [H, 4H]
    [16, 48], // GRU recurrent kernel [H, 3H]
    [64, 16],
  ];
  for (const [rows, cols] of cases) {
    it(`[${rows}, ${cols}]: ${rows >= cols ? 'WᵀW' : 'WWᵀ'} = I within 1e-5`, () => {
      const w = initialize('orthogonal', [rows, cols], 100 + rows * 7 + cols);
      expect(w.length).toBe(rows * cols);
      if (rows >= cols) {
        expect(maxDevFromScaledIdentity(gramColumns(w, rows, cols), cols, 1)).toBeLessThan(1e-5);
      } else {
        expect(maxDevFromScaledIdentity(gramRows(w, rows, cols), rows, 1)).toBeLessThan(1e-5);
      }
      if (rows === cols) {
        // Square: both W^T W and W W^T are the identity.
        expect(maxDevFromScaledIdentity(gramRows(w, rows, cols), rows, 1)).toBeLessThan(1e-5);
      }
      if (rows * cols > 1) expect(countDistinct(w)).toBeGreaterThan((rows * cols) / 2);
    });
  }

  it('gain scales the matrix: WᵀW = gain² I', () => {
    const gain = 2.5;
    for (const [rows, cols] of [[12, 12], [15, 6], [6, 15]] as [number, number][]) {
      const w = initialize({ className: 'Orthogonal', config: { gain } }, [rows, cols], 7);
      const g = rows >= cols ? gramColumns(w, rows, cols) : gramRows(w, rows, cols);
      expect(maxDevFromScaledIdentity(g, Math.min(rows, cols), gain * gain)).toBeLessThan(1e-4);
    }
  });

  it('rank 3: rows = product of leading dims ([2,3,4] → 6×4 with orthonormal columns)', () => {
    const w = initialize('orthogonal', [2, 3, 4], 21);
    expect(maxDevFromScaledIdentity(gramColumns(w, 6, 4), 4, 1)).toBeLessThan(1e-5);
  });

  it('sign correction: entries are symmetric around 0 across seeds (Haar-like, E[Q_ii] = 0)', () => {
    // Without multiplying Q by sign(diag(R)), Householder QR gives a fixed sign pattern
    // on the diagonal (e.g. Q[0,0] always negative). With it, Q is Haar distributed and
    // Q[0,0] has mean 0 and variance 1/n.
    const n = 4;
    const seeds = 400;
    let s00 = 0;
    let pos = 0;
    let sumSq = 0;
    for (let s = 0; s < seeds; s++) {
      const w = initialize('orthogonal', [n, n], 1000 + s);
      s00 += w[0];
      if (w[0] > 0) pos++;
      sumSq += w[0] * w[0];
    }
    expect(Math.abs(s00 / seeds)).toBeLessThan(5 * Math.sqrt(1 / n / seeds));
    expect(pos / seeds).toBeGreaterThan(0.4);
    expect(pos / seeds).toBeLessThan(0.6);
    // E[Q_00²] = 1/n for a Haar orthogonal matrix.
    expect(Math.abs(sumSq / seeds - 1 / n)).toBeLessThan(0.04);
  });

  it('rank < 2 is rejected', () => {
    expect(() => initialize('orthogonal', [5], 1)).toThrow(RangeError);
    expect(() => initialize('orthogonal', [], 1)).toThrow(RangeError);
  });
});

// ------------------------------------------------------------------ deterministic ones

// ------------------------------------------------------------------ the generator, from its specification

/**
 * The documented generator, written here from its specification (lib/initializers.ts,
 * native/core/initializers.h): xoshiro128** seeded by splitmix32 from the seed's float64
 * bits (high word, then low word), 53-bit uniforms, Box-Muller normals in float64 with the
 * second variate kept. Uses V8's Math.log/sin/cos; the native side computes them
 * portably, so a float32 value may differ in its last bit, rarely.
 */
class SpecRng {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed: number) {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, seed === 0 ? 0 : seed); // big-endian: word 0 is the high word
    let x = (view.getUint32(0) ^ Math.imul(view.getUint32(4), 0x9e3779b9)) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  u32(): number {
    const s = this.s;
    const rotl = (v: number, k: number) => ((v << k) | (v >>> (32 - k))) >>> 0;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  uniform(): number {
    const hi = this.u32() >>> 5;
    const lo = this.u32() >>> 6;
    return (hi * 2 ** 26 + lo) / 2 ** 53;
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

/** |a - b| in units of b's float32 ulp. */
function ulps32(a: number, b: number): number {
  if (a === b) return 0;
  const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(b), 2 ** -126))) - 23);
  return Math.abs(a - b) / ulp;
}

/** Compares native values with reference float64 draws rounded to float32. */
function expectSameDraws(native: Float32Array, ref: (i: number) => number): void {
  let exact = 0;
  let worst = 0;
  for (let i = 0; i < native.length; i++) {
    const u = ulps32(native[i], Math.fround(ref(i)));
    if (u === 0) exact++;
    worst = Math.max(worst, u);
  }
  expect(worst).toBeLessThanOrEqual(1);
  expect(exact / native.length).toBeGreaterThan(0.999);
}

/** Householder QR in float64, unblocked; returns Q [m, k] with diag(R) made >= 0. */
function referenceQ(a0: Float64Array, m: number, k: number): Float64Array {
  const a = Float64Array.from(a0);
  const q = new Float64Array(m * k);
  for (let j = 0; j < k; j++) q[j * k + j] = 1;
  const vs: Float64Array[] = [];
  const diag = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const v = new Float64Array(m);
    let norm2 = 0;
    for (let i = j; i < m; i++) norm2 += a[i * k + j] ** 2;
    const alpha = a[j * k + j] >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    for (let i = j; i < m; i++) v[i] = a[i * k + j];
    v[j] -= alpha;
    const vn = Math.hypot(...v.subarray(j));
    if (vn > 0) for (let i = j; i < m; i++) v[i] /= vn;
    // A <- (I - 2vvᵀ) A on columns j..k-1
    for (let c = j; c < k; c++) {
      let d = 0;
      for (let i = j; i < m; i++) d += v[i] * a[i * k + c];
      for (let i = j; i < m; i++) a[i * k + c] -= 2 * d * v[i];
    }
    diag[j] = a[j * k + j];
    vs.push(v);
  }
  for (let j = k - 1; j >= 0; j--) {
    const v = vs[j];
    for (let c = 0; c < k; c++) {
      let d = 0;
      for (let i = j; i < m; i++) d += v[i] * q[i * k + c];
      for (let i = j; i < m; i++) q[i * k + c] -= 2 * d * v[i];
    }
  }
  for (let j = 0; j < k; j++) if (diag[j] < 0) for (let i = 0; i < m; i++) q[i * k + j] = -q[i * k + j];
  return q;
}

describe('native generation follows the documented generator', () => {
  it('randomUniform, randomNormal, truncatedNormal and glorotUniform are the specified draws', () => {
    const n = 20000;
    for (const seed of [1, 987654321, 0.25, -7]) {
      let rng = new SpecRng(seed);
      const u = Array.from({ length: n }, () => -0.05 + 0.1 * rng.uniform());
      expectSameDraws(initialize('randomUniform', [n], seed), (i) => u[i]);

      rng = new SpecRng(seed);
      const z = Array.from({ length: n }, () => 0.3 + 2 * rng.normal());
      expectSameDraws(initialize({ className: 'randomNormal', config: { mean: 0.3, stddev: 2 } }, [n], seed), (i) => z[i]);

      rng = new SpecRng(seed);
      const t: number[] = [];
      while (t.length < n) {
        const v = rng.normal();
        if (v >= -2 && v <= 2) t.push(0.05 * v);
      }
      expectSameDraws(initialize('truncatedNormal', [n], seed), (i) => t[i]);

      rng = new SpecRng(seed);
      const limit = Math.sqrt(6 / (100 + 200));
      const g = Array.from({ length: 100 * 200 }, () => -limit + 2 * limit * rng.uniform());
      expectSameDraws(initialize('glorotUniform', [100, 200], seed), (i) => g[i]);
    }
  });
});

describe('orthogonal: blocked native QR against an independent Householder QR', () => {
  // Several 32-column panels, a partial last panel, square, tall and wide.
  const cases: [number, number][] = [
    [40, 40],
    [70, 33],
    [33, 70],
    [97, 64],
    [5, 130],
  ];
  for (const [rows, cols] of cases) {
    it(`[${rows}, ${cols}]: equals Q (sign-fixed) of the same Gaussian matrix, in float64 then float32`, () => {
      const seed = 31 * rows + cols;
      const gain = 1.7;
      const m = Math.max(rows, cols);
      const k = Math.min(rows, cols);
      const rng = new SpecRng(seed);
      const a = Float64Array.from({ length: m * k }, () => rng.normal());
      const q = referenceQ(a, m, k);
      const w = initialize({ className: 'orthogonal', config: { gain } }, [rows, cols], seed);
      let worst = 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const want = gain * (rows >= cols ? q[r * k + c] : q[c * k + r]);
          worst = Math.max(worst, Math.abs(w[r * cols + c] - want));
        }
      }
      // float32 rounding of values below gain, plus float64 differences of ~1e-14.
      expect(worst).toBeLessThan(2e-7);
    });
  }

  const big: [number, number][] = [
    [128, 128],
    [300, 70],
    [70, 300],
    [256, 1024], // LSTM-256 recurrent kernel [H, 4H]
  ];
  for (const [rows, cols] of big) {
    it(`[${rows}, ${cols}]: orthonormal to 1e-5, gain², deterministic per seed`, () => {
      const w = initialize('orthogonal', [rows, cols], 77);
      const g = rows >= cols ? gramColumns(w, rows, cols) : gramRows(w, rows, cols);
      expect(maxDevFromScaledIdentity(g, Math.min(rows, cols), 1)).toBeLessThan(1e-5);
      const scaled = initialize({ className: 'orthogonal', config: { gain: 0.5, seed: 77 } }, [rows, cols], 1);
      for (let i = 0; i < w.length; i += 97) expect(scaled[i]).toBeCloseTo(0.5 * w[i], 7);
      expect(sameArray(initialize('orthogonal', [rows, cols], 77), w)).toBe(true);
      const other = initialize('orthogonal', [rows, cols], 78);
      expect(Math.abs(correlation(w, other))).toBeLessThan(0.05);
    });
  }
});

describe('the native initialization binding under malformed draws', () => {
  // lib/ validates before it calls native; the binding must still reject what reaches it
  // with coded errors, never crash.
  const draw = (over: Record<string, unknown>) => ({ kind: 'uniform', a: -1, b: 1, seed: 1, shape: [4], ...over });
  const cases: [string, unknown, string][] = [
    ['unknown kind', { shape: [4], parts: [draw({ kind: 'bogus' })] }, 'TypeError'],
    ['parts not filling the shape', { shape: [5], parts: [draw({})] }, 'RangeError'],
    ['orthogonal of rank 1', { shape: [4], parts: [draw({ kind: 'orthogonal' })] }, 'RangeError'],
    ['identity of rank 3', { shape: [8], parts: [draw({ kind: 'identity', shape: [2, 2, 2] })] }, 'RangeError'],
    ['non-finite seed', { shape: [4], parts: [draw({ seed: NaN })] }, 'RangeError'],
    ['negative dimension', { shape: [-4], parts: [draw({ shape: [-4] })] }, 'RangeError'],
    ['not an object', 42, 'TypeError'],
  ];
  for (const [name, array, kind] of cases) {
    it(`${name} → ${kind} with code RNNKIT_INVALID_ARGUMENT`, () => {
      let caught: unknown;
      try {
        native.initValues(array as NativeInitArray);
      } catch (e) {
        caught = e;
      }
      expect((caught as Error).name).toBe(kind);
      expect((caught as { code?: string }).code).toBe('RNNKIT_INVALID_ARGUMENT');
    });
  }
});

describe('identity, zeros, ones, constant', () => {
  function eye(rows: number, cols: number, gain: number): Float32Array {
    const e = new Float32Array(rows * cols);
    for (let i = 0; i < Math.min(rows, cols); i++) e[i * cols + i] = gain;
    return e;
  }

  it('identity is gain · eye(rows, cols), including rectangular shapes', () => {
    expect(Array.from(initialize('identity', [4, 4], 1))).toEqual(Array.from(eye(4, 4, 1)));
    expect(Array.from(initialize('identity', [3, 5], 1))).toEqual(Array.from(eye(3, 5, 1)));
    expect(Array.from(initialize('identity', [5, 3], 1))).toEqual(Array.from(eye(5, 3, 1)));
    expect(Array.from(initialize({ className: 'Identity', config: { gain: 0.5 } }, [6, 2], 1))).toEqual(
      Array.from(eye(6, 2, 0.5)),
    );
  });

  it('identity needs a 2-D shape', () => {
    expect(() => initialize('identity', [4], 1)).toThrow(RangeError);
    expect(() => initialize('identity', [2, 2, 2], 1)).toThrow(RangeError);
  });

  it('zeros, ones and constant ignore the seed', () => {
    for (const seed of [1, 2, 99]) {
      expect(Array.from(initialize('zeros', [3, 4], seed))).toEqual(new Array(12).fill(0));
      expect(Array.from(initialize('ones', [3, 4], seed))).toEqual(new Array(12).fill(1));
      expect(Array.from(initialize({ className: 'constant', config: { value: 0.25 } }, [5], seed))).toEqual(
        new Array(5).fill(0.25),
      );
    }
    expect(Array.from(initialize('constant', [3], 1))).toEqual([0, 0, 0]); // Keras default value 0
  });
});

// ------------------------------------------------------------------ seeding

describe('seeding', () => {
  const random: InitializerSpec[] = [
    'glorotUniform',
    'glorotNormal',
    'heUniform',
    'heNormal',
    'orthogonal',
    'randomNormal',
    'randomUniform',
    'truncatedNormal',
  ];
  for (const name of random) {
    it(`${String(name)}: same seed → same values; different seeds → different, uncorrelated values`, () => {
      const shape = [32, 48];
      const a = initialize(name, shape, 1234);
      const b = initialize(name, shape, 1234);
      expect(sameArray(a, b)).toBe(true);
      for (const other of [1235, 0, -1234, 2 ** 31, 7.5]) {
        const c = initialize(name, shape, other);
        expect(sameArray(a, c)).toBe(false);
        if (name !== 'orthogonal') {
          // Orthogonal entries are not independent; the others are i.i.d.
          expect(Math.abs(correlation(a, c))).toBeLessThan(5 / Math.sqrt(a.length));
        }
      }
    });
  }

  it('consecutive seeds do not give shifted copies of the same stream', () => {
    const a = initialize('randomNormal', [4096], 1);
    const b = initialize('randomNormal', [4096], 2);
    for (let lag = -3; lag <= 3; lag++) {
      const x: number[] = [];
      const y: number[] = [];
      for (let i = 3; i < a.length - 3; i++) {
        x.push(a[i]);
        y.push(b[i + lag]);
      }
      expect(Math.abs(correlation(x, y))).toBeLessThan(5 / Math.sqrt(x.length));
    }
  });

  it('consecutive values within a stream are uncorrelated', () => {
    const a = initialize('randomUniform', [20000], 77);
    const x = Array.from(a.subarray(0, a.length - 1));
    const y = Array.from(a.subarray(1));
    expect(Math.abs(correlation(x, y))).toBeLessThan(5 / Math.sqrt(x.length));
  });

  it('a seed in the config overrides the seed argument', () => {
    const spec: InitializerSpec = { className: 'glorotUniform', config: { seed: 7 } };
    const a = initialize(spec, [10, 10], 1);
    const b = initialize(spec, [10, 10], 2);
    expect(sameArray(a, b)).toBe(true);
    expect(sameArray(a, initialize('glorotUniform', [10, 10], 7))).toBe(true);
    expect(sameArray(a, initialize({ className: 'glorotUniform', config: { seed: 8 } }, [10, 10], 1))).toBe(false);
  });

  it('a null seed in the config (as Keras writes it) falls back to the argument', () => {
    const spec = { className: 'GlorotUniform', config: { seed: null } } as unknown as InitializerSpec;
    expect(sameArray(initialize(spec, [6, 6], 3), initialize('glorotUniform', [6, 6], 3))).toBe(true);
  });
});

// ------------------------------------------------------------------ names & validation

describe('names and validation', () => {
  it('Keras / tfjs spellings are the same initializer as the canonical name', () => {
    // Bare Keras spellings are accepted at run time (e.g. from JSON), not by the type.
    const pairs: [InitializerSpec, InitializerSpec | string][] = [
      ['glorotUniform', 'GlorotUniform'],
      ['glorotUniform', 'glorot_uniform'],
      ['glorotUniform', { className: 'GlorotUniform' }],
      ['glorotNormal', 'glorot_normal'],
      ['heNormal', 'he_normal'],
      ['heUniform', 'HeUniform'],
      ['orthogonal', 'Orthogonal'],
      ['orthogonal', { className: 'Orthogonal', config: { gain: 1 } }],
      ['randomNormal', 'random_normal'],
      ['randomUniform', 'RandomUniform'],
      ['truncatedNormal', 'TruncatedNormal'],
      ['zeros', 'Zeros'],
      ['ones', 'Ones'],
      ['identity', 'Identity'],
    ];
    for (const [a, b] of pairs) {
      expect(sameArray(initialize(a, [9, 5], 31), initialize(b as InitializerSpec, [9, 5], 31))).toBe(true);
    }
  });

  it('validateInitializer returns canonical names', () => {
    expect(validateInitializer('glorot_uniform', 'kernelInitializer')).toBe('glorotUniform');
    expect(validateInitializer('Orthogonal', 'recurrentInitializer')).toBe('orthogonal');
    expect(validateInitializer('zeros', 'biasInitializer')).toBe('zeros');
    const obj = validateInitializer({ className: 'RandomNormal', config: { stddev: 0.1 } }, 'k');
    expect(obj).toEqual({ className: 'randomNormal', config: { stddev: 0.1 } });
  });

  it('an unknown name → TypeError naming the argument and listing valid names', () => {
    let err: unknown;
    try {
      validateInitializer('glorotUniformm', 'kernelInitializer');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TypeError);
    const msg = (err as Error).message;
    expect(msg).toContain('kernelInitializer');
    expect(msg).toContain('glorotUniformm');
    for (const n of ['glorotUniform', 'orthogonal', 'zeros', 'identity', 'randomNormal']) {
      expect(msg).toContain(n);
    }
  });

  it('non-string, non-object specs → TypeError naming the argument', () => {
    for (const bad of [42, null, undefined, true, [], ['glorotUniform'], () => 1]) {
      expect(() => validateInitializer(bad, 'recurrentInitializer')).toThrow(TypeError);
      expect(() => validateInitializer(bad, 'recurrentInitializer')).toThrow(/recurrentInitializer/);
    }
  });

  it('bad objects → TypeError / RangeError naming the argument', () => {
    const arg = 'biasInitializer';
    expect(() => validateInitializer({}, arg)).toThrow(TypeError);
    expect(() => validateInitializer({ className: 5 }, arg)).toThrow(/biasInitializer/);
    expect(() => validateInitializer({ className: 'nope' }, arg)).toThrow(TypeError);
    expect(() => validateInitializer({ className: 'nope' }, arg)).toThrow(/biasInitializer/);
    expect(() => validateInitializer({ className: 'zeros', extra: 1 }, arg)).toThrow(TypeError);
    expect(() => validateInitializer({ className: 'zeros', config: 3 }, arg)).toThrow(TypeError);
    // Unknown / inapplicable config key.
    expect(() => validateInitializer({ className: 'randomNormal', config: { stdev: 1 } }, arg)).toThrow(TypeError);
    expect(() => validateInitializer({ className: 'randomNormal', config: { stdev: 1 } }, arg)).toThrow(/stdev/);
    expect(() => validateInitializer({ className: 'zeros', config: { gain: 1 } }, arg)).toThrow(TypeError);
    // Wrong value types / ranges.
    expect(() => validateInitializer({ className: 'randomNormal', config: { stddev: '1' } }, arg)).toThrow(TypeError);
    expect(() => validateInitializer({ className: 'randomNormal', config: { stddev: -1 } }, arg)).toThrow(RangeError);
    expect(() => validateInitializer({ className: 'randomNormal', config: { stddev: -1 } }, arg)).toThrow(
      /biasInitializer.*stddev|stddev.*biasInitializer/,
    );
    expect(() => validateInitializer({ className: 'orthogonal', config: { gain: NaN } }, arg)).toThrow(RangeError);
    expect(() => validateInitializer({ className: 'orthogonal', config: { seed: Infinity } }, arg)).toThrow(RangeError);
    expect(() =>
      validateInitializer({ className: 'randomUniform', config: { minval: 1, maxval: -1 } }, arg),
    ).toThrow(RangeError);
  });

  it('initialize rejects bad specs, shapes and seeds', () => {
    expect(() => initialize('nope' as InitializerSpec, [2, 2], 1)).toThrow(TypeError);
    expect(() => initialize('zeros', [2, -1], 1)).toThrow(RangeError);
    expect(() => initialize('zeros', [2, 1.5], 1)).toThrow(RangeError);
    expect(() => initialize('zeros', 'x' as unknown as number[], 1)).toThrow(TypeError);
    expect(() => initialize('glorotUniform', [2, 2], NaN)).toThrow(TypeError);
  });

  it('does not mutate the shape argument', () => {
    const shape = [3, 4];
    initialize('orthogonal', shape, 1);
    expect(shape).toEqual([3, 4]);
  });
});

// ------------------------------------------------------------------ through the layers

describe('layers use the initializers with Keras defaults', () => {
  function weightsOf(layer: { build(s: (number | null)[]): void; getWeights(): { shape: number[]; dataSync(): Float32Array; dispose(): void }[] }, D: number) {
    layer.build([null, null, D]);
    const ws = layer.getWeights();
    const out = ws.map((w) => ({ shape: [...w.shape], v: w.dataSync() }));
    for (const w of ws) w.dispose();
    return out;
  }

  it('lstm: glorotUniform kernel, orthogonal recurrent kernel [H, 4H] (as one matrix), unit forget bias', () => {
    const D = 6;
    const H = 8;
    const [k, r, b] = weightsOf(rk.layers.lstm({ units: H, seed: 5 }), D);
    expect(k.shape).toEqual([D, 4 * H]);
    const limit = Math.sqrt(6 / (D + 4 * H));
    expect(maxAbs(k.v)).toBeLessThanOrEqual(limit);
    expect(maxAbs(k.v)).toBeGreaterThan(0.9 * limit);
    expect(r.shape).toEqual([H, 4 * H]);
    expect(maxDevFromScaledIdentity(gramRows(r.v, H, 4 * H), H, 1)).toBeLessThan(1e-5);
    const want = new Array(4 * H).fill(0);
    for (let j = H; j < 2 * H; j++) want[j] = 1; // Keras unit_forget_bias: f block = 1
    expect(Array.from(b.v)).toEqual(want);
  });

  it('lstm: unitForgetBias false gives a zero bias; biasInitializer ones with unitForgetBias gives ones', () => {
    const [, , b0] = weightsOf(rk.layers.lstm({ units: 3, seed: 1, unitForgetBias: false }), 2);
    expect(Array.from(b0.v)).toEqual(new Array(12).fill(0));
    const [, , b1] = weightsOf(rk.layers.lstm({ units: 3, seed: 1, biasInitializer: 'ones' }), 2);
    expect(Array.from(b1.v)).toEqual(new Array(12).fill(1));
  });

  it('gru: glorotUniform kernel, orthogonal recurrent kernel [H, 3H], zero bias [2, 3H]', () => {
    const D = 5;
    const H = 6;
    const [k, r, b] = weightsOf(rk.layers.gru({ units: H, seed: 9 }), D);
    const limit = Math.sqrt(6 / (D + 3 * H));
    expect(maxAbs(k.v)).toBeLessThanOrEqual(limit);
    expect(maxAbs(k.v)).toBeGreaterThan(0.9 * limit);
    expect(maxDevFromScaledIdentity(gramRows(r.v, H, 3 * H), H, 1)).toBeLessThan(1e-5);
    expect(b.shape).toEqual([2, 3 * H]);
    expect(Array.from(b.v)).toEqual(new Array(6 * H).fill(0));
  });

  it('simpleRNN: square orthogonal recurrent kernel; options pass initializers through', () => {
    const [, r] = weightsOf(rk.layers.simpleRNN({ units: 7, seed: 3 }), 4);
    expect(maxDevFromScaledIdentity(gramRows(r.v, 7, 7), 7, 1)).toBeLessThan(1e-5);
    expect(maxDevFromScaledIdentity(gramColumns(r.v, 7, 7), 7, 1)).toBeLessThan(1e-5);
    const [k2, r2] = weightsOf(
      rk.layers.simpleRNN({
        units: 4,
        seed: 3,
        kernelInitializer: { className: 'constant', config: { value: 0.125 } },
        recurrentInitializer: { className: 'Identity', config: { gain: 0.5 } },
      }),
      3,
    );
    expect(Array.from(k2.v)).toEqual(new Array(12).fill(0.125));
    const eye = new Array(16).fill(0);
    for (let i = 0; i < 4; i++) eye[i * 4 + i] = 0.5;
    expect(Array.from(r2.v)).toEqual(eye);
  });

  it('the layer seed makes weights reproducible; different seeds differ', () => {
    const a = weightsOf(rk.layers.gru({ units: 4, seed: 11 }), 3);
    const b = weightsOf(rk.layers.gru({ units: 4, seed: 11 }), 3);
    const c = weightsOf(rk.layers.gru({ units: 4, seed: 12 }), 3);
    for (let i = 0; i < 2; i++) {
      expect(sameArray(a[i].v, b[i].v)).toBe(true);
      expect(sameArray(a[i].v, c[i].v)).toBe(false);
    }
  });
});
