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
import { Rng } from './helpers/random';

const TOL = 1e-4;
const FWD_TOL = 1e-5;
const EPS = 1e-6;

// ---------------------------------------------------------------------------
// helpers

function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function rnnOptions(c: ref.RnnConfig): Record<string, unknown> {
  const o: Record<string, unknown> = { units: c.units };
  if (c.activation) o.activation = c.activation;
  if (c.cell !== 'simpleRNN' && c.recurrentActivation) o.recurrentActivation = c.recurrentActivation;
  if (c.useBias === false) o.useBias = false;
  if (c.cell === 'gru') o.resetAfter = c.resetAfter ?? true;
  if (c.returnSequences) o.returnSequences = true;
  if (c.goBackwards) o.goBackwards = true;
  if (c.maskedOutput) o.maskedOutput = c.maskedOutput;
  return o;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyLayer = any;

function makeLayer(cfg: ref.LayerConfig): AnyLayer {
  if (ref.isBidirectional(cfg)) {
    const o: Record<string, unknown> = { layer: makeLayer(cfg.layer) };
    if (cfg.mergeMode) o.mergeMode = cfg.mergeMode;
    return rk.layers.bidirectional(o as never);
  }
  const o = rnnOptions(cfg);
  switch (cfg.cell) {
    case 'simpleRNN':
      return rk.layers.simpleRNN(o as never);
    case 'lstm':
      return rk.layers.lstm(o as never);
    case 'gru':
      return rk.layers.gru(o as never);
  }
}

function inputDim(cfg: ref.LayerConfig): number {
  return ref.isBidirectional(cfg) ? cfg.layer.inputDim : cfg.inputDim;
}

function expectClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length, `${name}: size`).toBe(expected.length);
  const e = ref.relL2(actual, expected);
  expect(e, `${name}: relative L2 error ${e.toExponential(3)}`).toBeLessThanOrEqual(tol);
}

interface Case {
  cfg: ref.LayerConfig;
  N: number;
  T: number;
  lengths?: number[];
  /** pass random initial states */
  init?: boolean;
  /** pass random dStates (the states enter the loss) */
  dStates?: boolean;
}

async function checkGradients(name: string, c: Case): Promise<void> {
  const rng = new Rng(seedOf(name));
  const D = inputDim(c.cfg);
  const H = ref.units(c.cfg);
  const nS = ref.stateCount(c.cfg);
  const shapes = ref.weightShapes(c.cfg);
  const weights = shapes.map((s) => rng.uniform(ref.sizeOf(s), -0.5, 0.5));
  const x = rng.normal(c.N * c.T * D, 0, 0.8);
  const init = c.init ? Array.from({ length: nS }, () => rng.normal(c.N * H, 0, 0.5)) : undefined;
  const args: ref.ForwardArgs = { x, N: c.N, T: c.T, initialState: init, lengths: c.lengths };

  const expected = ref.forward(c.cfg, weights, args);
  const G = rng.normal(expected.output.length);
  const S = c.dStates ? expected.states.map((s) => rng.normal(s.length)) : undefined;
  const fd = ref.finiteDifferenceGradients(c.cfg, weights, args, { G, S }, EPS);

  const layer = makeLayer(c.cfg);
  layer.build([c.N, c.T, D]);
  layer.setWeights(weights);
  const owned: { dispose(): void }[] = [];
  const xt = rk.tensor(x, [c.N, c.T, D]);
  owned.push(xt);
  const opts: Record<string, unknown> = { training: true };
  if (init) {
    const initT = init.map((s) => rk.tensor(s, [c.N, H]));
    owned.push(...initT);
    opts.initialState = initT;
  }
  if (c.lengths) opts.lengths = Int32Array.from(c.lengths);
  const fwd = await layer.forward(xt, opts);
  owned.push(fwd);
  try {
    // the forward pass that BPTT differentiates must itself be right
    expect(fwd.output.shape, 'output shape').toEqual(expected.outputShape);
    expectClose('forward output (training)', fwd.output.dataSync(), expected.output, FWD_TOL);
    for (let k = 0; k < nS; k++) expectClose(`forward state ${k} (training)`, fwd.states[k].dataSync(), expected.states[k], FWD_TOL);

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
    expectClose('dInput', g.dInput.dataSync(), fd.dInput, TOL);

    if (init) {
      expect(g.dInitialState.length, 'number of dInitialState').toBe(nS);
    }
    // when no initial state was given, a returned dInitialState must still be the
    // gradient with respect to the (zero) initial state
    for (let k = 0; k < g.dInitialState.length; k++) {
      expect(g.dInitialState[k].shape, `dInitialState ${k} shape`).toEqual([c.N, H]);
      expectClose(`dInitialState ${k}`, g.dInitialState[k].dataSync(), fd.dInitialState[k], TOL);
    }

    expect(g.dWeights.length, 'number of dWeights (getWeights order)').toBe(shapes.length);
    for (let k = 0; k < shapes.length; k++) {
      expect(g.dWeights[k].shape, `dWeights[${k}] shape`).toEqual(shapes[k]);
      expectClose(`dWeights[${k}] (shape [${shapes[k]}])`, g.dWeights[k].dataSync(), fd.dWeights[k], TOL);
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

interface Variant {
  name: string;
  cfg: ref.RnnConfig;
}
const VARIANTS: Variant[] = [
  { name: 'simpleRNN', cfg: { cell: 'simpleRNN', units: H, inputDim: D } },
  { name: 'lstm', cfg: { cell: 'lstm', units: H, inputDim: D } },
  { name: 'gru resetAfter=true', cfg: { cell: 'gru', units: H, inputDim: D, resetAfter: true } },
  { name: 'gru resetAfter=false', cfg: { cell: 'gru', units: H, inputDim: D, resetAfter: false } },
];
const ACTIVATIONS: ref.Activation[] = ['tanh', 'sigmoid', 'hardSigmoid', 'relu', 'linear'];

type MaskMode = 'none' | 'zeros' | 'carry';
const MASK_MODES: MaskMode[] = ['none', 'zeros', 'carry'];

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
  const opts = { returnSequences: true, maskedOutput: 'carry' as const };
  for (const act of ACTIVATIONS) {
    const name = `simpleRNN activation=${act}`;
    it(name, async () => {
      await checkGradients(name, {
        cfg: { cell: 'simpleRNN', units: H, inputDim: D, activation: act, ...opts },
        N: NL,
        T,
        lengths: LENGTHS,
        init: true,
        dStates: true,
      });
    });
  }
  for (const v of VARIANTS.filter((u) => u.cfg.cell !== 'simpleRNN')) {
    for (const act of ACTIVATIONS) {
      const name = `${v.name} activation=${act} recurrentActivation=sigmoid`;
      it(name, async () => {
        await checkGradients(name, {
          cfg: { ...v.cfg, activation: act, recurrentActivation: 'sigmoid', ...opts },
          N: NL,
          T,
          lengths: LENGTHS,
          init: true,
          dStates: true,
        });
      });
    }
    for (const rec of ACTIVATIONS.filter((a) => a !== 'sigmoid')) {
      const name = `${v.name} activation=tanh recurrentActivation=${rec}`;
      it(name, async () => {
        await checkGradients(name, {
          cfg: { ...v.cfg, activation: 'tanh', recurrentActivation: rec, ...opts },
          N: NL,
          T,
          lengths: LENGTHS,
          init: true,
          dStates: true,
        });
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
