/**
 * Parity against TensorFlow.js (an independent implementation of the Keras layers).
 *
 * 1. Forward: tf.layers.lstm / gru (reset_after=false, tfjs rejects true) / simpleRNN /
 *    bidirectional get exactly the same weights as the rnnkit layer (setWeights on both
 *    sides, Keras layout), and must produce the same outputs and final states.
 * 2. Gradients: the cell equations are written here with plain tf ops, unrolled over time,
 *    and differentiated by tfjs's autodiff (tf.grads). rnnkit's layer.backward must give
 *    the same dInput, dInitialState and dWeights (Keras layout, getWeights order).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as rk from '../lib';
import { Rng } from './helpers/random';
import { expectClose } from './helpers/compare';

const FWD_TOL = 1e-5;
const GRAD_TOL = 1e-4;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

// ------------------------------------------------------------------ utilities

type Kind = 'lstm' | 'gru' | 'simpleRNN';
const GATES: Record<Kind, number> = { lstm: 4, gru: 3, simpleRNN: 1 };

interface KerasWeights {
  values: Float32Array[];
  shapes: number[][];
}

/** Random Keras-layout weights [kernel [D,GH], recurrentKernel [H,GH], bias [GH] or [2,GH]]. */
function randomKerasWeights(rng: Rng, kind: Kind, D: number, H: number, resetAfter = false): KerasWeights {
  const G = GATES[kind];
  const kernel = rng.uniform(D * G * H, -1 / Math.sqrt(D), 1 / Math.sqrt(D));
  const recurrent = rng.uniform(H * G * H, -1 / Math.sqrt(H), 1 / Math.sqrt(H));
  const twoBias = kind === 'gru' && resetAfter;
  const bias = rng.uniform((twoBias ? 2 : 1) * G * H, -0.5, 0.5);
  return {
    values: [kernel, recurrent, bias],
    shapes: [[D, G * H], [H, G * H], twoBias ? [2, G * H] : [G * H]],
  };
}

function concatWeights(a: KerasWeights, b: KerasWeights): KerasWeights {
  return { values: [...a.values, ...b.values], shapes: [...a.shapes, ...b.shapes] };
}

function toTf(w: KerasWeights): tf.Tensor[] {
  return w.values.map((v, i) => tf.tensor(v, w.shapes[i]));
}

// ------------------------------------------------------------------ forward parity

type MergeMode = 'concat' | 'sum' | 'mul' | 'ave';

interface ForwardCase {
  name: string;
  kind: Kind;
  /** options passed identically to tfjs and rnnkit */
  opts: {
    returnSequences: boolean;
    goBackwards?: boolean;
    activation?: string;
    recurrentActivation?: string;
  };
  mergeMode?: MergeMode;
  initialState?: boolean;
  seed: number;
}

const N = 4;
const T = 20;
const D = 8;
const H = 16;
const FILE_SHAPE = { N, T, D, H };

function makeTfLayer(c: ForwardCase): tf.layers.Layer {
  const base = { units: H, returnState: true, ...c.opts } as Record<string, unknown>;
  // tfjs-layers defaults recurrentActivation to 'hardSigmoid' (Keras 1/2 era); rnnkit follows
  // TF2 Keras ('sigmoid'). The rnnkit layer is left on its default to check it.
  if (c.kind !== 'simpleRNN' && base.recurrentActivation === undefined) base.recurrentActivation = 'sigmoid';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const mk = (): tf.layers.Layer => (tf.layers as any)[c.kind](base);
  if (c.mergeMode) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return tf.layers.bidirectional({ layer: mk() as any, mergeMode: c.mergeMode });
  }
  return mk();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function makeRkLayer(c: ForwardCase): any {
  const opts: Record<string, unknown> = { units: H, ...c.opts };
  if (c.kind === 'gru') opts.resetAfter = false; // tfjs only implements reset_after=false
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const inner = (rk.layers as any)[c.kind](opts);
  if (c.mergeMode) return rk.layers.bidirectional({ layer: inner, mergeMode: c.mergeMode });
  return inner;
}

const forwardCases: ForwardCase[] = [
  { name: 'lstm, sequences', kind: 'lstm', opts: { returnSequences: true }, seed: 11 },
  { name: 'lstm, last output, initial state', kind: 'lstm', opts: { returnSequences: false }, initialState: true, seed: 12 },
  { name: 'lstm, goBackwards, sequences', kind: 'lstm', opts: { returnSequences: true, goBackwards: true }, seed: 13 },
  {
    name: 'lstm, hardSigmoid recurrent / relu activation, goBackwards last output',
    kind: 'lstm',
    opts: { returnSequences: false, goBackwards: true, activation: 'relu', recurrentActivation: 'hardSigmoid' },
    seed: 14,
  },
  { name: 'gru(resetAfter=false), sequences', kind: 'gru', opts: { returnSequences: true }, seed: 21 },
  { name: 'gru(resetAfter=false), last output, initial state', kind: 'gru', opts: { returnSequences: false }, initialState: true, seed: 22 },
  { name: 'gru(resetAfter=false), goBackwards', kind: 'gru', opts: { returnSequences: true, goBackwards: true }, seed: 23 },
  {
    name: 'gru(resetAfter=false), hardSigmoid recurrent / sigmoid activation',
    kind: 'gru',
    opts: { returnSequences: true, activation: 'sigmoid', recurrentActivation: 'hardSigmoid' },
    seed: 24,
  },
  { name: 'simpleRNN tanh, sequences', kind: 'simpleRNN', opts: { returnSequences: true }, seed: 31 },
  { name: 'simpleRNN relu, last output, initial state', kind: 'simpleRNN', opts: { returnSequences: false, activation: 'relu' }, initialState: true, seed: 32 },
  { name: 'simpleRNN linear, goBackwards', kind: 'simpleRNN', opts: { returnSequences: true, goBackwards: true, activation: 'linear' }, seed: 33 },
  { name: 'simpleRNN sigmoid, goBackwards last output', kind: 'simpleRNN', opts: { returnSequences: false, goBackwards: true, activation: 'sigmoid' }, seed: 34 },
  { name: 'bidirectional lstm concat, sequences', kind: 'lstm', opts: { returnSequences: true }, mergeMode: 'concat', seed: 41 },
  { name: 'bidirectional lstm ave, last output, initial state', kind: 'lstm', opts: { returnSequences: false }, mergeMode: 'ave', initialState: true, seed: 42 },
  { name: 'bidirectional gru sum, sequences', kind: 'gru', opts: { returnSequences: true }, mergeMode: 'sum', seed: 43 },
  { name: 'bidirectional gru concat, last output', kind: 'gru', opts: { returnSequences: false }, mergeMode: 'concat', seed: 44 },
  { name: 'bidirectional simpleRNN mul, sequences, initial state', kind: 'simpleRNN', opts: { returnSequences: true }, mergeMode: 'mul', initialState: true, seed: 45 },
];

describe('forward parity with tf.layers', () => {
  for (const c of forwardCases) {
    it(c.name, async () => {
      const rng = new Rng(c.seed);
      const x = rng.normal(N * T * D);
      const dirs = c.mergeMode ? 2 : 1;
      let weights = randomKerasWeights(rng, c.kind, D, H);
      if (dirs === 2) weights = concatWeights(weights, randomKerasWeights(rng, c.kind, D, H));
      const statesPerDir = c.kind === 'lstm' ? 2 : 1;
      const init: Float32Array[] = [];
      if (c.initialState) for (let i = 0; i < dirs * statesPerDir; i++) init.push(rng.normal(N * H, 0, 0.5));

      // tfjs reference
      const xt = tf.tensor3d(x, [N, T, D]);
      const tfLayer = makeTfLayer(c);
      tfLayer.apply(xt); // builds
      tfLayer.setWeights(toTf(weights));
      const kwargs = c.initialState ? { initialState: init.map((v) => tf.tensor2d(v, [N, H])) } : undefined;
      const tfRes = tfLayer.apply(xt, kwargs) as tf.Tensor[];
      const [tfOut, ...tfStates] = tfRes;
      expect(tfStates.length).toBe(dirs * statesPerDir);

      // rnnkit
      const layer = makeRkLayer(c);
      layer.setWeights(weights.values);
      const got = layer.getWeights();
      expect(got.length).toBe(weights.values.length);
      for (let i = 0; i < got.length; i++) {
        expect(got[i].shape, `weight ${i} shape`).toEqual(weights.shapes[i]);
        expectClose(got[i].dataSync(), weights.values[i], 0, `getWeights()[${i}] round trip`);
      }
      const xr = rk.tensor(x, [N, T, D]);
      const initR = init.map((v) => rk.tensor(v, [N, H]));
      const fwd = await layer.forward(xr, c.initialState ? { initialState: initR } : {});
      expect(fwd.output.shape).toEqual(tfOut.shape);
      expectClose(await fwd.output.data(), tfOut.dataSync(), FWD_TOL, 'output');
      expect(fwd.states.length).toBe(tfStates.length);
      for (let i = 0; i < tfStates.length; i++) {
        expect(fwd.states[i].shape).toEqual(tfStates[i].shape);
        expectClose(fwd.states[i].dataSync(), tfStates[i].dataSync(), FWD_TOL, `state ${i}`);
      }
      fwd.dispose?.();
      xr.dispose();
      initR.forEach((t) => t.dispose());
      tf.dispose([xt, ...tfRes, ...(kwargs?.initialState ?? [])]);
      tfLayer.dispose();
    });
  }
});

// ------------------------------------------------------------------ autodiff reference

type GradKind = 'lstm' | 'gru' | 'gruResetAfter' | 'simpleRNN';

function activationFn(name: string): (t: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'tanh':
      return (t) => tf.tanh(t);
    case 'sigmoid':
      return (t) => tf.sigmoid(t);
    case 'hardSigmoid': // Keras 2 / tfjs: clip(0.2x + 0.5, 0, 1)
      return (t) => tf.clipByValue(tf.add(tf.mul(t, 0.2), 0.5), 0, 1);
    case 'relu':
      return (t) => tf.relu(t);
    case 'linear':
      return (t) => t;
    default:
      throw new Error(`no reference for activation ${name}`);
  }
}

interface RefOptions {
  kind: GradKind;
  activation: string;
  recurrentActivation: string;
  returnSequences: boolean;
  goBackwards: boolean;
  lengths?: number[];
  N: number;
  T: number;
  D: number;
  H: number;
}

/**
 * The Keras / cuDNN recurrences written with tf ops. Masking: at processing step p a
 * sequence of length L is active iff p < L; inactive steps keep the state and output 0.
 * goBackwards: processing step p consumes x[L-1-p] (only the valid steps are reversed),
 * and the sequence output is in processing order. Without returnSequences the output is
 * that of the last valid step (zeros when L = 0).
 */
function referenceForward(
  o: RefOptions,
  x: tf.Tensor,
  h0: tf.Tensor,
  c0: tf.Tensor | null,
  kernel: tf.Tensor,
  recurrent: tf.Tensor,
  bias: tf.Tensor,
): { output: tf.Tensor; h: tf.Tensor; c: tf.Tensor | null } {
  const { N, T, D, H } = o;
  const act = activationFn(o.activation);
  const rec = activationFn(o.recurrentActivation);
  const xs = tf.reshape(x, [N * T, D]);
  const lengths = o.lengths ?? new Array<number>(N).fill(T);
  let h = h0;
  let c = c0;
  const outs: tf.Tensor[] = [];
  let last: tf.Tensor = tf.zeros([N, H]);

  for (let p = 0; p < T; p++) {
    const idx: number[] = [];
    const m: number[] = [];
    const isLast: number[] = [];
    for (let n = 0; n < N; n++) {
      const L = lengths[n];
      const valid = p < L;
      const src = o.goBackwards ? (valid ? L - 1 - p : 0) : p;
      idx.push(n * T + src);
      m.push(valid ? 1 : 0);
      isLast.push(p === L - 1 ? 1 : 0);
    }
    const xt = tf.gather(xs, tf.tensor1d(idx, 'int32'));
    let hNew: tf.Tensor;
    let cNew: tf.Tensor | null = null;
    switch (o.kind) {
      case 'lstm': {
        const z = tf.add(tf.add(tf.matMul(xt, kernel), tf.matMul(h, recurrent)), bias);
        const [zi, zf, zc, zo] = tf.split(z, 4, 1);
        const i = rec(zi);
        const f = rec(zf);
        const g = act(zc);
        const og = rec(zo);
        cNew = tf.add(tf.mul(f, c as tf.Tensor), tf.mul(i, g));
        hNew = tf.mul(og, act(cNew));
        break;
      }
      case 'gru': {
        // Keras reset_after=False: single bias on the input side, reset applied before R_h.
        const xm = tf.add(tf.matMul(xt, kernel), bias);
        const [xz, xr, xh] = tf.split(xm, 3, 1);
        const [rz, rr, rh] = tf.split(recurrent, 3, 1);
        const z = rec(tf.add(xz, tf.matMul(h, rz)));
        const r = rec(tf.add(xr, tf.matMul(h, rr)));
        const hh = act(tf.add(xh, tf.matMul(tf.mul(r, h), rh)));
        hNew = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh));
        break;
      }
      case 'gruResetAfter': {
        // Keras reset_after=True / cuDNN: bias [2,3H] = [input bias; recurrent bias].
        const [bi, br] = tf.unstack(bias, 0);
        const xm = tf.add(tf.matMul(xt, kernel), bi);
        const hm = tf.add(tf.matMul(h, recurrent), br);
        const [xz, xr, xh] = tf.split(xm, 3, 1);
        const [hz, hr, hh0] = tf.split(hm, 3, 1);
        const z = rec(tf.add(xz, hz));
        const r = rec(tf.add(xr, hr));
        const hh = act(tf.add(xh, tf.mul(r, hh0)));
        hNew = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh));
        break;
      }
      case 'simpleRNN':
        hNew = act(tf.add(tf.add(tf.matMul(xt, kernel), tf.matMul(h, recurrent)), bias));
        break;
    }
    const mask = tf.tensor2d(m, [N, 1]);
    const keep = tf.sub(1, mask);
    const out = tf.mul(hNew, mask);
    h = tf.add(out, tf.mul(h, keep));
    if (c && cNew) c = tf.add(tf.mul(cNew, mask), tf.mul(c, keep));
    outs.push(out);
    last = tf.add(last, tf.mul(out, tf.tensor2d(isLast, [N, 1])));
  }
  const output = o.returnSequences ? tf.stack(outs, 1) : last;
  return { output, h, c };
}

interface GradCase {
  name: string;
  kind: GradKind;
  activation?: string;
  recurrentActivation?: string;
  returnSequences: boolean;
  goBackwards?: boolean;
  lengths?: number[];
  seed: number;
  /** N, T, D, H other than the file's */
  shape?: { N: number; T: number; D: number; H: number };
}

function rkKind(k: GradKind): Kind {
  return k === 'gruResetAfter' ? 'gru' : k;
}

function refOptions(c: GradCase): RefOptions {
  return {
    kind: c.kind,
    activation: c.activation ?? 'tanh',
    recurrentActivation: c.recurrentActivation ?? 'sigmoid',
    returnSequences: c.returnSequences,
    goBackwards: c.goBackwards ?? false,
    lengths: c.lengths,
    ...(c.shape ?? FILE_SHAPE),
  };
}

describe('the tf-ops reference itself agrees with tf.layers (sanity, no rnnkit)', () => {
  const sanity: GradCase[] = [
    { name: 'lstm', kind: 'lstm', returnSequences: true, seed: 101 },
    { name: 'lstm goBackwards hardSigmoid', kind: 'lstm', returnSequences: true, goBackwards: true, recurrentActivation: 'hardSigmoid', seed: 102 },
    { name: 'gru reset_after=false', kind: 'gru', returnSequences: true, seed: 103 },
    { name: 'simpleRNN relu, last output', kind: 'simpleRNN', activation: 'relu', returnSequences: false, seed: 104 },
  ];
  for (const c of sanity) {
    it(c.name, () => {
      const rng = new Rng(c.seed);
      const k = rkKind(c.kind);
      const w = randomKerasWeights(rng, k, D, H);
      const x = tf.tensor3d(rng.normal(N * T * D), [N, T, D]);
      const h0 = tf.tensor2d(rng.normal(N * H, 0, 0.5), [N, H]);
      const c0 = tf.tensor2d(rng.normal(N * H, 0, 0.5), [N, H]);
      const o = refOptions(c);
      const [kernel, recurrent, bias] = toTf(w);
      const ref = referenceForward(o, x, h0, k === 'lstm' ? c0 : null, kernel, recurrent, bias);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const layer = (tf.layers as any)[k]({
        units: H,
        returnSequences: c.returnSequences,
        goBackwards: c.goBackwards ?? false,
        activation: o.activation,
        recurrentActivation: k === 'simpleRNN' ? undefined : o.recurrentActivation,
      }) as tf.layers.Layer;
      layer.apply(x);
      layer.setWeights([kernel, recurrent, bias]);
      const y = layer.apply(x, { initialState: k === 'lstm' ? [h0, c0] : [h0] }) as tf.Tensor;
      expectClose(ref.output.dataSync(), y.dataSync(), 1e-6, 'reference vs tf.layers');
    });
  }
});

const gradCases: GradCase[] = [
  { name: 'lstm', kind: 'lstm', returnSequences: true, seed: 201 },
  { name: 'gru resetAfter=true', kind: 'gruResetAfter', returnSequences: true, seed: 202 },
  { name: 'gru resetAfter=false', kind: 'gru', returnSequences: true, seed: 203 },
  { name: 'simpleRNN tanh', kind: 'simpleRNN', returnSequences: true, seed: 204 },
  { name: 'lstm, last output only', kind: 'lstm', returnSequences: false, seed: 205 },
  {
    name: 'lstm with lengths and goBackwards (incl. a zero length)',
    kind: 'lstm',
    returnSequences: true,
    goBackwards: true,
    lengths: [20, 13, 1, 0],
    seed: 206,
  },
  {
    name: 'gru resetAfter=true with lengths and goBackwards, last output',
    kind: 'gruResetAfter',
    returnSequences: false,
    goBackwards: true,
    lengths: [7, 20, 3, 16],
    seed: 207,
  },
  {
    name: 'gru resetAfter=false with lengths, hardSigmoid',
    kind: 'gru',
    returnSequences: true,
    recurrentActivation: 'hardSigmoid',
    lengths: [11, 20, 2, 19],
    seed: 208,
  },
  {
    name: 'simpleRNN relu with lengths and goBackwards',
    kind: 'simpleRNN',
    activation: 'relu',
    returnSequences: true,
    goBackwards: true,
    lengths: [5, 20, 12, 1],
    seed: 209,
  },
  // 256 units: the gate gradients are 4 KiB a row, read in place by the per-step and dx GEMMs
  // in groups of 8 rows where AVX-512 takes 12 (20 rows: several groups on 1 and 2 threads).
  {
    name: 'lstm, 256 units, 20 sequences (gate gradients 4 KiB a row)',
    kind: 'lstm',
    returnSequences: true,
    lengths: [4, 1, 4, 3, 4, 2, 4, 4, 0, 4, 3, 4, 4, 1, 4, 4, 2, 4, 4, 4],
    seed: 210,
    shape: { N: 20, T: 4, D: 24, H: 256 },
  },
  // an input wider than the gate gradients (D > 3H): dW a GEMM and the input-side bias a
  // column sum, not one GEMM over [x | 1]
  {
    name: 'gru reset_after, input wider than the gates (D = 64, H = 8)',
    kind: 'gruResetAfter',
    returnSequences: false,
    seed: 211,
    shape: { N: 5, T: 6, D: 64, H: 8 },
  },
];

describe('gradients match tfjs autodiff of the unrolled cell equations', () => {
  for (const c of gradCases) {
    it(c.name, async () => {
      const { N, T, D, H } = c.shape ?? FILE_SHAPE;
      const rng = new Rng(c.seed);
      const k = rkKind(c.kind);
      const isLstm = k === 'lstm';
      const w = randomKerasWeights(rng, k, D, H, c.kind === 'gruResetAfter');
      const xv = rng.normal(N * T * D);
      const h0v = rng.normal(N * H, 0, 0.5);
      const c0v = rng.normal(N * H, 0, 0.5);
      const outShape = c.returnSequences ? [N, T, H] : [N, H];
      const Gv = rng.normal(outShape.reduce((a, b) => a * b, 1));
      const Ghv = rng.normal(N * H);
      const Gcv = rng.normal(N * H);
      const o = refOptions(c);

      // --- tfjs autodiff reference
      const G = tf.tensor(Gv, outShape);
      const Gh = tf.tensor2d(Ghv, [N, H]);
      const Gc = tf.tensor2d(Gcv, [N, H]);
      const args: tf.Tensor[] = [tf.tensor3d(xv, [N, T, D]), tf.tensor2d(h0v, [N, H])];
      if (isLstm) args.push(tf.tensor2d(c0v, [N, H]));
      args.push(...toTf(w));
      const lossOf = (...a: tf.Tensor[]) => {
        const [x, h0] = a;
        const c0 = isLstm ? a[2] : null;
        const [kernel, recurrent, bias] = a.slice(isLstm ? 3 : 2);
        const r = referenceForward(o, x, h0, c0, kernel, recurrent, bias);
        let loss = tf.add(tf.sum(tf.mul(r.output, G)), tf.sum(tf.mul(r.h, Gh)));
        if (r.c) loss = tf.add(loss, tf.sum(tf.mul(r.c, Gc)));
        return loss as tf.Scalar;
      };
      const refTensors = tf.tidy(() => {
        const [x, h0] = args;
        const c0 = isLstm ? args[2] : null;
        const [kernel, recurrent, bias] = args.slice(isLstm ? 3 : 2);
        const r = referenceForward(o, x, h0, c0, kernel, recurrent, bias);
        return r.c ? [r.output, r.h, r.c] : [r.output, r.h];
      });
      const refFwd = {
        output: refTensors[0].dataSync().slice(),
        h: refTensors[1].dataSync().slice(),
        c: refTensors[2] ? refTensors[2].dataSync().slice() : null,
      };
      tf.dispose(refTensors);
      const refGrads = tf.tidy(() => tf.grads(lossOf)(args).map((g) => g.dataSync().slice()));

      // --- rnnkit
      const opts: Record<string, unknown> = {
        units: H,
        returnSequences: c.returnSequences,
        goBackwards: c.goBackwards ?? false,
      };
      if (c.activation) opts.activation = c.activation;
      if (c.recurrentActivation) opts.recurrentActivation = c.recurrentActivation;
      if (k === 'gru') opts.resetAfter = c.kind === 'gruResetAfter';
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const layer = (rk.layers as any)[k](opts);
      layer.setWeights(w.values);
      const x = rk.tensor(xv, [N, T, D]);
      const init = isLstm ? [rk.tensor(h0v, [N, H]), rk.tensor(c0v, [N, H])] : [rk.tensor(h0v, [N, H])];
      const fwd = await layer.forward(x, {
        initialState: init,
        training: true,
        ...(c.lengths ? { lengths: Int32Array.from(c.lengths) } : {}),
      });
      expect(fwd.output.shape).toEqual(outShape);
      expectClose(fwd.output.dataSync(), refFwd.output, FWD_TOL, 'forward output');
      expectClose(fwd.states[0].dataSync(), refFwd.h, FWD_TOL, 'final h');
      if (isLstm) expectClose(fwd.states[1].dataSync(), refFwd.c as Float32Array, FWD_TOL, 'final c');

      const dStates = isLstm ? [rk.tensor(Ghv, [N, H]), rk.tensor(Gcv, [N, H])] : [rk.tensor(Ghv, [N, H])];
      const g = await layer.backward(fwd, { dOutput: rk.tensor(Gv, outShape), dStates });

      let gi = 0;
      expect(g.dInput.shape).toEqual([N, T, D]);
      expectClose(g.dInput.dataSync(), refGrads[gi++], GRAD_TOL, 'dInput');
      expect(g.dInitialState.length).toBe(isLstm ? 2 : 1);
      expectClose(g.dInitialState[0].dataSync(), refGrads[gi++], GRAD_TOL, 'dInitialState[h]');
      if (isLstm) expectClose(g.dInitialState[1].dataSync(), refGrads[gi++], GRAD_TOL, 'dInitialState[c]');
      expect(g.dWeights.length).toBe(3);
      const names = ['dKernel', 'dRecurrentKernel', 'dBias'];
      for (let i = 0; i < 3; i++) {
        expect(g.dWeights[i].shape, `${names[i]} shape`).toEqual(w.shapes[i]);
        expectClose(g.dWeights[i].dataSync(), refGrads[gi++], GRAD_TOL, names[i]);
      }

      fwd.dispose?.();
      tf.dispose([G, Gh, Gc, ...args]);
    });
  }
});
