/**
 * Forward-pass parity: rnnkit's layers against the independent float64 reference
 * (test/reference/rnn64.ts), for every cell, variant and option combination.
 *
 * Weights and inputs are seeded random float32 values, given bit-identically to both
 * rnnkit (layer.setWeights) and the reference, so the only difference allowed is float32
 * rounding: relative L2 error <= 1e-5 on the output and on every final state.
 */
import { describe, it, expect } from 'vitest';
import * as rk from '../lib';
import * as ref from './reference/rnn64';
import { Rng } from './helpers/random';
import { expectClose } from './helpers/compare';
import {
  ACTIVATIONS,
  MASK_MODES,
  makeLayer,
  makeVariants,
  randomWeights,
  seedOf,
  setUpCase,
  type AnyLayer,
  type Case,
  type MaskMode,
  type Variant,
} from './helpers/rnn-cases';

const TOL = 1e-5;

// ---------------------------------------------------------------------------
// helpers

/** The output and every final state of a forward result against a reference result. */
function expectOutputAndStates(
  what: string,
  fwd: { output: { dataSync(): Float32Array }; states: { dataSync(): Float32Array }[] },
  expected: { output: ArrayLike<number>; states: ArrayLike<number>[] },
): void {
  expectClose(fwd.output.dataSync(), expected.output, TOL, `${what}output`);
  for (let k = 0; k < expected.states.length; k++) expectClose(fwd.states[k].dataSync(), expected.states[k], TOL, `${what}state ${k}`);
}

interface ForwardCase extends Case {
  /** the expected output is all zeros (every length 0): compared by absolute L2 error */
  zeroOutput?: boolean;
}

/** Runs one case through rnnkit and the reference and compares output and states. */
async function checkForward(name: string, c: ForwardCase): Promise<void> {
  const { weights, args, layer, tensors, opts } = setUpCase(name, c);
  const expected = ref.forward(c.cfg, weights, args);
  const fwd = await layer.forward(tensors[0], opts);
  try {
    expect(fwd.output.shape, 'output shape').toEqual(expected.outputShape);
    expectClose(fwd.output.dataSync(), expected.output, TOL, 'output', { allowZeroReference: c.zeroOutput });
    expect(fwd.states.length, 'number of states').toBe(expected.states.length);
    const states = fwd.states.map((t: { dataSync(): Float32Array }) => t.dataSync());
    for (let k = 0; k < expected.states.length; k++) {
      expect(fwd.states[k].shape, `state ${k} shape`).toEqual(expected.stateShapes[k]);
      expectClose(states[k], expected.states[k], TOL, `state ${k}`);
    }
  } finally {
    fwd.dispose();
    tensors.forEach((t) => t.dispose());
  }
}

// ---------------------------------------------------------------------------
// the variants

const D = 4;
const H = 3;
const N = 4;
const T = 6;
/** lengths with T, an intermediate value, 0 and 1 */
const LENGTHS = [6, 3, 0, 1];

const VARIANTS: Variant[] = makeVariants(D, H);

function withMask(cfg: ref.RnnConfig, m: MaskMode): { cfg: ref.RnnConfig; lengths?: number[] } {
  if (m === 'none') return { cfg };
  return { cfg: { ...cfg, maskedOutput: m }, lengths: LENGTHS };
}

// ---------------------------------------------------------------------------

describe('forward: Keras weight layout', () => {
  for (const v of VARIANTS) {
    for (const useBias of [true, false]) {
      it(`${v.name} useBias=${useBias}: getWeights shapes and values round-trip setWeights`, () => {
        const cfg = { ...v.cfg, useBias };
        const rng = new Rng(seedOf(`${v.name} layout ${useBias}`));
        const weights = randomWeights(rng, cfg);
        const layer = makeLayer(cfg);
        layer.build([N, T, D]);
        layer.setWeights(weights);
        const got = layer.getWeights();
        expect(got.map((t: { shape: number[] }) => t.shape)).toEqual(ref.weightShapes(cfg));
        for (let k = 0; k < weights.length; k++) {
          expect(Array.from(got[k].dataSync() as Float32Array)).toEqual(Array.from(weights[k]));
          got[k].dispose();
        }
      });
    }
  }
});

describe('forward: seed example (Keras parameter counts)', () => {
  it('simpleRNN(units 5, returnSequences) on [32,10,8] has 70 params; simpleRNN(units 3) on its output has 27', async () => {
    const l1 = rk.layers.simpleRNN({ units: 5, returnSequences: true } as never) as AnyLayer;
    l1.build([32, 10, 8]);
    const w1 = l1.getWeights();
    expect(w1.map((t: { shape: number[] }) => t.shape)).toEqual([[8, 5], [5, 5], [5]]);
    expect(w1.reduce((a: number, t: { shape: number[] }) => a + ref.sizeOf(t.shape), 0)).toBe(70);
    const l2 = rk.layers.simpleRNN({ units: 3 } as never) as AnyLayer;
    l2.build([32, 10, 5]);
    const w2 = l2.getWeights();
    expect(w2.map((t: { shape: number[] }) => t.shape)).toEqual([[5, 3], [3, 3], [3]]);
    expect(w2.reduce((a: number, t: { shape: number[] }) => a + ref.sizeOf(t.shape), 0)).toBe(27);
    [...w1, ...w2].forEach((t: { dispose(): void }) => t.dispose());

    // and the stack computes what the reference computes
    const rng = new Rng(seedOf('seed example'));
    const c1: ref.RnnConfig = { cell: 'simpleRNN', units: 5, inputDim: 8, returnSequences: true };
    const c2: ref.RnnConfig = { cell: 'simpleRNN', units: 3, inputDim: 5 };
    const ws1 = randomWeights(rng, c1);
    const ws2 = randomWeights(rng, c2);
    l1.setWeights(ws1);
    l2.setWeights(ws2);
    const x = rng.normal(32 * 10 * 8);
    const r1 = ref.forward(c1, ws1, { x, N: 32, T: 10 });
    const r2 = ref.forward(c2, ws2, { x: r1.output, N: 32, T: 10 });
    const xt = rk.tensor(x, [32, 10, 8]);
    const f1 = await l1.forward(xt);
    expect(f1.output.shape).toEqual([32, 10, 5]);
    expectClose(f1.output.dataSync(), r1.output, TOL, 'layer 1 output');
    const f2 = await l2.forward(f1.output);
    expect(f2.output.shape).toEqual([32, 3]);
    expectClose(f2.output.dataSync(), r2.output, TOL, 'layer 2 output');
    f2.dispose();
    f1.dispose();
    xt.dispose();
  });
});

describe('forward: option matrix (returnSequences x goBackwards x lengths/maskedOutput x initialState)', () => {
  for (const v of VARIANTS) {
    describe(v.name, () => {
      for (const rs of [false, true]) {
        for (const gb of [false, true]) {
          for (const m of MASK_MODES) {
            for (const init of [false, true]) {
              const name = `${v.name} returnSequences=${rs} goBackwards=${gb} lengths=${m === 'none' ? 'none' : `[${LENGTHS}] maskedOutput=${m}`} initialState=${init}`;
              it(name, async () => {
                const wm = withMask({ ...v.cfg, returnSequences: rs, goBackwards: gb }, m);
                await checkForward(name, { cfg: wm.cfg, N, T, lengths: wm.lengths, init });
              });
            }
          }
        }
      }
    });
  }
});

describe('forward: more units than one 32-unit chunk and more rows than one row group', () => {
  // A team split by units gives each thread its chunks of 32 units; with projection blocks of
  // a few steps (RNNKIT_CPU_PROJECTION_STEPS on the split paths) each member computes the
  // projection of its own units (64 units: whole chunks) or, where a chunk is partial (40),
  // a share of a block's N·3 rows that the others' cells read. A team forms when the pool's
  // workers are awake: passes back to back keep them so. From 16 rows on, the projection reads
  // x in place, row by row (backwards in time too, where every sequence is whole): with 17
  // rows a share of a block starts inside a step.
  const shapes = [
    { N: 6, goBackwards: true, lengths: [9, 4, 8, 7, 2, 9] },
    { N: 17, goBackwards: false, lengths: [9, 4, 8, 7, 2, 9, 5, 9, 1, 6, 9, 3, 9, 8, 0, 7, 9] },
    { N: 16, goBackwards: true, lengths: new Array<number>(16).fill(9) },
  ];
  for (const units of [40, 64]) {
    for (const { N: rows, goBackwards, lengths } of shapes) {
      for (const v of makeVariants(5, units)) {
        it(`${v.name}: ${units} units, N=${rows}, T=9, goBackwards=${goBackwards}, lengths, initial state, 12 passes in a row`, async () => {
          const c: ForwardCase = { cfg: { ...v.cfg, returnSequences: true, goBackwards }, N: rows, T: 9, lengths, init: true };
          const { rng, D, weights, args, layer, tensors, opts } = setUpCase(`${v.name} ${units} units`, c);
          // Two inputs in turn: a pass that left part of its projection unwritten would find
          // the previous pass's values there, right for the same input but not for the other.
          const otherX = rng.normal(c.N * c.T * D);
          tensors.push(rk.tensor(otherX, [c.N, c.T, D]));
          const expected = [ref.forward(c.cfg, weights, args), ref.forward(c.cfg, weights, { ...args, x: otherX })];
          try {
            for (let pass = 0; pass < 12; pass++) {
              const fwd = await layer.forward(tensors[pass % 2 === 0 ? 0 : tensors.length - 1], opts);
              try {
                expectOutputAndStates(`pass ${pass} `, fwd, expected[pass % 2]);
              } finally {
                fwd.dispose();
              }
            }
          } finally {
            tensors.forEach((t) => t.dispose());
          }
        });
      }
    }
  }
});

describe('forward: activations', () => {
  const base = { returnSequences: true, maskedOutput: 'carry' as const };
  for (const act of ACTIVATIONS) {
    for (const gb of [false, true]) {
      const name = `simpleRNN activation=${act} goBackwards=${gb}`;
      it(name, async () => {
        await checkForward(name, {
          cfg: { cell: 'simpleRNN', units: H, inputDim: D, activation: act, goBackwards: gb, ...base },
          N,
          T,
          lengths: LENGTHS,
          init: true,
        });
      });
    }
  }
  const gated: Variant[] = VARIANTS.filter((v) => v.cfg.cell !== 'simpleRNN');
  for (const v of gated) {
    for (const act of ACTIVATIONS) {
      const name = `${v.name} activation=${act} recurrentActivation=sigmoid`;
      it(name, async () => {
        await checkForward(name, { cfg: { ...v.cfg, activation: act, recurrentActivation: 'sigmoid', ...base }, N, T, lengths: LENGTHS, init: true });
      });
    }
    for (const rec of ACTIVATIONS) {
      const name = `${v.name} activation=tanh recurrentActivation=${rec}`;
      it(name, async () => {
        await checkForward(name, { cfg: { ...v.cfg, activation: 'tanh', recurrentActivation: rec, ...base }, N, T, lengths: LENGTHS, init: true });
      });
    }
  }
});

describe('forward: useBias=false', () => {
  for (const v of VARIANTS) {
    it(`${v.name} useBias=false`, async () => {
      await checkForward(`${v.name} nobias`, { cfg: { ...v.cfg, useBias: false, returnSequences: true }, N, T });
    });
    it(`${v.name} useBias=false goBackwards lengths carry initialState`, async () => {
      await checkForward(`${v.name} nobias gb`, {
        cfg: { ...v.cfg, useBias: false, returnSequences: true, goBackwards: true, maskedOutput: 'carry' },
        N,
        T,
        lengths: LENGTHS,
        init: true,
      });
    });
  }
});

describe('forward: lengths edge cases', () => {
  for (const v of VARIANTS) {
    it(`${v.name}: lengths all T equal no lengths`, async () => {
      await checkForward(`${v.name} allT`, { cfg: { ...v.cfg, returnSequences: true }, N, T, lengths: [T, T, T, T], init: true });
    });
    it(`${v.name}: all lengths 0 give the initial states and zero outputs`, async () => {
      await checkForward(`${v.name} all0`, { cfg: { ...v.cfg, returnSequences: true, maskedOutput: 'carry' }, N, T, lengths: [0, 0, 0, 0], init: true, zeroOutput: true });
    });
    it(`${v.name}: lengths given as number[] (goBackwards, zeros, last output)`, async () => {
      // same as the matrix, but with a plain array for lengths
      const name = `${v.name} plain-array`;
      const rng = new Rng(seedOf(name));
      const cfg: ref.RnnConfig = { ...v.cfg, goBackwards: true };
      const weights = randomWeights(rng, cfg);
      const x = rng.normal(N * T * D);
      const expected = ref.forward(cfg, weights, { x, N, T, lengths: [2, 6, 0, 5] });
      const layer = makeLayer(cfg);
      layer.build([N, T, D]);
      layer.setWeights(weights);
      const xt = rk.tensor(x, [N, T, D]);
      const fwd = await layer.forward(xt, { lengths: [2, 6, 0, 5] });
      expectOutputAndStates('', fwd, expected);
      fwd.dispose();
      xt.dispose();
    });
  }
});

describe('forward: bidirectional', () => {
  const MERGES: ref.MergeMode[] = ['concat', 'sum', 'mul', 'ave'];
  const bmodes: { m: MaskMode; init: boolean }[] = [
    { m: 'none', init: false },
    { m: 'none', init: true },
    { m: 'zeros', init: true },
    { m: 'carry', init: false },
  ];
  for (const v of VARIANTS) {
    describe(v.name, () => {
      for (const mergeMode of MERGES) {
        for (const rs of [false, true]) {
          for (const { m, init } of bmodes) {
            const name = `bidirectional(${v.name}) mergeMode=${mergeMode} returnSequences=${rs} lengths=${m === 'none' ? 'none' : `[${LENGTHS}] maskedOutput=${m}`} initialState=${init}`;
            it(name, async () => {
              const wm = withMask({ ...v.cfg, returnSequences: rs }, m);
              await checkForward(name, { cfg: { layer: wm.cfg, mergeMode }, N, T, lengths: wm.lengths, init });
            });
          }
        }
      }
    });
  }
  it('bidirectional(lstm) default mergeMode is concat', async () => {
    const cfg: ref.BidirectionalConfig = { layer: { cell: 'lstm', units: H, inputDim: D, returnSequences: true } };
    await checkForward('bidir default merge', { cfg, N, T, lengths: LENGTHS, init: true });
  });
});

describe('forward: stateful', () => {
  for (const v of VARIANTS) {
    for (const rs of [true, false]) {
      it(`${v.name} stateful returnSequences=${rs}: two calls equal one long sequence; resetStates restarts`, async () => {
        const name = `${v.name} stateful ${rs}`;
        const rng = new Rng(seedOf(name));
        const cfg: ref.RnnConfig = { ...v.cfg, returnSequences: rs };
        const T1 = 4;
        const weights = randomWeights(rng, cfg);
        const x1 = rng.normal(N * T1 * D);
        const x2 = rng.normal(N * T1 * D);
        // the long sequence [x1, x2] along time
        const xl = new Float32Array(N * 2 * T1 * D);
        for (let n = 0; n < N; n++) {
          xl.set(x1.subarray(n * T1 * D, (n + 1) * T1 * D), n * 2 * T1 * D);
          xl.set(x2.subarray(n * T1 * D, (n + 1) * T1 * D), (n * 2 + 1) * T1 * D);
        }
        const rLong = ref.forward(cfg, weights, { x: xl, N, T: 2 * T1 });
        const r1 = ref.forward(cfg, weights, { x: x1, N, T: T1 });
        // the second half of the long sequence's output
        let exp2: Float64Array;
        if (rs) {
          exp2 = new Float64Array(N * T1 * H);
          for (let n = 0; n < N; n++) exp2.set(rLong.output.subarray((n * 2 + 1) * T1 * H, (n * 2 + 2) * T1 * H), n * T1 * H);
        } else {
          exp2 = rLong.output;
        }

        const layer = makeLayer(cfg, { stateful: true });
        layer.build([N, T1, D]);
        layer.setWeights(weights);
        const t1 = rk.tensor(x1, [N, T1, D]);
        const t2 = rk.tensor(x2, [N, T1, D]);
        const f1 = await layer.forward(t1);
        expectOutputAndStates('first call ', f1, r1);
        f1.dispose();
        const f2 = await layer.forward(t2);
        expectOutputAndStates('second call ', f2, { output: exp2, states: rLong.states });
        f2.dispose();
        layer.resetStates();
        const f3 = await layer.forward(t1);
        expectOutputAndStates('after resetStates ', f3, r1);
        f3.dispose();
        t1.dispose();
        t2.dispose();
      });
    }
  }
});

describe('forward: stacked layers', () => {
  const stacks: [Variant, Variant][] = [
    [VARIANTS[0], VARIANTS[1]],
    [VARIANTS[1], VARIANTS[2]],
    [VARIANTS[2], VARIANTS[3]],
    [VARIANTS[3], VARIANTS[0]],
  ];
  for (const [a, b] of stacks) {
    for (const withLengths of [false, true]) {
      it(`${a.name} (returnSequences) -> ${b.name}${withLengths ? ` with lengths [${LENGTHS}]` : ''}`, async () => {
        const name = `stack ${a.name} ${b.name} ${withLengths}`;
        const rng = new Rng(seedOf(name));
        const H2 = 5;
        const c1: ref.RnnConfig = { ...a.cfg, returnSequences: true };
        const c2: ref.RnnConfig = { ...b.cfg, units: H2, inputDim: H, returnSequences: true };
        const w1 = randomWeights(rng, c1);
        const w2 = randomWeights(rng, c2);
        const x = rng.normal(N * T * D);
        const lengths = withLengths ? LENGTHS : undefined;
        const r1 = ref.forward(c1, w1, { x, N, T, lengths });
        const r2 = ref.forward(c2, w2, { x: r1.output, N, T, lengths });
        const l1 = makeLayer(c1);
        l1.build([N, T, D]);
        l1.setWeights(w1);
        const l2 = makeLayer(c2);
        l2.build([N, T, H]);
        l2.setWeights(w2);
        const xt = rk.tensor(x, [N, T, D]);
        const opts = lengths ? { lengths: Int32Array.from(lengths) } : {};
        const f1 = await l1.forward(xt, opts);
        const f2 = await l2.forward(f1.output, opts);
        expectClose(f1.output.dataSync(), r1.output, TOL, 'layer 1 output');
        expectOutputAndStates('layer 2 ', f2, r2);
        f2.dispose();
        f1.dispose();
        xt.dispose();
      });
    }
  }
});
