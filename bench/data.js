'use strict';
/**
 * Benchmark data and arithmetic shared by every implementation: seeded random inputs (so
 * every run and every peer sees the same numbers, never zeros), layout transposes, FLOP
 * counts and the agreement measure.
 */

/** mulberry32: a small seeded 32-bit PRNG, floats in [0, 1) (as test/helpers/random.ts). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform samples in [lo, hi) from a generator seeded with `seed`. */
function uniform(seed, n, lo = -1, hi = 1) {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
  return out;
}

const GATES = { lstm: 4, gru: 3, simpleRNN: 1 };

/** Forward FLOPs of one layer call: 2·T·N·G·H·(D+H) (the two GEMMs; pointwise work ignored). */
function forwardFlops({ N, T, D, H }, cell) {
  return 2 * T * N * GATES[cell] * H * (D + H);
}

/** Batch-first [N,T,C] to time-major [T,N,C] (ONNX's layout). */
function toTimeMajor(x, N, T, C) {
  const out = new Float32Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let t = 0; t < T; t++) {
      out.set(x.subarray((n * T + t) * C, (n * T + t + 1) * C), (t * N + n) * C);
    }
  }
  return out;
}

/** ‖a − b‖ / ‖b‖, with b the reference; Infinity for a length mismatch or a non-finite value. */
function relL2(a, b) {
  if (!a || a.length !== b.length) return Infinity;
  let e = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i] - b[i];
    e += d * d;
    s += b[i] * b[i];
  }
  const r = Math.sqrt(e) / Math.max(Math.sqrt(s), 1e-30);
  return Number.isFinite(r) ? r : Infinity;
}

/** The input and output gradient of one benchmark row, derived from the row's seed. */
function rowData(shape, seed) {
  const { N, T, D, H } = shape;
  return {
    x: uniform(seed, N * T * D),
    dOutput: uniform(seed + 1, N * T * H),
  };
}

function shapeLabel({ N, T, D, H }) {
  return `(${N},${T},${D},${H})`;
}

const CELL_LABEL = { lstm: 'LSTM', gru: 'GRU reset_after', simpleRNN: 'SimpleRNN' };

module.exports = { mulberry32, uniform, forwardFlops, toTimeMajor, relL2, rowData, shapeLabel, CELL_LABEL, GATES };
