'use strict';
// Seeded data for the GPU check's scripts: the bench's mulberry32 (floats in [0, 1)), so
// never all zeros.
const { mulberry32 } = require('../../bench/data.js');

/** n values in [lo, hi) drawn from `next`. */
function uniform(next, n, lo = -1, hi = 1) {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * next();
  return v;
}

module.exports = { mulberry32, uniform };
