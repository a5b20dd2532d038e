/**
 * rk.layers.maxPooling1D / averagePooling1D / globalMaxPooling1D / globalAveragePooling1D
 * against float64 references written here, central finite differences of them and
 * TensorFlow.js (tf.layers.*, tf.grad); masks of the global poolings (front padding, holes,
 * all masked), unknown steps, config round trips and errors.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import type { Layer } from '../lib/layers/layer';
import { layerFromConfig } from '../lib/layers/registry';
import { StepMask } from '../lib/mask';
import { expectClose } from './helpers/compare';
import { Rng } from './helpers/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

type Kind = 'max' | 'average';

interface Pool {
  N: number;
  T: number;
  C: number;
  P: number;
  S: number;
  padding: 'valid' | 'same';
}

/** TF's windows: output length and left padding (written out independently of lib/). */
function plan(p: Pool): { Tout: number; padLeft: number } {
  if (p.padding === 'valid') return { Tout: Math.floor((p.T - p.P) / p.S) + 1, padLeft: 0 };
  const Tout = Math.ceil(p.T / p.S);
  return { Tout, padLeft: Math.floor(Math.max(0, (Tout - 1) * p.S + p.P - p.T) / 2) };
}

/** y [N, Tout, C] in float64: max or mean over each window's input steps. */
function pool64(p: Pool, kind: Kind, x: ArrayLike<number>): Float64Array {
  const { Tout, padLeft } = plan(p);
  const y = new Float64Array(p.N * Tout * p.C);
  for (let n = 0; n < p.N; n++)
    for (let o = 0; o < Tout; o++)
      for (let c = 0; c < p.C; c++) {
        const vals: number[] = [];
        for (let j = 0; j < p.P; j++) {
          const t = o * p.S - padLeft + j;
          if (t >= 0 && t < p.T) vals.push(x[(n * p.T + t) * p.C + c]!);
        }
        y[(n * Tout + o) * p.C + c] = kind === 'max' ? Math.max(...vals) : vals.reduce((a, b) => a + b, 0) / vals.length;
      }
  return y;
}

/** [N, C] in float64 over the steps `valid` keeps (null: all); zeros when it keeps none. */
function global64(N: number, T: number, C: number, kind: Kind, x: ArrayLike<number>, valid: Uint8Array | null): Float64Array {
  const y = new Float64Array(N * C);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const vals: number[] = [];
      for (let t = 0; t < T; t++) if (!valid || valid[n * T + t]) vals.push(x[(n * T + t) * C + c]!);
      y[n * C + c] = vals.length === 0 ? 0 : kind === 'max' ? Math.max(...vals) : vals.reduce((a, b) => a + b, 0) / vals.length;
    }
  return y;
}

/** Central differences of Σ f(x) ⊙ w with respect to x. */
function numericGrad(f: (x: Float64Array) => Float64Array, x: Float64Array, w: ArrayLike<number>): Float64Array {
  const h = 1e-6;
  const loss = () => f(x).reduce((s, v, i) => s + v * w[i]!, 0);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i]!;
    x[i] = keep + h;
    const up = loss();
    x[i] = keep - h;
    const down = loss();
    x[i] = keep;
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

function makePool(kind: Kind, p: Pool): rk.Pooling1D {
  const args = { poolSize: p.P, strides: p.S, padding: p.padding };
  return kind === 'max' ? rk.layers.maxPooling1D(args) : rk.layers.averagePooling1D(args);
}

function tfPool(kind: Kind, p: Pool): tf.layers.Layer {
  const args = { poolSize: p.P, strides: p.S, padding: p.padding };
  return kind === 'max' ? tf.layers.maxPooling1d(args) : tf.layers.averagePooling1d(args);
}

const POOLS: Pool[] = [];
for (const padding of ['valid', 'same'] as const)
  for (const [P, S] of [[2, 2], [3, 1], [3, 2], [2, 3], [4, 3], [1, 1], [5, 2]] as const)
    for (const T of [9, 8]) POOLS.push({ N: 2, T, C: 3, P, S, padding });

const label = (p: Pool) => `${p.padding} poolSize=${p.P} strides=${p.S} T=${p.T}`;

describe('maxPooling1D and averagePooling1D', () => {
  for (const kind of ['max', 'average'] as const)
    POOLS.forEach((p, pi) =>
      it(`${kind} ${label(p)}: forward and gradients match the reference, finite differences and tfjs`, async () => {
        const rng = new Rng(300 + pi + (kind === 'max' ? 0 : 1000));
        const xv = rng.normal(p.N * p.T * p.C);
        const { Tout } = plan(p);
        const layer = makePool(kind, p);
        expect(layer.computeOutputShape([[null, p.T, p.C]])).toEqual([[null, Tout, p.C]]);
        const pass = await layer.run([rk.tensor(xv, [p.N, p.T, p.C])], { training: true, masks: [null] });
        expect(pass.outputs[0]!.shape).toEqual([p.N, Tout, p.C]);
        expect(pass.masks).toEqual([null]);
        const y = pass.outputs[0]!.dataSync();
        expectClose(y, pool64(p, kind, xv), 1e-6, 'output');
        const ref = tfPool(kind, p);
        const xt = tf.tensor(xv, [p.N, p.T, p.C]);
        expectClose(y, (ref.apply(xt) as tf.Tensor).dataSync(), 1e-5, 'output vs tfjs');

        const w = rng.normal(p.N * Tout * p.C);
        const g = await pass.backward([rk.tensor(w, [p.N, Tout, p.C])]);
        expect(g.dWeights).toEqual([]);
        const dx = g.dInputs[0]!.dataSync();
        expectClose(dx, numericGrad((x) => pool64(p, kind, x), Float64Array.from(xv), w), 1e-4, 'dx vs finite differences');
        // tfjs's avgPool gradient divides by the whole window even where 'same' padding cuts it
        // (its forward, TF and the finite differences divide by the steps inside): compared
        // only where no window is cut.
        const cut = p.padding === 'same' && (Tout - 1) * p.S + p.P > p.T;
        if (kind === 'max' || !cut) {
          const wt = tf.tensor(w, [p.N, Tout, p.C]);
          const tfDx = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(ref.apply(x) as tf.Tensor, wt)))(xt).dataSync();
          expectClose(dx, tfDx, 1e-4, 'dx vs tfjs');
        }
        pass.dispose();
      }),
    );

  it("'same' averages divide by the steps inside the input, not the window", async () => {
    const x = rk.tensor([1, 2, 3, 4, 5], [1, 5, 1]);
    const pass = await rk.layers.averagePooling1D({ poolSize: 3, strides: 2, padding: 'same' }).run([x], { training: true, masks: [null] });
    // Windows [pad, 1, 2], [2, 3, 4], [4, 5, pad].
    expect(Array.from(pass.outputs[0]!.dataSync())).toEqual([1.5, 3, 4.5]);
    const dx = (await pass.backward([rk.tensor([1, 1, 1], [1, 3, 1])])).dInputs[0]!.dataSync();
    expectClose(dx, [0.5, 0.5 + 1 / 3, 1 / 3, 1 / 3 + 0.5, 0.5], 1e-6, 'dx');
  });

  it('max routes a tie to its first maximum, as TensorFlow', async () => {
    const x = rk.tensor([3, 3, 1, 2, 2, 2], [1, 6, 1]);
    const pass = await rk.layers.maxPooling1D({ poolSize: 3, strides: 3 }).run([x], { training: true, masks: [null] });
    expect(Array.from(pass.outputs[0]!.dataSync())).toEqual([3, 2]);
    const dx = (await pass.backward([rk.tensor([10, 20], [1, 2, 1])])).dInputs[0]!.dataSync();
    expect(Array.from(dx)).toEqual([10, 0, 0, 20, 0, 0]);
    // Overlapping windows (strides 1) add their gradients at a shared maximum.
    const overlap = await rk.layers.maxPooling1D({ poolSize: 2, strides: 1 }).run([rk.tensor([0, 5, 1], [1, 3, 1])], { training: true, masks: [null] });
    expect(Array.from((await overlap.backward([rk.tensor([1, 2], [1, 2, 1])])).dInputs[0]!.dataSync())).toEqual([0, 3, 0]);
  });

  it('takes unknown steps, ignores input masks and passes none on', async () => {
    const layer = rk.layers.maxPooling1D({ poolSize: 3, padding: 'same', inputShape: [null, 2] });
    expect(layer.strides).toBe(3);
    expect(layer.computeOutputShape([[null, null, 2]])).toEqual([[null, null, 2]]);
    for (const T of [4, 10]) {
      const xv = new Rng(T).normal(2 * T * 2);
      const p: Pool = { N: 2, T, C: 2, P: 3, S: 3, padding: 'same' };
      const pass = await layer.run([rk.tensor(xv, [2, T, 2])], { training: false, masks: [StepMask.fromLengths(Int32Array.from([1, T]), T)] });
      expect(pass.masks).toEqual([null]);
      expectClose(pass.outputs[0]!.dataSync(), pool64(p, 'max', xv), 1e-6, `T=${T}`);
    }
  });
});

describe('globalMaxPooling1D and globalAveragePooling1D', () => {
  const make = (kind: Kind, keepdims = false) => (kind === 'max' ? rk.layers.globalMaxPooling1D({ keepdims }) : rk.layers.globalAveragePooling1D({ keepdims }));

  for (const kind of ['max', 'average'] as const)
    it(`${kind}: forward, keepdims and gradients match the reference, finite differences and tfjs`, async () => {
      const [N, T, C] = [3, 7, 4];
      const rng = new Rng(kind === 'max' ? 41 : 42);
      const xv = rng.normal(N * T * C);
      const layer = make(kind);
      expect(layer.computeOutputShape([[null, null, C]])).toEqual([[null, C]]);
      const pass = await layer.run([rk.tensor(xv, [N, T, C])], { training: true, masks: [null] });
      expect(pass.outputs[0]!.shape).toEqual([N, C]);
      expect(pass.masks).toEqual([null]);
      const y = pass.outputs[0]!.dataSync();
      expectClose(y, global64(N, T, C, kind, xv, null), 1e-6, 'output');
      const ref = kind === 'max' ? tf.layers.globalMaxPooling1d({}) : tf.layers.globalAveragePooling1d({});
      const xt = tf.tensor(xv, [N, T, C]);
      expectClose(y, (ref.apply(xt) as tf.Tensor).dataSync(), 1e-5, 'output vs tfjs');
      const w = rng.normal(N * C);
      const dx = (await pass.backward([rk.tensor(w, [N, C])])).dInputs[0]!.dataSync();
      expectClose(dx, numericGrad((x) => global64(N, T, C, kind, x, null), Float64Array.from(xv), w), 1e-4, 'dx vs finite differences');
      const wt = tf.tensor(w, [N, C]);
      expectClose(dx, tf.grad((x: tf.Tensor) => tf.sum(tf.mul(ref.apply(x) as tf.Tensor, wt)))(xt).dataSync(), 1e-4, 'dx vs tfjs');

      const kept = make(kind, true);
      expect(kept.computeOutputShape([[2, 5, C]])).toEqual([[2, 1, C]]);
      const keptPass = await kept.run([rk.tensor(xv, [N, T, C])], { training: true, masks: [null] });
      expect(keptPass.outputs[0]!.shape).toEqual([N, 1, C]);
      expect(Array.from(keptPass.outputs[0]!.dataSync())).toEqual(Array.from(y));
      const keptDx = (await keptPass.backward([rk.tensor(w, [N, 1, C])])).dInputs[0]!.dataSync();
      expect(Array.from(keptDx)).toEqual(Array.from(dx));
    });

  // Front padding, holes, right padding (lengths), and a sequence with every step masked.
  const [N, T, C] = [4, 6, 3];
  const valid = Uint8Array.from([
    0, 0, 1, 1, 1, 1, // front-padded
    1, 0, 1, 1, 0, 1, // holes
    1, 1, 1, 0, 0, 0, // right-padded
    0, 0, 0, 0, 0, 0, // all masked
  ]);

  it('average: only the unmasked steps count (front padding, holes); all masked gives zeros', async () => {
    const rng = new Rng(51);
    const xv = rng.normal(N * T * C);
    // NaN at masked steps must reach nothing.
    const poisoned = Float32Array.from(xv);
    for (let i = 0; i < N * T; i++) if (!valid[i]) poisoned.fill(NaN, i * C, (i + 1) * C);
    const mask = StepMask.fromValid(valid, N, T);
    const layer = rk.layers.globalAveragePooling1D();
    const pass = await layer.run([rk.tensor(poisoned, [N, T, C])], { training: true, masks: [mask] });
    expect(pass.masks).toEqual([null]);
    const y = pass.outputs[0]!.dataSync();
    expectClose(y, global64(N, T, C, 'average', xv, valid), 1e-6, 'output');
    expect(Array.from(y.slice(3 * C))).toEqual([0, 0, 0]);
    const w = rng.normal(N * C);
    const dx = (await pass.backward([rk.tensor(w, [N, C])])).dInputs[0]!.dataSync();
    expectClose(dx, numericGrad((x) => global64(N, T, C, 'average', x, valid), Float64Array.from(xv), w), 1e-4, 'dx vs finite differences');
    for (let i = 0; i < N * T; i++) if (!valid[i]) expect(Array.from(dx.slice(i * C, (i + 1) * C))).toEqual([0, 0, 0]);
    pass.dispose();

    // Right padding as lengths gives the same as its 0/1 mask; tfjs (no masks) on the valid prefix agrees.
    const lengths = StepMask.fromLengths(Int32Array.from([6, 2]), T);
    const two = Float32Array.from(xv.slice(0, 2 * T * C));
    const byLengths = await layer.run([rk.tensor(two, [2, T, C])], { training: false, masks: [lengths] });
    const prefix = tf.slice(tf.tensor(two, [2, T, C]), [1, 0, 0], [1, 2, C]);
    const tfSecond = (tf.layers.globalAveragePooling1d({}).apply(prefix) as tf.Tensor).dataSync();
    expectClose(byLengths.outputs[0]!.dataSync().slice(C), tfSecond, 1e-5, 'lengths vs tfjs on the prefix');
  });

  it('max ignores the mask, as Keras 2 and 3', async () => {
    const xv = new Rng(52).normal(N * T * C);
    const layer = rk.layers.globalMaxPooling1D();
    const masked = await layer.run([rk.tensor(xv, [N, T, C])], { training: true, masks: [StepMask.fromValid(valid, N, T)] });
    expect(masked.masks).toEqual([null]);
    expectClose(masked.outputs[0]!.dataSync(), global64(N, T, C, 'max', xv, null), 1e-6, 'output');
  });

  it('max routes a tie to the first maximum', async () => {
    const pass = await rk.layers.globalMaxPooling1D().run([rk.tensor([1, 4, 4, 2], [1, 4, 1])], { training: true, masks: [null] });
    expect(Array.from((await pass.backward([rk.tensor([7], [1, 1])])).dInputs[0]!.dataSync())).toEqual([0, 7, 0, 0]);
  });
});

describe('pooling configs and errors', () => {
  const context = { where: 'model.json: layer 1', deserialize: () => { throw new Error('unused'); } };

  it('config round trips through the registry, with the Keras aliases', () => {
    const layers: Layer[] = [
      rk.layers.maxPooling1D({ poolSize: 3, strides: 2, padding: 'same', inputShape: [null, 4], name: 'mp' }),
      rk.layers.averagePooling1D({ poolSize: [4], name: 'ap' }),
      rk.layers.globalMaxPooling1D({ keepdims: true, name: 'gmp' }),
      rk.layers.globalAveragePooling1D({ batchInputShape: [8, 10, 2], name: 'gap' }),
    ];
    expect(layers[0]!.getConfig()).toMatchObject({ name: 'mp', pool_size: [3], strides: [2], padding: 'same', data_format: 'channels_last', batch_input_shape: [null, null, 4] });
    expect(layers[1]!.getConfig()).toMatchObject({ pool_size: [4], strides: [4], padding: 'valid' });
    expect(layers[2]!.getConfig()).toMatchObject({ keepdims: true, data_format: 'channels_last' });
    for (const layer of layers) {
      const cfg = JSON.parse(JSON.stringify(layer.getConfig()));
      const back = layerFromConfig(layer.className, cfg, context);
      expect(back.className).toBe(layer.className);
      expect(back.getConfig()).toEqual(layer.getConfig());
      expect(back.weightCount()).toBe(0);
      expect(back.countParams()).toBe(0);
    }
    expect(layerFromConfig('MaxPool1D', { pool_size: 2 }, context).className).toBe('MaxPooling1D');
    expect(layerFromConfig('AvgPool1D', { poolSize: [2], strides: null }, context).getConfig()).toMatchObject({ strides: [2] });
    expect(layerFromConfig('GlobalMaxPool1D', {}, context).className).toBe('GlobalMaxPooling1D');
    expect(layerFromConfig('GlobalAvgPool1D', { keepdims: false }, context).className).toBe('GlobalAveragePooling1D');
  });

  it('rejects bad options, channels_first and bad inputs with codes', async () => {
    expect(() => rk.layers.maxPooling1D({ poolSize: 0 })).toThrow(RangeError);
    expect(() => rk.layers.maxPooling1D({ padding: 'causal' as 'same' })).toThrow(TypeError);
    expect(() => rk.layers.averagePooling1D({ poolSize: 2, pool: 3 } as rk.Pooling1DLayerArgs)).toThrow(expect.objectContaining({ code: 'RNNKIT_INVALID_ARGUMENT' }));
    expect(() => rk.layers.globalAveragePooling1D({ keepdims: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => rk.layers.globalMaxPooling1D({ dataFormat: 'channelsFirst' })).toThrow(expect.objectContaining({ code: 'RNNKIT_UNSUPPORTED' }));
    expect(() => layerFromConfig('MaxPooling1D', { data_format: 'channels_first' }, context)).toThrow(expect.objectContaining({ code: 'RNNKIT_UNSUPPORTED' }));
    expect(() => layerFromConfig('GlobalAveragePooling1D', { data_format: 'channels_first' }, context)).toThrow(expect.objectContaining({ code: 'RNNKIT_UNSUPPORTED' }));
    expect(() => layerFromConfig('AveragePooling1D', { pool_size: 'two' }, context)).toThrow(expect.objectContaining({ code: 'RNNKIT_MODEL_FILE' }));

    const pool = rk.layers.maxPooling1D({ poolSize: 4 });
    expect(() => pool.computeOutputShape([[null, 3, 2]])).toThrow(RangeError);
    expect(pool.computeOutputShape([[null, 4, 2]])).toEqual([[null, 1, 2]]);
    await expect(pool.run([rk.tensor([1, 2, 3], [1, 3, 1])], { training: false, masks: [null] })).rejects.toThrow(/fewer than one window/);
    await expect(pool.run([rk.tensor([1, 2, 3, 4], [2, 2])], { training: false, masks: [null] })).rejects.toThrow(RangeError);
    const x = rk.tensor(new Rng(3).normal(2 * 4 * 1), [2, 4, 1]);
    const inference = await pool.run([x], { training: false, masks: [null] });
    await expect(inference.backward([null])).rejects.toThrow(/training: true/);
    const training = await pool.run([x], { training: true, masks: [null] });
    await expect(training.backward([rk.tensor([1, 2, 3], [1, 3, 1])])).rejects.toThrow(RangeError);
    expect(Array.from((await training.backward([null])).dInputs[0]!.dataSync())).toEqual(new Array(8).fill(0));

    const global = rk.layers.globalAveragePooling1D();
    await expect(global.run([x], { training: false, masks: [StepMask.fromLengths(Int32Array.from([1, 2, 3]), 4)] })).rejects.toThrow(RangeError);
    await expect(global.run([x], { training: false, masks: [new Uint8Array(8) as unknown as StepMask] })).rejects.toThrow(TypeError);
    expect(() => global.computeOutputShape([[null, 4]])).toThrow(RangeError);
    expect(() => global.computeOutputShape([[null, 4, null]])).toThrow(RangeError);
    global.dispose();
    await expect(global.run([x], { training: false, masks: [null] })).rejects.toMatchObject({ code: 'RNNKIT_DISPOSED' });
  });
});
