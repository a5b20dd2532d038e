/**
 * rk.layers.spatialDropout1d: whole channels dropped per sample (zero at every step), the
 * kept ones scaled by 1/(1 - rate), the drop rate measured, the backward multiplying by
 * the forward's own mask, identity outside training, seeding, the mask, config round
 * trips through the registry, and errors.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { layerFromConfig } from '../lib/layers/registry';
import { StepMask } from '../lib/mask';
import { Rng } from './helpers/random';

const context = { where: 'test config', deserialize: () => { throw new Error('no nested layers here'); } };

/** Inputs with no zeros, so that a zero output marks a dropped channel. */
function inputs(seed: number, N: number, T: number, C: number): Float32Array {
  const x = new Rng(seed).uniform(N * T * C, 0.5, 2);
  for (let i = 0; i < x.length; i++) if (i % 2) x[i] = -x[i]!;
  return x;
}

/** Per (n, c): the factor y/x shared by every step, checked to be shared. */
function channelFactors(x: Float32Array, y: Float32Array, N: number, T: number, C: number): Float64Array {
  const f = new Float64Array(N * C);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const first = y[n * T * C + c]! / x[n * T * C + c]!;
      for (let t = 1; t < T; t++) {
        const i = (n * T + t) * C + c;
        expect(Math.abs(y[i]! / x[i]! - first), `sample ${n} channel ${c} step ${t}`).toBeLessThan(1e-6);
      }
      f[n * C + c] = first;
    }
  return f;
}

describe('spatialDropout1d', () => {
  it('drops whole channels per sample, scales the rest by 1/(1 - rate), at the given rate', async () => {
    const [N, T, C] = [64, 5, 48];
    const rate = 0.3;
    const x = inputs(1, N, T, C);
    const layer = rk.layers.spatialDropout1d({ rate, seed: 42 });
    const pass = await layer.run([rk.tensor(x, [N, T, C])], { training: true, masks: [null] });
    const y = pass.outputs[0]!.dataSync();
    const f = channelFactors(x, y, N, T, C);
    let dropped = 0;
    for (const v of f) {
      if (v === 0) dropped++;
      else expect(Math.abs(v - 1 / (1 - rate))).toBeLessThan(1e-6);
    }
    // 3072 Bernoulli(0.3) draws: the standard deviation of the fraction is about 0.008.
    expect(Math.abs(dropped / f.length - rate)).toBeLessThan(0.04);
    // Not the same pattern for every sample: the draw is per (sample, channel).
    const rows = new Set(Array.from({ length: N }, (_, n) => Array.from(f.subarray(n * C, (n + 1) * C), (v) => (v === 0 ? 0 : 1)).join('')));
    expect(rows.size).toBeGreaterThan(N / 2);
    pass.dispose();
  });

  it('backward multiplies by the forward pass\'s own mask', async () => {
    const [N, T, C] = [4, 6, 8];
    const x = inputs(2, N, T, C);
    const layer = rk.layers.spatialDropout1d({ rate: 0.5, seed: 7 });
    const first = await layer.run([rk.tensor(x, [N, T, C])], { training: true, masks: [null] });
    const second = await layer.run([rk.tensor(x, [N, T, C])], { training: true, masks: [null] });
    const f1 = channelFactors(x, first.outputs[0]!.dataSync(), N, T, C);
    const f2 = channelFactors(x, second.outputs[0]!.dataSync(), N, T, C);
    expect(Array.from(f1)).not.toEqual(Array.from(f2)); // each pass draws anew
    const dy = new Rng(3).normal(N * T * C);
    const g1 = (await first.backward([rk.tensor(dy, [N, T, C])])).dInputs[0]!.dataSync();
    for (let i = 0; i < dy.length; i++) {
      const n = Math.floor(i / (T * C));
      const c = i % C;
      expect(g1[i]).toBeCloseTo(dy[i]! * f1[n * C + c]!, 5);
    }
    const g2 = await second.backward([null]);
    expect(g2.dInputs[0]!.dataSync().every((v) => v === 0)).toBe(true);
  });

  it('is the identity outside training and with rate 0; the same seed draws the same masks', async () => {
    const [N, T, C] = [2, 3, 4];
    const x = inputs(4, N, T, C);
    const xt = rk.tensor(x, [N, T, C]);
    const layer = rk.layers.spatialDropout1d({ rate: 0.6, seed: 5 });
    const inference = await layer.run([xt], { training: false, masks: [null] });
    expect(inference.outputs[0]).not.toBe(xt);
    expect(Array.from(inference.outputs[0]!.dataSync())).toEqual(Array.from(x));
    await expect(inference.backward([xt])).rejects.toThrow(/training/);
    const none = rk.layers.spatialDropout1d({ rate: 0 });
    const p0 = await none.run([xt], { training: true, masks: [null] });
    expect(Array.from(p0.outputs[0]!.dataSync())).toEqual(Array.from(x));
    const dy = new Rng(6).normal(N * T * C);
    expect(Array.from((await p0.backward([rk.tensor(dy, [N, T, C])])).dInputs[0]!.dataSync())).toEqual(Array.from(dy));
    const a = await rk.layers.spatialDropout1d({ rate: 0.5, seed: 11 }).run([xt], { training: true, masks: [null] });
    const b = await rk.layers.spatialDropout1d({ rate: 0.5, seed: 11 }).run([xt], { training: true, masks: [null] });
    expect(Array.from(a.outputs[0]!.dataSync())).toEqual(Array.from(b.outputs[0]!.dataSync()));
  });

  it('passes the mask through and has no weights', async () => {
    const layer = rk.layers.spatialDropout1d({ rate: 0.2, inputShape: [3, 2] });
    expect(layer.weightCount()).toBe(0);
    expect(layer.getWeights()).toEqual([]);
    expect(layer.computeOutputShape([[null, 3, 2]])).toEqual([[null, 3, 2]]);
    const mask = StepMask.fromLengths(Int32Array.from([2]), 3);
    const pass = await layer.run([rk.tensor(inputs(8, 1, 3, 2), [1, 3, 2])], { training: true, masks: [mask] });
    expect(pass.masks[0]).toBe(mask);
  });

  it('round-trips its config through the registry', () => {
    const layer = rk.layers.spatialDropout1d({ rate: 0.25, seed: 9, name: 'sd' });
    const cfg = layer.getConfig();
    expect(cfg).toEqual({ name: 'sd', trainable: true, dtype: 'float32', rate: 0.25, seed: 9 });
    const back = layerFromConfig('SpatialDropout1D', JSON.parse(JSON.stringify(cfg)), context) as rk.SpatialDropout1D;
    expect(back).toBeInstanceOf(rk.SpatialDropout1D);
    expect(back.getConfig()).toEqual(cfg);
    expect(rk.layers.spatialDropout1d({ rate: 0.1 }).getConfig().seed).toBeNull();
    const keras = layerFromConfig('SpatialDropout1D', { name: 'spatial_dropout1d', trainable: true, dtype: 'float32', rate: 0.5, noise_shape: null, seed: null }, context) as rk.SpatialDropout1D;
    expect(keras.rate).toBe(0.5);
    expect(() => layerFromConfig('SpatialDropout1D', { rate: 0.5, noise_shape: [null, 1, 3] }, context)).toThrow(expect.objectContaining({ code: 'RNNKIT_MODEL_FILE' }));
  });

  it('rejects bad options and inputs with codes', async () => {
    expect(() => rk.layers.spatialDropout1d({ rate: 1 })).toThrow(expect.objectContaining({ name: 'RangeError', code: 'RNNKIT_INVALID_ARGUMENT' }));
    expect(() => rk.layers.spatialDropout1d({} as never)).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(() => rk.layers.spatialDropout1d({ rate: 0.1, noiseShape: [1] } as never)).toThrow(/unknown option 'noiseShape'/);
    expect(() => rk.layers.spatialDropout1d({ rate: 0.1, inputShape: [3] })).toThrow(expect.objectContaining({ name: 'RangeError' }));
    const layer = rk.layers.spatialDropout1d({ rate: 0.1 });
    await expect(layer.run([rk.tensor([1, 2, 3, 4], [2, 2])], { training: true, masks: [null] })).rejects.toMatchObject({ name: 'RangeError' });
  });
});
