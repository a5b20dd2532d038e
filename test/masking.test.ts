/**
 * rk.layers.masking: the output and per-step mask against a plain-JS reference and
 * tf.layers.masking (front padding, holes, right padding with lengths), the gradient against
 * finite differences and tf.grads, the logical and with an incoming mask, config round
 * trips and errors.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { StepMask } from '../lib/mask';
import { expectClose } from './helpers/compare';
import { expectCode, finiteDifferences, roundTrip, runLayer } from './helpers/layer-run';
import { Rng } from './helpers/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Random [N, T, C] data with the steps where `valid` is 0 set to `value` in every feature. */
function padded(seed: number, valid: number[], N: number, T: number, C: number, value: number): Float32Array {
  const x = new Rng(seed).normal(N * T * C);
  for (let s = 0; s < N * T; s++) if (!valid[s]) x.fill(value, s * C, (s + 1) * C);
  return x;
}

/** Keras's Masking in float64: the valid flags (some feature differs) and the output. */
function masking64(x: ArrayLike<number>, N: number, T: number, C: number, value: number): { y: Float64Array; valid: number[] } {
  const y = new Float64Array(N * T * C);
  const valid: number[] = [];
  for (let s = 0; s < N * T; s++) {
    let differs = false;
    for (let c = 0; c < C; c++) differs ||= x[s * C + c] !== Math.fround(value);
    valid.push(differs ? 1 : 0);
    for (let c = 0; c < C; c++) y[s * C + c] = differs ? x[s * C + c]! : 0;
  }
  return { y, valid };
}

const CASES: { name: string; valid: number[]; N: number; T: number; lengths: number[] | null }[] = [
  { name: 'front-padded', N: 3, T: 4, valid: [0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1], lengths: null },
  { name: 'with holes', N: 2, T: 5, valid: [1, 0, 1, 0, 1, 1, 1, 0, 0, 1], lengths: null },
  { name: 'right-padded', N: 3, T: 4, valid: [1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0], lengths: [2, 4, 0] },
];

describe('masking', () => {
  for (const { name, valid, N, T, lengths } of CASES)
    for (const value of [0, -1.5])
      it(`${name}, maskValue ${value}: output, mask and gradient match the reference and tf.layers.masking`, async () => {
        const C = 3;
        const x = padded(N * T + valid.indexOf(0), valid, N, T, C, value);
        // A valid step where some (not all) features equal the mask value stays valid.
        if (valid[1]) x[1 * C] = value;
        const G = new Rng(99).normal(N * T * C);
        const layer = rk.layers.masking(value === 0 ? {} : { maskValue: value });
        const r = await runLayer(layer, [rk.tensor(x, [N, T, C])], { dOutput: G });
        const ref = masking64(x, N, T, C, value);
        expect(ref.valid).toEqual(valid);
        expect(r.outputs[0]!.shape).toEqual([N, T, C]);
        expectClose(r.outputs[0]!.values, ref.y, 0, 'output');
        const mask = r.masks[0]!;
        expect(mask).toBeInstanceOf(StepMask);
        expect([mask.N, mask.T]).toEqual([N, T]);
        expect([...mask.valid]).toEqual(valid);
        expect(mask.lengths === null ? null : [...mask.lengths]).toEqual(lengths);

        const tfLayer = tf.layers.masking({ maskValue: value });
        const xt = tf.tensor(x, [N, T, C]);
        expectClose(r.outputs[0]!.values, (tfLayer.apply(xt) as tf.Tensor).dataSync(), 1e-5, 'output vs tfjs');
        expect([...(tfLayer.computeMask(xt) as tf.Tensor).dataSync()]).toEqual(valid);
        // tfjs has no gradient for the mask's `any`: Keras's mask is a constant of the graph, so
        // the reference differentiates x ⊙ mask with the mask tfjs computed.
        const tfMask = tf.expandDims(tf.cast(tfLayer.computeMask(xt) as tf.Tensor, 'float32'), -1);
        const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf.mul(t, tfMask), tf.tensor(G, [N, T, C]))))([xt]);
        expectClose(r.dInputs![0]!.values, dx!.dataSync(), 1e-4, 'dInput vs tf.grads');
        // The mask is a step function of x: away from its edges the reference is linear.
        const [fd] = finiteDifferences(([v]) => {
          const y = new Float64Array(v!.length);
          for (let s = 0; s < N * T; s++) for (let c = 0; c < C; c++) y[s * C + c] = valid[s] ? v![s * C + c]! : 0;
          return y;
        }, [x], G);
        expectClose(r.dInputs![0]!.values, fd!, 1e-4, 'dInput vs finite differences');
      });

  it('combines an incoming mask by a logical and', async () => {
    const [N, T, C] = [2, 4, 2];
    const own = [1, 1, 0, 1, 1, 1, 1, 0];
    const incoming = StepMask.fromValid(Uint8Array.from([1, 0, 1, 1, 1, 1, 1, 1]), N, T);
    const x = padded(21, own, N, T, C, 0);
    const G = new Rng(22).normal(N * T * C);
    const r = await runLayer(rk.layers.masking(), [rk.tensor(x, [N, T, C])], { masks: [incoming], dOutput: G });
    expect([...r.masks[0]!.valid]).toEqual([1, 0, 0, 1, 1, 1, 1, 0]);
    expect(r.masks[0]!.lengths).toBeNull();
    // The output and gradient zero only the steps this layer masks (Keras multiplies by its own mask).
    expectClose(r.outputs[0]!.values, masking64(x, N, T, C, 0).y, 0, 'output');
    const want = Float32Array.from(G);
    for (let s = 0; s < N * T; s++) if (!own[s]) want.fill(0, s * C, (s + 1) * C);
    expectClose(r.dInputs![0]!.values, want, 0, 'dInput');
  });

  it('a right-padded result feeds a recurrent layer its lengths', async () => {
    const [N, T, C] = [2, 5, 3];
    const valid = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1];
    const r = await runLayer(rk.layers.masking(), [rk.tensor(padded(31, valid, N, T, C, 0), [N, T, C])]);
    expect([...r.masks[0]!.lengths!]).toEqual([3, 5]);
    expect(r.masks[0]!.rightPadded).toBe(true);
  });

  it('NaN never equals the mask value: such steps stay valid', async () => {
    const x = Float32Array.from([0, NaN, 0, 0, 1, 2]);
    const r = await runLayer(rk.layers.masking(), [rk.tensor(x, [1, 3, 2])]);
    expect([...r.masks[0]!.valid]).toEqual([1, 0, 1]);
    expect(Number.isNaN(r.outputs[0]!.values[1])).toBe(true);
    expect([...r.outputs[0]!.values.subarray(2)]).toEqual([0, 0, 1, 2]);
  });

  it('a larger batch (several grid-stride rounds on the device)', async () => {
    const [N, T, C] = [40, 33, 7];
    const rng = new Rng(41);
    const valid = Array.from({ length: N * T }, () => (rng.random() < 0.3 ? 0 : 1));
    const x = padded(42, valid, N, T, C, 0.25);
    const G = new Rng(43).normal(N * T * C);
    const r = await runLayer(rk.layers.masking({ maskValue: 0.25 }), [rk.tensor(x, [N, T, C])], { dOutput: G });
    expect([...r.masks[0]!.valid]).toEqual(valid);
    expectClose(r.outputs[0]!.values, masking64(x, N, T, C, 0.25).y, 0, 'output');
    const want = Float32Array.from(G);
    for (let s = 0; s < N * T; s++) if (!valid[s]) want.fill(0, s * C, (s + 1) * C);
    expectClose(r.dInputs![0]!.values, want, 0, 'dInput');
  });

  it('config round trip, shapes and errors', async () => {
    const layer = rk.layers.masking({ maskValue: -1, inputShape: [null, 4], name: 'mask' });
    expect(layer.declaredInputShape).toEqual([null, null, 4]);
    expect(layer.getConfig()).toEqual({ name: 'mask', trainable: true, batch_input_shape: [null, null, 4], dtype: 'float32', mask_value: -1 });
    const copy = roundTrip(layer) as rk.Masking;
    expect(copy.maskValue).toBe(-1);
    expect(rk.layers.masking().getConfig().mask_value).toBe(0);
    expect(layer.computeOutputShape([[null, null, 4]])).toEqual([[null, null, 4]]);
    await expectCode(() => layer.computeOutputShape([[null, 4]]), RangeError, 'RNNKIT_INVALID_ARGUMENT', /rank 3/);
    await expectCode(() => layer.run([rk.tensor([1, 2, 3, 4], [2, 2])], { training: false, masks: [null] }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /rank 3/);
    await expectCode(() => rk.layers.masking({ maskValue: '0' as never }), TypeError, 'RNNKIT_INVALID_ARGUMENT', /maskValue must be a number/);
    await expectCode(() => rk.layers.masking({ mask_value: 0 } as never), TypeError, 'RNNKIT_INVALID_ARGUMENT', /unknown option 'mask_value'/);
    const x = rk.tensor(new Rng(51).normal(12), [2, 3, 2]);
    await expectCode(
      () => layer.run([x], { training: false, masks: [StepMask.fromLengths(Int32Array.from([1, 2]), 4)] }),
      RangeError,
      'RNNKIT_INVALID_ARGUMENT',
      /masks\[0\] is \[2, 4\]/,
    );
    const inference = await layer.run([x], { training: false, masks: [null] });
    await expectCode(() => inference.backward([inference.outputs[0]!]), TypeError, 'RNNKIT_INVALID_ARGUMENT', /without \{ training: true \}/);
    const pass = await layer.run([x], { training: true, masks: [null] });
    await expectCode(() => pass.backward([rk.tensor([1], [1])]), RangeError, 'RNNKIT_INVALID_ARGUMENT', /output's shape \[2, 3, 2\]/);
  });
});
