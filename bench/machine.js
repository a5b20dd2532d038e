'use strict';
/**
 * The machine the numbers come from, and whether it was quiet while they were taken.
 * On a 2-core machine one busy foreign process (a compiler, a test run) halves what two
 * threads can do and ruins every 2-thread figure, the FMA peak included; so every
 * measurement records how many cores other processes kept busy meanwhile (Linux:
 * /proc/stat busy time minus this process's own CPU time), and the report flags it.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');

function cpuInfo() {
  let text = '';
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: os.cpus() has the model name
  }
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1] ?? os.cpus()[0]?.model ?? 'unknown CPU';
  const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(text)?.[1] ?? '').split(/\s+/));
  return { model, isaFlags: ['avx2', 'fma', 'avx512f'].filter((f) => flags.has(f)) };
}

/** The static description: CPU, cores, platform, versions (the caller adds library versions). */
function describe() {
  const { model, isaFlags } = cpuInfo();
  return {
    cpu: model,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    isaFlags,
    platform: `${process.platform}-${process.arch}`,
    node: process.versions.node,
  };
}

let clockTicks = null;
function ticksPerSecond() {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Busy CPU seconds of the whole machine and of this process, and the wall clock. */
function snapshot() {
  let busy = NaN;
  try {
    const [user, nice, system, , , irq, softirq] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    busy = (user + nice + system + irq + softirq) / ticksPerSecond();
  } catch {
    // not Linux: no contention figure
  }
  const own = process.cpuUsage();
  return { busy, own: (own.user + own.system) / 1e6, wall: performance.now() / 1000 };
}

/**
 * Cores kept busy by other processes between two snapshots (NaN where unknown), not
 * counting `childSeconds` of CPU time used by our own child processes. Jiffies are 10 ms,
 * so short intervals are rounded; only sustained load shows.
 */
function foreignCores(a, b, childSeconds = 0) {
  const wall = b.wall - a.wall;
  if (!(wall > 0) || Number.isNaN(a.busy)) return NaN;
  return Math.max(0, b.busy - a.busy - (b.own - a.own) - childSeconds) / wall;
}

/**
 * Runs `fn` and returns its result with the foreign load meanwhile.
 * @param childSeconds (result) => CPU seconds our child processes used, if any
 */
async function watchLoad(fn, childSeconds = () => 0) {
  const a = snapshot();
  const result = await fn();
  return { result, foreignCores: foreignCores(a, snapshot(), childSeconds(result)) };
}

/** Above this many foreign cores a measurement is flagged as taken on a busy machine. */
const BUSY_CORES = 0.25;

module.exports = { describe, snapshot, foreignCores, watchLoad, BUSY_CORES };
