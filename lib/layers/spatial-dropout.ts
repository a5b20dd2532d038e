/**
 * Keras `SpatialDropout1D`: dropout of whole channels of a sequence `[N, T, C]`.
 */
import { describe, expectObject, optionalInteger, rangeError, rejectUnknownOptions, typeError } from '../errors';
import { baseConfig, declaredShape, get, JsonObject, Obj } from '../io/keras-config';
import { modelFileError } from '../io/untrusted-files';
import { native } from '../native';
import { expectTensor, fromNative, Tensor } from '../tensor';
import { declaredInputOption, LayerBase, layerNameOption, simplePass } from './base';
import { singleShape, zerosLike } from './channel-weights';
import type { LayerPass, RunContext, Shape } from './layer';
import { registerLayer } from './registry';

/** Options of {@link spatialDropout1d}. */
export interface SpatialDropout1DLayerArgs {
  /** Fraction of the channels set to zero while training, in [0, 1). */
  rate: number;
  /** Seed of the masks (each training pass draws a new one from it); default random. */
  seed?: number;
  /** Input shape without the batch axis: `[timesteps, channels]`. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Layer name. */
  name?: string;
}

/**
 * Spatial dropout over time (Keras `SpatialDropout1D`): while training, each channel of each
 * sample is zeroed at every step with probability `rate` (one draw per sample and channel,
 * Keras's noise shape `[N, 1, C]`) and the kept ones are scaled by 1/(1 - rate); otherwise
 * the input passes through (copied). The backward multiplies by the forward's mask. The
 * mask passes through.
 */
export class SpatialDropout1D extends LayerBase {
  readonly className = 'SpatialDropout1D';
  readonly rate: number;
  /** The seed the masks are drawn from. */
  readonly seed: number;
  private readonly seedGiven: boolean;
  private passes = 0;

  /** @internal Use {@link spatialDropout1d}. */
  constructor(args: SpatialDropout1DLayerArgs) {
    const where = 'layers.spatialDropout1d';
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, ['rate', 'seed', 'inputShape', 'batchInputShape', 'name'], where);
    super(layerNameOption(o.name, 'spatial_dropout1d', where), declaredInputOption(o.inputShape, o.batchInputShape, where, 2));
    if (typeof o.rate !== 'number') throw typeError(`${where}: rate must be a number, got ${describe(o.rate)}`);
    if (!(o.rate >= 0 && o.rate < 1)) throw rangeError(`${where}: rate must be in [0, 1), got ${o.rate}`);
    this.rate = o.rate;
    this.seedGiven = o.seed !== undefined;
    this.seed = optionalInteger(o.seed, `${where}: seed`, Math.floor(Math.random() * 0x7fffffff));
    if (this.seed < 0) throw rangeError(`${where}: seed must be a non-negative integer, got ${this.seed}`);
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const shape = singleShape(inputShapes, this.name);
    if (!Array.isArray(shape) || shape.length !== 3) throw rangeError(`${this.name}: expected an input [batch, timesteps, channels], got ${describe(shape)}`);
    return [[...shape]];
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    this.assertLive('run');
    const where = `${this.name}.run`;
    if (!Array.isArray(inputs) || inputs.length !== 1) throw typeError(`${where}: takes one input`);
    const x = expectTensor(inputs[0], `${where}: inputs[0]`);
    this.computeOutputShape([x.shape]);
    const training = context.training === true;
    const masks = [context.masks?.[0] ?? null];
    const notTraining = async (): Promise<never> => {
      throw typeError(`${this.name}.backward: the pass was run without training: true`);
    };
    if (!training) return simplePass([fromNative(await native.activationForward(x.handle, 'linear'))], masks, notTraining);
    if (this.rate === 0) {
      return simplePass([fromNative(await native.activationForward(x.handle, 'linear'))], masks, async (dOutputs) => ({
        dInputs: [dOutputs[0] ? fromNative(await native.activationForward(expectTensor(dOutputs[0], `${this.name}.backward: dOutputs[0]`).handle, 'linear')) : zerosLike(x)],
        dWeights: [],
      }));
    }
    // A new draw per pass, reproducible from the seed (as rk.layers.dropout).
    const r = await native.spatialDropout(x.handle, this.rate, this.seed + 7919 * ++this.passes);
    const mask = fromNative(r.mask);
    return simplePass(
      [fromNative(r.output)],
      masks,
      async (dOutputs) => {
        if (!dOutputs[0]) return { dInputs: [zerosLike(x)], dWeights: [] };
        const dy = expectTensor(dOutputs[0], `${this.name}.backward: dOutputs[0]`);
        return { dInputs: [fromNative(await native.spatialDropoutApply(dy.handle, mask.handle))], dWeights: [] };
      },
      [mask],
    );
  }

  getConfig(): JsonObject {
    return {
      ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null),
      rate: this.rate,
      seed: this.seedGiven ? this.seed : null,
    };
  }
}

/** Spatial 1D dropout (Keras `SpatialDropout1D`), active only in training passes. */
export function spatialDropout1d(args: SpatialDropout1DLayerArgs): SpatialDropout1D {
  return new SpatialDropout1D(args);
}

function fromConfig(cfg: Obj, context: { readonly where: string }): SpatialDropout1D {
  try {
    const noise = get(cfg, 'noise_shape');
    if (noise !== undefined && noise !== null) throw typeError('noise_shape is not supported');
    const name = get(cfg, 'name');
    const seed = get(cfg, 'seed');
    const declared = declaredShape(cfg, context.where);
    return spatialDropout1d({
      rate: get(cfg, 'rate') as number,
      ...(typeof seed === 'number' ? { seed } : {}),
      ...(typeof name === 'string' ? { name } : {}),
      ...(declared ? { batchInputShape: declared } : {}),
    });
  } catch (e) {
    throw modelFileError(e, context.where);
  }
}

registerLayer('SpatialDropout1D', fromConfig);
