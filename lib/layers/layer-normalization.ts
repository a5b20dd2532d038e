/**
 * Keras `LayerNormalization` over the last axis, forward and backward on the native core.
 */
import { typeError } from '../errors';
import { InitializerSpec } from '../initializers';
import { baseConfig, declaredShape, get, JsonObject, Obj, optBool } from '../io/keras-config';
import { modelFileError } from '../io/untrusted-files';
import { native } from '../native';
import { expectTensor, fromNative, Tensor } from '../tensor';
import { simplePass } from './base';
import { NormalizationLayer } from './normalization-base';
import { initializerFromConfig, zerosLike } from './channel-weights';
import type { LayerPass, RunContext } from './layer';
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
export class LayerNormalization extends NormalizationLayer {
  readonly className = 'LayerNormalization';

  /** @internal Use {@link layerNormalization}. */
  constructor(args: LayerNormalizationLayerArgs = {}) {
    super(args, 'layers.layerNormalization', 'layer_normalization', OPTIONS);
    if (this.declaredInputShape) this.build([this.declaredInputShape]);
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
