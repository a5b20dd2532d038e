/**
 * rk.sequential: summary numbers (the seed model of issue 4), predict against the layers'
 * own forwards chained by hand and against the float64 reference (test/reference/rnn64.ts
 * plus a float64 dense layer), batching, lengths, weights, and bad input.
 */
import { describe, it, expect } from 'vitest';
import * as rk from '../lib';
import * as ref from './reference/rnn64';
import { Rng } from './helpers/random';
import { expectClose } from './helpers/compare';
import { makeLayer, seedOf } from './helpers/rnn-cases';
import { model64, randomModelWeights, type DenseRef, type RefLayer, isDenseRef } from './helpers/model-ref';

const TOL = 1e-5;

function rkLayer(l: RefLayer): rk.ModelLayer {
  if (isDenseRef(l)) {
    return rk.layers.dense({ units: l.units, ...(l.activation ? { activation: l.activation } : {}), ...(l.useBias === false ? { useBias: false } : {}) });
  }
  return makeLayer(l) as rk.ModelLayer;
}

function seedModel(): rk.Sequential {
  return rk.sequential([
    rk.layers.simpleRNN({ units: 5, returnSequences: true, inputShape: [10, 8], seed: 1 }),
    rk.layers.simpleRNN({ units: 3, seed: 2 }),
    rk.layers.dense({ units: 10, seed: 3 }),
  ]);
}

interface ModelCase {
  layers: RefLayer[];
  D: number;
}

const rnn = (cell: ref.CellType, units: number, extra: Partial<ref.RnnConfig> = {}): ref.RnnConfig => ({ cell, units, inputDim: 0, ...extra });
const dense = (units: number, activation: DenseRef['activation'] = 'linear', useBias = true): DenseRef => ({ dense: true, units, activation, useBias });

const CASES: Record<string, ModelCase> = {
  'seed model (SimpleRNN seq -> SimpleRNN -> Dense)': { D: 8, layers: [rnn('simpleRNN', 5, { returnSequences: true }), rnn('simpleRNN', 3), dense(10)] },
  'LSTM seq -> Dense(relu) per step -> GRU(resetAfter) -> Dense(softmax)': {
    D: 4,
    layers: [rnn('lstm', 6, { returnSequences: true }), dense(5, 'relu'), rnn('gru', 4), dense(3, 'softmax')],
  },
  'Bidirectional LSTM concat seq -> GRU(reset before, goBackwards) -> Dense(tanh, no bias)': {
    D: 3,
    layers: [{ layer: rnn('lstm', 4, { returnSequences: true }), mergeMode: 'concat' }, rnn('gru', 5, { resetAfter: false, goBackwards: true }), dense(2, 'tanh', false)],
  },
  'SimpleRNN(relu) seq -> Bidirectional GRU ave (last) -> Dense(sigmoid)': {
    D: 5,
    layers: [rnn('simpleRNN', 4, { returnSequences: true, activation: 'relu' }), { layer: rnn('gru', 3), mergeMode: 'ave' }, dense(2, 'sigmoid')],
  },
  'sequence output: LSTM(hardSigmoid) seq -> Dense per step': {
    D: 4,
    layers: [rnn('lstm', 3, { returnSequences: true, recurrentActivation: 'hardSigmoid' }), dense(4)],
  },
};

/** A model with seeded weights, the same weights as arrays, and seeded input. */
function setUp(name: string, c: ModelCase, N: number, T: number) {
  const rng = new Rng(seedOf(name));
  const weights = randomModelWeights(rng, c.layers, c.D);
  const model = rk.sequential(c.layers.map(rkLayer));
  model.setWeights(weights.flat());
  const xv = rng.normal(N * T * c.D);
  const x = rk.tensor(xv, [N, T, c.D]);
  return { model, weights, xv, x, rng };
}

describe('summary', () => {
  it('the seed model shows 70, 27, 40 and 137 in total', () => {
    const model = seedModel();
    const s = model.summary();
    const rows = s.split('\n');
    const row = (name: string) => rows.find((r) => r.includes(name))!;
    const layers = model.layers;
    expect(row(`${layers[0]!.name} (SimpleRNN)`)).toMatch(/\(None, 10, 5\)\s+70$/);
    expect(row(`${layers[1]!.name} (SimpleRNN)`)).toMatch(/\(None, 3\)\s+27$/);
    expect(row(`${layers[2]!.name} (Dense)`)).toMatch(/\(None, 10\)\s+40$/);
    expect(s).toContain('Total params: 137');
    expect(s).toContain('Trainable params: 137');
    expect(s).toContain('Non-trainable params: 0');
    expect(s).toMatch(/Layer \(type\)\s+Output Shape\s+Param #/);
    expect(model.countParams()).toBe(137);
    expect(model.outputShape).toEqual([null, 10]);
    model.dispose();
  });

  it('a bidirectional concat layer doubles H and counts both directions', () => {
    const model = rk.sequential([
      rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 4, returnSequences: true, inputShape: [null, 3], seed: 1 }) }),
      rk.layers.gru({ units: 2, seed: 2 }),
    ]);
    const s = model.summary();
    // LSTM: 4·4·(3+4+1) = 128 per direction; GRU(resetAfter): 3·2·(8+2) + 2·3·2 = 72
    expect(s).toMatch(/\(Bidirectional\)\s+\(None, None, 8\)\s+256/);
    expect(s).toMatch(/\(GRU\)\s+\(None, 2\)\s+72/);
    expect(s).toContain('Total params: 328');
    model.dispose();
  });

  it('summary before the model is built is an Error saying how to build it', () => {
    const model = rk.sequential([rk.layers.lstm({ units: 2 })]);
    expect(() => model.summary()).toThrow(/not built.*inputShape/);
  });
});

describe('predict against the float64 reference and the layers chained by hand', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const N = 5;
      const T = 7;
      const { model, weights, xv, x } = setUp(name, c, N, T);
      const y = await model.predict(x);
      const expected = model64(c.layers, weights, xv, N, T, c.D);
      expect(y.shape).toEqual(expected.shape);
      expectClose(y.dataSync(), expected.output, TOL, 'predict vs float64 reference');

      // The layers' own forwards, chained by hand, give exactly the same numbers.
      let cur = x;
      for (const layer of model.layers) {
        const r = await layer.forward(cur);
        cur = r.output;
      }
      expect(Array.from(y.dataSync())).toEqual(Array.from(cur.dataSync()));
      model.dispose();
    });
  }
});

describe('batching', () => {
  it('predict in batches of 1, 3 and 64 gives identical results to one batch', async () => {
    const name = 'batching';
    const c = CASES['LSTM seq -> Dense(relu) per step -> GRU(resetAfter) -> Dense(softmax)']!;
    const N = 11;
    const T = 6;
    const { model, weights, xv, x } = setUp(name, c, N, T);
    const whole = (await model.predict(x, { batchSize: N })).dataSync();
    for (const batchSize of [1, 3, 64]) {
      const y = await model.predict(x, { batchSize });
      expect(y.shape).toEqual([N, 3]);
      expect(Array.from(y.dataSync()), `batchSize ${batchSize}`).toEqual(Array.from(whole));
    }
    expectClose(whole, model64(c.layers, weights, xv, N, T, c.D).output, TOL, 'vs reference');
    model.dispose();
  });

  it('an empty batch gives an empty output of the right shape', async () => {
    const model = seedModel();
    const y = await model.predict(rk.tensor(new Float32Array(0), [0, 10, 8]), { batchSize: 1 });
    expect(y.shape).toEqual([0, 10]);
    model.dispose();
  });

  it('the default batch size (32) splits a batch of 70 and keeps sequence outputs in order', async () => {
    const name = 'default batch';
    const c = CASES['sequence output: LSTM(hardSigmoid) seq -> Dense per step']!;
    const N = 70;
    const T = 4;
    const { model, weights, xv, x } = setUp(name, c, N, T);
    const y = await model.predict(x);
    expect(y.shape).toEqual([N, T, 4]);
    expectClose(y.dataSync(), model64(c.layers, weights, xv, N, T, c.D).output, TOL, 'vs reference');
    model.dispose();
  });
});

describe('lengths', () => {
  const LENGTHS = [7, 3, 0, 1, 5, 7, 2];
  for (const name of [
    'LSTM seq -> Dense(relu) per step -> GRU(resetAfter) -> Dense(softmax)',
    'Bidirectional LSTM concat seq -> GRU(reset before, goBackwards) -> Dense(tanh, no bias)',
    'sequence output: LSTM(hardSigmoid) seq -> Dense per step',
  ]) {
    it(`${name}: lengths reach every recurrent layer, also across batches`, async () => {
      const c = CASES[name]!;
      const N = LENGTHS.length;
      const T = 7;
      const { model, weights, xv, x } = setUp(`lengths ${name}`, c, N, T);
      const expected = model64(c.layers, weights, xv, N, T, c.D, LENGTHS);
      const y = await model.predict(x, { lengths: LENGTHS });
      expectClose(y.dataSync(), expected.output, TOL, 'one batch');
      const yb = await model.predict(x, { lengths: Int32Array.from(LENGTHS), batchSize: 3 });
      expect(Array.from(yb.dataSync())).toEqual(Array.from(y.dataSync()));
      // and they matter: without lengths the result differs
      const free = await model.predict(x);
      expect(Array.from(free.dataSync())).not.toEqual(Array.from(y.dataSync()));
      model.dispose();
    });
  }
});

describe('weights', () => {
  it('getWeights lists every layer in order; setWeights on a fresh model reproduces the predictions', async () => {
    const name = 'weights';
    const c = CASES['SimpleRNN(relu) seq -> Bidirectional GRU ave (last) -> Dense(sigmoid)']!;
    const { model, weights, x } = setUp(name, c, 4, 5);
    const ws = model.getWeights();
    expect(ws.map((w) => w.shape)).toEqual([[5, 4], [4, 4], [4], [4, 9], [3, 9], [2, 9], [4, 9], [3, 9], [2, 9], [3, 2], [2]]);
    ws.forEach((w, i) => expect(Array.from(w.dataSync()), `weight ${i}`).toEqual(Array.from(weights.flat()[i]!)));
    const other = rk.sequential(c.layers.map(rkLayer));
    other.setWeights(ws);
    expect(other.inputShape).toEqual([null, null, 5]);
    expect(Array.from((await other.predict(x)).dataSync())).toEqual(Array.from((await model.predict(x)).dataSync()));
    model.dispose();
    other.dispose();
  });

  it('setWeights with the wrong number or shape of weights names the layer', () => {
    const model = seedModel();
    const ws = model.getWeights();
    expect(() => model.setWeights(ws.slice(1))).toThrow(RangeError);
    expect(() => model.setWeights(ws.slice(1))).toThrow(/expected 8 weights/);
    const bad = [...ws];
    bad[3] = rk.tensor(new Float32Array(6 * 9).fill(0.1), [6, 9]);
    expect(() => model.setWeights(bad)).toThrow(/layer 1 \(simpleRNN_\d+\)/);
    model.dispose();
  });
});

describe('bad input', () => {
  it('wrong rank, feature size, timesteps, lengths, batch size and options are clear errors', async () => {
    const model = seedModel();
    const rng = new Rng(5);
    const x2 = rk.tensor(rng.normal(4 * 8), [4, 8]);
    await expect(model.predict(x2)).rejects.toThrow(RangeError);
    await expect(model.predict(x2)).rejects.toThrow(/x must be rank 3/);
    const xd = rk.tensor(rng.normal(2 * 10 * 7), [2, 10, 7]);
    await expect(model.predict(xd)).rejects.toThrow(/x must have shape \[\?,10,8\], got \[2,10,7\]/);
    const xt = rk.tensor(rng.normal(2 * 9 * 8), [2, 9, 8]);
    await expect(model.predict(xt)).rejects.toThrow(RangeError);
    const x = rk.tensor(rng.normal(2 * 10 * 8), [2, 10, 8]);
    await expect(model.predict(x, { lengths: [3] })).rejects.toThrow(/lengths must have one entry per sequence/);
    await expect(model.predict(x, { lengths: [3, 11] })).rejects.toThrow(/lengths\[1\] must be in \[0, 10\]/);
    await expect(model.predict(x, { batchSize: 0 })).rejects.toThrow(/batchSize must be a positive integer/);
    await expect(model.predict(x, { batchsize: 4 } as never)).rejects.toThrow(/unknown option 'batchsize'/);
    await expect(model.predict([1, 2] as never)).rejects.toThrow(/x must be a Tensor/);
    model.dispose();
  });

  it('layers that cannot follow each other, and non-layers, are rejected when the model is made', () => {
    expect(() => rk.sequential([{} as never])).toThrow(TypeError);
    expect(() =>
      rk.sequential([rk.layers.lstm({ units: 3, inputShape: [5, 2] }), rk.layers.gru({ units: 2 })]),
    ).toThrow(/layer 1 \(gru_\d+\): a GRU layer needs input of rank 3/);
    const l = rk.layers.lstm({ units: 3, inputShape: [5, 2] });
    expect(() => rk.sequential([l, l])).toThrow(/already in the model/);
    expect(() => rk.sequential([rk.layers.lstm({ units: 3, name: 'a', returnSequences: true }), rk.layers.gru({ units: 2, name: 'a' })])).toThrow(
      /already named 'a'/,
    );
    const built = rk.layers.simpleRNN({ units: 3, inputShape: [5, 4] });
    expect(() => rk.sequential([rk.layers.lstm({ units: 3, returnSequences: true, inputShape: [5, 2] }), built])).toThrow(
      /built for 4 features, but its input has 3/,
    );
  });
});
