import { expectObject, rangeError, rejectUnknownOptions, typeError } from '../errors';
import type { BackendName } from '../backend';
import { Tensor } from '../tensor';
import { Dense, DenseForward } from './dense';
import type { WeightValues } from './recurrent';

/**
 * Keras `TimeDistributed(Dense)`: the dense layer applied to every step of a
 * `[N, T, D]` input. (A dense layer already acts on the last axis; this wrapper keeps
 * Keras's model structure and insists on a sequence input.)
 */
export class TimeDistributed {
  /** The wrapped dense layer. */
  readonly layer: Dense;

  /** @internal Use {@link timeDistributed}. */
  constructor(args: unknown) {
    const o = expectObject(args, 'layers.timeDistributed: options');
    rejectUnknownOptions(o, ['layer'], 'layers.timeDistributed');
    if (!(o.layer instanceof Dense)) throw typeError('layers.timeDistributed: layer must be a dense layer (rk.layers.dense)');
    this.layer = o.layer;
  }

  get name(): string {
    return `time_distributed_${this.layer.name}`;
  }
  get units(): number {
    return this.layer.units;
  }
  get config(): Dense['config'] {
    return this.layer.config;
  }
  get built(): boolean {
    return this.layer.built;
  }
  get inputFeatures(): number {
    return this.layer.inputFeatures;
  }
  /** Whether the wrapped layer was disposed (every use then throws RNNKIT_DISPOSED). */
  get isDisposed(): boolean {
    return this.layer.isDisposed;
  }
  build(inputShape: readonly (number | null)[]): void {
    this.layer.build(inputShape);
  }
  getWeights(): Tensor[] {
    return this.layer.getWeights();
  }
  setWeights(weights: readonly WeightValues[]): void {
    this.layer.setWeights(weights);
  }
  countParams(): number {
    return this.layer.countParams();
  }

  async forward(x: Tensor, options: { training?: boolean } = {}): Promise<DenseForward> {
    if (x instanceof Tensor && x.shape.length !== 3) {
      throw rangeError(`${this.name}.forward: x must be rank 3 [batch, timesteps, features], got [${x.shape.join(',')}]`);
    }
    return this.layer.forward(x, options);
  }

  /** @internal */
  trainableWeights(): Tensor[] {
    return this.layer.trainableWeights();
  }
  /** @internal */
  weightsUpdated(): void {}
  /** @internal */
  backwardTrainable(fwd: DenseForward, dOutput: Tensor): Promise<{ dInput: Tensor; dWeights: Tensor[] }> {
    return this.layer.backwardTrainable(fwd, dOutput);
  }

  /** Moves the wrapped layer's weights to `backend`; returns this layer. */
  to(backend: BackendName): this {
    this.layer.to(backend);
    return this;
  }

  dispose(): void {
    this.layer.dispose();
  }
}

/** Applies a dense layer to every timestep (Keras `TimeDistributed`). */
export function timeDistributed(args: { layer: Dense }): TimeDistributed {
  return new TimeDistributed(args);
}
