'use strict';
/**
 * Peak resident memory per benchmark, in one process. process.resourceUsage().maxRSS only
 * ever grows, so on Linux the kernel's high-water mark (VmHWM) is reset to the current RSS
 * before each benchmark (writing 5 to /proc/self/clear_refs) and read after it. Elsewhere
 * the process-wide maxRSS so far is reported, and said so. Garbage is collected before each
 * benchmark so that one benchmark's leftovers do not count against the next.
 */
const fs = require('fs');
const v8 = require('v8');
const vm = require('vm');

// `node bench/run.js` has no --expose-gc; the flag can still be set at run time.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

function readStatusKb(field) {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function canResetPeak() {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return Number.isFinite(readStatusKb('VmHWM'));
  } catch {
    return false;
  }
}

const resettable = canResetPeak();

const METHOD = resettable
  ? 'per benchmark (create, check, time, dispose): the kernel peak-RSS mark (VmHWM) is reset before each benchmark (/proc/self/clear_refs) and read after it; Δ = peak − RSS at its start. All libraries are loaded and initialised first, so they count in the peak, not in Δ'
  : 'process-wide: process.resourceUsage().maxRSS so far (cannot be reset on this OS); Δ = peak − RSS at the start of the benchmark';

const MB = 1024 * 1024;

/**
 * Runs `fn` and returns its result with the peak RSS (MB) seen while it ran.
 * @template R
 * @param {() => Promise<R>} fn
 * @returns {Promise<{result: R, peakMB: number, deltaMB: number}>}
 */
async function track(fn) {
  gc();
  const startBytes = process.memoryUsage.rss();
  if (resettable) fs.writeFileSync('/proc/self/clear_refs', '5');
  const result = await fn();
  const peakBytes = resettable ? readStatusKb('VmHWM') * 1024 : process.resourceUsage().maxRSS * 1024;
  return { result, peakMB: peakBytes / MB, deltaMB: Math.max(0, peakBytes - startBytes) / MB };
}

module.exports = { track, gc, METHOD };
