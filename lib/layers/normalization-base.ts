/**
 * What LayerNormalization and BatchNormalization share: the options `axis`, `epsilon`,
 * `center`, `scale` and their initializers, per-channel weight vectors (gamma, beta, and
 * whatever statistics the layer adds), shapes, and the weight methods of the contract.
 * Internal to rnnkit: not part of the public API.
 */
import type { BackendName } from '../backend';
import { expectObject, optionalBoolean, optionalInteger, rejectUnknownOptions } from '../errors';
import { InitializerSpec, validateInitializer } from '../initializers';
import { kerasInitializer, type JsonObject } from '../io/keras-config';
import type { NativeTensor } from '../native';
import { fromNative, type Tensor } from '../tensor';
import { declaredInputOption, LayerBase, layerNameOption } from './base';
import { axisOption, ChannelWeights, ChannelWeightSpec, channelsOf, checkLastAxis, positiveNumberOption } from './channel-weights';
import { shapeList, type Shape, type WeightValues } from './layer';
import { singleShape } from './layer-helpers';

/** A normalization layer over the last axis with per-channel weights. */
export abstract class NormalizationLayer extends LayerBase {
  /** The axis as given (-1 or the last axis's index). */
  readonly axis: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: InitializerSpec;
  readonly gammaInitializer: InitializerSpec;
  protected readonly vectors: ChannelWeights;

  /**
   * @param extra weight vectors after gamma and beta (BatchNormalization's moving statistics),
   *   made from the checked options
   */
  constructor(
    args: unknown,
    where: string,
    prefix: string,
    allowed: readonly string[],
    extra: (o: Record<string, unknown>, init: (key: string, fallback: InitializerSpec) => InitializerSpec) => ChannelWeightSpec[] = () => [],
  ) {
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, allowed, where);
    super(layerNameOption(o.name, prefix, where), declaredInputOption(o.inputShape, o.batchInputShape, where));
    this.axis = axisOption(o.axis, where);
    this.epsilon = positiveNumberOption(o.epsilon, `${where}: epsilon`, 1e-3);
    this.center = optionalBoolean(o.center, `${where}: center`, true);
    this.scale = optionalBoolean(o.scale, `${where}: scale`, true);
    const init = (key: string, fallback: InitializerSpec): InitializerSpec => (o[key] === undefined ? fallback : validateInitializer(o[key], `${where}: ${key}`));
    this.betaInitializer = init('betaInitializer', 'zeros');
    this.gammaInitializer = init('gammaInitializer', 'ones');
    const seed = optionalInteger(o.seed, `${where}: seed`, Math.floor(Math.random() * 0x7fffffff));
    this.vectors = new ChannelWeights(
      this.name,
      [
        ...(this.scale ? [{ name: 'gamma', initializer: this.gammaInitializer, trainable: true }] : []),
        ...(this.center ? [{ name: 'beta', initializer: this.betaInitializer, trainable: true }] : []),
        ...extra(o, init),
      ],
      seed,
    );
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

  /** dWeights in trainableWeights order (gamma, beta as enabled); the unused ones are freed. */
  protected affineGradients(dgamma: NativeTensor, dbeta: NativeTensor): Tensor[] {
    const [g, b] = [fromNative(dgamma), fromNative(dbeta)];
    if (!this.scale) g.dispose();
    if (!this.center) b.dispose();
    return [...(this.scale ? [g] : []), ...(this.center ? [b] : [])];
  }

  /** The Keras config keys every normalization layer writes. */
  protected normalizationConfig(): JsonObject {
    return {
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      beta_initializer: kerasInitializer(this.betaInitializer, 'zeros'),
      gamma_initializer: kerasInitializer(this.gammaInitializer, 'ones'),
    };
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
  /** Statistics the layer keeps (BatchNormalization's moving ones) are not trained. */
  override countTrainableParams(): number {
    this.assertLive('countTrainableParams');
    return this.vectors.count(true);
  }
  /** The live gamma and beta (those enabled). */
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
}
