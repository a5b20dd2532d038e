/**
 * Seeded pseudo-random numbers for tests (mulberry32), so that every test is
 * reproducible. Never produces all-zero data for non-degenerate ranges.
 */

/** mulberry32: a small, fast 32-bit seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded random source with uniform and normal generators. */
export class Rng {
  private readonly next: () => number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** A float in [0, 1). */
  random(): number {
    return this.next();
  }

  /** A float in [lo, hi). */
  uniform1(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** An integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** A standard normal sample (Box-Muller). */
  normal1(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return mean + std * s;
    }
    let u = 0;
    while (u <= 1e-12) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** n uniform samples in [lo, hi). */
  uniform(n: number, lo = -1, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.next();
    return out;
  }

  /** n normal samples. */
  normal(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal1(mean, std);
    return out;
  }
}

/** n uniform samples in [lo, hi) from a fresh generator seeded with `seed`. */
export function uniformArray(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  return new Rng(seed).uniform(n, lo, hi);
}

/** n normal samples from a fresh generator seeded with `seed`. */
export function normalArray(seed: number, n: number, mean = 0, std = 1): Float32Array {
  return new Rng(seed).normal(n, mean, std);
}
