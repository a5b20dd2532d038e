/**
 * The kinds of layer a {@link Sequential} model holds, and how to tell them apart.
 * @internal
 */
import { Bidirectional } from '../layers/bidirectional';
import { Dropout } from '../layers/dropout';
import { Embedding } from '../layers/embedding';
import { TimeDistributed } from '../layers/time-distributed';
import { RecurrentLayer, WeightValues } from '../layers/recurrent';
import { InitializerSpec } from '../initializers';
import { Tensor } from '../tensor';

/** The resolved configuration a dense layer exposes (the parts a model reads). */
export interface DenseLayerConfig {
  readonly units: number;
  readonly activation: string;
  readonly useBias: boolean;
  readonly name: string;
  readonly batchInputShape: readonly (number | null)[] | null;
  readonly kernelInitializer?: InitializerSpec;
  readonly biasInitializer?: InitializerSpec;
}

/**
 * A fully connected layer as a model uses it (`rk.layers.dense`): it acts on the last
 * axis of its input, so `[..., D]` becomes `[..., units]`.
 */
export interface DenseLike {
  readonly units: number;
  readonly name: string;
  readonly config: DenseLayerConfig;
  readonly built: boolean;
  /** Input features D (0 before build). */
  readonly inputFeatures: number;
  build(inputShape: readonly (number | null)[]): void;
  getWeights(): Tensor[];
  setWeights(weights: readonly WeightValues[]): void;
  countParams(): number;
  /** Moves its weights to a backend (rk's own dense layers have it). */
  to?(backend: 'cpu' | 'cuda'): unknown;
  /** Whether it was disposed (rk's own layers say; a model then refuses to run it). */
  readonly isDisposed?: boolean;
  forward(x: Tensor, options?: { training?: boolean }): Promise<{ readonly output: Tensor; dispose(): void }>;
  dispose(): void;
}

/** A layer a {@link Sequential} model can hold. */
export type ModelLayer = RecurrentLayer | Bidirectional | DenseLike | Embedding | Dropout | TimeDistributed;

/**
 * Whether `l` is a dense layer (structurally: a forward pass and a `units`/`useBias`
 * config, not recurrent, not an embedding, dropout or time-distributed wrapper).
 */
export function isDense(l: unknown): l is DenseLike {
  if (typeof l !== 'object' || l === null) return false;
  if (l instanceof RecurrentLayer || l instanceof Bidirectional) return false;
  if (l instanceof Embedding || l instanceof Dropout || l instanceof TimeDistributed) return false;
  const o = l as Record<string, unknown>;
  const c = o.config as Record<string, unknown> | undefined;
  return (
    typeof o.forward === 'function' &&
    typeof o.getWeights === 'function' &&
    typeof o.setWeights === 'function' &&
    typeof o.countParams === 'function' &&
    typeof c === 'object' && c !== null &&
    typeof c.units === 'number' &&
    typeof c.useBias === 'boolean'
  );
}

/** Whether `l` is a layer kind a {@link Sequential} model accepts. */
export function isModelLayer(l: unknown): l is ModelLayer {
  return (
    l instanceof RecurrentLayer || l instanceof Bidirectional || l instanceof Embedding || l instanceof Dropout || l instanceof TimeDistributed || isDense(l)
  );
}

/**
 * The Keras class name of a layer: 'SimpleRNN', 'LSTM', 'GRU', 'Bidirectional', 'Dense',
 * 'Embedding', 'Dropout' or 'TimeDistributed'.
 */
export function kerasClassName(l: ModelLayer): string {
  if (l instanceof Bidirectional) return 'Bidirectional';
  if (l instanceof Embedding) return 'Embedding';
  if (l instanceof Dropout) return 'Dropout';
  if (l instanceof TimeDistributed) return 'TimeDistributed';
  if (l instanceof RecurrentLayer) return l.config.cell === 'lstm' ? 'LSTM' : l.config.cell === 'gru' ? 'GRU' : 'SimpleRNN';
  return 'Dense';
}

/** Number of weight arrays a layer has in `getWeights()` order (known before it is built). */
export function weightCount(l: ModelLayer): number {
  if (l instanceof Bidirectional) return 2 * weightCount(l.forwardLayer);
  if (l instanceof RecurrentLayer) return l.config.useBias ? 3 : 2;
  if (l instanceof Embedding) return 1;
  if (l instanceof Dropout) return 0;
  return l.config.useBias ? 2 : 1;
}

const bidirectionalNames = new WeakMap<Bidirectional, string>();
const wrapperNames = new WeakMap<TimeDistributed, string>();
let bidirectionalCounter = 0;

/**
 * A layer's name. A {@link Bidirectional} has none of its own, so it gets one (from a
 * loaded file, or `bidirectional_<n>`) the first time it is asked for. A
 * {@link TimeDistributed} loaded from a file keeps the file's name.
 */
export function layerName(l: ModelLayer): string {
  if (l instanceof TimeDistributed) return wrapperNames.get(l) ?? l.name;
  if (!(l instanceof Bidirectional)) return l.name;
  let name = bidirectionalNames.get(l);
  if (name === undefined) {
    name = `bidirectional_${++bidirectionalCounter}`;
    bidirectionalNames.set(l, name);
  }
  return name;
}

/** Names a bidirectional layer (used when loading a file that names it). */
export function setBidirectionalName(l: Bidirectional, name: string): void {
  bidirectionalNames.set(l, name);
}

/** Names a time-distributed wrapper (used when loading a file that names it). */
export function setTimeDistributedName(l: TimeDistributed, name: string): void {
  wrapperNames.set(l, name);
}
