/**
 * rk.padSequences / rk.unpadSequences against a plain-JS Keras pad_sequences
 * (padding='post'), and the lengths semantics of forward(): a forward over a padded batch
 * with `lengths` equals forwards over each sequence alone.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';
import { expectElementwiseClose } from './helpers/compare';

type Tensor = ReturnType<typeof rk.tensor>;
type Step = Float32Array | number[];

// ------------------------------------------------------------------ reference

interface PadOpts {
  maxlen?: number;
  truncating?: 'pre' | 'post';
  value?: number;
}

/** Keras pad_sequences(seqs, maxlen, padding='post', truncating, value), with D features. */
function refPad(seqs: Step[][], D: number, opts: PadOpts = {}): { x: Float32Array; shape: number[]; lengths: number[] } {
  const N = seqs.length;
  const T = opts.maxlen ?? Math.max(0, ...seqs.map((s) => s.length));
  const truncating = opts.truncating ?? 'pre'; // Keras default
  const value = opts.value ?? 0;
  const x = new Float32Array(N * T * D).fill(value);
  const lengths: number[] = [];
  seqs.forEach((s, n) => {
    const kept = s.length <= T ? s : truncating === 'pre' ? s.slice(s.length - T) : s.slice(0, T);
    lengths.push(kept.length);
    kept.forEach((step, t) => {
      for (let d = 0; d < D; d++) x[(n * T + t) * D + d] = step[d];
    });
  });
  return { x, shape: [N, T, D], lengths };
}

function randomSeqs(rng: Rng, lens: number[], D: number, asF32: boolean): Step[][] {
  return lens.map((L) =>
    Array.from({ length: L }, () => {
      const v = rng.uniform(D, -1, 1);
      return asF32 ? v : Array.from(v);
    }),
  );
}

// ------------------------------------------------------------------ padSequences

describe('rk.padSequences (Keras pad_sequences, padding="post")', () => {
  const D = 3;
  const lens = [4, 1, 6, 0, 3, 6];

  it('default: maxlen = longest, zero padding on the right, lengths', () => {
    const seqs = randomSeqs(new Rng(1), lens, D, true);
    const ref = refPad(seqs, D);
    const out = rk.padSequences(seqs);
    expect(out.x.shape).toEqual(ref.shape);
    expect(Array.from(out.x.dataSync())).toEqual(Array.from(ref.x));
    expect(out.lengths).toBeInstanceOf(Int32Array);
    expect(Array.from(out.lengths)).toEqual(ref.lengths);
    expect(Array.from(out.lengths)).toEqual(lens);
    out.x.dispose();
  });

  it('number[] steps and Float32Array steps give the same result', () => {
    const a = randomSeqs(new Rng(2), lens, D, true);
    const b = a.map((s) => s.map((step) => Array.from(step)));
    const pa = rk.padSequences(a);
    const pb = rk.padSequences(b);
    expect(Array.from(pb.x.dataSync())).toEqual(Array.from(pa.x.dataSync()));
    expect(Array.from(pb.lengths)).toEqual(Array.from(pa.lengths));
    pa.x.dispose();
    pb.x.dispose();
  });

  for (const truncating of ['pre', 'post'] as const) {
    it(`maxlen shorter than some sequences, truncating='${truncating}'`, () => {
      const seqs = randomSeqs(new Rng(3), lens, D, false);
      const ref = refPad(seqs, D, { maxlen: 3, truncating });
      const out = rk.padSequences(seqs, { maxlen: 3, truncating });
      expect(out.x.shape).toEqual([lens.length, 3, D]);
      expect(Array.from(out.x.dataSync())).toEqual(Array.from(ref.x));
      expect(Array.from(out.lengths)).toEqual([3, 1, 3, 0, 3, 3]);
      out.x.dispose();
    });
  }

  it("truncating defaults to 'pre' (Keras): keeps the last maxlen steps", () => {
    const seqs = randomSeqs(new Rng(4), lens, D, true);
    const ref = refPad(seqs, D, { maxlen: 2, truncating: 'pre' });
    const out = rk.padSequences(seqs, { maxlen: 2 });
    expect(Array.from(out.x.dataSync())).toEqual(Array.from(ref.x));
    out.x.dispose();
  });

  it('maxlen longer than every sequence pads to maxlen', () => {
    const seqs = randomSeqs(new Rng(5), lens, D, true);
    const ref = refPad(seqs, D, { maxlen: 9 });
    const out = rk.padSequences(seqs, { maxlen: 9 });
    expect(out.x.shape).toEqual([lens.length, 9, D]);
    expect(Array.from(out.x.dataSync())).toEqual(Array.from(ref.x));
    expect(Array.from(out.lengths)).toEqual(lens);
    out.x.dispose();
  });

  it('value fills the padding', () => {
    const seqs = randomSeqs(new Rng(6), lens, D, true);
    for (const value of [-1, 0.5, 42]) {
      const ref = refPad(seqs, D, { value, maxlen: 7, truncating: 'post' });
      const out = rk.padSequences(seqs, { value, maxlen: 7, truncating: 'post' });
      expect(Array.from(out.x.dataSync())).toEqual(Array.from(ref.x));
      out.x.dispose();
    }
  });

  it('does not modify its input', () => {
    const seqs = randomSeqs(new Rng(7), lens, D, true);
    const copy = seqs.map((s) => s.map((step) => Array.from(step)));
    const out = rk.padSequences(seqs, { maxlen: 2, truncating: 'post', value: 9 });
    expect(seqs.map((s) => s.map((step) => Array.from(step)))).toEqual(copy);
    out.x.dispose();
  });

  it('steps with a different feature size D → error naming the sequences', () => {
    const good = randomSeqs(new Rng(8), [3, 2], D, false);
    const bad1 = [good[0], [...good[1], [1, 2]]]; // a step with D-1 features in sequence 1
    const bad2 = [[[1, 2, 3], [4, 5, 6, 7]]]; // within one sequence
    const bad3 = [[new Float32Array(3)], [new Float32Array(4), new Float32Array(4)]];
    for (const bad of [bad1, bad2, bad3]) {
      let err: unknown;
      try {
        rk.padSequences(bad as Step[][]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeDefined();
      expect(err instanceof TypeError || err instanceof RangeError, String(err)).toBe(true);
      expect((err as Error).message).toMatch(/seq/i);
    }
  });

  it('bad options → TypeError/RangeError naming the option', () => {
    const seqs = randomSeqs(new Rng(9), [3, 2], D, true);
    const cases: [unknown, RegExp][] = [
      [{ maxlen: -1 }, /maxlen/],
      [{ maxlen: 2.5 }, /maxlen/],
      [{ maxlen: 'x' }, /maxlen/],
      [{ truncating: 'middle' }, /truncating/],
      [{ value: 'a' }, /value/],
      [{ padding: 'pre' }, /padding/], // only post padding exists: an unknown option
      [{ maxLen: 3 }, /maxLen/],
    ];
    for (const [opts, pattern] of cases) {
      let err: unknown;
      try {
        rk.padSequences(seqs, opts as PadOpts);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(opts)).toBeDefined();
      expect(err instanceof TypeError || err instanceof RangeError, String(err)).toBe(true);
      expect((err as Error).message).toMatch(pattern);
    }
  });
});

// ------------------------------------------------------------------ unpadSequences

describe('rk.unpadSequences', () => {
  it('round trip: unpad(pad(seqs)) gives back each sequence (float32)', () => {
    const D = 4;
    const lens = [5, 2, 0, 7, 1];
    const seqs = randomSeqs(new Rng(10), lens, D, false);
    const { x, lengths } = rk.padSequences(seqs, { value: -3 });
    for (const ls of [lengths, Array.from(lengths)]) {
      const back = rk.unpadSequences(x, ls);
      expect(back.length).toBe(lens.length);
      back.forEach((s, n) => {
        expect(s.length).toBe(lens[n]);
        s.forEach((step, t) => {
          expect(step).toBeInstanceOf(Float32Array);
          expect(Array.from(step)).toEqual(Array.from(seqs[n][t], (v) => Math.fround(v)));
        });
      });
    }
    x.dispose();
  });

  it('round trip after truncation', () => {
    const D = 2;
    const seqs = randomSeqs(new Rng(11), [6, 3, 1], D, true);
    const { x, lengths } = rk.padSequences(seqs, { maxlen: 4, truncating: 'pre' });
    const back = rk.unpadSequences(x, lengths);
    expect(back.map((s) => s.length)).toEqual([4, 3, 1]);
    expect(Array.from(back[0][0])).toEqual(Array.from(seqs[0][2]));
    expect(Array.from(back[0][3])).toEqual(Array.from(seqs[0][5]));
    x.dispose();
  });

  it('does not modify the tensor; bad lengths are rejected naming lengths', () => {
    const rng = new Rng(12);
    const v = rng.uniform(2 * 3 * 2);
    const out = rk.tensor(v, [2, 3, 2]);
    for (const bad of [[1], [1, 2, 3], [4, 1], [-1, 1], [1.5, 1]]) {
      let err: unknown;
      try {
        rk.unpadSequences(out, bad);
      } catch (e) {
        err = e;
      }
      expect(err instanceof TypeError || err instanceof RangeError, `lengths ${JSON.stringify(bad)}: ${String(err)}`).toBe(true);
      expect((err as Error).message).toMatch(/lengths/);
    }
    expect(Array.from(out.dataSync())).toEqual(Array.from(v));
    out.dispose();
  });
});

// ------------------------------------------------------------------ forward with lengths

type Cell = 'lstm' | 'gru' | 'simpleRNN';

interface LayerOpts {
  returnSequences?: boolean;
  goBackwards?: boolean;
  maskedOutput?: 'zeros' | 'carry';
}

function makeLayer(cell: Cell, H: number, opts: LayerOpts) {
  const o = { units: H, ...opts };
  if (cell === 'lstm') return rk.layers.lstm(o);
  if (cell === 'gru') return rk.layers.gru(o);
  return rk.layers.simpleRNN(o);
}

/** Random (seeded) weights of the shapes the built layer reports, scaled to keep gates lively. */
function randomWeights(layer: ReturnType<typeof makeLayer>, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const ws = layer.getWeights();
  const out = ws.map((w) => rng.uniform(w.size, -0.6, 0.6));
  for (const w of ws) w.dispose();
  return out;
}

function sliceSeq(arr: Float32Array, n: number, T: number, H: number, from: number, to: number): Float32Array {
  return arr.slice((n * T + from) * H, (n * T + to) * H);
}

const CELLS: Cell[] = ['lstm', 'gru', 'simpleRNN'];
const TOL = 1e-5; // float32: batch and single forwards may sum in different orders

describe('forward over a padded batch with lengths = forwards over each sequence alone', () => {
  const D = 3;
  const H = 5;
  const lens = [6, 1, 4, 0, 6, 2];
  const T = 6;
  const N = lens.length;

  for (const cell of CELLS) {
    for (const goBackwards of [false, true]) {
      it(`${cell}${goBackwards ? ' goBackwards' : ''}: sequence output, final states, last output`, async () => {
        const seqs = randomSeqs(new Rng(20), lens, D, true);
        // A non-zero pad value: padded steps must not influence anything.
        const { x, lengths } = rk.padSequences(seqs, { value: 5 });
        expect(x.shape).toEqual([N, T, D]);
        const xBefore = x.dataSync();

        const seqLayer = makeLayer(cell, H, { returnSequences: true, goBackwards });
        seqLayer.build([null, null, D]);
        const weights = randomWeights(seqLayer, 21);
        seqLayer.setWeights(weights);
        const lastLayer = makeLayer(cell, H, { returnSequences: false, goBackwards });
        lastLayer.setWeights(weights);

        const fwd = await seqLayer.forward(x, { lengths });
        expect(fwd.output.shape).toEqual([N, T, H]);
        const out = fwd.output.dataSync();
        const states = fwd.states.map((s) => s.dataSync());
        expect(states.length).toBe(cell === 'lstm' ? 2 : 1);
        for (const s of fwd.states) expect(s.shape).toEqual([N, H]);

        const fwdLast = await lastLayer.forward(x, { lengths: Array.from(lengths) });
        expect(fwdLast.output.shape).toEqual([N, H]);
        const last = fwdLast.output.dataSync();

        for (let n = 0; n < N; n++) {
          const L = lens[n];
          if (L === 0) {
            // Zero length: initial (zero) state, zero outputs.
            expect(Array.from(sliceSeq(out, n, T, H, 0, T))).toEqual(new Array(T * H).fill(0));
            for (const s of states) expect(Array.from(s.slice(n * H, (n + 1) * H))).toEqual(new Array(H).fill(0));
            expect(Array.from(last.slice(n * H, (n + 1) * H))).toEqual(new Array(H).fill(0));
            continue;
          }
          const xs = new Float32Array(L * D);
          seqs[n].forEach((step, t) => xs.set(step, t * D));
          const single = rk.tensor(xs, [1, L, D]);
          const f1 = await seqLayer.forward(single);
          const o1 = f1.output.dataSync();
          expect(f1.output.shape).toEqual([1, L, H]);
          expectElementwiseClose(sliceSeq(out, n, T, H, 0, L), o1, TOL, `${cell} seq ${n} outputs (valid steps)`);
          // Masked steps output zeros (maskedOutput 'zeros', the default).
          expect(Array.from(sliceSeq(out, n, T, H, L, T))).toEqual(new Array((T - L) * H).fill(0));
          f1.states.forEach((s, k) => {
            expectElementwiseClose(states[k].slice(n * H, (n + 1) * H), s.dataSync(), TOL, `${cell} seq ${n} state ${k}`);
          });
          // Without returnSequences: the output of the last valid step.
          expectElementwiseClose(last.slice(n * H, (n + 1) * H), o1.slice((L - 1) * H, L * H), TOL, `${cell} seq ${n} last output`);
          f1.dispose();
          single.dispose();
        }

        // unpadSequences on the real output gives exactly the valid steps.
        const un = rk.unpadSequences(fwd.output, lengths);
        un.forEach((s, n) => {
          expect(s.length).toBe(lens[n]);
          s.forEach((step, t) => expect(Array.from(step)).toEqual(Array.from(sliceSeq(out, n, T, H, t, t + 1))));
        });

        // The input was not modified.
        expect(Array.from(x.dataSync())).toEqual(Array.from(xBefore));
        fwd.dispose();
        fwdLast.dispose();
        x.dispose();
      });
    }

    it(`${cell}: maskedOutput 'carry' repeats the last valid output past each length`, async () => {
      const seqs = randomSeqs(new Rng(30), lens, D, false);
      const { x, lengths } = rk.padSequences(seqs, { value: -2 });
      const zeros = makeLayer(cell, H, { returnSequences: true });
      zeros.build([null, null, D]);
      const weights = randomWeights(zeros, 31);
      zeros.setWeights(weights);
      const carry = makeLayer(cell, H, { returnSequences: true, maskedOutput: 'carry' });
      carry.setWeights(weights);
      const fz = await zeros.forward(x, { lengths });
      const fc = await carry.forward(x, { lengths });
      const oz = fz.output.dataSync();
      const oc = fc.output.dataSync();
      for (let n = 0; n < N; n++) {
        const L = lens[n];
        expectElementwiseClose(sliceSeq(oc, n, T, H, 0, L), sliceSeq(oz, n, T, H, 0, L), TOL, `carry seq ${n} valid`);
        const lastValid = L === 0 ? new Float32Array(H) : sliceSeq(oz, n, T, H, L - 1, L);
        for (let t = L; t < T; t++) {
          expectElementwiseClose(sliceSeq(oc, n, T, H, t, t + 1), lastValid, TOL, `carry seq ${n} step ${t}`);
        }
      }
      fc.states.forEach((s, k) => expectElementwiseClose(s.dataSync(), fz.states[k].dataSync(), TOL, `carry state ${k}`));
      fz.dispose();
      fc.dispose();
      x.dispose();
    });
  }

  it('lengths all equal to T give the same result as no lengths', async () => {
    const seqs = randomSeqs(new Rng(40), [5, 5, 5], D, true);
    const { x } = rk.padSequences(seqs);
    const layer = rk.layers.lstm({ units: H, returnSequences: true });
    layer.build([null, null, D]);
    layer.setWeights(randomWeights(layer, 41));
    const a = await layer.forward(x);
    const b = await layer.forward(x, { lengths: new Int32Array([5, 5, 5]) });
    expectElementwiseClose(b.output.dataSync(), a.output.dataSync(), TOL, 'full lengths');
    a.dispose();
    b.dispose();
    x.dispose();
  });
});
