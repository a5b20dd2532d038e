import { describe, disposedError, expectObject, optionalBoolean, optionalChoice, optionalInteger, positiveInteger, rangeError, rejectUnknownOptions, rnnkitError, typeError } from '../errors';
import { initializerDraw, InitializerSpec, validateInitializer } from '../initializers';
import { MaskPlan, maskPlan, packInput, packOutputGradient, toMask, unpackInputGradient, unpackOutput } from '../mask';
import { BackendName, expectBackendName } from '../backend';
import { native, NativeInitArray, NativeReserve, NativeRnnDesc, NativeRnnWeights, NativeTensor } from '../native';
import { toLengths } from '../sequences';
import { expectShape, expectTensor, fromNative, Tensor, tensor } from '../tensor';
import { PendingInit, startInit } from './weight-init';
import { baseConfig, JsonObject, kerasActivation, kerasInitializer, get, Obj, optBool, rkActivation, declaredShape } from '../io/keras-config';
import { fileTypeError } from '../io/untrusted-files';
import { StepMask } from '../mask';
import { formatShape } from './base';
import { Layer, LayerPass, RunContext, Shape, shapeList } from './layer';
import { registerLayer } from './registry';
import { applyLayer, SymbolicTensor } from './symbolic';

/** Activations of recurrent layers. `hardSigmoid` is Keras 2 / tfjs's clip(0.2x+0.5, 0, 1). */
export type Activation = 'tanh' | 'sigmoid' | 'hardSigmoid' | 'relu' | 'linear' | 'elu' | 'selu' | 'softsign' | 'softplus';

const ACTIVATIONS: readonly Activation[] = ['tanh', 'sigmoid', 'hardSigmoid', 'relu', 'linear', 'elu', 'selu', 'softsign', 'softplus'];

/** Weight layouts that {@link RecurrentLayer.importWeights} and `exportWeights` speak. */
export type WeightFormat = 'pytorch' | 'onnx';

export type { WeightValues } from './layer';
import type { WeightValues } from './layer';


/** Options shared by every recurrent layer (tfjs-layers names, TF2 Keras defaults). */
export interface RecurrentLayerArgs {
  /** Number of hidden units H. */
  units: number;
  /** Candidate / output activation; default 'tanh'. */
  activation?: Activation;
  /** Whether the layer has biases; default true. */
  useBias?: boolean;
  /** Return the output of every step `[N,T,H]` instead of the last valid one `[N,H]`; default false. */
  returnSequences?: boolean;
  /** Whether a model built from this layer also returns its final states; default false. */
  returnState?: boolean;
  /** Process each sequence last step first (Keras semantics); default false. */
  goBackwards?: boolean;
  /** Carry final states into the next forward call; default false. See `resetStates()`. */
  stateful?: boolean;
  /** Initializer of the input kernel; default 'glorotUniform'. */
  kernelInitializer?: InitializerSpec;
  /** Initializer of the recurrent kernel; default 'orthogonal'. */
  recurrentInitializer?: InitializerSpec;
  /** Initializer of the bias; default 'zeros'. */
  biasInitializer?: InitializerSpec;
  /** Input dropout rate. Only 0 is supported so far. */
  dropout?: number;
  /** Recurrent dropout rate. Only 0 is supported so far. */
  recurrentDropout?: number;
  /** `[T | null, D]`, as in tfjs-layers; builds the layer at once. */
  inputShape?: readonly [number | null, number];
  /** `[N | null, T | null, D]`; builds the layer at once. */
  batchInputShape?: readonly [number | null, number | null, number];
  /** Seed of the weight initializers; default: drawn at random. */
  seed?: number;
  /** Sequence outputs past a sequence's length: 'zeros' (cuDNN, default) or 'carry' the last valid output (Keras/tfjs masking). */
  maskedOutput?: 'zeros' | 'carry';
  /** Layer name. */
  name?: string;
}

/** Options of {@link lstm}. */
export interface LSTMLayerArgs extends RecurrentLayerArgs {
  /** Activation of the input, forget and output gates; default 'sigmoid'. */
  recurrentActivation?: Activation;
  /** Initialise the forget gate's bias to 1 (Keras); default true. */
  unitForgetBias?: boolean;
}

/** Options of {@link gru}. */
export interface GRULayerArgs extends RecurrentLayerArgs {
  /** Activation of the update and reset gates; default 'sigmoid'. */
  recurrentActivation?: Activation;
  /** Apply the reset gate after the recurrent product (cuDNN, TF2 default); default true. */
  resetAfter?: boolean;
}

/** Options of {@link simpleRNN}. */
export type SimpleRNNLayerArgs = RecurrentLayerArgs;

/** Options of a forward pass. */
export interface ForwardOptions {
  /** `[h0]`, or `[h0, c0]` for an LSTM, each `[N,H]`; default zeros (or the carried state of a stateful layer). */
  initialState?: Tensor[];
  /** Valid steps per sequence; steps at or past a length leave the state unchanged. */
  lengths?: Int32Array | readonly number[];
  /**
   * Keras mask `[N,T]` of 0/1 (a Tensor or a Uint8Array of N·T), any position (e.g. front
   * padding): a masked step leaves the state unchanged and its input is never read. With
   * goBackwards the whole sequence is reversed (Keras). With `lengths` too, steps must pass both.
   */
  mask?: Tensor | Uint8Array;
  /** Keep what backward() needs (the reserve space); default false. */
  training?: boolean;
}

/** Options of a backward pass. */
export interface BackwardOptions {
  /** Gradient of the loss with respect to `output`, same shape. */
  dOutput: Tensor;
  /** Gradients with respect to the final states, one per state in `states` order; `null` counts as zero. */
  dStates?: (Tensor | null | undefined)[];
}

/** Gradients of a backward pass. */
export interface Gradients {
  /** With respect to the input, `[N,T,D]`. */
  dInput: Tensor;
  /** With respect to the initial states, in `initialState` order. */
  dInitialState: Tensor[];
  /** With respect to every weight, in `getWeights()` order and shapes. */
  dWeights: Tensor[];
}

/** What a forward pass returns. */
export interface ForwardResult {
  /** `[N,T,H]` with returnSequences (`[N,T,2H]` for a concatenating bidirectional layer), else `[N,H]`. */
  readonly output: Tensor;
  /** Final states: `[h]` or `[h, c]` (bidirectional: forward layer's, then backward layer's). */
  readonly states: Tensor[];
  /** Frees the saved activations (reserve space). `output` and `states` stay the caller's. */
  dispose(): void;
}

/** Anything with forward and backward passes over `[N,T,D]` batches. */
export interface SequenceLayer {
  readonly built: boolean;
  build(inputShape: readonly (number | null)[]): void;
  getWeights(): Tensor[];
  setWeights(weights: readonly WeightValues[]): void;
  forward(x: Tensor, options?: ForwardOptions): Promise<ForwardResult>;
  backward(fwd: ForwardResult, options: BackwardOptions): Promise<Gradients>;
}

type CellName = 'simpleRNN' | 'lstm' | 'gru';

const COMMON_OPTIONS = [
  'units', 'activation', 'useBias', 'returnSequences', 'returnState', 'goBackwards', 'stateful',
  'kernelInitializer', 'recurrentInitializer', 'biasInitializer', 'dropout', 'recurrentDropout',
  'inputShape', 'batchInputShape', 'seed', 'maskedOutput', 'name',
] as const;

const CELL_OPTIONS: Record<CellName, readonly string[]> = {
  simpleRNN: COMMON_OPTIONS,
  lstm: [...COMMON_OPTIONS, 'recurrentActivation', 'unitForgetBias'],
  gru: [...COMMON_OPTIONS, 'recurrentActivation', 'resetAfter'],
};

const LAYER_NAMES: Record<CellName, string> = { simpleRNN: 'simpleRNN', lstm: 'lstm', gru: 'gru' };

let layerCounter = 0;

/** Resolved, validated configuration of a recurrent layer. */
export interface RecurrentConfig {
  readonly cell: CellName;
  readonly name: string;
  readonly units: number;
  readonly activation: Activation;
  readonly recurrentActivation: Activation;
  readonly useBias: boolean;
  readonly unitForgetBias: boolean;
  readonly resetAfter: boolean;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly goBackwards: boolean;
  readonly stateful: boolean;
  readonly kernelInitializer: InitializerSpec;
  readonly recurrentInitializer: InitializerSpec;
  readonly biasInitializer: InitializerSpec;
  readonly seed: number;
  readonly maskedOutput: 'zeros' | 'carry';
  readonly batchInputShape: readonly (number | null)[] | null;
}

function resolveConfig(cell: CellName, args: unknown): RecurrentConfig {
  const where = `layers.${LAYER_NAMES[cell]}`;
  const o = expectObject(args, `${where}: options`);
  rejectUnknownOptions(o, CELL_OPTIONS[cell], where);
  const rate = (key: 'dropout' | 'recurrentDropout') => {
    const v = o[key];
    if (v === undefined || v === 0) return;
    if (typeof v !== 'number') throw typeError(`${where}: ${key} must be a number, got ${describe(v)}`);
    if (!(v >= 0 && v < 1)) throw rangeError(`${where}: ${key} must be a rate in [0, 1), got ${v}`);
    throw rangeError(`${where}: ${key} must be 0: dropout inside recurrent layers is not supported yet`, 'RNNKIT_UNSUPPORTED');
  };
  rate('dropout');
  rate('recurrentDropout');
  const seed = optionalInteger(o.seed, `${where}: seed`, Math.floor(Math.random() * 0x7fffffff));
  const name = o.name === undefined ? `${LAYER_NAMES[cell]}_${++layerCounter}` : o.name;
  if (typeof name !== 'string') throw typeError(`${where}: name must be a string`);
  let batchInputShape: (number | null)[] | null = null;
  const dim = (v: unknown, key: string, nullable: boolean): number | null => {
    if (v === null && nullable) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw rangeError(`${where}: ${key} entries must be positive integers${nullable ? ' or null' : ''}, got ${describe(v)}`);
    }
    return v;
  };
  if (o.inputShape !== undefined) {
    const s = o.inputShape;
    if (!Array.isArray(s) || s.length !== 2) throw typeError(`${where}: inputShape must be [timesteps | null, features]`);
    batchInputShape = [null, dim(s[0], 'inputShape', true), dim(s[1], 'inputShape', false)];
  }
  if (o.batchInputShape !== undefined) {
    const s = o.batchInputShape;
    if (!Array.isArray(s) || s.length !== 3) throw typeError(`${where}: batchInputShape must be [batch | null, timesteps | null, features]`);
    batchInputShape = [dim(s[0], 'batchInputShape', true), dim(s[1], 'batchInputShape', true), dim(s[2], 'batchInputShape', false)];
  }
  const init = (key: string, fallback: InitializerSpec) =>
    o[key] === undefined ? fallback : validateInitializer(o[key], `${where}: ${key}`);
  return {
    cell,
    name,
    units: positiveInteger(o.units, `${where}: units`),
    activation: optionalChoice(o.activation, `${where}: activation`, ACTIVATIONS, 'tanh'),
    recurrentActivation: optionalChoice(o.recurrentActivation, `${where}: recurrentActivation`, ACTIVATIONS, 'sigmoid'),
    useBias: optionalBoolean(o.useBias, `${where}: useBias`, true),
    unitForgetBias: optionalBoolean(o.unitForgetBias, `${where}: unitForgetBias`, true),
    resetAfter: optionalBoolean(o.resetAfter, `${where}: resetAfter`, true),
    returnSequences: optionalBoolean(o.returnSequences, `${where}: returnSequences`, false),
    returnState: optionalBoolean(o.returnState, `${where}: returnState`, false),
    goBackwards: optionalBoolean(o.goBackwards, `${where}: goBackwards`, false),
    stateful: optionalBoolean(o.stateful, `${where}: stateful`, false),
    kernelInitializer: init('kernelInitializer', 'glorotUniform'),
    recurrentInitializer: init('recurrentInitializer', 'orthogonal'),
    biasInitializer: init('biasInitializer', 'zeros'),
    seed,
    maskedOutput: optionalChoice(o.maskedOutput, `${where}: maskedOutput`, ['zeros', 'carry'] as const, 'zeros'),
    batchInputShape,
  };
}

/** The result of a recurrent layer's forward pass. */
export class RecurrentForward implements ForwardResult {
  /** @internal */
  constructor(
    readonly output: Tensor,
    readonly states: Tensor[],
    /** @internal */ readonly layer: RecurrentLayer,
    /** @internal */ readonly reserve: NativeReserve | undefined,
    /** @internal where the unmasked steps were, for a masked pass */ readonly mask: MaskPlan | null = null,
  ) {}

  /** Bytes of saved activations held for backward (0 when not training or disposed). */
  get reserveBytes(): number {
    return this.reserve?.bytes ?? 0;
  }

  dispose(): void {
    this.reserve?.dispose();
  }
}

/**
 * A recurrent layer (SimpleRNN, LSTM or GRU) running on the native core. Weights are held
 * in the canonical cuDNN layout on the device and exchanged in Keras, PyTorch or ONNX layout.
 */
export class RecurrentLayer implements SequenceLayer, Layer {
  /** The resolved configuration. */
  readonly config: RecurrentConfig;
  private inputSize = 0;
  private params: Tensor[] = [];
  private prepared: NativeRnnWeights | null = null;
  private carried: Tensor[] | null = null;
  /** Weights being generated on a worker (large layers), until installed. */
  private init: PendingInit | null = null;
  private disposed = false;

  /** @internal Use {@link simpleRNN}, {@link lstm} or {@link gru}. */
  constructor(cell: CellName, args: unknown) {
    this.config = resolveConfig(cell, args);
    if (this.config.batchInputShape) this.build(this.config.batchInputShape);
  }

  /** The layer's name. */
  get name(): string {
    return this.config.name;
  }
  /** Number of hidden units. */
  get units(): number {
    return this.config.units;
  }
  /** Whether weights exist. */
  get built(): boolean {
    return this.params.length > 0 || this.init !== null;
  }
  /** Whether {@link dispose} has been called; a disposed layer cannot be used again. */
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** Number of states: 2 for an LSTM (h, c), else 1. */
  get stateCount(): number {
    return this.config.cell === 'lstm' ? 2 : 1;
  }
  /** Input features D (0 before build). */
  get inputFeatures(): number {
    return this.inputSize;
  }

  /** @internal The description the native core runs. */
  desc(): NativeRnnDesc {
    const c = this.config;
    return {
      cell: c.cell === 'gru' ? (c.resetAfter ? 'gruResetAfter' : 'gruResetBefore') : c.cell,
      activation: c.activation,
      recurrentActivation: c.recurrentActivation,
      inputSize: this.inputSize,
      units: c.units,
      goBackwards: c.goBackwards,
      returnSequences: c.returnSequences,
      maskedOutput: c.maskedOutput,
    };
  }

  private keras(): { name: string; shape: number[] }[] {
    return native.weightFormatArrays(this.desc(), this.config.useBias, 'keras');
  }

  /**
   * Creates the weights for inputs of shape `[N | null, T | null, D]` with the configured
   * initializers (seeded). Rebuilding with the same D keeps the weights.
   *
   * Returns at once: a layer of more than 65536 weight values is initialized natively on a
   * worker thread (an orthogonal recurrent kernel costs a QR factorization, about 1 s for
   * 1024 units on one core). `forward`, `backward` and the models' asynchronous calls wait for it;
   * `getWeights()`, `exportWeights()` and training's weight access block the JavaScript
   * thread until it is done; `setWeights()` and `dispose()` discard it without waiting.
   */
  build(inputShapeOrList: Shape | readonly Shape[]): void {
    this.assertLive('build');
    const inputShape = Array.isArray(inputShapeOrList) ? shapeList(inputShapeOrList)[0]! : inputShapeOrList;
    if (!Array.isArray(inputShape) || inputShape.length !== 3) {
      throw typeError(`${this.name}.build: inputShape must be [batch | null, timesteps | null, features]`);
    }
    const D = inputShape[2];
    if (typeof D !== 'number' || !Number.isInteger(D) || D < 1) {
      throw rangeError(`${this.name}.build: inputShape[2] (features) must be a positive integer, got ${describe(D)}`);
    }
    if (this.built) {
      if (D !== this.inputSize) throw rangeError(`${this.name}.build: layer was built for ${this.inputSize} features, got ${D}`);
      return;
    }
    this.inputSize = D;
    try {
      this.init = startInit(
        this.initArrays(),
        { desc: this.desc(), useBias: this.config.useBias },
        (w) => {
          this.init = null;
          this.install(w.tensors, w.prepared!);
        },
        () => {
          this.init = null;
          this.inputSize = 0;
        },
      );
    } catch (e) {
      this.inputSize = 0;
      throw e;
    }
  }

  /** The weights' initializer draws, in Keras arrays (an LSTM's forget bias starts at 1). */
  private initArrays(): NativeInitArray[] {
    const c = this.config;
    const H = c.units;
    return this.keras().map((s, i) => {
      const seed = (c.seed + 7919 * (i + 1)) >>> 0;
      const spec = i === 0 ? c.kernelInitializer : i === 1 ? c.recurrentInitializer : c.biasInitializer;
      if (i === 2 && c.cell === 'lstm' && c.unitForgetBias) {
        const ones = { kind: 'constant' as const, a: 1, b: 0, seed: 0, shape: [H] };
        const parts = [initializerDraw(spec, [H], seed), ones, initializerDraw(spec, [2 * H], seed + 1)];
        return { shape: s.shape, parts };
      }
      return { shape: s.shape, parts: [initializerDraw(spec, s.shape, seed)] };
    });
  }

  /** Blocks until a worker's initialization is installed (no-op otherwise). */
  private settleWeights(): void {
    this.init?.settle();
  }

  /** @internal Resolves once the weights exist (a worker's initialization installed). */
  async weightsReady(): Promise<void> {
    await this.init?.ready();
  }

  private install(params: Tensor[], prepared: NativeRnnWeights): void {
    for (const p of this.params) p.dispose();
    this.prepared?.dispose();
    this.params = params;
    this.prepared = prepared;
  }

  private loadCanonical(arrays: Float32Array[]): void {
    this.assertLive('setWeights');
    const D = this.inputSize;
    const GH = (this.config.cell === 'lstm' ? 4 : this.config.cell === 'gru' ? 3 : 1) * this.config.units;
    const shapes = [[GH, D], [GH, this.config.units], [GH], [GH]];
    const next = arrays.map((a, i) => tensorFrom(a, shapes[i]!));
    const prepared = native.rnnPrepare(this.desc(), next.map((t) => t.handle));
    // Replaced weights: a pending initialization is dropped, not waited for.
    this.init?.cancel();
    this.init = null;
    this.install(next, prepared);
  }

  /** Throws RNNKIT_DISPOSED after dispose(): a disposed layer never silently rebuilds. */
  private assertLive(where: string): void {
    if (this.disposed) throw disposedError(`${this.name}.${where}`, 'layer');
  }

  private requireBuilt(where: string): void {
    this.assertLive(where);
    if (!this.built) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.name}.${where}: the layer is not built; call build(), setWeights() or forward() first`);
  }

  /** Weights in Keras order and layout: kernel `[D,G·H]`, recurrentKernel `[H,G·H]`, bias. */
  getWeights(): Tensor[] {
    this.settleWeights();
    this.requireBuilt('getWeights');
    return native.canonicalToFormat(this.desc(), 'keras', this.params.map((p) => p.handle), false).map(fromNative);
  }

  /** Number of weight values. */
  countParams(): number {
    this.requireBuilt('countParams');
    return this.keras().reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * Replaces the weights, given in `getWeights()` order, shapes and Keras layout. Builds
   * the layer if needed (the input size comes from the kernel).
   */
  setWeights(weights: readonly WeightValues[]): void {
    const where = `${this.name}.setWeights`;
    this.assertLive('setWeights');
    if (!Array.isArray(weights)) throw typeError(`${where}: weights must be an array of Tensors or Float32Arrays`);
    const values = weights.map((w, i) => weightValues(w, `${where}: weights[${i}]`));
    if (!this.built) {
      const GH = (this.config.cell === 'lstm' ? 4 : this.config.cell === 'gru' ? 3 : 1) * this.config.units;
      const first = weights[0];
      const D = first instanceof Tensor ? first.shape[0] : values[0] ? values[0].length / GH : NaN;
      if (!Number.isInteger(D) || (D ?? 0) < 1) {
        throw rangeError(`${where}: weights[0] (kernel) must have shape [features, ${GH}]`);
      }
      this.inputSize = D as number;
    }
    const expected = this.keras();
    if (values.length !== expected.length) {
      throw rangeError(
        `${where}: expected ${expected.length} weights (${expected.map((e) => `${e.name} [${e.shape.join(',')}]`).join(', ')}), got ${values.length}`,
      );
    }
    weights.forEach((w, i) => {
      if (w instanceof Tensor) expectShape(w, expected[i]!.shape, `${where}: weights[${i}] (${expected[i]!.name})`);
    });
    this.loadCanonical(native.weightsToCanonical(this.desc(), this.config.useBias, 'keras', values));
  }

  /** @internal Format arrays of one direction, in the format's native order. */
  formatArrays(format: WeightFormat): { name: string; shape: number[] }[] {
    return native.weightFormatArrays(this.desc(), this.config.useBias, format);
  }

  /** @internal Loads one direction's arrays of `format` (already in the format's order). */
  importArrays(format: WeightFormat, values: Float32Array[]): void {
    this.loadCanonical(native.weightsToCanonical(this.desc(), this.config.useBias, format, values));
  }

  /** @internal One direction's arrays in `format`. */
  exportArrays(format: WeightFormat): Float32Array[] {
    this.settleWeights();
    this.requireBuilt('exportWeights');
    return native.weightsFromCanonical(this.desc(), format, this.params.map((p) => p.dataSync()));
  }

  /**
   * Loads weights saved by PyTorch (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
   * `bias_hh_l0`) or ONNX (`W` `[1,G·H,D]`, `R` `[1,G·H,H]`, `B` `[1,2·G·H]`). Builds the
   * layer from `weight_ih_l0` / `W` if needed.
   */
  importWeights(format: WeightFormat, weights: Readonly<Record<string, WeightValues>>): void {
    importDirections([this], format, weights, `${this.name}.importWeights`);
  }

  /** The weights in PyTorch or ONNX layout and naming (see {@link importWeights}). */
  exportWeights(format: WeightFormat): Record<string, Tensor> {
    return exportDirections([this], format, `${this.name}.exportWeights`);
  }

  /** @internal Builds from an external kernel's input size when not built yet. */
  buildFor(inputSize: number): void {
    if (!this.built) this.build([null, null, inputSize]);
  }

  /**
   * Runs the layer over `x` `[N,T,D]` off the JavaScript thread.
   * @throws TypeError/RangeError (as a rejected Promise) for malformed arguments
   */
  async forward(x: Tensor, options: ForwardOptions = {}): Promise<RecurrentForward> {
    return this.forwardWith(x, options, this.config.stateful);
  }

  /**
   * @internal A forward from the given states that leaves a stateful layer's carried states
   * alone (serving sessions keep their own states).
   */
  async streamForward(x: Tensor, options: ForwardOptions): Promise<RecurrentForward> {
    return this.forwardWith(x, options, false);
  }

  private async forwardWith(x: Tensor, options: ForwardOptions, carry: boolean): Promise<RecurrentForward> {
    const where = `${this.name}.forward`;
    this.assertLive('forward');
    const input = expectTensor(x, `${where}: x`);
    if (input.shape.length !== 3) {
      throw rangeError(`${where}: x must be rank 3 [batch, timesteps, features], got [${input.shape.join(',')}]`);
    }
    const [N, T, D] = input.shape as [number, number, number];
    const opts = expectObject(options, `${where}: options`);
    rejectUnknownOptions(opts, ['initialState', 'lengths', 'mask', 'training'], where);
    const training = optionalBoolean(opts.training, `${where}: training`, false);
    const lengths = opts.lengths === undefined ? null : toLengths(opts.lengths, N, T, `${where}: lengths`);
    const plan = opts.mask === undefined ? null : maskPlan(toMask(opts.mask, N, T, `${where}: mask`), N, T, lengths);
    if (!this.built) this.build([N, T, D]);
    if (D !== this.inputSize) throw rangeError(`${where}: x must have ${this.inputSize} features (the layer's input size), got ${D}`);
    await this.weightsReady();

    let initial = opts.initialState === undefined ? null : this.checkStates(opts.initialState, N, `${where}: initialState`);
    if (!initial && carry && this.carried) {
      if (this.carried[0]!.shape[0] !== N) {
        throw rangeError(`${where}: a stateful layer needs the same batch size every call (${this.carried[0]!.shape[0]}), got ${N}; call resetStates() first`);
      }
      initial = this.carried;
    }
    // A mask runs as lengths over the packed unmasked steps (see lib/mask.ts).
    const packed = plan ? await packInput(input, plan) : input;
    let r;
    try {
      r = await native.rnnForward(
        this.prepared!,
        packed.handle,
        initial?.[0]?.handle ?? null,
        initial?.[1]?.handle ?? null,
        plan ? plan.lengths : lengths,
        training,
      );
    } finally {
      if (packed !== input) packed.dispose(); // a training reserve keeps its own reference
    }
    const [rOutput, rH, rC, reserve] = r;
    const states = rC ? [fromNative(rH), fromNative(rC)] : [fromNative(rH)];
    if (carry) this.carry(states);
    let output = fromNative(rOutput);
    if (plan && this.config.returnSequences) {
      const spread = await unpackOutput(output, plan, this.config.goBackwards, this.config.maskedOutput === 'carry');
      output.dispose();
      output = spread;
    }
    return new RecurrentForward(output, states, this, reserve ?? undefined, plan);
  }

  private checkStates(states: unknown, N: number, name: string): Tensor[] {
    if (!Array.isArray(states) || states.length !== this.stateCount) {
      throw typeError(`${name} must be an array of ${this.stateCount} Tensor${this.stateCount > 1 ? 's ([h0, c0])' : ' ([h0])'}, got ${describe(states)}`);
    }
    return states.map((s, i) => {
      const t = expectTensor(s, `${name}[${i}]`);
      expectShape(t, [N, this.config.units], `${name}[${i}]`);
      return t;
    });
  }

  private carry(states: Tensor[]): void {
    const copies = states.map((s) => fromNative(native.scale(s.handle, 1)));
    for (const s of this.carried ?? []) s.dispose();
    this.carried = copies;
  }

  /** Clears a stateful layer's carried states, or sets them to copies of `states`. */
  resetStates(states?: Tensor[]): void {
    if (states !== undefined) this.assertLive('resetStates');
    if (states === undefined) {
      for (const s of this.carried ?? []) s.dispose();
      this.carried = null;
      return;
    }
    const N = Array.isArray(states) && states[0] instanceof Tensor ? (states[0].shape[0] ?? 0) : 0;
    this.carry(this.checkStates(states, N, `${this.name}.resetStates: states`));
  }

  /**
   * Backpropagation through time for a forward pass run with `training: true`.
   * @returns gradients of the input, initial states and weights (Keras layout)
   */
  async backward(fwd: ForwardResult, options: BackwardOptions): Promise<Gradients> {
    const g = await this.backwardNative(fwd, options);
    const dInitialState = [fromNative(g.dh0), ...(g.dc0 ? [fromNative(g.dc0)] : [])];
    return { dInput: fromNative(g.dx), dInitialState, dWeights: this.kerasGradients(g.dw, g.dr, g.dbiasW, g.dbiasR) };
  }

  /**
   * For training loops: the weight tensors an optimizer updates in place. They
   * are Keras's variables in the canonical layout: a single Keras bias is the recurrent-side
   * bias alone (the input-side one stays zero); call {@link weightsUpdated} afterwards.
   */
  trainableWeights(): Tensor[] {
    this.settleWeights();
    this.requireBuilt('trainableWeights');
    const [w, r, biasW, biasR] = this.params as [Tensor, Tensor, Tensor?, Tensor?];
    if (!biasW || !biasR) return [w, r];
    return this.singleKerasBias() ? [w, r, biasR] : [w, r, biasW, biasR];
  }

  /**
   * Re-packs the weights after an optimizer changed them in place. A device that
   * keeps no packed copy (CUDA) reads the canonical tensors directly: nothing to redo.
   */
  weightsUpdated(): void {
    this.assertLive('weightsUpdated');
    this.settleWeights();
    if (this.prepared && !this.prepared.packed) return;
    const prepared = native.rnnPrepare(this.desc(), this.params.map((p) => p.handle));
    this.prepared?.dispose();
    this.prepared = prepared;
  }

  /** @internal BPTT returning the weight gradients in {@link trainableWeights} order and layout. */
  async backwardTrainable(fwd: ForwardResult, dOutput: Tensor, dStates?: (Tensor | null)[]): Promise<{ dInput: Tensor; dWeights: Tensor[] }> {
    const g = await this.backwardNative(fwd, { dOutput, ...(dStates?.length ? { dStates } : {}) });
    for (const t of [g.dh0, g.dc0]) t?.dispose();
    const dWeights = [fromNative(g.dw), fromNative(g.dr)];
    if (g.dbiasW && g.dbiasR) {
      if (this.singleKerasBias()) g.dbiasW.dispose();
      else dWeights.push(fromNative(g.dbiasW));
      dWeights.push(fromNative(g.dbiasR));
    }
    return { dInput: fromNative(g.dx), dWeights };
  }

  private singleKerasBias(): boolean {
    return !(this.config.cell === 'gru' && this.config.resetAfter);
  }

  private async backwardNative(fwd: ForwardResult, options: BackwardOptions) {
    const where = `${this.name}.backward`;
    this.assertLive('backward');
    if (!(fwd instanceof RecurrentForward) || fwd.layer !== this) {
      throw typeError(`${where}: fwd must be the result of this layer's forward()`);
    }
    if (!fwd.reserve) throw typeError(`${where}: fwd comes from a forward pass without { training: true }, which keeps nothing for backward`);
    if (fwd.reserve.disposed) throw rnnkitError('RNNKIT_DISPOSED', `${where}: the forward pass has been disposed`);
    const opts = expectObject(options, `${where}: options`);
    rejectUnknownOptions(opts, ['dOutput', 'dStates'], where);
    const dOutput = expectTensor(opts.dOutput, `${where}: dOutput`);
    expectShape(dOutput, fwd.output.shape, `${where}: dOutput`);
    const dStates = this.checkStateGrads(opts.dStates, fwd.states, `${where}: dStates`);
    const plan = fwd.mask;
    const c = this.config;
    const dPacked = plan && c.returnSequences ? await packOutputGradient(dOutput, plan, c.goBackwards, c.maskedOutput === 'carry') : dOutput;
    try {
      const g = await native.rnnBackward(fwd.reserve, dPacked.handle, dStates[0] ?? null, dStates[1] ?? null);
      if (plan) {
        const dx = fromNative(g.dx);
        g.dx = (await unpackInputGradient(dx, plan)).handle;
        dx.dispose();
      }
      return g;
    } finally {
      if (dPacked !== dOutput) dPacked.dispose();
    }
  }

  private checkStateGrads(value: unknown, states: Tensor[], name: string): (NativeTensor | null)[] {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.length !== states.length) {
      throw typeError(`${name} must be an array of ${states.length} Tensors (null for a zero gradient), got ${describe(value)}`);
    }
    return value.map((d, i) => {
      if (d === null || d === undefined) return null;
      const t = expectTensor(d, `${name}[${i}]`);
      expectShape(t, states[i]!.shape, `${name}[${i}]`);
      return t.handle;
    });
  }

  /** @internal Canonical gradients to Keras layout (freeing the canonical ones). */
  kerasGradients(dw: NativeTensor, dr: NativeTensor, dbW?: NativeTensor, dbR?: NativeTensor): Tensor[] {
    const canonical = [dw, dr, ...(dbW && dbR ? [dbW, dbR] : [])];
    const keras = native.canonicalToFormat(this.desc(), 'keras', canonical, true).map(fromNative);
    for (const t of canonical) t.dispose();
    return keras;
  }

  // ---- the Layer contract ----

  /** The Keras class name: 'LSTM', 'GRU' or 'SimpleRNN'. */
  get className(): string {
    return KERAS_CLASSES[this.config.cell];
  }
  /** One input. */
  readonly inputArity = 1;
  /** The batch input shape its `inputShape`/`batchInputShape` option declared, or null. */
  get declaredInputShape(): Shape | null {
    return this.config.batchInputShape;
  }

  /**
   * Calls the layer on a symbolic tensor (functional models); with `returnState` it
   * returns `[output, ...states]`.
   */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor | SymbolicTensor[] {
    this.assertLive('apply');
    return applyLayer(this, inputs);
  }

  /** `[output]`, or with `returnState` `[output, h]` / `[output, h, c]`. */
  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    return recurrentOutputShapes(this, this.config, inputShapes, this.config.units, this.stateCount);
  }

  /** Runs the layer; a per-step mask with every sequence right-padded takes the lengths path. */
  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const mask = context.masks[0] ?? null;
    const c = this.config;
    const fwd = await this.forward(inputs[0]!, { training: context.training, ...maskOptions(mask, !(c.returnSequences && c.goBackwards)) });
    return recurrentPass(this, fwd, mask, this.config.returnSequences, this.config.returnState, context.training, (f, dOutput, dStates) =>
      this.backwardTrainable(f, dOutput, dStates),
    );
  }

  /** 3 (kernel, recurrent kernel, bias), or 2 without a bias. */
  weightCount(): number {
    return this.config.useBias ? 3 : 2;
  }
  /** `kernel`, `recurrent_kernel`, `bias` (tfjs's names). */
  weightNames(): string[] {
    return ['kernel', 'recurrent_kernel', ...(this.config.useBias ? ['bias'] : [])];
  }
  /** Every weight is trainable. */
  countTrainableParams(): number {
    return this.countParams();
  }
  /** The Keras config (`LSTM`/`GRU`/`SimpleRNN`). */
  getConfig(): JsonObject {
    return recurrentConfig(this.config);
  }

  /**
   * Moves the weights (and a stateful layer's carried states) to `backend`, in their
   * canonical layout; later passes run there and take inputs on that device. An unbuilt
   * layer is built where the backend is current at its build. Returns this layer.
   * @throws TypeError for an unknown name; Error `RNNKIT_UNSUPPORTED` when unavailable
   */
  to(backend: BackendName): this {
    this.assertLive('to');
    const device = expectBackendName(backend, `${this.name}.to: backend`);
    this.settleWeights();
    if (this.params.length) {
      const next = this.params.map((p) => p.to(device));
      this.install(next, native.rnnPrepare(this.desc(), next.map((p) => p.handle)));
    }
    if (this.carried) {
      const moved = this.carried.map((s) => s.to(device));
      for (const s of this.carried) s.dispose();
      this.carried = moved;
    }
    return this;
  }

  /** Frees the weights and carried states. Idempotent; any later use throws RNNKIT_DISPOSED. */
  dispose(): void {
    this.disposed = true;
    this.init?.cancel();
    this.init = null;
    for (const p of this.params) p.dispose();
    this.params = [];
    this.prepared?.dispose();
    this.prepared = null;
    this.resetStates();
  }
}

function tensorFrom(values: Float32Array, shape: readonly number[]): Tensor {
  return tensor(values, shape);
}

function weightValues(w: unknown, name: string): Float32Array {
  if (w instanceof Float32Array) return w;
  return expectTensor(w, name).dataSync();
}

const PYTORCH_NAMES = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'];
const ONNX_NAMES = ['W', 'R', 'B'];

/**
 * @internal Imports PyTorch / ONNX weights into one layer per direction (forward first).
 * PyTorch names the second direction with a `_reverse` suffix; ONNX stacks directions
 * on a leading axis.
 */
export function importDirections(
  layers: RecurrentLayer[],
  format: WeightFormat,
  weights: Readonly<Record<string, WeightValues>>,
  where: string,
): void {
  optionalChoice(format, `${where}: format`, ['pytorch', 'onnx'] as const, 'pytorch');
  const record = expectObject(weights, `${where}: weights`);
  const dirs = layers.length;
  const base = format === 'pytorch' ? PYTORCH_NAMES : ONNX_NAMES;
  const names = format === 'pytorch' ? layers.flatMap((_, d) => base.map((n) => n + (d ? '_reverse' : ''))) : base;
  const present = (n: string) => record[n] !== undefined;
  const useBias = layers[0]!.config.useBias;
  const required = names.filter((n) => useBias || !/^(bias|B)/.test(n));
  rejectUnknownOptions(record, required, where);
  for (const n of required) if (!present(n)) throw typeError(`${where}: missing '${n}'`);
  const values = Object.fromEntries(required.map((n) => [n, weightValues(record[n], `${where}: ${n}`)]));
  const first = values[format === 'pytorch' ? 'weight_ih_l0' : 'W']!;
  const GH = (layers[0]!.config.cell === 'lstm' ? 4 : layers[0]!.config.cell === 'gru' ? 3 : 1) * layers[0]!.units;
  const D = first.length / (GH * (format === 'onnx' ? dirs : 1));
  if (!Number.isInteger(D) || D < 1) throw rangeError(`${where}: ${format === 'pytorch' ? 'weight_ih_l0' : 'W'} has ${first.length} values, not a multiple of ${GH}`);
  layers.forEach((layer, d) => {
    layer.buildFor(D);
    const expected = layer.formatArrays(format);
    const arrays = expected.map((e, i) => {
      if (format === 'pytorch') return values[base[i]! + (d ? '_reverse' : '')]!;
      const all = values[base[i]!]!;
      const size = e.shape.reduce((a, b) => a * b, 1);
      if (all.length !== size * dirs) {
        throw rangeError(`${where}: ${base[i]} must have shape [${dirs},${e.shape.join(',')}], got ${all.length} values`);
      }
      return all.subarray(d * size, (d + 1) * size);
    });
    layer.importArrays(format, arrays);
  });
}

/** @internal Exports one layer per direction in PyTorch / ONNX naming. */
export function exportDirections(layers: RecurrentLayer[], format: WeightFormat, where: string): Record<string, Tensor> {
  optionalChoice(format, `${where}: format`, ['pytorch', 'onnx'] as const, 'pytorch');
  const perDir = layers.map((l) => l.exportArrays(format));
  const shapes = layers[0]!.formatArrays(format);
  const out: Record<string, Tensor> = {};
  if (format === 'pytorch') {
    perDir.forEach((arrays, d) =>
      arrays.forEach((a, i) => {
        out[PYTORCH_NAMES[i]! + (d ? '_reverse' : '')] = tensorFrom(a, shapes[i]!.shape);
      }),
    );
  } else {
    shapes.forEach((s, i) => {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const stacked = new Float32Array(size * layers.length);
      perDir.forEach((arrays, d) => stacked.set(arrays[i]!, d * size));
      out[ONNX_NAMES[i]!] = tensorFrom(stacked, [layers.length, ...s.shape]);
    });
  }
  return out;
}

/** A SimpleRNN layer: `h' = act(x·W + h·R + b)`. */
export function simpleRNN(args: SimpleRNNLayerArgs): RecurrentLayer {
  return new RecurrentLayer('simpleRNN', args);
}

/** An LSTM layer (cuDNN / Keras equations; gates i, f, c, o in Keras layout). */
export function lstm(args: LSTMLayerArgs): RecurrentLayer {
  return new RecurrentLayer('lstm', args);
}

/** A GRU layer; `resetAfter` (default true) is cuDNN's / TF2's variant, false the classic one. */
export function gru(args: GRULayerArgs): RecurrentLayer {
  return new RecurrentLayer('gru', args);
}

const KERAS_CLASSES: Record<CellName, string> = { simpleRNN: 'SimpleRNN', lstm: 'LSTM', gru: 'GRU' };

/** @internal Output shapes of a recurrent layer (or a bidirectional one of `units` outputs). */
export function recurrentOutputShapes(
  layer: { readonly name: string; readonly built: boolean; readonly inputFeatures: number },
  c: RecurrentConfig,
  inputShapes: readonly Shape[],
  units: number,
  states: number,
): Shape[] {
  const s = inputShapes[0];
  if (inputShapes.length !== 1 || !s) throw typeError(`${layer.name}: takes one input, got ${inputShapes.length}`);
  if (s.length !== 3) {
    throw rangeError(`${layer.name}: a ${KERAS_CLASSES[c.cell]} layer needs input of rank 3 [batch, timesteps, features], got ${formatShape(s)}`);
  }
  const D = s[2];
  if (typeof D !== 'number') throw rangeError(`${layer.name}: the features axis of its input must be known, got ${formatShape(s)}`);
  if (layer.built && layer.inputFeatures !== D) throw rangeError(`${layer.name}: the layer was built for ${layer.inputFeatures} features, but its input has ${D}`);
  const out: Shape = c.returnSequences ? [s[0]!, s[1]!, units] : [s[0]!, units];
  if (!c.returnState) return [out];
  return [out, ...Array.from({ length: states }, () => [s[0]!, c.units] as Shape)];
}

/**
 * @internal A step mask as forward options: right-padded masks become lengths (the fast
 * path) where lengths mean the same as the Keras mask. They do not for a sequence output
 * processed backwards: lengths reverse only each sequence's valid steps (padding last in
 * processing order), while Keras reverses the whole masked sequence (padding first), and a
 * carried output then differs too; pass `sameAsMask: false` for such a layer. A mask made
 * from a model's `lengths` option keeps the meaning of lengths.
 */
export function maskOptions(mask: StepMask | null, sameAsMask = true): { lengths?: Int32Array; mask?: Uint8Array } {
  if (!mask || mask.allValid) return {};
  return mask.lengths && (sameAsMask || mask.fromLengths) ? { lengths: mask.lengths } : { mask: mask.valid };
}

/** @internal The Layer pass of a recurrent forward (single or bidirectional). */
export function recurrentPass(
  layer: { readonly name: string },
  fwd: ForwardResult,
  mask: StepMask | null,
  returnSequences: boolean,
  returnState: boolean,
  training: boolean,
  backward: (fwd: ForwardResult, dOutput: Tensor, dStates: (Tensor | null)[]) => Promise<{ dInput: Tensor; dWeights: Tensor[] }>,
): LayerPass {
  const outputs = returnState ? [fwd.output, ...fwd.states] : [fwd.output];
  if (!returnState) for (const s of fwd.states) s.dispose();
  // The outputs are the caller's: a model frees an output nobody reads (a returnState layer
  // whose states alone are used) before backward, so its zero gradient is made from these.
  const outShape = [...fwd.output.shape];
  const outDevice = fwd.output.device as BackendName;
  let used = false;
  return {
    outputs,
    // Keras: the sequence output keeps the mask; a last-step output and the states have none.
    masks: outputs.map((_, i) => (i === 0 && returnSequences ? mask : null)),
    async backward(dOutputs) {
      if (!training) throw typeError(`${layer.name}: backward needs a pass run with training: true`);
      if (used) throw typeError(`${layer.name}: backward was already called for this pass`);
      used = true;
      const dOutput = dOutputs[0] ?? tensor(new Float32Array(outShape.reduce((a, b) => a * b, 1)), outShape, { device: outDevice });
      try {
        const g = await backward(fwd, dOutput, returnState ? [...dOutputs.slice(1)].map((d) => d ?? null) : []);
        return { dInputs: [g.dInput], dWeights: g.dWeights };
      } finally {
        if (dOutput !== dOutputs[0]) dOutput.dispose();
      }
    },
    dispose() {
      fwd.dispose();
    },
  };
}

/** @internal The Keras config of a recurrent layer (also the wrapped layer of a Bidirectional). */
export function recurrentConfig(c: RecurrentConfig): JsonObject {
  const cfg: JsonObject = {
    ...baseConfig(c.name, c.batchInputShape ? [...c.batchInputShape] : null),
    units: c.units,
    activation: kerasActivation(c.activation),
    ...(c.cell !== 'simpleRNN' ? { recurrent_activation: kerasActivation(c.recurrentActivation) } : {}),
    use_bias: c.useBias,
    kernel_initializer: kerasInitializer(c.kernelInitializer, 'glorotUniform'),
    recurrent_initializer: kerasInitializer(c.recurrentInitializer, 'orthogonal'),
    bias_initializer: kerasInitializer(c.biasInitializer, 'zeros'),
    ...(c.cell === 'lstm' ? { unit_forget_bias: c.unitForgetBias } : {}),
    kernel_regularizer: null,
    recurrent_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    recurrent_constraint: null,
    bias_constraint: null,
    dropout: 0,
    recurrent_dropout: 0,
    ...(c.cell !== 'simpleRNN' ? { implementation: null } : {}),
    ...(c.cell === 'gru' ? { reset_after: c.resetAfter } : {}),
    return_sequences: c.returnSequences,
    return_state: c.returnState,
    go_backwards: c.goBackwards,
    stateful: c.stateful,
    unroll: false,
  };
  // Keras's own key for what a masked step outputs (tfjs ignores it and carries).
  cfg.zero_output_for_mask = c.maskedOutput === 'zeros';
  return cfg;
}

/** @internal A recurrent layer from its Keras config (`LSTM`, `GRU`, `SimpleRNN`). */
export function recurrentFromConfig(className: string, cfg: Obj, where: string, defaultMaskedOutput: 'zeros' | 'carry' = 'zeros'): RecurrentLayer {
  const dtype = get(cfg, 'dtype');
  if (typeof dtype === 'string' && dtype !== 'float32') throw fileTypeError(`${where}: dtype ${describe(dtype)} is not supported (float32 only)`);
  if (get(cfg, 'time_major') === true) throw fileTypeError(`${where}: time_major: true is not supported`);
  for (const key of ['dropout', 'recurrent_dropout']) {
    const rate = get(cfg, key);
    // Dropout is a training-time option: a trained model's file may carry it; inference ignores it.
    if (rate !== undefined && rate !== null && typeof rate !== 'number') throw fileTypeError(`${where}: ${key} must be a number`);
  }
  const name = get(cfg, 'name');
  const activation = rkActivation(get(cfg, 'activation'), where);
  const recurrentActivation = rkActivation(get(cfg, 'recurrent_activation'), where);
  // What a masked step outputs: rnnkit's older key, else Keras's, else what the file's
  // writer does (tfjs and Keras carry the last output; rnnkit writes zeros).
  const legacy = get(cfg, 'rnnkit_masked_output');
  const zeroOutput = get(cfg, 'zero_output_for_mask');
  const masked = legacy === 'carry' || legacy === 'zeros' ? legacy : typeof zeroOutput === 'boolean' ? (zeroOutput ? 'zeros' : 'carry') : defaultMaskedOutput;
  // The declared input shape is the model's business (the loader reads it): building here
  // would only draw initial weights the file replaces.
  declaredShape(cfg, where);
  const flag = (key: string, option: string) => {
    const v = optBool(cfg, key, where);
    return v === undefined ? {} : { [option]: v };
  };
  const common = {
    units: get(cfg, 'units') as number,
    ...(typeof name === 'string' ? { name } : {}),
    ...(activation !== undefined ? { activation: activation as Activation } : {}),
    ...flag('use_bias', 'useBias'),
    ...flag('return_sequences', 'returnSequences'),
    ...flag('return_state', 'returnState'),
    ...flag('go_backwards', 'goBackwards'),
    ...flag('stateful', 'stateful'),
    maskedOutput: masked,
    seed: 0,
  };
  if (className === 'SimpleRNN') return simpleRNN(common);
  const gates = { ...common, ...(recurrentActivation !== undefined ? { recurrentActivation: recurrentActivation as Activation } : {}) };
  if (className === 'LSTM') return lstm({ ...gates, ...flag('unit_forget_bias', 'unitForgetBias') });
  return gru({ ...gates, ...flag('reset_after', 'resetAfter') });
}

for (const className of ['LSTM', 'GRU', 'SimpleRNN']) {
  registerLayer(className, (cfg, context) => recurrentFromConfig(className, cfg, context.where, context.maskedOutput));
}
// Keras 1/2 spellings of the same layers (CuDNNLSTM/CuDNNGRU are the cuDNN equations ours are).
// cuDNN outputs zeros at masked steps.
registerLayer('CuDNNLSTM', (cfg, context) => recurrentFromConfig('LSTM', { ...cfg, recurrent_activation: 'sigmoid' }, context.where, 'zeros'));
registerLayer('CuDNNGRU', (cfg, context) => recurrentFromConfig('GRU', { ...cfg, recurrent_activation: 'sigmoid', reset_after: true }, context.where, 'zeros'));
