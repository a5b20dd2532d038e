'use strict';
// Seeded data for the GPU check's scripts (they travel without bench/): mulberry32, as in
// bench/data.js and test/helpers/random.ts, floats in [0, 1); never all zeros.
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

/** n values in [lo, hi) drawn from `next`. */
function uniform(next, n, lo = -1, hi = 1) {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * next();
  return v;
}

module.exports = { mulberry32, uniform };
