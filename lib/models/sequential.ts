import { describe, rangeError, rnnkitError, typeError } from '../errors';
import { InputLayer } from '../layers/input-layer';
import { isLayer, Layer, Shape, WeightValues } from '../layers/layer';
import { applyLayer, SymbolicTensor } from '../layers/symbolic';
import { expectTensor, Tensor } from '../tensor';
import { Graph } from './graph';
import { ModelBase, PredictOptions, SymbolicShape } from './model-base';
import { summaryTable } from './summary';

export type { PredictOptions, SymbolicShape } from './model-base';

/** A layer a {@link Sequential} model can hold: any layer of the Layer contract with one input. */
export type ModelLayer = Layer;

let modelCounter = 0;

/**
 * A linear stack of layers (Keras / tfjs-layers `Sequential`): each layer's first output
 * feeds the next (a recurrent layer's `returnState` states are not passed on). Any layer
 * of one input may be stacked; an Embedding of integer ids `[N, T]` only first. Per-step
 * masks flow as in Keras: an Embedding with `maskZero` (or a Masking layer) masks the
 * padded steps for the layers after it, wherever the padding is.
 */
export class Sequential extends ModelBase {
  /** @internal tfjs's class name in model.json. */
  readonly topologyClass = 'Sequential' as const;
  private readonly stack: Layer[] = [];
  private input: SymbolicShape | null = null;
  private built_: Graph | null = null;

  /** @internal Use {@link sequential}. */
  constructor(layers: readonly Layer[] = [], name?: string) {
    if (!Array.isArray(layers)) throw typeError(`sequential: layers must be an array of layers, got ${describe(layers)}`);
    if (name !== undefined && typeof name !== 'string') throw typeError('sequential: name must be a string');
    super(name ?? `sequential_${++modelCounter}`);
    layers.forEach((l) => this.add(l));
  }

  /** The layers, first to last (a copy of the list). */
  get layers(): Layer[] {
    return [...this.stack];
  }

  /**
   * The batch input shape `[N | null, T | null, D]` (or `[N | null, D]` when the first
   * layer is dense, `[N | null, T | null]` when it is an embedding), or null before it is known.
   */
  get inputShape(): SymbolicShape | null {
    return this.input ? [...this.input] : null;
  }

  /** The output shape, or null before the input shape is known. */
  get outputShape(): SymbolicShape | null {
    return this.input ? [...this.shapes(this.input).at(-1)!] : null;
  }

  /** Whether every layer has weights. */
  get built(): boolean {
    return this.input !== null && this.stack.length > 0 && this.stack.every((l) => l.built);
  }

  /**
   * Appends a layer. If it declares an input shape (`inputShape`/`batchInputShape`) and is
   * the first layer, the model is built at once.
   * @throws TypeError for something that is not a layer of one input, an embedding that is
   *   not the first layer, or a layer that cannot take the previous layer's output
   */
  add(layer: Layer): void {
    this.assertLive('add');
    const i = this.stack.length;
    if (!isLayer(layer) || layer instanceof InputLayer) {
      throw typeError(`sequential: layers[${i}] must be a layer (rk.layers.*), got ${describe(layer)}`);
    }
    if (layer.inputArity !== 1) throw typeError(`sequential: layers[${i}] (${layer.name}) takes several inputs; use a functional model (rk.model)`);
    if (layer.className === 'Embedding' && i > 0) {
      throw typeError(
        `sequential: layers[${i}] (${layer.name}): an Embedding layer must be the first layer of a model (it takes integer ids [batch, timesteps])`,
      );
    }
    if (this.stack.includes(layer)) throw typeError(`sequential: layers[${i}] (${layer.name}) is already in the model`);
    if (this.stack.some((l) => l.name === layer.name)) {
      throw typeError(`sequential: layers[${i}]: another layer is already named '${layer.name}'; layer names in a model must be unique`);
    }
    const shape = this.input ? this.shapes(this.input).at(-1)! : null;
    if (shape) this.outputShapeOf(layer, shape, i); // throws if it cannot follow
    this.stack.push(layer);
    this.built_ = null;
    if (i === 0) {
      const declared = layer.declaredInputShape;
      if (declared) this.build(declared);
    } else if (this.input) {
      layer.build([shape!]);
    }
  }

  /**
   * Builds every layer for a batch input shape: `[N | null, T | null, D]` (Keras's
   * `model.build`), `[N | null, D]` when the first layer is dense, or `[N | null, T | null]`
   * when it is an embedding.
   * @throws TypeError/RangeError for shapes the layers cannot take
   */
  build(inputShape: readonly (number | null)[]): void {
    this.assertLive('build');
    if (this.stack.length === 0) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.name}.build: the model has no layers`);
    if (!Array.isArray(inputShape)) throw typeError(`${this.name}.build: inputShape must be an array`);
    inputShape.forEach((d, k) => {
      if (d !== null && (typeof d !== 'number' || !Number.isInteger(d) || d < 1)) {
        throw rangeError(`${this.name}.build: inputShape[${k}] must be a positive integer or null, got ${describe(d)}`);
      }
    });
    const shape = [...inputShape] as SymbolicShape;
    if (this.stack[0]!.className !== 'Embedding' && shape.at(-1) === null) {
      throw rangeError(`${this.name}.build: the last entry of inputShape (features) must be known`);
    }
    const shapes = this.shapes(shape);
    this.stack.forEach((l, i) => l.build([shapes[i]!]));
    this.input = shape;
    this.built_ = null;
  }

  /** Shapes flowing through the model: `[input, out_0, out_1, ...]`. */
  private shapes(input: SymbolicShape): Shape[] {
    const out: Shape[] = [input];
    this.stack.forEach((l, i) => out.push(this.outputShapeOf(l, out[i]!, i)));
    return out;
  }

  private outputShapeOf(l: Layer, s: Shape, i: number): Shape {
    try {
      return l.computeOutputShape([s])[0]!;
    } catch (e) {
      if (e instanceof Error) {
        const message = `${this.name}: layer ${i} (${l.name}): ${e.message.startsWith(`${l.name}: `) ? e.message.slice(l.name.length + 2) : e.message}`;
        throw e instanceof RangeError ? rangeError(message) : typeError(message);
      }
      throw e;
    }
  }

  protected requireRunnable(where: string): void {
    this.assertLive(where);
    if (!this.input || !this.built) {
      throw rnnkitError(
        'RNNKIT_INVALID_STATE',
        `${this.name}.${where}: the model is not built; give the first layer an inputShape, call build(inputShape), or run predict() first`,
      );
    }
  }

  /** The chain as a graph: an input, then each layer on the previous one's first output. */
  protected graphFor(xs: readonly Tensor[] | null, where: string): Graph {
    this.assertLive(where);
    if (this.stack.length === 0) throw rnnkitError('RNNKIT_INVALID_STATE', `${where}: the model has no layers`);
    if (!this.built && xs) this.build([null, ...xs[0]!.shape.slice(1)]);
    if (!this.input) {
      // Not built yet: a one-input stand-in lets callers count inputs and outputs.
      return placeholderGraph;
    }
    if (!this.built_) {
      const input = new InputLayer(`${this.name}_input`, [null, ...this.input.slice(1)]);
      let t: SymbolicTensor = input.output;
      for (const l of this.stack) {
        const out = applyLayer(l, t);
        t = Array.isArray(out) ? out[0]! : out;
      }
      this.built_ = new Graph([input.output], [t], this.name);
    }
    return this.built_;
  }

  /**
   * Runs the model on `x` and returns the last layer's output. Inputs with more samples
   * than `batchSize` are run in slices of `batchSize` and the outputs concatenated.
   * Builds the model from `x`'s shape if needed.
   * @param x `[N, T, D]` (or `[N, D]` / `[N, ..., D]` when the first layer is dense, or
   *   integer ids `[N, T]` in `[0, inputDim)` when it is an embedding)
   * @param options `lengths` (right-padded steps) or `mask` (`[N, T]` 0/1, any position)
   *   for the input's steps, as Keras masks
   * @throws TypeError/RangeError (as a rejected Promise) for malformed arguments; RangeError
   *   naming `x (ids)` for ids that are not integers in `[0, inputDim)`
   */
  override async predict(x: Tensor, options: PredictOptions = {}): Promise<Tensor> {
    const where = `${this.name}.predict`;
    this.assertLive('predict');
    if (this.stack.length === 0) throw rnnkitError('RNNKIT_INVALID_STATE', `${where}: the model has no layers`);
    const input = expectTensor(x, `${where}: x`);
    const shape = input.shape;
    // A leading dropout takes whatever the layer after it takes.
    const first = this.stack.find((l) => l.className !== 'Dropout') ?? this.stack[0]!;
    const embedded = first.className === 'Embedding';
    const sequenceFirst = SEQUENCE_CLASSES.has(first.className);
    if (embedded ? shape.length !== 2 : sequenceFirst ? shape.length !== 3 : shape.length < 2) {
      const want = embedded ? 'integer ids of rank 2 [batch, timesteps]' : sequenceFirst ? 'rank 3 [batch, timesteps, features]' : 'of rank >= 2 [batch, ..., features]';
      throw rangeError(`${where}: x must be ${want}, got [${shape.join(',')}]`);
    }
    if (this.input) {
      const want = this.input;
      const ok = want.length === shape.length && want.every((d, k) => k === 0 || d === null || d === shape[k]);
      if (!ok) throw rangeError(`${where}: x must have shape [${fmt(want, '?')}], got [${shape.join(',')}]`);
    }
    if (options && typeof options === 'object' && (options as PredictOptions).lengths !== undefined) {
      if (!(shape.length === 3 || embedded) || !this.stack.some((l) => RECURRENT_CLASSES.has(l.className))) {
        throw typeError(`${where}: lengths need a sequence input (rank 3, or ids for an embedding) to a model with recurrent layers`);
      }
    }
    return (await super.predict(input, options)) as Tensor;
  }

  /** Ids of a leading embedding are checked once for the whole input. */
  protected override checkRunnable(_graph: Graph, xs: readonly Tensor[], where: string): void {
    const first = this.stack[0]!;
    if (first.className === 'Embedding') {
      const inputDim = (first as Layer & { config: { inputDim: number } }).config.inputDim;
      const v = xs[0]!.dataSync();
      for (let k = 0; k < v.length; k++) {
        const id = v[k]!;
        if (!Number.isInteger(id) || id < 0 || id >= inputDim) throw rangeError(`${where}: x (ids) must be integers in [0, ${inputDim}), got ${id} at flat index ${k}`);
      }
    }
  }

  /**
   * A Keras-style table: each layer's name and type, output shape and parameter count,
   * then the totals ("Total params", "Trainable params", "Non-trainable params").
   * @throws Error when the model is not built
   */
  summary(): string {
    this.requireRunnable('summary');
    const shapes = this.shapes(this.input!);
    return summaryTable(
      this.name,
      this.stack.map((l, i) => ({ layer: l, outputShapes: [shapes[i + 1]!], connectedTo: null })),
    );
  }

  /** Unbuilt layers are built from their kernels: the input shape follows from the first. */
  protected override weightsSet(): void {
    if (this.input) return;
    const first = this.stack[0]!;
    const declared = first.declaredInputShape;
    if (first.className === 'Embedding') {
      this.build(declared ? [...declared] : [null, null]);
      return;
    }
    const D = (first as Layer & { inputFeatures?: number }).inputFeatures;
    if (SEQUENCE_CLASSES.has(first.className) && D) this.build(declared ? [...declared] : [null, null, D]);
  }

  /** Replaces all layers' weights, given in {@link getWeights} order and shapes. Unbuilt layers are built from their kernels. */
  override setWeights(weights: readonly WeightValues[]): void {
    super.setWeights(weights);
  }
}

/** Layer kinds whose input is a sequence `[N, T, D]` (what `predict` checks first). */
const RECURRENT_CLASSES = new Set(['LSTM', 'GRU', 'SimpleRNN', 'Bidirectional']);
const SEQUENCE_CLASSES = new Set([...RECURRENT_CLASSES, 'TimeDistributed']);

const placeholderInput = new InputLayer('placeholder', [null, null]);
const placeholderGraph = new Graph([placeholderInput.output], [placeholderInput.output], 'sequential');

function fmt(s: readonly (number | null)[], unknown = 'null'): string {
  return s.map((d) => (d === null ? unknown : String(d))).join(',');
}

/**
 * A linear stack of layers, as `tf.sequential`. Give the first layer an `inputShape`
 * (or call `build`) to build the model at once; otherwise the first `predict` builds it.
 * @throws TypeError if an entry is not a layer, or an embedding is not the first
 */
export function sequential(layers: readonly Layer[] = []): Sequential {
  return new Sequential(layers);
}
