'use strict';
/**
 * Timing: warm-up, then repeated runs within a time budget, reported as median and min.
 * The budget caps slow peers (tfjs cpu takes seconds per call on the large shapes) while
 * fast implementations get many repetitions, so the whole run stays within minutes.
 */

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times `fn` (async, one call = one benchmark operation). `firstMs` is the duration of the
 * call the caller already made to check the output: it is the first warm-up, and when it
 * took longer than `t.reuseFirstMs` it is the only sample (a multi-second call has nothing
 * left to warm up, and repeating it would cost the run minutes).
 * @param {() => Promise<void>} fn
 * @param {number} firstMs
 * @param {{warmupMs:number, budgetMs:number, maxReps:number, reuseFirstMs:number}} t
 * @returns {Promise<{medianMs:number, minMs:number, meanMs:number, p90Ms:number, reps:number, samples:number[], firstRunOnly:boolean}>}
 */
async function measure(fn, firstMs, t) {
  if (firstMs > t.reuseFirstMs) {
    return { ...summary([firstMs]), reps: 1, samples: [firstMs], firstRunOnly: true };
  }
  // Warm-up: caches, page faults, JIT and thread pools settle; skipped when one call
  // already exceeds the warm-up time (the check call was warm-up enough).
  if (firstMs < t.warmupMs) {
    const end = performance.now() + t.warmupMs;
    do await fn();
    while (performance.now() < end);
  }
  const samples = [];
  const start = performance.now();
  while (samples.length < t.maxReps) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
    // At least one run; a slow call simply exhausts the budget after it.
    if (performance.now() - start >= t.budgetMs) break;
  }
  return { ...summary(samples), reps: samples.length, samples, firstRunOnly: false };
}

/**
 * Median, min, mean (the total time over the calls: what throughput sees, tail included) and
 * 90th percentile of per-call times.
 */
function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    medianMs: median(samples),
    minMs: sorted[0],
    meanMs: samples.reduce((a, b) => a + b, 0) / samples.length,
    p90Ms: sorted[Math.min(sorted.length - 1, Math.floor(0.9 * sorted.length))],
  };
}

/** Runs `fn` once and returns [result, ms]. */
async function timeOnce(fn) {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

module.exports = { median, measure, timeOnce };
