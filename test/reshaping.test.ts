/**
 * rk.layers.flatten, reshape and repeatVector: forward against plain-JS references written
 * here and tf.layers, gradients against central finite differences and tf.grads, masks
 * dropped, config round trips through the registry, and errors with their codes.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { layerFromConfig } from '../lib/layers/registry';
import { StepMask } from '../lib/mask';
import { expectClose } from './helpers/compare';
import { expectCode, finiteDifferences, roundTrip, runLayer } from './helpers/layer-run';
import { Rng } from './helpers/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Σ G ⊙ layer(x) differentiated by tf.grads, for a tf.layers layer. */
function tfGrad(layer: tf.layers.Layer, x: Float32Array, shape: number[], G: Float32Array, outShape: number[]): Float32Array {
  const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, tf.tensor(G, outShape))))([tf.tensor(x, shape)]);
  return dx!.dataSync() as Float32Array;
}

function tfForward(layer: tf.layers.Layer, x: Float32Array, shape: number[]): { shape: number[]; values: Float32Array } {
  const y = layer.apply(tf.tensor(x, shape)) as tf.Tensor;
  return { shape: y.shape, values: y.dataSync() as Float32Array };
}

/** [N, n, C] from [N, C] in float64: the reference of RepeatVector. */
function repeat64(x: Float64Array, N: number, n: number, C: number): Float64Array {
  const y = new Float64Array(N * n * C);
  for (let r = 0; r < N; r++) for (let k = 0; k < n; k++) for (let c = 0; c < C; c++) y[(r * n + k) * C + c] = x[r * C + c]!;
  return y;
}

describe('flatten', () => {
  for (const shape of [[3, 4, 5], [2, 3, 2, 4]])
    it(`[${shape.join(',')}]: forward and gradients match the reference and tf.layers.flatten`, async () => {
      const rng = new Rng(size(shape));
      const x = rng.normal(size(shape)), G = rng.normal(size(shape));
      const layer = rk.layers.flatten();
      const r = await runLayer(layer, [rk.tensor(x, shape)], { dOutput: G });
      const out = [shape[0]!, size(shape.slice(1))];
      expect(r.outputs[0]!.shape).toEqual(out);
      // Row-major order is kept: the values are the input's, in order.
      expectClose(r.outputs[0]!.values, x, 0, 'output');
      const want = tfForward(tf.layers.flatten(), x, shape);
      expect(want.shape).toEqual(out);
      expectClose(r.outputs[0]!.values, want.values, 1e-5, 'output vs tfjs');
      expect(r.dInputs![0]!.shape).toEqual(shape);
      expectClose(r.dInputs![0]!.values, tfGrad(tf.layers.flatten(), x, shape, G, out), 1e-4, 'dInput vs tf.grads');
      const [fd] = finiteDifferences(([v]) => Float64Array.from(v!), [x], G);
      expectClose(r.dInputs![0]!.values, fd!, 1e-4, 'dInput vs finite differences');
    });

  it('rank 2 stays [N, C] and rank 1 becomes [N, 1] (Keras)', async () => {
    const x = new Rng(3).normal(12);
    const a = await runLayer(rk.layers.flatten(), [rk.tensor(x, [4, 3])]);
    expect(a.outputs[0]!.shape).toEqual([4, 3]);
    expectClose(a.outputs[0]!.values, x, 0, 'rank 2');
    const b = await runLayer(rk.layers.flatten(), [rk.tensor(x, [12])]);
    expect(b.outputs[0]!.shape).toEqual([12, 1]);
    expect(rk.layers.flatten().computeOutputShape([[null]])).toEqual([[null, 1]]);
  });

  it('drops the mask, and shapes with an unknown axis are refused', async () => {
    const mask = StepMask.fromLengths(Int32Array.from([2, 1]), 3);
    const r = await runLayer(rk.layers.flatten(), [rk.tensor(new Rng(4).normal(2 * 3 * 2), [2, 3, 2])], { masks: [mask] });
    expect(r.masks).toEqual([null]);
    const layer = rk.layers.flatten({ name: 'flat' });
    expect(layer.computeOutputShape([[null, 5, 4]])).toEqual([[null, 20]]);
    await expectCode(() => layer.computeOutputShape([[null, null, 4]]), RangeError, 'RNNKIT_INVALID_ARGUMENT', /flat: every axis but the batch axis must be known.*\(None, None, 4\)/);
  });

  it('options, config round trip and errors', async () => {
    const layer = rk.layers.flatten({ inputShape: [5, 4], name: 'f1' });
    expect(layer.declaredInputShape).toEqual([null, 5, 4]);
    expect(layer.inputArity).toBe(1);
    expect(layer.weightCount()).toBe(0);
    expect(layer.countParams()).toBe(0);
    const config = layer.getConfig();
    expect(config).toEqual({ name: 'f1', trainable: true, batch_input_shape: [null, 5, 4], dtype: 'float32', data_format: 'channels_last' });
    const copy = roundTrip(layer);
    expect(copy.declaredInputShape).toEqual([null, 5, 4]);
    await expectCode(() => rk.layers.flatten({ units: 3 } as never), TypeError, 'RNNKIT_INVALID_ARGUMENT', /unknown option 'units'/);
    await expectCode(() => rk.layers.flatten({ dataFormat: 'channelsFirst' }), Error, 'RNNKIT_UNSUPPORTED', /channelsFirst/);
    await expectCode(() => layer.run([], { training: false, masks: [] }), TypeError, 'RNNKIT_INVALID_ARGUMENT', /takes one input/);
  });

  it('backward of a pass run without training rejects; a null dOutput gives zeros', async () => {
    const x = rk.tensor(new Rng(5).normal(6), [2, 3, 1]);
    const layer = rk.layers.flatten();
    const inference = await layer.run([x], { training: false, masks: [null] });
    await expectCode(() => inference.backward([inference.outputs[0]!]), TypeError, 'RNNKIT_INVALID_ARGUMENT', /without \{ training: true \}/);
    const pass = await layer.run([x], { training: true, masks: [null] });
    const g = await pass.backward([null]);
    expect(g.dInputs[0]!.shape).toEqual([2, 3, 1]);
    expect([...g.dInputs[0]!.dataSync()]).toEqual([0, 0, 0, 0, 0, 0]);
    await expectCode(() => pass.backward([null]), TypeError, 'RNNKIT_INVALID_ARGUMENT', /already differentiated/);
    layer.dispose();
    await expectCode(() => layer.run([x], { training: false, masks: [null] }), Error, 'RNNKIT_DISPOSED');
  });
});

describe('reshape', () => {
  const cases: { shape: number[]; target: number[]; out: number[] }[] = [
    { shape: [2, 3, 4], target: [4, -1], out: [2, 4, 3] },
    { shape: [3, 12], target: [2, 3, 2], out: [3, 2, 3, 2] },
    { shape: [2, 3, 4], target: [-1], out: [2, 12] },
  ];
  for (const { shape, target, out } of cases)
    it(`[${shape.join(',')}] to targetShape [${target.join(',')}] matches tf.layers.reshape`, async () => {
      const rng = new Rng(size(shape) + target.length);
      const x = rng.normal(size(shape)), G = rng.normal(size(shape));
      const r = await runLayer(rk.layers.reshape({ targetShape: target }), [rk.tensor(x, shape)], { dOutput: G });
      expect(r.outputs[0]!.shape).toEqual(out);
      expectClose(r.outputs[0]!.values, x, 0, 'output');
      const want = tfForward(tf.layers.reshape({ targetShape: target }), x, shape);
      expect(want.shape).toEqual(out);
      expectClose(r.outputs[0]!.values, want.values, 1e-5, 'output vs tfjs');
      expect(r.dInputs![0]!.shape).toEqual(shape);
      expectClose(r.dInputs![0]!.values, tfGrad(tf.layers.reshape({ targetShape: target }), x, shape, G, out), 1e-4, 'dInput vs tf.grads');
      const [fd] = finiteDifferences(([v]) => Float64Array.from(v!), [x], G);
      expectClose(r.dInputs![0]!.values, fd!, 1e-4, 'dInput vs finite differences');
    });

  it('output shapes with unknown axes; a mismatch names both shapes', async () => {
    const layer = rk.layers.reshape({ targetShape: [6, -1], name: 'rs' });
    expect(layer.computeOutputShape([[null, 4, 3]])).toEqual([[null, 6, 2]]);
    expect(layer.computeOutputShape([[null, null, 3]])).toEqual([[null, 6, null]]);
    await expectCode(() => layer.computeOutputShape([[null, 5, 3]]), RangeError, 'RNNKIT_INVALID_ARGUMENT', /rs: cannot reshape input \(None, 5, 3\).*\(None, 6, -1\)/);
    const fixed = rk.layers.reshape({ targetShape: [5] });
    await expectCode(
      () => fixed.run([rk.tensor(new Rng(6).normal(24), [2, 3, 4])], { training: false, masks: [null] }),
      RangeError,
      'RNNKIT_INVALID_ARGUMENT',
      /cannot reshape input \(2, 3, 4\) \(12 values per sample\) into target shape \(None, 5\)/,
    );
  });

  it('bad targetShape options are refused with codes', async () => {
    await expectCode(() => rk.layers.reshape({} as never), TypeError, 'RNNKIT_INVALID_ARGUMENT', /targetShape must be a non-empty array/);
    await expectCode(() => rk.layers.reshape({ targetShape: [2.5] }), TypeError, 'RNNKIT_INVALID_ARGUMENT', /targetShape/);
    await expectCode(() => rk.layers.reshape({ targetShape: [0, 3] }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /positive or -1/);
    await expectCode(() => rk.layers.reshape({ targetShape: [-1, -1] }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /one -1/);
  });

  it('drops the mask; config round trip (snake_case and camelCase keys)', async () => {
    const mask = StepMask.fromValid(Uint8Array.from([1, 0, 1, 1]), 2, 2);
    const r = await runLayer(rk.layers.reshape({ targetShape: [4] }), [rk.tensor(new Rng(7).normal(8), [2, 2, 2])], { masks: [mask] });
    expect(r.masks).toEqual([null]);
    const layer = rk.layers.reshape({ targetShape: [3, -1], inputShape: [6], name: 'r2' });
    expect(layer.getConfig()).toEqual({ name: 'r2', trainable: true, batch_input_shape: [null, 6], dtype: 'float32', target_shape: [3, -1] });
    roundTrip(layer);
    const camel = layerFromConfigCamel('Reshape', { name: 'r3', targetShape: [2, 2] });
    expect(camel.getConfig().target_shape).toEqual([2, 2]);
    await expectCode(() => layerFromConfigCamel('Reshape', { name: 'r4', target_shape: [0] }), RangeError, 'RNNKIT_MODEL_FILE', /file: .*positive or -1/);
  });
});

describe('repeatVector', () => {
  it('forward and gradients match the reference, tf.layers.repeatVector and finite differences', async () => {
    const [N, n, C] = [3, 4, 5];
    const rng = new Rng(11);
    const x = rng.normal(N * C), G = rng.normal(N * n * C);
    const r = await runLayer(rk.layers.repeatVector({ n }), [rk.tensor(x, [N, C])], { dOutput: G });
    expect(r.outputs[0]!.shape).toEqual([N, n, C]);
    expectClose(r.outputs[0]!.values, repeat64(Float64Array.from(x), N, n, C), 1e-7, 'output');
    const want = tfForward(tf.layers.repeatVector({ n }), x, [N, C]);
    expectClose(r.outputs[0]!.values, want.values, 1e-5, 'output vs tfjs');
    expect(r.dInputs![0]!.shape).toEqual([N, C]);
    expectClose(r.dInputs![0]!.values, tfGrad(tf.layers.repeatVector({ n }), x, [N, C], G, [N, n, C]), 1e-4, 'dInput vs tf.grads');
    const [fd] = finiteDifferences(([v]) => repeat64(v!, N, n, C), [x], G);
    expectClose(r.dInputs![0]!.values, fd!, 1e-4, 'dInput vs finite differences');
  });

  it('n = 1, larger batches and a mask that is dropped', async () => {
    const [N, C] = [70, 3];
    const rng = new Rng(12);
    const x = rng.normal(N * C), G = rng.normal(N * C);
    const r = await runLayer(rk.layers.repeatVector({ n: 1 }), [rk.tensor(x, [N, C])], { dOutput: G });
    expect(r.outputs[0]!.shape).toEqual([N, 1, C]);
    expectClose(r.outputs[0]!.values, x, 0, 'output');
    expectClose(r.dInputs![0]!.values, G, 0, 'dInput');
    expect(r.masks).toEqual([null]);
  });

  it('shapes, config round trip and errors', async () => {
    const layer = rk.layers.repeatVector({ n: 3, inputShape: [4], name: 'rv' });
    expect(layer.computeOutputShape([[null, 4]])).toEqual([[null, 3, 4]]);
    expect(layer.getConfig()).toEqual({ name: 'rv', trainable: true, batch_input_shape: [null, 4], dtype: 'float32', n: 3 });
    roundTrip(layer);
    await expectCode(() => layer.computeOutputShape([[null, 2, 4]]), RangeError, 'RNNKIT_INVALID_ARGUMENT', /rank 2/);
    await expectCode(() => layer.run([rk.tensor(new Rng(13).normal(8), [2, 2, 2])], { training: false, masks: [null] }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /rank 2/);
    await expectCode(() => rk.layers.repeatVector({ n: 0 }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /n must be a positive integer/);
    await expectCode(() => rk.layers.repeatVector({} as never), TypeError, 'RNNKIT_INVALID_ARGUMENT', /n must be a positive integer/);
    await expectCode(() => rk.layers.repeatVector({ n: 2, inputShape: [3, 4] }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /rank-1/);
  });
});


/** A layer from a config as tfjs keeps it in memory (camelCase keys), as a file reader would. */
function layerFromConfigCamel(className: string, config: Record<string, unknown>) {
  return layerFromConfig(className, config, {
    where: 'file',
    deserialize: () => {
      throw new Error('no nested layers');
    },
  });
}
