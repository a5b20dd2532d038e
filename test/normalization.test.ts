/**
 * rk.layers.layerNormalization and rk.layers.batchNormalization against float64 references
 * written here (forward, and central finite differences of them for the backward pass),
 * and against TensorFlow.js (tf.layers.layerNormalization / batchNormalization, tf.grads
 * and tf.variableGrads; tfjs's batch normalization in training mode for the batch
 * statistics and the moving-average update), on rank-2 and rank-3 inputs. Also Keras 3's
 * masked batch statistics, config round trips through the registry, and errors.
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

const SHAPES: number[][] = [
  [6, 5],
  [3, 4, 5],
];

const context = { where: 'test config', deserialize: () => { throw new Error('no nested layers here'); } };

type Vec = ArrayLike<number>;

/** Layer normalization of each row of x (C per row), float64. */
function layerNorm64(x: Vec, C: number, gamma: Vec | null, beta: Vec | null, eps: number): Float64Array {
  const rows = x.length / C;
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[r * C + c]!;
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[r * C + c]! - m) ** 2;
    v /= C;
    const rs = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c]! - m) * rs * (gamma ? gamma[c]! : 1) + (beta ? beta[c]! : 0);
  }
  return y;
}

/** Batch statistics over every row (weighted as Keras 3 does with a mask), float64. */
function batchStats64(x: Vec, C: number, w: Vec | null): { mean: Float64Array; variance: Float64Array } {
  const rows = x.length / C;
  let S = rows;
  if (w) {
    S = 1e-7;
    for (let r = 0; r < rows; r++) S += w[r]!;
  }
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) mean[c] += (w ? w[r]! : 1) * x[r * C + c]!;
  for (let c = 0; c < C; c++) mean[c] /= S;
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) variance[c] += (w ? w[r]! : 1) * (x[r * C + c]! - mean[c]!) ** 2;
  for (let c = 0; c < C; c++) variance[c] /= S;
  return { mean, variance };
}

function batchNorm64(x: Vec, C: number, mean: Vec, variance: Vec, gamma: Vec | null, beta: Vec | null, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    y[i] = ((x[i]! - mean[c]!) / Math.sqrt(variance[c]! + eps)) * (gamma ? gamma[c]! : 1) + (beta ? beta[c]! : 0);
  }
  return y;
}

function batchNormTrain64(x: Vec, C: number, gamma: Vec | null, beta: Vec | null, eps: number, w: Vec | null = null): Float64Array {
  const s = batchStats64(x, C, w);
  return batchNorm64(x, C, s.mean, s.variance, gamma, beta, eps);
}

/** Central finite differences of L = Σ f(params)·dy with respect to params[which]. */
function fdGrad(f: (p: Float64Array[]) => Float64Array, params: Float64Array[], which: number, dy: Vec, h = 1e-5): Float64Array {
  const loss = (p: Float64Array[]) => f(p).reduce((s, v, i) => s + v * dy[i]!, 0);
  const g = new Float64Array(params[which]!.length);
  for (let i = 0; i < g.length; i++) {
    const plus = params.map((p) => Float64Array.from(p));
    const minus = params.map((p) => Float64Array.from(p));
    plus[which]![i]! += h;
    minus[which]![i]! -= h;
    g[i] = (loss(plus) - loss(minus)) / (2 * h);
  }
  return g;
}

const f64 = (a: Vec) => Float64Array.from(a as ArrayLike<number>);
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function data(rng: Rng, shape: number[]) {
  const C = shape[shape.length - 1]!;
  return {
    C,
    x: rng.normal(size(shape), 0.5, 2),
    dy: rng.normal(size(shape)),
    gamma: rng.uniform(C, 0.5, 1.5),
    beta: rng.uniform(C, -0.5, 0.5),
    movingMean: rng.uniform(C, -0.3, 0.3),
    movingVariance: rng.uniform(C, 0.5, 2),
  };
}

describe('layerNormalization forward and backward', () => {
  for (const shape of SHAPES)
    it(`[${shape.join(',')}] matches the float64 reference, its finite differences and tfjs`, async () => {
      const rng = new Rng(100 + shape.length);
      const d = data(rng, shape);
      const eps = 1e-3;
      const layer = rk.layers.layerNormalization({});
      layer.setWeights([d.gamma, d.beta]);
      const x = rk.tensor(d.x, shape);
      const pass = await layer.run([x], { training: true, masks: [null] });
      const y = pass.outputs[0]!;
      expect(y.shape).toEqual(shape);
      expectClose(y.dataSync(), layerNorm64(d.x, d.C, d.gamma, d.beta, eps), 1e-5, 'forward vs float64');

      const g = await pass.backward([rk.tensor(d.dy, shape)]);
      const f = (p: Float64Array[]) => layerNorm64(p[0]!, d.C, p[1]!, p[2]!, eps);
      const params = [f64(d.x), f64(d.gamma), f64(d.beta)];
      expectClose(g.dInputs[0]!.dataSync(), fdGrad(f, params, 0, d.dy), 1e-4, 'dx vs finite differences');
      expectClose(g.dWeights[0]!.dataSync(), fdGrad(f, params, 1, d.dy), 1e-4, 'dgamma vs finite differences');
      expectClose(g.dWeights[1]!.dataSync(), fdGrad(f, params, 2, d.dy), 1e-4, 'dbeta vs finite differences');

      // tfjs: the same layer, the same weights.
      const tl = tf.layers.layerNormalization({ axis: -1, epsilon: eps });
      tl.build(shape);
      tl.setWeights([tf.tensor(d.gamma), tf.tensor(d.beta)]);
      const xv = tf.variable(tf.tensor(d.x, shape));
      const dyT = tf.tensor(d.dy, shape);
      const vars = [xv, ...tl.trainableWeights.map((w) => w.read() as tf.Variable)];
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tl.apply(xv) as tf.Tensor, dyT)) as tf.Scalar, vars);
      value.dispose();
      expectClose(y.dataSync(), (tl.apply(xv) as tf.Tensor).dataSync(), 1e-5, 'forward vs tfjs');
      expectClose(g.dInputs[0]!.dataSync(), grads[xv.name]!.dataSync(), 1e-4, 'dx vs tfjs');
      expectClose(g.dWeights[0]!.dataSync(), grads[vars[1]!.name]!.dataSync(), 1e-4, 'dgamma vs tfjs');
      expectClose(g.dWeights[1]!.dataSync(), grads[vars[2]!.name]!.dataSync(), 1e-4, 'dbeta vs tfjs');
      pass.dispose();
      layer.dispose();
    });

  it('without center and scale has no weights and computes the plain normalization', async () => {
    const rng = new Rng(7);
    const d = data(rng, [4, 6]);
    const layer = rk.layers.layerNormalization({ center: false, scale: false, epsilon: 1e-5 });
    expect(layer.weightCount()).toBe(0);
    expect(layer.built).toBe(true);
    const pass = await layer.run([rk.tensor(d.x, [4, 6])], { training: true, masks: [null] });
    expectClose(pass.outputs[0]!.dataSync(), layerNorm64(d.x, 6, null, null, 1e-5), 1e-5, 'forward');
    const g = await pass.backward([rk.tensor(d.dy, [4, 6])]);
    expect(g.dWeights).toEqual([]);
    expectClose(g.dInputs[0]!.dataSync(), fdGrad((p) => layerNorm64(p[0]!, 6, null, null, 1e-5), [f64(d.x)], 0, d.dy), 1e-4, 'dx');
  });

  it('has Keras weights, names and counts; passes the mask through; an inference pass refuses backward', async () => {
    const layer = rk.layers.layerNormalization({ inputShape: [4, 3], name: 'ln' });
    expect(layer.built).toBe(true);
    expect(layer.weightNames()).toEqual(['gamma', 'beta']);
    expect(layer.countParams()).toBe(6);
    expect(layer.countTrainableParams()).toBe(6);
    expect(layer.trainableWeights().map((w) => w.shape)).toEqual([[3], [3]]);
    const [gamma, beta] = layer.getWeights();
    expect(Array.from(gamma!.dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(beta!.dataSync())).toEqual([0, 0, 0]);
    const mask = StepMask.fromLengths(Int32Array.from([4, 2]), 4);
    const x = rk.tensor(new Rng(3).normal(24), [2, 4, 3]);
    const pass = await layer.run([x], { training: false, masks: [mask] });
    expect(pass.masks[0]).toBe(mask);
    await expect(pass.backward([x])).rejects.toThrow(/training/);
    expect(layer.computeOutputShape([[null, 4, 3]])).toEqual([[null, 4, 3]]);
  });

  it('round-trips its config through the registry (Keras 3 writes axis as a list)', () => {
    const layer = rk.layers.layerNormalization({ epsilon: 1e-5, center: false, gammaInitializer: 'glorotUniform', inputShape: [7, 3], name: 'ln_cfg' });
    const cfg = layer.getConfig();
    expect(cfg).toMatchObject({ name: 'ln_cfg', axis: -1, epsilon: 1e-5, center: false, scale: true, batch_input_shape: [null, 7, 3] });
    expect(cfg.gamma_initializer).toMatchObject({ class_name: 'GlorotUniform' });
    const back = layerFromConfig('LayerNormalization', JSON.parse(JSON.stringify(cfg)), context) as rk.LayerNormalization;
    expect(back).toBeInstanceOf(rk.LayerNormalization);
    expect(back.getConfig()).toEqual(cfg);
    const keras3 = {
      name: 'layer_normalization',
      trainable: true,
      dtype: 'float32',
      axis: [-1],
      epsilon: 0.001,
      center: true,
      scale: true,
      rms_scaling: false,
      beta_initializer: { module: 'keras.initializers', class_name: 'Zeros', config: {}, registered_name: null },
      gamma_initializer: { module: 'keras.initializers', class_name: 'Ones', config: {}, registered_name: null },
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    };
    const k = layerFromConfig('LayerNormalization', keras3, context) as rk.LayerNormalization;
    expect(k.axis).toBe(-1);
    expect(k.name).toBe('layer_normalization');
    expect(() => layerFromConfig('LayerNormalization', { ...keras3, rms_scaling: true }, context)).toThrow(expect.objectContaining({ code: 'RNNKIT_MODEL_FILE' }));
    // TF2 Keras writes the axis as a list of the resolved index.
    const tf2 = layerFromConfig('LayerNormalization', { name: 'ln2', axis: [2], epsilon: 0.001 }, context);
    expect(tf2.computeOutputShape([[null, 5, 4]])).toEqual([[null, 5, 4]]);
  });

  it('rejects bad options, other axes and mismatched inputs with codes', async () => {
    expect(() => rk.layers.layerNormalization({ epsilon: -1 })).toThrow(expect.objectContaining({ name: 'RangeError', code: 'RNNKIT_INVALID_ARGUMENT' }));
    expect(() => rk.layers.layerNormalization({ bogus: 1 } as never)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'RNNKIT_INVALID_ARGUMENT' }));
    expect(() => rk.layers.layerNormalization({ axis: 1.5 })).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(() => rk.layers.layerNormalization({ axis: [1, 2] })).toThrow(expect.objectContaining({ code: 'RNNKIT_UNSUPPORTED' }));
    expect(() => rk.layers.layerNormalization({ axis: 1, inputShape: [4, 3] })).toThrow(expect.objectContaining({ code: 'RNNKIT_UNSUPPORTED' }));
    expect(() => rk.layers.layerNormalization({ axis: -2 })).toThrow(expect.objectContaining({ code: 'RNNKIT_UNSUPPORTED' }));
    const layer = rk.layers.layerNormalization({ axis: 2 });
    await expect(layer.run([rk.tensor([1, 2, 3, 4], [2, 2])], { training: false, masks: [null] })).rejects.toMatchObject({ code: 'RNNKIT_UNSUPPORTED' });
    const built = rk.layers.layerNormalization({ inputShape: [3] });
    await expect(built.run([rk.tensor([1, 2, 3, 4], [2, 2])], { training: false, masks: [null] })).rejects.toMatchObject({ name: 'RangeError' });
    expect(() => built.setWeights([new Float32Array(3)])).toThrow(expect.objectContaining({ name: 'RangeError' }));
    expect(() => built.setWeights([new Float32Array(2), new Float32Array(2)])).toThrow(/3 values/);
    built.dispose();
    await expect(built.run([rk.tensor([1, 2, 3], [1, 3])], { training: false, masks: [null] })).rejects.toMatchObject({ code: 'RNNKIT_DISPOSED' });
  });
});

describe('larger batches (rows and columns split between threads and grid blocks)', () => {
  it('[33,7,40]: both layers match tfjs forward and backward, and the float64 reference forward', async () => {
    const shape = [33, 7, 40];
    const d = data(new Rng(900), shape);
    const eps = 1e-3;
    const xv = tf.variable(tf.tensor(d.x, shape));
    const dyT = tf.tensor(d.dy, shape);
    for (const kind of ['layer', 'batch'] as const) {
      const layer = kind === 'layer' ? rk.layers.layerNormalization({}) : rk.layers.batchNormalization({});
      layer.setWeights(kind === 'layer' ? [d.gamma, d.beta] : [d.gamma, d.beta, d.movingMean, d.movingVariance]);
      const pass = await layer.run([rk.tensor(d.x, shape)], { training: true, masks: [null] });
      const y = pass.outputs[0]!.dataSync();
      const ref = kind === 'layer' ? layerNorm64(d.x, d.C, d.gamma, d.beta, eps) : batchNormTrain64(d.x, d.C, d.gamma, d.beta, eps);
      expectClose(y, ref, 1e-5, `${kind}: forward vs float64`);
      const g = await pass.backward([rk.tensor(d.dy, shape)]);
      const tl = kind === 'layer' ? tf.layers.layerNormalization({ epsilon: eps }) : tf.layers.batchNormalization({ epsilon: eps });
      tl.build(shape);
      tl.setWeights(kind === 'layer' ? [tf.tensor(d.gamma), tf.tensor(d.beta)] : [d.gamma, d.beta, d.movingMean, d.movingVariance].map((v) => tf.tensor(v)));
      const vars = [xv, ...tl.trainableWeights.map((w) => w.read() as tf.Variable)];
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tl.apply(xv, { training: true }) as tf.Tensor, dyT)) as tf.Scalar, vars);
      value.dispose();
      expectClose(g.dInputs[0]!.dataSync(), grads[xv.name]!.dataSync(), 1e-4, `${kind}: dx vs tfjs`);
      expectClose(g.dWeights[0]!.dataSync(), grads[vars[1]!.name]!.dataSync(), 1e-4, `${kind}: dgamma vs tfjs`);
      expectClose(g.dWeights[1]!.dataSync(), grads[vars[2]!.name]!.dataSync(), 1e-4, `${kind}: dbeta vs tfjs`);
      pass.dispose();
      layer.dispose();
    }
  });
});

describe('batchNormalization', () => {
  for (const shape of SHAPES) {
    it(`[${shape.join(',')}] inference uses the moving statistics (float64 reference, tfjs)`, async () => {
      const d = data(new Rng(200 + shape.length), shape);
      const eps = 1e-3;
      const layer = rk.layers.batchNormalization({});
      layer.setWeights([d.gamma, d.beta, d.movingMean, d.movingVariance]);
      const pass = await layer.run([rk.tensor(d.x, shape)], { training: false, masks: [null] });
      const y = pass.outputs[0]!.dataSync();
      expectClose(y, batchNorm64(d.x, d.C, d.movingMean, d.movingVariance, d.gamma, d.beta, eps), 1e-5, 'forward vs float64');
      const tl = tf.layers.batchNormalization({ axis: -1, epsilon: eps });
      tl.build(shape);
      tl.setWeights([tf.tensor(d.gamma), tf.tensor(d.beta), tf.tensor(d.movingMean), tf.tensor(d.movingVariance)]);
      expectClose(y, (tl.apply(tf.tensor(d.x, shape), { training: false }) as tf.Tensor).dataSync(), 1e-5, 'forward vs tfjs');
      // Inference leaves the moving statistics alone.
      expect(Array.from(layer.getWeights()[2]!.dataSync())).toEqual(Array.from(d.movingMean));
      await expect(pass.backward([pass.outputs[0]!])).rejects.toThrow(/training/);
    });

    it(`[${shape.join(',')}] training: batch statistics, moving update and gradients (float64, finite differences, tfjs)`, async () => {
      const d = data(new Rng(300 + shape.length), shape);
      const eps = 1e-3;
      const momentum = 0.9;
      const layer = rk.layers.batchNormalization({ momentum });
      layer.setWeights([d.gamma, d.beta, d.movingMean, d.movingVariance]);
      const pass = await layer.run([rk.tensor(d.x, shape)], { training: true, masks: [null] });
      const y = pass.outputs[0]!.dataSync();
      expectClose(y, batchNormTrain64(d.x, d.C, d.gamma, d.beta, eps), 1e-5, 'forward vs float64');
      const s = batchStats64(d.x, d.C, null);
      const [, , mm, mv] = layer.getWeights().map((w) => w.dataSync());
      expectClose(mm!, d.movingMean.map((m, c) => m * momentum + s.mean[c]! * (1 - momentum)), 1e-6, 'moving mean vs float64');
      expectClose(mv!, d.movingVariance.map((v, c) => v * momentum + s.variance[c]! * (1 - momentum)), 1e-6, 'moving variance (biased) vs float64');

      const g = await pass.backward([rk.tensor(d.dy, shape)]);
      expect(g.dWeights.length).toBe(2);
      const f = (p: Float64Array[]) => batchNormTrain64(p[0]!, d.C, p[1]!, p[2]!, eps);
      const params = [f64(d.x), f64(d.gamma), f64(d.beta)];
      expectClose(g.dInputs[0]!.dataSync(), fdGrad(f, params, 0, d.dy), 1e-4, 'dx vs finite differences');
      expectClose(g.dWeights[0]!.dataSync(), fdGrad(f, params, 1, d.dy), 1e-4, 'dgamma vs finite differences');
      expectClose(g.dWeights[1]!.dataSync(), fdGrad(f, params, 2, d.dy), 1e-4, 'dbeta vs finite differences');

      // tfjs in training mode: its output, gradients, and its moving-average update.
      const tl = tf.layers.batchNormalization({ axis: -1, epsilon: eps, momentum });
      tl.build(shape);
      tl.setWeights([tf.tensor(d.gamma), tf.tensor(d.beta), tf.tensor(d.movingMean), tf.tensor(d.movingVariance)]);
      const xv = tf.variable(tf.tensor(d.x, shape));
      const dyT = tf.tensor(d.dy, shape);
      const vars = [xv, ...tl.trainableWeights.map((w) => w.read() as tf.Variable)];
      let tfY: Float32Array | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const out = tl.apply(xv, { training: true }) as tf.Tensor;
        tfY = out.dataSync() as Float32Array;
        return tf.sum(tf.mul(out, dyT)) as tf.Scalar;
      }, vars);
      value.dispose();
      expectClose(y, tfY!, 1e-5, 'forward vs tfjs');
      const tw = tl.getWeights().map((w) => w.dataSync());
      expectClose(mm!, tw[2]!, 1e-5, 'moving mean vs tfjs');
      expectClose(mv!, tw[3]!, 1e-5, 'moving variance vs tfjs');
      expectClose(g.dInputs[0]!.dataSync(), grads[xv.name]!.dataSync(), 1e-4, 'dx vs tfjs');
      expectClose(g.dWeights[0]!.dataSync(), grads[vars[1]!.name]!.dataSync(), 1e-4, 'dgamma vs tfjs');
      expectClose(g.dWeights[1]!.dataSync(), grads[vars[2]!.name]!.dataSync(), 1e-4, 'dbeta vs tfjs');
      pass.dispose();
    });
  }

  it('with a step mask (Keras 3) takes the batch statistics over the unmasked steps only', async () => {
    const shape = [3, 5, 4];
    const d = data(new Rng(400), shape);
    const eps = 1e-3;
    const valid = Uint8Array.from([1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1]);
    const mask = StepMask.fromValid(valid, 3, 5);
    const w = Float64Array.from(valid);
    const layer = rk.layers.batchNormalization({ momentum: 0.5 });
    layer.setWeights([d.gamma, d.beta, d.movingMean, d.movingVariance]);
    const pass = await layer.run([rk.tensor(d.x, shape)], { training: true, masks: [mask] });
    expect(pass.masks[0]).toBe(mask);
    expectClose(pass.outputs[0]!.dataSync(), batchNormTrain64(d.x, d.C, d.gamma, d.beta, eps, w), 1e-5, 'forward vs masked float64');
    const s = batchStats64(d.x, d.C, w);
    const unmasked = batchStats64(d.x, d.C, null);
    expect(Math.abs(s.mean[0]! - unmasked.mean[0]!)).toBeGreaterThan(1e-3); // the mask matters for this data
    const mv = layer.getWeights()[3]!.dataSync();
    expectClose(mv, d.movingVariance.map((v, c) => v * 0.5 + s.variance[c]! * 0.5), 1e-6, 'moving variance vs masked float64');
    const g = await pass.backward([rk.tensor(d.dy, shape)]);
    const f = (p: Float64Array[]) => batchNormTrain64(p[0]!, d.C, p[1]!, p[2]!, eps, w);
    const params = [f64(d.x), f64(d.gamma), f64(d.beta)];
    expectClose(g.dInputs[0]!.dataSync(), fdGrad(f, params, 0, d.dy), 1e-4, 'dx vs finite differences');
    expectClose(g.dWeights[0]!.dataSync(), fdGrad(f, params, 1, d.dy), 1e-4, 'dgamma vs finite differences');
    // A masked step's input still gets the gradient of its own (normalized) output.
    const dx = g.dInputs[0]!.dataSync();
    expect(Math.abs(dx[3 * 4]!)).toBeGreaterThan(0);
  });

  it('without center and scale: only the moving statistics, and gradients for x alone', async () => {
    const shape = [8, 3];
    const d = data(new Rng(500), shape);
    const layer = rk.layers.batchNormalization({ center: false, scale: false, epsilon: 1e-2 });
    layer.setWeights([d.movingMean, d.movingVariance]);
    expect(layer.weightNames()).toEqual(['moving_mean', 'moving_variance']);
    expect(layer.countTrainableParams()).toBe(0);
    expect(layer.trainableWeights()).toEqual([]);
    const pass = await layer.run([rk.tensor(d.x, shape)], { training: true, masks: [null] });
    expectClose(pass.outputs[0]!.dataSync(), batchNormTrain64(d.x, 3, null, null, 1e-2), 1e-5, 'forward');
    const g = await pass.backward([rk.tensor(d.dy, shape)]);
    expect(g.dWeights).toEqual([]);
    expectClose(g.dInputs[0]!.dataSync(), fdGrad((p) => batchNormTrain64(p[0]!, 3, null, null, 1e-2), [f64(d.x)], 0, d.dy), 1e-4, 'dx');
  });

  it('has Keras weights: gamma, beta, moving_mean, moving_variance; only gamma and beta trainable', () => {
    const layer = rk.layers.batchNormalization({ inputShape: [10, 4], movingVarianceInitializer: { className: 'constant', config: { value: 2 } } });
    expect(layer.weightNames()).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
    expect(layer.weightCount()).toBe(4);
    expect(layer.countParams()).toBe(16);
    expect(layer.countTrainableParams()).toBe(8);
    const trainable = layer.trainableWeights();
    expect(trainable.length).toBe(2);
    expect(Array.from(trainable[0]!.dataSync())).toEqual([1, 1, 1, 1]);
    expect(Array.from(layer.getWeights()[3]!.dataSync())).toEqual([2, 2, 2, 2]);
  });

  it('round-trips its config through the registry; reads TF2 (axis list) and Keras 3 configs', () => {
    const layer = rk.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-4, scale: false, name: 'bn_cfg', inputShape: [5, 2] });
    const cfg = layer.getConfig();
    expect(cfg).toMatchObject({ name: 'bn_cfg', axis: -1, momentum: 0.9, epsilon: 1e-4, center: true, scale: false, batch_input_shape: [null, 5, 2] });
    expect(cfg.moving_variance_initializer).toMatchObject({ class_name: 'Ones' });
    const back = layerFromConfig('BatchNormalization', JSON.parse(JSON.stringify(cfg)), context);
    expect(back.getConfig()).toEqual(cfg);
    const tf2 = layerFromConfig('BatchNormalization', { name: 'bn', axis: [1], momentum: 0.99, epsilon: 0.001, center: true, scale: true }, context);
    expect(tf2.computeOutputShape([[null, 6]])).toEqual([[null, 6]]);
    expect(() => layerFromConfig('BatchNormalization', { name: 'bn', renorm: true }, context)).toThrow(expect.objectContaining({ code: 'RNNKIT_MODEL_FILE' }));
    const camel = layerFromConfig('BatchNormalization', { name: 'bn', movingVarianceInitializer: { className: 'Constant', config: { value: 3 } } }, context);
    camel.build([[null, 2]]);
    expect(Array.from(camel.getWeights()[3]!.dataSync())).toEqual([3, 3]);
  });

  it('rejects bad options, axes and inputs with codes', async () => {
    expect(() => rk.layers.batchNormalization({ momentum: 2 })).toThrow(expect.objectContaining({ name: 'RangeError', code: 'RNNKIT_INVALID_ARGUMENT' }));
    expect(() => rk.layers.batchNormalization({ momentum: '0.9' } as never)).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(() => rk.layers.batchNormalization({ renorm: true } as never)).toThrow(/unknown option 'renorm'/);
    expect(() => rk.layers.batchNormalization({ axis: 1, inputShape: [3, 4] })).toThrow(expect.objectContaining({ code: 'RNNKIT_UNSUPPORTED' }));
    const layer = rk.layers.batchNormalization({});
    await expect(layer.run([rk.tensor([1, 2, 3], [3])], { training: true, masks: [null] })).rejects.toMatchObject({ name: 'RangeError' });
    const mask = StepMask.fromLengths(Int32Array.from([1]), 2);
    await expect(layer.run([rk.tensor([1, 2, 3, 4], [2, 2])], { training: true, masks: [mask] })).rejects.toThrow(/step mask/);
    expect(() => layer.setWeights([new Float32Array(2)])).toThrow(/expected 4 weights/);
  });
});

describe('memory and devices', () => {
  it('a training pass, its backward and dispose leave no native memory behind', async () => {
    const shape = [4, 3, 6];
    const d = data(new Rng(950), shape);
    const before = rk.memory().bytes;
    for (const make of [() => rk.layers.layerNormalization({}), () => rk.layers.batchNormalization({}), () => rk.layers.spatialDropout1d({ rate: 0.5, seed: 1 }), () => rk.layers.activation({ activation: 'softmax' })]) {
      const layer = make();
      const x = rk.tensor(d.x, shape);
      const dy = rk.tensor(d.dy, shape);
      const pass = await layer.run([x], { training: true, masks: [null] });
      const g = await pass.backward([dy]);
      for (const t of [...pass.outputs, ...g.dInputs, ...g.dWeights]) t?.dispose();
      pass.dispose();
      layer.dispose();
      x.dispose();
      dy.dispose();
    }
    // Earlier tests' tensors may be collected meanwhile (GC frees native memory), never ours added.
    expect(rk.memory().bytes).toBeLessThanOrEqual(before);
  });

  it('to() moves the weights; the layer then runs on inputs there', async () => {
    const shape = [5, 4];
    const d = data(new Rng(960), shape);
    const layer = rk.layers.batchNormalization({});
    layer.setWeights([d.gamma, d.beta, d.movingMean, d.movingVariance]);
    expect(layer.to('cpu')).toBe(layer);
    expect(layer.getWeights().every((w) => w.device === 'cpu')).toBe(true);
    const pass = await layer.run([rk.tensor(d.x, shape, { device: 'cpu' })], { training: false, masks: [null] });
    expect(pass.outputs[0]!.device).toBe('cpu');
    expectClose(pass.outputs[0]!.dataSync(), batchNorm64(d.x, d.C, d.movingMean, d.movingVariance, d.gamma, d.beta, 1e-3), 1e-5, 'forward after to()');
  });
});
