import { describe, expectObject, rangeError, rejectUnknownOptions, typeError } from '../errors';
import { baseConfig, get, type JsonObject } from '../io/keras-config';
import { StepMask } from '../mask';
import { native } from '../native';
import { fromNative, type Tensor } from '../tensor';
import { declaredInputOption, formatShape, LayerBase, layerNameOption, simplePass } from './base';
import type { LayerPass, RunContext, Shape } from './layer';
import { registerLayer } from './registry';
import { checkOutputGradient, checkRun, commonFromConfig, layerFromFile, notTrainingError, singleShape, zeros } from './layer-helpers';

/** Options of {@link masking} (tfjs-layers names, Keras defaults). */
export interface MaskingLayerArgs {
  /** A step whose every feature equals this value is masked; default 0. */
  maskValue?: number;
  /** Input shape without the batch axis: `[timesteps, features]`. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Layer name; default `masking_<n>`. */
  name?: string;
}

/**
 * Keras `Masking` on `[N, T, C]`: a step whose every feature equals `maskValue` is masked.
 * The output is the input with masked steps set to 0, and carries the per-step mask
 * (right-padded masks keep `lengths`, so recurrent layers take their fast path); a mask
 * coming in is combined with it by a logical and. The mask is computed on the device;
 * only its N·T bytes reach the host.
 */
export class Masking extends LayerBase {
  readonly className = 'Masking';
  /** The value that marks padding. */
  readonly maskValue: number;

  /** @internal Use {@link masking}. */
  constructor(args: MaskingLayerArgs = {}) {
    const where = 'layers.masking';
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, ['maskValue', 'inputShape', 'batchInputShape', 'name'], where);
    if (o.maskValue !== undefined && typeof o.maskValue !== 'number') throw typeError(`${where}: maskValue must be a number, got ${describe(o.maskValue)}`);
    super(layerNameOption(o.name, 'masking', where), declaredInputOption(o.inputShape, o.batchInputShape, where, 2));
    this.maskValue = (o.maskValue as number | undefined) ?? 0;
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const s = singleShape(inputShapes, `${this.name}.computeOutputShape`);
    if (s.length !== 3) throw rangeError(`${this.name}: the input must be rank 3 [batch, timesteps, features], got ${formatShape(s)}`);
    return [[...s]];
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const where = `${this.name}.run`;
    this.assertLive('run');
    const { inputs: [x], training, masks } = checkRun(where, inputs, context, 1);
    const device = x!.device;
    const shape = [...x!.shape];
    this.computeOutputShape([shape]);
    const r = await native.maskSteps(x!.handle, this.maskValue);
    const own = StepMask.fromValid(r.valid, shape[0]!, shape[1]!);
    const mask = masks[0] ? masks[0].and(own) : own;
    return simplePass([fromNative(r.output)], [mask], async (dOutputs) => {
      const at = `${this.name}.backward`;
      if (!training) throw notTrainingError(at);
      const dy = checkOutputGradient(at, dOutputs, shape);
      // The steps this layer zeroed take no gradient.
      const dx = dy ? fromNative(await native.maskRows(dy.handle, r.valid)) : zeros(shape, device);
      return { dInputs: [dx], dWeights: [] };
    });
  }

  getConfig(): JsonObject {
    return { ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null), mask_value: this.maskValue };
  }
}

/** A layer masking the steps whose every feature equals `maskValue` (Keras `Masking`). */
export function masking(args: MaskingLayerArgs = {}): Masking {
  return new Masking(args);
}

registerLayer('Masking', (cfg, context) =>
  layerFromFile(context, () => {
    const value = get(cfg, 'mask_value');
    return masking({ ...commonFromConfig(cfg, context.where), ...(value !== undefined && value !== null ? { maskValue: value as number } : {}) });
  }),
);
