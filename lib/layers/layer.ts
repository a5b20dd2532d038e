/**
 * The Layer contract: the one interface every layer implements. Models (sequential and
 * functional), training, `summary` and the file formats speak only this interface; a
 * new layer kind is one file implementing it plus one `registerLayer` call.
 */
import type { BackendName } from '../backend';
import type { JsonObject } from '../io/keras-config';
import type { StepMask } from '../mask';
import type { Tensor } from '../tensor';

/** A batch-first shape; `null` marks an axis unknown until run time (batch, timesteps). */
export type Shape = readonly (number | null)[];

/** A weight given to `setWeights`: a Tensor, or its values in row-major order. */
export type WeightValues = Tensor | Float32Array;

/** What a layer is told when it runs. */
export interface RunContext {
  /** A training pass: keep what `backward` needs, apply dropout, update batch statistics. */
  readonly training: boolean;
  /**
   * One entry per input: the per-step mask of a sequence input `[N, T, ...]`, or null
   * (every step valid). Keras semantics: a masked step leaves recurrent states unchanged.
   */
  readonly masks: readonly (StepMask | null)[];
}

/** The gradients a pass's `backward` returns. */
export interface LayerGradients {
  /** One per input, same shape; null for an input that takes no gradient (integer ids). */
  readonly dInputs: (Tensor | null)[];
  /** One per tensor of `trainableWeights()`, same order and shape. */
  readonly dWeights: Tensor[];
}

/** One run of a layer. */
export interface LayerPass {
  /** The outputs (usually one; a recurrent layer with `returnState` adds its final states). */
  readonly outputs: readonly Tensor[];
  /** One per output: the mask it carries to the next layer (Keras `compute_mask`), or null. */
  readonly masks: readonly (StepMask | null)[];
  /**
   * Gradients for the loss gradients of the outputs (null: that output took no part in the
   * loss). Only for a pass run with `training: true`; call it at most once.
   */
  backward(dOutputs: readonly (Tensor | null)[]): Promise<LayerGradients>;
  /** Frees what the pass saved for `backward`. The outputs stay the caller's to dispose. */
  dispose(): void;
}

/** A layer. */
export interface Layer {
  /** Unique within a model; Keras's `name`. */
  readonly name: string;
  /** The Keras class name (`'LSTM'`, `'Conv1D'`, ...), as written in model files. */
  readonly className: string;
  /** Whether its weights exist (a layer without weights is always built). */
  readonly built: boolean;
  /** Whether `dispose` was called; a disposed layer refuses every use with RNNKIT_DISPOSED. */
  readonly isDisposed: boolean;
  /**
   * How many inputs it takes: 1, or `'many'` for merge layers (2 or more, as a list).
   */
  readonly inputArity: 1 | 'many';
  /** The batch input shape its `inputShape`/`batchInputShape` option declared, or null. */
  readonly declaredInputShape: Shape | null;

  /**
   * The output shapes for these input shapes (one per input), without building anything.
   * @throws RangeError naming the layer when it cannot take them
   */
  computeOutputShape(inputShapes: readonly Shape[]): Shape[];
  /**
   * Creates the weights for these input shapes (a list, one per input; a layer of one
   * input also takes its shape alone, as Keras's `build(input_shape)`); a built layer
   * checks they agree.
   */
  build(inputShapes: Shape | readonly Shape[]): void;
  /** Runs the layer off the JavaScript thread (builds it from the inputs if needed). */
  run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass>;

  /** Copies of all weights, in Keras's order and shapes. */
  getWeights(): Tensor[];
  /** Replaces all weights (`getWeights` order and shapes); builds the layer if it can. */
  setWeights(weights: readonly WeightValues[]): void;
  /** How many arrays `getWeights` returns; known before `build`. */
  weightCount(): number;
  /**
   * The weights' names relative to the layer, `getWeights` order, as tfjs-layers writes
   * them after `<layer name>/` (`kernel`, `recurrent_kernel`, `forward_lstm_1/kernel`,
   * `moving_mean`); known before `build`.
   */
  weightNames(): string[];
  /** Number of weight values. @throws when not built */
  countParams(): number;
  /** Number of trainable weight values (BatchNormalization's moving statistics are not). */
  countTrainableParams(): number;
  /**
   * The live tensors an optimizer updates in place, matching `LayerPass.backward`'s
   * `dWeights`; call `weightsUpdated` after changing them.
   */
  trainableWeights(): Tensor[];
  /** Re-derives whatever the layer caches from its weights (packed copies). */
  weightsUpdated(): void;

  /** The Keras `config` object (snake_case keys, `name` included) written to model files. */
  getConfig(): JsonObject;
  /** Moves the weights (and carried states) to a backend; later runs take inputs there. */
  to(backend: BackendName): this;
  /** Frees the weights. Idempotent. */
  dispose(): void;

  /** Resolves once the weights exist (large recurrent layers initialize on a worker). */
  weightsReady?(): Promise<void>;
  /** Clears carried states (stateful recurrent layers). */
  resetStates?(): void;
}

/** Whether `value` implements the {@link Layer} contract. */
export function isLayer(value: unknown): value is Layer {
  if (typeof value !== 'object' || value === null) return false;
  const l = value as Record<string, unknown>;
  return (
    typeof l.name === 'string' &&
    typeof l.className === 'string' &&
    typeof l.run === 'function' &&
    typeof l.computeOutputShape === 'function' &&
    typeof l.getWeights === 'function' &&
    typeof l.getConfig === 'function'
  );
}

/**
 * `build`'s argument as a list of input shapes: layers take one shape (`[null, 10, 8]`,
 * as Keras's `build(input_shape)`) or, from models and merge layers, a list of them.
 */
export function shapeList(arg: Shape | readonly Shape[]): Shape[] {
  if (Array.isArray(arg) && arg.length > 0 && arg.every((s) => Array.isArray(s))) return [...(arg as readonly Shape[])];
  return [arg as Shape];
}
