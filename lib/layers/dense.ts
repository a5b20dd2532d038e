import { describe, disposedError, expectObject, optionalBoolean, optionalChoice, optionalInteger, positiveInteger, rangeError, rejectUnknownOptions, rnnkitError, typeError } from '../errors';
import { initializerDraw, InitializerSpec, validateInitializer } from '../initializers';
import { initNow } from './weight-init';
import { BackendName, expectBackendName, getBackend } from '../backend';
import { native } from '../native';
import { expectShape, expectTensor, fromNative, Tensor, tensor } from '../tensor';
import type { WeightValues } from './layer';
import { baseConfig, get, JsonObject, kerasActivation, kerasInitializer, Obj, optBool, rkActivation } from '../io/keras-config';
import { formatShape } from './base';
import { Layer, LayerPass, RunContext, Shape, shapeList } from './layer';
import { registerLayer } from './registry';
import { applyLayer, SymbolicTensor } from './symbolic';

/** Activations of dense layers; `softmax` normalises over the last axis. */
export type DenseActivation = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'hardSigmoid' | 'softmax' | 'elu' | 'selu' | 'softsign' | 'softplus';

const DENSE_ACTIVATIONS: readonly DenseActivation[] = ['linear', 'relu', 'tanh', 'sigmoid', 'hardSigmoid', 'softmax', 'elu', 'selu', 'softsign', 'softplus'];

/** Options of {@link dense} (tfjs-layers names, Keras defaults). */
export interface DenseLayerArgs {
  /** Output units U. */
  units: number;
  /** Default 'linear'. */
  activation?: DenseActivation;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerSpec;
  /** Default 'zeros'. */
  biasInitializer?: InitializerSpec;
  /** Input shape without the batch axis, e.g. `[features]` or `[timesteps, features]`; builds the layer at once. */
  inputShape?: readonly (number | null)[];
  /** Seed of the initializers; default: drawn at random. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Resolved configuration of a {@link Dense} layer. */
export interface DenseConfig {
  readonly units: number;
  readonly activation: DenseActivation;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerSpec;
  readonly biasInitializer: InitializerSpec;
  readonly batchInputShape: readonly (number | null)[] | null;
  readonly seed: number;
  readonly name: string;
}

let denseCounter = 0;

function resolveConfig(args: unknown): DenseConfig {
  const where = 'layers.dense';
  const o = expectObject(args, `${where}: options`);
  rejectUnknownOptions(o, ['units', 'activation', 'useBias', 'kernelInitializer', 'biasInitializer', 'inputShape', 'seed', 'name'], where);
  let batchInputShape: (number | null)[] | null = null;
  if (o.inputShape !== undefined) {
    const s = o.inputShape;
    if (!Array.isArray(s) || s.length < 1 || !s.every((d, i) => (d === null && i < s.length - 1) || (Number.isInteger(d) && (d as number) >= 1))) {
      throw typeError(`${where}: inputShape must be an array of positive integers (null allowed except for the last), got ${describe(s)}`);
    }
    batchInputShape = [null, ...(s as (number | null)[])];
  }
  const name = o.name === undefined ? `dense_${++denseCounter}` : o.name;
  if (typeof name !== 'string') throw typeError(`${where}: name must be a string`);
  return {
    units: positiveInteger(o.units, `${where}: units`),
    activation: optionalChoice(o.activation, `${where}: activation`, DENSE_ACTIVATIONS, 'linear'),
    useBias: optionalBoolean(o.useBias, `${where}: useBias`, true),
    kernelInitializer: o.kernelInitializer === undefined ? 'glorotUniform' : validateInitializer(o.kernelInitializer, `${where}: kernelInitializer`),
    biasInitializer: o.biasInitializer === undefined ? 'zeros' : validateInitializer(o.biasInitializer, `${where}: biasInitializer`),
    batchInputShape,
    seed: optionalInteger(o.seed, `${where}: seed`, Math.floor(Math.random() * 0x7fffffff)),
    name,
  };
}

/** The result of a dense forward pass. */
export class DenseForward {
  /** @internal */
  constructor(
    /** `[..., U]`. */
    readonly output: Tensor,
    /** @internal */ readonly layer: Dense,
    /** @internal the input and weights kept for backward (training only) */
    readonly saved: { x: Tensor; kernel: Tensor } | null,
  ) {}

  /** Releases what backward would need; `output` stays the caller's. */
  dispose(): void {
    // The saved tensors are the caller's input and the layer's weights: nothing of our own.
  }
}

/**
 * A fully connected layer over the last axis, `y = act(x·kernel + bias)` (Keras `Dense`:
 * applied to every step of a `[N, T, D]` input). Runs on the native core.
 */
export class Dense implements Layer {
  /** The resolved configuration. */
  readonly config: DenseConfig;
  private weights: Tensor[] = [];
  private disposed = false;

  /** @internal Use {@link dense}. */
  constructor(args: unknown) {
    this.config = resolveConfig(args);
    if (this.config.batchInputShape) this.build(this.config.batchInputShape);
  }

  get name(): string {
    return this.config.name;
  }
  get units(): number {
    return this.config.units;
  }
  /** Whether the weights exist. */
  get built(): boolean {
    return this.weights.length > 0;
  }
  /** Input features D (0 before build). */
  get inputFeatures(): number {
    return this.weights[0]?.shape[0] ?? 0;
  }
  /** Whether {@link dispose} has been called; a disposed layer cannot be used again. */
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** Throws RNNKIT_DISPOSED after dispose(): a disposed layer never silently rebuilds. */
  private assertLive(where: string): void {
    if (this.disposed) throw disposedError(`${this.name}.${where}`, 'layer');
  }

  /** Creates the weights for inputs whose last axis is `inputShape[inputShape.length - 1]`. */
  build(inputShapeOrList: Shape | readonly Shape[]): void {
    this.assertLive('build');
    const inputShape = Array.isArray(inputShapeOrList) ? shapeList(inputShapeOrList)[0] : undefined;
    const D = Array.isArray(inputShape) ? inputShape[inputShape.length - 1] : undefined;
    if (typeof D !== 'number' || !Number.isInteger(D) || D < 1) {
      throw rangeError(`${this.name}.build: the last axis of inputShape (features) must be a positive integer, got ${describe(D)}`);
    }
    if (this.built) {
      if (D !== this.inputFeatures) throw rangeError(`${this.name}.build: layer was built for ${this.inputFeatures} features, got ${D}`);
      return;
    }
    const { units: U, seed } = this.config;
    const kernel = { shape: [D, U], parts: [initializerDraw(this.config.kernelInitializer, [D, U], seed)] };
    const bias = { shape: [U], parts: [initializerDraw(this.config.biasInitializer, [U], seed + 1)] };
    this.weights = initNow(this.config.useBias ? [kernel, bias] : [kernel]);
  }

  /** `[kernel [D, U], bias [U]]` (no bias when useBias is false), as copies. */
  getWeights(): Tensor[] {
    this.assertLive('getWeights');
    if (!this.built) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.name}.getWeights: the layer is not built`);
    return this.weights.map((w) => w.to(w.device as BackendName));
  }

  /** Replaces the weights (`getWeights()` order and shapes); builds the layer if needed. */
  setWeights(weights: readonly WeightValues[]): void {
    const where = `${this.name}.setWeights`;
    this.assertLive('setWeights');
    const count = this.config.useBias ? 2 : 1;
    if (!Array.isArray(weights) || weights.length !== count) {
      throw rangeError(`${where}: expected ${count} weights (kernel${count > 1 ? ', bias' : ''}), got ${describe(weights)}`);
    }
    const U = this.config.units;
    const first = weights[0];
    const D = this.built
      ? this.inputFeatures
      : first instanceof Tensor
        ? first.shape[0]
        : first instanceof Float32Array
          ? first.length / U
          : NaN;
    if (!Number.isInteger(D) || (D as number) < 1) throw rangeError(`${where}: weights[0] (kernel) must have shape [features, ${U}]`);
    const shapes = [[D as number, U], [U]];
    const next = weights.map((w, i) => {
      const name = `${where}: weights[${i}] (${i === 0 ? 'kernel' : 'bias'})`;
      if (w instanceof Float32Array) {
        const size = shapes[i]!.reduce((a, b) => a * b, 1);
        if (w.length !== size) throw rangeError(`${name} must have ${size} values, got ${w.length}`);
        return tensor(w, shapes[i]);
      }
      const t = expectTensor(w, name);
      expectShape(t, shapes[i]!, name);
      return t.to(getBackend());
    });
    for (const w of this.weights) w.dispose();
    this.weights = next;
  }

  /** Number of weight values. */
  countParams(): number {
    this.assertLive('countParams');
    if (!this.built) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.name}.countParams: the layer is not built`);
    return this.weights.reduce((s, w) => s + w.size, 0);
  }

  /** Applies the layer to `x` `[..., D]` off the JavaScript thread. */
  async forward(x: Tensor, options: { training?: boolean } = {}): Promise<DenseForward> {
    const where = `${this.name}.forward`;
    this.assertLive('forward');
    const input = expectTensor(x, `${where}: x`);
    const opts = expectObject(options, `${where}: options`);
    rejectUnknownOptions(opts, ['training'], where);
    const training = optionalBoolean(opts.training, `${where}: training`, false);
    if (input.shape.length < 1) throw rangeError(`${where}: x must have at least one axis`);
    if (!this.built) this.build(input.shape);
    const [kernel, bias] = this.weights as [Tensor, Tensor | undefined];
    const y = await native.denseForward(input.handle, kernel.handle, bias?.handle ?? null, this.config.activation);
    return new DenseForward(fromNative(y), this, training ? { x: input, kernel } : null);
  }

  /** Gradients with respect to the input and the weights (`getWeights()` order). */
  async backward(fwd: DenseForward, options: { dOutput: Tensor }): Promise<{ dInput: Tensor; dWeights: Tensor[] }> {
    const where = `${this.name}.backward`;
    this.assertLive('backward');
    if (!(fwd instanceof DenseForward) || fwd.layer !== this) throw typeError(`${where}: fwd must be the result of this layer's forward()`);
    if (!fwd.saved) throw typeError(`${where}: fwd comes from a forward pass without { training: true }`);
    const opts = expectObject(options, `${where}: options`);
    rejectUnknownOptions(opts, ['dOutput'], where);
    const dOutput = expectTensor(opts.dOutput, `${where}: dOutput`);
    expectShape(dOutput, fwd.output.shape, `${where}: dOutput`);
    const g = await native.denseBackward(fwd.saved.x.handle, fwd.saved.kernel.handle, this.config.useBias, fwd.output.handle, dOutput.handle, this.config.activation);
    return { dInput: fromNative(g.dx), dWeights: [fromNative(g.dkernel), ...(g.dbias ? [fromNative(g.dbias)] : [])] };
  }

  /** For training loops: the weights an optimizer updates in place. */
  trainableWeights(): Tensor[] {
    this.assertLive('trainableWeights');
    if (!this.built) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.name}.trainableWeights: the layer is not built`);
    return this.weights;
  }

  /** Nothing is derived from the weights. */
  weightsUpdated(): void {}

  /** @internal Backward with the gradients in {@link trainableWeights} order. */
  backwardTrainable(fwd: DenseForward, dOutput: Tensor): Promise<{ dInput: Tensor; dWeights: Tensor[] }> {
    return this.backward(fwd, { dOutput });
  }

  // ---- the Layer contract ----

  /** 'Dense'. */
  readonly className: string = 'Dense';
  /** One input. */
  readonly inputArity = 1;
  /** The batch input shape its `inputShape` option declared, or null. */
  get declaredInputShape(): Shape | null {
    return this.config.batchInputShape;
  }

  /** Calls the layer on a symbolic tensor (functional models). */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor | SymbolicTensor[] {
    this.assertLive('apply');
    return applyLayer(this, inputs);
  }

  /** `[..., D]` → `[..., units]`. */
  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    return [denseOutputShape(this, inputShapes, 2)];
  }

  /** Runs the layer; a mask passes through (Keras's Dense supports masking). */
  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const fwd = await this.forward(inputs[0]!, { training: context.training });
    return densePass(this, fwd, context);
  }

  /** 2 (kernel, bias), or 1 without a bias. */
  weightCount(): number {
    return this.config.useBias ? 2 : 1;
  }
  /** `kernel`, `bias`. */
  weightNames(): string[] {
    return ['kernel', ...(this.config.useBias ? ['bias'] : [])];
  }
  /** Every weight is trainable. */
  countTrainableParams(): number {
    return this.countParams();
  }
  /** The Keras config. */
  getConfig(): JsonObject {
    return denseConfig(this.config);
  }

  /**
   * Moves the weights to `backend` ('cpu' or 'cuda'); later passes run there. An unbuilt
   * layer is built where the backend is current at its build. Returns this layer.
   * @throws TypeError for an unknown name; Error `RNNKIT_UNSUPPORTED` when unavailable
   */
  to(backend: BackendName): this {
    this.assertLive('to');
    const device = expectBackendName(backend, `${this.name}.to: backend`);
    const next = this.weights.map((w) => w.to(device));
    for (const w of this.weights) w.dispose();
    this.weights = next;
    return this;
  }

  /** Frees the weights. Idempotent; any later use throws RNNKIT_DISPOSED. */
  dispose(): void {
    this.disposed = true;
    for (const w of this.weights) w.dispose();
    this.weights = [];
  }
}

/** A fully connected layer (Keras `Dense`), applied over the last axis. */
export function dense(args: DenseLayerArgs): Dense {
  return new Dense(args);
}

/** @internal Output shape of a dense layer (also inside TimeDistributed, which needs `minRank` 3). */
export function denseOutputShape(layer: Dense | { readonly name: string; readonly built: boolean; readonly inputFeatures: number; readonly units: number }, inputShapes: readonly Shape[], minRank: number): Shape {
  const s = inputShapes[0];
  if (inputShapes.length !== 1 || !s) throw typeError(`${layer.name}: takes one input, got ${inputShapes.length}`);
  if (s.length < minRank) {
    const what = minRank === 3 ? 'a TimeDistributed layer needs input of rank 3 [batch, timesteps, features]' : `a Dense layer needs input of rank >= ${minRank}`;
    throw rangeError(`${layer.name}: ${what}, got ${formatShape(s)}`);
  }
  const D = s[s.length - 1];
  if (typeof D !== 'number') throw rangeError(`${layer.name}: the last axis of its input (features) must be known, got ${formatShape(s)}`);
  if (layer.built && layer.inputFeatures !== D) throw rangeError(`${layer.name}: the layer was built for ${layer.inputFeatures} features, but its input has ${D}`);
  return [...s.slice(0, -1), layer.units];
}

/** @internal The Layer pass of a dense forward. */
export function densePass(layer: Dense, fwd: DenseForward, context: RunContext): LayerPass {
  let used = false;
  return {
    outputs: [fwd.output],
    masks: [context.masks[0] ?? null],
    async backward(dOutputs) {
      if (!context.training) throw typeError(`${layer.name}: backward needs a pass run with training: true`);
      if (used) throw typeError(`${layer.name}: backward was already called for this pass`);
      used = true;
      const g = await layer.backward(fwd, { dOutput: dOutputs[0] ?? fromNative(native.scale(fwd.output.handle, 0)) });
      return { dInputs: [g.dInput], dWeights: g.dWeights };
    },
    dispose() {
      fwd.dispose();
    },
  };
}

/** @internal The Keras config of a dense layer. */
export function denseConfig(c: DenseConfig): JsonObject {
  return {
    ...baseConfig(c.name, c.batchInputShape ? [...c.batchInputShape] : null),
    units: c.units,
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

/** @internal A dense layer from its Keras config. */
export function denseFromConfig(cfg: Obj, fallbackName: string, where: string): Dense {
  const activation = rkActivation(get(cfg, 'activation'), where);
  const useBias = optBool(cfg, 'use_bias', where);
  const name = get(cfg, 'name');
  return dense({
    units: get(cfg, 'units') as number,
    name: typeof name === 'string' ? name : fallbackName,
    seed: 0,
    ...(activation !== undefined ? { activation: activation as DenseActivation } : {}),
    ...(useBias !== undefined ? { useBias } : {}),
  });
}

registerLayer('Dense', (cfg, context) => denseFromConfig(cfg, 'dense', context.where));
