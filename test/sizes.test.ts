/**
 * Zero-element and absurd shapes: sizes are computed with overflow checks, a shape whose
 * element count cannot be represented is a coded RangeError, an empty batch gives an empty
 * result at once, and zero timesteps are a clear RangeError (Keras rejects them too). Each
 * case must finish quickly: none may loop over billions of empty batches or allocate first.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

const BIG = 2 ** 31 - 1;
const FAST_MS = 2000;

async function rangeErrorOf(call: () => unknown): Promise<RangeError & { code?: string }> {
  const start = Date.now();
  try {
    await call();
  } catch (e) {
    expect(Date.now() - start, 'time to fail').toBeLessThan(FAST_MS);
    expect(e).toBeInstanceOf(RangeError);
    return e as RangeError & { code?: string };
  }
  throw new Error('expected a RangeError, but the call succeeded');
}

describe('shapes whose element count cannot be represented', () => {
  for (const shape of [
    [BIG, BIG, BIG, 0],
    [0, BIG, BIG, BIG],
    [BIG, BIG, 0],
    [BIG, 2, BIG, 0, BIG],
  ]) {
    it(`rk.tensor(new Float32Array(0), [${shape.join(', ')}]) is a RangeError with a code naming the shape`, async () => {
      const e = await rangeErrorOf(() => rk.tensor(new Float32Array(0), shape));
      expect(e.code).toBe('RNNKIT_INVALID_ARGUMENT');
      expect(e.message).toContain(`[${shape.join(',')}]`);
      expect(e.message).toMatch(/too many elements/);
    });
  }

  it('zero-element shapes whose other dimensions multiply to a representable count are tensors', () => {
    for (const shape of [[0], [BIG, 0], [0, BIG, 4], [BIG, 0, 4], [3, 0, 2 ** 20, 2 ** 20]]) {
      const t = rk.tensor(new Float32Array(0), shape);
      expect(t.shape).toEqual(shape);
      expect(t.size).toBe(0);
      expect(t.dataSync().length).toBe(0);
      t.dispose();
    }
  });

  it('a shape that needs more values than given is a RangeError naming both counts', async () => {
    const e = await rangeErrorOf(() => rk.tensor(new Float32Array(0), [BIG, BIG, BIG]));
    expect(e.code).toBe('RNNKIT_INVALID_ARGUMENT');
    expect(e.message).toMatch(/needs .* values, got 0/);
  });
});

describe('zero timesteps: a RangeError as in Keras, before anything is allocated', () => {
  for (const cell of ['simpleRNN', 'lstm', 'gru'] as const) {
    it(`${cell}.forward on [2^31-1, 0, 4] and [2, 0, 4]`, async () => {
      const layer = rk.layers[cell]({ units: 3, seed: 1 });
      for (const N of [BIG, 2]) {
        const x = rk.tensor(new Float32Array(0), [N, 0, 4]);
        const e = await rangeErrorOf(() => layer.forward(x, { training: true }));
        expect(e.code).toBe('RNNKIT_INVALID_ARGUMENT');
        expect(e.message).toMatch(/at least 1 timestep/);
        expect(e.message).toContain(`[${N},0,4]`);
        x.dispose();
      }
      layer.dispose();
    });
  }

  it('bidirectional.forward and model.predict on [2^31-1, 0, 4] fail at once (no loop over 67 M batches)', async () => {
    const x = rk.tensor(new Float32Array(0), [BIG, 0, 4]);
    const bi = rk.layers.bidirectional({ layer: rk.layers.gru({ units: 2, seed: 2 }) });
    expect((await rangeErrorOf(() => bi.forward(x))).code).toBe('RNNKIT_INVALID_ARGUMENT');
    const model = rk.sequential([rk.layers.lstm({ units: 2, inputShape: [null, 4], seed: 3 }), rk.layers.dense({ units: 1, seed: 4 })]);
    for (const batchSize of [undefined, 1, 32]) {
      const e = await rangeErrorOf(() => model.predict(x, batchSize ? { batchSize } : {}));
      expect(e.code).toBe('RNNKIT_INVALID_ARGUMENT');
      expect(e.message).toMatch(/timestep/);
    }
    for (const t of [x, bi, model]) t.dispose();
  });
});

describe('fit / evaluate on samples without values: a RangeError at once (no index over 2^31 samples)', () => {
  it('x [2^31-1, 0, 4] with y [2^31-1, 0] and [2^31-1, 2, 0]', async () => {
    const model = rk.sequential([rk.layers.lstm({ units: 2, inputShape: [null, 4], seed: 9 })]);
    model.compile({ loss: 'mse', optimizer: rk.optimizers.sgd({ learningRate: 0.1 }) });
    const x = rk.tensor(new Float32Array(0), [BIG, 0, 4]);
    for (const yShape of [[BIG, 0], [BIG, 2, 0]]) {
      const y = rk.tensor(new Float32Array(0), yShape);
      for (const [name, call] of [['fit', () => model.fit(x, y, { epochs: 1, verbose: 0 })], ['evaluate', () => model.evaluate(x, y)]] as const) {
        const e = await rangeErrorOf(call);
        expect(e.code).toBe('RNNKIT_INVALID_ARGUMENT');
        expect(e.message).toMatch(new RegExp(`^${name}: x \\[${BIG},0,4\\] holds no values`));
      }
      y.dispose();
    }
    x.dispose();
    model.dispose();
  });
});

describe('empty batches give empty results quickly', () => {
  // The fused recurrence sizes its projection blocks by the batch: with no rows, the one
  // GEMM over every step, whatever the input's width.
  for (const cell of ['simpleRNN', 'lstm', 'gru'] as const) {
    for (const features of [4, 64]) {
      it(`${cell}: forward and backward on [0, 5, ${features}] (both output modes)`, async () => {
        for (const returnSequences of [false, true]) {
          const layer = rk.layers[cell]({ units: 3, seed: 5, returnSequences });
          const x = rk.tensor(new Float32Array(0), [0, 5, features]);
          const fwd = await layer.forward(x, { training: true });
          expect(fwd.output.shape).toEqual(returnSequences ? [0, 5, 3] : [0, 3]);
          for (const s of fwd.states) expect(s.shape).toEqual([0, 3]);
          const dOutput = rk.tensor(new Float32Array(0), fwd.output.shape);
          const g = await layer.backward(fwd, { dOutput });
          expect(g.dInput.shape).toEqual([0, 5, features]);
          // No samples, no gradient: every weight gradient is exactly zero.
          const shapes = layer.getWeights().map((w) => {
            const s = w.shape;
            w.dispose();
            return s;
          });
          expect(g.dWeights.map((w) => w.shape)).toEqual(shapes);
          for (const w of g.dWeights) expect(Array.from(w.dataSync()).every((v) => v === 0)).toBe(true);
          for (const t of [x, fwd.output, ...fwd.states, dOutput, g.dInput, ...g.dInitialState, ...g.dWeights]) t.dispose();
          fwd.dispose();
          layer.dispose();
        }
      });
    }
  }

  it('model.predict on [0, T, D] and a dense model on [2^31-1, 0, 4] return empty tensors in one batch', async () => {
    const rnn = rk.sequential([rk.layers.gru({ units: 2, returnSequences: true, inputShape: [null, 4], seed: 6 })]);
    const empty = rk.tensor(new Float32Array(0), [0, 7, 4]);
    const y0 = await rnn.predict(empty, { batchSize: 1 });
    expect(y0.shape).toEqual([0, 7, 2]);

    const dense = rk.sequential([rk.layers.dense({ units: 3, seed: 7, inputShape: [null, 4] })]);
    const wide = rk.tensor(new Float32Array(0), [BIG, 0, 4]);
    const start = Date.now();
    const y1 = await dense.predict(wide, { batchSize: 1 });
    expect(Date.now() - start).toBeLessThan(FAST_MS);
    expect(y1.shape).toEqual([BIG, 0, 3]);
    expect(y1.dataSync().length).toBe(0);
    for (const t of [rnn, empty, y0, dense, wide, y1]) t.dispose();
  });

  it('clipping zero-element tensors gives zero-element tensors and a global norm of 0', () => {
    const ts = [rk.tensor(new Float32Array(0), [0, 3]), rk.tensor(new Rng(8).normal(3), [3])];
    const r = rk.clip.byGlobalNorm([ts[0]!], 1);
    expect(r.norm).toBe(0);
    expect(r.grads[0]!.shape).toEqual([0, 3]);
    const n = rk.clip.byNorm(ts, 1e-3);
    expect(n[0]!.shape).toEqual([0, 3]);
    for (const t of [...ts, ...r.grads, ...n]) t.dispose();
  });
});
