/**
 * BPTT parity: rnnkit's layer.backward against central finite differences of the
 * independent float64 reference (test/reference/rnn64.ts).
 *
 * The scalar loss is L = sum(output * G) + sum_k sum(state_k * S_k) with fixed seeded
 * random G (the dOutput given to rnnkit) and S_k (the dStates, when given; else 0).
 * Its gradient with respect to the input, the initial states and every Keras-layout
 * weight is taken by central differences (eps = 1e-6) of the float64 reference on tiny
 * shapes, and rnnkit's float32 BPTT must match it to relative L2 error <= 1e-4.
 */
import { describe, it, expect } from 'vitest';
import * as rk from '../lib';
import * as ref from './reference/rnn64';
import { expectClose } from './helpers/compare';
import { ACTIVATIONS, MASK_MODES, makeVariants, setUpCase, type Case, type MaskMode, type Variant } from './helpers/rnn-cases';

const TOL = 1e-4;
const FWD_TOL = 1e-5;
const EPS = 1e-6;

// ---------------------------------------------------------------------------
// helpers

interface GradientCase extends Case {
  /** pass random dStates (the states enter the loss) */
  dStates?: boolean;
}

async function checkGradients(name: string, c: GradientCase): Promise<void> {
  const { rng, D, H, weights, args, layer, tensors, opts } = setUpCase(name, c, 0.8, { training: true });
  const nS = ref.stateCount(c.cfg);
  const shapes = ref.weightShapes(c.cfg);

  const expected = ref.forward(c.cfg, weights, args);
  const G = rng.normal(expected.output.length);
  const S = c.dStates ? expected.states.map((s) => rng.normal(s.length)) : undefined;
  const fd = ref.finiteDifferenceGradients(c.cfg, weights, args, { G, S }, EPS);

  const owned: { dispose(): void }[] = [...tensors];
  const fwd = await layer.forward(tensors[0], opts);
  owned.push(fwd);
  try {
    // the forward pass that BPTT differentiates must itself be right
    expect(fwd.output.shape, 'output shape').toEqual(expected.outputShape);
    expectClose(fwd.output.dataSync(), expected.output, FWD_TOL, 'forward output (training)');
    for (let k = 0; k < nS; k++) expectClose(fwd.states[k].dataSync(), expected.states[k], FWD_TOL, `forward state ${k} (training)`);

    const dOutput = rk.tensor(G, expected.outputShape);
    owned.push(dOutput);
    const bopts: Record<string, unknown> = { dOutput };
    if (S) {
      const st = S.map((s) => rk.tensor(s, [c.N, H]));
      owned.push(...st);
      bopts.dStates = st;
    }
    const g = await layer.backward(fwd, bopts);
    owned.push(g.dInput, ...g.dInitialState, ...g.dWeights);

    expect(g.dInput.shape, 'dInput shape').toEqual([c.N, c.T, D]);
    expectClose(g.dInput.dataSync(), fd.dInput, TOL, 'dInput');

    if (c.init) {
      expect(g.dInitialState.length, 'number of dInitialState').toBe(nS);
    }
    // when no initial state was given, a returned dInitialState must still be the
    // gradient with respect to the (zero) initial state
    for (let k = 0; k < g.dInitialState.length; k++) {
      expect(g.dInitialState[k].shape, `dInitialState ${k} shape`).toEqual([c.N, H]);
      expectClose(g.dInitialState[k].dataSync(), fd.dInitialState[k], TOL, `dInitialState ${k}`);
    }

    expect(g.dWeights.length, 'number of dWeights (getWeights order)').toBe(shapes.length);
    for (let k = 0; k < shapes.length; k++) {
      expect(g.dWeights[k].shape, `dWeights[${k}] shape`).toEqual(shapes[k]);
      expectClose(g.dWeights[k].dataSync(), fd.dWeights[k], TOL, `dWeights[${k}] (shape [${shapes[k]}])`);
    }
  } finally {
    for (const t of owned) t?.dispose();
  }
}

// ---------------------------------------------------------------------------
// the variants (tiny shapes)

const D = 3;
const H = 2;
const T = 3;
const N = 2;
/** with lengths: one sequence of length T, one intermediate, one empty */
const NL = 3;
const LENGTHS = [3, 1, 0];

const VARIANTS: Variant[] = makeVariants(D, H);

function masked(cfg: ref.RnnConfig, m: MaskMode): { cfg: ref.RnnConfig; lengths?: number[]; N: number } {
  if (m === 'none') return { cfg, N };
  return { cfg: { ...cfg, maskedOutput: m }, lengths: LENGTHS, N: NL };
}

function lengthsLabel(m: MaskMode): string {
  return m === 'none' ? 'lengths=none' : `lengths=[${LENGTHS}] maskedOutput=${m}`;
}

// ---------------------------------------------------------------------------

describe('gradients: option matrix (returnSequences x goBackwards x lengths/maskedOutput x initialState x dStates)', () => {
  for (const v of VARIANTS) {
    describe(v.name, () => {
      for (const rs of [false, true]) {
        for (const gb of [false, true]) {
          for (const m of MASK_MODES) {
            for (const init of [false, true]) {
              for (const dStates of [false, true]) {
                const name = `${v.name} returnSequences=${rs} goBackwards=${gb} ${lengthsLabel(m)} initialState=${init} dStates=${dStates}`;
                it(name, async () => {
                  const mm = masked({ ...v.cfg, returnSequences: rs, goBackwards: gb }, m);
                  await checkGradients(name, { cfg: mm.cfg, N: mm.N, T, lengths: mm.lengths, init, dStates });
                });
              }
            }
          }
        }
      }
    });
  }
});

describe('gradients: activations', () => {
  /** returnSequences, carry-masked lengths, initial states and dStates */
  const check = (name: string, cfg: ref.RnnConfig) =>
    checkGradients(name, {
      cfg: { ...cfg, returnSequences: true, maskedOutput: 'carry' },
      N: NL,
      T,
      lengths: LENGTHS,
      init: true,
      dStates: true,
    });
  for (const act of ACTIVATIONS) {
    const name = `simpleRNN activation=${act}`;
    it(name, async () => {
      await check(name, { cell: 'simpleRNN', units: H, inputDim: D, activation: act });
    });
  }
  for (const v of VARIANTS.filter((u) => u.cfg.cell !== 'simpleRNN')) {
    for (const act of ACTIVATIONS) {
      const name = `${v.name} activation=${act} recurrentActivation=sigmoid`;
      it(name, async () => {
        await check(name, { ...v.cfg, activation: act, recurrentActivation: 'sigmoid' });
      });
    }
    for (const rec of ACTIVATIONS.filter((a) => a !== 'sigmoid')) {
      const name = `${v.name} activation=tanh recurrentActivation=${rec}`;
      it(name, async () => {
        await check(name, { ...v.cfg, activation: 'tanh', recurrentActivation: rec });
      });
    }
  }
});

describe('gradients: useBias=false', () => {
  for (const v of VARIANTS) {
    it(`${v.name} useBias=false returnSequences`, async () => {
      await checkGradients(`${v.name} nobias rs`, { cfg: { ...v.cfg, useBias: false, returnSequences: true }, N, T, init: true, dStates: true });
    });
    it(`${v.name} useBias=false goBackwards lengths carry, last output only`, async () => {
      await checkGradients(`${v.name} nobias gb`, {
        cfg: { ...v.cfg, useBias: false, goBackwards: true, maskedOutput: 'carry' },
        N: NL,
        T,
        lengths: LENGTHS,
        init: true,
      });
    });
  }
});

describe('gradients: bidirectional', () => {
  const MERGES: ref.MergeMode[] = ['concat', 'sum', 'mul', 'ave'];
  for (const v of VARIANTS) {
    describe(v.name, () => {
      for (const mergeMode of MERGES) {
        for (const rs of [false, true]) {
          for (const m of MASK_MODES) {
            const init = m !== 'none';
            const dStates = m !== 'zeros';
            const name = `bidirectional(${v.name}) mergeMode=${mergeMode} returnSequences=${rs} ${lengthsLabel(m)} initialState=${init} dStates=${dStates}`;
            it(name, async () => {
              const mm = masked({ ...v.cfg, returnSequences: rs }, m);
              await checkGradients(name, { cfg: { layer: mm.cfg, mergeMode }, N: mm.N, T, lengths: mm.lengths, init, dStates });
            });
          }
        }
      }
    });
  }
});
