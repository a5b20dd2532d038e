/**
 * Serving sessions (rk.serving.batcher(...).session(), issue 12), checked against the contract
 * (notes/serving-api.md) alone:
 * - session.step one step at a time, session.feed in uneven chunks, and steps fired without
 *   waiting, equal model.predict of the whole sequence (per-step outputs: its rows; per-sequence
 *   outputs: model.predict of each prefix) within 1e-6 relative, for LSTM, GRU (both variants),
 *   SimpleRNN, stacked, Embedding-fronted (maskZero, front padding, maskedOutput 'carry'),
 *   Masking, Dense/normalization/dropout/activation, functional chains and a stateful LSTM
 *   (whose own carried state stays untouched);
 * - many sessions stepping or feeding uneven chunks together (coalesced), mixed with predicts;
 *   session steps count against maxQueue;
 * - session.exportState → JSON → batcher.session({ state }) continues exactly, also in a
 *   second batcher over the model saved and loaded again; bad states are refused;
 * - session.reset, session.close, batcher.close, sessionTtlMs eviction, maxSessions;
 * - models sessions refuse (Bidirectional, goBackwards, Conv1D, pooling, RepeatVector,
 *   non-chain graphs) name the layer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';
import { seedOf } from './helpers/rnn-cases';
import { useTempDirs } from './helpers/temp-dirs';
import {
  caught,
  expectError,
  expectOutput,
  expectRel,
  features,
  ids,
  type Model,
  type Output,
  predictOne,
  rejectsWithin,
  row,
  rows,
  sleep,
} from './helpers/serving';

type Batcher = ReturnType<typeof rk.serving.batcher>;
type Session = ReturnType<Batcher['session']>;
type SessionState = ReturnType<Session['exportState']>;

const open: Batcher[] = [];
function batcher(model: Model, options?: Parameters<typeof rk.serving.batcher>[1]): Batcher {
  const b = options === undefined ? rk.serving.batcher(model) : rk.serving.batcher(model, options);
  open.push(b);
  return b;
}
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

const freshDir = useTempDirs('serving-sessions');
const D = 4;
const V = 9;
const L = rk.layers;

function symbolic(t: rk.SymbolicTensor | rk.SymbolicTensor[]): rk.SymbolicTensor {
  return t as rk.SymbolicTensor;
}

interface Case {
  build(): Model;
  /** ids; `front`: the sequence starts with padding (0 ids). */
  ids?: { maskZero: boolean; front?: boolean };
  perStep: boolean;
  /** Features with some all-zero rows (steps a Masking layer masks), the first row not. */
  zeroRows?: boolean;
}

const CASES: Record<string, Case> = {
  'per-step: LSTM(returnSequences) -> Dense': {
    perStep: true,
    build: () => rk.sequential([L.lstm({ units: 6, returnSequences: true, inputShape: [null, D], seed: 1 }), L.dense({ units: 3, seed: 2 })]),
  },
  'per-step: GRU(resetAfter true, returnSequences) -> Dense': {
    perStep: true,
    build: () => rk.sequential([L.gru({ units: 6, resetAfter: true, returnSequences: true, inputShape: [null, D], seed: 3 }), L.dense({ units: 3, seed: 4 })]),
  },
  'per-step: GRU(resetAfter false, returnSequences) -> Dense': {
    perStep: true,
    build: () => rk.sequential([L.gru({ units: 6, resetAfter: false, returnSequences: true, inputShape: [null, D], seed: 5 }), L.dense({ units: 3, seed: 6 })]),
  },
  'per-step: SimpleRNN(returnSequences)': {
    perStep: true,
    build: () => rk.sequential([L.simpleRNN({ units: 5, returnSequences: true, inputShape: [null, D], seed: 7 })]),
  },
  'per-step: stacked LSTM(returnSequences) -> GRU(returnSequences) -> TimeDistributed(Dense)': {
    perStep: true,
    build: () =>
      rk.sequential([
        L.lstm({ units: 6, returnSequences: true, inputShape: [null, D], seed: 8 }),
        L.gru({ units: 5, returnSequences: true, seed: 9 }),
        L.timeDistributed({ layer: L.dense({ units: 3, seed: 10 }) }),
      ]),
  },
  'per-step: Embedding -> GRU(returnSequences) -> Dense (ids)': {
    perStep: true,
    ids: { maskZero: false },
    build: () =>
      rk.sequential([L.embedding({ inputDim: V, outputDim: 5, inputShape: [null], seed: 11 }), L.gru({ units: 6, returnSequences: true, seed: 12 }), L.dense({ units: 3, seed: 13 })]),
  },
  'per-step: Embedding(maskZero) -> LSTM(returnSequences) -> Dense (ids with zeros)': {
    perStep: true,
    ids: { maskZero: true },
    build: () =>
      rk.sequential([
        L.embedding({ inputDim: V, outputDim: 5, maskZero: true, inputShape: [null], seed: 14 }),
        L.lstm({ units: 6, returnSequences: true, seed: 15 }),
        L.dense({ units: 3, seed: 16 }),
      ]),
  },
  'per-step: LSTM(returnSequences) -> LayerNormalization -> Dropout -> GRU(returnSequences) -> Activation -> Dense': {
    perStep: true,
    build: () =>
      rk.sequential([
        L.lstm({ units: 6, returnSequences: true, inputShape: [null, D], seed: 17 }),
        L.layerNormalization(),
        L.dropout({ rate: 0.3, seed: 18 }),
        L.gru({ units: 5, returnSequences: true, seed: 19 }),
        L.activation({ activation: 'tanh' }),
        L.dense({ units: 3, seed: 20 }),
      ]),
  },
  'per-step: front-padded ids, Embedding(maskZero) -> LSTM(returnSequences) -> Dense': {
    perStep: true,
    ids: { maskZero: true, front: true },
    build: () =>
      rk.sequential([
        L.embedding({ inputDim: V, outputDim: 5, maskZero: true, inputShape: [null], seed: 130 }),
        L.lstm({ units: 6, returnSequences: true, seed: 131 }),
        L.dense({ units: 3, seed: 132 }),
      ]),
  },
  'per-step: Embedding(maskZero) -> GRU(returnSequences, maskedOutput carry) -> Dense (ids with zeros)': {
    perStep: true,
    ids: { maskZero: true },
    build: () =>
      rk.sequential([
        L.embedding({ inputDim: V, outputDim: 5, maskZero: true, inputShape: [null], seed: 133 }),
        L.gru({ units: 6, returnSequences: true, maskedOutput: 'carry', seed: 134 }),
        L.dense({ units: 3, seed: 135 }),
      ]),
  },
  'per-step: Masking -> LSTM(returnSequences) -> Dense (some all-zero steps)': {
    perStep: true,
    zeroRows: true,
    build: () => rk.sequential([L.masking({ inputShape: [null, D] }), L.lstm({ units: 6, returnSequences: true, seed: 136 }), L.dense({ units: 3, seed: 137 })]),
  },
  'per-step: Dense(relu) -> SimpleRNN(returnSequences) -> BatchNormalization -> Dense': {
    perStep: true,
    build: () =>
      rk.sequential([
        L.dense({ units: 5, activation: 'relu', inputShape: [null, D], seed: 138 }),
        L.simpleRNN({ units: 6, returnSequences: true, seed: 139 }),
        L.batchNormalization(),
        L.dense({ units: 3, seed: 140 }),
      ]),
  },
  'Masking -> GRU -> Dense (some all-zero steps)': {
    perStep: false,
    zeroRows: true,
    build: () => rk.sequential([L.masking({ inputShape: [null, D] }), L.gru({ units: 6, seed: 141 }), L.dense({ units: 3, seed: 142 })]),
  },
  'Embedding(maskZero) -> LSTM(returnSequences, maskedOutput carry) -> GRU -> Dense (ids with zeros)': {
    perStep: false,
    ids: { maskZero: true },
    build: () =>
      rk.sequential([
        L.embedding({ inputDim: V, outputDim: 5, maskZero: true, inputShape: [null], seed: 143 }),
        L.lstm({ units: 6, returnSequences: true, maskedOutput: 'carry', seed: 144 }),
        L.gru({ units: 5, seed: 145 }),
        L.dense({ units: 3, seed: 146 }),
      ]),
  },
  'functional chain: input -> Embedding -> GRU -> Dense (ids)': {
    perStep: false,
    ids: { maskZero: false },
    build: () => {
      const inp = rk.input({ shape: [null] });
      const e = L.embedding({ inputDim: V, outputDim: 5, seed: 147 }).apply(inp);
      const y = L.dense({ units: 3, seed: 149 }).apply(L.gru({ units: 6, seed: 148 }).apply(e));
      return rk.model({ inputs: inp, outputs: symbolic(y) });
    },
  },
  'LSTM -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.lstm({ units: 6, inputShape: [null, D], seed: 21 }), L.dense({ units: 3, seed: 22 })]),
  },
  'GRU (resetAfter true) -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.gru({ units: 6, inputShape: [null, D], seed: 23 }), L.dense({ units: 3, seed: 24 })]),
  },
  'GRU (resetAfter false) -> Dense(tanh)': {
    perStep: false,
    build: () => rk.sequential([L.gru({ units: 6, resetAfter: false, inputShape: [null, D], seed: 25 }), L.dense({ units: 3, activation: 'tanh', seed: 26 })]),
  },
  'SimpleRNN -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.simpleRNN({ units: 6, inputShape: [null, D], seed: 27 }), L.dense({ units: 3, seed: 28 })]),
  },
  'stacked LSTM(returnSequences) -> GRU -> Dense': {
    perStep: false,
    build: () => rk.sequential([L.lstm({ units: 6, returnSequences: true, inputShape: [null, D], seed: 29 }), L.gru({ units: 5, seed: 30 }), L.dense({ units: 3, seed: 31 })]),
  },
  'Embedding -> LSTM -> Dense (ids)': {
    perStep: false,
    ids: { maskZero: false },
    build: () =>
      rk.sequential([L.embedding({ inputDim: V, outputDim: 5, inputShape: [null], seed: 32 }), L.lstm({ units: 6, seed: 33 }), L.dense({ units: 3, seed: 34 })]),
  },
  'Embedding(maskZero) -> SimpleRNN -> Dense (ids with zeros)': {
    perStep: false,
    ids: { maskZero: true },
    build: () =>
      rk.sequential([L.embedding({ inputDim: V, outputDim: 5, maskZero: true, inputShape: [null], seed: 35 }), L.simpleRNN({ units: 6, seed: 36 }), L.dense({ units: 3, seed: 37 })]),
  },
  'functional chain: input -> GRU -> Dense': {
    perStep: false,
    build: () => {
      const inp = rk.input({ shape: [null, D] });
      const y = L.dense({ units: 3, seed: 39 }).apply(L.gru({ units: 6, seed: 38 }).apply(inp));
      return rk.model({ inputs: inp, outputs: symbolic(y) });
    },
  },
  'per-step functional chain: input -> LSTM(returnSequences) -> Dense': {
    perStep: true,
    build: () => {
      const inp = rk.input({ shape: [null, D] });
      const y = L.dense({ units: 3, seed: 41 }).apply(L.lstm({ units: 6, returnSequences: true, seed: 40 }).apply(inp));
      return rk.model({ inputs: inp, outputs: symbolic(y) });
    },
  },
};

const T = 9;

/** A seeded sequence for a case: flat features [T·D] or ids [T] (with zeros, never first, for maskZero). */
function sample(c: Case, rng: Rng, n = T): Float32Array {
  if (!c.ids) {
    const x = features(rng, n, D);
    if (c.zeroRows) for (let t = 1; t < n; t++) if (t % 3 === 2 || t === n - 1) x.fill(0, t * D, (t + 1) * D);
    return x;
  }
  const s = ids(rng, n, V);
  if (c.ids.maskZero) for (let t = 1; t < n; t++) if (t % 3 === 2) s[t] = 0;
  if (c.ids.front) s.fill(0, 0, Math.min(2, n - 1));
  return s;
}
const stepsOf = (c: Case, x: Float32Array): number => (c.ids ? x.length : x.length / D);
/** Step t of a sample, in the form session.step takes (alternating number[] and Float32Array rows). */
function stepInput(c: Case, x: Float32Array, t: number): number | number[] | Float32Array {
  if (c.ids) return x[t]!;
  const r = x.slice(t * D, (t + 1) * D);
  return t % 2 ? Array.from(r) : r;
}
/** Steps [a, b) of a sample as a chunk, in one of the forms feed takes. */
function chunkInput(c: Case, x: Float32Array, a: number, b: number, form: number): unknown {
  if (c.ids) {
    const s = x.slice(a, b);
    return [Array.from(s), Int32Array.from(s), s, rk.tensor(s, [b - a])][form % 4];
  }
  const s = x.slice(a * D, b * D);
  return [rows(s, D).map((r) => Array.from(r)), s, rows(s, D), rk.tensor(s, [b - a, D]), rk.tensor(s, [1, b - a, D])][form % 5];
}

/**
 * What the session should give after each step: per-step models the rows of model.predict of
 * the whole sequence; per-sequence models model.predict of each prefix.
 */
async function expectedSteps(c: Case, model: Model, x: Float32Array): Promise<Output[]> {
  const n = stepsOf(c, x);
  const out: Output[] = [];
  if (c.perStep) {
    const whole = await predictOne(model, x, n, c.ids ? null : D);
    for (let t = 0; t < n; t++) out.push({ data: row(whole, t), shape: [whole.shape[1]!] });
  } else {
    for (let t = 1; t <= n; t++) out.push(await predictOne(model, c.ids ? x.slice(0, t) : x.slice(0, t * D), t, c.ids ? null : D));
  }
  return out;
}

/** Stacked step outputs [n, K] (per-step) for one comparison over the whole output. */
function stack(outs: Output[]): Output {
  const K = outs[0]!.shape[0]!;
  const data = new Float32Array(outs.length * K);
  outs.forEach((o, i) => data.set(o.data, i * K));
  return { data, shape: [outs.length, K] };
}

function expectSteps(got: Output[], want: Output[], what: string): void {
  expect(got.length, `${what}: outputs`).toBe(want.length);
  got.forEach((o, t) => expect(o.shape, `${what}: step ${t} shape`).toEqual(want[t]!.shape));
  // Per-step rows can be zero at masked steps: compare the whole stacked output, and each
  // prefix output (non-zero) on its own as well.
  expectRel(stack(got).data, stack(want).data, what);
}

describe('session.step / session.feed equal model.predict', () => {
  for (const [name, c] of Object.entries(CASES)) {
    describe(name, () => {
      it('step by step', async () => {
        const rng = new Rng(seedOf(`${name} step`));
        const model = c.build();
        const x = sample(c, rng);
        const want = await expectedSteps(c, model, x);
        const b = batcher(model, { maxDelayMs: 0 });
        const s = b.session();
        const got: Output[] = [];
        for (let t = 0; t < T; t++) {
          const out = await s.step(stepInput(c, x, t) as never);
          expect(out.data).toBeInstanceOf(Float32Array);
          got.push(out);
        }
        expectSteps(got, want, name);
        if (!c.perStep) got.forEach((o, t) => want[t]!.data.some((v) => v !== 0) && expectOutput(o, want[t]!, `${name}: after step ${t}`));
        expect(s.exportState().steps).toBe(T);
        model.dispose();
      });

      it('feed in uneven chunks (1, 3, 2, 3), every chunk form', async () => {
        const rng = new Rng(seedOf(`${name} feed`));
        const model = c.build();
        const x = sample(c, rng);
        const want = await expectedSteps(c, model, x);
        const b = batcher(model, { maxDelayMs: 1 });
        const bounds = [0, 1, 4, 6, 9];
        for (let form = 0; form < (c.ids ? 4 : 5); form++) {
          const s = b.session();
          const got: Output[] = [];
          for (let k = 0; k + 1 < bounds.length; k++) {
            const [a, e] = [bounds[k]!, bounds[k + 1]!];
            const out = await s.feed(chunkInput(c, x, a, e, form + k) as never);
            if (c.perStep) {
              expect(out.shape, `chunk ${k}`).toEqual([e - a, want[0]!.shape[0]!]);
              for (let t = a; t < e; t++) got.push({ data: row(out, t - a), shape: [out.shape[1]!] });
            } else {
              expectOutput(out, want[e - 1]!, `${name}: form ${form}, after chunk ${k} (steps ${a}..${e - 1})`);
            }
          }
          if (c.perStep) expectSteps(got, want, `${name}: form ${form}`);
          s.close();
        }
        model.dispose();
      });

      it('steps fired without waiting run in call order', async () => {
        const rng = new Rng(seedOf(`${name} fire`));
        const model = c.build();
        const x = sample(c, rng);
        const want = await expectedSteps(c, model, x);
        const b = batcher(model, { maxDelayMs: 2 });
        const s = b.session();
        const got = await Promise.all(Array.from({ length: T }, (_, t) => s.step(stepInput(c, x, t) as never)));
        expectSteps(got, want, name);
        model.dispose();
      });
    });
  }
});

describe('session.step on stateful models', () => {
  it("a stateful LSTM: sessions start from zeros and never touch the layer's carried state", async () => {
    const rng = new Rng(seedOf('stateful'));
    const make = (stateful: boolean) => rk.sequential([L.lstm({ units: 6, stateful, inputShape: [null, D], seed: 50 }), L.dense({ units: 3, seed: 51 })]);
    const model = make(true);
    const twin = make(true);
    const plain = make(false);
    twin.setWeights(model.getWeights());
    plain.setWeights(model.getWeights());
    const A = features(rng, 5, D);
    const B = features(rng, 4, D);
    const x = features(rng, T, D);
    // The stateful model carries A's final state.
    const a1 = await predictOne(model, A, 5, D);
    expectOutput(await predictOne(twin, A, 5, D), a1, 'twin on A', 0);

    const b = batcher(model, { maxDelayMs: 0 });
    const s = b.session();
    const got: Output[] = [];
    for (let t = 0; t < T; t++) got.push(await s.step(x.slice(t * D, (t + 1) * D)));
    const s2 = b.session();
    const fed = await s2.feed(x);
    // From zeros, as the same model without carried state.
    for (let t = 0; t < T; t++) expectOutput(got[t]!, await predictOne(plain, x.slice(0, (t + 1) * D), t + 1, D), `step ${t}`);
    expectOutput(fed, await predictOne(plain, x, T, D), 'feed');

    // The carried state is A's still: B continues from it exactly as on the untouched twin.
    const bModel = await predictOne(model, B, 4, D);
    const bTwin = await predictOne(twin, B, 4, D);
    expect(Array.from(bModel.data)).toEqual(Array.from(bTwin.data));
    // (and the carried state matters: from zeros B gives something else)
    const bPlain = await predictOne(plain, B, 4, D);
    expect(Array.from(bModel.data)).not.toEqual(Array.from(bPlain.data));
    model.dispose();
    twin.dispose();
    plain.dispose();
  });

  it('model.predict results are unchanged before and after session use (non-stateful)', async () => {
    const rng = new Rng(seedOf('unchanged'));
    const model = rk.sequential([L.gru({ units: 6, returnSequences: true, inputShape: [null, D], seed: 52 }), L.dense({ units: 2, seed: 53 })]);
    const x = features(rng, 6, D);
    const before = await predictOne(model, x, 6, D);
    const b = batcher(model);
    const s = b.session();
    await s.feed(features(rng, 5, D));
    await s.step(features(rng, 1, D));
    const after = await predictOne(model, x, 6, D);
    expect(Array.from(after.data)).toEqual(Array.from(before.data));
    model.dispose();
  });
});

describe('session.step: many sessions at once', () => {
  const perStep = CASES['per-step: LSTM(returnSequences) -> Dense']!;
  const perSeq = CASES['stacked LSTM(returnSequences) -> GRU -> Dense']!;

  for (const [label, c] of [
    ['per-step model', perStep],
    ['per-sequence model', perSeq],
  ] as [string, Case][]) {
    it(`20 sessions stepping interleaved, each equals its own reference; steps coalesce (${label})`, async () => {
      const rng = new Rng(seedOf(`many ${label}`));
      const model = c.build();
      const lengths = Array.from({ length: 20 }, () => rng.int(3, 10));
      const xs = lengths.map((n) => sample(c, rng, n));
      const want: Output[][] = [];
      for (const x of xs) want.push(await expectedSteps(c, model, x));
      const b = batcher(model, { maxDelayMs: 2 });
      const sessions = xs.map(() => b.session());
      expect(new Set(sessions.map((s) => s.id)).size).toBe(20);
      expect(sessions.every((s) => typeof s.id === 'string' && s.closed === false)).toBe(true);
      expect(b.stats().sessions).toBe(20);
      const got: Output[][] = xs.map(() => []);
      const maxT = Math.max(...lengths);
      let steps = 0;
      for (let t = 0; t < maxT; t++) {
        const round: Promise<void>[] = [];
        // Interleaved: odd rounds go through the sessions backwards.
        const order = sessions.map((_, i) => i);
        if (t % 2) order.reverse();
        for (const i of order) {
          if (t >= lengths[i]!) continue;
          steps++;
          round.push(sessions[i]!.step(stepInput(c, xs[i]!, t) as never).then((o: Output) => void (got[i]![t] = o)));
        }
        await Promise.all(round);
      }
      xs.forEach((_, i) => expectSteps(got[i]!, want[i]!, `session ${i} (T = ${lengths[i]})`));
      const st = b.stats();
      expect(st.requests).toBe(steps);
      expect(st.completed).toBe(steps);
      expect(st.batches).toBeLessThan(steps);
      expect(st.batches).toBeGreaterThanOrEqual(maxT);
      model.dispose();
    });
  }

  it('every step of every session fired at once: per-session order holds; mixed with predicts', async () => {
    const c = perStep;
    const rng = new Rng(seedOf('all at once'));
    const model = c.build();
    const lengths = Array.from({ length: 12 }, () => rng.int(2, 8));
    const xs = lengths.map((n) => sample(c, rng, n));
    const want: Output[][] = [];
    for (const x of xs) want.push(await expectedSteps(c, model, x));
    const px = Array.from({ length: 6 }, (_, i) => features(rng, 3 + i, D));
    const pwant: Output[] = [];
    for (const x of px) pwant.push(await predictOne(model, x, x.length / D, D));
    const b = batcher(model, { maxDelayMs: 3, maxBatchSize: 8 });
    const sessions = xs.map(() => b.session());
    const pending: Promise<Output>[][] = xs.map(() => []);
    const preds: Promise<Output>[] = [];
    const maxT = Math.max(...lengths);
    for (let t = 0; t < maxT; t++) {
      xs.forEach((x, i) => {
        if (t < lengths[i]!) pending[i]!.push(sessions[i]!.step(stepInput(c, x, t) as never));
      });
      if (t < px.length) preds.push(b.predict(px[t]!));
    }
    const got = await Promise.all(pending.map((p) => Promise.all(p)));
    xs.forEach((_, i) => expectSteps(got[i]!, want[i]!, `session ${i}`));
    const pgot = await Promise.all(preds);
    pgot.forEach((o, i) => expectOutput(o, pwant[i]!, `predict ${i}`));
    const h = b.stats().batchSizes;
    expect(Math.max(...h.map((e) => e.size))).toBeLessThanOrEqual(8);
    model.dispose();
  });
});

describe('session.feed: many sessions feeding uneven chunks at once', () => {
  for (const name of ['per-step: stacked LSTM(returnSequences) -> GRU(returnSequences) -> TimeDistributed(Dense)', 'Embedding -> LSTM -> Dense (ids)']) {
    it(`10 sessions, chunks of different lengths in each round (${name})`, async () => {
      const c = CASES[name]!;
      const rng = new Rng(seedOf(`chunks ${name}`));
      const model = c.build();
      // Each session's own chunk lengths (1..5), 3 or 4 chunks.
      const plans = Array.from({ length: 10 }, () => Array.from({ length: rng.int(3, 4) }, () => rng.int(1, 5)));
      const xs = plans.map((p) => sample(c, rng, p.reduce((a, e) => a + e, 0)));
      const want: Output[][] = [];
      for (const x of xs) want.push(await expectedSteps(c, model, x));
      const b = batcher(model, { maxDelayMs: 3 });
      const sessions = xs.map(() => b.session());
      const got: Output[][] = xs.map(() => []);
      const start = xs.map(() => 0);
      for (let k = 0; k < 4; k++) {
        await Promise.all(
          sessions.map(async (s, i) => {
            const n = plans[i]![k];
            if (n === undefined) return;
            const a = start[i]!;
            start[i] = a + n;
            const out: Output = await s.feed(chunkInput(c, xs[i]!, a, a + n, i + k) as never);
            if (c.perStep) {
              expect(out.shape).toEqual([n, want[i]![0]!.shape[0]!]);
              for (let t = 0; t < n; t++) got[i]!.push({ data: row(out, t), shape: [out.shape[1]!] });
            } else {
              expectOutput(out, want[i]![a + n - 1]!, `session ${i}, chunk ${k}`);
            }
          }),
        );
      }
      if (c.perStep) xs.forEach((_, i) => expectSteps(got[i]!, want[i]!, `session ${i} (chunks ${plans[i]!.join(', ')})`));
      const st = b.stats();
      const feeds = plans.reduce((a, p) => a + p.length, 0);
      expect(st.requests).toBe(feeds);
      expect(st.batches).toBeLessThan(feeds);
      model.dispose();
    });
  }

  it('20 sessions of a larger LSTM(64) -> Dense (D = 16) stepping together', async () => {
    const Dl = 16;
    const model = rk.sequential([L.lstm({ units: 64, returnSequences: true, inputShape: [null, Dl], seed: 45 }), L.dense({ units: 5, seed: 46 })]);
    const rng = new Rng(seedOf('larger sessions'));
    const n = 24;
    const xs = Array.from({ length: 20 }, () => features(rng, n, Dl));
    const wants: Output[] = [];
    for (const x of xs) wants.push(await predictOne(model, x, n, Dl));
    const b = batcher(model, { maxDelayMs: 2 });
    const sessions = xs.map(() => b.session());
    const got: Output[][] = xs.map(() => []);
    for (let t = 0; t < n; t++) {
      const outs = await Promise.all(sessions.map((s, i) => s.step(xs[i]!.subarray(t * Dl, (t + 1) * Dl))));
      outs.forEach((o, i) => got[i]!.push(o));
    }
    xs.forEach((_, i) => expectRel(stack(got[i]!).data, wants[i]!.data, `session ${i}`));
    expect(b.stats().batches).toBeLessThan(20 * n);
    model.dispose();
  });
});

describe('session.step and maxQueue', () => {
  it('session steps count against maxQueue: past it a step rejects RNNKIT_QUEUE_FULL at once', async () => {
    const c = CASES['LSTM -> Dense']!;
    const rng = new Rng(seedOf('step queue'));
    const model = c.build();
    const b = batcher(model, { maxQueue: 2, maxDelayMs: 300 });
    const s1 = b.session();
    const s2 = b.session();
    const x1 = features(rng, 1, D);
    const x2 = features(rng, 3, D);
    const p1 = s1.step(x1);
    const p2 = b.predict(x2);
    expect(b.stats().queueDepth).toBe(2);
    const t0 = Date.now();
    expectError(await rejectsWithin(s2.step(features(rng, 1, D)), 100), [Error], 'RNNKIT_QUEUE_FULL');
    expect(Date.now() - t0).toBeLessThan(100);
    expect(b.stats().rejected.queueFull).toBe(1);
    expectOutput(await p1, await predictOne(model, x1, 1, D), 'the accepted step');
    expectOutput(await p2, await predictOne(model, x2, 3, D), 'the accepted predict');
    // The refused step changed nothing: s2 starts from zeros.
    expect(s2.exportState().steps).toBe(0);
    const x3 = features(rng, 1, D);
    expectOutput(await s2.step(x3), await predictOne(model, x3, 1, D), 's2 after the refusal');
    model.dispose();
  });
});

describe('session.exportState', () => {
  const names = [
    'per-step: LSTM(returnSequences) -> Dense',
    'per-step: stacked LSTM(returnSequences) -> GRU(returnSequences) -> TimeDistributed(Dense)',
    'GRU (resetAfter false) -> Dense(tanh)',
    'Embedding -> LSTM -> Dense (ids)',
  ];
  for (const name of names) {
    it(`export after k steps → JSON → batcher.session({ state }) continues exactly (${name})`, async () => {
      const c = CASES[name]!;
      const rng = new Rng(seedOf(`export ${name}`));
      const model = c.build();
      const x = sample(c, rng);
      const want = await expectedSteps(c, model, x);
      const b = batcher(model, { maxDelayMs: 0 });
      const a = b.session();
      const k = 4;
      for (let t = 0; t < k; t++) await a.step(stepInput(c, x, t) as never);
      const state = a.exportState();
      expect(state.format).toBe('rnnkit-session-state');
      expect(state.version).toBe(1);
      expect(typeof state.model).toBe('string');
      expect(state.steps).toBe(k);
      expect(Array.isArray(state.states)).toBe(true);
      expect(state.states.length).toBeGreaterThan(0);
      for (const v of state.states) {
        expect(Array.isArray(v)).toBe(true);
        expect(v.every((n) => typeof n === 'number' && Number.isFinite(n))).toBe(true);
      }
      expect(state.states.some((v) => v.some((n) => n !== 0))).toBe(true);
      const text = JSON.stringify(state);
      const parsed = JSON.parse(text) as SessionState;
      expect(parsed).toEqual(state);
      expect(JSON.stringify(parsed)).toBe(text);

      // The uninterrupted session, and a resumed one.
      const rest: Output[] = [];
      for (let t = k; t < T; t++) rest.push(await a.step(stepInput(c, x, t) as never));
      const resumed = b.session({ state: parsed });
      expect(resumed.id).not.toBe(a.id);
      expect(resumed.exportState()).toEqual(state);
      const again: Output[] = [];
      for (let t = k; t < T; t++) again.push(await resumed.step(stepInput(c, x, t) as never));
      again.forEach((o, i) => expectOutput(o, rest[i]!, `resumed step ${k + i}`));
      expectSteps(again, want.slice(k), 'resumed vs model.predict');
      expect(resumed.exportState().steps).toBe(T);

      // In a second batcher over the model saved and loaded again (another process's stand-in).
      const dir = freshDir();
      await model.save(dir);
      const loaded = await rk.loadModel(dir);
      const b2 = batcher(loaded);
      const other = b2.session({ state: JSON.parse(text) as SessionState });
      const fed = await other.feed(chunkInput(c, x, k, T, 1) as never);
      if (c.perStep) {
        for (let t = k; t < T; t++) expectRel(row(fed, t - k), rest[t - k]!.data, `loaded model: step ${t}`);
      } else {
        expectOutput(fed, rest[rest.length - 1]!, 'loaded model: after the rest');
      }
      model.dispose();
      loaded.dispose();
    });
  }

  it('a fresh session exports zero states and 0 steps; the export reflects completed steps only', async () => {
    const c = CASES['LSTM -> Dense']!;
    const model = c.build();
    const b = batcher(model, { maxDelayMs: 20 });
    const s = b.session();
    const st0 = s.exportState();
    expect(st0.steps).toBe(0);
    expect(st0.states.every((v) => v.every((n) => n === 0))).toBe(true);
    const x = features(new Rng(60), 1, D);
    const p = s.step(x);
    expect(s.exportState().steps).toBe(0);
    await p;
    const st1 = s.exportState();
    expect(st1.steps).toBe(1);
    expect(st1.model).toBe(st0.model);
    expect(st1.states.some((v) => v.some((n) => n !== 0))).toBe(true);
    // LSTM: h and c of 6 units each (in some order).
    expect(st1.states.map((v) => v.length).sort()).toEqual([6, 6]);
    model.dispose();
  });

  it('a state of a model with the same recurrent layers but another input size is refused', async () => {
    const d4 = rk.sequential([L.lstm({ units: 6, inputShape: [null, 4], seed: 150 }), L.dense({ units: 3, seed: 151 })]);
    const d5 = rk.sequential([L.lstm({ units: 6, inputShape: [null, 5], seed: 152 }), L.dense({ units: 3, seed: 153 })]);
    const s = batcher(d4).session();
    await s.step(features(new Rng(154), 1, 4));
    const state = JSON.parse(JSON.stringify(s.exportState())) as SessionState;
    const b5 = batcher(d5);
    expectError(await caught(() => b5.session({ state }), 'sync'), [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
    expect(b5.stats().sessions).toBe(0);
    d4.dispose();
    d5.dispose();
  });

  it('a state of a model with the same architecture but other weights is refused', async () => {
    const make = (seed: number) => rk.sequential([L.gru({ units: 6, inputShape: [null, D], seed }), L.dense({ units: 3, seed: seed + 1 })]);
    const a = make(155);
    const other = make(157);
    const s = batcher(a).session();
    await s.step(features(new Rng(159), 1, D));
    const state = JSON.parse(JSON.stringify(s.exportState())) as SessionState;
    const bo = batcher(other);
    expectError(await caught(() => bo.session({ state }), 'sync'), [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
    // The same weights in another model object (as after a reload) are the same model.
    const same = make(155);
    same.setWeights(a.getWeights());
    expect(batcher(same).session({ state }).exportState()).toEqual(state);
    a.dispose();
    other.dispose();
    same.dispose();
  });

  it("a state of another model, or a malformed one: TypeError/RangeError RNNKIT_INVALID_ARGUMENT", async () => {
    const lstm6 = rk.sequential([L.lstm({ units: 6, inputShape: [null, D], seed: 61 }), L.dense({ units: 3, seed: 62 })]);
    const lstm5 = rk.sequential([L.lstm({ units: 5, inputShape: [null, D], seed: 63 }), L.dense({ units: 3, seed: 64 })]);
    const gru6 = rk.sequential([L.gru({ units: 6, inputShape: [null, D], seed: 65 }), L.dense({ units: 3, seed: 66 })]);
    const b6 = batcher(lstm6);
    const s = b6.session();
    await s.step(features(new Rng(67), 1, D));
    const good = JSON.parse(JSON.stringify(s.exportState())) as SessionState;
    // The good one is taken.
    expect(b6.session({ state: good }).exportState()).toEqual(good);
    for (const [label, other] of [
      ['LSTM with 5 units', lstm5],
      ['GRU with 6 units', gru6],
    ] as [string, Model][]) {
      const e = await caught(() => batcher(other).session({ state: good }), 'sync');
      try {
        expectError(e, [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
      } catch (err) {
        throw new Error(`${label}: ${(err as Error).message}`);
      }
    }
    const bad: [string, unknown][] = [
      ['a string', 'state'],
      ['a number', 5],
      ['an empty object', {}],
      ['an array', [good]],
      ['another format', { ...good, format: 'other' }],
      ['version 2', { ...good, version: 2 }],
      ['another model id', { ...good, model: `${good.model}-other` }],
      ['model not a string', { ...good, model: 5 }],
      ['states missing', { ...good, states: undefined }],
      ['states a string', { ...good, states: 'x' }],
      ['one state vector too few', { ...good, states: good.states.slice(1) }],
      ['one state vector too many', { ...good, states: [...good.states, good.states[0]] }],
      ['a state vector one value short', { ...good, states: good.states.map((v, i) => (i === 0 ? v.slice(1) : v)) }],
      ['a state vector with a string', { ...good, states: good.states.map((v, i) => (i === 0 ? ['a', ...v.slice(1)] : v)) }],
      ['a state vector with null (NaN through JSON)', { ...good, states: good.states.map((v, i) => (i === 0 ? [null, ...v.slice(1)] : v)) }],
      ['negative steps', { ...good, steps: -1 }],
      ['fractional steps', { ...good, steps: 1.5 }],
    ];
    for (const [label, state] of bad) {
      const e = await caught(() => b6.session({ state } as never), 'sync');
      try {
        expectError(e, [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
      } catch (err) {
        throw new Error(`${label}: ${(err as Error).message}`);
      }
    }
    expectError(await caught(() => b6.session({ stat: good } as never), 'sync'), [TypeError], 'RNNKIT_INVALID_ARGUMENT', /stat/);
    // The refused states opened no session.
    expect(b6.stats().sessions).toBe(2);
    for (const m of [lstm6, lstm5, gru6]) m.dispose();
  });
});

describe('session.reset, session.close, batcher.close, sessionTtlMs, maxSessions, bad steps', () => {
  const c = CASES['per-step: GRU(resetAfter true, returnSequences) -> Dense']!;

  it('reset(): later steps give fresh-session outputs; steps already requested finish first', async () => {
    const rng = new Rng(seedOf('reset'));
    const model = c.build();
    const x = sample(c, rng);
    const y = sample(c, rng);
    const wantX = await expectedSteps(c, model, x);
    const wantY = await expectedSteps(c, model, y);
    const b = batcher(model, { maxDelayMs: 2 });
    const s = b.session();
    for (let t = 0; t < 5; t++) await s.step(stepInput(c, x, t) as never);
    await s.reset();
    expect(s.exportState().states.every((v) => v.every((n) => n === 0))).toBe(true);
    const got: Output[] = [];
    for (let t = 0; t < T; t++) got.push(await s.step(stepInput(c, y, t) as never));
    expectSteps(got, wantY, 'after reset');

    // Requested, not awaited, then reset: the requested ones see the old states.
    const s2 = b.session();
    const before = Array.from({ length: 4 }, (_, t) => s2.step(stepInput(c, x, t) as never));
    s2.reset();
    const after = Array.from({ length: 3 }, (_, t) => s2.step(stepInput(c, y, t) as never));
    expectSteps(await Promise.all(before), wantX.slice(0, 4), 'steps requested before reset');
    expectSteps(await Promise.all(after), wantY.slice(0, 3), 'steps requested after reset');
    model.dispose();
  });

  it('close(): closed, later step/feed reject RNNKIT_CLOSED, steps not yet started too; sessions count drops', async () => {
    const rng = new Rng(seedOf('close session'));
    const model = c.build();
    const b = batcher(model, { maxDelayMs: 150 });
    const s = b.session();
    const keep = b.session();
    expect(b.stats().sessions).toBe(2);
    const waiting = s.step(features(rng, 1, D));
    s.close();
    expect(s.closed).toBe(true);
    expectError(await rejectsWithin(waiting, 100), [Error], 'RNNKIT_CLOSED');
    expectError(await caught(() => s.step(features(rng, 1, D)), 'async'), [Error], 'RNNKIT_CLOSED');
    expectError(await caught(() => s.feed(features(rng, 3, D)), 'async'), [Error], 'RNNKIT_CLOSED');
    s.close(); // idempotent
    expect(b.stats().sessions).toBe(1);
    expect(keep.closed).toBe(false);
    // The other session is unaffected.
    const x = features(rng, 3, D);
    const out = await keep.feed(x);
    expectOutput(out, await predictOne(model, x, 3, D), 'the other session');
    await sleep(200);
    expect(b.stats().batches).toBe(1);
    model.dispose();
  });

  it('batcher.close(): accepted steps finish, then open sessions are closed', async () => {
    const rng = new Rng(seedOf('close batcher'));
    const model = c.build();
    const b = rk.serving.batcher(model, { maxDelayMs: 20 });
    const s = b.session();
    const x = features(rng, 3, D);
    const p = s.feed(x);
    const closing = b.close();
    expectError(await caught(() => b.session(), 'sync'), [Error], 'RNNKIT_CLOSED');
    expectOutput(await p, await predictOne(model, x, 3, D), 'the accepted feed');
    await closing;
    expect(s.closed).toBe(true);
    expectError(await caught(() => s.step(features(rng, 1, D)), 'async'), [Error], 'RNNKIT_CLOSED');
    expect(b.stats().sessions).toBe(0);
    model.dispose();
  });

  it('sessionTtlMs: an idle session is evicted (closed); an active one stays open', async () => {
    const rng = new Rng(seedOf('ttl'));
    const model = c.build();
    const ttl = 250;
    const b = batcher(model, { sessionTtlMs: ttl, maxDelayMs: 0 });
    const idle = b.session();
    const busy = b.session();
    await idle.step(features(rng, 1, D));
    const n = 16;
    const x = features(rng, n, D);
    const got: Output[] = [];
    const t0 = Date.now();
    for (let t = 0; t < n; t++) {
      got.push(await busy.step(x.slice(t * D, (t + 1) * D)));
      await sleep(40);
    }
    // ≥ 640 ms later: the idle one is gone, the busy one (used every ~40 ms) is not.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * ttl);
    expect(idle.closed).toBe(true);
    expect(busy.closed).toBe(false);
    expect(b.stats().sessions).toBe(1);
    expectError(await caught(() => idle.step(features(rng, 1, D)), 'async'), [Error], 'RNNKIT_CLOSED');
    expectSteps(got, await expectedSteps(c, model, x), 'the busy session');
    await sleep(3 * ttl);
    expect(busy.closed).toBe(true);
    expect(b.stats().sessions).toBe(0);
    expectError(await caught(() => busy.feed(features(rng, 2, D)), 'async'), [Error], 'RNNKIT_CLOSED');
    model.dispose();
  });

  it('sessionTtlMs shorter than maxDelayMs: a session whose step waits is not idle', async () => {
    const rng = new Rng(seedOf('ttl waiting'));
    const model = c.build();
    const b = batcher(model, { sessionTtlMs: 30, maxDelayMs: 200 });
    const s = b.session();
    const x = features(rng, 1, D);
    expectOutput(await s.step(x), (await expectedSteps(c, model, x))[0]!, 'the waiting step');
    expect(s.closed).toBe(false);
    model.dispose();
  });

  it('maxSessions: past it b.session() throws RNNKIT_QUEUE_FULL; closing one makes room', async () => {
    const model = c.build();
    const b = batcher(model, { maxSessions: 2 });
    const s1 = b.session();
    b.session();
    expectError(await caught(() => b.session(), 'sync'), [Error], 'RNNKIT_QUEUE_FULL');
    s1.close();
    const s3 = b.session();
    expect(s3.closed).toBe(false);
    expect(b.stats().sessions).toBe(2);
    model.dispose();
  });

  it('bad steps reject RNNKIT_INVALID_ARGUMENT and leave the session as it was', async () => {
    const rng = new Rng(seedOf('bad steps'));
    const model = c.build();
    const x = sample(c, rng);
    const want = await expectedSteps(c, model, x);
    const b = batcher(model, { maxDelayMs: 0 });
    const s = b.session();
    const got: Output[] = [await s.step(stepInput(c, x, 0) as never)];
    for (const [label, bad] of [
      ['D + 1 values', features(rng, 1, D + 1)],
      ['D − 1 values', Array.from(features(rng, 1, D - 1))],
      ['an empty row', []],
      ['two rows', features(rng, 2, D)],
      ['a string', 'abc'],
      ['an id for a feature model', 3],
      ['null', null],
    ] as [string, unknown][]) {
      const e = await caught(() => s.step(bad as never), 'async');
      try {
        expectError(e, [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
      } catch (err) {
        throw new Error(`${label}: ${(err as Error).message}`);
      }
    }
    expectError(await caught(() => s.feed(features(rng, 2, D + 1) as never), 'async'), [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
    expectError(await caught(() => s.feed([] as never), 'async'), [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
    for (let t = 1; t < T; t++) got.push(await s.step(stepInput(c, x, t) as never));
    expectSteps(got, want, 'after the bad steps');
    expect(s.exportState().steps).toBe(T);

    const ce = CASES['Embedding -> LSTM -> Dense (ids)']!;
    const idModel = ce.build();
    const si = batcher(idModel).session();
    for (const [label, bad] of [
      ['id = inputDim', V],
      ['negative id', -1],
      ['fractional id', 1.5],
      ['NaN', NaN],
      ['a row of features', [1, 2]],
      ['a string', '3'],
    ] as [string, unknown][]) {
      const e = await caught(() => si.step(bad as never), 'async');
      try {
        expectError(e, [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
      } catch (err) {
        throw new Error(`ids, ${label}: ${(err as Error).message}`);
      }
    }
    expectError(await caught(() => si.feed([1, V] as never), 'async'), [TypeError, RangeError], 'RNNKIT_INVALID_ARGUMENT');
    expect(si.exportState().steps).toBe(0);
    model.dispose();
    idModel.dispose();
  });
});

describe('batcher.session refuses models that cannot step', () => {
  const refused: [string, () => Model, RegExp][] = [
    [
      'Bidirectional',
      () => rk.sequential([L.bidirectional({ layer: L.lstm({ units: 4, inputShape: [null, D], seed: 70 }), name: 'refused_bidi' }), L.dense({ units: 2, seed: 71 })]),
      /refused_bidi|Bidirectional/,
    ],
    [
      'goBackwards',
      () => rk.sequential([L.gru({ units: 4, goBackwards: true, inputShape: [null, D], seed: 72, name: 'refused_back' }), L.dense({ units: 2, seed: 73 })]),
      /refused_back|GRU/,
    ],
    [
      'Conv1D',
      () =>
        rk.sequential([
          L.conv1d({ filters: 3, kernelSize: 2, padding: 'causal', inputShape: [null, D], seed: 74, name: 'refused_conv' }),
          L.lstm({ units: 4, seed: 75 }),
        ]),
      /refused_conv|Conv1D/,
    ],
    [
      'GlobalAveragePooling1D',
      () =>
        rk.sequential([
          L.lstm({ units: 4, returnSequences: true, inputShape: [null, D], seed: 76 }),
          L.globalAveragePooling1D({ name: 'refused_pool' }),
          L.dense({ units: 2, seed: 77 }),
        ]),
      /refused_pool|GlobalAveragePooling1D/,
    ],
    [
      'RepeatVector after a recurrent layer without returnSequences',
      () =>
        rk.sequential([
          L.lstm({ units: 4, inputShape: [null, D], seed: 78 }),
          L.repeatVector({ n: 3, name: 'refused_repeat' }),
          L.gru({ units: 3, seed: 79 }),
        ]),
      /refused_repeat|RepeatVector/,
    ],
    [
      'a non-chain graph (two branches added)',
      () => {
        const inp = rk.input({ shape: [null, D] });
        const a = symbolic(L.lstm({ units: 4, seed: 80 }).apply(inp));
        const g = symbolic(L.gru({ units: 4, seed: 81 }).apply(inp));
        return rk.model({ inputs: inp, outputs: symbolic(L.add({ name: 'refused_add' }).apply([a, g])) });
      },
      /./,
    ],
  ];
  for (const [label, make, names] of refused) {
    it(`${label}: b.session() throws Error RNNKIT_UNSUPPORTED naming the layer; predict still works`, async () => {
      const model = make();
      const b = batcher(model);
      const e = await caught(() => b.session(), 'sync');
      expectError(e, [Error], 'RNNKIT_UNSUPPORTED', names);
      expect(e).not.toBeInstanceOf(TypeError);
      expect(b.stats().sessions).toBe(0);
      const x = features(new Rng(seedOf(label)), 5, D);
      expectOutput(await b.predict(x), await predictOne(model, x, 5, D), 'predict');
      model.dispose();
    });
  }
});
