/**
 * rk.layers.conv1d against a float64 reference written here (forward), central finite
 * differences of that reference and TensorFlow.js (tf.layers.conv1d forward, tf.grads of
 * tf.conv1d for the backward pass), over every padding × strides × dilation combination
 * Keras allows; unknown steps, masks, the config round trip and errors.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { layerFromConfig } from '../lib/layers/registry';
import { StepMask } from '../lib/mask';
import { expectClose } from './helpers/compare';
import { Rng } from './helpers/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

type Padding = 'valid' | 'same' | 'causal';

interface Geometry {
  N: number;
  T: number;
  C: number;
  K: number;
  F: number;
  stride: number;
  dilation: number;
  padding: Padding;
}

function act64(name: rk.Conv1DActivation, row: Float64Array): Float64Array {
  if (name === 'softmax') {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  }
  return row.map((x) => {
    switch (name) {
      case 'relu': return Math.max(0, x);
      case 'tanh': return Math.tanh(x);
      case 'sigmoid': return 1 / (1 + Math.exp(-x));
      case 'hardSigmoid': return Math.min(1, Math.max(0, 0.2 * x + 0.5));
      case 'elu': return x > 0 ? x : Math.expm1(x);
      case 'selu': return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * Math.expm1(x));
      case 'softsign': return x / (1 + Math.abs(x));
      case 'softplus': return Math.log1p(Math.exp(x));
      default: return x;
    }
  });
}

/** Output length and left padding by TensorFlow's rules (written out independently of lib/). */
function plan(g: Geometry): { Tout: number; padLeft: number } {
  const span = g.dilation * (g.K - 1) + 1;
  if (g.padding === 'valid') return { Tout: Math.floor((g.T - span) / g.stride) + 1, padLeft: 0 };
  if (g.padding === 'causal') return { Tout: Math.ceil(g.T / g.stride), padLeft: span - 1 };
  const Tout = Math.ceil(g.T / g.stride);
  const total = Math.max(0, (Tout - 1) * g.stride + span - g.T);
  return { Tout, padLeft: Math.floor(total / 2) };
}

/** y [N, Tout, F] in float64. */
function conv64(g: Geometry, x: ArrayLike<number>, K: ArrayLike<number>, b: ArrayLike<number> | null, a: rk.Conv1DActivation): Float64Array {
  const { Tout, padLeft } = plan(g);
  const y = new Float64Array(g.N * Tout * g.F);
  for (let n = 0; n < g.N; n++)
    for (let o = 0; o < Tout; o++) {
      const pre = new Float64Array(g.F);
      for (let f = 0; f < g.F; f++) pre[f] = b ? b[f]! : 0;
      for (let k = 0; k < g.K; k++) {
        const t = o * g.stride - padLeft + k * g.dilation;
        if (t < 0 || t >= g.T) continue;
        for (let c = 0; c < g.C; c++) {
          const xv = x[(n * g.T + t) * g.C + c]!;
          for (let f = 0; f < g.F; f++) pre[f]! += xv * K[(k * g.C + c) * g.F + f]!;
        }
      }
      y.set(act64(a, pre), (n * Tout + o) * g.F);
    }
  return y;
}

/** Central differences of L = Σ y ⊙ w with respect to each value of `which`. */
function numericGrad(g: Geometry, x: Float64Array, K: Float64Array, b: Float64Array, w: Float64Array, a: rk.Conv1DActivation, which: Float64Array): Float64Array {
  const h = 1e-6;
  const loss = () => conv64(g, x, K, b, a).reduce((s, v, i) => s + v * w[i]!, 0);
  const out = new Float64Array(which.length);
  for (let i = 0; i < which.length; i++) {
    const keep = which[i]!;
    which[i] = keep + h;
    const up = loss();
    which[i] = keep - h;
    const down = loss();
    which[i] = keep;
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

/**
 * The layer in tfjs-core ops: causal as left zeros then valid (as Keras), and a dilated
 * kernel spelled out with zeros between its taps (tfjs has no gradient for dilated convs).
 */
function tfConv(g: Geometry, xt: tf.Tensor, kt: tf.Tensor, bt: tf.Tensor): tf.Tensor {
  let input = xt as tf.Tensor3D;
  let pad: 'valid' | 'same' = g.padding === 'same' ? 'same' : 'valid';
  if (g.padding === 'causal') {
    input = tf.pad(input, [[0, 0], [plan(g).padLeft, 0], [0, 0]]);
    pad = 'valid';
  }
  let kernel = kt as tf.Tensor3D;
  if (g.dilation > 1) {
    const taps: tf.Tensor3D[] = [];
    for (let k = 0; k < g.K; k++) {
      if (k > 0) taps.push(tf.zeros([g.dilation - 1, g.C, g.F]));
      taps.push(tf.slice(kernel, [k, 0, 0], [1, g.C, g.F]));
    }
    kernel = tf.concat(taps, 0);
  }
  return tf.tanh(tf.add(tf.conv1d(input, kernel, g.stride, pad, 'NWC', 1), bt));
}

/** Every padding × strides × dilation Keras allows (strides > 1 only with dilation 1). */
const GEOMETRIES: Geometry[] = [];
for (const padding of ['valid', 'same', 'causal'] as const)
  for (const stride of [1, 2, 3])
    for (const dilation of [1, 2])
      for (const K of [1, 3]) {
        if (stride > 1 && dilation > 1) continue;
        GEOMETRIES.push({ N: 2, T: 9, C: 3, K, F: 4, stride, dilation, padding });
      }
// An even kernel (TF's uneven 'same' split) and a window as long as the input.
GEOMETRIES.push({ N: 2, T: 8, C: 2, K: 4, F: 3, stride: 1, dilation: 1, padding: 'same' });
GEOMETRIES.push({ N: 2, T: 8, C: 2, K: 4, F: 3, stride: 3, dilation: 1, padding: 'same' });
GEOMETRIES.push({ N: 3, T: 5, C: 2, K: 5, F: 2, stride: 1, dilation: 1, padding: 'valid' });
GEOMETRIES.push({ N: 1, T: 10, C: 2, K: 2, F: 3, stride: 1, dilation: 3, padding: 'same' });

const label = (g: Geometry) => `${g.padding} K=${g.K} strides=${g.stride} dilation=${g.dilation} T=${g.T}`;

function makeLayer(g: Geometry, activation: rk.Conv1DActivation, useBias = true): rk.Conv1D {
  return rk.layers.conv1d({ filters: g.F, kernelSize: g.K, strides: g.stride, dilationRate: g.dilation, padding: g.padding, activation, useBias });
}

describe('conv1d forward', () => {
  GEOMETRIES.forEach((g, gi) =>
    it(`${label(g)} matches the float64 reference and tf.layers.conv1d`, async () => {
      const rng = new Rng(100 + gi);
      const layer = makeLayer(g, 'tanh');
      const K = rng.normal(g.K * g.C * g.F, 0, 0.5), b = rng.normal(g.F, 0, 0.3);
      layer.setWeights([K, b]);
      const xv = rng.normal(g.N * g.T * g.C);
      const pass = await layer.run([rk.tensor(xv, [g.N, g.T, g.C])], { training: false, masks: [null] });
      const { Tout } = plan(g);
      expect(pass.outputs[0]!.shape).toEqual([g.N, Tout, g.F]);
      expect(layer.computeOutputShape([[null, g.T, g.C]])).toEqual([[null, Tout, g.F]]);
      expect(pass.masks).toEqual([null]);
      const y = pass.outputs[0]!.dataSync();
      expectClose(y, conv64(g, xv, K, b, 'tanh'), 1e-5, 'output');

      const tfY = tfConv(g, tf.tensor(xv, [g.N, g.T, g.C]), tf.tensor(K, [g.K, g.C, g.F]), tf.tensor(b, [g.F])).dataSync();
      expectClose(y, tfY, 1e-5, 'output vs tfjs ops');
      if (g.padding !== 'causal') {
        // tfjs-layers has no causal padding; the others against its Conv1D layer itself.
        const ref = tf.layers.conv1d({ filters: g.F, kernelSize: g.K, strides: g.stride, dilationRate: g.dilation, padding: g.padding, activation: 'tanh', inputShape: [g.T, g.C] });
        const model = tf.sequential({ layers: [ref] });
        ref.setWeights([tf.tensor(K, [g.K, g.C, g.F]), tf.tensor(b, [g.F])]);
        expectClose(y, (model.predict(tf.tensor(xv, [g.N, g.T, g.C])) as tf.Tensor).dataSync(), 1e-5, 'output vs tf.layers.conv1d');
      }
      pass.dispose();
      layer.dispose();
    }),
  );

  const ACTIVATIONS: rk.Conv1DActivation[] = ['linear', 'relu', 'sigmoid', 'hardSigmoid', 'softmax', 'elu', 'selu', 'softsign', 'softplus'];
  for (const activation of ACTIVATIONS)
    it(`activation ${activation}, and without a bias`, async () => {
      const g: Geometry = { N: 2, T: 7, C: 3, K: 3, F: 4, stride: 1, dilation: 1, padding: 'same' };
      const rng = new Rng(7 + ACTIVATIONS.indexOf(activation));
      for (const useBias of [true, false]) {
        const layer = makeLayer(g, activation, useBias);
        const K = rng.normal(g.K * g.C * g.F, 0, 0.5), b = rng.normal(g.F, 0, 0.3);
        layer.setWeights(useBias ? [K, b] : [K]);
        expect(layer.countParams()).toBe(K.length + (useBias ? b.length : 0));
        const xv = rng.normal(g.N * g.T * g.C);
        const pass = await layer.run([rk.tensor(xv, [g.N, g.T, g.C])], { training: false, masks: [null] });
        expectClose(pass.outputs[0]!.dataSync(), conv64(g, xv, K, useBias ? b : null, activation), 1e-5, `${activation} output`);
      }
    });
});

describe('conv1d backward', () => {
  GEOMETRIES.forEach((g, gi) =>
    it(`${label(g)}: gradients match finite differences and tf.grads`, async () => {
      const rng = new Rng(200 + gi);
      const layer = makeLayer(g, 'tanh');
      const K = rng.normal(g.K * g.C * g.F, 0, 0.5), b = rng.normal(g.F, 0, 0.3);
      layer.setWeights([K, b]);
      const xv = rng.normal(g.N * g.T * g.C);
      const { Tout } = plan(g);
      const w = rng.normal(g.N * Tout * g.F);
      const pass = await layer.run([rk.tensor(xv, [g.N, g.T, g.C])], { training: true, masks: [null] });
      const grads = await pass.backward([rk.tensor(w, [g.N, Tout, g.F])]);
      expect(grads.dInputs[0]!.shape).toEqual([g.N, g.T, g.C]);
      expect(grads.dWeights.map((t) => t.shape)).toEqual([[g.K, g.C, g.F], [g.F]]);
      const [dx, dk, db] = [grads.dInputs[0]!.dataSync(), grads.dWeights[0]!.dataSync(), grads.dWeights[1]!.dataSync()];

      const x64 = Float64Array.from(xv), K64 = Float64Array.from(K), b64 = Float64Array.from(b), w64 = Float64Array.from(w);
      expectClose(dx, numericGrad(g, x64, K64, b64, w64, 'tanh', x64), 1e-4, 'dx vs finite differences');
      expectClose(dk, numericGrad(g, x64, K64, b64, w64, 'tanh', K64), 1e-4, 'dkernel vs finite differences');
      expectClose(db, numericGrad(g, x64, K64, b64, w64, 'tanh', b64), 1e-4, 'dbias vs finite differences');

      const loss = (xt: tf.Tensor, kt: tf.Tensor, bt: tf.Tensor) => tf.sum(tf.mul(tfConv(g, xt, kt, bt), tf.tensor(w, [g.N, Tout, g.F])));
      const ref = tf.grads(loss)([tf.tensor(xv, [g.N, g.T, g.C]), tf.tensor(K, [g.K, g.C, g.F]), tf.tensor(b, [g.F])]).map((t) => t.dataSync());
      expectClose(dx, ref[0]!, 1e-4, 'dx vs tfjs');
      expectClose(dk, ref[1]!, 1e-4, 'dkernel vs tfjs');
      expectClose(db, ref[2]!, 1e-4, 'dbias vs tfjs');
      pass.dispose();
    }),
  );

  it('softmax over the filters, without a bias', async () => {
    const g: Geometry = { N: 2, T: 6, C: 2, K: 2, F: 3, stride: 2, dilation: 1, padding: 'same' };
    const rng = new Rng(31);
    const layer = makeLayer(g, 'softmax', false);
    const K = rng.normal(g.K * g.C * g.F);
    layer.setWeights([K]);
    const xv = rng.normal(g.N * g.T * g.C);
    const { Tout } = plan(g);
    const w = rng.normal(g.N * Tout * g.F);
    const pass = await layer.run([rk.tensor(xv, [g.N, g.T, g.C])], { training: true, masks: [null] });
    const grads = await pass.backward([rk.tensor(w, [g.N, Tout, g.F])]);
    expect(grads.dWeights).toHaveLength(1);
    const x64 = Float64Array.from(xv), K64 = Float64Array.from(K), w64 = Float64Array.from(w), none = new Float64Array(g.F);
    expectClose(grads.dInputs[0]!.dataSync(), numericGrad(g, x64, K64, none, w64, 'softmax', x64), 1e-4, 'dx');
    expectClose(grads.dWeights[0]!.dataSync(), numericGrad(g, x64, K64, none, w64, 'softmax', K64), 1e-4, 'dkernel');
  });

  it('a batch whose im2col matrix passes the 16 MB budget runs in chunks of sequences', async () => {
    // [N·T', K·C] = [20·1024, 5·48] = 4.9M floats > 4M: chunks of 17 and 3 sequences.
    const g: Geometry = { N: 20, T: 1024, C: 48, K: 5, F: 3, stride: 1, dilation: 1, padding: 'same' };
    const rng = new Rng(91);
    const layer = makeLayer(g, 'tanh');
    const K = rng.normal(g.K * g.C * g.F, 0, 0.2), b = rng.normal(g.F, 0, 0.3);
    layer.setWeights([K, b]);
    const xv = rng.normal(g.N * g.T * g.C);
    const pass = await layer.run([rk.tensor(xv, [g.N, g.T, g.C])], { training: true, masks: [null] });
    const y = pass.outputs[0]!.dataSync();
    expectClose(y, conv64(g, xv, K, b, 'tanh'), 1e-5, 'output');
    const w = rng.normal(g.N * g.T * g.F);
    const grads = await pass.backward([rk.tensor(w, [g.N, g.T, g.F])]);
    const loss = (xt: tf.Tensor, kt: tf.Tensor, bt: tf.Tensor) => tf.sum(tf.mul(tfConv(g, xt, kt, bt), tf.tensor(w, [g.N, g.T, g.F])));
    const ref = tf.grads(loss)([tf.tensor(xv, [g.N, g.T, g.C]), tf.tensor(K, [g.K, g.C, g.F]), tf.tensor(b, [g.F])]).map((t) => t.dataSync());
    expectClose(grads.dInputs[0]!.dataSync(), ref[0]!, 1e-4, 'dx vs tfjs');
    expectClose(grads.dWeights[0]!.dataSync(), ref[1]!, 1e-4, 'dkernel vs tfjs');
    expectClose(grads.dWeights[1]!.dataSync(), ref[2]!, 1e-4, 'dbias vs tfjs');
  });

  it('a null output gradient gives zeros; backward runs once, and only after training', async () => {
    const layer = rk.layers.conv1d({ filters: 2, kernelSize: 2, inputShape: [5, 3], seed: 3 });
    const x = rk.tensor(new Rng(4).normal(2 * 5 * 3), [2, 5, 3]);
    const pass = await layer.run([x], { training: true, masks: [null] });
    const g = await pass.backward([null]);
    expect(Array.from(g.dInputs[0]!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(g.dWeights.map((t) => t.shape)).toEqual([[2, 3, 2], [2]]);
    await expect(pass.backward([null])).rejects.toMatchObject({ code: 'RNNKIT_INVALID_STATE' });
    const inference = await layer.run([x], { training: false, masks: [null] });
    await expect(inference.backward([null])).rejects.toThrow(TypeError);
    await expect(inference.backward([null])).rejects.toMatchObject({ code: 'RNNKIT_INVALID_ARGUMENT', message: /training: true/ });
    const training = await layer.run([x], { training: true, masks: [null] });
    await expect(training.backward([rk.tensor(new Float32Array(8), [2, 2, 2])])).rejects.toThrow(RangeError);
  });

  it('a few SGD steps on the layer lower a regression loss', async () => {
    const rng = new Rng(77);
    const layer = rk.layers.conv1d({ filters: 2, kernelSize: 3, padding: 'causal', inputShape: [12, 2], seed: 5 });
    const target = rk.layers.conv1d({ filters: 2, kernelSize: 3, padding: 'causal', inputShape: [12, 2], seed: 9 });
    const x = rk.tensor(rng.normal(4 * 12 * 2), [4, 12, 2]);
    const yTrue = (await target.run([x], { training: false, masks: [null] })).outputs[0]!.dataSync();
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      const pass = await layer.run([x], { training: true, masks: [null] });
      const y = pass.outputs[0]!.dataSync();
      const d = y.map((v, i) => (2 * (v - yTrue[i]!)) / y.length);
      losses.push(y.reduce((s, v, i) => s + (v - yTrue[i]!) ** 2, 0) / y.length);
      const g = await pass.backward([rk.tensor(d, pass.outputs[0]!.shape)]);
      const next = layer.trainableWeights().map((w, i) => {
        const gv = g.dWeights[i]!.dataSync();
        return w.dataSync().map((v, j) => v - 0.5 * gv[j]!);
      });
      layer.setWeights(next);
    }
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.5);
  });
});

describe('conv1d shapes, masks, configs and errors', () => {
  it('takes unknown steps: one layer runs on inputs of different lengths', async () => {
    const layer = rk.layers.conv1d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', inputShape: [null, 2], seed: 1 });
    expect(layer.built).toBe(true);
    expect(layer.computeOutputShape([[null, null, 2]])).toEqual([[null, null, 3]]);
    expect(layer.computeOutputShape([[4, 11, 2]])).toEqual([[4, 6, 3]]);
    const [K, b] = layer.getWeights().map((t) => t.dataSync());
    for (const T of [5, 12]) {
      const g: Geometry = { N: 2, T, C: 2, K: 3, F: 3, stride: 2, dilation: 1, padding: 'same' };
      const xv = new Rng(T).normal(2 * T * 2);
      const pass = await layer.run([rk.tensor(xv, [2, T, 2])], { training: false, masks: [null] });
      expectClose(pass.outputs[0]!.dataSync(), conv64(g, xv, K!, b!, 'linear'), 1e-5, `T=${T}`);
    }
  });

  it('a dilation far longer than the input reads only padding outside the centre tap', async () => {
    const g: Geometry = { N: 1, T: 4, C: 1, K: 3, F: 1, stride: 1, dilation: 2 ** 30, padding: 'same' };
    const layer = rk.layers.conv1d({ filters: 1, kernelSize: 3, dilationRate: 2 ** 30, padding: 'same' });
    layer.setWeights([new Float32Array([1, 2, 3]), new Float32Array([0.5])]);
    const xv = new Float32Array([1, -2, 3, -4]);
    const pass = await layer.run([rk.tensor(xv, [1, 4, 1])], { training: true, masks: [null] });
    expectClose(pass.outputs[0]!.dataSync(), conv64(g, xv, [1, 2, 3], [0.5], 'linear'), 1e-6, 'output');
    const gr = await pass.backward([rk.tensor([1, 1, 1, 1], [1, 4, 1])]);
    expectClose(gr.dWeights[0]!.dataSync(), [0, -2, 0], 1e-6, 'dkernel');
  });

  it('frees what it allocates, and fails cleanly under a memory limit', async () => {
    const layer = rk.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same', inputShape: [null, 8], seed: 1 });
    const xv = new Rng(6).normal(4 * 50 * 8);
    const x = rk.tensor(xv, [4, 50, 8]);
    const dy = rk.tensor(new Rng(7).normal(4 * 50 * 4), [4, 50, 4]);
    const before = rk.memory().bytes;
    const pass = await layer.run([x], { training: true, masks: [null] });
    const g = await pass.backward([dy]);
    for (const t of [...pass.outputs, ...g.dInputs, ...g.dWeights]) t?.dispose();
    pass.dispose();
    // Earlier tests' tensors may be collected meanwhile: never more than before.
    expect(rk.memory().bytes).toBeLessThanOrEqual(before);
    if (rk.getBackend() !== 'cpu') return; // the limit bounds the CPU backend's host memory
    // Room for the output but not for the im2col columns (19 KB).
    rk.setMemoryLimit(rk.memory().bytes + 4 * 50 * 4 * 4 + 4096);
    try {
      await expect(layer.run([x], { training: false, masks: [null] })).rejects.toMatchObject({ code: 'RNNKIT_OUT_OF_MEMORY' });
    } finally {
      rk.setMemoryLimit(null);
    }
    expect(rk.memory().bytes).toBeLessThanOrEqual(before);
    expect(Array.from(x.dataSync())).toEqual(Array.from(xv));
    const again = await layer.run([x], { training: false, masks: [null] });
    expect(again.outputs[0]!.shape).toEqual([4, 50, 4]);
  });

  it('ignores an input mask and passes none on, as Keras', async () => {
    const layer = rk.layers.conv1d({ filters: 2, kernelSize: 2, inputShape: [4, 1], seed: 2 });
    const x = rk.tensor(new Rng(5).normal(2 * 4), [2, 4, 1]);
    const plain = await layer.run([x], { training: false, masks: [null] });
    const masked = await layer.run([x], { training: false, masks: [StepMask.fromLengths(Int32Array.from([2, 4]), 4)] });
    expect(masked.masks).toEqual([null]);
    expect(Array.from(masked.outputs[0]!.dataSync())).toEqual(Array.from(plain.outputs[0]!.dataSync()));
  });

  it('weights: Keras names, order and shapes; getWeights copies; to() and dispose', () => {
    const layer = rk.layers.conv1d({ filters: 4, kernelSize: 3, batchInputShape: [null, 7, 5], seed: 8 });
    expect(layer.weightNames()).toEqual(['kernel', 'bias']);
    expect(layer.weightCount()).toBe(2);
    expect(layer.getWeights().map((t) => t.shape)).toEqual([[3, 5, 4], [4]]);
    expect(layer.countParams()).toBe(3 * 5 * 4 + 4);
    expect(layer.countTrainableParams()).toBe(3 * 5 * 4 + 4);
    expect(layer.trainableWeights()).toHaveLength(2);
    expect(Array.from(layer.getWeights()[1]!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(layer.getWeights()[0]!.dataSync()).some((v) => v !== 0)).toBe(true);
    const noBias = rk.layers.conv1d({ filters: 4, kernelSize: 3, useBias: false });
    expect(noBias.weightNames()).toEqual(['kernel']);
    expect(noBias.built).toBe(false);
    noBias.setWeights([rk.tensor(new Float32Array(3 * 2 * 4).fill(0.5), [3, 2, 4])]);
    expect(noBias.built).toBe(true);
    expect(noBias.computeOutputShape([[1, 9, 2]])).toEqual([[1, 7, 4]]);
    expect(layer.to(rk.getBackend())).toBe(layer);
    layer.dispose();
    expect(layer.isDisposed).toBe(true);
    expect(() => layer.getWeights()).toThrow(expect.objectContaining({ code: 'RNNKIT_DISPOSED' }));
  });

  it('config round trip through the registry (Keras 2 and Keras 3 configs, camelCase keys)', () => {
    const layer = rk.layers.conv1d({
      filters: 6, kernelSize: 5, strides: 1, padding: 'causal', dilationRate: 2, activation: 'hardSigmoid', useBias: false,
      kernelInitializer: 'heNormal', inputShape: [null, 3], name: 'c1', seed: 1,
    });
    const cfg = layer.getConfig();
    expect(cfg).toMatchObject({
      name: 'c1', filters: 6, kernel_size: [5], strides: [1], padding: 'causal', data_format: 'channels_last', dilation_rate: [2],
      groups: 1, activation: 'hard_sigmoid', use_bias: false, batch_input_shape: [null, null, 3],
    });
    const context = { where: 'test', deserialize: () => { throw new Error('unused'); } };
    const back = layerFromConfig('Conv1D', JSON.parse(JSON.stringify(cfg)), context);
    expect(back).toBeInstanceOf(rk.Conv1D);
    expect(back.getConfig()).toEqual(cfg);
    expect(layerFromConfig('Convolution1D', { ...cfg }, context).className).toBe('Conv1D');
    // Keras 3 writes initializers with module keys and may omit batch_input_shape; tfjs writes camelCase.
    const keras3 = layerFromConfig('Conv1D', {
      name: 'k3', trainable: true, dtype: 'float32', filters: 2, kernel_size: [3], strides: [2], padding: 'same', data_format: 'channels_last',
      dilation_rate: [1], groups: 1, activation: 'relu', use_bias: true,
      kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null }, registered_name: null },
      bias_initializer: { module: 'keras.initializers', class_name: 'Zeros', config: {}, registered_name: null },
      kernel_regularizer: null,
    }, context) as rk.Conv1D;
    expect(keras3.config).toMatchObject({ filters: 2, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' });
    const camel = layerFromConfig('Conv1D', { name: 'tf', filters: 3, kernelSize: [2], dilationRate: [2], padding: 'valid' }, context) as rk.Conv1D;
    expect(camel.config).toMatchObject({ filters: 3, kernelSize: 2, dilationRate: 2 });
  });

  it('rejects bad options, unsupported configs and bad shapes with codes', async () => {
    const bad = (args: unknown) => () => rk.layers.conv1d(args as rk.Conv1DLayerArgs);
    expect(bad({ kernelSize: 3 })).toThrow(expect.objectContaining({ code: 'RNNKIT_INVALID_ARGUMENT' }));
    expect(bad({ filters: 2 })).toThrow(TypeError);
    expect(bad({ filters: 0, kernelSize: 3 })).toThrow(RangeError);
    expect(bad({ filters: 2, kernelSize: 3, kernalSize: 2 })).toThrow(/unknown option 'kernalSize'/);
    expect(bad({ filters: 2, kernelSize: 3, padding: 'full' })).toThrow(TypeError);
    expect(bad({ filters: 2, kernelSize: 3, activation: 'swish' })).toThrow(TypeError);
    expect(bad({ filters: 2, kernelSize: [3, 3] })).toThrow(TypeError);
    expect(bad({ filters: 2, kernelSize: 3, strides: 2, dilationRate: 2 })).toThrow(RangeError);
    expect(bad({ filters: 2, kernelSize: 3, dataFormat: 'channelsFirst' })).toThrow(expect.objectContaining({ code: 'RNNKIT_UNSUPPORTED' }));
    expect(bad({ filters: 2, kernelSize: 3, inputShape: [4] })).toThrow(RangeError);
    const context = { where: 'model.json: layer 0', deserialize: () => { throw new Error('unused'); } };
    const file = (extra: object) => () => layerFromConfig('Conv1D', { filters: 2, kernel_size: [3], ...extra }, context);
    expect(file({ data_format: 'channels_first' })).toThrow(expect.objectContaining({ code: 'RNNKIT_UNSUPPORTED', message: expect.stringMatching(/channels_first/) }));
    expect(file({ groups: 2 })).toThrow(expect.objectContaining({ code: 'RNNKIT_UNSUPPORTED', message: expect.stringMatching(/groups/) }));
    expect(file({ padding: 'full' })).toThrow(expect.objectContaining({ code: 'RNNKIT_MODEL_FILE' }));

    const layer = rk.layers.conv1d({ filters: 2, kernelSize: 4, inputShape: [null, 3], seed: 1 });
    expect(() => layer.computeOutputShape([[null, 3, 3]])).toThrow(RangeError);
    expect(() => layer.computeOutputShape([[null, 8, 4]])).toThrow(/built for 3 channels/);
    expect(() => layer.computeOutputShape([[null, 8]])).toThrow(RangeError);
    await expect(layer.run([rk.tensor(new Float32Array(2 * 3 * 3).fill(1), [2, 3, 3])], { training: false, masks: [null] })).rejects.toThrow(/fewer than one window/);
    await expect(layer.run([rk.tensor(new Float32Array(8 * 4).fill(1), [1, 8, 4])], { training: false, masks: [null] })).rejects.toThrow(RangeError);
    await expect(layer.run([rk.tensor(new Float32Array(6).fill(1), [2, 3])], { training: false, masks: [null] })).rejects.toThrow(RangeError);
    expect(() => layer.setWeights([new Float32Array(5)])).toThrow(RangeError);
    expect(bad({ filters: 1, kernelSize: 1, strides: 2 ** 40 })).toThrow(RangeError);
    expect(bad({ filters: 1, kernelSize: 2 ** 31 })).toThrow(RangeError);
    expect(() => layer.setWeights([new Float32Array(4 * 3 * 2), new Float32Array(3)])).toThrow(RangeError);
  });
});
