'use strict';
/**
 * The bench's small C probes (fma-probe.c, latency-probe.c): compiled once per source version
 * into the temp dir with the system C compiler, independent of the code under test.
 */
const { execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

/** The binary of bench/<file>, or null without a C compiler. */
function compileProbe(file) {
  const source = path.join(__dirname, file);
  const hash = crypto.createHash('sha1').update(fs.readFileSync(source)).digest('hex').slice(0, 12);
  const bin = path.join(os.tmpdir(), `rnnkit-${path.basename(file, '.c')}-${hash}`);
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

/** Mean core-to-core round trip in ns between two threads right now, or null. */
function measureCoreRoundTripNs() {
  const bin = compileProbe('latency-probe.c');
  if (!bin) return null;
  try {
    const ns = Number(execFileSync(bin, ['20000'], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return Number.isFinite(ns) ? ns : null;
  } catch {
    return null;
  }
}

module.exports = { compileProbe, measureCoreRoundTripNs };
