'use strict';
/**
 * Derived figures (rnnkit's best time, GFLOP/s, % of peak, ratios to the peers) and the
 * targets of issue 3, judged per row: PASS, MISS (with the measured figure), FAIL (an
 * output disagreed, so the time is not a result) or n/a (not measurable in this run).
 */

const { BUSY_CORES } = require('./machine');

const ok = (r) => r && r.status === 'ok';
const busy = (r) => r?.foreignCores > BUSY_CORES;

/**
 * Whether the peak can be trusted: probed on a quiet machine, and two threads reaching
 * well over one thread's figure (else the threads shared a core or were crowded out).
 */
function peakTrustworthy(peaks) {
  const [p1, p2] = [peaks.peak[1], peaks.peak[2]];
  return !(peaks.foreignCores > BUSY_CORES) && !(p1 && p2 && p2 < 1.6 * p1);
}

/** The fastest of the ok results among `keys`, as { key, ms }, or null. */
function best(row, keys) {
  const found = keys.filter((k) => ok(row.results[k])).map((k) => ({ key: k, ms: row.results[k].medianMs }));
  return found.sort((a, b) => a.ms - b.ms)[0] ?? null;
}

/** A peer's time for ratios: measured when ok, else its FLOP-scaled prediction. */
function peerMs(row, keys) {
  const b = best(row, keys);
  if (b) return { ms: b.ms, predicted: false };
  const pred = keys.map((k) => row.results[k]?.predictedMs).find((v) => v !== undefined);
  return pred === undefined ? null : { ms: pred, predicted: true };
}

const gflops = (flops, ms) => flops / (ms * 1e6);

/**
 * Everything the table shows about rnnkit on a row.
 * @param {object} row a row of benchRows
 * @param {Record<number, number|null>} peak GFLOP/s per thread count
 */
function derive(row, peak) {
  const rk = best(row, ['rnnkit-1t', 'rnnkit-2t']);
  const r1 = row.results['rnnkit-1t'];
  const r2 = row.results['rnnkit-2t'];
  const failed = Object.entries(row.results).filter(([, r]) => r.status === 'FAIL').map(([k]) => k);
  const pct = (r, t) => (ok(r) && peak[t] ? (100 * gflops(row.flops, r.medianMs)) / peak[t] : null);
  const ratio = (keys) => {
    const p = peerMs(row, keys);
    return rk && p ? { x: p.ms / rk.ms, predicted: p.predicted } : null;
  };
  return {
    rkBest: rk,
    gflops: rk ? gflops(row.flops, rk.ms) : null,
    pctPeak1: pct(r1, 1),
    pctPeak2: pct(r2, 2),
    // The targets judge rnnkit's best setting (normally 2 threads) against the 2-thread peak.
    pctPeakBest: rk && peak[2] ? (100 * gflops(row.flops, rk.ms)) / peak[2] : null,
    speedup12: ok(r1) && ok(r2) ? r1.medianMs / r2.medianMs : null,
    vsOrt: ratio(['ort-1t', 'ort-2t']),
    vsWasm: ratio(['tfjs-wasm']),
    vsCpu: ratio(['tfjs-cpu']),
    failed,
    /** whether the named results were measured while other processes loaded the CPU */
    busy: (...keys) => [rk?.key, ...keys].some((k) => k && busy(row.results[k])),
  };
}

const isLarge = ({ shape: { N, T, D, H } }) => (N === 32 && T === 100 && D === 128 && H === 256) || (N === 64 && T === 50 && D === 256 && H === 512);

/**
 * One target on one row. `trustworthy` false (a figure measured on a busy machine) keeps
 * the verdict but marks it with '†', so that a PASS or MISS from a crowded run is not
 * taken at face value.
 */
function judge(name, row, d, value, goal, fmt, trustworthy, limit) {
  const base = { target: name, row: row.label, mode: row.mode };
  if (d.failed.length) return { ...base, measured: `outputs disagree (${d.failed.join(', ')})`, status: 'FAIL' };
  if (value === null || value === undefined) return { ...base, measured: 'not measured', status: 'n/a' };
  const met = value >= goal;
  const status = (met ? 'PASS' : 'MISS') + (trustworthy ? '' : ' †');
  return { ...base, measured: fmt(value), value, goal, status, trustworthy, ...(met ? {} : { limit: limit() }) };
}

const pctOf = (row, ms, peak) => (peak ? (100 * gflops(row.flops, ms)) / peak : null);
const fmtPct = (v) => (v === null ? '?' : `${v.toFixed(0)}%`);

/**
 * What a missed ORT ratio would take, from this run's figures: the time it needs as a share
 * of the 2-thread FMA peak (next to the share ORT itself reaches). Past 100% the peak itself
 * is the limit; below it, the time per step (a recurrence is a chain of small dependent steps).
 */
function ratioLimit(row, d, goal, peak) {
  const ort = best(row, ['ort-1t', 'ort-2t']);
  const needMs = ort.ms / goal;
  const needPct = pctOf(row, needMs, peak[2]);
  const { N, T, H } = row.shape;
  const needs =
    `needs ≤ ${needMs.toPrecision(3)} ms = ${fmtPct(needPct)} of the 2-thread peak ` +
    `(rnnkit runs at ${fmtPct(pctOf(row, d.rkBest.ms, peak[2]))}, ORT at ${fmtPct(pctOf(row, ort.ms, peak[2]))})`;
  if (needPct !== null && needPct > 100) return `${needs}: beyond the FMA peak`;
  const us = (ms) => ((1000 * ms) / T).toPrecision(3);
  return `${needs}; per step: ≤ ${us(needMs)} µs needed, rnnkit takes ${us(d.rkBest.ms)} µs for an N×H = ${N}×${H} step`;
}

/** What holds a missed share of the peak down: one thread's efficiency and the 2-thread scaling. */
function peakLimit(d) {
  const one = d.pctPeak1 === null ? '?' : `${d.pctPeak1.toFixed(0)}% of the 1-thread peak`;
  const scaling = d.speedup12 === null ? '?' : `${d.speedup12.toFixed(2)}x`;
  return `1 thread reaches ${one}; 1→2 threads: ${scaling}`;
}

const times = (v) => `${v.toFixed(v < 10 ? 2 : 0)}x`;
const percent = (d) => (v) => `${v.toFixed(0)}% of 2-thread peak (rnnkit ${d.rkBest.key.slice(-2)})`;

/**
 * The targets for every row.
 * @param {object[]} rows rows of benchRows
 * @param {{peak: Record<number, number|null>, foreignCores: number}} peaks
 */
function evaluateTargets(rows, peaks) {
  const peakOk = peakTrustworthy(peaks);
  const out = [];
  for (const row of rows) {
    const d = derive(row, peaks.peak);
    if (row.mode === 'forward') {
      const goal = row.shape.N === 1 ? 2 : 1.5;
      const vsOrt = d.vsOrt && !d.vsOrt.predicted ? d.vsOrt.x : null;
      out.push(judge(`forward ≥ ${goal}x ORT best`, row, d, vsOrt, goal, times, !d.busy('ort-1t', 'ort-2t'), () => ratioLimit(row, d, goal, peaks.peak)));
      if (isLarge(row)) out.push(judge('forward ≥ 70% of 2-thread peak', row, d, d.pctPeakBest, 70, percent(d), peakOk && !d.busy(), () => peakLimit(d)));
    } else {
      out.push(judge('training ≥ 60% of 2-thread peak', row, d, d.pctPeakBest, 60, percent(d), peakOk && !d.busy(), () => peakLimit(d)));
      const vsCpu = d.vsCpu && !d.vsCpu.predicted ? d.vsCpu.x : null;
      out.push(judge('training ≥ 200x tfjs cpu', row, d, vsCpu, 200, times, !d.busy('tfjs-cpu'), () => 'tfjs cpu was not measured on this row'));
    }
  }
  return out;
}

module.exports = { derive, evaluateTargets, peakTrustworthy, gflops };
