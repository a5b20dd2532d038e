/**
 * rk.layers.activation for every activation of rk.layers.dense: forward against a float64
 * reference written here, backward against central finite differences of it and against
 * TensorFlow.js (tf.layers.activation, tf.grads), on rank-2 and rank-3 inputs; the mask,
 * config round trips through the registry, and errors.
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

const ACTIVATIONS: rk.DenseActivation[] = ['linear', 'relu', 'tanh', 'sigmoid', 'hardSigmoid', 'softmax', 'elu', 'selu', 'softsign', 'softplus'];
const SHAPES = [
  [5, 7],
  [3, 4, 6],
];
const context = { where: 'test config', deserialize: () => { throw new Error('no nested layers here'); } };

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** The activation of each row (C values) in float64. */
function act64(name: rk.DenseActivation, x: ArrayLike<number>, C: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    const row = Array.from({ length: C }, (_, c) => x[r * C + c]!);
    if (name === 'softmax') {
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      e.forEach((v, c) => (y[r * C + c] = v / s));
      continue;
    }
    row.forEach((v, c) => {
      let out = v;
      switch (name) {
        case 'relu': out = Math.max(0, v); break;
        case 'tanh': out = Math.tanh(v); break;
        case 'sigmoid': out = 1 / (1 + Math.exp(-v)); break;
        case 'hardSigmoid': out = Math.min(1, Math.max(0, 0.2 * v + 0.5)); break;
        case 'elu': out = v > 0 ? v : Math.expm1(v); break;
        case 'selu': out = v > 0 ? SELU_SCALE * v : SELU_SCALE * SELU_ALPHA * Math.expm1(v); break;
        case 'softsign': out = v / (1 + Math.abs(v)); break;
        case 'softplus': out = Math.log1p(Math.exp(v)); break;
        default: break;
      }
      y[r * C + c] = out;
    });
  }
  return y;
}

/** Inputs away from the kinks of relu, hardSigmoid, elu, selu and softsign (finite differences straddle none). */
function inputs(rng: Rng, n: number): Float32Array {
  const x = rng.uniform(n, -3, 3);
  for (let i = 0; i < n; i++) {
    for (const kink of [0, -2.5, 2.5]) if (Math.abs(x[i]! - kink) < 0.05) x[i] = kink + 0.1;
  }
  return x;
}

function fdGrad(f: (x: Float64Array) => Float64Array, x: ArrayLike<number>, dy: ArrayLike<number>, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  const loss = (v: Float64Array) => f(v).reduce((s, y, i) => s + y * dy[i]!, 0);
  for (let i = 0; i < x.length; i++) {
    const p = Float64Array.from(x as ArrayLike<number>);
    const m = Float64Array.from(x as ArrayLike<number>);
    p[i]! += h;
    m[i]! -= h;
    g[i] = (loss(p) - loss(m)) / (2 * h);
  }
  return g;
}

const tfName = (a: rk.DenseActivation) => (a === 'hardSigmoid' ? 'hardSigmoid' : a) as 'relu';

describe('activation layer', () => {
  for (const activation of ACTIVATIONS)
    for (const shape of SHAPES)
      it(`${activation} on [${shape.join(',')}]: forward, finite differences and tfjs`, async () => {
        const rng = new Rng(ACTIVATIONS.indexOf(activation) * 10 + shape.length);
        const n = shape.reduce((a, b) => a * b, 1);
        const C = shape[shape.length - 1]!;
        const x = inputs(rng, n);
        const dy = rng.normal(n);
        const layer = rk.layers.activation({ activation });
        const pass = await layer.run([rk.tensor(x, shape)], { training: true, masks: [null] });
        const y = pass.outputs[0]!;
        expect(y.shape).toEqual(shape);
        expectClose(y.dataSync(), act64(activation, x, C), 1e-5, 'forward vs float64');
        const g = await pass.backward([rk.tensor(dy, shape)]);
        expect(g.dWeights).toEqual([]);
        const dx = g.dInputs[0]!.dataSync();
        expectClose(dx, fdGrad((v) => act64(activation, v, C), x, dy), 1e-4, 'dx vs finite differences');

        const tl = tf.layers.activation({ activation: tfName(activation) });
        const xt = tf.tensor(x, shape);
        const dyT = tf.tensor(dy, shape);
        expectClose(y.dataSync(), (tl.apply(xt) as tf.Tensor).dataSync(), 1e-5, 'forward vs tfjs');
        const [tdx] = tf.grads((v: tf.Tensor) => tf.sum(tf.mul(tl.apply(v) as tf.Tensor, dyT)))([xt]);
        expectClose(dx, tdx!.dataSync(), 1e-4, 'dx vs tfjs');
        pass.dispose();
      });

  it('passes the mask through, has no weights, and an inference pass refuses backward', async () => {
    const layer = rk.layers.activation({ activation: 'relu', inputShape: [3, 2] });
    expect(layer.weightCount()).toBe(0);
    expect(layer.countParams()).toBe(0);
    expect(layer.getWeights()).toEqual([]);
    expect(layer.computeOutputShape([[null, 3, 2]])).toEqual([[null, 3, 2]]);
    const mask = StepMask.fromLengths(Int32Array.from([1, 3]), 3);
    const x = rk.tensor(new Rng(1).normal(12), [2, 3, 2]);
    const pass = await layer.run([x], { training: false, masks: [mask] });
    expect(pass.masks[0]).toBe(mask);
    await expect(pass.backward([x])).rejects.toThrow(/training/);
    // The input is left as it was.
    expect(x.dataSync().some((v) => v < 0)).toBe(true);
  });

  it('round-trips its config through the registry (Keras names)', () => {
    const layer = rk.layers.activation({ activation: 'hardSigmoid', name: 'act', inputShape: [4] });
    const cfg = layer.getConfig();
    expect(cfg).toEqual({ name: 'act', trainable: true, batch_input_shape: [null, 4], dtype: 'float32', activation: 'hard_sigmoid' });
    const back = layerFromConfig('Activation', JSON.parse(JSON.stringify(cfg)), context) as rk.ActivationLayer;
    expect(back).toBeInstanceOf(rk.ActivationLayer);
    expect(back.activation).toBe('hardSigmoid');
    expect(back.getConfig()).toEqual(cfg);
    expect(() => layerFromConfig('Activation', { name: 'a', activation: 'gelu' }, context)).toThrow(expect.objectContaining({ code: 'RNNKIT_MODEL_FILE' }));
  });

  it('rejects bad options and inputs with codes', async () => {
    expect(() => rk.layers.activation({} as never)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'RNNKIT_INVALID_ARGUMENT' }));
    expect(() => rk.layers.activation({ activation: 'swish' as never })).toThrow(/activation must be one of/);
    expect(() => rk.layers.activation({ activation: 'relu', units: 3 } as never)).toThrow(/unknown option 'units'/);
    const layer = rk.layers.activation({ activation: 'tanh' });
    await expect(layer.run([[1, 2] as never], { training: false, masks: [null] })).rejects.toMatchObject({ name: 'TypeError' });
    const pass = await layer.run([rk.tensor([1, 2], [1, 2])], { training: true, masks: [null] });
    await expect(pass.backward([rk.tensor([1, 2, 3], [1, 3])])).rejects.toMatchObject({ name: 'RangeError' });
  });
});
