'use strict';
/**
 * `node bench/busy-model.js [busy processes] [seconds]`: the service case of issue 11 — a
 * 3-layer bidirectional LSTM (T=50, D=32, H=64, then Dense(8)) predicting one sequence at a
 * time, back to back, while `busy` other processes spin (`node -e "for(;;){}"`, unpinned).
 * Prints predictions per second, the median and the 90th percentile ms per call, and how
 * many times the CPU pool saw a member of a team lose its core. Run it with RNNKIT_ADDON
 * pointing at another build to compare builds; the bench's --contention mode judges the
 * issue's targets on single layers.
 */
const { spawn } = require('child_process');
const rk = require('..');
const { uniform } = require('./data');

function biLstmModel(T, D, H) {
  const input = rk.input({ shape: [T, D] });
  let h = input;
  for (const [seed, returnSequences] of [[1, true], [2, true], [3, false]]) {
    h = rk.layers.bidirectional({ layer: rk.layers.lstm({ units: H, returnSequences, seed }) }).apply(h);
  }
  return rk.model({ inputs: input, outputs: rk.layers.dense({ units: 8, seed: 4 }).apply(h) });
}

function stalledTeams() {
  try {
    return Number(rk.getDeviceOption('cpu', 'stalled_teams'));
  } catch {
    return null; // a build without the counter
  }
}

async function main() {
  const busy = Number(process.argv[2] ?? 1);
  const seconds = Number(process.argv[3] ?? 3);
  const [T, D, H] = [50, 32, 64];
  const model = biLstmModel(T, D, H);
  const x = rk.tensor(uniform(5, T * D), [1, T, D]);
  const spinners = Array.from({ length: busy }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
  const stop = () => spinners.forEach((s) => s.kill('SIGKILL'));
  process.on('exit', stop);
  try {
    for (let i = 0; i < 20; i++) (await model.predict(x)).dispose();
    const before = stalledTeams();
    const times = [];
    const until = Date.now() + 1000 * seconds;
    while (Date.now() < until) {
      const t0 = process.hrtime.bigint();
      (await model.predict(x)).dispose();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const at = (q) => times[Math.min(times.length - 1, Math.floor(times.length * q))].toFixed(2);
    const stalls = before === null ? 'n/a' : stalledTeams() - before;
    console.log(
      `busy processes ${busy} · threads ${rk.getNumThreads()} · ${(times.length / seconds).toFixed(0)} predictions/s · ` +
        `median ${at(0.5)} ms · p90 ${at(0.9)} ms · teams ended on a stall: ${stalls}`,
    );
  } finally {
    stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
