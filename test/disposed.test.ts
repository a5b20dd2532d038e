/**
 * Use after dispose(): a disposed tensor, layer or model raises an Error with code
 * RNNKIT_DISPOSED wherever it is used, and never comes back to life (a disposed layer once
 * re-initialized itself with fresh random weights on the next predict). dispose() itself
 * stays idempotent.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

type Tensor = rk.Tensor;

/** Runs `call` (sync or async) and returns what it threw or rejected with. */
async function failure(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (e) {
    return e;
  }
  throw new Error('expected an RNNKIT_DISPOSED error, but the call succeeded');
}

async function expectDisposed(call: () => unknown, names: RegExp): Promise<void> {
  const e = (await failure(call)) as Error & { code?: string };
  expect(e).toBeInstanceOf(Error);
  expect(e).not.toBeInstanceOf(TypeError);
  expect(e).not.toBeInstanceOf(RangeError);
  expect(e.code, e.message).toBe('RNNKIT_DISPOSED');
  expect(e.message).toMatch(/disposed/);
  expect(e.message).toMatch(names);
}

const N = 3, T = 4, D = 5;

function input(seed: number, shape = [N, T, D]): Tensor {
  return rk.tensor(new Rng(seed).normal(shape.reduce((a, b) => a * b, 1)), shape);
}

interface Kind {
  name: string;
  make(): rk.ModelLayer;
  /** the input it takes, and the gradient shape of its output */
  x(): Tensor;
  dOutput: number[];
}

const KINDS: Kind[] = [
  { name: 'simpleRNN', make: () => rk.layers.simpleRNN({ units: 2, seed: 1, name: 'rnn_d' }), x: () => input(1), dOutput: [N, 2] },
  { name: 'lstm', make: () => rk.layers.lstm({ units: 2, returnSequences: true, seed: 2, name: 'lstm_d' }), x: () => input(2), dOutput: [N, T, 2] },
  { name: 'gru', make: () => rk.layers.gru({ units: 2, seed: 3, name: 'gru_d' }), x: () => input(3), dOutput: [N, 2] },
  { name: 'bidirectional', make: () => rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 2, seed: 4, name: 'bi_d' }) }), x: () => input(4), dOutput: [N, 4] },
  { name: 'dense', make: () => rk.layers.dense({ units: 2, seed: 5, name: 'dense_d' }), x: () => input(5), dOutput: [N, T, 2] },
  { name: 'timeDistributed', make: () => rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2, seed: 6, name: 'td_d' }) }), x: () => input(6), dOutput: [N, T, 2] },
  { name: 'dropout', make: () => rk.layers.dropout({ rate: 0.5, seed: 7, name: 'drop_d' }), x: () => input(7), dOutput: [N, T, D] },
  {
    name: 'embedding',
    make: () => rk.layers.embedding({ inputDim: 6, outputDim: 2, seed: 8, name: 'emb_d' }),
    x: () => rk.tensor(Float32Array.from({ length: N * T }, (_, i) => (i * 5) % 6), [N, T]),
    dOutput: [N, T, 2],
  },
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyLayer = any;

describe('a disposed layer raises RNNKIT_DISPOSED everywhere', () => {
  for (const k of KINDS) {
    it(`${k.name}: forward, backward, build, getWeights, setWeights, countParams after dispose()`, async () => {
      const layer = k.make() as AnyLayer;
      const x = k.x();
      const fwd = await layer.forward(x, { training: true });
      const weights: Tensor[] = layer.getWeights();
      const dOutput = rk.tensor(new Rng(9).normal(fwd.output.size), fwd.output.shape);
      expect(layer.isDisposed).toBe(false);
      layer.dispose();
      layer.dispose(); // idempotent
      expect(layer.isDisposed).toBe(true);
      const name = /\w+\.\w+/;
      await expectDisposed(() => layer.forward(x), name);
      await expectDisposed(() => layer.forward(x, { training: true }), name);
      if (typeof layer.backward === 'function') await expectDisposed(() => layer.backward(fwd, { dOutput }), name);
      if (typeof layer.backwardTrainable === 'function') await expectDisposed(() => layer.backwardTrainable(fwd, dOutput), name);
      await expectDisposed(() => layer.build(k.name === 'embedding' ? [null, T] : [null, T, D]), name);
      await expectDisposed(() => layer.getWeights(), name);
      await expectDisposed(() => layer.setWeights(weights), name);
      await expectDisposed(() => layer.countParams(), name);
      if (typeof layer.trainableWeights === 'function') await expectDisposed(() => layer.trainableWeights(), name);
      // still disposed: none of the calls above brought it back
      expect(layer.isDisposed).toBe(true);
      for (const t of [x, fwd.output, ...(fwd.states ?? []), dOutput, ...weights]) t.dispose();
      fwd.dispose();
    });
  }

  it('a disposed recurrent layer does not come back with fresh weights (the reported bug)', async () => {
    const layer = rk.layers.lstm({ units: 3, seed: 11 });
    const x = input(12);
    const y = await layer.forward(x);
    layer.dispose();
    await expectDisposed(() => layer.forward(x), /lstm_\d+\.forward/);
    expect(layer.built).toBe(false);
    for (const t of [x, y.output, ...y.states]) t.dispose();
  });

  it('bidirectional: disposing the wrapped layer disposes the wrapper', async () => {
    const inner = rk.layers.gru({ units: 2, seed: 13 });
    const bi = rk.layers.bidirectional({ layer: inner });
    const x = input(14);
    inner.dispose();
    expect(bi.isDisposed).toBe(true);
    await expectDisposed(() => bi.forward(x), /bidirectional\.forward/);
    await expectDisposed(() => bi.getWeights(), /bidirectional\.getWeights/);
    x.dispose();
    bi.dispose();
  });

  it('recurrent layers: importWeights / exportWeights / resetStates(states) after dispose()', async () => {
    const layer = rk.layers.lstm({ units: 2, seed: 15, stateful: true });
    const x = input(16);
    (await layer.forward(x)).dispose();
    const exported = layer.exportWeights('pytorch');
    layer.dispose();
    await expectDisposed(() => layer.exportWeights('pytorch'), /exportWeights/);
    await expectDisposed(() => layer.importWeights('pytorch', exported), /lstm_\d+/);
    const h = rk.tensor(new Float32Array(N * 2), [N, 2]);
    await expectDisposed(() => layer.resetStates([h, h]), /resetStates/);
    layer.resetStates(); // clearing nothing is harmless
    for (const t of [x, h, ...Object.values(exported)]) t.dispose();
  });
});

describe('a disposed model, or a model with a disposed layer, raises RNNKIT_DISPOSED', () => {
  function makeModel(): { model: rk.Sequential; layers: rk.ModelLayer[] } {
    const layers = [
      rk.layers.lstm({ units: 3, returnSequences: true, inputShape: [T, D], seed: 21 }),
      rk.layers.dropout({ rate: 0.1, seed: 22 }),
      rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2, seed: 23 }) }),
    ];
    const model = rk.sequential(layers);
    model.compile({ loss: 'mse', optimizer: rk.optimizers.sgd({ learningRate: 0.1 }) });
    return { model, layers };
  }

  const uses: [string, (m: rk.Sequential, x: Tensor, y: Tensor, w: Tensor[]) => unknown][] = [
    ['predict', (m, x) => m.predict(x)],
    ['predict', (m, x) => m.predict(x, { batchSize: 1 })],
    ['fit', (m, x, y) => m.fit(x, y, { epochs: 1, verbose: 0 })],
    ['evaluate', (m, x, y) => m.evaluate(x, y)],
    ['getWeights', (m) => m.getWeights()],
    ['setWeights', (m, _x, _y, w) => m.setWeights(w)],
    ['summary', (m) => m.summary()],
    ['countParams', (m) => m.countParams()],
    ['build', (m) => m.build([null, T, D])],
    ['save', (m) => m.save('/nonexistent-rnnkit-dir/should-not-be-written')],
    ['compile', (m) => m.compile({ loss: 'mse', optimizer: rk.optimizers.sgd({ learningRate: 0.1 }) })],
    ['add', (m) => m.add(rk.layers.dense({ units: 1 }))],
  ];

  for (const which of ['model', 'its first layer', 'its dropout layer', 'the dense layer inside timeDistributed'] as const) {
    it(`after disposing ${which}: ${uses.map((u) => u[0]).join(', ')}`, async () => {
      const { model, layers } = makeModel();
      const x = input(24);
      const y = rk.tensor(new Rng(25).normal(N * T * 2), [N, T, 2]);
      const before = await model.predict(x);
      const weights = model.getWeights();
      if (which === 'model') model.dispose();
      else if (which === 'its first layer') layers[0]!.dispose();
      else if (which === 'its dropout layer') layers[1]!.dispose();
      else (layers[2] as ReturnType<typeof rk.layers.timeDistributed>).layer.dispose();
      const names = which === 'model' ? /sequential_\d+\.\w+: the model has been disposed/ : /sequential_\d+\.\w+: the layer '.+' \(layers\[\d\]\) has been disposed/;
      for (const [label, use] of uses) {
        await expectDisposed(() => use(model, x, y, weights), names).catch((e: Error) => {
          throw new Error(`${label}: ${e.message}`);
        });
      }
      for (const t of [x, y, before, ...weights]) t.dispose();
      model.dispose();
      model.dispose(); // idempotent
    });
  }
});

describe('a disposed tensor raises RNNKIT_DISPOSED', () => {
  it('dataSync, data, and as an argument of clip, predict and forward', async () => {
    const t = input(31);
    t.dispose();
    t.dispose(); // idempotent
    await expectDisposed(() => t.dataSync(), /tensor/);
    await expectDisposed(() => t.data(), /tensor/);
    await expectDisposed(() => rk.clip.byNorm([t], 1), /grads\[0\]/);
    const layer = rk.layers.simpleRNN({ units: 2, seed: 32 });
    await expectDisposed(() => layer.forward(t), /x/);
    const model = rk.sequential([rk.layers.simpleRNN({ units: 2, inputShape: [T, D], seed: 33 })]);
    await expectDisposed(() => model.predict(t), /x/);
    layer.dispose();
    model.dispose();
  });

  it('a disposed forward pass: backward raises RNNKIT_DISPOSED', async () => {
    const layer = rk.layers.gru({ units: 2, seed: 34 });
    const x = input(35);
    const fwd = await layer.forward(x, { training: true });
    fwd.dispose();
    const dOutput = rk.tensor(new Float32Array(N * 2), [N, 2]);
    await expectDisposed(() => layer.backward(fwd, { dOutput }), /forward pass/);
    for (const t of [x, dOutput, fwd.output, ...fwd.states]) t.dispose();
    layer.dispose();
  });
});
