/**
 * Keras masks on recurrent layers, on top of per-sequence lengths. A masked step leaves
 * the state unchanged, so running the layer over each sequence's unmasked steps packed to
 * the front (its length = their count) gives the same states; the sequence output is then
 * spread back to the processing positions: an unmasked position gets its step's output, a
 * masked one zeros, or with `maskedOutput: 'carry'` the last output before it (zeros when
 * there is none). Masked inputs are never read, so NaN there reaches no result or gradient.
 * @internal
 */
import { describe, rangeError, typeError } from './errors';
import { expectTensor, Tensor, tensor } from './tensor';

/**
 * Which steps of a batch of sequences `[N, T]` are valid (Keras's per-step mask), kept on
 * the host. When every sequence's valid steps are a prefix (right padding), `lengths`
 * gives them and recurrent layers take their fast per-sequence-length path.
 */
export class StepMask {
  private constructor(
    /** Sequences. */
    readonly N: number,
    /** Steps. */
    readonly T: number,
    /** `N·T` entries, 1 where a step is valid. */
    readonly valid: Uint8Array,
    /** Each sequence's valid prefix, when the mask is right-padded; else null. */
    readonly lengths: Int32Array | null,
    /**
     * Made from `lengths` (a model's `lengths` option): recurrent layers read it with the
     * meaning of their own `lengths` (goBackwards reverses only the valid steps), not as a
     * Keras mask.
     */
    readonly fromLengths = false,
  ) {}

  /** The mask of right-padded sequences with these lengths (each in [0, T]). */
  static fromLengths(lengths: Int32Array, T: number): StepMask {
    const N = lengths.length;
    const valid = new Uint8Array(N * T);
    for (let n = 0; n < N; n++) valid.fill(1, n * T, n * T + Math.min(T, Math.max(0, lengths[n]!)));
    return new StepMask(N, T, valid, Int32Array.from(lengths), true);
  }

  /** A mask from `N·T` 0/1 entries (row-major). */
  static fromValid(valid: Uint8Array, N: number, T: number): StepMask {
    if (valid.length !== N * T) throw rangeError(`mask must have N·T = ${N * T} entries, got ${valid.length}`);
    return new StepMask(N, T, Uint8Array.from(valid), prefixLengths(valid, N, T));
  }

  /** Whether every sequence's valid steps come first. */
  get rightPadded(): boolean {
    return this.lengths !== null;
  }

  /** Whether every step is valid (the mask changes nothing). */
  get allValid(): boolean {
    return this.lengths !== null && this.lengths.every((l) => l === this.T);
  }

  /** The rows at `indices`, in that order (a batch of the samples). */
  gather(indices: ArrayLike<number>): StepMask {
    const out = new Uint8Array(indices.length * this.T);
    for (let i = 0; i < indices.length; i++) out.set(this.valid.subarray(indices[i]! * this.T, (indices[i]! + 1) * this.T), i * this.T);
    return new StepMask(indices.length, this.T, out, prefixLengths(out, indices.length, this.T), this.fromLengths);
  }

  /** Steps valid in both masks (Keras combines masks with a logical and). */
  and(other: StepMask): StepMask {
    if (other.N !== this.N || other.T !== this.T) throw rangeError(`masks [${this.N},${this.T}] and [${other.N},${other.T}] differ in shape`);
    const out = new Uint8Array(this.valid.length);
    for (let i = 0; i < out.length; i++) out[i] = this.valid[i]! & other.valid[i]!;
    return new StepMask(this.N, this.T, out, prefixLengths(out, this.N, this.T));
  }
}

/** Each row's run of leading 1s, or null when some row has a 1 after a 0. */
function prefixLengths(valid: Uint8Array, N: number, T: number): Int32Array | null {
  const lengths = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let t = 0;
    while (t < T && valid[n * T + t]) t++;
    lengths[n] = t;
    for (let u = t + 1; u < T; u++) if (valid[n * T + u]) return null;
  }
  return lengths;
}

/** Where each sequence's unmasked steps are. */
export interface MaskPlan {
  readonly N: number;
  readonly T: number;
  /** 1 where a step is used: the mask, and t < lengths[n] when lengths are given too */
  readonly valid: Uint8Array;
  /** unmasked steps per sequence: the lengths of the packed batch */
  readonly lengths: Int32Array;
}

/** Reads a mask `[N, T]` of 0/1 (a Tensor, or a Uint8Array of N·T entries). */
export function toMask(mask: unknown, N: number, T: number, name: string): Uint8Array {
  let values: ArrayLike<number>;
  if (mask instanceof Uint8Array) {
    if (mask.length !== N * T) throw rangeError(`${name} must have N·T = ${N * T} entries ([${N},${T}]), got ${mask.length}`);
    values = mask;
  } else if (mask instanceof Tensor) {
    const t = expectTensor(mask, name);
    if (t.shape.length !== 2 || t.shape[0] !== N || t.shape[1] !== T) {
      throw rangeError(`${name} must have shape [${N},${T}], got [${t.shape.join(',')}]`);
    }
    values = t.dataSync();
  } else {
    throw typeError(`${name} must be a Tensor [batch, timesteps] or a Uint8Array, got ${describe(mask)}`);
  }
  const out = new Uint8Array(N * T);
  for (let i = 0; i < out.length; i++) {
    const v = values[i]!;
    if (v !== 0 && v !== 1) throw rangeError(`${name} must hold 0 or 1, got ${v} at flat index ${i}`);
    out[i] = v;
  }
  return out;
}

export function maskPlan(mask: Uint8Array, N: number, T: number, lengths: Int32Array | null): MaskPlan {
  const valid = new Uint8Array(N * T);
  const counts = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const len = lengths ? lengths[n]! : T;
    for (let t = 0; t < len; t++) {
      if (mask[n * T + t]) {
        valid[n * T + t] = 1;
        counts[n]!++;
      }
    }
  }
  return { N, T, valid, lengths: counts };
}

/** Moves rows `[N, T, W]` between caller positions and packed positions (unmasked steps first, in order). */
function movePacked(x: Tensor, plan: MaskPlan, toPacked: boolean): Tensor {
  const { N, T, valid } = plan;
  const W = x.shape[2]!;
  const src = x.dataSync();
  const out = new Float32Array(src.length);
  for (let n = 0; n < N; n++) {
    let k = 0;
    for (let t = 0; t < T; t++) {
      if (!valid[n * T + t]) continue;
      const [from, to] = toPacked ? [n * T + t, n * T + k] : [n * T + k, n * T + t];
      out.set(src.subarray(from * W, (from + 1) * W), to * W);
      k++;
    }
  }
  return tensor(out, x.shape);
}

/** The layer's input: each sequence's unmasked steps first, zeros after. */
export function packInput(x: Tensor, plan: MaskPlan): Tensor {
  return movePacked(x, plan, true);
}

/** The input gradient back at the caller's positions (zeros at masked steps). */
export function unpackInputGradient(dx: Tensor, plan: MaskPlan): Tensor {
  return movePacked(dx, plan, false);
}

/**
 * Visits processing positions p of sequence n with the packed step k they show: the step
 * itself when unmasked, the last one before it when masked and carried, else -1. With
 * goBackwards, position p processes caller step T-1-p (Keras reverses the whole sequence).
 */
function forEachOutput(plan: MaskPlan, goBackwards: boolean, carry: boolean, visit: (n: number, p: number, k: number) => void): void {
  const { N, T, valid } = plan;
  for (let n = 0; n < N; n++) {
    // The packed run's k-th processed step is the k-th unmasked step met in this order.
    let done = 0;
    for (let p = 0; p < T; p++) {
      const t = goBackwards ? T - 1 - p : p;
      if (valid[n * T + t]) visit(n, p, done++);
      else visit(n, p, carry && done > 0 ? done - 1 : -1);
    }
  }
}

/** A sequence output `[N, T, H]` of the packed batch spread back to the processing positions. */
export function unpackOutput(out: Tensor, plan: MaskPlan, goBackwards: boolean, carry: boolean): Tensor {
  const H = out.shape[2]!;
  const T = plan.T;
  const src = out.dataSync();
  const dst = new Float32Array(src.length);
  forEachOutput(plan, goBackwards, carry, (n, p, k) => {
    if (k >= 0) dst.set(src.subarray((n * T + k) * H, (n * T + k + 1) * H), (n * T + p) * H);
  });
  return tensor(dst, out.shape);
}

/** The gradient of {@link unpackOutput}: each position's dOutput summed onto the packed step it shows. */
export function packOutputGradient(dOut: Tensor, plan: MaskPlan, goBackwards: boolean, carry: boolean): Tensor {
  const H = dOut.shape[2]!;
  const T = plan.T;
  const src = dOut.dataSync();
  const dst = new Float32Array(src.length);
  forEachOutput(plan, goBackwards, carry, (n, p, k) => {
    if (k < 0) return;
    for (let j = 0; j < H; j++) dst[(n * T + k) * H + j]! += src[(n * T + p) * H + j]!;
  });
  return tensor(dst, dOut.shape);
}
