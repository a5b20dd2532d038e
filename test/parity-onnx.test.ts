/**
 * Parity against ONNX Runtime (onnxruntime-node, CPU), an independent implementation of
 * the ONNX LSTM / GRU / RNN operators. Models are built in-process by a tiny protobuf
 * encoder (helpers/onnx.ts).
 *
 * Random weights are drawn in ONNX layout; they are handed to rnnkit (a) through
 * setWeights after the explicit ONNX -> Keras layout mapping written below (independent
 * from rnnkit's importers), and (b) through rnnkit's own importers
 * (importWeights('onnx' | 'pytorch')), whose PyTorch input is produced by the explicit
 * ONNX -> PyTorch mapping below. exportWeights must round-trip.
 */
import { describe, it, expect } from 'vitest';
import * as ort from 'onnxruntime-node';
import * as rk from '../lib';
import { Rng } from './helpers/random';
import { expectClose } from './helpers/compare';
import { buildRnnModel, gateCount, type OnnxDirection, type OnnxRnnOp } from '../bench/onnx-model';

const TOL = 1e-5;
const COPY_TOL = 1e-6;

// ------------------------------------------------------------------ utilities

/** Elements that must be exactly zero (masked steps). */
function expectZerosAt(actual: ArrayLike<number>, indices: number[], what: string): void {
  const bad = indices.filter((i) => actual[i] !== 0);
  expect(bad.length, `${what}: ${bad.length} masked elements are not zero (first at ${bad[0]})`).toBe(0);
}

// ------------------------------------------------------------------ layout mapping
//
// ONNX (per direction):  W [G*H, D], R [G*H, H], B [2*G*H] = [Wb ; Rb]
//   LSTM gates i,o,f,c   GRU gates z,r,h   RNN: one gate
//   direction 0 = forward, 1 = reverse; X [T,N,D] (time-major); Y [T,dirs,N,H]
// Keras:  kernel [D, G*H], recurrentKernel [H, G*H] (column blocks)
//   LSTM gates i,f,c,o   GRU gates z,r,h   RNN: one gate
//   bias [G*H] = Wb + Rb, except GRU reset_after=True: bias [2, G*H] = [Wb ; Rb]
//   (ONNX GRU linear_before_reset=1 is Keras reset_after=True; =0 is reset_after=False,
//    where Rb_h is outside the reset gate and so simply adds to Wb_h.)
// PyTorch: weight_ih [G*H, D], weight_hh [G*H, H], bias_ih = Wb, bias_hh = Rb
//   LSTM gates i,f,g,o   GRU gates r,z,n (PyTorch GRU is linear_before_reset=1)

/** For each ONNX gate position, the Keras gate index. */
const KERAS_GATE_OF_ONNX_GATE: Record<OnnxRnnOp, number[]> = {
  LSTM: [0, 3, 1, 2], // ONNX i,o,f,c -> Keras i(0), o(3), f(1), c(2)
  GRU: [0, 1, 2], // z,r,h in both
  RNN: [0],
};

/** For each PyTorch gate position, the ONNX gate index. */
const ONNX_GATE_OF_TORCH_GATE: Record<OnnxRnnOp, number[]> = {
  LSTM: [0, 2, 3, 1], // torch i,f,g,o <- ONNX i(0), f(2), c(3), o(1)
  GRU: [1, 0, 2], // torch r,z,n <- ONNX r(1), z(0), h(2)
  RNN: [0],
};

interface OnnxWeights {
  W: Float32Array; // [dirs, G*H, D]
  R: Float32Array; // [dirs, G*H, H]
  B: Float32Array; // [dirs, 2*G*H]
}

interface Dims {
  T: number;
  N: number;
  D: number;
  H: number;
  dirs: number;
}

function randomOnnxWeights(rng: Rng, op: OnnxRnnOp, d: Dims): OnnxWeights {
  const G = gateCount(op);
  const { D, H, dirs } = d;
  return {
    W: rng.uniform(dirs * G * H * D, -1 / Math.sqrt(D), 1 / Math.sqrt(D)),
    R: rng.uniform(dirs * G * H * H, -1 / Math.sqrt(H), 1 / Math.sqrt(H)),
    B: rng.uniform(dirs * 2 * G * H, -0.5, 0.5),
  };
}

/** ONNX -> Keras weights: [kernel, recurrentKernel, bias] per direction, forward first. */
function onnxToKeras(op: OnnxRnnOp, linearBeforeReset: number, w: OnnxWeights, d: Dims): Float32Array[] {
  const G = gateCount(op);
  const { D, H, dirs } = d;
  const GH = G * H;
  const twoBias = op === 'GRU' && linearBeforeReset === 1;
  const out: Float32Array[] = [];
  for (let dir = 0; dir < dirs; dir++) {
    const kernel = new Float32Array(D * GH);
    const recurrent = new Float32Array(H * GH);
    const bias = new Float32Array((twoBias ? 2 : 1) * GH);
    for (let g = 0; g < G; g++) {
      const kg = KERAS_GATE_OF_ONNX_GATE[op][g];
      for (let j = 0; j < H; j++) {
        const row = g * H + j; // ONNX row
        const col = kg * H + j; // Keras column
        for (let k = 0; k < D; k++) kernel[k * GH + col] = w.W[dir * GH * D + row * D + k];
        for (let k = 0; k < H; k++) recurrent[k * GH + col] = w.R[dir * GH * H + row * H + k];
        const wb = w.B[dir * 2 * GH + row];
        const rb = w.B[dir * 2 * GH + GH + row];
        if (twoBias) {
          bias[col] = wb;
          bias[GH + col] = rb;
        } else {
          bias[col] = wb + rb;
        }
      }
    }
    out.push(kernel, recurrent, bias);
  }
  return out;
}

/** ONNX -> PyTorch state-dict entries (layer 0; '_reverse' for the backward direction). */
function onnxToTorch(op: OnnxRnnOp, w: OnnxWeights, d: Dims): Record<string, Float32Array> {
  const G = gateCount(op);
  const { D, H, dirs } = d;
  const GH = G * H;
  const out: Record<string, Float32Array> = {};
  for (let dir = 0; dir < dirs; dir++) {
    const sfx = dir === 0 ? '' : '_reverse';
    const wih = new Float32Array(GH * D);
    const whh = new Float32Array(GH * H);
    const bih = new Float32Array(GH);
    const bhh = new Float32Array(GH);
    for (let q = 0; q < G; q++) {
      const og = ONNX_GATE_OF_TORCH_GATE[op][q];
      for (let j = 0; j < H; j++) {
        const trow = q * H + j;
        const orow = og * H + j;
        for (let k = 0; k < D; k++) wih[trow * D + k] = w.W[dir * GH * D + orow * D + k];
        for (let k = 0; k < H; k++) whh[trow * H + k] = w.R[dir * GH * H + orow * H + k];
        bih[trow] = w.B[dir * 2 * GH + orow];
        bhh[trow] = w.B[dir * 2 * GH + GH + orow];
      }
    }
    out[`weight_ih_l0${sfx}`] = wih;
    out[`weight_hh_l0${sfx}`] = whh;
    out[`bias_ih_l0${sfx}`] = bih;
    out[`bias_hh_l0${sfx}`] = bhh;
  }
  return out;
}

/**
 * The observable part of ONNX biases: Wb + Rb for every gate where the two only ever
 * appear as a sum, and Wb, Rb separately for the GRU candidate gate with
 * linear_before_reset=1 (there Rb is multiplied by the reset gate).
 */
function effectiveOnnxBias(op: OnnxRnnOp, linearBeforeReset: number, B: ArrayLike<number>, d: Dims): number[] {
  const G = gateCount(op);
  const GH = G * d.H;
  const out: number[] = [];
  for (let dir = 0; dir < d.dirs; dir++) {
    for (let g = 0; g < G; g++) {
      const separate = op === 'GRU' && linearBeforeReset === 1 && g === 2;
      for (let j = 0; j < d.H; j++) {
        const wb = B[dir * 2 * GH + g * d.H + j];
        const rb = B[dir * 2 * GH + GH + g * d.H + j];
        if (separate) out.push(wb, rb);
        else out.push(wb + rb);
      }
    }
  }
  return out;
}

/** The same for PyTorch biases (gate order r,z,n / i,f,g,o). */
function effectiveTorchBias(op: OnnxRnnOp, bih: ArrayLike<number>, bhh: ArrayLike<number>, H: number): number[] {
  const G = gateCount(op);
  const out: number[] = [];
  for (let q = 0; q < G; q++) {
    const separate = op === 'GRU' && q === 2;
    for (let j = 0; j < H; j++) {
      if (separate) out.push(bih[q * H + j], bhh[q * H + j]);
      else out.push(bih[q * H + j] + bhh[q * H + j]);
    }
  }
  return out;
}

// ------------------------------------------------------------------ running both sides

interface Case {
  name: string;
  op: OnnxRnnOp;
  linearBeforeReset?: 0 | 1;
  direction: OnnxDirection;
  returnSequences: boolean;
  lengths?: number[];
  initialState: boolean;
  /** rnnkit activation names; mapped to ONNX names below */
  activation?: string;
  recurrentActivation?: string;
  seed: number;
}

const ONNX_ACT: Record<string, string> = {
  tanh: 'Tanh',
  sigmoid: 'Sigmoid',
  relu: 'Relu',
  hardSigmoid: 'HardSigmoid',
};

function onnxActivations(c: Case): { names?: string[]; alpha?: number[]; beta?: number[] } {
  if (!c.activation && !c.recurrentActivation) return {};
  const act = c.activation ?? 'tanh';
  const rec = c.recurrentActivation ?? 'sigmoid';
  // ONNX: LSTM [f, g, h] = [recurrent, activation, activation]; GRU [f, g]; RNN [f].
  const perDir = c.op === 'LSTM' ? [rec, act, act] : c.op === 'GRU' ? [rec, act] : [act];
  const dirs = c.direction === 'bidirectional' ? 2 : 1;
  const all: string[] = [];
  for (let i = 0; i < dirs; i++) all.push(...perDir);
  // activation_alpha / activation_beta are consumed in order by the activations that take
  // them; HardSigmoid is the only one used here: Keras 2 / tfjs clip(0.2x + 0.5, 0, 1).
  const alpha: number[] = [];
  const beta: number[] = [];
  for (const a of all) {
    if (a === 'hardSigmoid') {
      alpha.push(0.2);
      beta.push(0.5);
    }
  }
  return {
    names: all.map((a) => ONNX_ACT[a]),
    alpha: alpha.length ? alpha : undefined,
    beta: beta.length ? beta : undefined,
  };
}

interface Prepared {
  d: Dims;
  x: Float32Array; // [N,T,D] batch-first, for rnnkit
  weights: OnnxWeights;
  init: Float32Array[]; // ONNX initial_h (and initial_c), each [dirs,N,H]
  lengths: number[];
  /** what rnnkit must return: output and states, derived from ORT's Y / Y_h / Y_c */
  expectedOutput: Float32Array;
  expectedOutputShape: number[];
  expectedStates: Float32Array[];
  /** flat indices of the output that are masked (must be exactly 0) */
  maskedIndices: number[];
}

const DIMS = { T: 9, N: 5, D: 6, H: 8 };

async function runOrt(c: Case): Promise<Prepared> {
  const rng = new Rng(c.seed);
  const dirs = c.direction === 'bidirectional' ? 2 : 1;
  const d: Dims = { ...DIMS, dirs };
  const { T, N, D, H } = d;
  const weights = randomOnnxWeights(rng, c.op, d);
  const x = rng.normal(N * T * D);
  const lengths = c.lengths ?? new Array<number>(N).fill(T);
  const init: Float32Array[] = [];
  if (c.initialState) {
    init.push(rng.normal(dirs * N * H, 0, 0.5));
    if (c.op === 'LSTM') init.push(rng.normal(dirs * N * H, 0, 0.5));
  }

  const acts = onnxActivations(c);
  const model = buildRnnModel({
    op: c.op,
    ...d,
    direction: c.direction,
    W: weights.W,
    R: weights.R,
    B: weights.B,
    linearBeforeReset: c.linearBeforeReset,
    activations: acts.names,
    activationAlpha: acts.alpha,
    activationBeta: acts.beta,
    withSequenceLens: !!c.lengths,
    withInitialH: c.initialState,
    withInitialC: c.initialState && c.op === 'LSTM',
  });
  const session = await ort.InferenceSession.create(Buffer.from(model));

  // X is time-major in ONNX.
  const X = new Float32Array(T * N * D);
  for (let n = 0; n < N; n++)
    for (let t = 0; t < T; t++)
      for (let k = 0; k < D; k++) X[(t * N + n) * D + k] = x[(n * T + t) * D + k];
  const feeds: Record<string, ort.Tensor> = { X: new ort.Tensor('float32', X, [T, N, D]) };
  if (c.lengths) feeds.sequence_lens = new ort.Tensor('int32', Int32Array.from(lengths), [N]);
  if (c.initialState) {
    feeds.initial_h = new ort.Tensor('float32', init[0], [dirs, N, H]);
    if (c.op === 'LSTM') feeds.initial_c = new ort.Tensor('float32', init[1], [dirs, N, H]);
  }
  const res = await session.run(feeds);
  await session.release();
  const Y = res.Y.data as Float32Array; // [T, dirs, N, H]
  const Yh = res.Y_h.data as Float32Array; // [dirs, N, H]
  const Yc = c.op === 'LSTM' ? (res.Y_c.data as Float32Array) : null;
  expect(res.Y.dims).toEqual([T, dirs, N, H]);

  // Expected rnnkit output. Keras goBackwards: processing step p (< L) consumes x[L-1-p]
  // and the sequence output is in processing order, whereas ONNX 'reverse' writes the
  // output of the step that consumed x[t] at Y[t]. Bidirectional: both ONNX and rnnkit
  // align the backward output with the input positions. Masked steps (t >= L) are 0.
  const outH = dirs * H; // concat merge
  const maskedIndices: number[] = [];
  let expectedOutput: Float32Array;
  let expectedOutputShape: number[];
  const yAt = (t: number, dir: number, n: number, j: number) => Y[((t * dirs + dir) * N + n) * H + j];
  if (c.returnSequences) {
    expectedOutput = new Float32Array(N * T * outH);
    expectedOutputShape = [N, T, outH];
    for (let n = 0; n < N; n++) {
      const L = lengths[n];
      for (let t = 0; t < T; t++) {
        for (let dir = 0; dir < dirs; dir++) {
          for (let j = 0; j < H; j++) {
            const idx = (n * T + t) * outH + dir * H + j;
            if (t >= L) {
              maskedIndices.push(idx);
              continue;
            }
            const src = c.direction === 'reverse' ? L - 1 - t : t;
            expectedOutput[idx] = yAt(src, dir, n, j);
          }
        }
      }
    }
  } else {
    // The last processing step's output = the final state of each direction = Y_h.
    expectedOutput = new Float32Array(N * outH);
    expectedOutputShape = [N, outH];
    for (let n = 0; n < N; n++)
      for (let dir = 0; dir < dirs; dir++)
        for (let j = 0; j < H; j++) expectedOutput[n * outH + dir * H + j] = Yh[(dir * N + n) * H + j];
  }
  const expectedStates: Float32Array[] = [];
  for (let dir = 0; dir < dirs; dir++) {
    expectedStates.push(Yh.slice(dir * N * H, (dir + 1) * N * H));
    if (Yc) expectedStates.push(Yc.slice(dir * N * H, (dir + 1) * N * H));
  }
  return { d, x, weights, init, lengths, expectedOutput, expectedOutputShape, expectedStates, maskedIndices };
}

function rkKind(op: OnnxRnnOp): 'lstm' | 'gru' | 'simpleRNN' {
  return op === 'LSTM' ? 'lstm' : op === 'GRU' ? 'gru' : 'simpleRNN';
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function makeRkLayer(c: Case): any {
  const opts: Record<string, unknown> = {
    units: DIMS.H,
    returnSequences: c.returnSequences,
    goBackwards: c.direction === 'reverse',
  };
  if (c.activation) opts.activation = c.activation;
  if (c.recurrentActivation) opts.recurrentActivation = c.recurrentActivation;
  if (c.op === 'GRU') opts.resetAfter = c.linearBeforeReset === 1;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const inner = (rk.layers as any)[rkKind(c.op)](opts);
  if (c.direction === 'bidirectional') return rk.layers.bidirectional({ layer: inner, mergeMode: 'concat' });
  return inner;
}

/** rnnkit initial states: [h] / [h, c] per direction, forward direction first. */
function rkInitialStates(c: Case, p: Prepared): rk.Tensor[] {
  const { N, H, dirs } = p.d;
  const out: rk.Tensor[] = [];
  for (let dir = 0; dir < dirs; dir++) {
    for (const s of p.init) out.push(rk.tensor(s.slice(dir * N * H, (dir + 1) * N * H), [N, H]));
  }
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function checkForward(layer: any, c: Case, p: Prepared, what: string): Promise<void> {
  const { N, T, D } = p.d;
  const x = rk.tensor(p.x, [N, T, D]);
  const initialState = c.initialState ? rkInitialStates(c, p) : undefined;
  const fwd = await layer.forward(x, {
    ...(initialState ? { initialState } : {}),
    ...(c.lengths ? { lengths: Int32Array.from(c.lengths) } : {}),
  });
  expect(fwd.output.shape, `${what}: output shape`).toEqual(p.expectedOutputShape);
  const out = await fwd.output.data();
  expectClose(out, p.expectedOutput, TOL, `${what}: output`);
  expectZerosAt(out, p.maskedIndices, `${what}: output past the lengths`);
  expect(fwd.states.length, `${what}: number of states`).toBe(p.expectedStates.length);
  for (let i = 0; i < p.expectedStates.length; i++) {
    expectClose(fwd.states[i].dataSync(), p.expectedStates[i], TOL, `${what}: state ${i}`);
  }
  fwd.dispose?.();
  x.dispose();
  initialState?.forEach((t) => t.dispose());
}

// ------------------------------------------------------------------ cases

const LENGTHS = [9, 5, 1, 7, 3];
const cases: Case[] = [];
{
  let seed = 1000;
  const ops: [OnnxRnnOp, 0 | 1 | undefined, string][] = [
    ['LSTM', undefined, 'LSTM'],
    ['GRU', 1, 'GRU linear_before_reset=1 (resetAfter=true)'],
    ['GRU', 0, 'GRU linear_before_reset=0 (resetAfter=false)'],
    ['RNN', undefined, 'RNN'],
  ];
  for (const [op, lbr, label] of ops) {
    for (const direction of ['forward', 'reverse', 'bidirectional'] as OnnxDirection[]) {
      cases.push({
        name: `${label} ${direction}, sequence_lens + initial states, sequences`,
        op,
        linearBeforeReset: lbr,
        direction,
        returnSequences: true,
        lengths: LENGTHS,
        initialState: true,
        seed: seed++,
      });
      cases.push({
        name: `${label} ${direction}, last output`,
        op,
        linearBeforeReset: lbr,
        direction,
        returnSequences: false,
        lengths: direction === 'forward' ? undefined : LENGTHS,
        initialState: direction !== 'reverse',
        seed: seed++,
      });
    }
  }
  cases.push(
    {
      name: 'LSTM reverse, hardSigmoid recurrent activation',
      op: 'LSTM',
      direction: 'reverse',
      returnSequences: true,
      lengths: LENGTHS,
      initialState: true,
      recurrentActivation: 'hardSigmoid',
      seed: seed++,
    },
    {
      name: 'GRU linear_before_reset=1 bidirectional, relu activation',
      op: 'GRU',
      linearBeforeReset: 1,
      direction: 'bidirectional',
      returnSequences: true,
      lengths: LENGTHS,
      initialState: true,
      activation: 'relu',
      seed: seed++,
    },
    {
      name: 'RNN forward, relu',
      op: 'RNN',
      direction: 'forward',
      returnSequences: true,
      lengths: LENGTHS,
      initialState: true,
      activation: 'relu',
      seed: seed++,
    },
    {
      name: 'RNN bidirectional, sigmoid, no sequence_lens',
      op: 'RNN',
      direction: 'bidirectional',
      returnSequences: true,
      initialState: false,
      activation: 'sigmoid',
      seed: seed++,
    },
  );
}

describe('forward parity with onnxruntime (weights via explicit ONNX -> Keras mapping + setWeights)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const p = await runOrt(c);
      const layer = makeRkLayer(c);
      const keras = onnxToKeras(c.op, c.linearBeforeReset ?? 0, p.weights, p.d);
      layer.setWeights(keras);
      await checkForward(layer, c, p, 'setWeights');
    });
  }
});

// ------------------------------------------------------------------ importers

interface ImportCase {
  name: string;
  op: OnnxRnnOp;
  linearBeforeReset?: 0 | 1;
  direction: 'forward' | 'bidirectional';
  pytorch: boolean;
  seed: number;
}

const importCases: ImportCase[] = [
  { name: 'LSTM', op: 'LSTM', direction: 'forward', pytorch: true, seed: 2001 },
  { name: 'LSTM bidirectional', op: 'LSTM', direction: 'bidirectional', pytorch: true, seed: 2002 },
  { name: 'GRU resetAfter=true', op: 'GRU', linearBeforeReset: 1, direction: 'forward', pytorch: true, seed: 2003 },
  { name: 'GRU resetAfter=true bidirectional', op: 'GRU', linearBeforeReset: 1, direction: 'bidirectional', pytorch: true, seed: 2004 },
  // PyTorch has no reset_after=false GRU: ONNX only.
  { name: 'GRU resetAfter=false', op: 'GRU', linearBeforeReset: 0, direction: 'forward', pytorch: false, seed: 2005 },
  { name: 'GRU resetAfter=false bidirectional', op: 'GRU', linearBeforeReset: 0, direction: 'bidirectional', pytorch: false, seed: 2006 },
  { name: 'SimpleRNN', op: 'RNN', direction: 'forward', pytorch: true, seed: 2007 },
  { name: 'SimpleRNN bidirectional', op: 'RNN', direction: 'bidirectional', pytorch: true, seed: 2008 },
];

function asCase(ic: ImportCase): Case {
  return {
    name: ic.name,
    op: ic.op,
    linearBeforeReset: ic.linearBeforeReset,
    direction: ic.direction,
    returnSequences: true,
    lengths: LENGTHS,
    initialState: true,
    seed: ic.seed,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function freshBuiltLayer(c: Case): any {
  const layer = makeRkLayer(c);
  layer.build([null, DIMS.T, DIMS.D]);
  return layer;
}

function tensorData(t: rk.Tensor | Float32Array): Float32Array {
  return t instanceof Float32Array ? t : t.dataSync();
}

describe("rnnkit's importers and exporters agree with onnxruntime", () => {
  for (const ic of importCases) {
    const c = asCase(ic);
    const lbr = ic.linearBeforeReset ?? 0;

    it(`${ic.name}: importWeights('onnx') + exportWeights('onnx') round trip`, async () => {
      const p = await runOrt(c);
      const { D, H, dirs } = p.d;
      const GH = gateCount(c.op) * H;
      const layer = freshBuiltLayer(c);
      layer.importWeights('onnx', {
        W: rk.tensor(p.weights.W, [dirs, GH, D]),
        R: rk.tensor(p.weights.R, [dirs, GH, H]),
        B: rk.tensor(p.weights.B, [dirs, 2 * GH]),
      });
      await checkForward(layer, c, p, "importWeights('onnx')");

      // Keras view of the imported weights = the explicit mapping.
      const keras = onnxToKeras(c.op, lbr, p.weights, p.d);
      const got = layer.getWeights();
      expect(got.length).toBe(keras.length);
      for (let i = 0; i < keras.length; i++) expectClose(got[i].dataSync(), keras[i], COPY_TOL, `getWeights()[${i}]`);

      // Export: W and R exactly, B up to what is observable (Wb + Rb where they only add).
      const ex = layer.exportWeights('onnx');
      expect(Object.keys(ex).sort()).toEqual(['B', 'R', 'W']);
      expect(ex.W.shape).toEqual([dirs, GH, D]);
      expect(ex.R.shape).toEqual([dirs, GH, H]);
      expect(ex.B.shape).toEqual([dirs, 2 * GH]);
      expectClose(ex.W.dataSync(), p.weights.W, COPY_TOL, 'exported W');
      expectClose(ex.R.dataSync(), p.weights.R, COPY_TOL, 'exported R');
      expectClose(
        effectiveOnnxBias(c.op, lbr, ex.B.dataSync(), p.d),
        effectiveOnnxBias(c.op, lbr, p.weights.B, p.d),
        COPY_TOL,
        'exported B (observable part)',
      );

      // Re-import the export into a fresh layer: same outputs as ORT.
      const again = freshBuiltLayer(c);
      again.importWeights('onnx', ex);
      await checkForward(again, c, p, "re-imported exportWeights('onnx')");
    });

    if (!ic.pytorch) continue;

    it(`${ic.name}: importWeights('pytorch') + exportWeights('pytorch') round trip`, async () => {
      const p = await runOrt(c);
      const { D, H, dirs } = p.d;
      const GH = gateCount(c.op) * H;
      const torch = onnxToTorch(c.op, p.weights, p.d);
      const shapes: Record<string, number[]> = {};
      for (const sfx of dirs === 2 ? ['', '_reverse'] : ['']) {
        shapes[`weight_ih_l0${sfx}`] = [GH, D];
        shapes[`weight_hh_l0${sfx}`] = [GH, H];
        shapes[`bias_ih_l0${sfx}`] = [GH];
        shapes[`bias_hh_l0${sfx}`] = [GH];
      }
      const layer = freshBuiltLayer(c);
      const input: Record<string, rk.Tensor> = {};
      for (const [k, v] of Object.entries(torch)) input[k] = rk.tensor(v, shapes[k]);
      layer.importWeights('pytorch', input);
      await checkForward(layer, c, p, "importWeights('pytorch')");

      const ex = layer.exportWeights('pytorch');
      expect(Object.keys(ex).sort()).toEqual(Object.keys(torch).sort());
      for (const sfx of dirs === 2 ? ['', '_reverse'] : ['']) {
        for (const k of [`weight_ih_l0${sfx}`, `weight_hh_l0${sfx}`]) {
          expect(ex[k].shape, `${k} shape`).toEqual(shapes[k]);
          expectClose(tensorData(ex[k]), torch[k], COPY_TOL, `exported ${k}`);
        }
        expectClose(
          effectiveTorchBias(c.op, tensorData(ex[`bias_ih_l0${sfx}`]), tensorData(ex[`bias_hh_l0${sfx}`]), H),
          effectiveTorchBias(c.op, torch[`bias_ih_l0${sfx}`], torch[`bias_hh_l0${sfx}`], H),
          COPY_TOL,
          `exported biases${sfx} (observable part)`,
        );
      }
      const again = freshBuiltLayer(c);
      again.importWeights('pytorch', ex);
      await checkForward(again, c, p, "re-imported exportWeights('pytorch')");
    });
  }
});
