/**
 * Keras `LayerNormalization` over the last axis, forward and backward on the native core.
 */
import type { BackendName } from '../backend';
import { expectObject, optionalBoolean, optionalInteger, rejectUnknownOptions, typeError } from '../errors';
import { InitializerSpec, validateInitializer } from '../initializers';
import { baseConfig, declaredShape, get, JsonObject, kerasInitializer, Obj, optBool } from '../io/keras-config';
import { modelFileError } from '../io/untrusted-files';
import { native } from '../native';
import { expectTensor, fromNative, Tensor } from '../tensor';
import { declaredInputOption, LayerBase, layerNameOption, simplePass } from './base';
import { axisOption, ChannelWeights, channelsOf, checkLastAxis, initializerFromConfig, positiveNumberOption, singleShape, zerosLike } from './channel-weights';
import { shapeList } from './layer';
import type { LayerPass, RunContext, Shape, WeightValues } from './layer';
import { registerLayer } from './registry';

/** Options of {@link layerNormalization} (tfjs-layers names, Keras defaults). */
export interface LayerNormalizationLayerArgs {
  /** The normalized axis: only the last one (-1, or its index). Default -1. */
  axis?: number | readonly number[];
  /** Added to the variance. Default 1e-3. */
  epsilon?: number;
  /** Add the learned offset `beta`. Default true. */
  center?: boolean;
  /** Multiply by the learned scale `gamma`. Default true. */
  scale?: boolean;
  /** Default 'zeros'. */
  betaInitializer?: InitializerSpec;
  /** Default 'ones'. */
  gammaInitializer?: InitializerSpec;
  /** Input shape without the batch axis, e.g. `[timesteps, channels]`; builds the layer at once. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Seed of the initializers; default: drawn at random. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

const OPTIONS = ['axis', 'epsilon', 'center', 'scale', 'betaInitializer', 'gammaInitializer', 'inputShape', 'batchInputShape', 'seed', 'name'];

/**
 * Layer normalization (Keras `LayerNormalization`): each sample's vector along the last
 * axis is normalized to zero mean and unit (biased) variance, then scaled by `gamma` and
 * offset by `beta` (`[C]` each). The same in training and inference; the incoming mask
 * passes through.
 */
export class LayerNormalization extends LayerBase {
  readonly className = 'LayerNormalization';
  /** The axis as given (-1 or the last axis's index). */
  readonly axis: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: InitializerSpec;
  readonly gammaInitializer: InitializerSpec;
  private readonly vectors: ChannelWeights;

  /** @internal Use {@link layerNormalization}. */
  constructor(args: LayerNormalizationLayerArgs = {}) {
    const where = 'layers.layerNormalization';
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, OPTIONS, where);
    super(layerNameOption(o.name, 'layer_normalization', where), declaredInputOption(o.inputShape, o.batchInputShape, where));
    this.axis = axisOption(o.axis, where);
    this.epsilon = positiveNumberOption(o.epsilon, `${where}: epsilon`, 1e-3);
    this.center = optionalBoolean(o.center, `${where}: center`, true);
    this.scale = optionalBoolean(o.scale, `${where}: scale`, true);
    this.betaInitializer = o.betaInitializer === undefined ? 'zeros' : validateInitializer(o.betaInitializer, `${where}: betaInitializer`);
    this.gammaInitializer = o.gammaInitializer === undefined ? 'ones' : validateInitializer(o.gammaInitializer, `${where}: gammaInitializer`);
    const seed = optionalInteger(o.seed, `${where}: seed`, Math.floor(Math.random() * 0x7fffffff));
    this.vectors = new ChannelWeights(
      this.name,
      [
        ...(this.scale ? [{ name: 'gamma', initializer: this.gammaInitializer, trainable: true }] : []),
        ...(this.center ? [{ name: 'beta', initializer: this.betaInitializer, trainable: true }] : []),
      ],
      seed,
    );
    if (this.declaredInputShape) this.build([this.declaredInputShape]);
  }

  override get built(): boolean {
    return this.vectors.built;
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const shape = singleShape(inputShapes, this.name);
    channelsOf(shape, `${this.name}.computeOutputShape`);
    checkLastAxis(this.axis, shape.length, this.name);
    return [[...shape]];
  }

  override build(inputShapes: Shape | readonly Shape[]): void {
    this.assertLive('build');
    const shape = singleShape(shapeList(inputShapes), this.name);
    this.computeOutputShape([shape]);
    this.vectors.build(channelsOf(shape, `${this.name}.build`));
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    this.assertLive('run');
    const where = `${this.name}.run`;
    if (!Array.isArray(inputs) || inputs.length !== 1) throw typeError(`${where}: takes one input`);
    const x = expectTensor(inputs[0], `${where}: inputs[0]`);
    this.build([x.shape]);
    const training = context.training === true;
    const gamma = this.vectors.get('gamma');
    const r = await native.layerNormForward(x.handle, gamma?.handle ?? null, this.vectors.get('beta')?.handle ?? null, this.epsilon, training);
    const y = fromNative(r.y);
    const mean = r.mean ? fromNative(r.mean) : null;
    const rstd = r.rstd ? fromNative(r.rstd) : null;
    const owned = [mean, rstd].filter((t): t is Tensor => t !== null);
    return simplePass(
      [y],
      [context.masks?.[0] ?? null],
      async (dOutputs) => {
        if (!mean || !rstd) throw typeError(`${this.name}.backward: the pass was run without training: true, so it kept nothing to differentiate`);
        const dy = dOutputs[0] ? expectTensor(dOutputs[0], `${this.name}.backward: dOutputs[0]`) : zerosLike(y);
        try {
          const g = await native.layerNormBackward(x.handle, dy.handle, gamma?.handle ?? null, mean.handle, rstd.handle);
          const [dgamma, dbeta] = [fromNative(g.dgamma), fromNative(g.dbeta)];
          if (!this.scale) dgamma.dispose();
          if (!this.center) dbeta.dispose();
          return { dInputs: [fromNative(g.dx)], dWeights: [...(this.scale ? [dgamma] : []), ...(this.center ? [dbeta] : [])] };
        } finally {
          if (dy !== dOutputs[0]) dy.dispose();
        }
      },
      owned,
    );
  }

  override getWeights(): Tensor[] {
    this.assertLive('getWeights');
    return this.vectors.copies();
  }
  override setWeights(weights: readonly WeightValues[]): void {
    this.assertLive('setWeights');
    this.vectors.set(weights);
  }
  override weightCount(): number {
    return this.vectors.specs.length;
  }
  override weightNames(): string[] {
    return this.vectors.names();
  }
  override countParams(): number {
    this.assertLive('countParams');
    return this.vectors.count(false);
  }
  override countTrainableParams(): number {
    this.assertLive('countTrainableParams');
    return this.vectors.count(true);
  }
  override trainableWeights(): Tensor[] {
    this.assertLive('trainableWeights');
    return this.vectors.trainable();
  }
  override to(backend: BackendName): this {
    this.assertLive('to');
    this.vectors.to(backend, `${this.name}.to`);
    return this;
  }
  override dispose(): void {
    super.dispose();
    this.vectors.dispose();
  }

  getConfig(): JsonObject {
    return {
      ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null),
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      beta_initializer: kerasInitializer(this.betaInitializer, 'zeros'),
      gamma_initializer: kerasInitializer(this.gammaInitializer, 'ones'),
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    };
  }
}

/** Layer normalization over the last axis (Keras `LayerNormalization`). */
export function layerNormalization(args: LayerNormalizationLayerArgs = {}): LayerNormalization {
  return new LayerNormalization(args);
}

/** Reads a Keras / tfjs `LayerNormalization` config. */
function fromConfig(cfg: Obj, context: { readonly where: string }): LayerNormalization {
  try {
    if (get(cfg, 'rms_scaling') === true) throw typeError('rms_scaling: true is not supported');
    const dtype = get(cfg, 'dtype');
    if (typeof dtype === 'string' && dtype !== 'float32') throw typeError(`dtype '${dtype}' is not supported (float32 only)`);
    const name = get(cfg, 'name');
    const center = optBool(cfg, 'center', context.where);
    const scale = optBool(cfg, 'scale', context.where);
    const declared = declaredShape(cfg, context.where);
    const args: LayerNormalizationLayerArgs = {
      ...(typeof name === 'string' ? { name } : {}),
      ...(get(cfg, 'axis') !== undefined ? { axis: get(cfg, 'axis') as number } : {}),
      ...(get(cfg, 'epsilon') !== undefined ? { epsilon: get(cfg, 'epsilon') as number } : {}),
      ...(center !== undefined ? { center } : {}),
      ...(scale !== undefined ? { scale } : {}),
      ...(initializerFromConfig(get(cfg, 'beta_initializer')) ? { betaInitializer: initializerFromConfig(get(cfg, 'beta_initializer')) } : {}),
      ...(initializerFromConfig(get(cfg, 'gamma_initializer')) ? { gammaInitializer: initializerFromConfig(get(cfg, 'gamma_initializer')) } : {}),
      ...(declared ? { batchInputShape: declared } : {}),
      seed: 0,
    };
    return layerNormalization(args);
  } catch (e) {
    throw modelFileError(e, context.where);
  }
}

registerLayer('LayerNormalization', fromConfig);
