/**
 * Functional models (rk.model / rk.input / layer.apply) against TensorFlow.js (cpu backend)
 * built with the same weights:
 * - forward parity of chains, several inputs and outputs, shared layers, returnState,
 *   feature extraction, Bidirectional, Embedding;
 * - one SGD step (weights after − before = −lr·grad) for shared layers, two outputs (losses
 *   summed) and returnState states feeding a Dense;
 * - getLayer, summary, layers order, errors with codes;
 * - save/load both ways (rnnkit ↔ tfjs), and hand-written model.json files in Keras 3 and
 *   Keras 2 functional spelling with weight names as converters write them.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as rk from '../lib';
import { Rng } from './helpers/random';
import { useTempDirs } from './helpers/temp-dirs';
import { tfjsArtifacts } from './helpers/model-files';
import { expectClose } from './helpers/compare';
import {
  copySeededWeights,
  L,
  Twin,
  expectSameOutputs,
  expectSameSgdStep,
  LayerPair,
  outList,
  saveTfjsModel,
  tfList,
  writeModelFiles,
} from './helpers/tfjs-parity';

const FWD_TOL = 1e-5;
const GRAD_TOL = 1e-4;
const freshDir = useTempDirs('functional');

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

interface Case {
  /** The twin models, their layer pairs, and seeded data of N samples. */
  build(): { twin: Twin; m: rk.LayersModel; t: tf.LayersModel };
  /** Per input: shape without the batch axis, and ids below vocab for an embedding input. */
  inputs: { shape: number[]; vocab?: number }[];
}

const T = 6;

const CASES: Record<string, Case> = {
  'chain: input -> LSTM(returnSequences) -> Dense': {
    inputs: [{ shape: [T, 4] }],
    build() {
      const w = new Twin();
      const x = w.input([T, 4], 'chain_in');
      const h = w.apply(L.lstm({ units: 5, returnSequences: true }), x);
      const y = w.apply(L.dense({ units: 3, activation: 'tanh' }), h);
      return { twin: w, ...w.models([y]) };
    },
  },
  'two inputs, two branches, two outputs': {
    inputs: [{ shape: [T, 3] }, { shape: [T + 2, 4] }],
    build() {
      const w = new Twin();
      const a = w.input([T, 3], 'two_in_a');
      const b = w.input([T + 2, 4], 'two_in_b');
      const ya = w.apply(L.dense({ units: 2 }), w.apply(L.gru({ units: 5 }), a));
      const yb = w.apply(L.dense({ units: 3, activation: 'sigmoid' }), w.apply(L.simpleRNN({ units: 4, returnSequences: true }), b));
      return { twin: w, ...w.models([ya, yb]) };
    },
  },
  'a shared LSTM applied to two inputs, one head each and a shared head': {
    inputs: [{ shape: [T, 4] }, { shape: [T, 4] }],
    build() {
      const w = new Twin();
      const a = w.input([T, 4], 'shared_in_a');
      const b = w.input([T, 4], 'shared_in_b');
      const lstm = L.lstm({ units: 5, name: 'shared_lstm' });
      const head = L.dense({ units: 2, name: 'shared_head' });
      const ha = w.apply(lstm, a);
      const hb = w.apply(lstm, b);
      const ya = w.apply(head, ha);
      const yb = w.apply(head, hb);
      const yc = w.apply(L.dense({ units: 3, activation: 'tanh', name: 'head_b' }), hb);
      return { twin: w, ...w.models([ya, yb, yc], 'shared_model') };
    },
  },
  'LSTM with returnState: its states feed Dense layers': {
    inputs: [{ shape: [T, 3] }],
    build() {
      const w = new Twin();
      const x = w.input([T, 3], 'state_in');
      const [seq, h, c] = w.apply(L.lstm({ units: 5, returnSequences: true, returnState: true }), x, true);
      const yh = w.apply(L.dense({ units: 2 }), h!);
      const yc = w.apply(L.dense({ units: 3, activation: 'tanh' }), c!);
      const ys = w.apply(L.dense({ units: 2 }), seq!);
      return { twin: w, ...w.models([yh, yc, ys]) };
    },
  },
  'only the states of a returnState layer are used (LSTM c; Bidirectional GRU h of each direction)': {
    inputs: [{ shape: [T, 3] }],
    build() {
      const w = new Twin();
      const x = w.input([T, 3], 'states_only_in');
      const [, , c] = w.apply(L.lstm({ units: 4, returnSequences: true, returnState: true }), x, true);
      const [, hf, hb] = w.apply(L.bidiGru({ units: 3, returnState: true }, 'concat'), x, true);
      const y1 = w.apply(L.dense({ units: 2 }), c!);
      const y2 = w.apply(L.dense({ units: 2, activation: 'tanh' }), hf!);
      const y3 = w.apply(L.dense({ units: 2 }), hb!);
      return { twin: w, ...w.models([y1, y2, y3]) };
    },
  },
  'feature extraction: an inner LSTM sequence output and the final Dense': {
    inputs: [{ shape: [T, 4] }],
    build() {
      const w = new Twin();
      const x = w.input([T, 4], 'feat_in');
      const seq = w.apply(L.lstm({ units: 5, returnSequences: true, name: 'features' }), x);
      const y = w.apply(L.dense({ units: 2 }), w.apply(L.gru({ units: 4 }), seq));
      return { twin: w, ...w.models([seq, y]) };
    },
  },
  'Bidirectional GRU (concat, sequences) -> Bidirectional GRU (sum) -> Dense': {
    inputs: [{ shape: [T, 3] }],
    build() {
      const w = new Twin();
      const x = w.input([T, 3], 'bidi_in');
      const s = w.apply(L.bidiGru({ units: 4, returnSequences: true }, 'concat'), x);
      const y = w.apply(L.dense({ units: 2 }), w.apply(L.bidiGru({ units: 3 }, 'sum'), s));
      return { twin: w, ...w.models([s, y]) };
    },
  },
  'Embedding -> LSTM -> Dense': {
    inputs: [{ shape: [T], vocab: 11 }],
    build() {
      const w = new Twin();
      const x = w.input([T], 'ids_in', 'int32');
      const e = w.apply(L.embedding({ inputDim: 11, outputDim: 4 }), x);
      const y = w.apply(L.dense({ units: 3 }), w.apply(L.lstm({ units: 5 }), e));
      return { twin: w, ...w.models([y]) };
    },
  },
};

/** Seeded inputs for a case: normal floats, or ids in [1, vocab) (never all zeros). */
function caseData(c: Case, rng: Rng, N: number): { xs: rk.Tensor[]; txs: tf.Tensor[] } {
  const xs: rk.Tensor[] = [];
  const txs: tf.Tensor[] = [];
  for (const inp of c.inputs) {
    const shape = [N, ...inp.shape];
    const size = shape.reduce((a, b) => a * b, 1);
    if (inp.vocab) {
      const ids = Float32Array.from({ length: size }, () => rng.int(1, inp.vocab! - 1));
      xs.push(rk.tensor(ids, shape));
      txs.push(tf.tensor(Int32Array.from(ids), shape, 'int32'));
    } else {
      const v = rng.normal(size);
      xs.push(rk.tensor(v, shape));
      txs.push(tf.tensor(v, shape));
    }
  }
  return { xs, txs };
}

function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

function setUp(name: string, N = 5) {
  const c = CASES[name]!;
  const rng = new Rng(seedOf(name));
  const built = c.build();
  copySeededWeights(built.twin.pairs, rng);
  const data = caseData(c, rng, N);
  return { ...built, ...data, rng, c };
}

const one = <X>(xs: X[]): X | X[] => (xs.length === 1 ? xs[0]! : xs);

// ------------------------------------------------------------------ forward parity

describe('forward parity with tf.model (same weights)', () => {
  for (const name of Object.keys(CASES)) {
    it(name, async () => {
      const { m, t, xs, txs } = setUp(name);
      const got = await m.predict(one(xs));
      const want = t.predict(one(txs)) as tf.Tensor | tf.Tensor[];
      expectSameOutputs(got, want, FWD_TOL, name);
      // batching splits and joins every output the same way
      expectSameOutputs(await m.predict(one(xs), { batchSize: 2 }), want, FWD_TOL, `${name} (batchSize 2)`);
      expect(m.countParams()).toBe(t.countParams());
      m.dispose();
      t.dispose();
    });
  }

  it('a functional model applied as a layer (twice, sharing its weights) inside another model', async () => {
    const rng = new Rng(seedOf('nested'));
    const w = new Twin();
    const inner = new Twin();
    const ix = inner.input([T, 3], 'inner_in');
    const iy = inner.apply(L.dense({ units: 2, activation: 'tanh' }), inner.apply(L.gru({ units: 4 }), ix));
    const innerModels = inner.models([iy], 'inner');
    const a = w.input([T, 3], 'outer_a');
    const b = w.input([T, 3], 'outer_b');
    const ya = { rk: innerModels.m.apply(a.rk) as rk.SymbolicTensor, tf: innerModels.t.apply(a.tf) as tf.SymbolicTensor };
    const yb = { rk: innerModels.m.apply(b.rk) as rk.SymbolicTensor, tf: innerModels.t.apply(b.tf) as tf.SymbolicTensor };
    const y = w.apply(L.dense({ units: 3 }), ya);
    const { m, t } = w.models([y, yb]);
    copySeededWeights([...inner.pairs, ...w.pairs], rng);
    const N = 4;
    const xa = rng.normal(N * T * 3);
    const xb = rng.normal(N * T * 3);
    const got = await m.predict([rk.tensor(xa, [N, T, 3]), rk.tensor(xb, [N, T, 3])]);
    expectSameOutputs(got, t.predict([tf.tensor(xa, [N, T, 3]), tf.tensor(xb, [N, T, 3])]) as tf.Tensor[], FWD_TOL, 'nested');
    // the inner layers appear once, their weights counted once
    expect(m.countParams()).toBe(t.countParams());
    // the inner model on its own gives outer output 1
    expectSameOutputs(await innerModels.m.predict(rk.tensor(xb, [N, T, 3])), tfList(t.predict([tf.tensor(xa, [N, T, 3]), tf.tensor(xb, [N, T, 3])]) as tf.Tensor[])[1]!, FWD_TOL, 'inner alone');
    m.dispose();
    t.dispose();
  });

  it('an input listed as an output, and one output listed twice', async () => {
    const rng = new Rng(seedOf('identity outputs'));
    const w = new Twin();
    const x = w.input([T, 3], 'ident_in');
    const y = w.apply(L.dense({ units: 2 }), w.apply(L.simpleRNN({ units: 4 }), x));
    // tfjs's predict cannot return an input (its concat of batches gets null): its twin
    // outputs y alone
    const { m } = w.models([x, y, y]);
    const t1 = tf.model({ inputs: x.tf, outputs: y.tf });
    copySeededWeights(w.pairs, rng);
    const N = 3;
    const xv = rng.normal(N * T * 3);
    const got = outList(await m.predict(rk.tensor(xv, [N, T, 3])));
    expect(got).toHaveLength(3);
    const want = t1.predict(tf.tensor(xv, [N, T, 3])) as tf.Tensor;
    expectSameOutputs(got.slice(1), [want, want], FWD_TOL, 'identity outputs');
    expect(Array.from(got[0]!.dataSync())).toEqual(Array.from(Float32Array.from(xv)));
    // every output is a tensor of its own, batched or not
    for (const outs of [got, outList(await m.predict(rk.tensor(xv, [N, T, 3]), { batchSize: 2 }))]) {
      expect(new Set(outs).size).toBe(3);
      outs[1]!.dispose();
      expectClose(outs[2]!.dataSync(), want.dataSync() as Float32Array, FWD_TOL, 'the second copy after the first is disposed');
    }
    m.dispose();
    t1.dispose();
  });

  it('a model applied as a layer saves and loads (rnnkit and tfjs)', async () => {
    const rng = new Rng(seedOf('nested save'));
    const ix = rk.input({ shape: [T, 3], name: 'nested_inner_in' });
    const inner = rk.model({ inputs: ix, outputs: rk.layers.dense({ units: 2 }).apply(rk.layers.lstm({ units: 3 }).apply(ix) as rk.SymbolicTensor) as rk.SymbolicTensor });
    const a = rk.input({ shape: [T, 3], name: 'nested_a' });
    const b = rk.input({ shape: [T, 3], name: 'nested_b' });
    const outer = rk.model({ inputs: [a, b], outputs: [inner.apply(a) as rk.SymbolicTensor, inner.apply(b) as rk.SymbolicTensor] });
    outer.setWeights(outer.getWeights().map((w) => rng.uniform(w.size, -0.6, 0.6)));
    const N = 3;
    const xa = rng.normal(N * T * 3);
    const xb = rng.normal(N * T * 3);
    const want = outList(await outer.predict([rk.tensor(xa, [N, T, 3]), rk.tensor(xb, [N, T, 3])]));
    const dir = freshDir();
    await outer.save(dir);
    const loaded = (await rk.loadModel(dir)) as rk.LayersModel;
    const got = outList(await loaded.predict([rk.tensor(xa, [N, T, 3]), rk.tensor(xb, [N, T, 3])]));
    got.forEach((g, i) => expect(Array.from(g.dataSync())).toEqual(Array.from(want[i]!.dataSync())));
    const fromTf = await tf.loadLayersModel(tf.io.fromMemory(tfjsArtifacts(dir)));
    expectSameOutputs(want, fromTf.predict([tf.tensor(xa, [N, T, 3]), tf.tensor(xb, [N, T, 3])]) as tf.Tensor[], FWD_TOL, 'tfjs reading it');
    outer.dispose();
    loaded.dispose();
    fromTf.dispose();
  });

  it('a shared layer has one set of weights: changing them changes both of its calls', async () => {
    const { m, xs } = setUp('a shared LSTM applied to two inputs, one head each and a shared head');
    const lstm = m.getLayer('shared_lstm');
    // the same input on both sides gives the same shared-head outputs
    const same = outList(await m.predict([xs[0]!, xs[0]!]));
    expect(Array.from(same[1]!.dataSync())).toEqual(Array.from(same[0]!.dataSync()));
    expect(m.getWeights().length).toBe(3 + 2 + 2); // the LSTM and the shared head once each
    lstm.setWeights(lstm.getWeights().map((w) => Float32Array.from(w.dataSync(), (v) => v * 0.5)));
    const after = outList(await m.predict([xs[0]!, xs[0]!]));
    expect(Array.from(after[1]!.dataSync())).toEqual(Array.from(after[0]!.dataSync()));
    expect(Array.from(after[0]!.dataSync())).not.toEqual(Array.from(same[0]!.dataSync()));
    m.dispose();
  });
});

// ------------------------------------------------------------------ one SGD step

describe('one SGD step equals tfjs (gradients within 1e-4)', () => {
  const stepCases = [
    'a shared LSTM applied to two inputs, one head each and a shared head',
    'two inputs, two branches, two outputs',
    'LSTM with returnState: its states feed Dense layers',
    'only the states of a returnState layer are used (LSTM c; Bidirectional GRU h of each direction)',
    'feature extraction: an inner LSTM sequence output and the final Dense',
    'Embedding -> LSTM -> Dense',
  ];
  // tfjs adds the outputs' unreduced per-sample losses before averaging (training.js: totalLoss =
  // mean(loss_0 + loss_1 + ...)), so a [N] loss broadcasts against a [N, T] one along T. That is
  // Keras's sum of the means only when every output has the same loss shape, or N == T: models
  // with sequence and vector outputs take N equal to their sequence output's T.
  const stepN: Record<string, number> = { 'two inputs, two branches, two outputs': T + 2 };
  for (const name of stepCases) {
    it(name, async () => {
      const N = stepN[name] ?? T;
      const { m, t, twin, xs, txs, rng } = setUp(name, N);
      const ys: rk.Tensor[] = [];
      const tys: tf.Tensor[] = [];
      for (const o of t.outputs) {
        const shape = [N, ...o.shape.slice(1)] as number[];
        const v = rng.normal(shape.reduce((a, b) => a * b, 1), 0, 0.7);
        ys.push(rk.tensor(v, shape));
        tys.push(tf.tensor(v, shape));
      }
      // the loss before the step: Keras's sum over the outputs, as tfjs's evaluate
      m.compile({ loss: 'mse', optimizer: rk.optimizers.sgd({ learningRate: 0.1 }) });
      t.compile({ loss: 'meanSquaredError', optimizer: tf.train.sgd(0.1) });
      // tfjs's evaluate lists the per-output losses last (with several outputs its first value
      // is not the total): Keras's total is their sum
      const tfValues = tfList(t.evaluate(one(txs), one(tys), { batchSize: N }) as tf.Scalar | tf.Scalar[]).map((v) => v.dataSync()[0]!);
      const tfLoss = tfValues.slice(-ys.length).reduce((a, b) => a + b, 0);
      expectClose([await m.evaluate(one(xs), one(ys))], [tfLoss], FWD_TOL, 'evaluate');
      await expectSameSgdStep(m, t, twin.pairs, { xs, ys, txs, tys }, GRAD_TOL);
      // and the updated models still agree
      expectSameOutputs(await m.predict(one(xs)), t.predict(one(txs)) as tf.Tensor | tf.Tensor[], FWD_TOL, 'after the step');
      m.dispose();
      t.dispose();
    });
  }
});

// ------------------------------------------------------------------ structure

describe('getLayer, layers, summary', () => {
  it('layers: inputs first, then in the order they first run; getLayer by name and index', () => {
    const { m, t } = setUp('a shared LSTM applied to two inputs, one head each and a shared head');
    const names = m.layers.map((l) => l.name);
    expect(names).toEqual(['shared_in_a', 'shared_in_b', 'shared_lstm', 'shared_head', names[4]]);
    expect(names[4]).toMatch(/^head_b$/);
    expect(new Set(names)).toEqual(new Set(t.layers.map((l) => l.name)));
    m.layers.forEach((l, i) => {
      expect(m.getLayer(i)).toBe(l);
      expect(m.getLayer(l.name)).toBe(l);
    });
    expect(m.getLayer('shared_lstm').className).toBe('LSTM');
    expect(m.inputs.map((s) => s.sourceLayer.name)).toEqual(['shared_in_a', 'shared_in_b']);
    expect(m.outputShapes).toEqual([[null, 2], [null, 2], [null, 3]]);
    expect(m.inputShapes).toEqual([[null, T, 4], [null, T, 4]]);
    m.dispose();
    t.dispose();
  });

  it('getLayer errors name the layers there are', () => {
    const { m } = setUp('chain: input -> LSTM(returnSequences) -> Dense');
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as Error & { code?: string };
      }
      throw new Error('did not throw');
    };
    const e1 = err(() => m.getLayer('nope'));
    expect(e1).toBeInstanceOf(RangeError);
    expect(e1.code).toBe('RNNKIT_INVALID_ARGUMENT');
    expect(e1.message).toMatch(/no layer is named 'nope'.*'chain_in'/);
    const e2 = err(() => m.getLayer(3));
    expect(e2).toBeInstanceOf(RangeError);
    expect(e2.message).toMatch(/index must be an integer in \[0, 3\), got 3/);
    expect(() => m.getLayer(-1)).toThrow(RangeError);
    expect(() => m.getLayer(1.5)).toThrow(RangeError);
    m.dispose();
  });

  it("summary: a row per call with 'Connected to', shared layers counted once, totals equal tfjs's countParams", () => {
    const { m, t } = setUp('a shared LSTM applied to two inputs, one head each and a shared head');
    const s = m.summary();
    const lines = s.split('\n');
    expect(lines[0]).toBe('Model: "shared_model"');
    expect(s).toMatch(/Layer \(type\)\s+Output Shape\s+Param #\s+Connected to/);
    // the shared LSTM has two rows (one per call), connected to each input
    const lstmRows = lines.filter((l) => l.startsWith('shared_lstm (LSTM)'));
    expect(lstmRows).toHaveLength(2);
    expect(lstmRows[0]).toMatch(/\(None, 5\)\s+200\s+shared_in_a\[0\]\[0\]$/);
    expect(lstmRows[1]).toMatch(/\(None, 5\)\s+200\s+shared_in_b\[0\]\[0\]$/);
    const headRows = lines.filter((l) => l.startsWith('shared_head (Dense)'));
    expect(headRows[0]).toMatch(/\(None, 2\)\s+12\s+shared_lstm\[0\]\[0\]$/);
    expect(headRows[1]).toMatch(/\(None, 2\)\s+12\s+shared_lstm\[1\]\[0\]$/);
    expect(lines.find((l) => l.startsWith('head_b (Dense)'))).toMatch(/\(None, 3\)\s+18\s+shared_lstm\[1\]\[0\]$/);
    expect(lines.find((l) => l.startsWith('shared_in_a (InputLayer)'))).toMatch(/\(None, 6, 4\)\s+0$/);
    const total = t.countParams();
    expect(total).toBe(4 * 5 * (4 + 5 + 1) + 12 + 18);
    expect(s).toContain(`Total params: ${total}`);
    expect(s).toContain(`Trainable params: ${total}`);
    expect(s).toContain('Non-trainable params: 0');
    expect(m.countParams()).toBe(total);
    m.dispose();
    t.dispose();
  });

  it('summary of returnState and Bidirectional models: totals equal tfjs, several output shapes listed', () => {
    for (const name of ['LSTM with returnState: its states feed Dense layers', 'Bidirectional GRU (concat, sequences) -> Bidirectional GRU (sum) -> Dense', 'Embedding -> LSTM -> Dense']) {
      const { m, t } = setUp(name);
      const s = m.summary();
      expect(s, name).toContain(`Total params: ${t.countParams()}`);
      if (name.startsWith('LSTM')) expect(s).toMatch(/\(LSTM\)\s+\[\(None, 6, 5\), \(None, 5\), \(None, 5\)\]/);
      m.dispose();
      t.dispose();
    }
  });
});

// ------------------------------------------------------------------ errors

function caught(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
}

describe('errors with codes', () => {
  it('a disconnected graph: an output depending on an input that is not listed', () => {
    const a = rk.input({ shape: [T, 3], name: 'listed' });
    const b = rk.input({ shape: [T, 3], name: 'not_listed' });
    const y = rk.layers.dense({ units: 2 }).apply(rk.layers.lstm({ units: 3 }).apply(b) as rk.SymbolicTensor) as rk.SymbolicTensor;
    const e = caught(() => rk.model({ inputs: a, outputs: y }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.code).toBe('RNNKIT_INVALID_ARGUMENT');
    expect(e.message).toMatch(/depends on input 'not_listed', which is not among the model's inputs \(the graph is disconnected\)/);
    // listing both inputs is fine, even one no output uses
    const ok = rk.model({ inputs: [a, b], outputs: y });
    expect(ok.inputs).toHaveLength(2);
    ok.dispose();
  });

  it('inputs that are not rk.input tensors', () => {
    const x = rk.input({ shape: [T, 3] });
    const h = rk.layers.lstm({ units: 3, returnSequences: true }).apply(x) as rk.SymbolicTensor;
    const y = rk.layers.dense({ units: 2 }).apply(h) as rk.SymbolicTensor;
    for (const bad of [h, rk.tensor(new Float32Array(6), [1, 2, 3]), 'input', null]) {
      const e = caught(() => rk.model({ inputs: bad as never, outputs: y }));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.code).toBe('RNNKIT_INVALID_ARGUMENT');
      expect(e.message).toMatch(/inputs\[0\] must be a symbolic tensor made by rk.input\(\)/);
    }
    const e2 = caught(() => rk.model({ inputs: x, outputs: rk.tensor([1, 2]) as never }));
    expect(e2).toBeInstanceOf(TypeError);
    expect(e2.message).toMatch(/outputs\[0\] must be a symbolic tensor/);
    const e3 = caught(() => rk.model({ inputs: [x, x], outputs: y }));
    expect(e3.message).toMatch(/an input is listed twice/);
    const e4 = caught(() => rk.layers.dense({ units: 2 }).apply(rk.tensor([1, 2], [1, 2]) as never));
    expect(e4).toBeInstanceOf(TypeError);
    expect(e4.code).toBe('RNNKIT_INVALID_ARGUMENT');
    expect(e4.message).toMatch(/must be a symbolic tensor from rk.input\(\)/);
  });

  it('applying a layer to a wrong shape names the layer', () => {
    const lstm = rk.layers.lstm({ units: 3, name: 'picky_lstm' });
    lstm.apply(rk.input({ shape: [T, 4] }));
    const e = caught(() => lstm.apply(rk.input({ shape: [T, 5] })));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('RNNKIT_INVALID_ARGUMENT');
    expect(e.message).toMatch(/^picky_lstm: the layer was built for 4 features, but its input has 5/);
    const e2 = caught(() => rk.layers.gru({ units: 3, name: 'flat_gru' }).apply(rk.input({ shape: [5] })));
    expect(e2).toBeInstanceOf(RangeError);
    expect(e2.message).toMatch(/^flat_gru: a GRU layer needs input of rank 3/);
    const e3 = caught(() => rk.layers.embedding({ inputDim: 5, outputDim: 2, name: 'emb_seq' }).apply(rk.input({ shape: [T, 3] })));
    expect(e3).toBeInstanceOf(RangeError);
    expect(e3.message).toMatch(/^emb_seq: an Embedding layer needs ids of rank 2/);
    const dense = rk.layers.dense({ units: 2, name: 'fixed_dense' });
    dense.apply(rk.input({ shape: [3] }));
    expect(() => dense.apply(rk.input({ shape: [4] }))).toThrow(/fixed_dense: the layer was built for 3 features, but its input has 4/);
  });

  it('predict with the wrong number of inputs, or an input of the wrong shape', async () => {
    const { m, xs } = setUp('two inputs, two branches, two outputs');
    for (const bad of [xs[0]!, [xs[0]!], [xs[0]!, xs[1]!, xs[1]!]] as (rk.Tensor | rk.Tensor[])[]) {
      const e = await m.predict(bad).then(
        () => null,
        (err: Error & { code?: string }) => err,
      );
      expect(e).toBeInstanceOf(TypeError);
      expect(e!.code).toBe('RNNKIT_INVALID_ARGUMENT');
      expect(e!.message).toMatch(/2 (inputs|tensors)/);
    }
    const e2 = await m.predict([xs[1]!, xs[0]!]).then(
      () => null,
      (err: Error & { code?: string }) => err,
    );
    expect(e2).toBeInstanceOf(RangeError);
    expect(e2!.message).toMatch(/x\[0\] \(two_in_a\) must have shape \[\?,6,3\], got \[5,8,4\]/);
    m.dispose();
  });
});

// ------------------------------------------------------------------ save / load

describe('save and load', () => {
  const saveCases = ['two inputs, two branches, two outputs', 'a shared LSTM applied to two inputs, one head each and a shared head', 'LSTM with returnState: its states feed Dense layers'];

  for (const name of saveCases) {
    it(`${name}: save -> rk.loadModel gives the same predictions; tf.loadLayersModel reads the file`, async () => {
      const { m, t, xs, txs } = setUp(name);
      const dir = freshDir();
      await m.save(dir);
      const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
      expect(json.modelTopology.class_name).toBe('Model');
      expect(json.modelTopology.config.input_layers).toEqual(m.inputs.map((s) => [s.sourceLayer.name, 0, 0]));
      const loaded = (await rk.loadModel(dir)) as rk.LayersModel;
      expect(loaded).toBeInstanceOf(rk.LayersModel);
      expect(loaded.layers.map((l) => l.name)).toEqual(m.layers.map((l) => l.name));
      const want = outList(await m.predict(one(xs)));
      const got = outList(await loaded.predict(one(xs)));
      expect(got).toHaveLength(want.length);
      got.forEach((g, i) => expect(Array.from(g.dataSync()), `output ${i}`).toEqual(Array.from(want[i]!.dataSync())));
      expect(loaded.summary().split('\n').slice(1)).toEqual(m.summary().split('\n').slice(1));

      const fromTf = await tf.loadLayersModel(tf.io.fromMemory(tfjsArtifacts(dir)));
      expect(fromTf.inputs).toHaveLength(m.inputs.length);
      expect(fromTf.outputs).toHaveLength(m.outputs.length);
      expectSameOutputs(want, fromTf.predict(one(txs)) as tf.Tensor | tf.Tensor[], FWD_TOL, 'tfjs reading rnnkit file');
      // and tfjs built by hand with the same weights agrees too
      expectSameOutputs(want, t.predict(one(txs)) as tf.Tensor | tf.Tensor[], FWD_TOL, 'tfjs twin');
      for (const x of [m, loaded]) x.dispose();
      fromTf.dispose();
      t.dispose();
    });
  }

  for (const name of ['two inputs, two branches, two outputs', 'a shared LSTM applied to two inputs, one head each and a shared head']) {
    it(`${name}: a tfjs model saved by tfjs loads in rnnkit with the same predictions`, async () => {
      const { m, t, xs, txs } = setUp(name);
      m.dispose();
      const dir = freshDir();
      const artifacts = await saveTfjsModel(t, dir);
      expect((artifacts.modelTopology as { class_name: string }).class_name).toBe('Model');
      const loaded = (await rk.loadModel(dir)) as rk.LayersModel;
      expect(loaded.inputs).toHaveLength(t.inputs.length);
      expect(loaded.outputs).toHaveLength(t.outputs.length);
      expect(new Set(loaded.layers.map((l) => l.name))).toEqual(new Set(t.layers.map((l) => l.name)));
      expectSameOutputs(await loaded.predict(one(xs)), t.predict(one(txs)) as tf.Tensor | tf.Tensor[], FWD_TOL, 'rnnkit reading tfjs file');
      expect(loaded.countParams()).toBe(t.countParams());
      loaded.dispose();
      t.dispose();
    });
  }
});

// ------------------------------------------------------------------ hand-written Keras files

/*
 * A model of two inputs: lstm(in_a) -> dense_a, gru(in_b) -> dense_b, and a shared `head`
 * applied to lstm (node 0) and gru (node 1). dense_a and dense_b have the same shapes, so
 * only their names tell them apart. Its twin is built in tfjs for the reference.
 */
const TA = 5;
const DA = 3;
const DB = 4;
const H = 5;

interface KerasFileOptions {
  spelling: 'keras3' | 'keras2';
  /** Single input and output: in_a -> lstm -> dense_a, endpoints as one triple (Keras 3). */
  single?: boolean;
  /** Weight names: `<model>/<layer>/<cell>/<w>:0`, or `<layer>/<cell>/<w>`. */
  names: 'prefixed' | 'plain';
  /** Manifest order: alphabetical, or as given with dense_b before dense_a. */
  order: 'alphabetical' | 'denseOutOfOrder';
}

const dtypePolicy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
const k3init = (cls: string, config: Record<string, unknown> = { seed: null }) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });

function kerasLayerConfig(spelling: KerasFileOptions['spelling'], cls: string, name: string, extra: Record<string, unknown>): Record<string, unknown> {
  const k3 = spelling === 'keras3';
  const base: Record<string, unknown> = { name, trainable: true, dtype: k3 ? dtypePolicy : 'float32' };
  const init = (c: string) => (k3 ? k3init(c) : { class_name: c, config: { seed: null } });
  if (cls === 'Dense') {
    return {
      ...base, units: extra.units, activation: extra.activation ?? 'linear', use_bias: true,
      kernel_initializer: init('GlorotUniform'), bias_initializer: k3 ? k3init('Zeros', {}) : { class_name: 'Zeros', config: {} },
      kernel_regularizer: null, bias_regularizer: null, kernel_constraint: null, bias_constraint: null,
      ...(k3 ? { lora_rank: null } : { activity_regularizer: null }),
    };
  }
  return {
    ...base, return_sequences: false, return_state: false, go_backwards: false, stateful: false, unroll: false,
    ...(k3 ? { zero_output_for_mask: false } : { time_major: false }),
    units: extra.units, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true,
    kernel_initializer: init('GlorotUniform'), recurrent_initializer: init('Orthogonal'), bias_initializer: k3 ? k3init('Zeros', {}) : { class_name: 'Zeros', config: {} },
    ...(cls === 'LSTM' ? { unit_forget_bias: true } : {}),
    kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null,
    kernel_constraint: null, recurrent_constraint: null, bias_constraint: null, dropout: 0.0, recurrent_dropout: 0.0,
    ...(k3 ? { seed: null } : { implementation: 2 }),
    ...(cls === 'GRU' ? { reset_after: false } : {}),
  };
}

type Ref = [string, number, number];

function inbound(spelling: KerasFileOptions['spelling'], refs: { ref: Ref; shape: (number | null)[] }[]): unknown[] {
  if (spelling === 'keras2') return refs.map((r) => [[r.ref[0], r.ref[1], r.ref[2], {}]]);
  return refs.map((r) => ({
    args: [{ class_name: '__keras_tensor__', config: { shape: r.shape, dtype: 'float32', keras_history: r.ref } }],
    kwargs: r.ref[0].startsWith('in_') ? {} : { training: false },
  }));
}

function kerasFile(o: KerasFileOptions, weights: Map<string, Float32Array[]>, shapes: Map<string, number[][]>): { topology: unknown; specs: { name: string; shape: number[]; values: Float32Array }[] } {
  const k3 = o.spelling === 'keras3';
  const modelName = k3 ? 'functional' : 'model';
  const inputLayer = (name: string, D: number) => ({
    ...(k3 ? { module: 'keras.layers', registered_name: null } : {}),
    class_name: 'InputLayer',
    name,
    config: k3 ? { batch_shape: [null, TA, D], dtype: 'float32', sparse: false, name } : { batch_input_shape: [null, TA, D], dtype: 'float32', sparse: false, ragged: false, name },
    inbound_nodes: [],
  });
  const layer = (cls: string, name: string, extra: Record<string, unknown>, refs: { ref: Ref; shape: (number | null)[] }[]) => ({
    ...(k3 ? { module: 'keras.layers', registered_name: null, build_config: { input_shape: refs[0]!.shape } } : {}),
    class_name: cls,
    name,
    config: kerasLayerConfig(o.spelling, cls, name, extra),
    inbound_nodes: inbound(o.spelling, refs),
  });
  const layers = o.single
    ? [
        layer('Dense', 'dense_a', { units: 3 }, [{ ref: ['lstm', 0, 0], shape: [null, H] }]), // listed before its input: any order
        inputLayer('in_a', DA),
        layer('LSTM', 'lstm', { units: H }, [{ ref: ['in_a', 0, 0], shape: [null, TA, DA] }]),
      ]
    : [
        inputLayer('in_a', DA),
        inputLayer('in_b', DB),
        layer('LSTM', 'lstm', { units: H }, [{ ref: ['in_a', 0, 0], shape: [null, TA, DA] }]),
        layer('GRU', 'gru', { units: H }, [{ ref: ['in_b', 0, 0], shape: [null, TA, DB] }]),
        layer('Dense', 'dense_a', { units: 3 }, [{ ref: ['lstm', 0, 0], shape: [null, H] }]),
        layer('Dense', 'dense_b', { units: 3, activation: 'tanh' }, [{ ref: ['gru', 0, 0], shape: [null, H] }]),
        layer('Dense', 'head', { units: 2 }, [
          { ref: ['lstm', 0, 0], shape: [null, H] },
          { ref: ['gru', 0, 0], shape: [null, H] },
        ]),
      ];
  const inputs: Ref[] = o.single ? [['in_a', 0, 0]] : [['in_a', 0, 0], ['in_b', 0, 0]];
  const outputs: Ref[] = o.single ? [['dense_a', 0, 0]] : [['dense_a', 0, 0], ['dense_b', 0, 0], ['head', 1, 0], ['head', 0, 0]];
  const topology = {
    keras_version: k3 ? '3.5.0' : '2.15.0',
    backend: 'tensorflow',
    model_config: {
      ...(k3 ? { module: 'keras', registered_name: 'Functional' } : {}),
      class_name: 'Functional',
      config: {
        name: modelName,
        trainable: true,
        layers,
        input_layers: o.single && k3 ? inputs[0] : inputs,
        output_layers: o.single && k3 ? outputs[0] : outputs,
      },
    },
  };
  const cell: Record<string, string> = { lstm: 'lstm_cell', gru: 'gru_cell' };
  const wnames: Record<string, string[]> = { lstm: ['kernel', 'recurrent_kernel', 'bias'], gru: ['kernel', 'recurrent_kernel', 'bias'] };
  let specs: { name: string; shape: number[]; values: Float32Array }[] = [];
  for (const [lname, ws] of weights) {
    if (o.single && !['lstm', 'dense_a'].includes(lname)) continue;
    const names = wnames[lname] ?? ['kernel', 'bias'];
    ws.forEach((v, k) => {
      const rel = cell[lname] ? `${lname}/${cell[lname]}/${names[k]}` : `${lname}/${names[k]}`;
      specs.push({ name: o.names === 'prefixed' ? `${modelName}/${rel}:0` : rel, shape: shapes.get(lname)![k]!, values: v });
    });
  }
  if (o.order === 'alphabetical') specs = specs.sort((a, b) => (a.name < b.name ? -1 : 1));
  else {
    // dense_b's weights first, then dense_a's, then the rest: same shapes, only names differ
    const rank = (n: string) => (n.includes('dense_b') ? 0 : n.includes('dense_a') ? 1 : 2);
    specs = specs.sort((a, b) => rank(a.name) - rank(b.name));
  }
  return { topology, specs };
}

/** The tfjs twin of the hand-written model with seeded weights, and the weights by layer. */
function kerasTwin(single: boolean, rng: Rng) {
  const inA = tf.input({ shape: [TA, DA], name: 'in_a' });
  const inB = tf.input({ shape: [TA, DB], name: 'in_b' });
  const lstm = tf.layers.lstm({ units: H, recurrentActivation: 'sigmoid', name: 'lstm' });
  const gru = tf.layers.gru({ units: H, recurrentActivation: 'sigmoid', resetAfter: false, name: 'gru' } as never);
  const denseA = tf.layers.dense({ units: 3, name: 'dense_a' });
  const denseB = tf.layers.dense({ units: 3, activation: 'tanh', name: 'dense_b' });
  const head = tf.layers.dense({ units: 2, name: 'head' });
  const hA = lstm.apply(inA) as tf.SymbolicTensor;
  const hB = gru.apply(inB) as tf.SymbolicTensor;
  const outs = [denseA.apply(hA), denseB.apply(hB), null, null] as tf.SymbolicTensor[];
  outs[3] = head.apply(hA) as tf.SymbolicTensor;
  outs[2] = head.apply(hB) as tf.SymbolicTensor;
  const model = single ? tf.model({ inputs: inA, outputs: outs[0]! }) : tf.model({ inputs: [inA, inB], outputs: outs });
  const weights = new Map<string, Float32Array[]>();
  const shapes = new Map<string, number[][]>();
  for (const l of single ? [lstm, denseA] : [lstm, gru, denseA, denseB, head]) {
    const ws = l.getWeights();
    const values = ws.map((w) => {
      const a = w.shape.length === 1 ? 0.5 : 1 / Math.sqrt(w.shape[0]!);
      return rng.uniform(w.size, -a, a);
    });
    l.setWeights(values.map((v, k) => tf.tensor(v, ws[k]!.shape)));
    weights.set(l.name, values);
    shapes.set(l.name, ws.map((w) => [...w.shape]));
  }
  return { model, weights, shapes };
}

describe('hand-written model.json in Keras 3 and Keras 2 functional spelling', () => {
  const variants: Record<string, KerasFileOptions> = {
    'Keras 3, weights prefixed by the model name with :0, alphabetical manifest': { spelling: 'keras3', names: 'prefixed', order: 'alphabetical' },
    'Keras 3, plain weight names, same-shaped Dense layers listed out of order': { spelling: 'keras3', names: 'plain', order: 'denseOutOfOrder' },
    'Keras 3, one input and output: input_layers/output_layers as a single triple, layers out of order': { spelling: 'keras3', single: true, names: 'prefixed', order: 'alphabetical' },
    "Keras 2 'Functional', [[['in_a', 0, 0, {}]]], prefixed names, Dense layers out of order": { spelling: 'keras2', names: 'prefixed', order: 'denseOutOfOrder' },
    "Keras 2 'Functional', one input, plain names, alphabetical manifest": { spelling: 'keras2', single: true, names: 'plain', order: 'alphabetical' },
  };

  for (const [name, o] of Object.entries(variants)) {
    it(`${name}: loads with the right weights (predictions equal tfjs's)`, async () => {
      const rng = new Rng(seedOf(name));
      const twin = kerasTwin(o.single === true, rng);
      const { topology, specs } = kerasFile(o, twin.weights, twin.shapes);
      if (o.order === 'denseOutOfOrder') expect(specs[0]!.name).toMatch(/dense_b\/kernel/);
      const dir = freshDir();
      writeModelFiles(dir, topology, specs);
      const model = (await rk.loadModel(dir)) as rk.LayersModel;
      expect(model).toBeInstanceOf(rk.LayersModel);
      expect(model.name).toBe(o.spelling === 'keras3' ? 'functional' : 'model');
      const N = 4;
      const xa = rng.normal(N * TA * DA);
      const xb = rng.normal(N * TA * DB);
      const rx = o.single ? [rk.tensor(xa, [N, TA, DA])] : [rk.tensor(xa, [N, TA, DA]), rk.tensor(xb, [N, TA, DB])];
      const tx = o.single ? [tf.tensor(xa, [N, TA, DA])] : [tf.tensor(xa, [N, TA, DA]), tf.tensor(xb, [N, TA, DB])];
      const want = tfList(twin.model.predict(one(tx)) as tf.Tensor | tf.Tensor[]);
      const got = outList(await model.predict(one(rx)));
      expect(got).toHaveLength(o.single ? 1 : 4);
      expectSameOutputs(got, want, FWD_TOL, 'rnnkit vs tfjs');
      // each weight reached its own layer
      for (const [lname, ws] of twin.weights) {
        const mine = model.getLayer(lname).getWeights();
        ws.forEach((v, k) => expectClose(mine[k]!.dataSync(), v, 0, `${lname} weight ${k}`));
      }
      if (!o.single) {
        // the shared head's nodes: outputs 2 and 3 are head(gru) and head(lstm)
        expect(model.outputs.map((s) => s.sourceLayer.name)).toEqual(['dense_a', 'dense_b', 'head', 'head']);
      }
      model.dispose();
      twin.model.dispose();
    });
  }

  /**
   * A Keras 3 file: int InputLayer -> Embedding(mask_zero) -> Bidirectional(LSTM) -> Dense.
   * `keras3Names`: the wrapped layers named as Keras 3 writes them (config.layer 'forward_lstm',
   * config.backward_layer 'backward_lstm'); else the wrapped layer keeps its own name 'lstm'
   * (Keras 2 / tfjs). The weights are `bidirectional/forward_lstm/lstm_cell/...` either way.
   */
  async function keras3EmbeddingBidi(keras3Names: boolean): Promise<void> {
    const rng = new Rng(seedOf(`keras3 embedding bidi ${keras3Names}`));
    const V = 7;
    const inp = tf.input({ shape: [TA], dtype: 'int32', name: 'ids' });
    const emb = tf.layers.embedding({ inputDim: V, outputDim: 3, maskZero: true, name: 'embedding' });
    const bidi = tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4, recurrentActivation: 'sigmoid', name: 'lstm' }) as unknown as tf.RNN, mergeMode: 'concat', name: 'bidirectional' });
    const dense = tf.layers.dense({ units: 2, name: 'dense' });
    const tm = tf.model({ inputs: inp, outputs: dense.apply(bidi.apply(emb.apply(inp))) as tf.SymbolicTensor });
    const values = new Map<string, Float32Array[]>();
    const shapes = new Map<string, number[][]>();
    for (const l of [emb, bidi, dense]) {
      const ws = l.getWeights();
      const vs = ws.map((w) => rng.uniform(w.size, -0.7, 0.7));
      l.setWeights(vs.map((v, k) => tf.tensor(v, ws[k]!.shape)));
      values.set(l.name, vs);
      shapes.set(l.name, ws.map((w) => [...w.shape]));
    }
    const k3 = 'keras3';
    const lstmConfig = (name: string, goBackwards: boolean) => ({ ...kerasLayerConfig(k3, 'LSTM', name, { units: 4 }), go_backwards: goBackwards });
    const kt = (ref: Ref, shape: (number | null)[], dtype = 'float32') => [{ args: [{ class_name: '__keras_tensor__', config: { shape, dtype, keras_history: ref } }], kwargs: {} }];
    const topology = {
      class_name: 'Functional',
      module: 'keras',
      registered_name: 'Functional',
      config: {
        name: 'functional',
        trainable: true,
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', registered_name: null, name: 'ids', config: { batch_shape: [null, TA], dtype: 'int32', sparse: false, name: 'ids' }, inbound_nodes: [] },
          {
            module: 'keras.layers', class_name: 'Embedding', registered_name: null, name: 'embedding', build_config: { input_shape: [null, TA] },
            config: { name: 'embedding', trainable: true, dtype: dtypePolicy, input_dim: V, output_dim: 3, embeddings_initializer: k3init('RandomUniform', { minval: -0.05, maxval: 0.05, seed: null }), embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null, mask_zero: true, lora_rank: null },
            inbound_nodes: kt(['ids', 0, 0], [null, TA], 'int32'),
          },
          {
            module: 'keras.layers', class_name: 'Bidirectional', registered_name: null, name: 'bidirectional', build_config: { input_shape: [null, TA, 3] },
            config: {
              name: 'bidirectional', trainable: true, dtype: dtypePolicy, merge_mode: 'concat',
              layer: { module: 'keras.layers', class_name: 'LSTM', config: lstmConfig(keras3Names ? 'forward_lstm' : 'lstm', false), registered_name: null, build_config: { input_shape: [null, TA, 3] } },
              ...(keras3Names
                ? { backward_layer: { module: 'keras.layers', class_name: 'LSTM', config: lstmConfig('backward_lstm', true), registered_name: null, build_config: { input_shape: [null, TA, 3] } } }
                : {}),
            },
            inbound_nodes: kt(['embedding', 0, 0], [null, TA, 3]),
          },
          { module: 'keras.layers', class_name: 'Dense', registered_name: null, name: 'dense', build_config: { input_shape: [null, 8] }, config: kerasLayerConfig(k3, 'Dense', 'dense', { units: 2 }), inbound_nodes: kt(['bidirectional', 0, 0], [null, 8]) },
        ],
        input_layers: ['ids', 0, 0],
        output_layers: ['dense', 0, 0],
      },
    };
    // Keras 3 names: <model>/<layer>/<direction>_<inner>/<cell>/<weight>:0
    const names: Record<string, string[]> = {
      embedding: ['embedding/embeddings'],
      bidirectional: ['forward_lstm', 'backward_lstm'].flatMap((d) => ['kernel', 'recurrent_kernel', 'bias'].map((w) => `bidirectional/${d}/lstm_cell/${w}`)),
      dense: ['dense/kernel', 'dense/bias'],
    };
    const specs = [...values].flatMap(([l, vs]) => vs.map((v, k) => ({ name: `functional/${names[l]![k]}:0`, shape: shapes.get(l)![k]!, values: v })));
    specs.sort((a, b) => (a.name < b.name ? -1 : 1));
    const dir = freshDir();
    writeModelFiles(dir, topology, specs);
    const model = await rk.loadModel(dir);
    const N = 6;
    const ids = new Float32Array(N * TA);
    const lengths = [5, 3, 1, 0, 4, 2];
    lengths.forEach((len, n) => {
      for (let t = TA - len; t < TA; t++) ids[n * TA + t] = rng.int(1, V - 1);
    });
    expectSameOutputs(await model.predict(rk.tensor(ids, [N, TA])), tm.predict(tf.tensor(Int32Array.from(ids), [N, TA], 'int32')) as tf.Tensor, FWD_TOL, 'rnnkit vs tfjs');
    model.dispose();
    tm.dispose();
  }

  it('Keras 3 spelling: int InputLayer -> Embedding(mask_zero) -> Bidirectional(LSTM) -> Dense, front-padded ids, equals tfjs', async () => {
    await keras3EmbeddingBidi(false);
  });

  // Known gap (reported, for the Keras readers): Keras 3 serializes a Bidirectional's wrapped
  // layers as 'forward_lstm' / 'backward_lstm' (and strips the prefix when it rebuilds them);
  // rnnkit's reader names them 'forward_forward_lstm', so the weights do not match. Flip to
  // it() once the reader handles it.
  it("Keras 3 Bidirectional with config.layer named 'forward_lstm' and a backward_layer", async () => {
    await keras3EmbeddingBidi(true);
  });

  it('weight names that cannot be matched are an RNNKIT_MODEL_FILE error naming them', async () => {
    const rng = new Rng(seedOf('unmatched'));
    const twin = kerasTwin(false, rng);
    // (A different leading model name is skipped like any segment that names no layer: the
    // match stays one to one, so it is not an error.)
    for (const rename of [(n: string) => n.replace('dense_b/', 'dense_c/')]) {
      const { topology, specs } = kerasFile({ spelling: 'keras3', names: 'prefixed', order: 'alphabetical' }, twin.weights, twin.shapes);
      const renamed = specs.map((s) => ({ ...s, name: s.name.includes('dense_b/kernel') ? rename(s.name) : s.name }));
      const bad = renamed.find((s) => s.name !== specs.find((x) => x.values === s.values)!.name)!.name;
      const dir = freshDir();
      writeModelFiles(dir, topology, renamed);
      const e = await rk.loadModel(dir).then(
        () => null,
        (err: Error & { code?: string }) => err,
      );
      expect(e, bad).not.toBeNull();
      expect(e!.code).toBe('RNNKIT_MODEL_FILE');
      expect(e!.message).toContain(`'${bad}'`);
      expect(e!.message).toMatch(/cannot be matched to the model's layers by name.*layer 'dense_b' \(Dense\) weight 'kernel': no stored weight matches it/);
    }
    twin.model.dispose();
  });

  it('a Keras 3 file written by hand round-trips through rnnkit and tfjs', async () => {
    const rng = new Rng(seedOf('k3 round trip'));
    const twin = kerasTwin(false, rng);
    const { topology, specs } = kerasFile({ spelling: 'keras3', names: 'prefixed', order: 'alphabetical' }, twin.weights, twin.shapes);
    const dir = freshDir();
    writeModelFiles(dir, topology, specs);
    const model = (await rk.loadModel(dir)) as rk.LayersModel;
    const dir2 = freshDir();
    await model.save(dir2);
    const fromTf = await tf.loadLayersModel(tf.io.fromMemory(tfjsArtifacts(dir2)));
    const N = 3;
    const xa = rng.normal(N * TA * DA);
    const xb = rng.normal(N * TA * DB);
    const want = tfList(twin.model.predict([tf.tensor(xa, [N, TA, DA]), tf.tensor(xb, [N, TA, DB])]) as tf.Tensor[]);
    expectSameOutputs(fromTf.predict([tf.tensor(xa, [N, TA, DA]), tf.tensor(xb, [N, TA, DB])]) as unknown as rk.Tensor[], want, FWD_TOL, 'tfjs reading the re-saved file');
    model.dispose();
    fromTf.dispose();
    twin.model.dispose();
    void writeFileSync;
  });
});

// ------------------------------------------------------------------ merges and the new layers

describe('two inputs joined by Concatenate, with convolution and pooling, both ways through tfjs files', () => {
  /** in_a [T, 3] -> conv1d -> lstm(seq) -> globalMaxPooling1D; in_b [4] -> dense; concatenate -> dense. */
  function build(rng: Rng) {
    const T = 9;
    const pairs: LayerPair[] = [
      [rk.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }), tf.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' })],
      [rk.layers.lstm({ units: 5, returnSequences: true, name: 'lstm' }), tf.layers.lstm({ units: 5, returnSequences: true, recurrentActivation: 'sigmoid', name: 'lstm' })],
      [rk.layers.globalMaxPooling1D({ name: 'pool' }), tf.layers.globalMaxPooling1d({ name: 'pool' })],
      [rk.layers.dense({ units: 3, activation: 'tanh', name: 'side' }), tf.layers.dense({ units: 3, activation: 'tanh', name: 'side' })],
      [rk.layers.concatenate({ name: 'join' }), tf.layers.concatenate({ name: 'join' })],
      [rk.layers.dense({ units: 2, name: 'head' }), tf.layers.dense({ units: 2, name: 'head' })],
    ];
    const [conv, lstm, pool, side, join, head] = pairs;
    const a = { rk: rk.input({ shape: [T, 3], name: 'in_a' }), tf: tf.input({ shape: [T, 3], name: 'in_a' }) };
    const b = { rk: rk.input({ shape: [4], name: 'in_b' }), tf: tf.input({ shape: [4], name: 'in_b' }) };
    const chain = (p: LayerPair, x: { rk: rk.SymbolicTensor | rk.SymbolicTensor[]; tf: tf.SymbolicTensor | tf.SymbolicTensor[] }) => ({
      rk: (p[0] as rk.LayerBase).apply(x.rk) as rk.SymbolicTensor,
      tf: p[1].apply(x.tf) as tf.SymbolicTensor,
    });
    const h = chain(pool!, chain(lstm!, chain(conv!, a)));
    const s = chain(side!, b);
    const out = chain(head!, chain(join!, { rk: [h.rk, s.rk], tf: [h.tf, s.tf] }));
    const m = rk.model({ inputs: [a.rk, b.rk], outputs: out.rk, name: 'joined' });
    const t = tf.model({ inputs: [a.tf, b.tf], outputs: out.tf, name: 'joined' });
    copySeededWeights(pairs, rng);
    const N = 3;
    const av = rng.normal(N * T * 3);
    const bv = rng.normal(N * 4);
    return { m, t, pairs, xs: [rk.tensor(av, [N, T, 3]), rk.tensor(bv, [N, 4])], txs: [tf.tensor(av, [N, T, 3]), tf.tensor(bv, [N, 4])] };
  }

  it('one SGD step through Concatenate, pooling and convolution equals tfjs (gradients within 1e-4)', async () => {
    const rng = new Rng(seedOf('concat sgd'));
    const { m, t, pairs, xs, txs } = build(rng);
    const yv = rng.normal(3 * 2);
    await expectSameSgdStep(m, t, pairs, { xs, ys: [rk.tensor(yv, [3, 2])], txs, tys: [tf.tensor(yv, [3, 2])] }, 1e-4);
    m.dispose();
    t.dispose();
  });

  it('rnnkit -> model.json -> tfjs and rnnkit: the same predictions', async () => {
    const { m, t, xs, txs } = build(new Rng(seedOf('concat rk->tf')));
    expectSameOutputs(await m.predict(xs), t.predict(txs) as tf.Tensor, FWD_TOL, 'twins');
    const dir = freshDir();
    await m.save(dir);
    const fromTf = await tf.loadLayersModel(tf.io.fromMemory(tfjsArtifacts(dir)));
    expectSameOutputs(await m.predict(xs), fromTf.predict(txs) as tf.Tensor, FWD_TOL, 'tfjs reading the rnnkit file');
    const back = (await rk.loadModel(dir)) as rk.LayersModel;
    expect(Array.from(((await back.predict(xs)) as rk.Tensor).dataSync())).toEqual(Array.from(((await m.predict(xs)) as rk.Tensor).dataSync()));
    for (const x of [m, back]) x.dispose();
    t.dispose();
    fromTf.dispose();
  });

  it('tfjs -> its own save -> rnnkit: the same predictions', async () => {
    const { m, t, xs, txs } = build(new Rng(seedOf('concat tf->rk')));
    m.dispose();
    const dir = freshDir();
    await saveTfjsModel(t, dir);
    const loaded = (await rk.loadModel(dir)) as rk.LayersModel;
    expect(loaded.layers.map((l) => `${l.name}:${l.className}`).sort()).toEqual(t.layers.map((l) => `${l.name}:${l.getClassName()}`).sort());
    expectSameOutputs(await loaded.predict(xs), t.predict(txs) as tf.Tensor, FWD_TOL, 'rnnkit reading the tfjs file');
    loaded.dispose();
    t.dispose();
  });
});

describe('rk.layers names', () => {
  it("tfjs-layers' spellings of the 1-D pooling and spatial dropout factories make the same layers", () => {
    expect(rk.layers.maxPooling1d({}).className).toBe('MaxPooling1D');
    expect(rk.layers.averagePooling1d({}).className).toBe('AveragePooling1D');
    expect(rk.layers.globalMaxPooling1d({}).className).toBe('GlobalMaxPooling1D');
    expect(rk.layers.globalAveragePooling1d({}).className).toBe('GlobalAveragePooling1D');
    expect(rk.layers.spatialDropout1D({ rate: 0.1 }).className).toBe('SpatialDropout1D');
  });
});
