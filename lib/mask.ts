/**
 * Keras masks on recurrent layers, on top of per-sequence lengths. A masked step leaves
 * the state unchanged, so running the layer over each sequence's unmasked steps packed to
 * the front (its length = their count) gives the same states; the sequence output is then
 * spread back to the processing positions: an unmasked position gets its step's output, a
 * masked one zeros, or with `maskedOutput: 'carry'` the last output before it (zeros when
 * there is none). Masked inputs are never read, so NaN there reaches no result or gradient.
 * Internal to rnnkit: not part of the public API.
 */
import { describe, rangeError, typeError } from './errors';
import type { BackendName } from './backend';
import { native, NativeTensor } from './native';
import { expectTensor, fromNative, Tensor, tensor } from './tensor';

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

/**
 * A sequence tensor `[N, T, W]` with each step taken from another step of its sequence:
 * `from[n·T + t]` is the source step (or -1 for zeros). Runs on the tensor's device (a row
 * gather and a row mask), so masked batches on a GPU never pass through the host.
 */
async function takeSteps(x: Tensor, from: Int32Array, N: number, T: number): Promise<Tensor> {
  const W = x.shape[2]!;
  if (N * T === 0 || W === 0) return tensor(new Float32Array(x.size), x.shape, { device: x.device as BackendName });
  const rows = Int32Array.from(from, (s, i) => (s >= 0 ? i - (i % T) + s : 0));
  const valid = Uint8Array.from(from, (s) => (s >= 0 ? 1 : 0));
  const flat = await native.reshape(x.handle, [N * T, W]);
  let gathered: NativeTensor | null = null;
  let shaped: NativeTensor | null = null;
  try {
    gathered = native.gatherRows(flat, rows);
    shaped = await native.reshape(gathered, [N, T, W]);
    return fromNative(await native.maskRows(shaped, valid));
  } finally {
    for (const t of [flat, gathered, shaped]) t?.dispose();
  }
}

/** For each packed position (n, k): the caller step of the k-th unmasked step, or -1. */
function packedSources(plan: MaskPlan): Int32Array {
  const { N, T, valid } = plan;
  const from = new Int32Array(N * T).fill(-1);
  for (let n = 0; n < N; n++) {
    let k = 0;
    for (let t = 0; t < T; t++) if (valid[n * T + t]) from[n * T + k++] = t;
  }
  return from;
}

/** For each caller position (n, t): the packed step holding it, or -1 where masked. */
function callerSources(plan: MaskPlan): Int32Array {
  const { N, T, valid } = plan;
  const from = new Int32Array(N * T).fill(-1);
  for (let n = 0; n < N; n++) {
    let k = 0;
    for (let t = 0; t < T; t++) if (valid[n * T + t]) from[n * T + t] = k++;
  }
  return from;
}

/** The layer's input: each sequence's unmasked steps first, zeros after. */
export function packInput(x: Tensor, plan: MaskPlan): Promise<Tensor> {
  return takeSteps(x, packedSources(plan), plan.N, plan.T);
}

/** The input gradient back at the caller's positions (zeros at masked steps). */
export function unpackInputGradient(dx: Tensor, plan: MaskPlan): Promise<Tensor> {
  return takeSteps(dx, callerSources(plan), plan.N, plan.T);
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
export function unpackOutput(out: Tensor, plan: MaskPlan, goBackwards: boolean, carry: boolean): Promise<Tensor> {
  const from = new Int32Array(plan.N * plan.T);
  forEachOutput(plan, goBackwards, carry, (n, p, k) => {
    from[n * plan.T + p] = k;
  });
  return takeSteps(out, from, plan.N, plan.T);
}

/**
 * The gradient of {@link unpackOutput}: each position's dOutput summed onto the packed step
 * it shows. Without carry each packed step is shown once (a gather on the device); a carried
 * step is shown at several positions, and their sum is taken on the host.
 */
export async function packOutputGradient(dOut: Tensor, plan: MaskPlan, goBackwards: boolean, carry: boolean): Promise<Tensor> {
  const H = dOut.shape[2]!;
  const T = plan.T;
  if (!carry) {
    const from = new Int32Array(plan.N * T).fill(-1);
    forEachOutput(plan, goBackwards, false, (n, p, k) => {
      if (k >= 0) from[n * T + k] = p;
    });
    return takeSteps(dOut, from, plan.N, T);
  }
  const src = dOut.dataSync();
  const dst = new Float32Array(src.length);
  forEachOutput(plan, goBackwards, carry, (n, p, k) => {
    if (k < 0) return;
    for (let j = 0; j < H; j++) dst[(n * T + k) * H + j]! += src[(n * T + p) * H + j]!;
  });
  return tensor(dst, dOut.shape, { device: dOut.device as BackendName });
}
