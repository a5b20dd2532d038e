import { expectObject, optionalChoice, rangeError, rejectUnknownOptions, rnnkitError } from '../errors';
import { baseConfig, get, type JsonObject } from '../io/keras-config';
import { native } from '../native';
import { fromNative, type Tensor } from '../tensor';
import { declaredInputOption, formatShape, LayerBase, layerNameOption, simplePass } from './base';
import type { LayerPass, RunContext, Shape } from './layer';
import { registerLayer } from './registry';
import { checkOutputGradient, checkRun, commonFromConfig, layerFromFile, notTrainingError, singleShape, zeros } from './layer-helpers';

/** Options of {@link flatten} (tfjs-layers names, Keras defaults). */
export interface FlattenLayerArgs {
  /** Default 'channelsLast'; 'channelsFirst' is not supported (RNNKIT_UNSUPPORTED). */
  dataFormat?: 'channelsLast' | 'channelsFirst';
  /** Input shape without the batch axis, e.g. `[timesteps, features]`. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Layer name; default `flatten_<n>`. */
  name?: string;
}

/**
 * Keras `Flatten`: `[N, d1, ..., dk]` → `[N, d1·…·dk]` (`[N]` → `[N, 1]`), every axis but
 * the batch axis known. The values are copied; the mask is dropped.
 */
export class Flatten extends LayerBase {
  readonly className = 'Flatten';

  /** @internal Use {@link flatten}. */
  constructor(args: FlattenLayerArgs = {}) {
    const where = 'layers.flatten';
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, ['dataFormat', 'inputShape', 'batchInputShape', 'name'], where);
    const format = optionalChoice(o.dataFormat, `${where}: dataFormat`, ['channelsLast', 'channelsFirst'], 'channelsLast');
    if (format === 'channelsFirst') throw rnnkitError('RNNKIT_UNSUPPORTED', `${where}: dataFormat 'channelsFirst' is not supported; use 'channelsLast'`);
    super(layerNameOption(o.name, 'flatten', where), declaredInputOption(o.inputShape, o.batchInputShape, where));
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const s = singleShape(inputShapes, `${this.name}.computeOutputShape`);
    if (s.length < 1) throw rangeError(`${this.name}: the input must have a batch axis, got ${formatShape(s)}`);
    const rest = s.slice(1);
    if (rest.some((d) => d === null)) {
      throw rangeError(`${this.name}: every axis but the batch axis must be known to flatten, got ${formatShape(s)}`);
    }
    return [[s[0]!, (rest as number[]).reduce((a, b) => a * b, 1)]];
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const where = `${this.name}.run`;
    this.assertLive('run');
    const { inputs: [x], training } = checkRun(where, inputs, context, 1);
    const device = x!.device;
    const inShape = [...x!.shape];
    const outShape = this.computeOutputShape([inShape])[0] as number[];
    const y = fromNative(await native.reshape(x!.handle, outShape));
    return simplePass([y], [null], async (dOutputs) => {
      const at = `${this.name}.backward`;
      if (!training) throw notTrainingError(at);
      const dy = checkOutputGradient(at, dOutputs, outShape);
      const dx = dy ? fromNative(await native.reshape(dy.handle, inShape)) : zeros(inShape, device);
      return { dInputs: [dx], dWeights: [] };
    });
  }

  getConfig(): JsonObject {
    return { ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null), data_format: 'channels_last' };
  }
}

/** A layer flattening each sample to one axis (Keras `Flatten`). */
export function flatten(args: FlattenLayerArgs = {}): Flatten {
  return new Flatten(args);
}

registerLayer('Flatten', (cfg, context) =>
  layerFromFile(context, () => {
    const format = get(cfg, 'data_format');
    return flatten({
      ...commonFromConfig(cfg, context.where),
      ...(format === 'channels_first' || format === 'channelsFirst' ? { dataFormat: 'channelsFirst' } : {}),
    });
  }),
);
