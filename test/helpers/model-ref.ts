/**
 * Float64 reference of a Sequential model for the model and tfjs-format tests: the
 * recurrent parts run through test/reference/rnn64.ts, dense layers are written here
 * (y = act(x·W + b) over the last axis) in float64.
 */
import * as ref from '../reference/rnn64';
import { Rng } from './random';

export type DenseAct = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'softmax' | 'hardSigmoid';

export interface DenseRef {
  dense: true;
  units: number;
  activation?: DenseAct;
  useBias?: boolean;
}

export type RefLayer = ref.LayerConfig | DenseRef;

export function isDenseRef(l: RefLayer): l is DenseRef {
  return (l as DenseRef).dense === true;
}

/** Weight shapes of a reference layer given its input features. */
export function refShapes(l: RefLayer, D: number): number[][] {
  if (isDenseRef(l)) return [[D, l.units], ...(l.useBias === false ? [] : [[l.units]])];
  if (ref.isBidirectional(l)) return ref.weightShapes({ ...l, layer: { ...l.layer, inputDim: D } });
  return ref.weightShapes({ ...l, inputDim: D });
}

/** Output features of a reference layer. */
export function refUnits(l: RefLayer): number {
  if (isDenseRef(l)) return l.units;
  if (ref.isBidirectional(l)) return l.layer.units * ((l.mergeMode ?? 'concat') === 'concat' ? 2 : 1);
  return l.units;
}

/** Seeded random weights for every layer (scale ~ 1/sqrt(fan-in), biases in ±0.5). */
export function randomModelWeights(rng: Rng, layers: RefLayer[], D: number): Float32Array[][] {
  let d = D;
  return layers.map((l) => {
    const shapes = refShapes(l, d);
    // kernels and recurrent kernels: ±1/sqrt(rows); biases: ±0.5
    const per = isDenseRef(l) ? 2 : 3;
    const ws = shapes.map((s, k) => {
      const isBias = k % per === per - 1 && (isDenseRef(l) ? l.useBias !== false : (ref.isBidirectional(l) ? l.layer : l).useBias !== false);
      const a = isBias ? 0.5 : 1 / Math.sqrt(s[0]!);
      return rng.uniform(ref.sizeOf(s), -a, a);
    });
    d = refUnits(l);
    return ws;
  });
}

function act(name: DenseAct, v: number): number {
  switch (name) {
    case 'linear': return v;
    case 'relu': return Math.max(0, v);
    case 'tanh': return Math.tanh(v);
    case 'sigmoid': return 1 / (1 + Math.exp(-v));
    case 'hardSigmoid': return Math.min(1, Math.max(0, 0.2 * v + 0.5));
    case 'softmax': throw new Error('softmax is not elementwise');
  }
}

/** Float64 dense layer over the last axis of `x` (`rows` × D). */
export function dense64(l: DenseRef, w: ArrayLike<number>[], x: ArrayLike<number>, rows: number, D: number): Float64Array {
  const U = l.units;
  const out = new Float64Array(rows * U);
  const a = l.activation ?? 'linear';
  for (let r = 0; r < rows; r++) {
    const z = new Float64Array(U);
    for (let u = 0; u < U; u++) {
      let s = l.useBias === false ? 0 : w[1]![u]!;
      for (let k = 0; k < D; k++) s += x[r * D + k]! * w[0]![k * U + u]!;
      z[u] = s;
    }
    if (a === 'softmax') {
      const m = Math.max(...z);
      let sum = 0;
      for (let u = 0; u < U; u++) sum += (z[u] = Math.exp(z[u]! - m));
      for (let u = 0; u < U; u++) out[r * U + u] = z[u]! / sum;
    } else {
      for (let u = 0; u < U; u++) out[r * U + u] = act(a, z[u]!);
    }
  }
  return out;
}

/**
 * Float64 forward of the whole model on `x` [N,T,D]; `lengths` apply to recurrent layers
 * while the sequence axis exists (as rnnkit's predict documents).
 */
export function model64(
  layers: RefLayer[],
  weights: Float32Array[][],
  x: ArrayLike<number>,
  N: number,
  T: number,
  D: number,
  lengths?: ArrayLike<number>,
): { output: Float64Array; shape: number[] } {
  let cur: ArrayLike<number> = x;
  let shape = [N, T, D];
  layers.forEach((l, i) => {
    const d = shape[shape.length - 1]!;
    if (isDenseRef(l)) {
      const rows = cur.length / d;
      cur = dense64(l, weights[i]!, cur, rows, d);
      shape = [...shape.slice(0, -1), l.units];
      return;
    }
    if (shape.length !== 3) throw new Error('model64: recurrent layer after the sequence axis is gone');
    const cfg: ref.LayerConfig = ref.isBidirectional(l) ? { ...l, layer: { ...l.layer, inputDim: d } } : { ...l, inputDim: d };
    const r = ref.forward(cfg, weights[i]!, { x: cur, N, T, ...(lengths ? { lengths } : {}) });
    cur = r.output;
    shape = r.outputShape;
  });
  return { output: Float64Array.from(cur), shape };
}
