/**
 * Keras `BatchNormalization` over the last axis, forward and backward on the native core.
 */
import { rangeError, typeError } from '../errors';
import { InitializerSpec } from '../initializers';
import { baseConfig, declaredShape, get, JsonObject, kerasInitializer, Obj, optBool } from '../io/keras-config';
import { modelFileError } from '../io/untrusted-files';
import type { StepMask } from '../mask';
import { native } from '../native';
import { expectTensor, fromNative, Tensor } from '../tensor';
import { simplePass } from './base';
import { NormalizationLayer } from './normalization-base';
import { initializerFromConfig, zerosLike } from './channel-weights';
import type { LayerPass, RunContext } from './layer';
import { registerLayer } from './registry';

/** Options of {@link batchNormalization} (tfjs-layers names, Keras defaults). */
export interface BatchNormalizationLayerArgs {
  /** The normalized (channel) axis: only the last one (-1, or its index). Default -1. */
  axis?: number | readonly number[];
  /** Weight of the old value in the moving statistics' update. Default 0.99. */
  momentum?: number;
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
  /** Default 'zeros'. */
  movingMeanInitializer?: InitializerSpec;
  /** Default 'ones'. */
  movingVarianceInitializer?: InitializerSpec;
  /** Input shape without the batch axis, e.g. `[timesteps, channels]`; builds the layer at once. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Seed of the initializers; default: drawn at random. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

const OPTIONS = [
  'axis',
  'momentum',
  'epsilon',
  'center',
  'scale',
  'betaInitializer',
  'gammaInitializer',
  'movingMeanInitializer',
  'movingVarianceInitializer',
  'inputShape',
  'batchInputShape',
  'seed',
  'name',
];

/**
 * Batch normalization (Keras `BatchNormalization`) over the last (channel) axis.
 *
 * Inference: `(x - movingMean) / sqrt(movingVariance + epsilon) · gamma + beta`.
 * Training: the same with the batch's mean and biased variance over every axis but the
 * last, the gradient flowing through them; each training pass then updates the moving
 * statistics in place as Keras does: `moving = moving · momentum + batch · (1 - momentum)`,
 * with the biased batch variance (TF2 Keras's and Keras 3's non-fused path, tfjs-layers).
 * With a step mask on a `[N, T, C]` input (Keras 3), the batch statistics count only the
 * unmasked steps: sums weighted by the mask and divided by (unmasked steps + 1e-7); every
 * step is still normalized. The mask passes through.
 *
 * Weights: `[gamma, beta, moving_mean, moving_variance]` (gamma/beta only when `scale`/
 * `center`); only gamma and beta are trainable.
 */
export class BatchNormalization extends NormalizationLayer {
  readonly className = 'BatchNormalization';
  readonly momentum: number;
  readonly movingMeanInitializer: InitializerSpec;
  readonly movingVarianceInitializer: InitializerSpec;

  /** @internal Use {@link batchNormalization}. */
  constructor(args: BatchNormalizationLayerArgs = {}) {
    const where = 'layers.batchNormalization';
    let moving: [InitializerSpec, InitializerSpec] = ['zeros', 'ones'];
    super(args, where, 'batch_normalization', OPTIONS, (_o, init) => {
      moving = [init('movingMeanInitializer', 'zeros'), init('movingVarianceInitializer', 'ones')];
      return [
        { name: 'moving_mean', initializer: moving[0], trainable: false },
        { name: 'moving_variance', initializer: moving[1], trainable: false },
      ];
    });
    [this.movingMeanInitializer, this.movingVarianceInitializer] = moving;
    const momentum = (args as Record<string, unknown>).momentum;
    if (momentum !== undefined && typeof momentum !== 'number') throw typeError(`${where}: momentum must be a number`);
    this.momentum = momentum === undefined ? 0.99 : momentum;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw rangeError(`${where}: momentum must be in [0, 1], got ${this.momentum}`);
    if (this.declaredInputShape) this.build([this.declaredInputShape]);
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    this.assertLive('run');
    const where = `${this.name}.run`;
    if (!Array.isArray(inputs) || inputs.length !== 1) throw typeError(`${where}: takes one input`);
    const x = expectTensor(inputs[0], `${where}: inputs[0]`);
    this.build([x.shape]);
    const training = context.training === true;
    const mask = context.masks?.[0] ?? null;
    const weights = training ? rowWeights(mask, x.shape, where) : null;
    const gamma = this.vectors.get('gamma');
    const r = await native.batchNormForward(
      x.handle,
      gamma?.handle ?? null,
      this.vectors.get('beta')?.handle ?? null,
      this.vectors.get('moving_mean')!.handle,
      this.vectors.get('moving_variance')!.handle,
      this.epsilon,
      training,
      this.momentum,
      weights,
    );
    const y = fromNative(r.y);
    const mean = r.mean ? fromNative(r.mean) : null;
    const variance = r.variance ? fromNative(r.variance) : null;
    const owned = [mean, variance].filter((t): t is Tensor => t !== null);
    return simplePass(
      [y],
      [mask],
      async (dOutputs) => {
        if (!mean || !variance) throw typeError(`${this.name}.backward: the pass was run without training: true, so it kept nothing to differentiate`);
        const dy = dOutputs[0] ? expectTensor(dOutputs[0], `${this.name}.backward: dOutputs[0]`) : zerosLike(y);
        try {
          const g = await native.batchNormBackward(x.handle, dy.handle, gamma?.handle ?? null, mean.handle, variance.handle, this.epsilon, weights);
          return { dInputs: [fromNative(g.dx)], dWeights: this.affineGradients(g.dgamma, g.dbeta) };
        } finally {
          if (dy !== dOutputs[0]) dy.dispose();
        }
      },
      owned,
    );
  }

  getConfig(): JsonObject {
    return {
      ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null),
      ...this.normalizationConfig(),
      momentum: this.momentum,
      moving_mean_initializer: kerasInitializer(this.movingMeanInitializer, 'zeros'),
      moving_variance_initializer: kerasInitializer(this.movingVarianceInitializer, 'ones'),
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    };
  }
}

/**
 * One 0/1 weight per row of x `[N, T, ..., C]` from a step mask `[N, T]` (each step's rows
 * share its weight), or null without a mask.
 */
function rowWeights(mask: StepMask | null, shape: readonly number[], where: string): Float32Array | null {
  if (!mask) return null;
  if (shape.length < 3 || shape[0] !== mask.N || shape[1] !== mask.T) {
    throw rangeError(`${where}: a step mask [${mask.N},${mask.T}] needs an input [${mask.N}, ${mask.T}, ..., channels], got [${shape.join(',')}]`);
  }
  const inner = shape.slice(2, -1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(mask.N * mask.T * inner);
  for (let s = 0; s < mask.N * mask.T; s++) if (mask.valid[s]) out.fill(1, s * inner, (s + 1) * inner);
  return out;
}

/** Batch normalization over the last axis (Keras `BatchNormalization`). */
export function batchNormalization(args: BatchNormalizationLayerArgs = {}): BatchNormalization {
  return new BatchNormalization(args);
}

/** Reads a Keras / tfjs `BatchNormalization` config. */
function fromConfig(cfg: Obj, context: { readonly where: string }): BatchNormalization {
  try {
    for (const key of ['renorm', 'synchronized']) if (get(cfg, key) === true) throw typeError(`${key}: true is not supported`);
    const vbs = get(cfg, 'virtual_batch_size');
    if (vbs !== undefined && vbs !== null) throw typeError('virtual_batch_size is not supported');
    const dtype = get(cfg, 'dtype');
    if (typeof dtype === 'string' && dtype !== 'float32') throw typeError(`dtype '${dtype}' is not supported (float32 only)`);
    const name = get(cfg, 'name');
    const center = optBool(cfg, 'center', context.where);
    const scale = optBool(cfg, 'scale', context.where);
    const declared = declaredShape(cfg, context.where);
    const init = (key: string, option: keyof BatchNormalizationLayerArgs) => {
      const spec = initializerFromConfig(get(cfg, key));
      return spec ? { [option]: spec } : {};
    };
    const args: BatchNormalizationLayerArgs = {
      ...(typeof name === 'string' ? { name } : {}),
      ...(get(cfg, 'axis') !== undefined ? { axis: get(cfg, 'axis') as number } : {}),
      ...(get(cfg, 'momentum') !== undefined ? { momentum: get(cfg, 'momentum') as number } : {}),
      ...(get(cfg, 'epsilon') !== undefined ? { epsilon: get(cfg, 'epsilon') as number } : {}),
      ...(center !== undefined ? { center } : {}),
      ...(scale !== undefined ? { scale } : {}),
      ...init('beta_initializer', 'betaInitializer'),
      ...init('gamma_initializer', 'gammaInitializer'),
      ...init('moving_mean_initializer', 'movingMeanInitializer'),
      ...init('moving_variance_initializer', 'movingVarianceInitializer'),
      ...(declared ? { batchInputShape: declared } : {}),
      seed: 0,
    };
    return batchNormalization(args);
  } catch (e) {
    throw modelFileError(e, context.where);
  }
}

registerLayer('BatchNormalization', fromConfig);
