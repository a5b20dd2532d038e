// Child process of test/backends.test.ts: the device registry is per process, so each
// RNNKIT_CUDA_PLUGIN case runs here. Prints one JSON line: what rk.backends() says, what
// setBackend('cuda') did and, when it worked, what ran on the plugin.
const fs = require('node:fs');
const path = require('node:path');
const rk = require(path.resolve(__dirname, '../../dist'));

const plugin = process.env.RNNKIT_CUDA_PLUGIN;
const mapped = () => fs.readFileSync('/proc/self/maps', 'utf8').includes(plugin);

function errorOf(f) {
  try {
    f();
  } catch (e) {
    return { name: e.name, code: e.code, message: e.message };
  }
  return null;
}

async function main() {
  const out = { mappedBeforeUse: mapped() };
  const t0 = process.hrtime.bigint();
  out.backends = rk.backends();
  out.loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  out.setBackendError = errorOf(() => rk.setBackend('cuda'));
  if (out.setBackendError || process.argv[2] !== 'run') return out;

  // The same LSTM on both devices: forward, backward, and the global norm of its gradients.
  const [N, T, D, H] = [3, 5, 4, 6];
  const xs = Float32Array.from({ length: N * T * D }, (_, i) => Math.sin(0.7 * i));
  const dy = Float32Array.from({ length: N * T * H }, (_, i) => Math.cos(0.3 * i));
  const run = async (backend, weights) => {
    rk.setBackend(backend);
    const layer = rk.layers.lstm({ units: H, returnSequences: true, seed: 7 });
    layer.build([null, T, D]);
    if (weights) layer.setWeights(weights);
    const x = rk.tensor(xs, [N, T, D]);
    const fwd = await layer.forward(x, { lengths: [5, 2, 0], training: true });
    const g = await layer.backward(fwd, { dOutput: rk.tensor(dy, [N, T, H]) });
    const clipped = rk.clip.byGlobalNorm(g.dWeights, 0.5);
    // Batches sliced on the device (gather_rows, or the core's row copies): 3 samples by 2.
    const model = rk.sequential([rk.layers.simpleRNN({ units: 2, seed: 3 })]);
    const predicted = Array.from((await model.predict(x, { batchSize: 2 })).dataSync());
    return {
      predicted,
      layer,
      x,
      devices: [x.device, fwd.output.device, g.dInput.device, ...g.dWeights.map((t) => t.device)],
      output: Array.from(fwd.output.dataSync()),
      dInput: Array.from(g.dInput.dataSync()),
      dWeights: g.dWeights.map((t) => Array.from(t.dataSync())),
      norm: clipped.norm,
      weights: layer.getWeights().map((t) => t.dataSync()),
    };
  };
  const cpu = await run('cpu');
  const cuda = await run('cuda', cpu.weights);
  out.cpu = { output: cpu.output, dInput: cpu.dInput, dWeights: cpu.dWeights, norm: cpu.norm, predicted: cpu.predicted };
  out.cuda = { output: cuda.output, dInput: cuda.dInput, dWeights: cuda.dWeights, norm: cuda.norm, predicted: cuda.predicted, devices: cuda.devices };
  out.mappedAfterUse = mapped();
  // Mixing devices in one call: the cuda layer given the cpu tensor, and a global norm over both.
  out.mixForward = await cuda.layer.forward(cpu.x).then(
    () => null,
    (e) => ({ name: e.name, code: e.code, message: e.message }),
  );
  out.mixClip = errorOf(() => rk.clip.byGlobalNorm([cpu.x, cuda.x], 1));
  // A layer of the version 4 entries (convolution) on the plugin: runs, or says the device lacks it.
  rk.setBackend('cuda');
  const conv = rk.layers.conv1d({ filters: 2, kernelSize: 2, seed: 1 });
  const cx = rk.tensor(Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 3], { device: 'cuda' });
  out.conv = await conv.run([cx], { training: false, masks: [null] }).then(
    (p) => ({ shape: p.outputs[0].shape }),
    (e) => ({ name: e.name, code: e.code, message: e.message }),
  );
  return out;
}

main().then(
  (out) => process.stdout.write(JSON.stringify(out) + '\n'),
  (e) => {
    process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
    process.exit(1);
  },
);
