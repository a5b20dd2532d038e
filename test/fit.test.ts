/**
 * The training loop learns: small models on tasks with known answers reach losses that an
 * untrained or broken model cannot.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

// The training loop through a model of `layers`, compiled with `compiled` for each call.
const models = new WeakMap<object, rk.Sequential>();
function modelOf(layers: rk.ModelLayer[], compiled: rk.CompileArgs): rk.Sequential {
  let m = models.get(layers);
  if (!m) {
    m = rk.sequential(layers);
    models.set(layers, m);
  }
  m.compile(compiled);
  return m;
}
const fit = (layers: rk.ModelLayer[], compiled: rk.CompileArgs, x: rk.Tensor, y: rk.Tensor, options?: rk.FitOptions) => modelOf(layers, compiled).fit(x, y, options);
const evaluate = (layers: rk.ModelLayer[], compiled: rk.CompileArgs, x: rk.Tensor, y: rk.Tensor) => modelOf(layers, compiled).evaluate(x, y);

describe('fit', () => {
  it('an LSTM learns the sum of a sequence (mse far below the target variance)', async () => {
    const rng = new Rng(3);
    const [N, T] = [256, 6];
    const xv = rng.uniform(N * T, -1, 1);
    const yv = Float32Array.from({ length: N }, (_, n) => xv.slice(n * T, (n + 1) * T).reduce((a, b) => a + b, 0) / 2);
    const variance = yv.reduce((a, v) => a + v * v, 0) / N;
    const x = rk.tensor(xv, [N, T, 1]);
    const y = rk.tensor(yv, [N, 1]);
    const layers = [rk.layers.lstm({ units: 12, seed: 1 }), rk.layers.dense({ units: 1, seed: 2 })];
    const compiled = { loss: 'mse' as const, optimizer: rk.optimizers.adam({ learningRate: 0.02 }), fromLogits: false, metrics: [] as 'accuracy'[] };
    const before = await evaluate(layers, compiled, x, y);
    const history = await fit(layers, compiled, x, y, { epochs: 40, batchSize: 32, verbose: 0, validationSplit: 0.25 });
    const after = await evaluate(layers, compiled, x, y);
    expect(history.history.loss).toHaveLength(40);
    expect(history.history.val_loss).toHaveLength(40);
    expect(after).toBeLessThan(0.05 * variance);
    expect(after).toBeLessThan(before / 10);
  });

  it('a GRU learns the parity of 4-bit (±1) strings with binary crossentropy, with global-norm clipping', async () => {
    const bits = 4;
    const N = 1 << bits;
    const reps = 8;
    const xv = new Float32Array(N * reps * bits);
    const yv = new Float32Array(N * reps);
    for (let r = 0; r < reps; r++)
      for (let n = 0; n < N; n++) {
        let parity = 0;
        for (let b = 0; b < bits; b++) {
          const bit = (n >> b) & 1;
          xv[(r * N + n) * bits + b] = 2 * bit - 1;
          parity ^= bit;
        }
        yv[r * N + n] = parity;
      }
    const x = rk.tensor(xv, [N * reps, bits, 1]);
    const y = rk.tensor(yv, [N * reps, 1]);
    const layers = [rk.layers.gru({ units: 16, seed: 5 }), rk.layers.dense({ units: 1, activation: 'sigmoid', seed: 6 })];
    const compiled = { loss: 'binaryCrossentropy' as const, optimizer: rk.optimizers.adam({ learningRate: 0.005, globalClipnorm: 1 }), fromLogits: false, metrics: [] as 'accuracy'[] };
    const history = await fit(layers, { ...compiled, metrics: ['accuracy'] }, x, y, { epochs: 80, batchSize: 16, verbose: 0, seed: 2 });
    // Chance level is ln 2 ≈ 0.69; a model that learned parity is near 0.
    expect(await evaluate(layers, compiled, x, y)).toBeLessThan(0.1);
    // Accuracy counted from the predictions: chance at first, every string right at the end.
    expect(history.history.acc![0]).toBeLessThan(0.75);
    expect(history.history.acc![79]).toBe(1);
  });

  it('stops early, calls back, and rejects bad arguments with clear errors', async () => {
    const rng = new Rng(8);
    const x = rk.tensor(rng.normal(40 * 3 * 2), [40, 3, 2]);
    const y = rk.tensor(rng.normal(40 * 2), [40, 2]);
    const layers = [rk.layers.simpleRNN({ units: 2, seed: 1 })];
    const compiled = { loss: 'mse' as const, optimizer: rk.optimizers.sgd({ learningRate: 1e-6 }), fromLogits: false, metrics: [] as 'accuracy'[] };
    const epochs: number[] = [];
    let batches = 0;
    const history = await fit(layers, compiled, x, y, {
      epochs: 50,
      batchSize: 10,
      verbose: 0,
      callbacks: { onEpochEnd: (e) => void epochs.push(e), onBatchEnd: () => void batches++, earlyStopping: { patience: 2, minDelta: 1e-3 } },
    });
    expect(history.epoch.length).toBeLessThan(50);
    expect(epochs).toEqual(history.epoch);
    expect(batches).toBe(history.epoch.length * 4);
    await expect(fit(layers, compiled, x, rk.tensor(rng.normal(39 * 2), [39, 2]))).rejects.toThrow(/same number of samples/);
    await expect(fit(layers, compiled, x, y, { epochs: 0 })).rejects.toThrow(/epochs/);
    await expect(fit(layers, compiled, x, y, { validationSplit: 1 })).rejects.toThrow(/validationSplit/);
    await expect(fit(layers, compiled, x, y, { epoch: 2 } as never)).rejects.toThrow(/epoch/);
  });
});

describe('fit: earlyStopping.restoreBestWeights', () => {
  // Weights pushed far off after the first epoch make every later validation loss worse, so the
  // run stops after `patience` epochs; the weights that made the best epoch's loss come back.
  async function run(restoreBestWeights: boolean) {
    const rng = new Rng(21);
    const x = rk.tensor(rng.normal(60 * 4 * 3), [60, 4, 3]);
    const y = rk.tensor(rng.normal(60 * 2), [60, 2]);
    const model = rk.sequential([rk.layers.lstm({ units: 5, inputShape: [null, 3], seed: 3 }), rk.layers.dense({ units: 2, seed: 4 })]);
    model.compile({ loss: 'mse', optimizer: rk.optimizers.sgd({ learningRate: 1e-3 }) });
    let best: Float32Array[] = [];
    const history = await model.fit(x, y, {
      epochs: 20,
      batchSize: 20,
      validationSplit: 0.25,
      verbose: 0,
      callbacks: {
        earlyStopping: { patience: 2, restoreBestWeights },
        onEpochEnd: (epoch) => {
          if (epoch > 0) return;
          best = model.getWeights().map((w) => w.dataSync());
          model.setWeights(best.map((w) => w.map((v, i) => v + 3 * Math.sin(i + 1))));
        },
      },
    });
    return { history, best, after: model.getWeights().map((w) => w.dataSync()) };
  }

  it('a stopped run ends with the weights of its best epoch; without it, with the last', async () => {
    const restored = await run(true);
    const losses = restored.history.history.val_loss!;
    expect(losses.length).toBe(3);
    expect(Math.min(...losses)).toBe(losses[0]);
    expect(restored.after).toEqual(restored.best);
    const kept = await run(false);
    expect(kept.history.history.val_loss).toEqual(losses);
    expect(kept.after).not.toEqual(kept.best);
  });

  it('rejects unknown earlyStopping options and a non-boolean restoreBestWeights', async () => {
    const model = rk.sequential([rk.layers.simpleRNN({ units: 2, inputShape: [null, 1], seed: 1 })]);
    model.compile({ loss: 'mse', optimizer: rk.optimizers.sgd({ learningRate: 0.01 }) });
    const x = rk.tensor(new Rng(2).normal(8 * 2), [8, 2, 1]);
    const y = rk.tensor(new Rng(3).normal(8 * 2), [8, 2]);
    await expect(model.fit(x, y, { verbose: 0, callbacks: { earlyStopping: { patiense: 2 } as never } })).rejects.toThrow(/patiense/);
    await expect(model.fit(x, y, { verbose: 0, callbacks: { earlyStopping: { restoreBestWeights: 1 } as never } })).rejects.toThrow(/restoreBestWeights must be a boolean/);
  });
});

describe('Sequential.compile / fit / evaluate', () => {
  it('trains a model through the public API and refuses to train before compile', async () => {
    const rng = new Rng(12);
    const [N, T] = [128, 5];
    const xv = rng.uniform(N * T, -1, 1);
    const yv = Float32Array.from({ length: N }, (_, n) => Math.max(...xv.slice(n * T, (n + 1) * T)));
    const x = rk.tensor(xv, [N, T, 1]);
    const y = rk.tensor(yv, [N, 1]);
    const model = rk.sequential([rk.layers.gru({ units: 10, seed: 3, inputShape: [T, 1] }), rk.layers.dense({ units: 1, seed: 4 })]);
    await expect(model.fit(x, y)).rejects.toThrow(/compile/);
    expect(() => model.compile({ loss: 'hinge' as rk.LossName, optimizer: rk.optimizers.adam() })).toThrow(/loss/);
    expect(() => model.compile({ loss: 'mse', optimizer: {} as rk.Optimizer })).toThrow(/optimizer/);
    model.compile({ loss: 'mse', optimizer: rk.optimizers.adam({ learningRate: 0.02, clipnorm: 1 }) });
    const before = await model.evaluate(x, y);
    const history = await model.fit(x, y, { epochs: 30, batchSize: 16, verbose: 0 });
    const after = await model.evaluate(x, y);
    expect(history.history.loss[29]).toBeLessThan(history.history.loss[0]!);
    expect(after).toBeLessThan(before / 5);
    // predict agrees with the trained weights that evaluate used.
    const pred = (await model.predict(x)).dataSync();
    const mse = pred.reduce((s, p, i) => s + (p - yv[i]!) ** 2, 0) / N;
    expect(Math.abs(mse - after)).toBeLessThan(1e-5);
  });
});

describe('fit on more tasks', () => {
  it('a GRU forecasts a noisy sine one step ahead better than repeating the last value', async () => {
    const rng = new Rng(17);
    const T = 12;
    const series = Float32Array.from({ length: 600 }, (_, i) => Math.sin(i * 0.3) + 0.05 * rng.normal(1)[0]!);
    const N = series.length - T - 1;
    const xv = new Float32Array(N * T);
    const yv = new Float32Array(N);
    for (let n = 0; n < N; n++) {
      xv.set(series.subarray(n, n + T), n * T);
      yv[n] = series[n + T]!;
    }
    const model = rk.sequential([rk.layers.gru({ units: 16, seed: 8, inputShape: [T, 1] }), rk.layers.dense({ units: 1, seed: 9 })]);
    model.compile({ loss: 'mse', optimizer: rk.optimizers.adam({ learningRate: 0.01 }) });
    const x = rk.tensor(xv, [N, T, 1]);
    const y = rk.tensor(yv, [N, 1]);
    await model.fit(x, y, { epochs: 25, batchSize: 32, verbose: 0, validationSplit: 0.2 });
    const naive = yv.reduce((s, v, n) => s + (v - xv[n * T + T - 1]!) ** 2, 0) / N;
    expect(await model.evaluate(x, y)).toBeLessThan(naive / 4);
  });

  it('a stateful layer carries its states from batch to batch during fit', async () => {
    const rng = new Rng(6);
    const layer = rk.layers.lstm({ units: 4, seed: 1, stateful: true, batchInputShape: [8, 5, 2] });
    const model = rk.sequential([layer, rk.layers.dense({ units: 1, seed: 2 })]);
    model.compile({ loss: 'mse', optimizer: rk.optimizers.sgd({ learningRate: 0.01 }) });
    const x = rk.tensor(rng.normal(32 * 5 * 2), [32, 5, 2]);
    const y = rk.tensor(rng.normal(32), [32, 1]);
    await model.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    // The states the last batch left behind start the next pass: its output differs from a fresh start.
    const probe = rk.tensor(rng.normal(8 * 5 * 2), [8, 5, 2]);
    const carried = (await layer.forward(probe)).output.dataSync();
    layer.resetStates();
    const fresh = (await layer.forward(probe)).output.dataSync();
    expect(Array.from(carried)).not.toEqual(Array.from(fresh));
  });
});
