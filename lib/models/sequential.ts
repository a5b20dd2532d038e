import { describe, disposedError, expectObject, rangeError, rejectUnknownOptions, rethrow, rnnkitError, typeError } from '../errors';
import { Bidirectional } from '../layers/bidirectional';
import { RecurrentLayer, WeightValues } from '../layers/recurrent';
import { toLengths } from '../sequences';
import { expectTensor, fromNative, Tensor, tensor } from '../tensor';
import { BackendName, expectBackendName } from '../backend';
import { native } from '../native';
import { saveModel } from '../io/tfjs-format';
import { Dense } from '../layers/dense';
import { Dropout } from '../layers/dropout';
import { Embedding, EmbeddingForward } from '../layers/embedding';
import { TimeDistributed } from '../layers/time-distributed';
import { checkCompileArgs, CompileArgs, evaluate, fit, FitOptions, History, TrainableLayer } from './fit';
import { isDense, isModelLayer, kerasClassName, layerName, ModelLayer, weightCount } from './layer-kinds';

export type { DenseLike, DenseLayerConfig, ModelLayer } from './layer-kinds';

/** Options of {@link Sequential.predict}. */
export interface PredictOptions {
  /** Largest number of samples run at once; larger inputs are split and the outputs concatenated. Default 32. */
  batchSize?: number;
  /**
   * Valid steps per sequence (right-padded input). They apply to every recurrent layer
   * while the output still has a sequence axis (recurrent layers with `returnSequences`,
   * and dense layers, keep it). When the first layer is an {@link Embedding} with
   * `maskZero`, the lengths its padding gives are used instead (as in `fit`).
   */
  lengths?: Int32Array | readonly number[];
}

/** A shape with an unknown (`null`) batch size and possibly unknown timesteps. */
export type SymbolicShape = (number | null)[];

let modelCounter = 0;

/**
 * A linear stack of layers (Keras / tfjs-layers `Sequential`). Each layer is a recurrent
 * layer, a {@link Bidirectional} wrapper, a dense layer (applied to the last axis), a
 * {@link TimeDistributed} dense layer, a {@link Dropout} layer, or (first only) an
 * {@link Embedding} of integer ids `[N, T]`. Inside a model a layer's single output feeds
 * the next; `returnState` is ignored. An embedding with `maskZero` gives the later
 * recurrent layers the lengths of its right-padded sequences.
 */
export class Sequential {
  /** The model's name (`sequential_<n>` unless given). */
  readonly name: string;
  private readonly stack: ModelLayer[] = [];
  private input: SymbolicShape | null = null;
  private disposed = false;

  /** @internal Use {@link sequential}. */
  constructor(layers: readonly ModelLayer[] = [], name?: string) {
    if (!Array.isArray(layers)) throw typeError(`sequential: layers must be an array of layers, got ${describe(layers)}`);
    if (name !== undefined && typeof name !== 'string') throw typeError('sequential: name must be a string');
    this.name = name ?? `sequential_${++modelCounter}`;
    layers.forEach((l) => this.add(l));
  }

  /** The layers, first to last (a copy of the list). */
  get layers(): ModelLayer[] {
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
    return this.input ? this.shapes(this.input).at(-1)! : null;
  }

  /** Whether {@link dispose} has been called; a disposed model cannot be used again. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Throws RNNKIT_DISPOSED when the model, or any of its layers, was disposed. */
  private assertLive(where: string): void {
    if (this.disposed) throw disposedError(`${this.name}.${where}`, 'model');
    const i = this.stack.findIndex((l) => l.isDisposed === true);
    if (i >= 0) throw disposedError(`${this.name}.${where}`, `layer '${layerName(this.stack[i]!)}' (layers[${i}])`);
  }

  /** Whether every layer has weights. */
  get built(): boolean {
    return this.input !== null && this.stack.length > 0 && this.stack.every((l) => l.built);
  }

  /**
   * Appends a layer. If it declares an input shape (`inputShape`/`batchInputShape`) and is
   * the first layer, the model is built at once.
   * @throws TypeError for something that is not a model layer, or an embedding that is
   *   not the first layer
   */
  add(layer: ModelLayer): void {
    this.assertLive('add');
    const i = this.stack.length;
    if (!isModelLayer(layer)) {
      throw typeError(
        `sequential: layers[${i}] must be a recurrent, bidirectional, dense, embedding, dropout or timeDistributed layer, got ${describe(layer)}`,
      );
    }
    if (layer instanceof Embedding && i > 0) {
      throw typeError(
        `sequential: layers[${i}] (${layer.name}): an Embedding layer must be the first layer of a model (it takes integer ids [batch, timesteps])`,
      );
    }
    if (this.stack.includes(layer)) throw typeError(`sequential: layers[${i}] (${layerName(layer)}) is already in the model`);
    if (this.stack.some((l) => layerName(l) === layerName(layer))) {
      throw typeError(`sequential: layers[${i}]: another layer is already named '${layerName(layer)}'; layer names in a model must be unique`);
    }
    const shape = this.input ? this.shapes(this.input).at(-1)! : null;
    if (shape) this.outputShapeOf(layer, shape, i); // throws if it cannot follow
    this.stack.push(layer);
    if (i === 0) {
      const declared = declaredInput(layer);
      if (declared) this.build(declared);
    } else if (this.input) {
      this.buildLayer(layer, shape!);
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
    if (!(this.stack[0] instanceof Embedding) && shape.at(-1) === null) {
      throw rangeError(`${this.name}.build: the last entry of inputShape (features) must be known`);
    }
    const shapes = this.shapes(shape);
    this.stack.forEach((l, i) => this.buildLayer(l, shapes[i]!));
    this.input = shape;
  }

  private buildLayer(layer: ModelLayer, shape: SymbolicShape): void {
    if (layer instanceof RecurrentLayer || layer instanceof Bidirectional) layer.build([null, shape[1] ?? null, shape[2]!]);
    else if (layer instanceof Embedding) layer.build(shape);
    else if (layer instanceof Dropout) return;
    else if (!layer.built) layer.build(shape);
  }

  /** Shapes flowing through the model: `[input, out_0, out_1, ...]`. */
  private shapes(input: SymbolicShape): SymbolicShape[] {
    const out: SymbolicShape[] = [input];
    this.stack.forEach((l, i) => out.push(this.outputShapeOf(l, out[i]!, i)));
    return out;
  }

  private outputShapeOf(l: ModelLayer, s: SymbolicShape, i: number): SymbolicShape {
    const where = `${this.name}: layer ${i} (${layerName(l)})`;
    const D = s.at(-1)!;
    if (l instanceof RecurrentLayer || l instanceof Bidirectional) {
      const r = l instanceof Bidirectional ? l.forwardLayer : l;
      if (s.length !== 3) {
        throw rangeError(`${where}: a ${kerasClassName(l)} layer needs input of rank 3 [batch, timesteps, features], but the previous output is [${fmt(s)}]`);
      }
      if (r.built && r.inputFeatures !== D) throw rangeError(`${where}: the layer was built for ${r.inputFeatures} features, but its input has ${D}`);
      const H = r.units * (l instanceof Bidirectional && l.mergeMode === 'concat' ? 2 : 1);
      return r.config.returnSequences ? [s[0]!, s[1]!, H] : [s[0]!, H];
    }
    if (l instanceof Embedding) {
      if (i !== 0) throw typeError(`${where}: an Embedding layer must be the first layer of a model`);
      if (s.length !== 2) throw rangeError(`${where}: an Embedding layer needs ids of rank 2 [batch, timesteps], got [${fmt(s)}]`);
      return [s[0]!, s[1]!, l.config.outputDim];
    }
    if (l instanceof Dropout) return [...s];
    if (l instanceof TimeDistributed && s.length !== 3) {
      throw rangeError(`${where}: a TimeDistributed layer needs input of rank 3 [batch, timesteps, features], but the previous output is [${fmt(s)}]`);
    }
    if (s.length < 2) throw rangeError(`${where}: a Dense layer needs input of rank >= 2, got [${fmt(s)}]`);
    if (l.built && l.inputFeatures !== D) throw rangeError(`${where}: the layer was built for ${l.inputFeatures} features, but its input has ${D}`);
    return [...s.slice(0, -1), l.units];
  }

  private requireBuilt(where: string): SymbolicShape {
    this.assertLive(where);
    if (!this.input || !this.built) {
      throw rnnkitError(
        'RNNKIT_INVALID_STATE',
        `${this.name}.${where}: the model is not built; give the first layer an inputShape, call build(inputShape), or run predict() first`,
      );
    }
    return this.input;
  }

  /** Number of weight values of all layers. */
  countParams(): number {
    this.requireBuilt('countParams');
    return this.stack.reduce((s, l) => s + l.countParams(), 0);
  }

  /**
   * A Keras-style table: each layer's name and type, output shape and parameter count,
   * then the totals ("Total params", "Trainable params", "Non-trainable params").
   * @throws Error when the model is not built
   */
  summary(): string {
    const input = this.requireBuilt('summary');
    const shapes = this.shapes(input);
    const widths = [33, 28, 12];
    const row = (cells: string[]) => cells.map((c, k) => (k < cells.length - 1 ? c.padEnd(widths[k]!) : c)).join('').trimEnd();
    const rule = (ch: string) => ch.repeat(widths.reduce((a, b) => a + b, 0));
    const lines = [`Model: "${this.name}"`, rule('_'), row(['Layer (type)', 'Output Shape', 'Param #']), rule('=')];
    let total = 0;
    this.stack.forEach((l, i) => {
      const n = l.countParams();
      total += n;
      const label = `${layerName(l)} (${kerasClassName(l)})`;
      lines.push(row([label.length >= widths[0]! ? label.slice(0, widths[0]! - 2) + ' ' : label, `(${shapes[i + 1]!.map((d) => (d === null ? 'None' : String(d))).join(', ')})`, String(n)]));
      lines.push(i === this.stack.length - 1 ? rule('=') : '');
    });
    // Every rnnkit weight is trainable.
    lines.push(`Total params: ${total}`, `Trainable params: ${total}`, 'Non-trainable params: 0', rule('_'));
    return lines.join('\n');
  }

  /**
   * Runs the model on `x` and returns the last layer's output. Inputs with more samples
   * than `batchSize` are run in slices of `batchSize` and the outputs concatenated.
   * Builds the model from `x`'s shape if needed.
   * @param x `[N, T, D]` (or `[N, D]` / `[N, ..., D]` when the first layer is dense, or
   *   integer ids `[N, T]` in `[0, inputDim)` when it is an embedding)
   * @throws TypeError/RangeError (as a rejected Promise) for malformed arguments; RangeError
   *   naming `x (ids)` for ids that are not integers in `[0, inputDim)`
   */
  async predict(x: Tensor, options: PredictOptions = {}): Promise<Tensor> {
    const where = `${this.name}.predict`;
    this.assertLive('predict');
    if (this.stack.length === 0) throw rnnkitError('RNNKIT_INVALID_STATE', `${where}: the model has no layers`);
    const input = expectTensor(x, `${where}: x`);
    const opts = expectObject(options, `${where}: options`);
    rejectUnknownOptions(opts, ['batchSize', 'lengths'], where);
    const batchSize = opts.batchSize === undefined ? 32 : opts.batchSize;
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1) {
      throw rangeError(`${where}: batchSize must be a positive integer, got ${describe(batchSize)}`);
    }
    const shape = input.shape;
    // A leading dropout takes whatever the layer after it takes.
    const first = this.stack.find((l) => !(l instanceof Dropout)) ?? this.stack[0]!;
    const embedded = first instanceof Embedding;
    const sequenceFirst = !isDense(first) && !embedded;
    if (embedded ? shape.length !== 2 : sequenceFirst ? shape.length !== 3 : shape.length < 2) {
      const want = embedded ? 'integer ids of rank 2 [batch, timesteps]' : sequenceFirst ? 'rank 3 [batch, timesteps, features]' : 'of rank >= 2 [batch, ..., features]';
      throw rangeError(`${where}: x must be ${want}, got [${shape.join(',')}]`);
    }
    if (first instanceof Embedding) checkIds(input, first.config.inputDim, `${where}: x (ids)`);
    if (this.input) {
      const want = this.input;
      const ok = want.length === shape.length && want.every((d, k) => k === 0 || d === null || d === shape[k]);
      if (!ok) throw rangeError(`${where}: x must have shape [${fmt(want, '?')}], got [${shape.join(',')}]`);
    }
    if (!this.built) this.build([null, ...shape.slice(1)]);
    const N = shape[0]!;
    let lengths: Int32Array | null = null;
    if (opts.lengths !== undefined) {
      if (!(shape.length === 3 || embedded) || !this.stack.some((l) => l instanceof RecurrentLayer || l instanceof Bidirectional)) {
        throw typeError(`${where}: lengths need a sequence input (rank 3, or ids for an embedding) to a model with recurrent layers`);
      }
      lengths = toLengths(opts.lengths, N, shape[1]!, `${where}: lengths`);
    }
    // A zero-element input is one batch, however large N is: slicing it would only loop.
    if (N <= batchSize || input.size === 0) return this.run(input, lengths);

    // Batches are sliced and their outputs joined on the input's device: nothing but the
    // row indices crosses to or from the host.
    const parts: Tensor[] = [];
    try {
      for (let s = 0; s < N; s += batchSize) {
        const e = Math.min(N, s + batchSize);
        const xb = fromNative(native.gatherRows(input.handle, Int32Array.from({ length: e - s }, (_, i) => s + i)));
        try {
          parts.push(await this.run(xb, lengths ? lengths.subarray(s, e) : null));
        } finally {
          xb.dispose();
        }
      }
      return fromNative(native.concatRows(parts.map((p) => p.handle)));
    } finally {
      for (const p of parts) p.dispose();
    }
  }

  /** One batch through every layer; intermediate tensors are freed. */
  private async run(x: Tensor, lengths: Int32Array | null): Promise<Tensor> {
    let cur = x;
    for (const layer of this.stack) {
      let next: Tensor;
      const opts = lengths && cur.shape.length === 3 ? { lengths } : {};
      if (layer instanceof Embedding) {
        const r = await layer.forward(cur);
        next = r.output;
        if (r instanceof EmbeddingForward && r.lengths) lengths = r.lengths;
        r.dispose();
      } else if (layer instanceof Dropout) {
        const r = await layer.forward(cur, { training: false });
        next = r.output;
        r.dispose();
      } else if (layer instanceof Bidirectional) {
        const r = await layer.forward(cur, opts);
        next = r.output;
        const temps = new Set([r.forwardPass.output, r.backwardPass.output, r.backwardAligned, ...r.states]);
        temps.delete(next);
        r.dispose();
        for (const t of temps) t.dispose();
      } else if (layer instanceof RecurrentLayer) {
        const r = await layer.forward(cur, opts);
        next = r.output;
        r.dispose();
        for (const s of r.states) s.dispose();
      } else {
        const r = await layer.forward(cur, {});
        next = r.output;
        r.dispose();
      }
      if (cur !== x) cur.dispose();
      cur = next;
    }
    return cur;
  }

  /** All layers' weights, first layer first, each layer's in its `getWeights()` order. */
  getWeights(): Tensor[] {
    this.requireBuilt('getWeights');
    return this.stack.flatMap((l) => l.getWeights());
  }

  /**
   * Replaces all layers' weights, given in {@link getWeights} order and shapes. Unbuilt
   * layers are built from their kernels.
   * @throws TypeError/RangeError naming the layer for a wrong number or shape of weights
   */
  setWeights(weights: readonly WeightValues[]): void {
    const where = `${this.name}.setWeights`;
    this.assertLive('setWeights');
    if (!Array.isArray(weights)) throw typeError(`${where}: weights must be an array of Tensors or Float32Arrays`);
    const counts = this.stack.map(weightCount);
    const total = counts.reduce((a, b) => a + b, 0);
    if (weights.length !== total) {
      throw rangeError(`${where}: expected ${total} weights (${this.stack.map((l, i) => `${layerName(l)}: ${counts[i]}`).join(', ')}), got ${weights.length}`);
    }
    let k = 0;
    this.stack.forEach((l, i) => {
      const ws = weights.slice(k, k + counts[i]!);
      try {
        l.setWeights(ws);
      } catch (e) {
        throw rethrow(e, `${where}: layer ${i} (${layerName(l)}), weights[${k}..${k + counts[i]! - 1}]`);
      }
      k += counts[i]!;
    });
    if (!this.input) {
      const first = this.stack[0]!;
      if (first instanceof Embedding) {
        this.build(declaredInput(first) ?? [null, null]);
        return;
      }
      const D =
        first instanceof Bidirectional
          ? first.forwardLayer.inputFeatures
          : first instanceof RecurrentLayer || first instanceof TimeDistributed
            ? first.inputFeatures
            : null;
      if (D) this.build(declaredInput(first) ?? [null, null, D]);
    }
  }

  /** Writes the model in the tfjs-layers format: `dir/model.json` and `dir/weights.bin`. */
  async save(dir: string): Promise<void> {
    this.assertLive('save');
    await saveModel(this, dir);
  }

  /** @internal Resolves once every layer's weights exist (large recurrent layers initialize on a worker). */
  async weightsReady(): Promise<void> {
    await Promise.all(this.stack.map((l) => (l instanceof RecurrentLayer || l instanceof Bidirectional ? l.weightsReady() : undefined)));
  }

  /** Clears the carried states of stateful layers. */
  resetStates(): void {
    for (const l of this.stack) if (l instanceof RecurrentLayer || l instanceof Bidirectional) l.resetStates();
  }

  /**
   * Moves every layer's weights (and carried states) to `backend` ('cpu' or 'cuda'), as
   * PyTorch's `model.to(device)`; later predict/fit/evaluate run there and take inputs on
   * that device. A compiled optimizer's state (momenta, moments) starts afresh for the moved
   * weights. Returns this model.
   * @throws TypeError for an unknown name; Error `RNNKIT_UNSUPPORTED` when unavailable
   */
  to(backend: BackendName): this {
    this.assertLive('to');
    const device = expectBackendName(backend, `${this.name}.to: backend`);
    for (const layer of this.stack) {
      if (!layer.to) throw rnnkitError('RNNKIT_UNSUPPORTED', `${this.name}.to: layer ${layerName(layer)} cannot move its weights (it has no to())`);
      layer.to(device);
    }
    return this;
  }

  /** Frees every layer's weights. Idempotent; any later use throws RNNKIT_DISPOSED. */
  dispose(): void {
    this.disposed = true;
    for (const l of this.stack) l.dispose();
  }

  private compiled: Required<CompileArgs> | null = null;

  /**
   * Sets the loss and the optimizer for {@link fit} and {@link evaluate}.
   * @throws TypeError for an unknown loss or an optimizer not made by rk.optimizers
   */
  compile(args: CompileArgs): void {
    this.assertLive('compile');
    this.compiled = checkCompileArgs(args);
  }

  private trainingStack(where: string): { layers: TrainableLayer[]; compiled: Required<CompileArgs> } {
    this.assertLive(where);
    if (!this.compiled) throw rnnkitError('RNNKIT_INVALID_STATE', `${where}: call compile({ loss, optimizer }) first`);
    const layers = this.stack.map((l, i) => {
      if (
        l instanceof RecurrentLayer ||
        l instanceof Bidirectional ||
        l instanceof Dense ||
        l instanceof Embedding ||
        l instanceof Dropout ||
        l instanceof TimeDistributed
      ) {
        return l;
      }
      throw typeError(`${where}: layers[${i}] (${layerName(l)}) cannot be trained`);
    });
    return { layers, compiled: this.compiled };
  }

  /**
   * Trains the model on (x, y): seeded shuffled batches, optional validation split,
   * callbacks and early stopping; a progress bar on a TTY (`verbose: 0` silences it).
   * @returns the per-epoch losses, as tfjs's History
   */
  async fit(x: Tensor, y: Tensor, options: FitOptions = {}): Promise<History> {
    const { layers, compiled } = this.trainingStack('fit');
    const input = expectTensor(x, 'fit: x');
    if (!this.built) this.build([null, ...input.shape.slice(1)]);
    await this.weightsReady();
    return fit(layers, compiled, input, y, options);
  }

  /** The compiled loss of the model on (x, y), averaged over the samples. */
  async evaluate(x: Tensor, y: Tensor, options: { batchSize?: number; lengths?: Int32Array | readonly number[] } = {}): Promise<number> {
    const { layers, compiled } = this.trainingStack('evaluate');
    await this.weightsReady();
    return evaluate(layers, compiled, x, y, options);
  }
}

function fmt(s: readonly (number | null)[], unknown = 'null'): string {
  return s.map((d) => (d === null ? unknown : String(d))).join(',');
}

/** The batch input shape a layer declares through `inputShape`/`batchInputShape`, if any. */
function declaredInput(l: ModelLayer): SymbolicShape | null {
  if (l instanceof Dropout) return null;
  const r = l instanceof Bidirectional ? l.forwardLayer : l;
  const s = r.config.batchInputShape;
  return s ? [...s] : null;
}

/** Checks that every id is an integer in `[0, inputDim)`. */
function checkIds(ids: Tensor, inputDim: number, name: string): void {
  const v = ids.dataSync();
  for (let k = 0; k < v.length; k++) {
    const id = v[k]!;
    if (!Number.isInteger(id) || id < 0 || id >= inputDim) {
      throw rangeError(`${name} must be integers in [0, ${inputDim}), got ${id} at flat index ${k}`);
    }
  }
}

/**
 * A linear stack of layers, as `tf.sequential`. Give the first layer an `inputShape`
 * (or call `build`) to build the model at once; otherwise the first `predict` builds it.
 * @throws TypeError if an entry is not a model layer, or an embedding is not the first
 */
export function sequential(layers: readonly ModelLayer[] = []): Sequential {
  return new Sequential(layers);
}
