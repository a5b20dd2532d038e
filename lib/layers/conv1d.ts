/**
 * Keras `Conv1D` over channels-last sequences `[N, T, C]`, forward and backward in the
 * native core on the weights' device.
 */
import { BackendName, expectBackendName, getBackend } from '../backend';
import { describe, expectObject, optionalBoolean, optionalChoice, optionalInteger, positiveInteger, rangeError, rejectUnknownOptions, rnnkitError, typeError } from '../errors';
import { initializerDraw, InitializerSpec, validateInitializer } from '../initializers';
import { baseConfig, get, isObj, kerasActivation, kerasInitializer, optBool, rkActivation, type JsonObject, type Obj } from '../io/keras-config';
import { fileTypeError } from '../io/untrusted-files';
import { native, type NativeConv1dSpec } from '../native';
import { expectShape, expectTensor, fromNative, Tensor, tensor } from '../tensor';
import { declaredInputOption, formatShape, LayerBase, layerNameOption } from './base';
import type { DenseActivation } from './dense';
import type { LayerPass, RunContext, Shape, WeightValues } from './layer';
import { registerLayer } from './registry';
import {
  checkDataFormat,
  checkOutputGradient,
  checkSequenceRun,
  commonFromConfig,
  layerFromFile,
  notTrainingError,
  outputSteps,
  sequenceShape,
  type TimePadding,
  windowOption,
  zerosOn,
} from './time-windows';
import { initNow } from './weight-init';

/** Activations of {@link conv1d}: those of dense layers (`softmax` over the filters axis). */
export type Conv1DActivation = DenseActivation;

const ACTIVATIONS: readonly Conv1DActivation[] = ['linear', 'relu', 'tanh', 'sigmoid', 'hardSigmoid', 'softmax', 'elu', 'selu', 'softsign', 'softplus'];

/** Options of {@link conv1d} (tfjs-layers names, Keras defaults). */
export interface Conv1DLayerArgs {
  /** Output channels F. */
  filters: number;
  /** Window length K (a number, or Keras's one-element array). */
  kernelSize: number | readonly [number];
  /** Step between windows; default 1. Above 1 only with dilationRate 1 (as Keras). */
  strides?: number | readonly [number];
  /**
   * Default 'valid' (no padding: T − dilation·(K−1) steps, strided). 'same': ceil(T/strides)
   * steps, zeros split as TensorFlow splits them (the extra one on the right). 'causal':
   * dilation·(K−1) zeros on the left, so output step t sees no input after t.
   */
  padding?: TimePadding;
  /** Spacing of the window's taps; default 1. */
  dilationRate?: number | readonly [number];
  /** Default 'linear'. */
  activation?: Conv1DActivation;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerSpec;
  /** Default 'zeros'. */
  biasInitializer?: InitializerSpec;
  /** Only 'channelsLast' ([batch, steps, channels]); 'channelsFirst' throws RNNKIT_UNSUPPORTED. */
  dataFormat?: 'channelsLast' | 'channelsFirst';
  /** Input shape without the batch axis, `[steps | null, channels]`; builds the layer at once. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Seed of the initializers; default: drawn at random. */
  seed?: number;
  /** Layer name; default `conv1d_<n>`. */
  name?: string;
}

/** The resolved options of a {@link Conv1D} layer. */
export interface Conv1DConfig {
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: TimePadding;
  readonly dilationRate: number;
  readonly activation: Conv1DActivation;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerSpec;
  readonly biasInitializer: InitializerSpec;
  readonly seed: number;
}

const OPTIONS = [
  'filters', 'kernelSize', 'strides', 'padding', 'dilationRate', 'activation', 'useBias', 'kernelInitializer',
  'biasInitializer', 'dataFormat', 'inputShape', 'batchInputShape', 'seed', 'name',
];

function resolveConfig(o: Record<string, unknown>, where: string): Conv1DConfig {
  checkDataFormat(o.dataFormat, where);
  const strides = windowOption(o.strides, `${where}: strides`, 1);
  const dilationRate = windowOption(o.dilationRate, `${where}: dilationRate`, 1);
  if (strides > 1 && dilationRate > 1) {
    throw rangeError(`${where}: strides > 1 is not supported together with dilationRate > 1 (as Keras), got strides ${strides}, dilationRate ${dilationRate}`);
  }
  if (o.kernelSize === undefined) throw typeError(`${where}: kernelSize is required (a positive integer)`);
  return {
    filters: positiveInteger(o.filters, `${where}: filters`),
    kernelSize: windowOption(o.kernelSize, `${where}: kernelSize`, 1),
    strides,
    padding: optionalChoice(o.padding, `${where}: padding`, ['valid', 'same', 'causal'] as const, 'valid'),
    dilationRate,
    activation: optionalChoice(o.activation, `${where}: activation`, ACTIVATIONS, 'linear'),
    useBias: optionalBoolean(o.useBias, `${where}: useBias`, true),
    kernelInitializer: o.kernelInitializer === undefined ? 'glorotUniform' : validateInitializer(o.kernelInitializer, `${where}: kernelInitializer`),
    biasInitializer: o.biasInitializer === undefined ? 'zeros' : validateInitializer(o.biasInitializer, `${where}: biasInitializer`),
    seed: optionalInteger(o.seed, `${where}: seed`, Math.floor(Math.random() * 0x7fffffff)),
  };
}

/**
 * A 1-D convolution over time (Keras `Conv1D`, channels-last): input `[N, T, C]`, output
 * `[N, T', filters]` with `y[n, o, f] = act(b[f] + Σ_{k, c} x[n, o·strides − padLeft + k·dilationRate, c] · kernel[k, c, f])`
 * (zeros outside the input). Weights `[kernel [kernelSize, C, filters], bias [filters]]`
 * in Keras's order, names and layout.
 *
 * Masks: like Keras's Conv1D (which does not support masking), the input mask is not
 * applied and no mask is passed on; masked steps are convolved as they are.
 */
export class Conv1D extends LayerBase {
  readonly className = 'Conv1D';
  /** The resolved options. */
  readonly config: Conv1DConfig;
  private weights: Tensor[] = [];

  /** @internal Use {@link conv1d}. */
  constructor(args: Conv1DLayerArgs) {
    const where = 'layers.conv1d';
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, OPTIONS, where);
    const config = resolveConfig(o, where);
    super(layerNameOption(o.name, 'conv1d', where), declaredInputOption(o.inputShape, o.batchInputShape, where, 2));
    this.config = config;
    if (this.declaredInputShape && typeof this.declaredInputShape[2] === 'number') this.build([this.declaredInputShape]);
  }

  override get built(): boolean {
    return this.weights.length > 0;
  }

  /** Input channels C (0 before build). */
  get inputChannels(): number {
    return this.weights[0]?.shape[1] ?? 0;
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const where = `${this.name}.computeOutputShape`;
    this.assertLive('computeOutputShape');
    const s = sequenceShape(inputShapes, where);
    if (this.built && s[2] !== this.inputChannels) {
      throw rangeError(`${this.name}: the layer was built for ${this.inputChannels} channels, got input ${formatShape(s)}`);
    }
    const { kernelSize, strides, dilationRate, padding, filters } = this.config;
    return [[s[0] ?? null, outputSteps(s[1] ?? null, kernelSize, strides, dilationRate, padding, this.name), filters]];
  }

  override build(inputShapes: readonly Shape[]): void {
    this.assertLive('build');
    this.computeOutputShape(inputShapes);
    if (this.built) return;
    const C = inputShapes[0]![2] as number;
    const { kernelSize: K, filters: F, seed } = this.config;
    const kernel = { shape: [K, C, F], parts: [initializerDraw(this.config.kernelInitializer, [K, C, F], seed)] };
    const bias = { shape: [F], parts: [initializerDraw(this.config.biasInitializer, [F], seed + 1)] };
    this.weights = initNow(this.config.useBias ? [kernel, bias] : [kernel]);
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const where = `${this.name}.run`;
    this.assertLive('run');
    const { x, training } = checkSequenceRun(where, inputs, context);
    if (!this.built) this.build([x.shape]);
    else this.computeOutputShape([x.shape]);
    const [kernel, bias] = this.weights as [Tensor, Tensor | undefined];
    const spec = this.nativeSpec();
    const y = fromNative(await native.conv1dForward(x.handle, kernel.handle, bias?.handle ?? null, spec));
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
        if (!dy) return { dInputs: [zerosOn(x.shape, x.device)], dWeights: this.weights.map((w) => zerosOn(w.shape, w.device)) };
        const g = await native.conv1dBackward(x.handle, kernel.handle, this.config.useBias, y.handle, dy.handle, spec);
        return { dInputs: [fromNative(g.dx)], dWeights: [fromNative(g.dkernel), ...(g.dbias ? [fromNative(g.dbias)] : [])] };
      },
      dispose() {
        // It keeps the caller's input and output and the layer's weights: nothing of its own.
      },
    };
  }

  private nativeSpec(): NativeConv1dSpec {
    const c = this.config;
    return { strides: c.strides, dilationRate: c.dilationRate, padding: c.padding, activation: c.activation };
  }

  /** `[kernel [kernelSize, C, filters], bias [filters]]` (no bias without useBias), as copies. */
  override getWeights(): Tensor[] {
    this.assertLive('getWeights');
    if (!this.built) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.name}.getWeights: the layer is not built`);
    return this.weights.map((w) => w.to(w.device as BackendName));
  }

  /** Replaces the weights (`getWeights()` order and shapes); builds the layer if needed. */
  override setWeights(weights: readonly WeightValues[]): void {
    const where = `${this.name}.setWeights`;
    this.assertLive('setWeights');
    const count = this.weightCount();
    if (!Array.isArray(weights) || weights.length !== count) {
      throw rangeError(`${where}: expected ${count} weights (${this.weightNames().join(', ')}), got ${describe(weights)}`);
    }
    const { kernelSize: K, filters: F } = this.config;
    const first = weights[0];
    const C = this.built
      ? this.inputChannels
      : first instanceof Tensor
        ? first.shape[1]
        : first instanceof Float32Array
          ? first.length / (K * F)
          : NaN;
    if (typeof C !== 'number' || !Number.isInteger(C) || C < 1) throw rangeError(`${where}: weights[0] (kernel) must have shape [${K}, channels, ${F}]`);
    const shapes = [[K, C, F], [F]];
    const device = this.built ? (this.weights[0]!.device as BackendName) : getBackend();
    const next = weights.map((w, i) => {
      const name = `${where}: weights[${i}] (${i === 0 ? 'kernel' : 'bias'})`;
      const shape = shapes[i]!;
      if (w instanceof Float32Array) {
        const size = shape.reduce((a, b) => a * b, 1);
        if (w.length !== size) throw rangeError(`${name} must have ${size} values ([${shape.join(', ')}]), got ${w.length}`);
        return tensor(w, shape, { device });
      }
      const t = expectTensor(w, name);
      expectShape(t, shape, name);
      return t.to(device);
    });
    for (const w of this.weights) w.dispose();
    this.weights = next;
  }

  override weightCount(): number {
    return this.config.useBias ? 2 : 1;
  }

  override weightNames(): string[] {
    return this.config.useBias ? ['kernel', 'bias'] : ['kernel'];
  }

  override countParams(): number {
    this.assertLive('countParams');
    if (!this.built) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.name}.countParams: the layer is not built`);
    return this.weights.reduce((s, w) => s + w.size, 0);
  }

  override trainableWeights(): Tensor[] {
    this.assertLive('trainableWeights');
    if (!this.built) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.name}.trainableWeights: the layer is not built`);
    return this.weights;
  }

  /** Moves the weights to `backend`; later runs take inputs there. */
  override to(backend: BackendName): this {
    this.assertLive('to');
    const device = expectBackendName(backend, `${this.name}.to: backend`);
    const next = this.weights.map((w) => w.to(device));
    for (const w of this.weights) w.dispose();
    this.weights = next;
    return this;
  }

  override dispose(): void {
    super.dispose();
    for (const w of this.weights) w.dispose();
    this.weights = [];
  }

  getConfig(): JsonObject {
    const c = this.config;
    return {
      ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null),
      filters: c.filters,
      kernel_size: [c.kernelSize],
      strides: [c.strides],
      padding: c.padding,
      data_format: 'channels_last',
      dilation_rate: [c.dilationRate],
      groups: 1,
      activation: kerasActivation(c.activation),
      use_bias: c.useBias,
      kernel_initializer: kerasInitializer(c.kernelInitializer, 'glorotUniform'),
      bias_initializer: kerasInitializer(c.biasInitializer, 'zeros'),
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    };
  }
}

/** A 1-D convolution over time (Keras `Conv1D`). */
export function conv1d(args: Conv1DLayerArgs): Conv1D {
  return new Conv1D(args);
}

/** A Keras serialized initializer (`{ class_name, config }`, Keras 3's extra keys dropped), or undefined. */
function initializerFromConfig(value: unknown): InitializerSpec | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value as InitializerSpec;
  if (!isObj(value)) throw fileTypeError(`an initializer must be a name or { class_name, config }, got ${describe(value)}`);
  const className = value.class_name ?? value.className;
  return { className: className as string, ...(isObj(value.config) ? { config: value.config } : {}) };
}

registerLayer(['Conv1D', 'Convolution1D'], (cfg: Obj, context) =>
  layerFromFile(context, () => {
    const where = context.where;
    checkDataFormat(get(cfg, 'data_format'), 'config');
    const groups = get(cfg, 'groups');
    if (groups !== undefined && groups !== null && groups !== 1) {
      throw rnnkitError('RNNKIT_UNSUPPORTED', `groups ${describe(groups)} is not supported (grouped convolutions); only groups 1`);
    }
    const activation = rkActivation(get(cfg, 'activation'), where);
    const useBias = optBool(cfg, 'use_bias', where);
    const pick = (key: string): Record<string, unknown> => {
      const v = get(cfg, key);
      return v === undefined || v === null ? {} : { [key.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase())]: v };
    };
    const kernelInitializer = initializerFromConfig(get(cfg, 'kernel_initializer'));
    const biasInitializer = initializerFromConfig(get(cfg, 'bias_initializer'));
    return conv1d({
      ...commonFromConfig(cfg, where),
      filters: get(cfg, 'filters') as number,
      kernelSize: get(cfg, 'kernel_size') as number,
      ...pick('strides'),
      ...pick('padding'),
      ...pick('dilation_rate'),
      ...(activation !== undefined ? { activation: activation as Conv1DActivation } : {}),
      ...(useBias !== undefined ? { useBias } : {}),
      ...(kernelInitializer !== undefined ? { kernelInitializer } : {}),
      ...(biasInitializer !== undefined ? { biasInitializer } : {}),
      seed: 0,
    } as Conv1DLayerArgs);
  }),
);
