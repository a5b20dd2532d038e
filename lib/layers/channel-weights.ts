/**
 * Per-channel weight vectors `[C]` (gamma, beta, moving statistics) of the normalization
 * layers: creation from initializers, copies, replacement, moves and disposal in one place.
 * Internal to rnnkit: not part of the public API.
 */
import type { BackendName } from '../backend';
import { expectBackendName, getBackend } from '../backend';
import { describe, rangeError, rnnkitError, typeError } from '../errors';
import { initializerDraw, InitializerSpec } from '../initializers';
import { Tensor, tensor } from '../tensor';
import type { WeightValues } from './layer';
import { initNow } from './weight-init';
import { zeros } from './layer-helpers';

/** One vector: its Keras name, initializer and whether an optimizer trains it. */
export interface ChannelWeightSpec {
  readonly name: string;
  readonly initializer: InitializerSpec;
  readonly trainable: boolean;
}

/** The weight vectors of one layer, all of shape `[C]`, in Keras's order. */
export class ChannelWeights {
  private tensors: Tensor[] = [];
  private size = 0;

  constructor(
    /** The layer's name, for messages. */
    private readonly owner: string,
    readonly specs: readonly ChannelWeightSpec[],
    private readonly seed: number,
  ) {}

  /** Whether the vectors exist (a layer with none is always built). */
  get built(): boolean {
    return this.specs.length === 0 || this.tensors.length > 0;
  }

  /** C, or 0 before build (or when there are no vectors). */
  get channels(): number {
    return this.size;
  }

  /** Creates the vectors for C channels; once built, C must stay the same. */
  build(C: number): void {
    if (this.specs.length === 0) return;
    if (this.tensors.length > 0) {
      if (C !== this.size) throw rangeError(`${this.owner}.build: the layer was built for ${this.size} channels, got ${C}`);
      return;
    }
    this.tensors = initNow(this.specs.map((s, i) => ({ shape: [C], parts: [initializerDraw(s.initializer, [C], this.seed + i)] })));
    this.size = C;
  }

  /** The live vector named `name`, or null when the layer has none by that name. */
  get(name: string): Tensor | null {
    const i = this.specs.findIndex((s) => s.name === name);
    return i >= 0 ? (this.tensors[i] ?? null) : null;
  }

  /** The live trainable vectors, in order. */
  trainable(): Tensor[] {
    this.assertBuilt('trainableWeights');
    return this.tensors.filter((_, i) => this.specs[i]!.trainable);
  }

  /** Copies of every vector. */
  copies(): Tensor[] {
    this.assertBuilt('getWeights');
    return this.tensors.map((w) => w.to(w.device as BackendName));
  }

  names(): string[] {
    return this.specs.map((s) => s.name);
  }

  count(trainableOnly: boolean): number {
    this.assertBuilt(trainableOnly ? 'countTrainableParams' : 'countParams');
    return this.specs.filter((s) => !trainableOnly || s.trainable).length * this.size;
  }

  /** Replaces every vector (Keras order); builds when needed. */
  set(weights: readonly WeightValues[]): void {
    const where = `${this.owner}.setWeights`;
    const n = this.specs.length;
    if (!Array.isArray(weights) || weights.length !== n) {
      throw rangeError(`${where}: expected ${n} weights (${this.names().join(', ') || 'none'}), got ${describe(weights)}`);
    }
    if (n === 0) return;
    const first = weights[0];
    const C = this.tensors.length > 0 ? this.size : first instanceof Tensor ? first.shape[0] : first instanceof Float32Array ? first.length : NaN;
    if (typeof C !== 'number' || !Number.isInteger(C) || C < 1) throw rangeError(`${where}: weights[0] (${this.specs[0]!.name}) must have shape [channels]`);
    const next: Tensor[] = [];
    try {
      weights.forEach((w, i) => {
        const name = `${where}: weights[${i}] (${this.specs[i]!.name})`;
        if (w instanceof Float32Array) {
          if (w.length !== C) throw rangeError(`${name} must have ${C} values, got ${w.length}`);
          next.push(tensor(w, [C]));
          return;
        }
        if (!(w instanceof Tensor)) throw typeError(`${name} must be a Tensor or a Float32Array, got ${describe(w)}`);
        w.assertUsable(name);
        if (w.shape.length !== 1 || w.shape[0] !== C) throw rangeError(`${name} must have shape [${C}], got [${w.shape.join(',')}]`);
        next.push(w.to(getBackend()));
      });
    } catch (e) {
      for (const t of next) t.dispose();
      throw e;
    }
    for (const t of this.tensors) t.dispose();
    this.tensors = next;
    this.size = C;
  }

  /** Moves every vector to `backend`. */
  to(backend: BackendName, where: string): void {
    const device = expectBackendName(backend, `${where}: backend`);
    const next = this.tensors.map((w) => w.to(device));
    for (const w of this.tensors) w.dispose();
    this.tensors = next;
  }

  dispose(): void {
    for (const w of this.tensors) w.dispose();
    this.tensors = [];
  }

  private assertBuilt(what: string): void {
    if (!this.built) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.owner}.${what}: the layer is not built`);
  }
}

/**
 * The channel count C of an input shape `[N, ..., C]`, or a RangeError naming the layer.
 * `minRank` counts the batch axis.
 */
export function channelsOf(shape: readonly (number | null)[], owner: string, minRank = 2): number {
  if (!Array.isArray(shape) || shape.length < minRank) {
    throw rangeError(`${owner}: expected an input of rank ${minRank} or more [batch, ..., channels], got ${describe(shape)}`);
  }
  const C = shape[shape.length - 1];
  if (typeof C !== 'number' || !Number.isInteger(C) || C < 1) throw rangeError(`${owner}: the last axis (channels) must be a known positive size, got ${describe(C)}`);
  return C;
}

/** A zero tensor shaped as `like`, on its device (the gradient of an output left out of the loss). */
export function zerosLike(like: Tensor): Tensor {
  return zeros(like.shape, like.device);
}

/**
 * The `axis` option of a normalization layer: an integer, or a list of one (Keras 3 writes
 * LayerNormalization's axis as a list). Only the last axis is supported; which index that
 * is depends on the input's rank, checked by {@link checkLastAxis}.
 */
export function axisOption(value: unknown, where: string): number {
  if (value === undefined) return -1;
  const v = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (Array.isArray(v)) {
    throw rnnkitError('RNNKIT_UNSUPPORTED', `${where}: axis ${JSON.stringify(value)}: normalizing over several axes is not supported; only the last axis (-1)`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(`${where}: axis must be an integer, got ${describe(value)}`);
  if (v < -1) throw rnnkitError('RNNKIT_UNSUPPORTED', `${where}: axis ${v} is not supported; only the last axis (-1)`);
  return v;
}

/** Throws RNNKIT_UNSUPPORTED unless `axis` names the last axis of a rank-`rank` input. */
export function checkLastAxis(axis: number, rank: number, owner: string): void {
  if (axis === -1 || axis === rank - 1) return;
  throw rnnkitError('RNNKIT_UNSUPPORTED', `${owner}: axis ${axis} of a rank-${rank} input is not supported; only the last axis (-1 or ${rank - 1})`);
}

/** A positive finite number option. */
export function positiveNumberOption(value: unknown, where: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw typeError(`${where} must be a number, got ${describe(value)}`);
  if (!(value > 0 && Number.isFinite(value))) throw rangeError(`${where} must be a positive finite number, got ${value}`);
  return value;
}

/**
 * An initializer as a model file writes it: a name, or `{ class_name | className, config }`
 * (Keras 3 adds `module` and `registered_name`, which say nothing rnnkit needs).
 */
export function initializerFromConfig(value: unknown): InitializerSpec | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const className = o.class_name ?? o.className;
    return { className: className as string, ...(o.config !== undefined && o.config !== null ? { config: o.config as Record<string, number> } : {}) };
  }
  return value as InitializerSpec;
}

export { singleShape } from './layer-helpers';
