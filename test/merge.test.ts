/**
 * rk.layers.concatenate, add, multiply and average: forward against float64 references
 * written here and the same tf.layers layer, gradients against central finite differences
 * and tf.grads, masks (logical and; joined along the time axis by Concatenate(axis=1)),
 * config round trips and errors.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import type { Layer } from '../lib/layers/layer';
import { Node, SymbolicTensor } from '../lib/layers/symbolic';
import { StepMask } from '../lib/mask';
import { expectClose } from './helpers/compare';
import { expectCode, finiteDifferences, roundTrip, runLayer } from './helpers/layer-run';
import { Rng } from './helpers/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

type Kind = 'add' | 'multiply' | 'average';

/** The elementwise merge in float64. */
function merge64(kind: Kind, xs: Float64Array[]): Float64Array {
  const y = Float64Array.from(xs[0]!);
  for (const x of xs.slice(1)) for (let i = 0; i < y.length; i++) y[i] = kind === 'multiply' ? y[i]! * x[i]! : y[i]! + x[i]!;
  if (kind === 'average') for (let i = 0; i < y.length; i++) y[i]! /= xs.length;
  return y;
}

/** Concatenation along `axis` of row-major arrays, in float64. */
function concat64(xs: Float64Array[], shapes: number[][], axis: number): Float64Array {
  const outer = size(shapes[0]!.slice(0, axis));
  const widths = shapes.map((s) => size(s.slice(axis)));
  const total = widths.reduce((a, b) => a + b, 0);
  const y = new Float64Array(outer * total);
  for (let o = 0; o < outer; o++) {
    let off = 0;
    xs.forEach((x, i) => {
      y.set(x.subarray(o * widths[i]!, (o + 1) * widths[i]!), o * total + off);
      off += widths[i]!;
    });
  }
  return y;
}

function tfMerge(kind: Kind): tf.layers.Layer {
  return kind === 'add' ? tf.layers.add({}) : kind === 'multiply' ? tf.layers.multiply({}) : tf.layers.average({});
}

function rkMerge(kind: Kind, args: rk.MergeLayerArgs = {}): Layer {
  return rk.layers[kind](args);
}

/** Forward, gradients vs tf.grads of the same tf.layers layer and finite differences of the reference. */
async function checkAgainstTfjs(
  layer: Layer,
  tfLayer: tf.layers.Layer,
  ref: (xs: Float64Array[]) => Float64Array,
  shapes: number[][],
  outShape: number[],
  seed: number,
): Promise<void> {
  const rng = new Rng(seed);
  const xs = shapes.map((s) => rng.normal(size(s)));
  const G = rng.normal(size(outShape));
  const r = await runLayer(layer, xs.map((x, i) => rk.tensor(x, shapes[i])), { dOutput: G });
  expect(r.outputs[0]!.shape).toEqual(outShape);
  expectClose(r.outputs[0]!.values, ref(xs.map((x) => Float64Array.from(x))), 1e-6, 'output');
  const tfInputs = xs.map((x, i) => tf.tensor(x, shapes[i]));
  expectClose(r.outputs[0]!.values, (tfLayer.apply(tfInputs) as tf.Tensor).dataSync(), 1e-5, 'output vs tfjs');
  const want = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(tfLayer.apply(ts) as tf.Tensor, tf.tensor(G, outShape))))(tfInputs);
  const fd = finiteDifferences(ref, xs, G);
  expect(r.dInputs!.length).toBe(shapes.length);
  r.dInputs!.forEach((d, i) => {
    expect(d.shape).toEqual(shapes[i]);
    expectClose(d.values, want[i]!.dataSync(), 1e-4, `dInputs[${i}] vs tf.grads`);
    expectClose(d.values, fd[i]!, 1e-4, `dInputs[${i}] vs finite differences`);
  });
}

describe('add, multiply, average', () => {
  for (const kind of ['add', 'multiply', 'average'] as const)
    for (const shapes of [[[4, 5], [4, 5]], [[2, 3, 4], [2, 3, 4], [2, 3, 4]]])
      it(`${kind} of ${shapes.length} inputs [${shapes[0]!.join(',')}] matches the reference and tf.layers.${kind}`, async () => {
        await checkAgainstTfjs(rkMerge(kind), tfMerge(kind), (xs) => merge64(kind, xs), shapes, shapes[0]!, shapes.length * 10 + kind.length);
      });

  it('multiply takes the product of the others, also where an input is zero', async () => {
    const a = Float32Array.from([0, 2, -3, 0.5]), b = Float32Array.from([4, 0, 5, 2]), c = Float32Array.from([1, 3, 0, -2]);
    const G = Float32Array.from([1, -1, 2, 0.5]);
    const r = await runLayer(rk.layers.multiply(), [rk.tensor(a, [2, 2]), rk.tensor(b, [2, 2]), rk.tensor(c, [2, 2])], { dOutput: G });
    expect([...r.outputs[0]!.values]).toEqual([0, 0, -0, -2]);
    expect([...r.dInputs![0]!.values]).toEqual([4, -0, 0, -2]);
    expect([...r.dInputs![1]!.values]).toEqual([0, -6, -0, -0.5]);
    expect([...r.dInputs![2]!.values]).toEqual([0, -0, -30, 0.5]);
  });

  it('masks: a logical and of the given ones, null when none is given', async () => {
    const [N, T, C] = [2, 3, 2];
    const rng = new Rng(5);
    const xs = [0, 1, 2].map(() => rk.tensor(rng.normal(N * T * C), [N, T, C]));
    const m1 = StepMask.fromValid(Uint8Array.from([1, 1, 0, 1, 0, 1]), N, T);
    const m2 = StepMask.fromLengths(Int32Array.from([3, 2]), T);
    expect((await runLayer(rk.layers.add(), xs)).masks).toEqual([null]);
    const one = await runLayer(rk.layers.average(), xs, { masks: [null, m1, null] });
    expect([...one.masks[0]!.valid]).toEqual([1, 1, 0, 1, 0, 1]);
    expect(one.masks[0]!.lengths).toBeNull();
    const both = await runLayer(rk.layers.multiply(), xs, { masks: [m2, null, m1] });
    expect([...both.masks[0]!.valid]).toEqual([1, 1, 0, 1, 0, 0]);
    expect([...both.masks[0]!.lengths!]).toEqual([2, 1]);
    const right = await runLayer(rk.layers.add(), xs.slice(0, 2), { masks: [m2, StepMask.fromLengths(Int32Array.from([2, 3]), T)] });
    expect([...right.masks[0]!.lengths!]).toEqual([2, 2]);
  });

  it('errors: shapes that differ (no broadcasting), input counts, devices of options', async () => {
    const layer = rk.layers.add({ name: 'plus' });
    expect(layer.inputArity).toBe('many');
    expect(layer.computeOutputShape([[null, 3], [5, 3]])).toEqual([[5, 3]]);
    await expectCode(() => layer.computeOutputShape([[null, 3], [null, 4]]), RangeError, 'RNNKIT_INVALID_ARGUMENT', /plus: inputs must all have one shape, got \(None, 3\), \(None, 4\)/);
    await expectCode(() => layer.computeOutputShape([[null, 3]]), TypeError, 'RNNKIT_INVALID_ARGUMENT', /at least 2/);
    const rng = new Rng(6);
    const a = rk.tensor(rng.normal(6), [2, 3]);
    await expectCode(() => layer.run([a, rk.tensor(rng.normal(3), [1, 3])], { training: false, masks: [null, null] }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /does not broadcast/);
    await expectCode(() => layer.run([a, rk.tensor(rng.normal(6), [2, 3, 1])], { training: false, masks: [null, null] }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /one shape/);
    await expectCode(() => layer.run([a], { training: false, masks: [null] }), TypeError, 'RNNKIT_INVALID_ARGUMENT', /at least 2 inputs, got 1/);
    await expectCode(() => layer.run([a, a], { training: false, masks: [null] }), TypeError, 'RNNKIT_INVALID_ARGUMENT', /one StepMask or null per input/);
    await expectCode(() => rk.layers.multiply({ axis: 1 } as never), TypeError, 'RNNKIT_INVALID_ARGUMENT', /unknown option 'axis'/);
    const pass = await layer.run([a, a], { training: false, masks: [null, null] });
    await expectCode(() => pass.backward([pass.outputs[0]!]), TypeError, 'RNNKIT_INVALID_ARGUMENT', /without \{ training: true \}/);
  });

  it('config round trips; a null dOutput gives zero gradients', async () => {
    for (const kind of ['add', 'multiply', 'average'] as const) {
      const layer = rkMerge(kind, { name: `m_${kind}` });
      expect(layer.getConfig()).toEqual({ name: `m_${kind}`, trainable: true, dtype: 'float32' });
      roundTrip(layer);
    }
    const a = rk.tensor(new Rng(7).normal(4), [2, 2]);
    const pass = await rk.layers.average().run([a, a], { training: true, masks: [null, null] });
    const g = await pass.backward([null]);
    expect(g.dInputs.map((d) => [...d!.dataSync()])).toEqual([[0, 0, 0, 0], [0, 0, 0, 0]]);
  });
});

describe('inputs disposed before backward', () => {
  it('add and average need only dOutput; multiply needs its inputs (RNNKIT_DISPOSED)', async () => {
    const rng = new Rng(15);
    for (const kind of ['add', 'average', 'multiply'] as const) {
      const a = rk.tensor(rng.normal(6), [2, 3]), b = rk.tensor(rng.normal(6), [2, 3]);
      const pass = await rkMerge(kind).run([a, b], { training: true, masks: [null, null] });
      a.dispose();
      b.dispose();
      const dy = rk.tensor(rng.normal(6), [2, 3]);
      if (kind === 'multiply') {
        await expectCode(() => pass.backward([dy]), Error, 'RNNKIT_DISPOSED');
        continue;
      }
      const g = await pass.backward([dy]);
      const want = Float32Array.from(dy.dataSync(), (v) => (kind === 'add' ? v : Math.fround(v * 0.5)));
      for (const d of g.dInputs) expect([...d!.dataSync()]).toEqual([...want]);
    }
  });
});

describe('concatenate', () => {
  const cases: { axis: number; shapes: number[][]; out: number[] }[] = [
    { axis: -1, shapes: [[3, 2], [3, 5]], out: [3, 7] },
    { axis: -1, shapes: [[2, 4, 3], [2, 4, 1], [2, 4, 2]], out: [2, 4, 6] },
    { axis: 1, shapes: [[2, 3, 4], [2, 1, 4]], out: [2, 4, 4] },
    { axis: 2, shapes: [[2, 3, 2, 2], [2, 3, 1, 2]], out: [2, 3, 3, 2] },
  ];
  for (const { axis, shapes, out } of cases)
    it(`axis ${axis} of ${shapes.map((s) => `[${s.join(',')}]`).join(' and ')} matches the reference and tf.layers.concatenate`, async () => {
      const a = axis < 0 ? axis + out.length : axis;
      await checkAgainstTfjs(rk.layers.concatenate({ axis }), tf.layers.concatenate({ axis }), (xs) => concat64(xs, shapes, a), shapes, out, out.length * 7 + a);
    });

  it('masks: joined along the time axis (a missing one all valid), a logical and along features', async () => {
    const rng = new Rng(8);
    const x = rk.tensor(rng.normal(2 * 3 * 2), [2, 3, 2]);
    const y = rk.tensor(rng.normal(2 * 2 * 2), [2, 2, 2]);
    const mx = StepMask.fromLengths(Int32Array.from([2, 3]), 3);
    const joined = await runLayer(rk.layers.concatenate({ axis: 1 }), [x, y], { masks: [mx, null] });
    expect(joined.masks[0]!.T).toBe(5);
    expect([...joined.masks[0]!.valid]).toEqual([1, 1, 0, 1, 1, 1, 1, 1, 1, 1]);
    expect(joined.masks[0]!.lengths).toBeNull();
    const my = StepMask.fromLengths(Int32Array.from([1, 2]), 2);
    const right = await runLayer(rk.layers.concatenate({ axis: 1 }), [y, y], { masks: [null, my] });
    expect([...right.masks[0]!.lengths!]).toEqual([3, 4]);
    const z = rk.tensor(rng.normal(2 * 3 * 4), [2, 3, 4]);
    const features = await runLayer(rk.layers.concatenate(), [x, z], { masks: [mx, StepMask.fromValid(Uint8Array.from([1, 0, 1, 1, 1, 1]), 2, 3)] });
    expect([...features.masks[0]!.valid]).toEqual([1, 0, 0, 1, 1, 1]);
    expect((await runLayer(rk.layers.concatenate(), [x, z])).masks).toEqual([null]);
    // tf.layers.concatenate's computeMask agrees (tf.keras 2 too; Keras 3 ORs along features).
    const tfMask = (axis: number, shapes: number[][], masks: (StepMask | null)[]) =>
      [
        ...(tf.layers
          .concatenate({ axis })
          .computeMask(
            shapes.map((s) => tf.zeros(s)),
            masks.map((m) => (m ? tf.tensor(m.valid, [m.N, m.T], 'bool') : null)) as tf.Tensor[],
          ) as tf.Tensor).dataSync(),
      ];
    // (tfjs cannot join a missing mask with a given one along time: both are given here.)
    const both = await runLayer(rk.layers.concatenate({ axis: 1 }), [x, y], { masks: [mx, my] });
    expect([...both.masks[0]!.valid]).toEqual([1, 1, 0, 1, 0, 1, 1, 1, 1, 1]);
    expect(tfMask(1, [[2, 3, 2], [2, 2, 2]], [mx, my])).toEqual([...both.masks[0]!.valid]);
    expect(tfMask(-1, [[2, 3, 2], [2, 3, 4]], [mx, StepMask.fromValid(Uint8Array.from([1, 0, 1, 1, 1, 1]), 2, 3)])).toEqual([...features.masks[0]!.valid]);
  });

  it('apply on symbolic tensors gives the output shape; a merge needs a list of 2 or more', () => {
    const source = new Node(rk.layers.flatten(), []);
    const a = new SymbolicTensor([null, 4, 3], source, 0);
    const b = new SymbolicTensor([null, 4, 5], source, 1);
    const out = rk.layers.concatenate().apply([a, b]) as SymbolicTensor;
    expect(out.shape).toEqual([null, 4, 8]);
    expect((rk.layers.add().apply([a, a]) as SymbolicTensor).shape).toEqual([null, 4, 3]);
    expect(() => rk.layers.add().apply(a)).toThrow(/at least 2 inputs, got one tensor/);
    expect(() => rk.layers.multiply({ name: 'mul' }).apply([a, b])).toThrow(/mul: inputs must all have one shape/);
    expect((rk.layers.flatten().apply(b) as SymbolicTensor).shape).toEqual([null, 20]);
    expect((rk.layers.repeatVector({ n: 6 }).apply(rk.layers.flatten().apply(a) as SymbolicTensor) as SymbolicTensor).shape).toEqual([null, 6, 12]);
  });

  it('shapes with unknown axes; errors for mismatched shapes, the batch axis and input counts', async () => {
    const layer = rk.layers.concatenate({ name: 'cat' });
    expect(layer.computeOutputShape([[null, null, 3], [null, 5, 2]])).toEqual([[null, 5, 5]]);
    expect(rk.layers.concatenate({ axis: 1 }).computeOutputShape([[null, null, 3], [null, 5, 3]])).toEqual([[null, null, 3]]);
    await expectCode(() => layer.computeOutputShape([[null, 4, 3], [null, 5, 2]]), RangeError, 'RNNKIT_INVALID_ARGUMENT', /cat: inputs must have one shape except along axis -1, got \(None, 4, 3\), \(None, 5, 2\)/);
    await expectCode(() => layer.computeOutputShape([[null, 4, 3], [null, 4]]), RangeError, 'RNNKIT_INVALID_ARGUMENT', /one shape except/);
    await expectCode(() => rk.layers.concatenate({ axis: 0 }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /batch axis/);
    await expectCode(() => rk.layers.concatenate({ axis: -3 }).computeOutputShape([[null, 2, 3], [null, 2, 3]]), RangeError, 'RNNKIT_INVALID_ARGUMENT', /batch axis/);
    await expectCode(() => rk.layers.concatenate({ axis: 3 }).computeOutputShape([[null, 2, 3], [null, 2, 3]]), RangeError, 'RNNKIT_INVALID_ARGUMENT', /outside inputs of rank 3/);
    await expectCode(() => rk.layers.concatenate({ axis: 1.5 }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /axis must be an integer/);
    const rng = new Rng(9);
    const a = rk.tensor(rng.normal(6), [2, 3]);
    await expectCode(() => layer.run([a, rk.tensor(rng.normal(6), [3, 2])], { training: false, masks: [null, null] }), RangeError, 'RNNKIT_INVALID_ARGUMENT', /one shape except/);
    await expectCode(() => layer.run([a], { training: false, masks: [null] }), TypeError, 'RNNKIT_INVALID_ARGUMENT', /at least 2 inputs/);
    await expectCode(() => layer.run([a, 'b' as never], { training: false, masks: [null, null] }), TypeError, 'RNNKIT_INVALID_ARGUMENT', /inputs\[1\] must be a Tensor/);
  });

  it('config round trip', () => {
    const layer = rk.layers.concatenate({ axis: 1, name: 'c1' });
    expect(layer.getConfig()).toEqual({ name: 'c1', trainable: true, dtype: 'float32', axis: 1 });
    expect((roundTrip(layer) as rk.Concatenate).axis).toBe(1);
    expect(rk.layers.concatenate().getConfig().axis).toBe(-1);
  });
});
