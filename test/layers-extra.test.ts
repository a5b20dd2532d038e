/**
 * Embedding, Dropout and TimeDistributed layers against plain-JS references.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { expectClose } from './helpers/compare';
import { Rng } from './helpers/random';

describe('embedding', () => {
  it('looks rows up, derives lengths from zero ids, and scatter-adds gradients', async () => {
    const rng = new Rng(21);
    const [V, E, N, T] = [7, 3, 3, 5];
    const table = rng.normal(V * E);
    const layer = rk.layers.embedding({ inputDim: V, outputDim: E, maskZero: true });
    layer.setWeights([table]);
    const ids = Float32Array.from([3, 1, 6, 0, 0, 2, 2, 2, 5, 4, 0, 0, 0, 0, 0]);
    const fwd = await layer.forward(rk.tensor(ids, [N, T]));
    expect(fwd.output.shape).toEqual([N, T, E]);
    const want = new Float64Array(N * T * E);
    ids.forEach((id, r) => want.set(table.subarray(id * E, (id + 1) * E), r * E));
    expect(Array.from(fwd.output.dataSync())).toEqual(Array.from(want, Math.fround));
    expect(Array.from(fwd.lengths!)).toEqual([3, 5, 0]);
    const d = rng.normal(N * T * E);
    const g = await layer.backwardTrainable(fwd, rk.tensor(d, [N, T, E]));
    const dTable = new Float64Array(V * E);
    ids.forEach((id, r) => {
      for (let j = 0; j < E; j++) dTable[id * E + j]! += d[r * E + j]!;
    });
    expectClose(g.dWeights[0]!.dataSync(), dTable, 1e-6, 'dEmbeddings');
    expect(g.dInput.shape).toEqual([N, T]);
  });

  it('rejects ids that are not integers in range, and bad options', async () => {
    const layer = rk.layers.embedding({ inputDim: 4, outputDim: 2, seed: 1 });
    await expect(layer.forward(rk.tensor([[1, 4]]))).rejects.toThrow(/ids\[1\]/);
    await expect(layer.forward(rk.tensor([[1.5, 0]]))).rejects.toThrow(RangeError);
    await expect(layer.forward(rk.tensor([1, 2]))).rejects.toThrow(/rank 2/);
    expect(() => rk.layers.embedding({ inputDim: 0, outputDim: 2 })).toThrow(/inputDim/);
    expect(() => rk.layers.embedding({ inputDim: 3, outputDim: 2, maskzero: true } as never)).toThrow(/maskzero/);
  });
});

describe('dropout', () => {
  it('drops about `rate` of the inputs while training, scales the rest, and passes through otherwise', async () => {
    const rng = new Rng(5);
    const n = 20000;
    const xv = rng.uniform(n, 0.5, 1.5);
    const x = rk.tensor(xv, [100, 200]);
    const layer = rk.layers.dropout({ rate: 0.3, seed: 9 });
    const inference = await layer.forward(x);
    expect(Array.from(inference.output.dataSync())).toEqual(Array.from(x.dataSync()));
    const fwd = await layer.forward(x, { training: true });
    const y = fwd.output.dataSync();
    let zeros = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] === 0) zeros++;
      else expect(Math.abs(y[i]! - Math.fround(xv[i]!) / 0.7)).toBeLessThan(1e-5);
    }
    // Binomial(20000, 0.3): ±5 standard deviations is about ±0.016.
    expect(Math.abs(zeros / n - 0.3)).toBeLessThan(0.016);
    const d = rng.normal(n);
    const g = await layer.backwardTrainable(fwd, rk.tensor(d, [100, 200]));
    const gv = g.dInput.dataSync();
    for (let i = 0; i < n; i += 97) expect(gv[i]).toBeCloseTo(y[i] === 0 ? 0 : Math.fround(d[i]!) / 0.7, 4);
    const again = await layer.forward(x, { training: true });
    expect(Array.from(again.output.dataSync())).not.toEqual(Array.from(y));
    expect(() => rk.layers.dropout({ rate: 1 })).toThrow(RangeError);
    expect(() => rk.layers.dropout({ rate: '0.5' } as never)).toThrow(TypeError);
  });
});

describe('timeDistributed', () => {
  it('applies its dense layer at every step and insists on sequences', async () => {
    const rng = new Rng(2);
    const denseLayer = rk.layers.dense({ units: 3, activation: 'tanh', seed: 4 });
    const td = rk.layers.timeDistributed({ layer: denseLayer });
    const x = rk.tensor(rng.normal(2 * 4 * 5), [2, 4, 5]);
    const out = (await td.forward(x)).output.dataSync();
    const [K, b] = denseLayer.getWeights().map((w) => w.dataSync());
    const xv = x.dataSync();
    const want = new Float64Array(2 * 4 * 3);
    for (let r = 0; r < 8; r++)
      for (let u = 0; u < 3; u++) {
        let s = b![u]!;
        for (let d = 0; d < 5; d++) s += xv[r * 5 + d]! * K![d * 3 + u]!;
        want[r * 3 + u] = Math.tanh(s);
      }
    expectClose(out, want, 1e-6, 'output');
    await expect(td.forward(rk.tensor(rng.normal(10), [2, 5]))).rejects.toThrow(/rank 3/);
    expect(() => rk.layers.timeDistributed({ layer: rk.layers.lstm({ units: 2 }) as never })).toThrow(/dense/);
  });
});
