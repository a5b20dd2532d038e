/**
 * rnn64 — an independent float64 reference for rnnkit's recurrent layers.
 *
 * Written from the Keras / cuDNN equations only (it does not import rnnkit).
 * Weights are taken in Keras layout, in the order of layer.getWeights():
 *
 *   simpleRNN: kernel [D,H],  recurrentKernel [H,H],  bias [H]
 *   lstm:      kernel [D,4H], recurrentKernel [H,4H], bias [4H]      gate blocks i,f,c,o
 *   gru:       kernel [D,3H], recurrentKernel [H,3H], gate blocks z,r,h
 *              resetAfter=true:  bias [2,3H] (row 0 input bias, row 1 recurrent bias)
 *              resetAfter=false: bias [3H]
 *   (no bias entry when useBias is false)
 *   bidirectional: forward layer's weights, then backward layer's.
 *
 * Equations (x_t W is the row vector x_t times the kernel, blocks by gate):
 *   simpleRNN: h' = act(x W + h R + b)
 *   lstm:      i = rec(x Wi + h Ri + bi), f = rec(x Wf + h Rf + bf),
 *              g = act(x Wc + h Rc + bc), o = rec(x Wo + h Ro + bo),
 *              c' = f c + i g,  h' = o act(c')
 *   gru (resetAfter=true, cuDNN / TF2 default):
 *              z = rec(x Wz + bWz + h Rz + bRz), r = rec(x Wr + bWr + h Rr + bRr),
 *              n = act(x Wh + bWh + r * (h Rh + bRh)),  h' = z h + (1 - z) n
 *   gru (resetAfter=false, Keras 1 style):
 *              z = rec(x Wz + bz + h Rz), r = rec(x Wr + br + h Rr),
 *              n = act(x Wh + bh + (r * h) Rh),     h' = z h + (1 - z) n
 *
 * Masking with per-sequence lengths (processing step p = 0..T-1 of sequence n):
 *   p <  len[n]: the cell consumes x[n, goBackwards ? len-1-p : p] and emits h'.
 *   p >= len[n]: the state is left unchanged; the output at p is 0 ('zeros') or the
 *                last valid output ('carry'; zeros if len = 0).
 *   Without returnSequences the output is that of the last valid step (zeros if len = 0).
 *   Sequence outputs are in processing order (Keras goBackwards semantics).
 *
 * Bidirectional: the backward copy has goBackwards flipped; its sequence output is
 * re-aligned per sequence so that position t < len holds the step that consumed x[t]
 * (positions >= len keep their masked value), then merged with the forward output by
 * concat (last axis, [fw, bw]) / sum / mul / ave.
 */

export type CellType = 'simpleRNN' | 'lstm' | 'gru';
export type Activation = 'tanh' | 'sigmoid' | 'hardSigmoid' | 'relu' | 'linear';
export type MergeMode = 'concat' | 'sum' | 'mul' | 'ave';
export type MaskedOutput = 'zeros' | 'carry';

export interface RnnConfig {
  cell: CellType;
  units: number;
  inputDim: number;
  /** default 'tanh' */
  activation?: Activation;
  /** LSTM/GRU only; default 'sigmoid' */
  recurrentActivation?: Activation;
  /** default true */
  useBias?: boolean;
  /** GRU only; default true */
  resetAfter?: boolean;
  /** default false */
  returnSequences?: boolean;
  /** default false */
  goBackwards?: boolean;
  /** default 'zeros' */
  maskedOutput?: MaskedOutput;
}

export interface BidirectionalConfig {
  layer: RnnConfig;
  /** default 'concat' */
  mergeMode?: MergeMode;
}

export type LayerConfig = RnnConfig | BidirectionalConfig;

export interface ForwardArgs {
  /** [N,T,D] row-major */
  x: ArrayLike<number>;
  N: number;
  T: number;
  /** [h0] or [h0, c0] (bidirectional: forward layer's then backward layer's), each [N,H] */
  initialState?: ArrayLike<number>[];
  /** per-sequence valid lengths, 0 <= len <= T; default all T */
  lengths?: ArrayLike<number>;
  /**
   * Keras mask [N,T] of 0/1: processing step p consumes x[n, goBackwards ? T-1-p : p]
   * (the whole sequence reversed) when the mask there is 1 (and t < len); otherwise the
   * state is left unchanged and the output masked as for lengths.
   */
  mask?: ArrayLike<number>;
}

export interface ForwardResult {
  output: Float64Array;
  outputShape: number[];
  states: Float64Array[];
  stateShapes: number[][];
}

// ---------------------------------------------------------------------------
// helpers

export function isBidirectional(cfg: LayerConfig): cfg is BidirectionalConfig {
  return (cfg as BidirectionalConfig).layer !== undefined;
}

export function activate(name: Activation, v: number): number {
  switch (name) {
    case 'tanh':
      return Math.tanh(v);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-v));
    case 'hardSigmoid':
      return Math.min(1, Math.max(0, 0.2 * v + 0.5));
    case 'relu':
      return v > 0 ? v : 0;
    case 'linear':
      return v;
    default:
      throw new Error(`rnn64: unknown activation ${String(name)}`);
  }
}

export function numGates(cell: CellType): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

/** Number of state tensors of one direction: 2 for LSTM ([h, c]), else 1. */
export function numStates(cell: CellType): number {
  return cell === 'lstm' ? 2 : 1;
}

/** Keras-layout weight shapes of one RNN layer, in getWeights() order. */
export function rnnWeightShapes(cfg: RnnConfig): number[][] {
  const G = numGates(cfg.cell);
  const H = cfg.units;
  const D = cfg.inputDim;
  const shapes: number[][] = [
    [D, G * H],
    [H, G * H],
  ];
  if (cfg.useBias ?? true) {
    if (cfg.cell === 'gru' && (cfg.resetAfter ?? true)) shapes.push([2, G * H]);
    else shapes.push([G * H]);
  }
  return shapes;
}

/** Weight shapes of a layer (bidirectional: forward then backward). */
export function weightShapes(cfg: LayerConfig): number[][] {
  if (isBidirectional(cfg)) {
    const s = rnnWeightShapes(cfg.layer);
    return [...s, ...s];
  }
  return rnnWeightShapes(cfg);
}

export function stateCount(cfg: LayerConfig): number {
  if (isBidirectional(cfg)) return 2 * numStates(cfg.layer.cell);
  return numStates(cfg.cell);
}

export function units(cfg: LayerConfig): number {
  return isBidirectional(cfg) ? cfg.layer.units : cfg.units;
}

export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------
// one direction

interface DirectionResult {
  /** [N,T,H], processing order, masked per maskedOutput */
  seq: Float64Array;
  /** [N,H], output of the last valid step (zeros if len = 0) */
  last: Float64Array;
  /** final states, each [N,H] */
  states: Float64Array[];
}

function runDirection(
  cfg: RnnConfig,
  weights: ArrayLike<number>[],
  x: ArrayLike<number>,
  N: number,
  T: number,
  init: ArrayLike<number>[] | undefined,
  lengths: ArrayLike<number> | undefined,
  goBackwards: boolean,
  mask?: ArrayLike<number>,
): DirectionResult {
  const H = cfg.units;
  const D = cfg.inputDim;
  const G = numGates(cfg.cell);
  const GH = G * H;
  const act = cfg.activation ?? 'tanh';
  const rec = cfg.recurrentActivation ?? 'sigmoid';
  const useBias = cfg.useBias ?? true;
  const resetAfter = cfg.resetAfter ?? true;
  const masked = cfg.maskedOutput ?? 'zeros';
  const shapes = rnnWeightShapes(cfg);
  if (weights.length !== shapes.length) {
    throw new Error(`rnn64: expected ${shapes.length} weights, got ${weights.length}`);
  }
  for (let k = 0; k < shapes.length; k++) {
    if (weights[k].length !== sizeOf(shapes[k])) {
      throw new Error(`rnn64: weight ${k} has ${weights[k].length} values, expected ${sizeOf(shapes[k])}`);
    }
  }
  const W = weights[0];
  const R = weights[1];
  const bias = useBias ? weights[2] : undefined;
  // input-side bias [GH] and recurrent-side bias [GH] (GRU resetAfter only)
  const bIn = new Float64Array(GH);
  const bRec = new Float64Array(GH);
  if (bias) {
    for (let j = 0; j < GH; j++) bIn[j] = bias[j];
    if (cfg.cell === 'gru' && resetAfter) for (let j = 0; j < GH; j++) bRec[j] = bias[GH + j];
  }

  const nS = numStates(cfg.cell);
  const seq = new Float64Array(N * T * H);
  const last = new Float64Array(N * H);
  const states: Float64Array[] = [];
  for (let s = 0; s < nS; s++) {
    const st = new Float64Array(N * H);
    if (init && init[s]) {
      if (init[s].length !== N * H) throw new Error('rnn64: initial state has the wrong size');
      for (let i = 0; i < N * H; i++) st[i] = init[s][i];
    }
    states.push(st);
  }

  const xa = new Float64Array(GH); // x W + bIn
  const ha = new Float64Array(GH); // h R + bRec
  const hNew = new Float64Array(H);
  const cNew = new Float64Array(H);
  const rh = new Float64Array(H);
  for (let n = 0; n < N; n++) {
    const len = lengths ? lengths[n] : T;
    if (!(len >= 0 && len <= T && Number.isInteger(len))) throw new Error(`rnn64: bad length ${len}`);
    const h = states[0].subarray(n * H, (n + 1) * H);
    const c = nS > 1 ? states[1].subarray(n * H, (n + 1) * H) : undefined;
    const lastOut = new Float64Array(H);
    for (let p = 0; p < T; p++) {
      const outP = seq.subarray((n * T + p) * H, (n * T + p + 1) * H);
      const t = mask ? (goBackwards ? T - 1 - p : p) : goBackwards ? len - 1 - p : p;
      const valid = mask ? mask[n * T + t] === 1 && t < len : p < len;
      if (!valid) {
        if (masked === 'carry') outP.set(lastOut);
        continue;
      }
      const xo = (n * T + t) * D;
      for (let j = 0; j < GH; j++) {
        let s = bIn[j];
        for (let d = 0; d < D; d++) s += x[xo + d] * W[d * GH + j];
        xa[j] = s;
      }
      if (cfg.cell === 'simpleRNN') {
        for (let j = 0; j < H; j++) {
          let s = xa[j];
          for (let k = 0; k < H; k++) s += h[k] * R[k * GH + j];
          hNew[j] = activate(act, s);
        }
      } else if (cfg.cell === 'lstm') {
        for (let j = 0; j < GH; j++) {
          let s = xa[j];
          for (let k = 0; k < H; k++) s += h[k] * R[k * GH + j];
          ha[j] = s;
        }
        for (let j = 0; j < H; j++) {
          const i = activate(rec, ha[j]);
          const f = activate(rec, ha[H + j]);
          const g = activate(act, ha[2 * H + j]);
          const o = activate(rec, ha[3 * H + j]);
          cNew[j] = f * c![j] + i * g;
          hNew[j] = o * activate(act, cNew[j]);
        }
        c!.set(cNew);
      } else {
        // GRU, gate blocks z, r, h
        if (resetAfter) {
          for (let j = 0; j < GH; j++) {
            let s = bRec[j];
            for (let k = 0; k < H; k++) s += h[k] * R[k * GH + j];
            ha[j] = s;
          }
          for (let j = 0; j < H; j++) {
            const z = activate(rec, xa[j] + ha[j]);
            const r = activate(rec, xa[H + j] + ha[H + j]);
            const nn = activate(act, xa[2 * H + j] + r * ha[2 * H + j]);
            hNew[j] = z * h[j] + (1 - z) * nn;
          }
        } else {
          // z and r use h R; candidate uses (r * h) Rh
          for (let j = 0; j < 2 * H; j++) {
            let s = 0;
            for (let k = 0; k < H; k++) s += h[k] * R[k * GH + j];
            ha[j] = s;
          }
          const zz = new Float64Array(H);
          for (let j = 0; j < H; j++) {
            zz[j] = activate(rec, xa[j] + ha[j]);
            const r = activate(rec, xa[H + j] + ha[H + j]);
            rh[j] = r * h[j];
          }
          for (let j = 0; j < H; j++) {
            let s = xa[2 * H + j];
            for (let k = 0; k < H; k++) s += rh[k] * R[k * GH + 2 * H + j];
            const nn = activate(act, s);
            hNew[j] = zz[j] * h[j] + (1 - zz[j]) * nn;
          }
        }
      }
      h.set(hNew);
      outP.set(hNew);
      lastOut.set(hNew);
    }
    last.set(lastOut, n * H);
  }
  return { seq, last, states };
}

// ---------------------------------------------------------------------------
// public forward

/** Float64 forward pass of a (possibly bidirectional) RNN layer. */
export function forward(cfg: LayerConfig, weights: ArrayLike<number>[], args: ForwardArgs): ForwardResult {
  const { x, N, T, initialState, lengths } = args;
  if (isBidirectional(cfg)) return forwardBidirectional(cfg, weights, args);
  const H = cfg.units;
  if (x.length !== N * T * cfg.inputDim) throw new Error('rnn64: x has the wrong size');
  const r = runDirection(cfg, weights, x, N, T, initialState, lengths, cfg.goBackwards ?? false, args.mask);
  const rs = cfg.returnSequences ?? false;
  return {
    output: rs ? r.seq : r.last,
    outputShape: rs ? [N, T, H] : [N, H],
    states: r.states,
    stateShapes: r.states.map(() => [N, H]),
  };
}

function forwardBidirectional(cfg: BidirectionalConfig, weights: ArrayLike<number>[], args: ForwardArgs): ForwardResult {
  const { x, N, T, initialState, lengths } = args;
  const inner = cfg.layer;
  const mode = cfg.mergeMode ?? 'concat';
  const H = inner.units;
  const nw = rnnWeightShapes(inner).length;
  const nS = numStates(inner.cell);
  if (weights.length !== 2 * nw) throw new Error('rnn64: bidirectional expects forward + backward weights');
  if (x.length !== N * T * inner.inputDim) throw new Error('rnn64: x has the wrong size');
  const gb = inner.goBackwards ?? false;
  const fw = runDirection(inner, weights.slice(0, nw), x, N, T, initialState?.slice(0, nS), lengths, gb, args.mask);
  const bw = runDirection(inner, weights.slice(nw), x, N, T, initialState?.slice(nS, 2 * nS), lengths, !gb, args.mask);
  const rs = inner.returnSequences ?? false;
  let a: Float64Array;
  let b: Float64Array;
  let steps: number;
  if (rs) {
    steps = T;
    a = fw.seq;
    // re-align the backward output: position t < len holds processing step len-1-t
    // (with a mask, the whole sequence was reversed: len = T)
    b = new Float64Array(bw.seq);
    for (let n = 0; n < N; n++) {
      const len = lengths && !args.mask ? lengths[n] : T;
      for (let t = 0; t < len; t++) {
        const p = len - 1 - t;
        for (let j = 0; j < H; j++) b[(n * T + t) * H + j] = bw.seq[(n * T + p) * H + j];
      }
    }
  } else {
    steps = 1;
    a = fw.last;
    b = bw.last;
  }
  const rows = N * steps;
  let output: Float64Array;
  let outDim: number;
  if (mode === 'concat') {
    outDim = 2 * H;
    output = new Float64Array(rows * 2 * H);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < H; j++) {
        output[i * 2 * H + j] = a[i * H + j];
        output[i * 2 * H + H + j] = b[i * H + j];
      }
    }
  } else {
    outDim = H;
    output = new Float64Array(rows * H);
    for (let i = 0; i < rows * H; i++) {
      if (mode === 'sum') output[i] = a[i] + b[i];
      else if (mode === 'mul') output[i] = a[i] * b[i];
      else if (mode === 'ave') output[i] = (a[i] + b[i]) / 2;
      else throw new Error(`rnn64: unknown merge mode ${String(mode)}`);
    }
  }
  const states = [...fw.states, ...bw.states];
  return {
    output,
    outputShape: rs ? [N, T, outDim] : [N, outDim],
    states,
    stateShapes: states.map(() => [N, H]),
  };
}

// ---------------------------------------------------------------------------
// scalar loss and finite-difference gradients

/** Fixed cotangents: loss = sum(output * G) + sum_k sum(states[k] * S[k]). */
export interface LossWeights {
  G: ArrayLike<number>;
  /** one per state; omitted / empty means the states do not enter the loss */
  S?: (ArrayLike<number> | undefined)[];
}

export function scalarLoss(res: ForwardResult, lw: LossWeights): number {
  let L = 0;
  if (lw.G.length !== res.output.length) throw new Error('rnn64: G has the wrong size');
  for (let i = 0; i < res.output.length; i++) L += res.output[i] * lw.G[i];
  if (lw.S) {
    for (let k = 0; k < res.states.length; k++) {
      const S = lw.S[k];
      if (!S) continue;
      if (S.length !== res.states[k].length) throw new Error('rnn64: S has the wrong size');
      for (let i = 0; i < S.length; i++) L += res.states[k][i] * S[i];
    }
  }
  return L;
}

export interface Gradients64 {
  dInput: Float64Array;
  /** gradients for each initial state (zeros initial states when none were given) */
  dInitialState: Float64Array[];
  dWeights: Float64Array[];
}

/** Central finite difference of f over every entry of the arrays in params (mutated and restored). */
function centralDiff(params: Float64Array[], f: () => number, eps: number): Float64Array[] {
  return params.map((p) => {
    const g = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const v = p[i];
      p[i] = v + eps;
      const lp = f();
      p[i] = v - eps;
      const lm = f();
      p[i] = v;
      g[i] = (lp - lm) / (2 * eps);
    }
    return g;
  });
}

/**
 * Gradients of scalarLoss(forward(cfg, weights, args), lw) with respect to the input,
 * the initial states and every weight, by central finite differences of the float64
 * reference (eps ~1e-6).
 */
export function finiteDifferenceGradients(
  cfg: LayerConfig,
  weights: ArrayLike<number>[],
  args: ForwardArgs,
  lw: LossWeights,
  eps = 1e-6,
): Gradients64 {
  const H = units(cfg);
  const x = Float64Array.from(args.x);
  const nS = stateCount(cfg);
  const init: Float64Array[] = [];
  for (let s = 0; s < nS; s++) {
    init.push(args.initialState && args.initialState[s] ? Float64Array.from(args.initialState[s]) : new Float64Array(args.N * H));
  }
  const ws = weights.map((w) => Float64Array.from(w));
  const f = () => scalarLoss(forward(cfg, ws, { x, N: args.N, T: args.T, initialState: init, lengths: args.lengths, mask: args.mask }), lw);
  const [dInput] = centralDiff([x], f, eps);
  const dInitialState = centralDiff(init, f, eps);
  const dWeights = centralDiff(ws, f, eps);
  return { dInput, dInitialState, dWeights };
}
