// Child process of test/stress/contention.stress.ts: the CPU pool's settings are read once
// per process, so each setting runs here. Runs every cell's forward and backward `rounds`
// times, several passes at once, and prints one JSON line: a SHA-1 of every output and
// gradient per case (equal across rounds and settings, or the pool mixed up its work).
const crypto = require('node:crypto');
const path = require('node:path');
const rk = require(path.resolve(__dirname, '../../dist'));

// Deterministic inputs, never zero (as backend-child.cjs).
const wave = (seed, n) => Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + seed));

const CASES = [
  ['lstm', {}, [1, 40, 16, 128]],
  ['gru', { resetAfter: false }, [2, 30, 8, 96]],
  ['gru', {}, [4, 30, 8, 160]],
  ['simpleRNN', {}, [3, 30, 8, 256]],
  ['lstm', {}, [32, 12, 8, 64]],
];

async function runCase([kind, options, [N, T, D, H]]) {
  const layer = rk.layers[kind]({ units: H, returnSequences: true, seed: 11, ...options });
  const x = rk.tensor(wave(N * T * D, N * T * D), [N, T, D]);
  const dOutput = rk.tensor(wave(H + 1, N * T * H), [N, T, H]);
  const fwd = await layer.forward(x, { training: true });
  const g = await layer.backward(fwd, { dOutput });
  const hash = crypto.createHash('sha1');
  for (const t of [fwd.output, g.dInput, ...g.dWeights]) hash.update(Buffer.from(t.dataSync().buffer));
  fwd.dispose();
  layer.dispose();
  return hash.digest('hex');
}

async function main() {
  const rounds = Number(process.argv[2] ?? 3);
  const hashes = CASES.map(() => new Set());
  for (let round = 0; round < rounds; round++) {
    // Two passes at once: the later caller runs without the pool while the first holds it.
    const results = await Promise.all([...CASES, ...CASES].map(runCase));
    results.forEach((h, i) => hashes[i % CASES.length].add(h));
    // Past the pool's running alone after a stall (25 ms, longer after repeated stalls), so
    // that later rounds form teams again.
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return {
    threads: rk.getNumThreads(),
    stalledTeams: Number(rk.getDeviceOption('cpu', 'stalled_teams')),
    crowdedPeriods: Number(rk.getDeviceOption('cpu', 'crowded_periods')),
    hashes: hashes.map((s) => [...s]),
  };
}

main().then(
  (out) => console.log(JSON.stringify(out)),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
