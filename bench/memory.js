'use strict';
/**
 * Peak resident memory per benchmark. Each benchmark runs in its own child process
 * (bench/isolate.js), so its peak is simply the child's high-water mark: node, the one
 * library under test, the data and the benchmark, nothing of the other libraries.
 * On Linux that is VmHWM (/proc/self/status), not process.resourceUsage().maxRSS: the
 * kernel carries maxRSS over fork and exec, so a child's maxRSS starts at the parent's peak.
 */
const fs = require('fs');

function vmHwmBytes() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN; // not Linux
  }
}

const HAS_HWM = Number.isFinite(vmHwmBytes());

const METHOD = `per benchmark, each in a fresh child process holding only its own library: peak = the child's peak RSS (${HAS_HWM ? 'VmHWM' : "process.resourceUsage().maxRSS, which on this OS may include the parent's peak"}: node + that library + the data + the benchmark); Δ = peak − RSS after the library was loaded and warmed up on a tiny job, before the benchmark started`;

const MB = 1024 * 1024;

/**
 * Runs `fn` (the benchmark) and returns its result with the process's peak RSS (MB) and
 * the growth over the RSS at its start.
 * @template R
 * @param {() => Promise<R>} fn
 * @returns {Promise<{result: R, peakMB: number, deltaMB: number}>}
 */
async function track(fn) {
  globalThis.gc?.(); // the warm-up's garbage is not the benchmark's
  const startBytes = process.memoryUsage.rss();
  const result = await fn();
  const peakBytes = HAS_HWM ? vmHwmBytes() : process.resourceUsage().maxRSS * 1024; // maxRSS is in kB
  return { result, peakMB: peakBytes / MB, deltaMB: Math.max(0, peakBytes - startBytes) / MB };
}

module.exports = { track, METHOD };
