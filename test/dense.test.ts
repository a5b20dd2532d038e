/**
 * rk.layers.dense against a float64 reference written here (forward), central finite
 * differences of that reference and TensorFlow.js (tf.layers.dense, tf.grads) for the
 * backward pass, on rank-2 and rank-3 inputs and every activation.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { expectClose } from './helpers/compare';
import { Rng } from './helpers/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const ACTIVATIONS: rk.DenseActivation[] = ['linear', 'relu', 'tanh', 'sigmoid', 'hardSigmoid', 'softmax', 'elu', 'softplus'];

function act64(name: rk.DenseActivation, row: Float64Array): Float64Array {
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
      case 'softplus': return Math.log1p(Math.exp(x));
      default: return x;
    }
  });
}

/** y = act(x·K + b) in float64, rows of the last axis. */
function dense64(x: ArrayLike<number>, K: ArrayLike<number>, b: ArrayLike<number> | null, D: number, U: number, a: rk.DenseActivation): Float64Array {
  const rows = x.length / D;
  const y = new Float64Array(rows * U);
  for (let r = 0; r < rows; r++) {
    const pre = new Float64Array(U);
    for (let u = 0; u < U; u++) {
      let s = b ? b[u]! : 0;
      for (let d = 0; d < D; d++) s += x[r * D + d]! * K[d * U + u]!;
      pre[u] = s;
    }
    y.set(act64(a, pre), r * U);
  }
  return y;
}

describe('dense forward', () => {
  for (const activation of ACTIVATIONS)
    for (const shape of [[5, 7], [3, 4, 7]])
      it(`${activation} on [${shape.join(',')}] matches the float64 reference`, async () => {
        const rng = new Rng(shape.length * 100 + ACTIVATIONS.indexOf(activation));
        const D = shape[shape.length - 1]!, U = 6;
        const layer = rk.layers.dense({ units: U, activation });
        const K = rng.normal(D * U, 0, 0.5), b = rng.normal(U, 0, 0.3);
        layer.setWeights([K, b]);
        const xv = rng.normal(shape.reduce((p, q) => p * q, 1));
        const fwd = await layer.forward(rk.tensor(xv, shape));
        expect(fwd.output.shape).toEqual([...shape.slice(0, -1), U]);
        expectClose(fwd.output.dataSync(), dense64(xv, K, b, D, U, activation), 1e-6, 'output');
      });

  it('without a bias, and parity with tf.layers.dense', async () => {
    const rng = new Rng(9);
    const layer = rk.layers.dense({ units: 4, activation: 'tanh', useBias: false });
    const K = rng.normal(3 * 4);
    layer.setWeights([K]);
    expect(layer.countParams()).toBe(12);
    const xv = rng.normal(2 * 5 * 3);
    const out = (await layer.forward(rk.tensor(xv, [2, 5, 3]))).output.dataSync();
    const ref = tf.layers.dense({ units: 4, activation: 'tanh', useBias: false, inputShape: [5, 3] });
    const model = tf.sequential({ layers: [ref] });
    ref.setWeights([tf.tensor(K, [3, 4])]);
    const want = (model.predict(tf.tensor(xv, [2, 5, 3])) as tf.Tensor).dataSync();
    expectClose(out, want, 1e-6, 'output vs tfjs');
  });
});

describe('dense backward', () => {
  for (const activation of ACTIVATIONS)
    it(`${activation}: gradients match tf.grads of the same layer`, async () => {
      const rng = new Rng(40 + ACTIVATIONS.indexOf(activation));
      const [N, T, D, U] = [3, 4, 5, 6];
      const K = rng.normal(D * U, 0, 0.5), b = rng.normal(U, 0, 0.3), xv = rng.normal(N * T * D), G = rng.normal(N * T * U);
      const layer = rk.layers.dense({ units: U, activation });
      layer.setWeights([K, b]);
      const fwd = await layer.forward(rk.tensor(xv, [N, T, D]), { training: true });
      const g = await layer.backward(fwd, { dOutput: rk.tensor(G, [N, T, U]) });
      const tfAct = (z: tf.Tensor): tf.Tensor => {
        switch (activation) {
          case 'softmax': return tf.softmax(z);
          case 'relu': return tf.relu(z);
          case 'tanh': return tf.tanh(z);
          case 'sigmoid': return tf.sigmoid(z);
          case 'hardSigmoid': return tf.clipByValue(tf.add(tf.mul(z, 0.2), 0.5), 0, 1);
          case 'elu': return tf.elu(z);
          case 'softplus': return tf.softplus(z);
          default: return z;
        }
      };
      const loss = (x: tf.Tensor, k: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(tfAct(tf.add(tf.matMul(tf.reshape(x, [N * T, D]), k), bb)), tf.tensor(G, [N * T, U])));
      const [dx, dk, db] = tf.grads(loss)([tf.tensor(xv, [N, T, D]), tf.tensor(K, [D, U]), tf.tensor(b, [U])]);
      expectClose(g.dInput.dataSync(), dx!.dataSync(), 1e-4, 'dInput');
      expectClose(g.dWeights[0]!.dataSync(), dk!.dataSync(), 1e-4, 'dKernel');
      expectClose(g.dWeights[1]!.dataSync(), db!.dataSync(), 1e-4, 'dBias');
    });

  // dKernel = xᵀ·dy with 1000 input features: more rows of xᵀ than one packed slab (960) and
  // a last group of 4 rows, on one thread and on two (each packs its own slab).
  it('a wide kernel\'s gradient matches the float64 product xᵀ·dOutput on 1 and 2 threads', async () => {
    const rng = new Rng(78);
    const [M, D, U] = [7, 1000, 300];
    const K = rng.normal(D * U, 0, 0.05), xv = rng.normal(M * D), G = rng.normal(M * U);
    const expected = new Float64Array(D * U);
    for (let r = 0; r < M; r++)
      for (let d = 0; d < D; d++) for (let u = 0; u < U; u++) expected[d * U + u]! += xv[r * D + d]! * G[r * U + u]!;
    const layer = rk.layers.dense({ units: U, useBias: false });
    layer.setWeights([K]);
    const threads = rk.getNumThreads();
    try {
      for (const t of [1, 2]) {
        rk.setNumThreads(t);
        const fwd = await layer.forward(rk.tensor(xv, [M, D]), { training: true });
        const g = await layer.backward(fwd, { dOutput: rk.tensor(G, [M, U]) });
        expectClose(g.dWeights[0]!.dataSync(), expected, 1e-5, `dKernel on ${t} thread(s)`);
      }
    } finally {
      rk.setNumThreads(threads);
    }
  });

  it('softmax gradient matches central finite differences of the float64 reference', async () => {
    const rng = new Rng(77);
    const [M, D, U] = [2, 3, 4];
    const K = rng.normal(D * U), b = rng.normal(U), xv = rng.normal(M * D), G = rng.normal(M * U);
    const layer = rk.layers.dense({ units: U, activation: 'softmax' });
    layer.setWeights([K, b]);
    const fwd = await layer.forward(rk.tensor(xv, [M, D]), { training: true });
    const g = await layer.backward(fwd, { dOutput: rk.tensor(G, [M, U]) });
    const loss = (x: Float64Array, k: Float64Array) => dense64(x, k, b, D, U, 'softmax').reduce((s, v, i) => s + v * G[i]!, 0);
    const fd = (values: Float64Array, f: (v: Float64Array) => number) =>
      values.map((_, i) => {
        const up = values.slice(), down = values.slice();
        up[i]! += 1e-6;
        down[i]! -= 1e-6;
        return (f(up) - f(down)) / 2e-6;
      });
    const x64 = Float64Array.from(xv), k64 = Float64Array.from(K);
    expectClose(g.dInput.dataSync(), fd(x64, (v) => loss(v, k64)), 1e-4, 'dInput');
    expectClose(g.dWeights[0]!.dataSync(), fd(k64, (v) => loss(x64, v)), 1e-4, 'dKernel');
  });
});

describe('dense bad input', () => {
  it('rejects malformed options, weights and inputs with errors naming them', async () => {
    expect(() => rk.layers.dense({ units: 0 })).toThrow(RangeError);
    expect(() => rk.layers.dense({ units: 2, activation: 'nope' as rk.DenseActivation })).toThrow(/activation/);
    expect(() => rk.layers.dense({ units: 2, returnSequences: true } as unknown as rk.DenseLayerArgs)).toThrow(/returnSequences/);
    const layer = rk.layers.dense({ units: 3, inputShape: [4] });
    expect(() => layer.setWeights([new Float32Array(5)])).toThrow(RangeError);
    expect(() => layer.setWeights([new Float32Array(12), new Float32Array(2)])).toThrow(/bias/);
    await expect(layer.forward(rk.tensor(new Float32Array(10).fill(1), [2, 5]))).rejects.toThrow(/features/);
    const fwd = await layer.forward(rk.tensor(new Float32Array(8).fill(0.5), [2, 4]));
    await expect(layer.backward(fwd, { dOutput: rk.tensor(new Float32Array(6), [2, 3]) })).rejects.toThrow(/training/);
  });
});
