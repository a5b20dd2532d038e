'use strict';
/**
 * The machine's FP32 FMA peak per instruction set, the yardstick of "% of peak". Two probes:
 *  - bench/fma-probe.c, compiled here with the system C compiler: independent of the code
 *    under test, it measures each ISA the CPU has (AVX-512, AVX2+FMA, portable) at 1 and
 *    2 threads;
 *  - the addon's rk.measureFmaPeak, when the build has it, for each ISA it supports.
 * Issue 11 judges every ISA's kernels against that ISA's own peak (on CPUs with full-width
 * AVX-512 units the AVX-512 peak is twice the AVX2 one), so the peak is kept per ISA: per
 * ISA and thread count, the highest figure of either probe (a probe disturbed by other
 * processes can only read low). The two probes are cross-checked, and a disagreement is
 * reported (a probe that counts wrong would read high).
 */
const { execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

/** Compiles a probe (`name`.c here) once per source version into the temp dir; null without a compiler. */
function probeBinary(name = 'fma-probe') {
  const source = path.join(__dirname, `${name}.c`);
  const hash = crypto.createHash('sha1').update(fs.readFileSync(source)).update(fs.readFileSync(path.join(__dirname, 'probe.h'))).digest('hex').slice(0, 12);
  const bin = path.join(os.tmpdir(), `rnnkit-${name}-${hash}`);
  if (fs.existsSync(bin)) return bin;
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    try {
      execFileSync(cc, ['-O2', '-pthread', '-o', bin, source], { stdio: 'pipe' });
      return bin;
    } catch {
      // try the next compiler
    }
  }
  return null;
}

/** GFLOP/s of the bench probe for `isa` at `threads`, or null when the CPU lacks the ISA. */
function runProbe(bin, threads, isa, seconds) {
  try {
    const out = execFileSync(bin, [String(threads), String(seconds), isa], { encoding: 'utf8', stdio: 'pipe' });
    const [gflops, used, cpuSeconds] = out.trim().split(/\s+/);
    return { gflops: Number(gflops), isa: used, cpuSeconds: Number(cpuSeconds) };
  } catch {
    return null;
  }
}

/** The addon's probe, rk.measureFmaPeak({ threads, isa, seconds }), for each of `isas` it supports. */
function addonProbes(rk, isas, threadCounts, seconds) {
  const out = [];
  const supported = typeof rk.supportedIsas === 'function' ? rk.supportedIsas() : [];
  for (const isa of isas.filter((i) => supported.includes(i))) {
    for (const t of threadCounts) {
      try {
        const gflops = rk.measureFmaPeak({ threads: t, isa, seconds });
        if (Number.isFinite(gflops) && gflops > 0) out.push({ source: 'rk.measureFmaPeak', isa, threads: t, gflops });
      } catch {
        // a build whose probe fails is reported as having none
      }
    }
  }
  return out;
}

/**
 * How fast this CPU reads weights that stay in its cache: bench/cache-probe.c for each of
 * `sizes` ({ threads, bytes }: each thread reads its own `bytes`), as { threads, bytes, gbs }
 * (GB/s of all threads together), and the probe processes' CPU time.
 */
function probeCacheReads(sizes, seconds) {
  const reads = [];
  let cpuSeconds = 0;
  const bin = sizes.length ? probeBinary('cache-probe') : null;
  for (const { threads, bytes } of bin ? sizes : []) {
    try {
      const out = execFileSync(bin, [String(threads), String(bytes), String(seconds)], { encoding: 'utf8', stdio: 'pipe' });
      const [gbs, cpu] = out.trim().split(/\s+/).map(Number);
      cpuSeconds += cpu || 0;
      if (Number.isFinite(gbs) && gbs > 0) reads.push({ threads, bytes, gbs });
    } catch {
      // a size the probe refuses is reported as not measured
    }
  }
  return { reads, cpuSeconds };
}

/**
 * One round of probes: both probes, every ISA of `isas`, every thread count.
 * @param {object} rk the rnnkit module
 * @param {string[]} isas the instruction sets the bench measures rnnkit with
 * @param {number[]} threadCounts
 * @param {boolean} quick shorter probes
 * @param {{threads: number, bytes: number}[]} [cacheSizes] the cache reads to probe too
 * @returns {{probes: object[], cacheReads: object[], childCpuSeconds: number}}
 */
function probePeaks(rk, isas, threadCounts, quick, cacheSizes = []) {
  const probes = [];
  let childCpuSeconds = 0; // the probe processes' CPU time, not to be mistaken for foreign load
  const seconds = quick ? 0.15 : 0.4;
  const cache = probeCacheReads(cacheSizes, seconds);
  childCpuSeconds += cache.cpuSeconds;
  probes.push(...addonProbes(rk, isas, threadCounts, seconds));
  const bin = probeBinary();
  if (bin) {
    for (const isa of isas) {
      for (const t of threadCounts) {
        const r = runProbe(bin, t, isa, seconds);
        // The probe falls back to nothing: a CPU without the ISA exits with an error (null).
        if (!r || r.isa !== isa) continue;
        childCpuSeconds += r.cpuSeconds;
        probes.push({ source: 'bench/fma-probe.c', isa: r.isa, threads: t, gflops: r.gflops });
      }
    }
  }
  return { probes, cacheReads: cache.reads, childCpuSeconds };
}

/**
 * The peak per ISA and thread count from any number of probe rounds: the highest figure of
 * either probe (the host's clock varies from minute to minute on a virtual machine; the
 * highest reading is what the cores can do, and the most demanding yardstick).
 * @param {object[]} probes
 * @param {string[]} isas
 * @param {number[]} threadCounts
 * @param {number} rounds
 * @returns {{byIsa: Record<string, Record<number, number|null>>, peak: Record<number, number|null>,
 *   probes: object[], note: string, warnings: string[]}} byIsa: each ISA's peak; peak: the
 *   best of any ISA (what the hardware can do), for information
 */
function summarizePeaks(probes, isas, threadCounts, rounds) {
  const byIsa = {};
  const peak = {};
  const warnings = [];
  for (const isa of isas) {
    byIsa[isa] = {};
    for (const t of threadCounts) {
      const best = (source) => Math.max(0, ...probes.filter((p) => p.isa === isa && p.threads === t && p.source === source).map((p) => p.gflops));
      const bench = best('bench/fma-probe.c');
      const addon = best('rk.measureFmaPeak');
      byIsa[isa][t] = Math.max(bench, addon) || null;
      if (bench && addon && Math.abs(addon / bench - 1) > 0.15) {
        warnings.push(`rk.measureFmaPeak(${isa}, ${t}t) = ${addon.toFixed(0)} disagrees with the bench probe's ${bench.toFixed(0)} GFLOP/s`);
      }
    }
  }
  for (const t of threadCounts) peak[t] = Math.max(0, ...isas.map((isa) => byIsa[isa][t] ?? 0)) || null;
  const note = probes.length
    ? `peak = the best of both probes per ISA and thread count${rounds > 1 ? ` over ${rounds} probe rounds (before the benchmarks and after each round of them)` : ''}`
    : 'no FMA probe available (no C compiler, no rk.measureFmaPeak): % of peak not reported';
  return { byIsa, peak, probes, note, warnings };
}

/** The best cache read rate per thread count and size over any number of probe rounds. */
function bestCacheReads(reads) {
  const best = new Map();
  for (const r of reads) {
    const key = `${r.threads}/${r.bytes}`;
    if (!best.has(key) || best.get(key).gbs < r.gbs) best.set(key, r);
  }
  return [...best.values()];
}

module.exports = { probePeaks, summarizePeaks, bestCacheReads };
