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
import { ACTIVATIONS, MASK_MODES, makeLayer, makeVariants, randomWeights, seedOf, setUpCase, type Case, type MaskMode, type Variant } from './helpers/rnn-cases';
import { Rng } from './helpers/random';

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

// ---------------------------------------------------------------------------
// Padded steps (t >= length) must not contribute to any gradient: NaN / ±Infinity there
// once made every dWeights NaN through the weight-gradient GEMMs over all steps. The
// independent reference is the same call on the sanitized input (zeros at padded steps).

/** `x` [N,T,D] with the padded steps of each sequence overwritten by `fill(k)`. */
function padWith(x: Float32Array, N: number, T: number, D: number, lengths: number[], fill: (k: number) => number): Float32Array {
  const out = Float32Array.from(x);
  let k = 0;
  for (let n = 0; n < N; n++) for (let t = lengths[n]!; t < T; t++) for (let d = 0; d < D; d++) out[(n * T + t) * D + d] = fill(k++);
  return out;
}

const POISON = [NaN, Infinity, -Infinity, 3e38];

describe('gradients: NaN / Inf at padded steps leave every gradient finite and unchanged', () => {
  const D = 3, H = 4, T = 6;
  // 5 rows, and 17: from 16 rows on, where the fused recurrence projects a block of steps at
  // a time, it reads x in place, the rows of padded steps included.
  for (const LENS of [
    [6, 2, 0, 4, 1],
    [6, 2, 0, 4, 1, 6, 3, 5, 0, 6, 1, 2, 6, 4, 6, 5, 2],
  ]) {
    const N = LENS.length;
    const cases: { name: string; cfg: ref.LayerConfig }[] = [];
    for (const v of makeVariants(D, H)) {
      for (const goBackwards of [false, true]) {
        for (const rs of [false, true]) {
          for (const maskedOutput of ['zeros', 'carry'] as const) {
            if (!rs && maskedOutput === 'carry') continue;
            cases.push({ name: `${v.name} goBackwards=${goBackwards} returnSequences=${rs} maskedOutput=${maskedOutput}`, cfg: { ...v.cfg, goBackwards, returnSequences: rs, maskedOutput } });
          }
        }
      }
      cases.push({ name: `bidirectional(${v.name}) concat returnSequences`, cfg: { layer: { ...v.cfg, returnSequences: true }, mergeMode: 'concat' } });
      cases.push({ name: `bidirectional(${v.name}) ave last output`, cfg: { layer: { ...v.cfg }, mergeMode: 'ave' } });
    }

    for (const c of cases) {
      it(`${c.name}${N === 5 ? '' : `, ${N} rows`}`, async () => {
        const rng = new Rng(seedOf(`padded poison ${c.name}${N === 5 ? '' : ` ${N}`}`));
        const layer = makeLayer(c.cfg);
        layer.setWeights(randomWeights(rng, c.cfg));
        const x = rng.normal(N * T * D);
        const clean = padWith(x, N, T, D, LENS, () => 0);
        const poisoned = padWith(x, N, T, D, LENS, (k) => POISON[k % POISON.length]!);
        const nStates = ref.stateCount(c.cfg);
        const init = Array.from({ length: nStates }, () => rng.normal(N * ref.units(c.cfg)));
        const dStates = Array.from({ length: nStates }, () => rng.normal(N * ref.units(c.cfg)));
        const owned: { dispose(): void }[] = [];
        const run = async (values: Float32Array) => {
          const xt = rk.tensor(values, [N, T, D]);
          const initial = init.map((s) => rk.tensor(s, [N, ref.units(c.cfg)]));
          const fwd = await layer.forward(xt, { lengths: LENS, initialState: initial, training: true });
          // dOutput is non-zero at padded positions too: what reaches them is the layer's business.
          const dOutput = rk.tensor(new Rng(17).normal(fwd.output.size), fwd.output.shape);
          const ds = dStates.map((s) => rk.tensor(s, [N, ref.units(c.cfg)]));
          const g = await layer.backward(fwd, { dOutput, dStates: ds });
          owned.push(xt, ...initial, fwd, fwd.output, ...fwd.states, dOutput, ...ds, g.dInput, ...g.dInitialState, ...g.dWeights);
          return {
            output: fwd.output.dataSync(),
            states: fwd.states.map((s: rk.Tensor) => s.dataSync()),
            dInput: g.dInput.dataSync(),
            dInitialState: g.dInitialState.map((s: rk.Tensor) => s.dataSync()),
            dWeights: g.dWeights.map((w: rk.Tensor) => w.dataSync()),
          };
        };
        try {
          const want = await run(clean);
          const got = await run(poisoned);
          got.dWeights.forEach((w, i) => {
            expect(w.every(Number.isFinite), `dWeights[${i}] finite`).toBe(true);
            expect(Array.from(w), `dWeights[${i}]`).toEqual(Array.from(want.dWeights[i]!));
          });
          expect(Array.from(got.output), 'output').toEqual(Array.from(want.output));
          got.states.forEach((s, i) => expect(Array.from(s), `states[${i}]`).toEqual(Array.from(want.states[i]!)));
          got.dInitialState.forEach((s, i) => expect(Array.from(s), `dInitialState[${i}]`).toEqual(Array.from(want.dInitialState[i]!)));
          expect(Array.from(got.dInput), 'dInput').toEqual(Array.from(want.dInput));
          // The padded steps' input gradient is exactly zero; the valid steps' is not.
          const padded = padWith(got.dInput, N, T, D, LENS, () => NaN);
          got.dInput.forEach((v, k) => {
            if (Number.isNaN(padded[k])) expect(v).toBe(0);
          });
          expect(got.dInput.some((v) => v !== 0)).toBe(true);
        } finally {
          for (const o of owned) o.dispose();
          layer.dispose();
        }
      });
    }
  }

  it('a model (lstm → timeDistributed(dense)) trained with lengths: the same weights, all finite', async () => {
    const Nm = 6, Tm = 5, Dm = 3;
    const lengths = [5, 3, 1, 0, 4, 2];
    const rng = new Rng(seedOf('padded poison fit'));
    const x = rng.normal(Nm * Tm * Dm);
    const y = rng.normal(Nm * Tm * 2);
    const train = async (values: Float32Array) => {
      const model = rk.sequential([
        rk.layers.lstm({ units: 4, returnSequences: true, inputShape: [Tm, Dm], seed: 3 }),
        rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2, seed: 4 }) }),
      ]);
      model.compile({ loss: 'mse', optimizer: rk.optimizers.adam({ learningRate: 0.01 }) });
      const xt = rk.tensor(values, [Nm, Tm, Dm]);
      const yt = rk.tensor(y, [Nm, Tm, 2]);
      const h = await model.fit(xt, yt, { epochs: 3, batchSize: 4, shuffle: false, verbose: 0, lengths });
      const weights = model.getWeights().map((w) => {
        const v = w.dataSync();
        w.dispose();
        return v;
      });
      for (const t of [xt, yt]) t.dispose();
      model.dispose();
      return { loss: h.history.loss, weights };
    };
    const want = await train(padWith(x, Nm, Tm, Dm, lengths, () => 0));
    const got = await train(padWith(x, Nm, Tm, Dm, lengths, (k) => POISON[k % POISON.length]!));
    expect(got.loss.every(Number.isFinite)).toBe(true);
    expect(got.loss).toEqual(want.loss);
    got.weights.forEach((w, i) => {
      expect(w.every(Number.isFinite), `weights[${i}] finite`).toBe(true);
      expect(Array.from(w), `weights[${i}]`).toEqual(Array.from(want.weights[i]!));
    });
  });
});

// ---------------------------------------------------------------------------
// Keras masks anywhere (front padding, holes, all masked): forward and BPTT against
// finite differences of the float64 reference, which applies the mask step by step.

const MASK_T = 4;
/** rows: front padding, holes, all masked, none masked */
const MASK = [0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1];
const MASK_N = 4;

describe('gradients: Keras mask (any position), against the float64 reference', () => {
  for (const v of VARIANTS) {
    describe(v.name, () => {
      for (const goBackwards of [false, true]) {
        for (const [rs, maskedOutput] of [[false, 'zeros'], [true, 'zeros'], [true, 'carry']] as const) {
          const name = `${v.name} mask goBackwards=${goBackwards} returnSequences=${rs} maskedOutput=${maskedOutput}`;
          it(name, async () => {
            await checkGradients(name, { cfg: { ...v.cfg, goBackwards, returnSequences: rs, maskedOutput }, N: MASK_N, T: MASK_T, mask: MASK, init: true, dStates: true });
          });
        }
      }
      it(`${v.name} mask and lengths together (a step must pass both)`, async () => {
        const name = `${v.name} mask+lengths`;
        await checkGradients(name, { cfg: { ...v.cfg, returnSequences: true, maskedOutput: 'carry' }, N: MASK_N, T: MASK_T, mask: MASK, lengths: [4, 2, 3, 3], init: true });
      });
      it(`bidirectional(${v.name}) concat returnSequences with a mask`, async () => {
        const name = `bidirectional ${v.name} mask`;
        await checkGradients(name, { cfg: { layer: { ...v.cfg, returnSequences: true }, mergeMode: 'concat' }, N: MASK_N, T: MASK_T, mask: MASK, init: true, dStates: true });
      });
    });
  }
});

describe('gradients: NaN / Inf at masked steps leave every gradient finite and unchanged', () => {
  const Dm = 3;
  for (const v of makeVariants(Dm, 4)) {
    for (const cfg of [
      { ...v.cfg, returnSequences: true, maskedOutput: 'carry' as const },
      { ...v.cfg, goBackwards: true },
      { layer: { ...v.cfg, returnSequences: true }, mergeMode: 'concat' as const },
    ]) {
      const name = `${v.name} ${JSON.stringify(ref.isBidirectional(cfg) ? { bidirectional: true } : { goBackwards: cfg.goBackwards ?? false, returnSequences: cfg.returnSequences ?? false })}`;
      it(name, async () => {
        const rng = new Rng(seedOf(`mask poison ${name}`));
        const layer = makeLayer(cfg);
        layer.setWeights(randomWeights(rng, cfg));
        const x = rng.normal(MASK_N * MASK_T * Dm);
        const clean = Float32Array.from(x, (val, i) => (MASK[Math.floor(i / Dm)] ? val : 0));
        const poisoned = Float32Array.from(x, (val, i) => (MASK[Math.floor(i / Dm)] ? val : POISON[i % POISON.length]!));
        const owned: { dispose(): void }[] = [];
        const run = async (values: Float32Array) => {
          const xt = rk.tensor(values, [MASK_N, MASK_T, Dm]);
          const fwd = await layer.forward(xt, { mask: Uint8Array.from(MASK), training: true });
          const dOutput = rk.tensor(new Rng(23).normal(fwd.output.size), fwd.output.shape);
          const g = await layer.backward(fwd, { dOutput });
          owned.push(xt, fwd, fwd.output, ...fwd.states, dOutput, g.dInput, ...g.dInitialState, ...g.dWeights);
          return [fwd.output, ...fwd.states, g.dInput, ...g.dInitialState, ...g.dWeights].map((t: rk.Tensor) => Array.from(t.dataSync()));
        };
        try {
          const want = await run(clean);
          const got = await run(poisoned);
          got.forEach((values, i) => {
            expect(values.every(Number.isFinite), `result ${i} finite`).toBe(true);
            expect(values, `result ${i}`).toEqual(want[i]);
          });
        } finally {
          for (const o of owned) o.dispose();
          layer.dispose();
        }
      });
    }
  }
});
