/**
 * Keras mask semantics (a masked step leaves the recurrent state unchanged) against
 * TensorFlow.js, which applies masks in its RNN layers and repeats the previous output at a
 * masked step (rnnkit's `maskedOutput: 'carry'`), and against the float64 reference
 * (test/reference/rnn64.ts, which takes a Keras mask) where tfjs cannot express the case:
 * - Embedding(maskZero) -> LSTM/GRU/SimpleRNN -> Dense on front-padded ids (pad_sequences),
 *   ids with holes and right-padded ids: predictions and one SGD step;
 * - Bidirectional over a masked embedding; goBackwards;
 * - predict/fit with an explicit [N,T] mask on float inputs (tfjs: a Masking layer);
 * - a right-padded mask equals `lengths`; a fully masked sequence; stacked models.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as rk from '../lib';
import * as ref from './reference/rnn64';
import { Rng } from './helpers/random';
import { expectClose } from './helpers/compare';
import { seedOf } from './helpers/rnn-cases';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cell, copySeededWeights, expectSameOutputs, expectSameSgdStep, L, LayerPair, saveTfjsModel, Twin } from './helpers/tfjs-parity';

const FWD_TOL = 1e-5;
const GRAD_TOL = 1e-4;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const T = 7;
const V = 9;

/** Masks as rows of 0/1 characters, N = 6 sequences of T = 7 steps. */
const PATTERNS = {
  // Keras pad_sequences (padding='pre'): zeros first; one full row, one empty row
  front: ['1111111', '0001111', '0000001', '0000000', '0011111', '0000011'],
  // zeros in the middle
  holes: ['1101011', '1011101', '0110110', '1000001', '1111101', '0100100'],
  // padding='post'
  right: ['1111111', '1111000', '1000000', '0000000', '1111100', '1100000'],
} as const;
type Pattern = keyof typeof PATTERNS;

function maskOf(p: Pattern): Uint8Array {
  return Uint8Array.from(PATTERNS[p].join(''), (c) => (c === '1' ? 1 : 0));
}

/** Ids in [1, V) where the mask is 1 and 0 where it is 0. */
function idsOf(mask: Uint8Array, rng: Rng): Float32Array {
  return Float32Array.from(mask, (m) => (m ? rng.int(1, V - 1) : 0));
}

const N = PATTERNS.front.length;

// ------------------------------------------------------------------ Embedding(maskZero) -> RNN -> Dense

/** Embedding(maskZero) -> recurrent pair -> Dense, in both libraries. */
function embeddingModel(rnn: LayerPair) {
  const w = new Twin();
  const x = w.input([T], 'ids', 'int32');
  const e = w.apply(L.embedding({ inputDim: V, outputDim: 4, maskZero: true }), x);
  const y = w.apply(L.dense({ units: 3 }), w.apply(rnn, e));
  return { twin: w, ...w.models([y]) };
}

async function checkIds(name: string, pattern: Pattern, build: () => ReturnType<typeof embeddingModel>, step = true) {
  const rng = new Rng(seedOf(name));
  const { twin, m, t } = build();
  copySeededWeights(twin.pairs, rng);
  const ids = idsOf(maskOf(pattern), rng);
  const x = rk.tensor(ids, [N, T]);
  const tx = tf.tensor(Int32Array.from(ids), [N, T], 'int32');
  const want = t.predict(tx) as tf.Tensor;
  expectSameOutputs(await m.predict(x), want, FWD_TOL, `${name}: predict`);
  // the mask changes the result: tfjs without it differs (the test is not vacuous)
  if (step) {
    const outShape = want.shape;
    const yv = rng.normal(outShape.reduce((a, b) => a * b, 1), 0, 0.7);
    // A sequence output carries the embedding's mask: the loss counts its valid steps only.
    const outputMasks = [outShape.length === 3 ? Uint8Array.from(ids, (v) => (v !== 0 ? 1 : 0)) : null];
    await expectSameSgdStep(m, t, twin.pairs, { xs: [x], ys: [rk.tensor(yv, outShape)], txs: [tx], tys: [tf.tensor(yv, outShape)], outputMasks }, GRAD_TOL);
    expectSameOutputs(await m.predict(x), t.predict(tx) as tf.Tensor, FWD_TOL, `${name}: predict after the step`);
  }
  m.dispose();
  t.dispose();
}

describe('Embedding(maskZero) -> RNN -> Dense: predictions and one SGD step equal tfjs', () => {
  for (const pattern of ['front', 'holes', 'right'] as Pattern[]) {
    for (const cell of ['lstm', 'gru', 'simpleRNN'] as Cell[]) {
      for (const returnSequences of [false, true]) {
        const name = `${pattern}-padded ids, ${cell}, returnSequences ${returnSequences}`;
        it(name, async () => {
          // tfjs repeats the previous output at a masked step: rnnkit's 'carry'
          await checkIds(name, pattern, () => embeddingModel(L.rnn(cell, { units: 5, returnSequences }, { maskedOutput: 'carry' })));
        });
      }
    }
  }

  it('the mask matters: the same ids without maskZero give other predictions', async () => {
    const rng = new Rng(seedOf('mask matters'));
    const a = embeddingModel(L.lstm({ units: 5 }));
    copySeededWeights(a.twin.pairs, rng);
    const ids = idsOf(maskOf('front'), rng);
    const x = rk.tensor(ids, [N, T]);
    const masked = (await a.m.predict(x)) as rk.Tensor;
    const plain = rk.sequential([rk.layers.embedding({ inputDim: V, outputDim: 4, inputLength: T }), rk.layers.lstm({ units: 5 }), rk.layers.dense({ units: 3 })]);
    plain.setWeights(a.m.getWeights());
    const unmasked = (await plain.predict(x)) as rk.Tensor;
    // row 0 has no padding: equal; the padded rows differ
    expect(Array.from(unmasked.dataSync().subarray(0, 3))).toEqual(Array.from(masked.dataSync().subarray(0, 3)));
    expect(Array.from(unmasked.dataSync().subarray(3))).not.toEqual(Array.from(masked.dataSync().subarray(3)));
    a.m.dispose();
    a.t.dispose();
    plain.dispose();
  });
});

describe('goBackwards and Bidirectional over a masked embedding', () => {
  for (const pattern of ['front', 'holes', 'right'] as Pattern[]) {
    for (const returnSequences of [false, true]) {
      it(`goBackwards GRU, ${pattern}-padded ids, returnSequences ${returnSequences}`, async () => {
        const name = `goBackwards gru ${pattern} ${returnSequences}`;
        await checkIds(name, pattern, () => embeddingModel(L.gru({ units: 5, returnSequences, goBackwards: true }, { maskedOutput: 'carry' })));
      });
    }
  }
  for (const pattern of ['front', 'holes', 'right'] as Pattern[]) {
    for (const [cell, returnSequences, mergeMode] of [
      ['lstm', false, 'concat'],
      ['gru', true, 'sum'],
      ['simpleRNN', true, 'concat'],
    ] as [Cell, boolean, 'concat' | 'sum'][]) {
      it(`Bidirectional ${cell} ${mergeMode}, ${pattern}-padded ids, returnSequences ${returnSequences}`, async () => {
        const name = `bidi ${cell} ${pattern} ${returnSequences}`;
        await checkIds(name, pattern, () => embeddingModel(L.bidirectional(cell, { units: 4, returnSequences }, mergeMode, { maskedOutput: 'carry' })));
      });
    }
  }
});

// ------------------------------------------------------------------ explicit masks on float inputs

/**
 * rnnkit: input -> rnn -> Dense run with { mask }; tfjs: input -> Masking(0) -> rnn -> Dense on
 * the same x with every masked step set to zeros. rnnkit's x keeps random values (NaN in one
 * place) at masked steps: they must never be read.
 */
function maskedFloatModels(rnn: LayerPair, D: number) {
  const inp = { rk: rk.input({ shape: [T, D], name: 'floats' }), tf: tf.input({ shape: [T, D], name: 'floats' }) };
  const pairs: LayerPair[] = [];
  const masked = tf.layers.masking({ maskValue: 0 }).apply(inp.tf) as tf.SymbolicTensor;
  const h = { rk: (rnn[0] as rk.LayerBase).apply(inp.rk) as rk.SymbolicTensor, tf: rnn[1].apply(masked) as tf.SymbolicTensor };
  pairs.push(rnn);
  const head = L.dense({ units: 2, activation: 'tanh' });
  pairs.push(head);
  const y = { rk: (head[0] as rk.LayerBase).apply(h.rk) as rk.SymbolicTensor, tf: head[1].apply(h.tf) as tf.SymbolicTensor };
  return { pairs, m: rk.model({ inputs: inp.rk, outputs: y.rk }), t: tf.model({ inputs: inp.tf, outputs: y.tf }) };
}

function floatData(mask: Uint8Array, D: number, rng: Rng, nanAtMasked = true) {
  const xv = rng.normal(N * T * D);
  const tv = Float32Array.from(xv, (v, i) => (mask[Math.floor(i / D)] ? v : 0));
  if (nanAtMasked) {
    const k = mask.findIndex((m) => m === 0);
    xv[k * D] = NaN;
  }
  return { x: rk.tensor(xv, [N, T, D]), tx: tf.tensor(tv, [N, T, D]) };
}

describe('predict and fit with an explicit [N,T] mask on float inputs equal tfjs with a Masking layer', () => {
  const D = 3;
  for (const pattern of ['front', 'holes', 'right'] as Pattern[]) {
    for (const [cell, returnSequences, goBackwards] of [
      ['lstm', true, false],
      ['gru', false, true],
      ['simpleRNN', true, true],
      ['lstm', false, false],
    ] as [Cell, boolean, boolean][]) {
      const name = `${pattern} mask, ${cell}, returnSequences ${returnSequences}, goBackwards ${goBackwards}`;
      it(name, async () => {
        const rng = new Rng(seedOf(name));
        const { pairs, m, t } = maskedFloatModels(L.rnn(cell, { units: 4, returnSequences, goBackwards }, { maskedOutput: 'carry' }), D);
        copySeededWeights(pairs, rng);
        const mask = maskOf(pattern);
        const { x, tx } = floatData(mask, D, rng);
        const want = t.predict(tx) as tf.Tensor;
        expectSameOutputs(await m.predict(x, { mask }), want, FWD_TOL, 'predict with a Uint8Array mask');
        const maskTensor = rk.tensor(Float32Array.from(mask), [N, T]);
        expectSameOutputs(await m.predict(x, { mask: maskTensor, batchSize: 4 }), want, FWD_TOL, 'predict with a Tensor mask, in batches');
        const yv = rng.normal(want.size, 0, 0.7);
        m.compile({ loss: 'mse', optimizer: rk.optimizers.sgd({ learningRate: 0.1 }) });
        t.compile({ loss: 'meanSquaredError', optimizer: tf.train.sgd(0.1) });
        // A sequence output carries the mask: its mse is the mean over the valid steps (Keras);
        // tfjs ignores the mask, so that mean is taken here from tfjs's predictions.
        // evaluate averages the batches' losses weighted by their samples, as Keras's loss tracker.
        const p = want.dataSync();
        const perSample = p.length / N;
        const width = p.length / mask.length;
        let expected = 0;
        for (let b = 0; b < N; b += 4) {
          let sq = 0;
          let count = 0;
          for (let j = b * perSample; j < Math.min(N, b + 4) * perSample; j++) {
            if (!returnSequences || mask[Math.floor(j / width)]) {
              sq += (p[j]! - yv[j]!) ** 2;
              count++;
            }
          }
          expected += (count ? sq / count : 0) * (Math.min(N, b + 4) - b);
        }
        expectClose([await m.evaluate(x, rk.tensor(yv, want.shape), { mask, batchSize: 4 })], [expected / N], FWD_TOL, 'evaluate with a mask');
        const { x: x2, tx: tx2 } = floatData(mask, D, rng, false);
        const outputMasks = [returnSequences ? mask : null];
        await expectSameSgdStep(m, t, pairs, { xs: [x2], ys: [rk.tensor(yv, want.shape)], txs: [tx2], tys: [tf.tensor(yv, want.shape)], fitOptions: { mask }, outputMasks }, GRAD_TOL);
        m.dispose();
        t.dispose();
      });
    }
  }

  it('a masked step leaves the state unchanged: the float64 reference (GRU resetAfter, zeros, which tfjs lacks)', async () => {
    const D = 3;
    for (const pattern of ['front', 'holes', 'right'] as Pattern[]) {
      for (const goBackwards of [false, true]) {
        const rng = new Rng(seedOf(`ref ${pattern} ${goBackwards}`));
        const cfg: ref.RnnConfig = { cell: 'gru', units: 4, inputDim: D, resetAfter: true, returnSequences: true, goBackwards, maskedOutput: 'zeros' };
        const weights = ref.weightShapes(cfg).map((s) => rng.uniform(ref.sizeOf(s), -0.6, 0.6));
        const layer = rk.layers.gru({ units: 4, resetAfter: true, returnSequences: true, goBackwards, inputShape: [T, D] });
        layer.setWeights(weights);
        const model = rk.sequential([layer]);
        const mask = maskOf(pattern);
        const xv = rng.normal(N * T * D);
        const want = ref.forward(cfg, weights, { x: xv, N, T, mask });
        const got = (await model.predict(rk.tensor(xv, [N, T, D]), { mask })) as rk.Tensor;
        expect(got.shape).toEqual(want.outputShape);
        expectClose(got.dataSync(), want.output, FWD_TOL, `${pattern} goBackwards ${goBackwards}: sequence output`);
        const fwd = await layer.forward(rk.tensor(xv, [N, T, D]), { mask });
        expectClose(fwd.states[0]!.dataSync(), want.states[0]!, FWD_TOL, `${pattern} goBackwards ${goBackwards}: final state`);
        model.dispose();
      }
    }
  });

  it('Bidirectional LSTM with zeros at masked steps (Keras: zero_output_for_mask = return_sequences) equals the float64 reference', async () => {
    const D = 3;
    for (const pattern of ['front', 'holes', 'right'] as Pattern[]) {
      const rng = new Rng(seedOf(`bidi ref ${pattern}`));
      const cfg: ref.BidirectionalConfig = { layer: { cell: 'lstm', units: 3, inputDim: D, returnSequences: true, maskedOutput: 'zeros' }, mergeMode: 'concat' };
      const weights = ref.weightShapes(cfg).map((s) => rng.uniform(ref.sizeOf(s), -0.6, 0.6));
      const model = rk.sequential([rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 3, returnSequences: true, inputShape: [T, D] }) })]);
      model.setWeights(weights);
      const mask = maskOf(pattern);
      const xv = rng.normal(N * T * D);
      const want = ref.forward(cfg, weights, { x: xv, N, T, mask });
      const got = (await model.predict(rk.tensor(xv, [N, T, D]), { mask })) as rk.Tensor;
      expectClose(got.dataSync(), want.output, FWD_TOL, `${pattern}: Bidirectional sequence output`);
      model.dispose();
    }
  });
});

// ------------------------------------------------------------------ right-padded mask = lengths

describe('a right-padded mask gives exactly the same outputs as lengths', () => {
  const mask = maskOf('right');
  const lengths = PATTERNS.right.map((r) => r.indexOf('0') < 0 ? T : r.indexOf('0'));
  const D = 3;

  it('goBackwards with a sequence output: a right-padded mask is a Keras mask (padding processed first), lengths keep their own meaning (valid steps reversed)', async () => {
    const rng = new Rng(seedOf('goBackwards lengths vs mask'));
    for (const maskedOutput of ['zeros', 'carry'] as const) {
      const cfg: ref.RnnConfig = { cell: 'lstm', units: 4, inputDim: D, returnSequences: true, goBackwards: true, maskedOutput };
      const weights = ref.weightShapes(cfg).map((s) => rng.uniform(ref.sizeOf(s), -0.6, 0.6));
      const model = rk.sequential([rk.layers.lstm({ units: 4, returnSequences: true, goBackwards: true, maskedOutput, inputShape: [T, D] })]);
      model.setWeights(weights);
      const xv = rng.normal(N * T * D);
      const x = rk.tensor(xv, [N, T, D]);
      const byMask = ((await model.predict(x, { mask })) as rk.Tensor).dataSync();
      const byLengths = ((await model.predict(x, { lengths })) as rk.Tensor).dataSync();
      expectClose(byMask, ref.forward(cfg, weights, { x: xv, N, T, mask }).output, FWD_TOL, `${maskedOutput}: mask vs the float64 Keras-mask reference`);
      expectClose(byLengths, ref.forward(cfg, weights, { x: xv, N, T, lengths }).output, FWD_TOL, `${maskedOutput}: lengths vs the float64 lengths reference`);
      expect(Array.from(byMask)).not.toEqual(Array.from(byLengths));
      model.dispose();
    }
  });

  for (const cell of ['lstm', 'gru', 'simpleRNN'] as Cell[]) {
    for (const maskedOutput of ['zeros', 'carry'] as const) {
      it(`${cell}, maskedOutput ${maskedOutput}: model predict, layer forward, fit`, async () => {
        const rng = new Rng(seedOf(`lengths ${cell} ${maskedOutput}`));
        const mk = () => {
          const inp = rk.input({ shape: [T, D] });
          const h = (cell === 'lstm' ? rk.layers.lstm : cell === 'gru' ? rk.layers.gru : rk.layers.simpleRNN)({ units: 4, returnSequences: true, maskedOutput, seed: 3 }).apply(inp) as rk.SymbolicTensor;
          const y = rk.layers.dense({ units: 2, seed: 4 }).apply(h) as rk.SymbolicTensor;
          return rk.model({ inputs: inp, outputs: y });
        };
        const m = mk();
        const x = rk.tensor(rng.normal(N * T * D), [N, T, D]);
        const a = (await m.predict(x, { mask })) as rk.Tensor;
        const b = (await m.predict(x, { lengths })) as rk.Tensor;
        expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
        const layer = m.getLayer(1) as rk.RecurrentLayer;
        const fa = await layer.forward(x, { mask });
        const fb = await layer.forward(x, { lengths });
        expect(Array.from(fa.output.dataSync())).toEqual(Array.from(fb.output.dataSync()));
        fa.states.forEach((s, i) => expect(Array.from(s.dataSync())).toEqual(Array.from(fb.states[i]!.dataSync())));
        // one training step each way gives the same weights
        const m2 = mk();
        m2.setWeights(m.getWeights());
        const y = rk.tensor(rng.normal(N * T * 2), [N, T, 2]);
        for (const [model, opts] of [[m, { mask }], [m2, { lengths }]] as const) {
          model.compile({ loss: 'mse', optimizer: rk.optimizers.sgd({ learningRate: 0.1 }) });
          await model.fit(x, y, { epochs: 1, batchSize: N, shuffle: false, verbose: 0, ...opts });
        }
        const w1 = m.getWeights();
        const w2 = m2.getWeights();
        w1.forEach((w, i) => expect(Array.from(w.dataSync()), `weight ${i}`).toEqual(Array.from(w2[i]!.dataSync())));
        m.dispose();
        m2.dispose();
      });
    }
  }
});

// ------------------------------------------------------------------ fully masked sequences

describe('a fully masked sequence gives the initial state and zero outputs', () => {
  for (const cell of ['lstm', 'gru', 'simpleRNN'] as Cell[]) {
    for (const maskedOutput of ['zeros', 'carry'] as const) {
      it(`${cell}, maskedOutput ${maskedOutput}`, async () => {
        const rng = new Rng(seedOf(`fully masked ${cell} ${maskedOutput}`));
        const D = 3;
        const H = 4;
        const make = (returnSequences: boolean) =>
          (cell === 'lstm' ? rk.layers.lstm : cell === 'gru' ? rk.layers.gru : rk.layers.simpleRNN)({ units: H, returnSequences, maskedOutput, seed: 7 });
        const mask = maskOf('holes');
        mask.fill(0, 3 * T, 4 * T); // row 3: every step masked (it already is in 'front' and 'right')
        const x = rk.tensor(rng.normal(N * T * D), [N, T, D]);
        const states = cell === 'lstm' ? 2 : 1;
        const init = Array.from({ length: states }, () => rng.normal(N * H, 0, 0.5));
        for (const returnSequences of [true, false]) {
          const layer = make(returnSequences);
          const fwd = await layer.forward(x, { mask, initialState: init.map((v) => rk.tensor(v, [N, H])) });
          for (let s = 0; s < states; s++) {
            expect(Array.from(fwd.states[s]!.dataSync().subarray(3 * H, 4 * H)), `state ${s}`).toEqual(Array.from(init[s]!.subarray(3 * H, 4 * H)));
          }
          const out = fwd.output.dataSync();
          const per = returnSequences ? T * H : H;
          expect(Array.from(out.subarray(3 * per, 4 * per)).every((v) => v === 0), 'outputs of the masked row').toBe(true);
          expect(Array.from(out.subarray(0, per)).some((v) => v !== 0)).toBe(true);
          layer.dispose();
        }
      });
    }
  }

  it('an all-zero id row through a model: zero recurrent outputs, the Dense bias after them', async () => {
    const rng = new Rng(seedOf('all-zero id row'));
    const m = rk.sequential([rk.layers.embedding({ inputDim: V, outputDim: 3, maskZero: true, inputLength: T }), rk.layers.lstm({ units: 4, returnSequences: true, maskedOutput: 'carry' }), rk.layers.dense({ units: 2 })]);
    m.setWeights(m.getWeights().map((w) => rng.uniform(w.size, -0.5, 0.5)));
    const ids = idsOf(maskOf('front'), rng); // row 3 is all padding
    const y = ((await m.predict(rk.tensor(ids, [N, T]))) as rk.Tensor).dataSync();
    const bias = m.getLayer(2).getWeights()[1]!.dataSync();
    for (let t = 0; t < T; t++) expect(Array.from(y.subarray((3 * T + t) * 2, (3 * T + t + 1) * 2))).toEqual(Array.from(bias));
    m.dispose();
  });
});

// ------------------------------------------------------------------ stacked models

describe('stacked: masks propagate through returnSequences layers, Dense and TimeDistributed', () => {
  for (const pattern of ['front', 'holes', 'right'] as Pattern[]) {
    it(`Embedding(maskZero) -> LSTM seq -> TimeDistributed(Dense) -> Dense -> GRU seq -> Bidirectional SimpleRNN -> Dense, ${pattern}-padded`, async () => {
      const name = `stacked ${pattern}`;
      const rng = new Rng(seedOf(name));
      const w = new Twin();
      const x = w.input([T], 'ids', 'int32');
      let h = w.apply(L.embedding({ inputDim: V, outputDim: 4, maskZero: true }), x);
      h = w.apply(L.lstm({ units: 5, returnSequences: true }, { maskedOutput: 'carry' }), h);
      h = w.apply(L.timeDistributedDense({ units: 4, activation: 'tanh' }), h);
      h = w.apply(L.dense({ units: 3, activation: 'sigmoid' }), h);
      h = w.apply(L.gru({ units: 4, returnSequences: true }, { maskedOutput: 'carry' }), h);
      h = w.apply(L.bidirectional('simpleRNN', { units: 3 }, 'concat'), h);
      const y = w.apply(L.dense({ units: 2 }), h);
      const { m, t } = w.models([y]);
      copySeededWeights(w.pairs, rng);
      const ids = idsOf(maskOf(pattern), rng);
      const rx = rk.tensor(ids, [N, T]);
      const tx = tf.tensor(Int32Array.from(ids), [N, T], 'int32');
      expectSameOutputs(await m.predict(rx), t.predict(tx) as tf.Tensor, FWD_TOL, 'predict');
      const yv = rng.normal(N * 2, 0, 0.7);
      await expectSameSgdStep(m, t, w.pairs, { xs: [rx], ys: [rk.tensor(yv, [N, 2])], txs: [tx], tys: [tf.tensor(yv, [N, 2])] }, GRAD_TOL);
      m.dispose();
      t.dispose();
    });
  }

  for (const pattern of ['front', 'holes'] as Pattern[]) {
    it(`one masked embedding feeding two branches (LSTM with returnState -> Dense on c; goBackwards GRU sequence -> Dense), ${pattern}-padded`, async () => {
      const rng = new Rng(seedOf(`two branches ${pattern}`));
      const w = new Twin();
      const x = w.input([T], 'ids', 'int32');
      const e = w.apply(L.embedding({ inputDim: V, outputDim: 4, maskZero: true }), x);
      const [, , c] = w.apply(L.lstm({ units: 5, returnState: true }), e, true);
      const y1 = w.apply(L.dense({ units: 2 }), c!);
      const y2 = w.apply(L.dense({ units: 2, activation: 'tanh' }), w.apply(L.gru({ units: 3, returnSequences: true, goBackwards: true }, { maskedOutput: 'carry' }), e));
      const { m, t } = w.models([y1, y2]);
      copySeededWeights(w.pairs, rng);
      const ids = idsOf(maskOf(pattern), rng);
      const rx = rk.tensor(ids, [N, T]);
      const tx = tf.tensor(Int32Array.from(ids), [N, T], 'int32');
      expectSameOutputs(await m.predict(rx), t.predict(tx) as tf.Tensor[], FWD_TOL, 'predict');
      // tfjs sums the outputs' unreduced losses before averaging: [N] and [N,T] add up as
      // Keras's sum of means only when N == T, so the step uses N = T rows
      const n = T;
      const rows = Array.from({ length: n }, (_, i) => i % N);
      const ids2 = Float32Array.from(rows.flatMap((r) => Array.from(ids.subarray(r * T, (r + 1) * T))));
      const y1v = rng.normal(n * 2, 0, 0.7);
      const y2v = rng.normal(n * T * 2, 0, 0.7);
      await expectSameSgdStep(
        m,
        t,
        w.pairs,
        {
          xs: [rk.tensor(ids2, [n, T])],
          ys: [rk.tensor(y1v, [n, 2]), rk.tensor(y2v, [n, T, 2])],
          txs: [tf.tensor(Int32Array.from(ids2), [n, T], 'int32')],
          tys: [tf.tensor(y1v, [n, 2]), tf.tensor(y2v, [n, T, 2])],
          outputMasks: [null, Uint8Array.from(ids2, (v) => (v !== 0 ? 1 : 0))],
        },
        GRAD_TOL,
      );
      m.dispose();
      t.dispose();
    });
  }

  it('a sequential model over a mask: the same as the functional one', async () => {
    const rng = new Rng(seedOf('sequential stacked'));
    const layers = () => [
      rk.layers.embedding({ inputDim: V, outputDim: 4, maskZero: true, inputLength: T, seed: 1 }),
      rk.layers.gru({ units: 5, returnSequences: true, seed: 2 }),
      rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 3, seed: 3 }) }),
      rk.layers.lstm({ units: 4, seed: 4 }),
    ];
    const s = rk.sequential(layers());
    const inp = rk.input({ shape: [T], dtype: 'int32' });
    let h: rk.SymbolicTensor = inp;
    for (const l of layers()) h = (l as unknown as rk.LayerBase).apply(h) as rk.SymbolicTensor;
    const f = rk.model({ inputs: inp, outputs: h });
    f.setWeights(s.getWeights());
    const ids = rk.tensor(idsOf(maskOf('holes'), rng), [N, T]);
    const a = ((await s.predict(ids)) as rk.Tensor).dataSync();
    const b = ((await f.predict(ids)) as rk.Tensor).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    s.dispose();
    f.dispose();
  });
});

// ------------------------------------------------------------------ where tfjs and Keras part ways

describe('where tfjs differs from Keras', () => {
  it("carry with an initial state: a front-masked step outputs zeros (Keras's zero prev_output; tfjs repeats h0)", async () => {
    const rng = new Rng(seedOf('carry initial state'));
    const D = 3;
    const H = 4;
    const cfg: ref.RnnConfig = { cell: 'lstm', units: H, inputDim: D, returnSequences: true, maskedOutput: 'carry' };
    const weights = ref.weightShapes(cfg).map((s) => rng.uniform(ref.sizeOf(s), -0.6, 0.6));
    const layer = rk.layers.lstm({ units: H, returnSequences: true, maskedOutput: 'carry' });
    layer.setWeights(weights);
    const mask = maskOf('front');
    const xv = rng.normal(N * T * D);
    const init = [rng.normal(N * H, 0, 0.5), rng.normal(N * H, 0, 0.5)];
    const fwd = await layer.forward(rk.tensor(xv, [N, T, D]), { mask, initialState: init.map((v) => rk.tensor(v, [N, H])) });
    const want = ref.forward(cfg, weights, { x: xv, N, T, mask, initialState: init });
    expectClose(fwd.output.dataSync(), want.output, FWD_TOL, 'sequence output vs the float64 reference');
    // row 1 ('0001111'): its first three steps are masked and output zeros
    expect(Array.from(fwd.output.dataSync().subarray(1 * T * H, 1 * T * H + 3 * H)).every((v) => v === 0)).toBe(true);
    // tfjs instead repeats the initial h there
    const tl = tf.layers.lstm({ units: H, returnSequences: true, recurrentActivation: 'sigmoid' });
    const tx = tf.tensor(xv, [N, T, D]);
    tl.apply(tx);
    tl.setWeights(weights.map((w, k) => tf.tensor(w, ref.weightShapes(cfg)[k]!)));
    const tout = (tl.apply(tx, { initialState: init.map((v) => tf.tensor(v, [N, H])), mask: tf.tensor(Array.from(mask), [N, T], 'bool') } as never) as tf.Tensor).dataSync();
    expect(Array.from(tout.subarray(1 * T * H, 1 * T * H + H))).toEqual(Array.from(Float32Array.from(init[0]!.subarray(1 * H, 2 * H))));
    layer.dispose();
  });

  // Known gap (reported): files from tfjs (and Keras, zero_output_for_mask false) mean the
  // previous output at masked steps, but the reader builds recurrent layers with rnnkit's
  // default maskedOutput 'zeros' unless the file has rnnkit_masked_output. Flip to it() once
  // the reader maps them to 'carry'.
  it("a tfjs-saved Embedding(maskZero) -> LSTM(returnSequences) -> Dense keeps tfjs's outputs at masked steps", async () => {
    const rng = new Rng(seedOf('tfjs saved masked'));
    const { twin, t } = embeddingModel(L.lstm({ units: 5, returnSequences: true }, { maskedOutput: 'carry' }));
    copySeededWeights(twin.pairs, rng);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rnnkit-masks-'));
    try {
      await saveTfjsModel(t, dir);
      const loaded = await rk.loadModel(dir);
      const ids = idsOf(maskOf('holes'), rng);
      expectSameOutputs(await loaded.predict(rk.tensor(ids, [N, T])), t.predict(tf.tensor(Int32Array.from(ids), [N, T], 'int32')) as tf.Tensor, FWD_TOL, 'loaded from tfjs');
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      t.dispose();
    }
  });
});

describe('the loss of a masked sequence output (Keras weights it by the output mask)', () => {
  /** Embedding(maskZero) -> LSTM(returnSequences) -> TimeDistributed(Dense softmax): a tagger. */
  function tagger(seed: number): rk.Sequential {
    const m = rk.sequential([
      rk.layers.embedding({ inputDim: 7, outputDim: 4, maskZero: true, seed }),
      rk.layers.lstm({ units: 5, returnSequences: true, seed: seed + 1 }),
      rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 3, activation: 'softmax', seed: seed + 2 }) }),
    ]);
    m.compile({ loss: 'sparseCategoricalCrossentropy', optimizer: rk.optimizers.sgd({ learningRate: 0.5 }), metrics: ['accuracy'] });
    return m;
  }
  const [N, T] = [4, 6];
  // Front padding, holes and right padding; one sequence without padding.
  const ids = Float32Array.from([0, 0, 3, 1, 2, 5, 4, 0, 6, 0, 1, 2, 1, 2, 3, 4, 5, 6, 3, 5, 1, 0, 0, 0]);
  const labels = (rng: Rng) => Float32Array.from({ length: N * T }, () => Math.floor(rng.uniform(1, 0, 2.999)[0]!));

  it('evaluate is the mean cross-entropy over the unmasked steps, computed here from predict', async () => {
    const m = tagger(11);
    const y = labels(new Rng(5));
    const p = ((await m.predict(rk.tensor(ids, [N, T]))) as rk.Tensor).dataSync();
    let sum = 0;
    let count = 0;
    for (let i = 0; i < N * T; i++) {
      if (ids[i] === 0) continue;
      sum -= Math.log(p[i * 3 + y[i]!]!);
      count++;
    }
    expect(await m.evaluate(rk.tensor(ids, [N, T]), rk.tensor(y, [N, T]))).toBeCloseTo(sum / count, 5);
    m.dispose();
  });

  it('targets at masked steps change neither the loss nor a training step', async () => {
    const rng = new Rng(9);
    const y1 = labels(rng);
    const y2 = Float32Array.from(y1, (v, i) => (ids[i] === 0 ? (v + 1) % 3 : v));
    const steps: Float32Array[][] = [];
    const losses: number[] = [];
    for (const y of [y1, y2]) {
      const m = tagger(21);
      const h = await m.fit(rk.tensor(ids, [N, T]), rk.tensor(y, [N, T]), { epochs: 1, batchSize: N, shuffle: false, verbose: 0 });
      losses.push(h.history.loss[0]!);
      steps.push(m.getWeights().map((w) => w.dataSync().slice()));
      m.dispose();
    }
    expect(losses[1]).toBe(losses[0]);
    steps[1]!.forEach((w, k) => expect(Array.from(w), `weight ${k}`).toEqual(Array.from(steps[0]![k]!)));
    // ...while a target at a valid step does change the step.
    const y3 = Float32Array.from(y1, (v, i) => (i === 2 ? (v + 1) % 3 : v));
    const m = tagger(21);
    await m.fit(rk.tensor(ids, [N, T]), rk.tensor(y3, [N, T]), { epochs: 1, batchSize: N, shuffle: false, verbose: 0 });
    expect(Array.from(m.getWeights()[0]!.dataSync())).not.toEqual(Array.from(steps[0]![0]!));
    m.dispose();
  });
});
