/**
 * Data stays on the device (issue 9, item 5): on the emulated CUDA device, predict, fit
 * (shuffled batches), backward and optimizer steps make no device-to-host copies (the CUDA
 * plugin counts them: the read-only device option "host_copies"); the documented scalars
 * (loss, global norm, accuracy counts) come back through their own entries, not `copy`.
 * Also tensor.to / model.to / layer.to round trips, loadModel onto the current backend,
 * Keras/PyTorch/ONNX layouts made on the device against the host conversion, and mixing
 * devices rejected.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { native } from '../lib/native';
import { Rng } from './helpers/random';

const plugin = 'build-cuda/rnnkit_cuda_emu.so';
// The registry reads this on first use (not at import), so setting it here is enough.
if (existsSync(plugin)) process.env.RNNKIT_CUDA_PLUGIN = plugin;

const hostCopies = (): number => Number(native.deviceOption('cuda', 'host_copies'));

function random(rng: Rng, shape: number[], device: 'cpu' | 'cuda'): rk.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return rk.tensor(Float32Array.from({ length: n }, () => rng.uniform1(-1, 1)), shape, { device });
}

function expectClose(got: Float32Array, want: Float32Array, tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** An LSTM -> GRU -> dense model built on the current backend, seeded. */
function makeModel(): rk.Sequential {
  return rk.sequential([
    rk.layers.lstm({ units: 6, returnSequences: true, inputShape: [5, 4], seed: 11 }),
    rk.layers.gru({ units: 5, seed: 12 }),
    rk.layers.dense({ units: 3, seed: 13 }),
  ]);
}

describe.skipIf(!existsSync(plugin))('data stays on the device (emulated CUDA)', () => {
  beforeAll(() => {
    const cuda = rk.backends().find((b) => b.name === 'cuda');
    expect(cuda?.available, cuda?.reason).toBe(true);
  });
  afterAll(() => rk.setBackend('cpu'));

  it('the plugin counts device-to-host copies, and dataSync is one', () => {
    const t = rk.tensor([1, 2, 3], [3], { device: 'cuda' });
    const before = hostCopies();
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    expect(hostCopies()).toBe(before + 1);
    expect(() => native.deviceOption('cuda', 'no_such_option')).toThrow(TypeError);
  });

  it('setDeviceOption / getDeviceOption: cuda math is fp32 by default, tf32 on request; bad names and values are coded errors', async () => {
    expect(rk.getDeviceOption('cuda', 'math')).toBe('fp32');
    rk.setDeviceOption('cuda', 'math', 'tf32');
    expect(rk.getDeviceOption('cuda', 'math')).toBe('tf32');
    rk.setDeviceOption('cuda', 'math', 'fp32');
    expect(rk.getDeviceOption('cuda', 'math')).toBe('fp32');
    const bad = (() => {
      try {
        rk.setDeviceOption('cuda', 'math', 'fp16');
      } catch (e) {
        return e as Error & { code?: string };
      }
      return null;
    })();
    expect(bad).toBeInstanceOf(TypeError);
    expect(bad?.code).toBe('RNNKIT_INVALID_ARGUMENT');
    expect(bad?.message).toMatch(/'fp32' or 'tf32'/);
    expect(() => rk.setDeviceOption('cuda', 'host_copies', '0')).toThrow(/no settable option/);
    expect(() => rk.getDeviceOption('gpu' as never, 'math')).toThrow(TypeError);
    expect(rk.getDeviceOption('cpu', 'threads')).toBe(String(rk.getNumThreads()));
  });

  it('predict slices batches and joins outputs on the device: no host copies', async () => {
    rk.setBackend('cuda');
    const model = makeModel();
    const x = random(new Rng(1), [11, 5, 4], 'cuda');
    await model.predict(x, { batchSize: 100 }); // builds the weights first
    const before = hostCopies();
    const batched = await model.predict(x, { batchSize: 3 }); // 4 batches, the last of 2
    expect(hostCopies()).toBe(before);
    expect(batched.device).toBe('cuda');
    expect(batched.shape).toEqual([11, 3]);
    // Against one unsliced batch, and against the same model moved to the CPU.
    const whole = await model.predict(x, { batchSize: 100 });
    expectClose(batched.dataSync(), whole.dataSync(), 0);
    model.to('cpu');
    const xc = x.to('cpu');
    expectClose((await model.predict(xc, { batchSize: 4 })).dataSync(), whole.dataSync());
    model.dispose();
  });

  it('fit (shuffled batches, adam, clipnorm, accuracy) and evaluate: only the documented scalars', async () => {
    rk.setBackend('cuda');
    const rng = new Rng(2);
    const model = makeModel();
    model.compile({ loss: 'categoricalCrossentropy', optimizer: rk.optimizers.adam({ learningRate: 0.01, globalClipnorm: 1 }), metrics: ['accuracy'], fromLogits: true });
    const x = random(rng, [13, 5, 4], 'cuda');
    const labels = Float32Array.from({ length: 13 * 3 }, (_, i) => (i % 3 === (Math.floor(i / 3) * 7) % 3 ? 1 : 0));
    const y = rk.tensor(labels, [13, 3], { device: 'cuda' });
    await model.predict(x); // builds
    const cpuTwin = makeModel();
    cpuTwin.compile({ loss: 'categoricalCrossentropy', optimizer: rk.optimizers.adam({ learningRate: 0.01, globalClipnorm: 1 }), metrics: ['accuracy'], fromLogits: true });
    await cpuTwin.predict(x); // same seeds: same initial weights (on cuda for now)
    cpuTwin.to('cpu');

    const before = hostCopies();
    const h = await model.fit(x, y, { epochs: 2, batchSize: 4, shuffle: true, seed: 5, validationSplit: 0.2, verbose: 0 });
    const loss = await model.evaluate(x, y, { batchSize: 5 });
    expect(hostCopies()).toBe(before);

    // The same training on the CPU gives the same history (the batches are the same rows).
    const hc = await cpuTwin.fit(x.to('cpu'), y.to('cpu'), { epochs: 2, batchSize: 4, shuffle: true, seed: 5, validationSplit: 0.2, verbose: 0 });
    expectClose(Float32Array.from(h.history.loss), Float32Array.from(hc.history.loss), 1e-4);
    expectClose(Float32Array.from(h.history.val_loss!), Float32Array.from(hc.history.val_loss!), 1e-4);
    expect(h.history.acc).toEqual(hc.history.acc);
    expect(loss).toBeCloseTo(await cpuTwin.evaluate(x.to('cpu'), y.to('cpu'), { batchSize: 5 }), 4);
    expect(h.history.loss.every(Number.isFinite)).toBe(true);
    model.dispose();
    cpuTwin.dispose();
  });

  it('layer.backward gives Keras-layout gradients and an optimizer step updates weights without host copies', async () => {
    rk.setBackend('cuda');
    const rng = new Rng(3);
    for (const layer of [
      rk.layers.lstm({ units: 4, seed: 21, returnSequences: true }),
      rk.layers.gru({ units: 3, seed: 22, resetAfter: false }),
      rk.layers.gru({ units: 3, seed: 23 }),
      rk.layers.simpleRNN({ units: 5, seed: 24 }),
    ]) {
      const x = random(rng, [3, 4, 2], 'cuda');
      const fwd0 = await layer.forward(x); // builds
      fwd0.output.dispose();
      const before = hostCopies();
      const fwd = await layer.forward(x, { training: true });
      const g = await layer.backward(fwd, { dOutput: random(rng, fwd.output.shape, 'cuda') });
      const opt = rk.optimizers.sgd({ learningRate: 0.1, momentum: 0.9 });
      const weights = layer.trainableWeights();
      opt.applyGradients(weights, layer.trainableWeights().map((w) => random(rng, w.shape, 'cuda')));
      layer.weightsUpdated();
      expect(hostCopies()).toBe(before);
      expect(g.dWeights.map((t) => t.shape)).toEqual(layer.getWeights().map((t) => t.shape));
      expect(g.dWeights.every((t) => t.device === 'cuda')).toBe(true);
      fwd.dispose();
      layer.dispose();
    }
  });

  it('weights in every format made on the device equal the host conversion', async () => {
    for (const device of ['cpu', 'cuda'] as const) {
      rk.setBackend(device);
      for (const layer of [
        rk.layers.lstm({ units: 3, seed: 31, biasInitializer: 'glorotUniform' }),
        rk.layers.gru({ units: 4, seed: 32, biasInitializer: 'glorotUniform' }),
        rk.layers.gru({ units: 2, seed: 33, resetAfter: false, biasInitializer: 'glorotUniform' }),
        rk.layers.simpleRNN({ units: 3, seed: 34, biasInitializer: 'glorotUniform' }),
        rk.layers.lstm({ units: 2, seed: 35, useBias: false }),
      ]) {
        layer.build([null, null, 5]);
        // Internal access: the canonical tensors and the layer's description.
        const internal = layer as unknown as { params: rk.Tensor[]; desc(): Parameters<typeof native.canonicalToFormat>[0] };
        const params = internal.params;
        // Distinct bias vectors, so that a sum or a swapped bias would show.
        if (params.length === 4) expect(Array.from(params[2]!.dataSync())).not.toEqual(Array.from(params[3]!.dataSync()));
        for (const format of ['keras', 'pytorch', 'onnx'] as const) {
          for (const gradients of [false, true]) {
            const got = native.canonicalToFormat(internal.desc(), format, params.map((p) => p.handle), gradients);
            const host = params.map((p) => p.dataSync());
            // The host conversion; a gradient of a single Keras bias is bias_r's alone.
            const single = format === 'keras' && host.length === 4 && got.length === 3 && got[2]!.shape.length === 1;
            if (gradients && single) host[2] = new Float32Array(host[2]!.length);
            const want = native.weightsFromCanonical(internal.desc(), format, host);
            expect(got.map((t) => t.device)).toEqual(got.map(() => device));
            got.forEach((t, i) => expectClose(t.read(), want[i]!, 0));
            for (const t of got) t.dispose();
          }
        }
        layer.dispose();
      }
    }
  });

  it('tensor.to copies between devices and within one; mixing devices is rejected', async () => {
    const rng = new Rng(4);
    const a = random(rng, [2, 3], 'cpu');
    const b = a.to('cuda');
    expect(b.device).toBe('cuda');
    expect(b.shape).toEqual([2, 3]);
    const c = b.to('cpu');
    expect(c.device).toBe('cpu');
    expect(Array.from(c.dataSync())).toEqual(Array.from(a.dataSync()));
    const same = b.to('cuda');
    expect(same).not.toBe(b); // always a copy: each is disposed on its own
    same.dispose();
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(() => a.to('tpu' as 'cpu')).toThrow(expect.objectContaining({ name: 'TypeError', code: 'RNNKIT_INVALID_ARGUMENT' }));
    expect(() => rk.tensor([1], [1], { device: 'gpu' as 'cpu' })).toThrow(TypeError);
    b.dispose();
    expect(() => b.to('cpu')).toThrow(expect.objectContaining({ code: 'RNNKIT_DISPOSED' }));

    rk.setBackend('cpu');
    const model = makeModel();
    await model.predict(random(rng, [2, 5, 4], 'cpu'));
    model.to('cuda');
    await expect(model.predict(random(rng, [2, 5, 4], 'cpu'))).rejects.toMatchObject({ name: 'TypeError', code: 'RNNKIT_INVALID_ARGUMENT' });
    expect(() => model.to('tpu' as 'cpu')).toThrow(TypeError);
    model.dispose();
  });

  it('model.to and layer.to move weights and carried states; round trips keep the values', async () => {
    rk.setBackend('cpu');
    const rng = new Rng(5);
    const model = makeModel();
    const x = random(rng, [4, 5, 4], 'cpu');
    const y0 = (await model.predict(x)).dataSync();
    const w0 = model.getWeights().map((w) => w.dataSync());
    model.to('cuda');
    expect(model.getWeights().every((w) => w.device === 'cuda')).toBe(true);
    expectClose((await model.predict(x.to('cuda'))).dataSync(), y0);
    model.to('cpu');
    expect(model.getWeights().every((w) => w.device === 'cpu')).toBe(true);
    model.getWeights().forEach((w, i) => expectClose(w.dataSync(), w0[i]!, 0));
    expectClose((await model.predict(x)).dataSync(), y0, 0);
    model.dispose();

    // A stateful layer's carried state moves with it.
    const layer = rk.layers.lstm({ units: 3, stateful: true, seed: 41 });
    const first = await layer.forward(x);
    const second = await layer.forward(x); // starts from the carried state
    const want = second.output.dataSync();
    layer.resetStates();
    await layer.forward(x);
    layer.to('cuda');
    const moved = await layer.forward(x.to('cuda'));
    expect(moved.output.device).toBe('cuda');
    expectClose(moved.output.dataSync(), want);
    for (const f of [first, second, moved]) f.dispose();
    layer.dispose();
  });

  it('loadModel creates the weights on the current backend', async () => {
    rk.setBackend('cpu');
    const rng = new Rng(6);
    const model = makeModel();
    const x = random(rng, [3, 5, 4], 'cpu');
    const want = (await model.predict(x)).dataSync();
    const dir = mkdtempSync(path.join(tmpdir(), 'rnnkit-ondevice-'));
    try {
      await model.save(dir);
      rk.setBackend('cuda');
      const loaded = await rk.loadModel(dir);
      expect(loaded.getWeights().every((w) => w.device === 'cuda')).toBe(true);
      expectClose((await loaded.predict(x.to('cuda'))).dataSync(), want);
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });
});
