'use strict';
/**
 * Derived figures per instruction set (rnnkit's best time, GFLOP/s, % of that ISA's peak,
 * ratios to the peers) and the targets of issue 11, judged per row and per ISA: PASS, MISS
 * (with the measured figure and what limits it), FAIL (an output disagreed, so the time is
 * not a result) or n/a (not measurable in this run). Every target holds for every ISA: the
 * AVX2 kernels (forced with RNNKIT_ISA=avx2 on an AVX-512 machine) against the AVX2 peak,
 * the AVX-512 kernels against the AVX-512 peak.
 */

const { BUSY_CORES } = require('./machine');
const { rnnkitKey, isComputeBound, isLatency, recurrentBytes, cacheReadBytes } = require('./plan');

const ok = (r) => r && r.status === 'ok';
const busy = (r) => r?.foreignCores > BUSY_CORES;

/** `isa`'s peak per thread count (GFLOP/s); results files from before the ISA split have one peak. */
const peakOf = (peaks, isa) => peaks.byIsa?.[isa] ?? peaks.peak ?? {};

/**
 * Whether `isa`'s peak can be trusted: probed on a quiet machine, and two threads reaching
 * well over one thread's figure (else the threads shared a core or were crowded out).
 */
function peakTrustworthy(peaks, isa) {
  const p = peakOf(peaks, isa);
  return !(peaks.foreignCores > BUSY_CORES) && !(p[1] && p[2] && p[2] < 1.6 * p[1]);
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
 * rnnkit with `isa` against onnxruntime-node round by round: in each round, ORT's faster
 * thread count over rnnkit's, both measured within seconds of each other; `x` is the median
 * over the rounds, `pair` the round below or at the middle (for what a miss would take).
 * The host moves a virtual machine's cores for minutes at a time: the best round of each,
 * taken apart, compared one implementation's luckiest placement with whatever the other got.
 * null where a result lacks round medians or the rounds differ in number.
 */
function pairedOrt(row, isa) {
  const rk = [rnnkitKey(isa, 1), rnnkitKey(isa, 2)].map((k) => row.results[k]).filter(ok);
  const ort = ['ort-1t', 'ort-2t'].map((k) => row.results[k]).filter(ok);
  if (!rk.length || !ort.length) return null;
  const n = rk[0].roundMedians?.length ?? 0;
  if (n === 0 || [...rk, ...ort].some((r) => r.roundMedians?.length !== n)) return null;
  const fastest = (results, i) => Math.min(...results.map((r) => r.roundMedians[i]));
  const rounds = Array.from({ length: n }, (_, i) => ({ rk: fastest(rk, i), ort: fastest(ort, i) }))
    .sort((a, b) => a.ort / a.rk - b.ort / b.rk);
  const ratios = rounds.map((r) => r.ort / r.rk);
  const x = n % 2 ? ratios[(n - 1) / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
  return { x, ratios, pair: rounds[Math.floor((n - 1) / 2)] };
}

/**
 * Everything the tables show about rnnkit with `isa` on a row.
 * @param {object} row a row of benchRows
 * @param {{byIsa: Record<string, Record<number, number|null>>}} peaks
 * @param {string} isa
 */
function derive(row, peaks, isa) {
  const peak = peakOf(peaks, isa);
  const [k1, k2] = [rnnkitKey(isa, 1), rnnkitKey(isa, 2)];
  const rk = best(row, [k1, k2]);
  const r1 = row.results[k1];
  const r2 = row.results[k2];
  // This ISA's results and the peers' (another ISA's disagreement is that ISA's failure).
  const failed = Object.entries(row.results)
    .filter(([k, r]) => r.status === 'FAIL' && (!k.startsWith('rnnkit-') || k === k1 || k === k2))
    .map(([k]) => k);
  const pct = (r, t) => (ok(r) && peak[t] ? (100 * gflops(row.flops, r.medianMs)) / peak[t] : null);
  const ratio = (keys) => {
    const p = peerMs(row, keys);
    return rk && p ? { x: p.ms / rk.ms, predicted: p.predicted } : null;
  };
  return {
    isa,
    rkBest: rk,
    gflops: rk ? gflops(row.flops, rk.ms) : null,
    pctPeak1: pct(r1, 1),
    pctPeak2: pct(r2, 2),
    // The training target judges rnnkit's best setting (normally 2 threads) against the 2-thread peak.
    pctPeakBest: rk && peak[2] ? (100 * gflops(row.flops, rk.ms)) / peak[2] : null,
    speedup12: ok(r1) && ok(r2) ? r1.medianMs / r2.medianMs : null,
    vsOrt: ratio(['ort-1t', 'ort-2t']),
    vsWasm: ratio(['tfjs-wasm']),
    vsCpu: ratio(['tfjs-cpu']),
    failed,
    /** whether rnnkit's best result or the named results were measured while other processes loaded the CPU */
    busy: (...keys) => [rk?.key, ...keys].some((k) => k && busy(row.results[k])),
  };
}

/**
 * One target on one row. `trustworthy` false (a figure measured on a busy machine) keeps
 * the verdict but marks it with '†', so that a PASS or MISS from a crowded run is not
 * taken at face value.
 */
function judge(name, row, d, value, goal, fmt, trustworthy, limit) {
  const base = { target: name, isa: d.isa, row: row.label, mode: row.mode };
  if (d.failed.length) return { ...base, measured: `outputs disagree (${d.failed.join(', ')})`, status: 'FAIL' };
  if (value === null || value === undefined) return { ...base, measured: 'not measured', status: 'n/a' };
  const met = value >= goal;
  const status = (met ? 'PASS' : 'MISS') + (trustworthy ? '' : ' †');
  // A miss that rounds to the goal ("65%" against 65%) is shown with one more digit.
  const measured = !met && fmt(value) === fmt(goal) ? fmt(value, true) : fmt(value);
  return { ...base, measured, value, goal, status, trustworthy, ...(met ? {} : { limit: limit() }) };
}

const pctOf = (row, ms, peak) => (peak ? (100 * gflops(row.flops, ms)) / peak : null);
const fmtPct = (v) => (v === null ? '?' : `${v.toFixed(0)}%`);
/** µs per time step of a call of `ms` on `row`. */
function perStep(row, ms) {
  const us = (1000 * ms) / row.shape.T;
  return us >= 100 ? us.toFixed(0) : us.toPrecision(3);
}

/**
 * What a missed ORT ratio would take, from this run's figures: the time it needs as a share
 * of the ISA's 2-thread FMA peak (next to the share ORT itself reaches). Past 100% the peak
 * itself is the limit; below it, the time per step (a recurrence is a chain of small
 * dependent steps).
 */
function ratioLimit(row, d, goal, peak, cacheReads = [], pair = null) {
  const ortMs = pair ? pair.ort : best(row, ['ort-1t', 'ort-2t']).ms;
  const rkMs = pair ? pair.rk : d.rkBest.ms;
  const needMs = ortMs / goal;
  const needPct = pctOf(row, needMs, peak[2]);
  const { N, H } = row.shape;
  const needs =
    `${pair ? `in the middle round ORT took ${ortMs.toPrecision(3)} ms and rnnkit ${rkMs.toPrecision(3)}: ` : ''}` +
    `needs ≤ ${needMs.toPrecision(3)} ms = ${fmtPct(needPct)} of the ${d.isa} 2-thread peak ` +
    `(rnnkit runs at ${fmtPct(pctOf(row, rkMs, peak[2]))}, ORT at ${fmtPct(pctOf(row, ortMs, peak[2]))})`;
  if (needPct !== null && needPct > 100) return `${needs}: beyond the ${d.isa} FMA peak`;
  return `${needs}; per step: ≤ ${perStep(row, needMs)} µs needed, rnnkit takes ${perStep(row, rkMs)} µs for an N×H = ${N}×${H} step${weightReadLimit(row, cacheReads)}`;
}

/**
 * At N = 1 a step is little more than a read of all the recurrent weights: the least time
 * this CPU's cache takes to deliver them (bench/cache-probe.c, at the thread count that
 * reads them fastest), or '' where it was not measured.
 */
function weightReadLimit(row, cacheReads) {
  if (row.shape.N !== 1) return '';
  const bytes = recurrentBytes(row);
  const fastest = cacheReads
    .filter((r) => r.bytes === cacheReadBytes(row, r.threads))
    .map((r) => ({ ...r, us: (bytes / (r.gbs * 1e9)) * 1e6 }))
    .sort((a, b) => a.us - b.us)[0];
  if (!fastest) return '';
  return `; reading the step's ${(bytes / 1024).toFixed(0)} KB of recurrent weights alone takes ${fastest.us.toPrecision(3)} µs at the ${fastest.gbs.toFixed(0)} GB/s this CPU's cache delivers on ${fastest.threads} thread${fastest.threads > 1 ? 's' : ''} (bench/cache-probe.c)`;
}

/** What a missed 1-thread share of the peak would take: the time per step needed and taken. */
function oneThreadLimit(row, d, goal, peak) {
  const r1 = row.results[rnnkitKey(d.isa, 1)];
  const needMs = (100 * row.flops) / (goal * peak[1] * 1e6);
  const { N, H } = row.shape;
  return `1 thread: ${gflops(row.flops, r1.medianMs).toFixed(0)} of ${peak[1].toFixed(0)} GFLOP/s; needs ≤ ${needMs.toPrecision(3)} ms ` +
    `(${perStep(row, needMs)} µs per N×H = ${N}×${H} step), takes ${r1.medianMs.toPrecision(3)} ms (${perStep(row, r1.medianMs)} µs): the single-thread kernels' efficiency`;
}

/**
 * What holds a missed 2-thread share of the peak down: one thread's share of its peak, and
 * the 1→2-thread speed-up against the one the goal needs at that 1-thread speed.
 */
function twoThreadLimit(row, d, goal, peak, key) {
  const r1 = row.results[rnnkitKey(d.isa, 1)];
  const r = row.results[key];
  const one = d.pctPeak1 === null ? '1 thread not measured' : `1 thread reaches ${d.pctPeak1.toFixed(0)}% of the 1-thread peak`;
  if (!ok(r1) || !ok(r)) return one;
  const speedup = r1.medianMs / r.medianMs;
  const needSpeedup = ((goal / 100) * peak[2]) / gflops(row.flops, r1.medianMs);
  const peakScale = peak[1] && peak[2] ? peak[2] / peak[1] : null;
  const scaling = peakScale === null ? '' : `, where the peak scales ${peakScale.toFixed(2)}x`;
  // 2-thread share = 1-thread share × speed-up / peak scaling: past the peak's own scaling,
  // no speed-up makes up for the single thread.
  const by = peakScale === null ? '' : needSpeedup > peakScale ? ": one thread's efficiency (the goal would need more than the peak's scaling)" : ': the 2-thread scaling';
  return `${one}; 1→2 threads: ${speedup.toFixed(2)}x${scaling}; ${goal}% needs ${needSpeedup.toFixed(2)}x from that 1-thread time${by}`;
}

const times = (v, precise) => `${v.toFixed(precise ? 3 : v < 10 ? 2 : 0)}x`;
const percentOf = (t, key) => (v, precise) => `${v.toFixed(precise ? 1 : 0)}% of ${t}-thread peak${key ? ` (rnnkit ${key.slice(-2)})` : ''}`;

/** The ORT ratio a forward row must reach beyond "never slower" (issue 11's latency shapes), or null. */
function latencyGoal(row) {
  if (!isLatency(row)) return null;
  return row.shape.N === 1 && (row.cell === 'lstm' || row.cell === 'gru') ? 2 : 1.5;
}

/** Issue 11's goals, in % of the ISA's peak. */
const GOALS = { onePeak: 80, twoPeak: 75, trainingPeak: 65, neverSlower: 1.0 };

/** Issue 11's targets for every row with `isa`. */
function targetsOf(rows, peaks, isa) {
  const peak = peakOf(peaks, isa);
  const peakOk = peakTrustworthy(peaks, isa);
  const out = [];
  for (const row of rows) {
    const d = derive(row, peaks, isa);
    const [k1, k2] = [rnnkitKey(isa, 1), rnnkitKey(isa, 2)];
    const ortTrust = !d.busy('ort-1t', 'ort-2t');
    if (row.mode === 'forward') {
      // Judged round by round where every result has its rounds (see pairedOrt).
      const paired = pairedOrt(row, isa);
      const vsOrt = paired ? paired.x : d.vsOrt && !d.vsOrt.predicted ? d.vsOrt.x : null;
      const rounds = paired && paired.ratios.length > 1 ? paired : null;
      const ortTarget = (name, goal) => {
        const t = judge(name, row, d, vsOrt, goal, times, ortTrust,
          () => ratioLimit(row, d, goal, peak, peaks.cacheReads, rounds?.pair ?? null));
        if (!rounds || t.value === undefined) return t;
        const bestRounds = d.vsOrt && !d.vsOrt.predicted ? `; best round against best round ${times(d.vsOrt.x)}` : '';
        return { ...t, measured: `${t.measured}, median of the rounds ${rounds.ratios.map((r) => r.toFixed(2)).join(' · ')}${bestRounds}` };
      };
      const never = GOALS.neverSlower;
      out.push(ortTarget(`forward ≥ ${never.toFixed(1)}x ORT best`, never));
      const goal = latencyGoal(row);
      if (goal) out.push(ortTarget(`forward ≥ ${goal}x ORT best`, goal));
      if (isComputeBound(row)) {
        out.push(judge(`forward 1t ≥ ${GOALS.onePeak}% of 1-thread peak`, row, d, d.pctPeak1, GOALS.onePeak, percentOf(1), peakOk && !busy(row.results[k1]), () => oneThreadLimit(row, d, GOALS.onePeak, peak)));
        out.push(judge(`forward 2t ≥ ${GOALS.twoPeak}% of 2-thread peak`, row, d, d.pctPeak2, GOALS.twoPeak, percentOf(2), peakOk && !busy(row.results[k1]) && !busy(row.results[k2]), () => twoThreadLimit(row, d, GOALS.twoPeak, peak, k2)));
      }
    } else {
      const fmt = (v, precise) => percentOf(2, d.rkBest?.key)(v, precise);
      out.push(judge(`training ≥ ${GOALS.trainingPeak}% of 2-thread peak`, row, d, d.pctPeakBest, GOALS.trainingPeak, fmt, peakOk && !d.busy(k1), () => twoThreadLimit(row, d, GOALS.trainingPeak, peak, d.rkBest.key)));
    }
  }
  return out;
}

/**
 * Issue 11's targets for every row and every ISA in `isas` (grouped by ISA, in that order).
 * @param {object[]} rows rows of benchRows
 * @param {{byIsa: Record<string, Record<number, number|null>>, foreignCores: number}} peaks
 * @param {string[]} isas
 */
function evaluateTargets(rows, peaks, isas) {
  return isas.flatMap((isa) => targetsOf(rows, peaks, isa));
}

module.exports = { derive, evaluateTargets, pairedOrt, peakTrustworthy, peakOf, gflops, latencyGoal, GOALS };
