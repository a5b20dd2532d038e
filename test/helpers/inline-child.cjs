// Child process of test/runtime.test.ts: times a one-step forward pass while every thread of
// libuv's pool is held by pbkdf2 calls, and prints one JSON line. A pass queued to the pool
// waits for a free thread; one run on the JavaScript thread does not.
const crypto = require('node:crypto');
const path = require('node:path');
const rk = require(path.resolve(__dirname, '../../dist'));

const poolSize = Number(process.env.UV_THREADPOOL_SIZE || 4);
const iterations = Number(process.argv[2]);

async function main() {
  const layer = rk.layers.lstm({ units: 8, seed: 1 });
  const x = rk.tensor(Float32Array.from({ length: 3 * 4 }, (_, i) => Math.sin(i + 1)), [1, 3, 4]);
  (await layer.forward(x)).output.dispose(); // waits for the weights' initialization
  const start = performance.now();
  let firstBusyDone = Infinity;
  const busy = Array.from(
    { length: poolSize },
    () => new Promise((resolve) => crypto.pbkdf2('key', 'salt', iterations, 32, 'sha512', () => {
      firstBusyDone = Math.min(firstBusyDone, performance.now() - start);
      resolve();
    })),
  );
  const fwd = await layer.forward(x);
  const forwardDone = performance.now() - start;
  await Promise.all(busy);
  return { forwardMs: forwardDone, firstBusyMs: firstBusyDone, output: Array.from(fwd.output.dataSync()) };
}

main().then(
  (out) => console.log(JSON.stringify(out)),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
