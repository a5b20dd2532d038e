/**
 * Functional models train: fit drives the graph's backward pass through the new layers
 * (convolution, pooling, merges, normalization) to losses an untrained model does not reach.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

/** Sequences of noise; label 1 when the motif +2, -2, +2 occurs somewhere. */
function motifTask(rng: Rng, N: number, T: number): { x: rk.Tensor; y: rk.Tensor } {
  const xv = rng.normal(N * T).map((v) => 0.3 * v);
  const yv = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    if (n % 2 === 0) continue;
    const at = Math.floor(rng.uniform(1, 0, 0.999)[0]! * (T - 3));
    xv[n * T + at] = 2;
    xv[n * T + at + 1] = -2;
    xv[n * T + at + 2] = 2;
    yv[n] = 1;
  }
  return { x: rk.tensor(xv, [N, T, 1]), y: rk.tensor(yv, [N, 1]) };
}

describe('fit on functional models', () => {
  it('Conv1D → Bidirectional(LSTM) → GlobalMaxPooling1D → Dense learns to spot a motif anywhere', async () => {
    const rng = new Rng(31);
    const T = 24;
    const { x, y } = motifTask(rng, 256, T);
    const input = rk.input({ shape: [T, 1] });
    let h = rk.layers.conv1d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', seed: 1 }).apply(input) as rk.SymbolicTensor;
    h = rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 8, returnSequences: true, seed: 2 }) }).apply(h) as rk.SymbolicTensor;
    h = rk.layers.globalMaxPooling1D({}).apply(h) as rk.SymbolicTensor;
    const out = rk.layers.dense({ units: 1, activation: 'sigmoid', seed: 3 }).apply(h) as rk.SymbolicTensor;
    const model = rk.model({ inputs: input, outputs: out });
    model.compile({ loss: 'binaryCrossentropy', optimizer: rk.optimizers.adam({ learningRate: 0.01 }), metrics: ['accuracy'] });
    const before = await model.evaluate(x, y);
    const history = await model.fit(x, y, { epochs: 25, batchSize: 32, verbose: 0, seed: 4 });
    const after = await model.evaluate(x, y);
    // Chance is ln 2 ≈ 0.69; the untrained model sits near it.
    expect(before).toBeGreaterThan(0.6);
    expect(after).toBeLessThan(0.15);
    expect(history.history.acc!.at(-1)!).toBeGreaterThan(0.95);
    model.dispose();
  });

  it('two inputs, Concatenate, LayerNormalization and BatchNormalization learn a regression of both', async () => {
    const rng = new Rng(47);
    const N = 256;
    const av = rng.normal(N * 6);
    const bv = rng.normal(N * 4);
    const yv = Float32Array.from({ length: N }, (_, n) => {
      let s = 0;
      for (let k = 0; k < 6; k++) s += av[n * 6 + k]! * (k % 2 ? 1 : -0.5);
      for (let k = 0; k < 4; k++) s += Math.tanh(bv[n * 4 + k]!);
      return s / 3;
    });
    const variance = yv.reduce((a, v) => a + v * v, 0) / N;
    const a = rk.input({ shape: [6], name: 'a' });
    const b = rk.input({ shape: [4], name: 'b' });
    const na = rk.layers.layerNormalization({}).apply(rk.layers.dense({ units: 16, activation: 'tanh', seed: 5 }).apply(a) as rk.SymbolicTensor) as rk.SymbolicTensor;
    const nb = rk.layers.batchNormalization({}).apply(rk.layers.dense({ units: 8, activation: 'tanh', seed: 6 }).apply(b) as rk.SymbolicTensor) as rk.SymbolicTensor;
    const joined = rk.layers.concatenate({}).apply([na, nb]) as rk.SymbolicTensor;
    const out = rk.layers.dense({ units: 1, seed: 7 }).apply(joined) as rk.SymbolicTensor;
    const model = rk.model({ inputs: [a, b], outputs: out });
    model.compile({ loss: 'mse', optimizer: rk.optimizers.adam({ learningRate: 0.01 }) });
    const xs = [rk.tensor(av, [N, 6]), rk.tensor(bv, [N, 4])];
    const y = rk.tensor(yv, [N, 1]);
    const before = await model.evaluate(xs, y);
    await model.fit(xs, y, { epochs: 40, batchSize: 32, verbose: 0, seed: 8 });
    const after = await model.evaluate(xs, y);
    expect(before).toBeGreaterThan(0.5 * variance);
    expect(after).toBeLessThan(0.05 * variance);
    model.dispose();
  });
});
