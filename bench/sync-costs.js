'use strict';
/**
 * How long rnnkit's synchronous calls hold the JavaScript thread on large data, for the
 * README's table of synchronous calls: `node bench/sync-costs.js` (after npm run build).
 * Each figure is the best of `--repeat` runs (default 3) of the call alone, in ms.
 */
const os = require('os');
const { performance } = require('perf_hooks');
const rk = require('../dist');

const repeat = Number((process.argv.find((a) => a.startsWith('--repeat=')) ?? '--repeat=3').split('=')[1]);

/** Best wall time of `body` over `repeat` runs; `setup` (untimed) gives its argument. */
async function best(body, setup = () => undefined, teardown = () => {}) {
  let min = Infinity;
  for (let i = 0; i < repeat; i++) {
    const arg = await setup();
    const t0 = performance.now();
    const out = body(arg);
    min = Math.min(min, performance.now() - t0);
    await teardown(arg, out);
  }
  return min;
}

async function main() {
  const cpu = os.cpus();
  console.log(`# ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, load ${os.loadavg()[0].toFixed(1)}, node ${process.version}`);
  const rows = [];
  const D = 128;
  for (const H of [512, 1024, 2048]) {
    const layer = () => rk.layers.lstm({ units: H, seed: 1 });
    const build = await best((l) => l.build([null, null, D]), layer, (l) => l.dispose());
    rows.push([`lstm({ units: ${H} }).build([null, null, ${D}])`, build, 'returns at once; weights generated on a worker']);
    const getNow = await best(
      (l) => l.getWeights(),
      () => {
        const l = layer();
        l.build([null, null, D]);
        return l;
      },
      (l, ws) => {
        ws.forEach((t) => t.dispose());
        l.dispose();
      },
    );
    rows.push([`getWeights() right after that build (LSTM ${H})`, getNow, 'waits for the initialization']);
    const getReady = await best(
      (l) => l.getWeights(),
      async () => {
        const l = layer();
        l.build([null, null, D]);
        await l.weightsReady();
        return l;
      },
      (l, ws) => {
        ws.forEach((t) => t.dispose());
        l.dispose();
      },
    );
    rows.push([`getWeights() once initialized (LSTM ${H})`, getReady, 'layout conversion and copies']);
    if (H === 2048) {
      const l = layer();
      l.build([null, null, D]);
      const values = l.getWeights().map((t) => {
        const v = t.dataSync();
        t.dispose();
        return v;
      });
      rows.push([`setWeights(Float32Array[]) (LSTM ${H}, D ${D})`, await best(() => l.setWeights(values)), 'conversion, copy, GEMM packing']);
      l.dispose();
    }
  }
  for (const [shape, note] of [
    [[2048, 2048], 'QR of 2048 × 2048'],
    [[1024, 4096], 'QR of 4096 × 1024 (LSTM-1024 recurrent kernel)'],
    [[768, 3072], 'QR of 3072 × 768 (LSTM-768)'],
  ]) {
    rows.push([`rk.initialize('orthogonal', [${shape}])`, await best(() => rk.initialize('orthogonal', shape, 1)), note]);
  }
  rows.push([`rk.initialize('glorotUniform', [4096, 4096])`, await best(() => rk.initialize('glorotUniform', [4096, 4096], 1)), '16M uniform draws']);
  const big = new Float32Array(64 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big[i] = i;
  rows.push(['rk.tensor(Float32Array of 256 MB)', await best(() => rk.tensor(big), undefined, (_, t) => t.dispose()), 'copies']);
  const t = rk.tensor(big);
  rows.push(['tensor.dataSync() of 256 MB', await best(() => t.dataSync()), 'copy to host']);
  t.dispose();

  console.log('| call | JS thread (ms) | note |');
  console.log('|---|---:|---|');
  for (const [call, ms, note] of rows) console.log(`| \`${call}\` | ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} | ${note} |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
