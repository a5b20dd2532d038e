/**
 * rk.serving.batcher (issue 12), checked against its contract (notes/serving-api.md) alone:
 * - batcher.predict equals model.predict run one sample at a time ([1, T, D] or [1, T] ids)
 *   within 1e-6 relative (max |a − b| / max |b|) for recurrent, stacked, Bidirectional,
 *   goBackwards, Embedding (with and without maskZero), Masking, Dense before the recurrence,
 *   global pooling, per-sequence and per-step outputs, Conv1D (equal lengths only batched),
 *   functional models (chains and branches), mixed lengths in one burst, and larger sizes;
 * - every input form of a sequence (rows, flat, Tensor [T, D] and [1, T, D]; ids);
 * - coalescing (fewer forwards than requests), grouping by length, maxBatchSize, the stats,
 *   its histogram and percentiles;
 * - backpressure and lifecycle: maxQueue, abort and timeoutMs (waiting or running), a failing
 *   forward, close;
 * - bad sequences, bad options, unsupported models, the new error codes.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';
import { seedOf } from './helpers/rnn-cases';
import {
  caught,
  expectError,
  expectOutput,
  features,
  histogramTotals,
  ids,
  type Model,
  type Output,
  predictOne,
  rejectsWithin,
  rows,
  settled,
  sleep,
} from './helpers/serving';

type Batcher = ReturnType<typeof rk.serving.batcher>;

/** Batchers made by a test, closed after it. */
const open: Batcher[] = [];
function batcher(model: Model, options?: Parameters<typeof rk.serving.batcher>[1]): Batcher {
  const b = options === undefined ? rk.serving.batcher(model) : rk.serving.batcher(model, options);
  open.push(b);
  return b;
}
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

const D = 4;
const V = 11;
const L = rk.layers;

function symbolic(t: rk.SymbolicTensor | rk.SymbolicTensor[]): rk.SymbolicTensor {
  return t as rk.SymbolicTensor;
}

interface Case {
  build(): Model;
  /** Embedding-first: ids in [0, V); else features [T, D]. */
  ids?: { maskZero: boolean };
  /** Per-step output ([T, K]) rather than per-sequence ([K]). */
  perStep: boolean;
  /** Features with some all-zero rows (steps a Masking layer masks). */
  zeroRows?: boolean;
}

const CASES: Record<string, Case> = {
  'LSTM -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.lstm({ units: 6, inputShape: [null, D], seed: 1 }), L.dense({ units: 3, seed: 2 })]),
  },
  'GRU (resetAfter true) -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.gru({ units: 6, resetAfter: true, inputShape: [null, D], seed: 3 }), L.dense({ units: 3, seed: 4 })]),
  },
  'GRU (resetAfter false) -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.gru({ units: 6, resetAfter: false, inputShape: [null, D], seed: 5 }), L.dense({ units: 3, seed: 6 })]),
  },
  'SimpleRNN -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.simpleRNN({ units: 6, inputShape: [null, D], seed: 7 }), L.dense({ units: 3, seed: 8 })]),
  },
  'SimpleRNN alone (its last state is the output)': {
    perStep: false,
    build: () => rk.sequential([L.simpleRNN({ units: 5, activation: 'relu', inputShape: [null, D], seed: 9 })]),
  },
  'stacked LSTM(returnSequences) -> GRU -> Dense': {
    perStep: false,
    build: () =>
      rk.sequential([
        L.lstm({ units: 6, returnSequences: true, inputShape: [null, D], seed: 10 }),
        L.gru({ units: 5, seed: 11 }),
        L.dense({ units: 3, activation: 'tanh', seed: 12 }),
      ]),
  },
  'Bidirectional LSTM (concat) -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.bidirectional({ layer: L.lstm({ units: 5, inputShape: [null, D], seed: 13 }), mergeMode: 'concat' }), L.dense({ units: 3, seed: 14 })]),
  },
  'Bidirectional GRU (sum, returnSequences) -> Dense per step': {
    perStep: true,
    build: () =>
      rk.sequential([L.bidirectional({ layer: L.gru({ units: 5, returnSequences: true, inputShape: [null, D], seed: 15 }), mergeMode: 'sum' }), L.dense({ units: 3, seed: 16 })]),
  },
  'goBackwards GRU -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.gru({ units: 6, goBackwards: true, inputShape: [null, D], seed: 17 }), L.dense({ units: 3, seed: 18 })]),
  },
  'per-step: LSTM(returnSequences) -> Dense': {
    perStep: true,
    build: () => rk.sequential([L.lstm({ units: 6, returnSequences: true, inputShape: [null, D], seed: 19 }), L.dense({ units: 3, seed: 20 })]),
  },
  'per-step: GRU(resetAfter false, returnSequences) -> Dense(softmax)': {
    perStep: true,
    build: () =>
      rk.sequential([L.gru({ units: 6, resetAfter: false, returnSequences: true, inputShape: [null, D], seed: 21 }), L.dense({ units: 4, activation: 'softmax', seed: 22 })]),
  },
  'Embedding -> LSTM -> Dense (ids)': {
    perStep: false,
    ids: { maskZero: false },
    build: () =>
      rk.sequential([L.embedding({ inputDim: V, outputDim: 5, inputShape: [null], seed: 23 }), L.lstm({ units: 6, seed: 24 }), L.dense({ units: 3, seed: 25 })]),
  },
  'Embedding(maskZero) -> GRU -> Dense (ids with zeros)': {
    perStep: false,
    ids: { maskZero: true },
    build: () =>
      rk.sequential([L.embedding({ inputDim: V, outputDim: 5, maskZero: true, inputShape: [null], seed: 26 }), L.gru({ units: 6, seed: 27 }), L.dense({ units: 3, seed: 28 })]),
  },
  'per-step: Embedding(maskZero) -> LSTM(returnSequences) -> Dense (ids with zeros)': {
    perStep: true,
    ids: { maskZero: true },
    build: () =>
      rk.sequential([
        L.embedding({ inputDim: V, outputDim: 5, maskZero: true, inputShape: [null], seed: 29 }),
        L.lstm({ units: 6, returnSequences: true, seed: 30 }),
        L.dense({ units: 3, seed: 31 }),
      ]),
  },
  'Dense(tanh) per step -> LSTM -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.dense({ units: 5, activation: 'tanh', inputShape: [null, D], seed: 100 }), L.lstm({ units: 6, seed: 101 }), L.dense({ units: 3, seed: 102 })]),
  },
  'LSTM(returnSequences) -> GlobalAveragePooling1D -> Dense': {
    perStep: false,
    build: () =>
      rk.sequential([L.lstm({ units: 6, returnSequences: true, inputShape: [null, D], seed: 103 }), L.globalAveragePooling1D(), L.dense({ units: 3, seed: 104 })]),
  },
  'LSTM(returnSequences) -> Dense(tanh) -> LayerNormalization -> GlobalAveragePooling1D -> Dense': {
    perStep: false,
    build: () =>
      rk.sequential([
        L.lstm({ units: 6, returnSequences: true, inputShape: [null, D], seed: 122 }),
        L.dense({ units: 5, activation: 'tanh', seed: 123 }),
        L.layerNormalization(),
        L.globalAveragePooling1D(),
        L.dense({ units: 3, seed: 124 }),
      ]),
  },
  'functional: concat(LSTM(returnSequences), GRU(returnSequences)) -> TimeDistributed(Dense) -> GlobalAveragePooling1D': {
    perStep: false,
    build: () => {
      const inp = rk.input({ shape: [null, D] });
      const a = symbolic(L.lstm({ units: 4, returnSequences: true, seed: 125 }).apply(inp));
      const g = symbolic(L.gru({ units: 4, returnSequences: true, seed: 126 }).apply(inp));
      const c = symbolic(L.concatenate().apply([a, g]));
      const t = symbolic(L.timeDistributed({ layer: L.dense({ units: 3, activation: 'tanh', seed: 127 }) }).apply(c));
      return rk.model({ inputs: inp, outputs: symbolic(L.globalAveragePooling1D().apply(t)) });
    },
  },
  'GRU(returnSequences) -> GlobalMaxPooling1D -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.gru({ units: 6, returnSequences: true, inputShape: [null, D], seed: 105 }), L.globalMaxPooling1D(), L.dense({ units: 3, seed: 106 })]),
  },
  'Masking -> LSTM -> Dense (some all-zero steps)': {
    perStep: false,
    zeroRows: true,
    build: () => rk.sequential([L.masking({ inputShape: [null, D] }), L.lstm({ units: 6, seed: 107 }), L.dense({ units: 3, seed: 108 })]),
  },
  'per-step: Masking -> GRU(returnSequences, maskedOutput carry) -> Dense (some all-zero steps)': {
    perStep: true,
    zeroRows: true,
    build: () => rk.sequential([L.masking({ inputShape: [null, D] }), L.gru({ units: 6, returnSequences: true, maskedOutput: 'carry', seed: 109 }), L.dense({ units: 3, seed: 110 })]),
  },
  'per-step: Embedding(maskZero) -> LSTM(returnSequences, maskedOutput carry) -> Dense (ids with zeros)': {
    perStep: true,
    ids: { maskZero: true },
    build: () =>
      rk.sequential([
        L.embedding({ inputDim: V, outputDim: 5, maskZero: true, inputShape: [null], seed: 111 }),
        L.lstm({ units: 6, returnSequences: true, maskedOutput: 'carry', seed: 112 }),
        L.dense({ units: 3, seed: 113 }),
      ]),
  },
  'functional: input -> Embedding(maskZero) -> GRU -> Dense (ids with zeros)': {
    perStep: false,
    ids: { maskZero: true },
    build: () => {
      const inp = rk.input({ shape: [null] });
      const e = L.embedding({ inputDim: V, outputDim: 5, maskZero: true, seed: 114 }).apply(inp);
      const y = L.dense({ units: 3, seed: 116 }).apply(L.gru({ units: 6, seed: 115 }).apply(e));
      return rk.model({ inputs: inp, outputs: symbolic(y) });
    },
  },
  'functional, two branches: LSTM + GRU added -> Dense': {
    perStep: false,
    build: () => {
      const inp = rk.input({ shape: [null, D] });
      const a = symbolic(L.lstm({ units: 5, seed: 117 }).apply(inp));
      const g = symbolic(L.gru({ units: 5, seed: 118 }).apply(inp));
      const y = L.dense({ units: 3, seed: 119 }).apply(symbolic(L.add().apply([a, g])));
      return rk.model({ inputs: inp, outputs: symbolic(y) });
    },
  },
  'per-step functional, two branches: concat(input, LSTM(returnSequences)) -> Dense': {
    perStep: true,
    build: () => {
      const inp = rk.input({ shape: [null, D] });
      const h = symbolic(L.lstm({ units: 5, returnSequences: true, seed: 120 }).apply(inp));
      const y = L.dense({ units: 3, seed: 121 }).apply(symbolic(L.concatenate().apply([inp, h])));
      return rk.model({ inputs: inp, outputs: symbolic(y) });
    },
  },
  'functional: input -> LSTM -> Dense': {
    perStep: false,
    build: () => {
      const inp = rk.input({ shape: [null, D] });
      const h = L.lstm({ units: 6, seed: 32 }).apply(inp);
      const y = L.dense({ units: 3, seed: 33 }).apply(h);
      return rk.model({ inputs: inp, outputs: symbolic(y) });
    },
  },
  'functional: input -> GRU(returnSequences) -> SimpleRNN(returnSequences) -> Dense per step': {
    perStep: true,
    build: () => {
      const inp = rk.input({ shape: [null, D] });
      const h = L.gru({ units: 6, returnSequences: true, seed: 34 }).apply(inp);
      const g = L.simpleRNN({ units: 5, returnSequences: true, seed: 35 }).apply(h);
      const y = L.dense({ units: 2, seed: 36 }).apply(g);
      return rk.model({ inputs: inp, outputs: symbolic(y) });
    },
  },
};

/** A seeded sample of T steps for a case: flat features [T·D] or ids [T]. */
function sample(c: Case, rng: Rng, T: number): Float32Array {
  if (!c.ids) {
    const x = features(rng, T, D);
    // Some all-zero steps (front, holes, end), never all of them.
    if (c.zeroRows) for (let t = 0; t < T; t++) if (t !== Math.floor(T / 2) && rng.random() < 0.3) x.fill(0, t * D, (t + 1) * D);
    return x;
  }
  if (!c.ids.maskZero) return ids(rng, T, V);
  // About a quarter of the ids are 0 (padding: front, holes, end), never all of them.
  const s = ids(rng, T, V, 0);
  for (let t = 0; t < T; t++) if (rng.random() < 0.25) s[t] = 0;
  s[Math.floor(T / 2)] = 1 + (T % (V - 1));
  return s;
}

/** The one-by-one reference of a case's sample. */
function reference(c: Case, model: Model, x: Float32Array): Promise<Output> {
  return predictOne(model, x, c.ids ? x.length : x.length / D, c.ids ? null : D);
}

describe('batcher.predict equals model.predict one sample at a time', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: a burst of mixed lengths`, async () => {
      const rng = new Rng(seedOf(name));
      const model = c.build();
      const lengths = [1, 7, 3, 7, 10, 2, 5, 5, 9, 1, 4, 8, 6, 3];
      const xs = lengths.map((T) => sample(c, rng, T));
      const want: Output[] = [];
      for (const x of xs) want.push(await reference(c, model, x));
      const b = batcher(model, { maxDelayMs: 5 });
      const got = await Promise.all(xs.map((x) => b.predict(x)));
      got.forEach((out, i) => {
        const T = lengths[i]!;
        expect(want[i]!.shape, 'reference shape').toEqual(c.perStep ? [T, want[i]!.shape[1]!] : [want[i]!.shape[0]!]);
        expectOutput(out, want[i]!, `${name}: sequence ${i} (T = ${T})`);
      });
      const st = b.stats();
      expect(st.completed).toBe(xs.length);
      expect(st.batches).toBeLessThan(xs.length);
      // The model itself is unchanged: a one-by-one predict after serving gives the same.
      expectOutput((await reference(c, model, xs[4]!)) as Output, want[4]!, `${name}: model.predict after serving`, 0);
      model.dispose();
    });
  }

  it('Conv1D -> LSTM -> Dense: only equal lengths share a forward; results still equal', async () => {
    const rng = new Rng(seedOf('conv1d'));
    const model = rk.sequential([
      L.conv1d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [null, D], seed: 40 }),
      L.lstm({ units: 6, seed: 41 }),
      L.dense({ units: 3, seed: 42 }),
    ]);
    // Three lengths, four sequences each, interleaved.
    const lengths = [3, 5, 8, 3, 5, 8, 3, 5, 8, 3, 5, 8];
    const xs = lengths.map((T) => features(rng, T, D));
    const want: Output[] = [];
    for (let i = 0; i < xs.length; i++) want.push(await predictOne(model, xs[i]!, lengths[i]!, D));
    const b = batcher(model, { maxDelayMs: 20 });
    const got = await Promise.all(xs.map((x) => b.predict(x)));
    got.forEach((out, i) => expectOutput(out, want[i]!, `conv1d sequence ${i} (T = ${lengths[i]})`));
    const st = b.stats();
    const h = histogramTotals(st.batchSizes);
    expect(h.sequences).toBe(12);
    expect(h.forwards).toBe(st.batches);
    // No forward holds two lengths: at most the four of one length.
    expect(h.maxSize, JSON.stringify(st.batchSizes)).toBeLessThanOrEqual(4);
    expect(st.batches).toBeGreaterThanOrEqual(3);
    expect(st.batches).toBeLessThan(12);
    model.dispose();
  });

  it('Conv1D(valid) model with a fixed T: a burst is coalesced', async () => {
    const rng = new Rng(seedOf('conv1d fixed'));
    const T = 6;
    const model = rk.sequential([
      L.conv1d({ filters: 4, kernelSize: 2, inputShape: [T, D], seed: 43 }),
      L.gru({ units: 5, seed: 44 }),
      L.dense({ units: 2, seed: 45 }),
    ]);
    const xs = Array.from({ length: 10 }, () => features(rng, T, D));
    const want: Output[] = [];
    for (const x of xs) want.push(await predictOne(model, x, T, D));
    const b = batcher(model, { maxDelayMs: 10 });
    const got = await Promise.all(xs.map((x) => b.predict(x)));
    got.forEach((out, i) => expectOutput(out, want[i]!, `sequence ${i}`));
    expect(b.stats().batches).toBeLessThan(10);
    model.dispose();
  });
});

describe('batcher.predict equals model.predict at larger sizes (other kernels and work splits)', () => {
  for (const [name, make, Dl] of [
    ['LSTM(64) -> Dense, D = 16', () => rk.sequential([L.lstm({ units: 64, inputShape: [null, 16], seed: 90 }), L.dense({ units: 5, seed: 91 })]), 16],
    [
      'GRU(48, returnSequences) -> GRU(40, resetAfter false) -> Dense, D = 12',
      () =>
        rk.sequential([
          L.gru({ units: 48, returnSequences: true, inputShape: [null, 12], seed: 92 }),
          L.gru({ units: 40, resetAfter: false, seed: 93 }),
          L.dense({ units: 4, seed: 94 }),
        ]),
      12,
    ],
    ['per-step: LSTM(96, returnSequences) -> Dense, D = 24', () => rk.sequential([L.lstm({ units: 96, returnSequences: true, inputShape: [null, 24], seed: 95 }), L.dense({ units: 6, seed: 96 })]), 24],
  ] as [string, () => Model, number][]) {
    it(`${name}: 48 sequences, T in 5..40, maxBatchSize 32`, async () => {
      const rng = new Rng(seedOf(name));
      const model = make();
      const lengths = Array.from({ length: 48 }, () => rng.int(5, 40));
      const xs = lengths.map((n) => features(rng, n, Dl));
      const want: Output[] = [];
      for (let i = 0; i < xs.length; i++) want.push(await predictOne(model, xs[i]!, lengths[i]!, Dl));
      const b = batcher(model, { maxDelayMs: 10, maxBatchSize: 32 });
      const got = await Promise.all(xs.map((x) => b.predict(x)));
      got.forEach((out, i) => expectOutput(out, want[i]!, `sequence ${i} (T = ${lengths[i]})`));
      expect(b.stats().batches).toBeLessThan(48);
      model.dispose();
    });
  }
});

describe('batcher.predict input forms', () => {
  it('feature models: number[][], Float32Array[], flat Float32Array, flat number[], Tensor [T, D] and [1, T, D]', async () => {
    const rng = new Rng(seedOf('forms'));
    const model = rk.sequential([L.lstm({ units: 6, returnSequences: true, inputShape: [null, D], seed: 50 }), L.dense({ units: 3, seed: 51 })]);
    const T = 5;
    const flat = features(rng, T, D);
    const want = await predictOne(model, flat, T, D);
    const t2 = rk.tensor(flat.slice(), [T, D]);
    const t3 = rk.tensor(flat.slice(), [1, T, D]);
    const forms: [string, unknown][] = [
      ['number[][]', rows(flat, D).map((r) => Array.from(r))],
      ['Float32Array[]', rows(flat, D)],
      ['flat Float32Array', flat.slice()],
      ['flat number[]', Array.from(flat)],
      ['Tensor [T, D]', t2],
      ['Tensor [1, T, D]', t3],
    ];
    const b = batcher(model);
    // One at a time, then all together (coalesced).
    for (const [name, x] of forms) expectOutput(await b.predict(x as never), want, name);
    const together = await Promise.all(forms.map(([, x]) => b.predict(x as never)));
    together.forEach((out, i) => expectOutput(out, want, `${forms[i]![0]} (together)`));
    // The tensors passed in are neither disposed nor changed.
    expect(Array.from(t2.dataSync())).toEqual(Array.from(flat));
    expect(Array.from(t3.dataSync())).toEqual(Array.from(flat));
    expect(t3.shape).toEqual([1, T, D]);
    // The arrays passed in are not changed either.
    expect(Array.from(forms[2]![1] as Float32Array)).toEqual(Array.from(flat));
    t2.dispose();
    t3.dispose();
    model.dispose();
  });

  it('Embedding models: ids as number[], Int32Array, Float32Array, Tensor [T] and [1, T]', async () => {
    const rng = new Rng(seedOf('id forms'));
    const model = rk.sequential([L.embedding({ inputDim: V, outputDim: 5, inputShape: [null], seed: 52 }), L.gru({ units: 6, seed: 53 }), L.dense({ units: 3, seed: 54 })]);
    const T = 7;
    const x = ids(rng, T, V, 0);
    x[0] = V - 1;
    const want = await predictOne(model, x, T, null);
    const forms: [string, unknown][] = [
      ['number[]', Array.from(x)],
      ['Int32Array', Int32Array.from(x)],
      ['Float32Array', x.slice()],
      ['Tensor [T]', rk.tensor(x.slice(), [T])],
      ['Tensor [1, T]', rk.tensor(x.slice(), [1, T])],
    ];
    const b = batcher(model);
    for (const [name, s] of forms) expectOutput(await b.predict(s as never), want, name);
    const together = await Promise.all(forms.map(([, s]) => b.predict(s as never)));
    together.forEach((out, i) => expectOutput(out, want, `${forms[i]![0]} (together)`));
    model.dispose();
  });

  it('a model with a fixed T takes that T', async () => {
    const rng = new Rng(seedOf('fixed T'));
    const model = rk.sequential([L.lstm({ units: 5, inputShape: [6, D], seed: 55 }), L.dense({ units: 2, seed: 56 })]);
    const xs = [features(rng, 6, D), features(rng, 6, D), features(rng, 6, D)];
    const want: Output[] = [];
    for (const x of xs) want.push(await predictOne(model, x, 6, D));
    const b = batcher(model);
    const got = await Promise.all(xs.map((x) => b.predict(x)));
    got.forEach((out, i) => expectOutput(out, want[i]!, `sequence ${i}`));
    const e = await caught(() => b.predict(features(rng, 5, D)), 'async');
    expectError(e, [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT', /sequence/);
    model.dispose();
  });
});

describe('batcher.predict coalescing, maxBatchSize and batcher.stats', () => {
  it('a fresh batcher reports zeros', () => {
    const model = rk.sequential([L.gru({ units: 4, inputShape: [null, D], seed: 60 })]);
    const st = batcher(model).stats();
    expect(st.requests).toBe(0);
    expect(st.completed).toBe(0);
    expect(st.rejected).toEqual({ queueFull: 0, aborted: 0, timedOut: 0, closed: 0, failed: 0 });
    expect(st.batches).toBe(0);
    expect(st.batchSizes).toEqual([]);
    expect(st.queueDepth).toBe(0);
    expect(st.sessions).toBe(0);
    expect(st.queueWaitMs.count).toBe(0);
    expect(st.computeMs.count).toBe(0);
  });

  it('maxConcurrentBatches: with no delay, the first requests start at once, as many forwards as it allows', async () => {
    const rng = new Rng(seedOf('concurrent batches'));
    const model = rk.sequential([L.lstm({ units: 8, inputShape: [null, D], seed: 63 }), L.dense({ units: 3, seed: 64 })]);
    const xs = Array.from({ length: 64 }, () => features(rng, 5, D));
    const want = await predictOne(model, xs[7]!, 5, D);
    for (const concurrent of [1, 2, 3]) {
      const b = batcher(model, { maxBatchSize: 32, maxDelayMs: 0, maxConcurrentBatches: concurrent });
      const got = await Promise.all(xs.map((x) => b.predict(x)));
      expectOutput(got[7]!, want, `maxConcurrentBatches ${concurrent}`);
      // Each of the first `concurrent` requests finds a free forward and runs alone; the rest wait.
      const sizes = b.stats().batchSizes;
      expect(sizes.find((h) => h.size === 1)?.count, `maxConcurrentBatches ${concurrent}`).toBe(concurrent);
      expect(sizes.reduce((n, h) => n + h.size * h.count, 0)).toBe(64);
      await b.close();
    }
  });

  it('64 concurrent predicts run as fewer forwards of at most maxBatchSize; counts and histogram add up', async () => {
    const rng = new Rng(seedOf('coalesce 64'));
    const model = rk.sequential([L.lstm({ units: 8, inputShape: [null, D], seed: 61 }), L.dense({ units: 3, seed: 62 })]);
    const lengths = Array.from({ length: 64 }, () => rng.int(1, 9));
    const xs = lengths.map((T) => features(rng, T, D));
    const want: Output[] = [];
    for (let i = 0; i < xs.length; i++) want.push(await predictOne(model, xs[i]!, lengths[i]!, D));
    const b = batcher(model, { maxBatchSize: 16, maxDelayMs: 20 });
    const pending = xs.map((x) => b.predict(x));
    const waiting = b.stats();
    expect(waiting.requests).toBe(64);
    expect(waiting.queueDepth).toBeGreaterThan(0);
    expect(waiting.queueDepth).toBeLessThanOrEqual(64);
    const got = await Promise.all(pending);
    got.forEach((out, i) => expectOutput(out, want[i]!, `sequence ${i} (T = ${lengths[i]})`));
    const st = b.stats();
    expect(st.requests).toBe(64);
    expect(st.completed).toBe(64);
    expect(st.rejected).toEqual({ queueFull: 0, aborted: 0, timedOut: 0, closed: 0, failed: 0 });
    expect(st.queueDepth).toBe(0);
    expect(st.batches).toBeLessThan(64);
    expect(st.batches).toBeGreaterThanOrEqual(4);
    const h = histogramTotals(st.batchSizes);
    expect(h.forwards).toBe(st.batches);
    expect(h.sequences).toBe(64);
    expect(h.maxSize).toBeLessThanOrEqual(16);
    const sizes = st.batchSizes.map((e) => e.size);
    expect(sizes).toEqual([...sizes].sort((a, c) => a - c));
    expect(new Set(sizes).size).toBe(sizes.length);
    for (const e of st.batchSizes) {
      expect(Number.isInteger(e.size) && e.size >= 1).toBe(true);
      expect(Number.isInteger(e.count) && e.count >= 1).toBe(true);
    }
    for (const p of [st.queueWaitMs, st.computeMs]) {
      expect(p.count).toBe(64);
      expect(p.p50).toBeGreaterThanOrEqual(0);
      expect(p.p50).toBeLessThanOrEqual(p.p90);
      expect(p.p90).toBeLessThanOrEqual(p.p99);
      expect(p.p99).toBeLessThanOrEqual(p.max);
      expect(Number.isFinite(p.max)).toBe(true);
    }
    model.dispose();
  });

  it('queueWaitMs measures the wait: one request alone waits about maxDelayMs', async () => {
    const model = rk.sequential([L.gru({ units: 4, inputShape: [null, D], seed: 67 })]);
    const b = batcher(model, { maxDelayMs: 60 });
    await b.predict(features(new Rng(68), 3, D));
    const st = b.stats();
    expect(st.queueWaitMs.count).toBe(1);
    expect(st.queueWaitMs.max).toBeGreaterThanOrEqual(50);
    expect(st.queueWaitMs.max).toBeLessThan(5000);
    expect(st.computeMs.count).toBe(1);
    expect(st.computeMs.max).toBeGreaterThanOrEqual(0);
    model.dispose();
  });

  it('the percentiles cover the last 4096 completed requests', async () => {
    const model = rk.sequential([L.simpleRNN({ units: 3, inputShape: [null, 2], seed: 69 })]);
    const b = batcher(model, { maxBatchSize: 512, maxDelayMs: 1, maxQueue: 8192 });
    const x = Float32Array.from([0.5, -0.25]);
    await Promise.all(Array.from({ length: 5000 }, () => b.predict(x)));
    const st = b.stats();
    expect(st.completed).toBe(5000);
    expect(st.queueWaitMs.count).toBe(4096);
    expect(st.computeMs.count).toBe(4096);
    model.dispose();
  });

  it('grouped by length: very short and very long sequences arriving interleaved do not share a forward', async () => {
    const rng = new Rng(seedOf('grouping'));
    const model = rk.sequential([L.lstm({ units: 6, inputShape: [null, D], seed: 97 }), L.dense({ units: 2, seed: 98 })]);
    const lengths = Array.from({ length: 32 }, (_, i) => (i % 2 ? 60 : 1));
    const xs = lengths.map((n) => features(rng, n, D));
    const b = batcher(model, { maxDelayMs: 10, maxBatchSize: 32 });
    const got = await Promise.all(xs.map((x) => b.predict(x)));
    for (let i = 0; i < xs.length; i++) expectOutput(got[i]!, await predictOne(model, xs[i]!, lengths[i]!, D), `sequence ${i}`);
    const h = histogramTotals(b.stats().batchSizes);
    expect(h.sequences).toBe(32);
    // A forward of T = 1 and T = 60 together would be mostly padding.
    expect(h.maxSize, JSON.stringify(b.stats().batchSizes)).toBeLessThanOrEqual(16);
    expect(b.stats().batches).toBeLessThan(32);
    model.dispose();
  });

  it('maxBatchSize 4: no forward holds more than 4 sequences', async () => {
    const rng = new Rng(seedOf('max 4'));
    const model = rk.sequential([L.gru({ units: 6, inputShape: [null, D], seed: 63 }), L.dense({ units: 2, seed: 64 })]);
    const xs = Array.from({ length: 22 }, () => features(rng, 5, D));
    const want: Output[] = [];
    for (const x of xs) want.push(await predictOne(model, x, 5, D));
    const b = batcher(model, { maxBatchSize: 4, maxDelayMs: 10 });
    const got = await Promise.all(xs.map((x) => b.predict(x)));
    got.forEach((out, i) => expectOutput(out, want[i]!, `sequence ${i}`));
    const st = b.stats();
    const h = histogramTotals(st.batchSizes);
    expect(h.maxSize).toBeLessThanOrEqual(4);
    expect(h.sequences).toBe(22);
    expect(st.batches).toBeGreaterThanOrEqual(6);
    expect(st.batches).toBeLessThan(22);
    model.dispose();
  });

  it('maxBatchSize 1: one forward per sequence', async () => {
    const rng = new Rng(seedOf('max 1'));
    const model = rk.sequential([L.simpleRNN({ units: 5, inputShape: [null, D], seed: 65 })]);
    const xs = Array.from({ length: 6 }, (_, i) => features(rng, 2 + i, D));
    const b = batcher(model, { maxBatchSize: 1, maxDelayMs: 0 });
    const got = await Promise.all(xs.map((x) => b.predict(x)));
    for (let i = 0; i < xs.length; i++) expectOutput(got[i]!, await predictOne(model, xs[i]!, 2 + i, D), `sequence ${i}`);
    const st = b.stats();
    expect(st.batches).toBe(6);
    expect(st.batchSizes).toEqual([{ size: 1, count: 6 }]);
    model.dispose();
  });

  it('maxDelayMs 0 and one request at a time: each runs alone and resolves', async () => {
    const rng = new Rng(seedOf('delay 0'));
    const model = rk.sequential([L.lstm({ units: 5, inputShape: [null, D], seed: 66 })]);
    const b = batcher(model, { maxDelayMs: 0 });
    for (let i = 0; i < 3; i++) {
      const x = features(rng, 4, D);
      expectOutput(await b.predict(x), await predictOne(model, x, 4, D), `request ${i}`);
    }
    const st = b.stats();
    expect(st.batches).toBe(3);
    expect(st.completed).toBe(3);
    expect(st.batchSizes).toEqual([{ size: 1, count: 3 }]);
    model.dispose();
  });
});

describe('batcher.predict backpressure (maxQueue, signal, timeoutMs) and batcher.close', () => {
  const model = () => rk.sequential([L.lstm({ units: 5, inputShape: [null, D], seed: 70 }), L.dense({ units: 2, seed: 71 })]);

  it('maxQueue: a request past it rejects at once with RNNKIT_QUEUE_FULL; the accepted ones run', async () => {
    const rng = new Rng(seedOf('queue full'));
    const m = model();
    const b = batcher(m, { maxQueue: 3, maxDelayMs: 300 });
    const xs = [features(rng, 3, D), features(rng, 4, D), features(rng, 5, D)];
    const accepted = xs.map((x) => b.predict(x));
    expect(b.stats().queueDepth).toBe(3);
    const t0 = Date.now();
    const e = await rejectsWithin(b.predict(features(rng, 3, D)), 100);
    expect(Date.now() - t0).toBeLessThan(100);
    expectError(e, [Error], 'RNNKIT_QUEUE_FULL');
    expect(e).not.toBeInstanceOf(TypeError);
    expect(e).not.toBeInstanceOf(RangeError);
    expect(b.stats().rejected.queueFull).toBe(1);
    expect(b.stats().requests).toBe(3);
    const got = await Promise.all(accepted);
    for (let i = 0; i < 3; i++) expectOutput(got[i]!, await predictOne(m, xs[i]!, xs[i]!.length / D, D), `accepted ${i}`);
    // Room again once drained.
    const x = features(rng, 2, D);
    expectOutput(await b.predict(x), await predictOne(m, x, 2, D), 'after the drain');
    expect(b.stats().rejected.queueFull).toBe(1);
    expect(b.stats().completed).toBe(4);
    m.dispose();
  });

  it('an already-aborted signal rejects at once with RNNKIT_ABORTED and runs nothing', async () => {
    const m = model();
    const b = batcher(m, { maxDelayMs: 0 });
    const ac = new AbortController();
    ac.abort();
    const p = b.predict(features(new Rng(1), 3, D), { signal: ac.signal });
    expect(await settled(p)).toBe(true);
    expectError(await rejectsWithin(p, 50), [Error], 'RNNKIT_ABORTED');
    await sleep(30);
    const st = b.stats();
    expect(st.batches).toBe(0);
    expect(st.completed).toBe(0);
    expect(st.rejected.aborted).toBe(1);
    m.dispose();
  });

  it('aborted while waiting: rejects RNNKIT_ABORTED, leaves the queue and never runs', async () => {
    const rng = new Rng(seedOf('abort waiting'));
    const m = model();
    const b = batcher(m, { maxDelayMs: 500 });
    const ac = new AbortController();
    const x1 = features(rng, 4, D);
    const x2 = features(rng, 4, D);
    const p1 = b.predict(x1, { signal: ac.signal });
    const p2 = b.predict(x2);
    await sleep(10);
    expect(b.stats().queueDepth).toBe(2);
    ac.abort();
    // It rejects on the abort, well before the batch's delay is over.
    expectError(await rejectsWithin(p1, 150), [Error], 'RNNKIT_ABORTED');
    expect(b.stats().queueDepth).toBe(1);
    expect(await settled(p2)).toBe(false);
    expectOutput(await p2, await predictOne(m, x2, 4, D), 'the other request');
    const st = b.stats();
    expect(st.batches).toBe(1);
    expect(st.batchSizes).toEqual([{ size: 1, count: 1 }]);
    expect(st.completed).toBe(1);
    expect(st.rejected.aborted).toBe(1);
    m.dispose();
  });

  it('aborted while waiting alone: no forward ever runs', async () => {
    const m = model();
    const b = batcher(m, { maxDelayMs: 100 });
    const ac = new AbortController();
    const p = b.predict(features(new Rng(2), 3, D), { signal: ac.signal });
    ac.abort();
    expectError(await rejectsWithin(p, 80), [Error], 'RNNKIT_ABORTED');
    await sleep(200);
    const st = b.stats();
    expect(st.batches).toBe(0);
    expect(st.batchSizes).toEqual([]);
    expect(st.queueDepth).toBe(0);
    m.dispose();
  });

  it('an abort after the result changes nothing', async () => {
    const m = model();
    const b = batcher(m, { maxDelayMs: 0 });
    const ac = new AbortController();
    const x = features(new Rng(3), 3, D);
    const out = await b.predict(x, { signal: ac.signal });
    ac.abort();
    await sleep(10);
    expectOutput(out, await predictOne(m, x, 3, D), 'result');
    expect(b.stats().rejected.aborted).toBe(0);
    expect(b.stats().completed).toBe(1);
    m.dispose();
  });

  it('one signal shared by many requests: no abort listener is left behind once they settle', async () => {
    const rng = new Rng(seedOf('shared signal'));
    const m = model();
    const b = batcher(m, { maxDelayMs: 1 });
    const ac = new AbortController();
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 20 }, () => b.predict(features(rng, 3, D), { signal: ac.signal, timeoutMs: 60_000 })));
    }
    expect(getEventListeners(ac.signal, 'abort').length).toBe(0);
    // Rejected ones (timed out while waiting) leave none either.
    const slow = batcher(m, { maxDelayMs: 200 });
    const ps = Array.from({ length: 5 }, () => slow.predict(features(rng, 3, D), { signal: ac.signal, timeoutMs: 10 }));
    for (const p of ps) expectError(await rejectsWithin(p, 150), [Error], 'RNNKIT_TIMEOUT');
    expect(getEventListeners(ac.signal, 'abort').length).toBe(0);
    m.dispose();
  });

  it('timeoutMs: a request still waiting rejects RNNKIT_TIMEOUT and never runs', async () => {
    const m = model();
    const b = batcher(m, { maxDelayMs: 300 });
    const t0 = Date.now();
    const p = b.predict(features(new Rng(4), 3, D), { timeoutMs: 20 });
    expectError(await rejectsWithin(p, 250), [Error], 'RNNKIT_TIMEOUT');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
    await sleep(350);
    const st = b.stats();
    expect(st.batches).toBe(0);
    expect(st.rejected.timedOut).toBe(1);
    expect(st.completed).toBe(0);
    expect(st.queueDepth).toBe(0);
    m.dispose();
  });

  it('timeoutMs long enough: resolves normally', async () => {
    const m = model();
    const b = batcher(m, { maxDelayMs: 5 });
    const x = features(new Rng(5), 6, D);
    expectOutput(await b.predict(x, { timeoutMs: 10_000 }), await predictOne(m, x, 6, D), 'result');
    await sleep(20);
    expect(b.stats().rejected.timedOut).toBe(0);
    m.dispose();
  });

  describe('a request already running', () => {
    // A forward of ~20 000 steps of an LSTM(256) takes a few hundred milliseconds.
    const bigT = 20_000;
    const big = () => rk.sequential([L.lstm({ units: 256, inputShape: [null, 64], seed: 72 }), L.dense({ units: 2, seed: 73 })]);

    it('aborted: rejects RNNKIT_ABORTED; the batcher keeps serving', async () => {
      const m = big();
      const b = batcher(m, { maxDelayMs: 0 });
      const ac = new AbortController();
      const p = b.predict(features(new Rng(13), bigT, 64), { signal: ac.signal });
      await sleep(30);
      expect(b.stats().queueDepth).toBe(0);
      expect(await settled(p), 'the forward took less than 30 ms: make it longer').toBe(false);
      ac.abort();
      expectError(await rejectsWithin(p, 10_000), [Error], 'RNNKIT_ABORTED');
      expect(b.stats().rejected.aborted).toBe(1);
      const x = features(new Rng(14), 3, 64);
      expectOutput(await b.predict(x), await predictOne(m, x, 3, 64), 'the next request');
      m.dispose();
    });

    it('timed out: rejects RNNKIT_TIMEOUT', async () => {
      const m = big();
      const b = batcher(m, { maxDelayMs: 0 });
      const p = b.predict(features(new Rng(15), bigT, 64), { timeoutMs: 40 });
      expectError(await rejectsWithin(p, 10_000), [Error], 'RNNKIT_TIMEOUT');
      expect(b.stats().rejected.timedOut).toBe(1);
      const x = features(new Rng(16), 3, 64);
      expectOutput(await b.predict(x), await predictOne(m, x, 3, 64), 'the next request');
      m.dispose();
    });
  });

  it('a forward that fails rejects its requests (counted as failed); the batcher does not hang', async () => {
    const m = model();
    const b = batcher(m, { maxDelayMs: 30 });
    const ps = [b.predict(features(new Rng(17), 3, D)), b.predict(features(new Rng(18), 4, D))];
    m.dispose();
    for (const p of ps) {
      const e = await rejectsWithin(p, 5000);
      expect(rk.isRnnkitError(e), String(e)).toBe(true);
    }
    const st = b.stats();
    expect(st.rejected.failed).toBe(2);
    expect(st.completed).toBe(0);
    expect(st.queueDepth).toBe(0);
  });

  it('close(): drains everything accepted, later calls reject RNNKIT_CLOSED, idempotent', async () => {
    const rng = new Rng(seedOf('close'));
    const m = model();
    const b = rk.serving.batcher(m, { maxDelayMs: 50, maxBatchSize: 4 });
    const lengths = [3, 1, 6, 4, 4, 2, 7, 5, 3, 2];
    const xs = lengths.map((T) => features(rng, T, D));
    const pending = xs.map((x) => b.predict(x));
    const closing = b.close();
    expect(closing).toBeInstanceOf(Promise);
    const late = b.predict(features(rng, 3, D));
    expectError(await rejectsWithin(late, 100), [Error], 'RNNKIT_CLOSED');
    await closing;
    // Everything accepted has resolved by the time close() resolves.
    for (const p of pending) expect(await settled(p)).toBe(true);
    const got = await Promise.all(pending);
    for (let i = 0; i < xs.length; i++) expectOutput(got[i]!, await predictOne(m, xs[i]!, lengths[i]!, D), `accepted ${i}`);
    await b.close();
    await b.close();
    expectError(await caught(() => b.predict(features(rng, 2, D)), 'async'), [Error], 'RNNKIT_CLOSED');
    expectError(await caught(() => b.session(), 'sync'), [Error], 'RNNKIT_CLOSED');
    const st = b.stats();
    expect(st.completed).toBe(xs.length);
    expect(st.rejected.closed).toBeGreaterThanOrEqual(2);
    expect(st.queueDepth).toBe(0);
    m.dispose();
  });

  it('close() of an idle batcher resolves at once', async () => {
    const m = model();
    const b = rk.serving.batcher(m);
    await b.close();
    expectError(await caught(() => b.predict(features(new Rng(6), 2, D)), 'async'), [Error], 'RNNKIT_CLOSED');
    m.dispose();
  });
});

describe('rk.serving.batcher and batcher.predict bad input, unsupported models, error codes', () => {
  const featureModel = () => rk.sequential([L.lstm({ units: 5, inputShape: [null, D], seed: 80 }), L.dense({ units: 2, seed: 81 })]);
  const idModel = () => rk.sequential([L.embedding({ inputDim: V, outputDim: 3, inputShape: [null], seed: 82 }), L.gru({ units: 4, seed: 83 })]);

  it('bad feature sequences reject with TypeError/RangeError RNNKIT_INVALID_ARGUMENT naming `sequence`', async () => {
    const m = featureModel();
    const b = batcher(m);
    const bad: [string, () => unknown][] = [
      ['rows of D + 1', () => [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]],
      ['rows of D − 1', () => [Float32Array.from([1, 2, 3])]],
      ['ragged rows', () => [[1, 2, 3, 4], [1, 2, 3]]],
      ['flat length not a multiple of D', () => Float32Array.from([1, 2, 3, 4, 5, 6, 7])],
      ['flat number[] not a multiple of D', () => [1, 2, 3, 4, 5]],
      ['T = 0 (empty array)', () => []],
      ['T = 0 (empty Float32Array)', () => new Float32Array(0)],
      ['a string', () => 'abc'],
      ['null', () => null],
      ['undefined', () => undefined],
      ['a number', () => 42],
      ['a plain object', () => ({ length: 4 })],
      ['rows of strings', () => [['a', 'b', 'c', 'd']]],
      ['a Tensor of wrong features [3, 5]', () => rk.tensor(new Rng(7).normal(15), [3, 5])],
      ['a Tensor of two samples [2, 3, D]', () => rk.tensor(new Rng(8).normal(2 * 3 * D), [2, 3, D])],
      ['a Tensor of rank 1', () => rk.tensor(new Rng(9).normal(D), [D])],
    ];
    for (const [name, make] of bad) {
      const e = await caught(() => b.predict(make() as never), 'async');
      try {
        expectError(e, [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT', /sequence/);
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
    }
    // Nothing ran, and the batcher still serves.
    expect(b.stats().batches).toBe(0);
    const x = features(new Rng(10), 3, D);
    expectOutput(await b.predict(x), await predictOne(m, x, 3, D), 'a good request after the bad ones');
    m.dispose();
  });

  it('bad ids reject with TypeError/RangeError RNNKIT_INVALID_ARGUMENT naming `sequence`', async () => {
    const m = idModel();
    const b = batcher(m);
    const bad: [string, () => unknown][] = [
      ['an id = inputDim', () => [1, V, 2]],
      ['an id > inputDim', () => Int32Array.from([1, 2, V + 5])],
      ['a negative id', () => [1, -1, 2]],
      ['a non-integer id', () => [1, 2.5, 3]],
      ['a non-integer id in a Float32Array', () => Float32Array.from([1, 0.5])],
      ['a NaN id', () => [1, NaN]],
      ['an id out of range in a Tensor', () => rk.tensor([1, 2, V], [1, 3])],
      ['T = 0', () => []],
      ['T = 0 (Int32Array)', () => new Int32Array(0)],
      ['a string', () => 'abc'],
      ['null', () => null],
      ['rows (features for an Embedding model)', () => [[1, 2], [3, 4]]],
    ];
    for (const [name, make] of bad) {
      const e = await caught(() => b.predict(make() as never), 'async');
      try {
        expectError(e, [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT', /sequence/);
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
    }
    expect(b.stats().batches).toBe(0);
    m.dispose();
  });

  it('a bad request in a burst does not disturb the good ones', async () => {
    const rng = new Rng(seedOf('bad in burst'));
    const m = featureModel();
    const b = batcher(m, { maxDelayMs: 10 });
    const xs = [features(rng, 3, D), features(rng, 5, D), features(rng, 2, D), features(rng, 4, D)];
    const ps = xs.map((x) => b.predict(x));
    const bad = caught(() => b.predict([[1, 2, 3]] as never), 'async');
    const got = await Promise.all(ps);
    expectError(await bad, [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
    for (let i = 0; i < xs.length; i++) expectOutput(got[i]!, await predictOne(m, xs[i]!, xs[i]!.length / D, D), `good ${i}`);
    m.dispose();
  });

  it('unknown or malformed options: TypeError/RangeError RNNKIT_INVALID_ARGUMENT', async () => {
    const m = featureModel();
    for (const [name, opts] of [
      ['maxBatch (typo)', { maxBatch: 3 }],
      ['max_batch_size', { max_batch_size: 3 }],
      ['timeoutMs (a predict option)', { timeoutMs: 5 }],
    ] as [string, object][]) {
      const e = await caught(() => rk.serving.batcher(m, opts as never), 'sync');
      try {
        expectError(e, [TypeError], 'RNNKIT_INVALID_ARGUMENT', new RegExp(Object.keys(opts)[0]!));
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
    }
    for (const [name, opts] of [
      ['maxBatchSize 0', { maxBatchSize: 0 }],
      ['maxBatchSize 2.5', { maxBatchSize: 2.5 }],
      ['maxBatchSize "8"', { maxBatchSize: '8' }],
      ['maxDelayMs -1', { maxDelayMs: -1 }],
      ['maxDelayMs NaN', { maxDelayMs: NaN }],
      ['maxQueue 0', { maxQueue: 0 }],
      ['sessionTtlMs -5', { sessionTtlMs: -5 }],
      ['maxSessions 0', { maxSessions: 0 }],
      ['maxConcurrentBatches 0', { maxConcurrentBatches: 0 }],
      ['maxConcurrentBatches 65', { maxConcurrentBatches: 65 }],
      ['options not an object', 5],
    ] as [string, unknown][]) {
      const e = await caught(() => rk.serving.batcher(m, opts as never), 'sync');
      try {
        expectError(e, [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
    }
    const b = batcher(m);
    const x = features(new Rng(11), 3, D);
    expectError(await caught(() => b.predict(x, { timeout: 5 } as never), 'async'), [TypeError], 'RNNKIT_INVALID_ARGUMENT', /timeout/);
    expectError(await caught(() => b.predict(x, { signal: {} } as never), 'async'), [TypeError], 'RNNKIT_INVALID_ARGUMENT', /signal/);
    expectError(await caught(() => b.predict(x, { timeoutMs: -1 }), 'async'), [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT', /timeoutMs/);
    expectError(await caught(() => b.predict(x, { timeoutMs: 'soon' } as never), 'async'), [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT', /timeoutMs/);
    expect(b.stats().batches).toBe(0);
    m.dispose();
  });

  it('models with several inputs or outputs: Error RNNKIT_UNSUPPORTED at batcher()', async () => {
    const inp = rk.input({ shape: [null, D] });
    const h = symbolic(L.lstm({ units: 4, seed: 84 }).apply(inp));
    const y1 = symbolic(L.dense({ units: 2, seed: 85 }).apply(h));
    const y2 = symbolic(L.dense({ units: 3, seed: 86 }).apply(h));
    const twoOut = rk.model({ inputs: inp, outputs: [y1, y2] });
    expectError(await caught(() => rk.serving.batcher(twoOut), 'sync'), [Error], 'RNNKIT_UNSUPPORTED');

    const a = rk.input({ shape: [null, D] });
    const c = rk.input({ shape: [null, D] });
    const sum = symbolic(L.add().apply([symbolic(L.gru({ units: 3, seed: 87 }).apply(a)), symbolic(L.gru({ units: 3, seed: 88 }).apply(c))]));
    const twoIn = rk.model({ inputs: [a, c], outputs: sum });
    expectError(await caught(() => rk.serving.batcher(twoIn), 'sync'), [Error], 'RNNKIT_UNSUPPORTED');
    twoOut.dispose();
    twoIn.dispose();
  });

  it('a model argument that is not a model: TypeError RNNKIT_INVALID_ARGUMENT', async () => {
    for (const m of [null, undefined, {}, 'model', 42]) {
      expectError(await caught(() => rk.serving.batcher(m as never), 'sync'), [TypeError], 'RNNKIT_INVALID_ARGUMENT');
    }
  });

  it('rk.ERROR_CODES holds the serving codes', () => {
    for (const code of ['RNNKIT_QUEUE_FULL', 'RNNKIT_ABORTED', 'RNNKIT_TIMEOUT', 'RNNKIT_CLOSED']) expect(rk.ERROR_CODES).toContain(code);
    // And the older ones are still there.
    for (const code of ['RNNKIT_INVALID_ARGUMENT', 'RNNKIT_UNSUPPORTED']) expect(rk.ERROR_CODES).toContain(code);
  });

  it('serving errors are rnnkit errors (rk.isRnnkitError)', async () => {
    const m = featureModel();
    const b = rk.serving.batcher(m);
    await b.close();
    const e = await caught(() => b.predict(features(new Rng(12), 2, D)), 'async');
    expect(rk.isRnnkitError(e)).toBe(true);
    m.dispose();
  });
});
