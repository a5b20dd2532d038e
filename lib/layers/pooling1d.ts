/**
 * Pooling over time on channels-last sequences `[N, T, C]`: Keras `MaxPooling1D`,
 * `AveragePooling1D`, `GlobalMaxPooling1D` and `GlobalAveragePooling1D`, forward and
 * backward in the native core.
 */
import type { BackendName } from '../backend';
import { expectObject, optionalBoolean, optionalChoice, rangeError, rejectUnknownOptions, rnnkitError } from '../errors';
import { baseConfig, get, optBool, type JsonObject, type Obj } from '../io/keras-config';
import { native, type NativePool1dSpec } from '../native';
import { fromNative, tensor, type Tensor } from '../tensor';
import { declaredInputOption, LayerBase, layerNameOption } from './base';
import type { LayerPass, RunContext, Shape } from './layer';
import { registerLayer, type FromConfigContext } from './registry';
import {
  checkDataFormat,
  checkOutputGradient,
  checkSequenceRun,
  commonFromConfig,
  layerFromFile,
  notTrainingError,
  outputSteps,
  sequenceShape,
  windowOption,
  zerosOn,
} from './time-windows';

/** Options of {@link maxPooling1D} and {@link averagePooling1D} (tfjs-layers names, Keras defaults). */
export interface Pooling1DLayerArgs {
  /** Window length; default 2 (a number, or Keras's one-element array). */
  poolSize?: number | readonly [number];
  /** Step between windows; default poolSize. */
  strides?: number | readonly [number] | null;
  /**
   * Default 'valid' (windows inside the input). 'same': ceil(T/strides) windows, padding
   * split as TensorFlow splits it; padding is never a maximum and is not counted in a mean.
   */
  padding?: 'valid' | 'same';
  /** Only 'channelsLast'; 'channelsFirst' throws RNNKIT_UNSUPPORTED. */
  dataFormat?: 'channelsLast' | 'channelsFirst';
  /** Input shape without the batch axis, `[steps | null, channels]`. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Layer name. */
  name?: string;
}

/** Options of {@link globalMaxPooling1D} and {@link globalAveragePooling1D}. */
export interface GlobalPooling1DLayerArgs {
  /** Keep the steps axis (length 1): `[N, 1, C]` instead of `[N, C]` (Keras 3); default false. */
  keepdims?: boolean;
  /** Only 'channelsLast'; 'channelsFirst' throws RNNKIT_UNSUPPORTED. */
  dataFormat?: 'channelsLast' | 'channelsFirst';
  /** Input shape without the batch axis, `[steps | null, channels]`. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Layer name. */
  name?: string;
}

type PoolKind = 'max' | 'average';

/**
 * Max or average pooling over windows of time (shared by {@link MaxPooling1D} and
 * {@link AveragePooling1D}): `[N, T, C]` → `[N, T', C]`. No weights; no output mask (Keras
 * pooling layers do not support masking, so masked steps are pooled as they are).
 */
export abstract class Pooling1D extends LayerBase {
  /** Window length. */
  readonly poolSize: number;
  /** Step between windows. */
  readonly strides: number;
  /** 'valid' or 'same'. */
  readonly padding: 'valid' | 'same';
  /** @internal */
  protected abstract readonly kind: PoolKind;

  /** @internal */
  constructor(args: Pooling1DLayerArgs, where: string, prefix: string) {
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, ['poolSize', 'strides', 'padding', 'dataFormat', 'inputShape', 'batchInputShape', 'name'], where);
    checkDataFormat(o.dataFormat, where);
    const poolSize = windowOption(o.poolSize, `${where}: poolSize`, 2);
    const strides = windowOption(o.strides, `${where}: strides`, poolSize);
    const padding = optionalChoice(o.padding, `${where}: padding`, ['valid', 'same'] as const, 'valid');
    super(layerNameOption(o.name, prefix, where), declaredInputOption(o.inputShape, o.batchInputShape, where, 2));
    this.poolSize = poolSize;
    this.strides = strides;
    this.padding = padding;
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    this.assertLive('computeOutputShape');
    const s = sequenceShape(inputShapes, `${this.name}.computeOutputShape`);
    return [[s[0] ?? null, outputSteps(s[1] ?? null, this.poolSize, this.strides, 1, this.padding, this.name), s[2]!]];
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const where = `${this.name}.run`;
    this.assertLive('run');
    const { x, training } = checkSequenceRun(where, inputs, context);
    this.computeOutputShape([x.shape]);
    const spec: NativePool1dSpec = { kind: this.kind, poolSize: this.poolSize, strides: this.strides, padding: this.padding };
    const y = fromNative(await native.pool1dForward(x.handle, spec));
    let used = false;
    return {
      outputs: [y],
      masks: [null],
      backward: async (dOutputs) => {
        const at = `${this.name}.backward`;
        if (!training) throw notTrainingError(at);
        if (used) throw rnnkitError('RNNKIT_INVALID_STATE', `${at}: this pass was already differentiated`);
        const dy = checkOutputGradient(at, dOutputs, y.shape);
        used = true;
        const dx = dy ? fromNative(await native.pool1dBackward(x.handle, dy.handle, spec)) : zerosOn(x.shape, x.device);
        return { dInputs: [dx], dWeights: [] };
      },
      dispose() {
        // It keeps the caller's input: nothing of its own.
      },
    };
  }

  getConfig(): JsonObject {
    return {
      ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null),
      pool_size: [this.poolSize],
      padding: this.padding,
      strides: [this.strides],
      data_format: 'channels_last',
    };
  }
}

/** Keras `MaxPooling1D`: the maximum of each window; backward routes to the first maximum (as TF). */
export class MaxPooling1D extends Pooling1D {
  readonly className = 'MaxPooling1D';
  /** @internal */
  protected readonly kind = 'max';

  /** @internal Use {@link maxPooling1D}. */
  constructor(args: Pooling1DLayerArgs = {}) {
    super(args, 'layers.maxPooling1D', 'max_pooling1d');
  }
}

/** Keras `AveragePooling1D`: the mean of each window's input steps (padding not counted). */
export class AveragePooling1D extends Pooling1D {
  readonly className = 'AveragePooling1D';
  /** @internal */
  protected readonly kind = 'average';

  /** @internal Use {@link averagePooling1D}. */
  constructor(args: Pooling1DLayerArgs = {}) {
    super(args, 'layers.averagePooling1D', 'average_pooling1d');
  }
}

/**
 * Max or average over all steps (shared by {@link GlobalMaxPooling1D} and
 * {@link GlobalAveragePooling1D}): `[N, T, C]` → `[N, C]` (`[N, 1, C]` with keepdims). No
 * weights; no output mask (Keras's `compute_mask` returns None).
 */
export abstract class GlobalPooling1D extends LayerBase {
  /** Whether the steps axis is kept with length 1. */
  readonly keepdims: boolean;
  /** @internal */
  protected abstract readonly kind: PoolKind;

  /** @internal */
  constructor(args: GlobalPooling1DLayerArgs, where: string, prefix: string) {
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, ['keepdims', 'dataFormat', 'inputShape', 'batchInputShape', 'name'], where);
    checkDataFormat(o.dataFormat, where);
    const keepdims = optionalBoolean(o.keepdims, `${where}: keepdims`, false);
    super(layerNameOption(o.name, prefix, where), declaredInputOption(o.inputShape, o.batchInputShape, where, 2));
    this.keepdims = keepdims;
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    this.assertLive('computeOutputShape');
    const s = sequenceShape(inputShapes, `${this.name}.computeOutputShape`);
    if (s[1] === 0) throw rangeError(`${this.name}: the input has no steps to pool over`);
    return [this.keepdims ? [s[0] ?? null, 1, s[2]!] : [s[0] ?? null, s[2]!]];
  }

  /** @internal Whether the layer pools only over the mask's unmasked steps. */
  protected abstract readonly usesMask: boolean;

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const where = `${this.name}.run`;
    this.assertLive('run');
    const { x, training, mask } = checkSequenceRun(where, inputs, context);
    this.computeOutputShape([x.shape]);
    // The mask as 0/1 per step on the input's device; none when it keeps every step.
    const steps = this.usesMask && mask && !mask.allValid ? tensor(Float32Array.from(mask.valid), [mask.N, mask.T], { device: x.device as BackendName }) : null;
    let y: Tensor;
    try {
      y = fromNative(await native.globalPool1dForward(x.handle, this.kind, steps?.handle ?? null, this.keepdims));
    } catch (e) {
      steps?.dispose();
      throw e;
    }
    let used = false;
    return {
      outputs: [y],
      masks: [null],
      backward: async (dOutputs) => {
        const at = `${this.name}.backward`;
        if (!training) throw notTrainingError(at);
        if (used) throw rnnkitError('RNNKIT_INVALID_STATE', `${at}: this pass was already differentiated`);
        const dy = checkOutputGradient(at, dOutputs, y.shape);
        used = true;
        const dx = dy ? fromNative(await native.globalPool1dBackward(x.handle, steps?.handle ?? null, dy.handle, this.kind)) : zerosOn(x.shape, x.device);
        return { dInputs: [dx], dWeights: [] };
      },
      dispose() {
        steps?.dispose();
      },
    };
  }

  getConfig(): JsonObject {
    return {
      ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null),
      data_format: 'channels_last',
      keepdims: this.keepdims,
    };
  }
}

/**
 * Keras `GlobalMaxPooling1D`: the maximum over all steps; backward routes to the first
 * maximum.
 *
 * Masks: ignored, as in Keras. Keras 3's GlobalMaxPooling1D has no `mask` argument (it
 * warns that the mask is dropped) and TF2 Keras's takes none either (its base layer drops
 * the mask silently), so both take the maximum over every step, masked ones included. rnnkit
 * does the same, so that a model trained there gives the same numbers here; mask the
 * padding's values (e.g. with a large negative number) before this layer to exclude them.
 */
export class GlobalMaxPooling1D extends GlobalPooling1D {
  readonly className = 'GlobalMaxPooling1D';
  /** @internal */
  protected readonly kind = 'max';
  /** @internal */
  protected readonly usesMask = false;

  /** @internal Use {@link globalMaxPooling1D}. */
  constructor(args: GlobalPooling1DLayerArgs = {}) {
    super(args, 'layers.globalMaxPooling1D', 'global_max_pooling1d');
  }
}

/**
 * Keras `GlobalAveragePooling1D`: the mean over all steps.
 *
 * Masks: as Keras 3 and TF2 Keras, the mean over each sequence's unmasked steps only
 * (Σ unmasked x / their count; front padding and holes alike). Masked steps are never read,
 * so NaN there reaches neither the output nor a gradient (as Keras 3's `where`; TF2 Keras
 * multiplies by the mask, so NaN would spread there). A sequence whose steps are all masked
 * gives zeros and zero gradients (Keras divides 0 by 0 and gives NaN).
 */
export class GlobalAveragePooling1D extends GlobalPooling1D {
  readonly className = 'GlobalAveragePooling1D';
  /** @internal */
  protected readonly kind = 'average';
  /** @internal */
  protected readonly usesMask = true;

  /** @internal Use {@link globalAveragePooling1D}. */
  constructor(args: GlobalPooling1DLayerArgs = {}) {
    super(args, 'layers.globalAveragePooling1D', 'global_average_pooling1d');
  }
}

/** Max pooling over windows of time (Keras `MaxPooling1D`). */
export function maxPooling1D(args: Pooling1DLayerArgs = {}): MaxPooling1D {
  return new MaxPooling1D(args);
}

/** Average pooling over windows of time (Keras `AveragePooling1D`). */
export function averagePooling1D(args: Pooling1DLayerArgs = {}): AveragePooling1D {
  return new AveragePooling1D(args);
}

/** Max over all steps (Keras `GlobalMaxPooling1D`). */
export function globalMaxPooling1D(args: GlobalPooling1DLayerArgs = {}): GlobalMaxPooling1D {
  return new GlobalMaxPooling1D(args);
}

/** Mean over all (unmasked) steps (Keras `GlobalAveragePooling1D`). */
export function globalAveragePooling1D(args: GlobalPooling1DLayerArgs = {}): GlobalAveragePooling1D {
  return new GlobalAveragePooling1D(args);
}

function poolingFromConfig(make: (args: Pooling1DLayerArgs) => Pooling1D) {
  return (cfg: Obj, context: FromConfigContext) =>
    layerFromFile(context, () => {
      const pick = (key: string, option: keyof Pooling1DLayerArgs): Partial<Pooling1DLayerArgs> => {
        const v = get(cfg, key);
        return v === undefined || v === null ? {} : ({ [option]: v } as Partial<Pooling1DLayerArgs>);
      };
      checkDataFormat(get(cfg, 'data_format'), 'config');
      return make({ ...commonFromConfig(cfg, context.where), ...pick('pool_size', 'poolSize'), ...pick('strides', 'strides'), ...pick('padding', 'padding') });
    });
}

function globalFromConfig(make: (args: GlobalPooling1DLayerArgs) => GlobalPooling1D) {
  return (cfg: Obj, context: FromConfigContext) =>
    layerFromFile(context, () => {
      checkDataFormat(get(cfg, 'data_format'), 'config');
      const keepdims = optBool(cfg, 'keepdims', context.where);
      return make({ ...commonFromConfig(cfg, context.where), ...(keepdims !== undefined ? { keepdims } : {}) });
    });
}

registerLayer(['MaxPooling1D', 'MaxPool1D'], poolingFromConfig(maxPooling1D));
registerLayer(['AveragePooling1D', 'AvgPool1D'], poolingFromConfig(averagePooling1D));
registerLayer(['GlobalMaxPooling1D', 'GlobalMaxPool1D'], globalFromConfig(globalMaxPooling1D));
registerLayer(['GlobalAveragePooling1D', 'GlobalAvgPool1D'], globalFromConfig(globalAveragePooling1D));
