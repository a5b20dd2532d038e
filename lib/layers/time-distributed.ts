import { expectObject, rangeError, rejectUnknownOptions, typeError } from '../errors';
import type { BackendName } from '../backend';
import { Tensor } from '../tensor';
import { Dense, DenseForward, denseFromConfig, denseOutputShape, densePass } from './dense';
import { get, isObj, JsonObject } from '../io/keras-config';
import { fileTypeError } from '../io/untrusted-files';
import { defaultLayerName, layerNameOption } from './base';
import { Layer, LayerPass, RunContext, Shape } from './layer';
import { registerLayer } from './registry';
import { applyLayer, SymbolicTensor } from './symbolic';
import type { WeightValues } from './layer';

/**
 * Keras `TimeDistributed(Dense)`: the dense layer applied to every step of a
 * `[N, T, D]` input. (A dense layer already acts on the last axis; this wrapper keeps
 * Keras's model structure and insists on a sequence input.)
 */
export class TimeDistributed implements Layer {
  /** The wrapped dense layer. */
  readonly layer: Dense;
  /** The wrapper's name; default `time_distributed_<n>`. */
  readonly name: string;

  /** @internal Use {@link timeDistributed}. */
  constructor(args: unknown) {
    const o = expectObject(args, 'layers.timeDistributed: options');
    rejectUnknownOptions(o, ['layer', 'name'], 'layers.timeDistributed');
    if (!(o.layer instanceof Dense)) throw typeError('layers.timeDistributed: layer must be a dense layer (rk.layers.dense)');
    this.layer = o.layer;
    this.name = o.name === undefined ? defaultLayerName('time_distributed') : layerNameOption(o.name, 'time_distributed', 'layers.timeDistributed');
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
  build(inputShape: Shape | readonly Shape[]): void {
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

  /** Part of the {@link Layer} contract. */
  trainableWeights(): Tensor[] {
    return this.layer.trainableWeights();
  }
  /** Part of the {@link Layer} contract. */
  weightsUpdated(): void {}
  /** @internal */
  backwardTrainable(fwd: DenseForward, dOutput: Tensor): Promise<{ dInput: Tensor; dWeights: Tensor[] }> {
    return this.layer.backwardTrainable(fwd, dOutput);
  }

  // ---- the Layer contract ----

  /** 'TimeDistributed'. */
  readonly className = 'TimeDistributed';
  /** One input. */
  readonly inputArity = 1;
  /** The wrapped layer's declared batch input shape, or null. */
  get declaredInputShape(): Shape | null {
    return this.layer.config.batchInputShape;
  }
  /** Calls the layer on a symbolic tensor (functional models). */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor | SymbolicTensor[] {
    if (this.isDisposed) return this.layer.apply(inputs); // throws RNNKIT_DISPOSED
    return applyLayer(this, inputs);
  }
  /** `[N, T, D]` → `[N, T, units]`. */
  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const l = this.layer;
    return [denseOutputShape({ name: this.name, built: l.built, inputFeatures: l.inputFeatures, units: l.units }, inputShapes, 3)];
  }
  /** Runs the wrapped dense layer on every step; the mask passes through. */
  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const fwd = await this.forward(inputs[0]!, { training: context.training });
    return densePass(this.layer, fwd, context);
  }
  weightCount(): number {
    return this.layer.weightCount();
  }
  weightNames(): string[] {
    return this.layer.weightNames();
  }
  countTrainableParams(): number {
    return this.layer.countTrainableParams();
  }
  /** The Keras config, with the wrapped `layer`. */
  getConfig(): JsonObject {
    const inner = this.layer.getConfig();
    const { batch_input_shape: declared, ...rest } = inner;
    return {
      name: this.name,
      trainable: true,
      ...(declared !== undefined ? { batch_input_shape: declared } : {}),
      dtype: 'float32',
      layer: { class_name: 'Dense', config: rest },
    };
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
export function timeDistributed(args: { layer: Dense; name?: string }): TimeDistributed {
  return new TimeDistributed(args);
}

registerLayer('TimeDistributed', (cfg, context) => {
  const where = context.where;
  const inner = get(cfg, 'layer');
  if (!isObj(inner)) throw fileTypeError(`${where}: config.layer is missing`);
  const innerClass = inner.class_name ?? inner.className;
  if (innerClass !== 'Dense') throw fileTypeError(`${where}: the wrapped layer must be Dense, got ${typeof innerClass === 'string' ? `'${innerClass.slice(0, 40)}'` : 'nothing'}`);
  if (!isObj(inner.config)) throw fileTypeError(`${where}: config.layer.config is missing`);
  const name = get(cfg, 'name');
  const wrapperName = typeof name === 'string' ? name : defaultLayerName('time_distributed');
  return timeDistributed({ layer: denseFromConfig(inner.config, `${wrapperName}_dense`, `${where} > Dense`), name: wrapperName });
});
