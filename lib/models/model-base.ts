/**
 * What sequential and functional models share: running their graph on data (in batches,
 * with masks), training and evaluation, weights, devices, files and disposal. A model is
 * a graph of layers speaking the Layer contract; nothing here knows a layer kind.
 */
import { BackendName, expectBackendName } from '../backend';
import { describe, disposedError, expectObject, rangeError, rejectUnknownOptions, rethrow, rnnkitError, typeError } from '../errors';
import { saveModel } from '../io/model-writer';
import { InputLayer } from '../layers/input-layer';
import type { Layer, WeightValues } from '../layers/layer';
import type { StepMask } from '../mask';
import { native } from '../native';
import { fromNative, Tensor } from '../tensor';
import { checkCompileArgs, CompileArgs, evaluate, fit, FitOptions, History, inputMasks, MaskOptions, tensorList } from './fit';
import { checkInputShapes, Graph } from './graph';

/** Options of `predict`. */
export interface PredictOptions extends MaskOptions {
  /** Largest number of samples run at once; larger inputs are split and the outputs concatenated. Default 32. */
  batchSize?: number;
}

/** A shape with an unknown (`null`) batch size and possibly unknown timesteps. */
export type SymbolicShape = (number | null)[];

/** The parts of a model common to {@link Sequential} and {@link LayersModel}. */
export abstract class ModelBase {
  protected disposed = false;
  private compiled: Required<CompileArgs> | null = null;

  constructor(
    /** The model's name. */
    readonly name: string,
  ) {}

  /** @internal tfjs's class name of the model in model.json. */
  abstract readonly topologyClass: 'Sequential' | 'Model';

  /** The layers that run, in order (without input layers for a Sequential model). */
  abstract get layers(): Layer[];

  /**
   * The graph, built for these input tensors when it can be (a Sequential model builds
   * from its first input); throws when the model cannot run.
   * @internal
   */
  protected abstract graphFor(xs: readonly Tensor[] | null, where: string): Graph;

  /** Whether {@link dispose} has been called; a disposed model cannot be used again. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Throws RNNKIT_DISPOSED when the model, or any of its layers, was disposed. */
  protected assertLive(where: string): void {
    if (this.disposed) throw disposedError(`${this.name}.${where}`, 'model');
    const layers = this.layers;
    const i = layers.findIndex((l) => l.isDisposed);
    if (i >= 0) throw disposedError(`${this.name}.${where}`, `layer '${layers[i]!.name}' (layers[${i}])`);
  }

  /** The layers with weights that can be listed, once each, in `getWeights` order. */
  protected weightLayers(): Layer[] {
    return this.layers.filter((l) => !(l instanceof InputLayer));
  }

  /**
   * A layer by name, or by index in {@link layers}.
   * @throws RangeError naming the layers there are
   */
  getLayer(nameOrIndex: string | number): Layer {
    this.assertLive('getLayer');
    const layers = this.layers;
    if (typeof nameOrIndex === 'number') {
      if (!Number.isInteger(nameOrIndex) || nameOrIndex < 0 || nameOrIndex >= layers.length) {
        throw rangeError(`${this.name}.getLayer: index must be an integer in [0, ${layers.length}), got ${nameOrIndex}`);
      }
      return layers[nameOrIndex]!;
    }
    if (typeof nameOrIndex !== 'string') throw typeError(`${this.name}.getLayer: give a layer name or index, got ${describe(nameOrIndex)}`);
    const found = layers.find((l) => l.name === nameOrIndex);
    if (!found) {
      const names = layers.map((l) => `'${l.name}'`);
      throw rangeError(`${this.name}.getLayer: no layer is named '${nameOrIndex.slice(0, 80)}'; the layers are ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}`);
    }
    return found;
  }

  /** Number of weight values of all layers. */
  countParams(): number {
    this.requireRunnable('countParams');
    return this.weightLayers().reduce((s, l) => s + l.countParams(), 0);
  }

  /** Throws when the model is not built. */
  protected abstract requireRunnable(where: string): void;

  /**
   * Runs the model on `x` (one tensor per input; a list for several inputs) and returns its
   * output (a list for several outputs). Inputs of more samples than `batchSize` run in
   * slices whose outputs are concatenated on the device.
   */
  async predict(x: Tensor | Tensor[], options: PredictOptions = {}): Promise<Tensor | Tensor[]> {
    const where = `${this.name}.predict`;
    this.assertLive('predict');
    const opts = expectObject(options, `${where}: options`);
    rejectUnknownOptions(opts, ['batchSize', 'lengths', 'mask'], where);
    const batchSize = opts.batchSize === undefined ? 32 : opts.batchSize;
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1) {
      throw rangeError(`${where}: batchSize must be a positive integer, got ${describe(batchSize)}`);
    }
    const graph0 = this.graphFor(null, where);
    const xs = tensorList(x, graph0.inputs.length, 'x', where);
    const N = xs[0]!.shape[0]!;
    xs.forEach((t, i) => {
      if (t.shape[0] !== N) throw rangeError(`${where}: every input must hold the same number of samples, got ${N} and ${t.shape[0]} (x[${i}])`);
    });
    const graph = this.graphFor(xs, where);
    checkInputShapes(graph, xs, where);
    this.checkRunnable(graph, xs, where);
    const masks = inputMasks(xs, opts as MaskOptions, where);
    await this.weightsReady();
    const single = (outs: Tensor[]) => (graph.outputs.length === 1 ? outs[0]! : outs);
    // A zero-element input is one batch, however large N is: slicing it would only loop.
    if (N <= batchSize || xs.some((t) => t.size === 0)) return single(await this.runBatch(graph, xs, masks));

    // Batches are sliced and their outputs joined on the inputs' device: nothing but the
    // row indices crosses to or from the host.
    const parts: Tensor[][] = [];
    try {
      for (let s = 0; s < N; s += batchSize) {
        const e = Math.min(N, s + batchSize);
        const idx = Int32Array.from({ length: e - s }, (_, i) => s + i);
        const xb = xs.map((t) => fromNative(native.gatherRows(t.handle, idx)));
        try {
          parts.push(await this.runBatch(graph, xb, masks.map((m) => m?.gather(idx) ?? null)));
        } finally {
          for (const t of xb) t.dispose();
        }
      }
      return single(graph.outputs.map((_, k) => fromNative(native.concatRows(parts.map((p) => p[k]!.handle)))));
    } finally {
      for (const p of parts) for (const t of p) t.dispose();
    }
  }

  /** Model-specific checks of the data before a run (ids of an embedding...). */
  protected checkRunnable(_graph: Graph, _xs: readonly Tensor[], _where: string): void {}

  private async runBatch(graph: Graph, xs: readonly Tensor[], masks: readonly (StepMask | null)[]): Promise<Tensor[]> {
    const pass = await graph.run(xs, masks, false);
    // Every output is the caller's own tensor: an input passed through, or an output listed
    // twice, is copied (batched runs concatenate into new tensors anyway).
    const outs = pass.outputs.map((o, i) => (xs.includes(o) || pass.outputs.indexOf(o) < i ? fromNative(native.scale(o.handle, 1)) : o));
    pass.dispose();
    return outs;
  }

  /** All layers' weights, each layer's in its `getWeights()` order, layers in {@link layers} order. */
  getWeights(): Tensor[] {
    this.requireRunnable('getWeights');
    return this.weightLayers().flatMap((l) => l.getWeights());
  }

  /**
   * Replaces all layers' weights, given in {@link getWeights} order and shapes.
   * @throws TypeError/RangeError naming the layer for a wrong number or shape of weights
   */
  setWeights(weights: readonly WeightValues[]): void {
    const where = `${this.name}.setWeights`;
    this.assertLive('setWeights');
    if (!Array.isArray(weights)) throw typeError(`${where}: weights must be an array of Tensors or Float32Arrays`);
    const layers = this.weightLayers();
    const counts = layers.map((l) => l.weightCount());
    const total = counts.reduce((a, b) => a + b, 0);
    if (weights.length !== total) {
      throw rangeError(`${where}: expected ${total} weights (${layers.map((l, i) => `${l.name}: ${counts[i]}`).join(', ')}), got ${weights.length}`);
    }
    let k = 0;
    layers.forEach((l, i) => {
      const ws = weights.slice(k, k + counts[i]!);
      try {
        l.setWeights(ws);
      } catch (e) {
        throw rethrow(e, `${where}: layer ${i} (${l.name}), weights[${k}..${k + counts[i]! - 1}]`);
      }
      k += counts[i]!;
    });
    this.weightsSet();
  }

  /** Called after setWeights (a Sequential model may now know its input shape). */
  protected weightsSet(): void {}

  /** Writes the model in the tfjs-layers format: `dir/model.json` and `dir/weights.bin`. */
  async save(dir: string): Promise<void> {
    this.assertLive('save');
    await saveModel(this, dir);
  }

  /** @internal Resolves once every layer's weights exist (large recurrent layers initialize on a worker). */
  async weightsReady(): Promise<void> {
    await Promise.all(this.layers.map((l) => l.weightsReady?.()));
  }

  /** Clears the carried states of stateful layers. */
  resetStates(): void {
    for (const l of this.layers) l.resetStates?.();
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
    for (const layer of this.layers) layer.to(device);
    return this;
  }

  /** Frees every layer's weights. Idempotent; any later use throws RNNKIT_DISPOSED. */
  dispose(): void {
    this.disposed = true;
    for (const l of this.layers) l.dispose();
  }

  /**
   * Sets the loss and the optimizer for {@link fit} and {@link evaluate}. With several
   * outputs, the loss applies to each and the total is their sum (Keras).
   * @throws TypeError for an unknown loss or an optimizer not made by rk.optimizers
   */
  compile(args: CompileArgs): void {
    this.assertLive('compile');
    this.compiled = checkCompileArgs(args);
  }

  private requireCompiled(where: string): Required<CompileArgs> {
    this.assertLive(where);
    if (!this.compiled) throw rnnkitError('RNNKIT_INVALID_STATE', `${where}: call compile({ loss, optimizer }) first`);
    return this.compiled;
  }

  /**
   * Trains the model on (x, y): seeded shuffled batches, optional validation split,
   * callbacks and early stopping; a progress bar on a TTY (`verbose: 0` silences it).
   * `x` and `y` are lists for several inputs or outputs.
   * @returns the per-epoch losses, as tfjs's History
   */
  async fit(x: Tensor | Tensor[], y: Tensor | Tensor[], options: FitOptions = {}): Promise<History> {
    const compiled = this.requireCompiled('fit');
    const graph = this.graphFor(null, 'fit');
    const xs = tensorList(x, graph.inputs.length, 'x', 'fit');
    const built = this.graphFor(xs, 'fit');
    await this.weightsReady();
    return fit(built, compiled, xs, y, options);
  }

  /** The compiled loss of the model on (x, y), averaged over the samples. */
  async evaluate(x: Tensor | Tensor[], y: Tensor | Tensor[], options: { batchSize?: number } & MaskOptions = {}): Promise<number> {
    const compiled = this.requireCompiled('evaluate');
    const graph = this.graphFor(null, 'evaluate');
    const built = this.graphFor(tensorList(x, graph.inputs.length, 'x', 'evaluate'), 'evaluate');
    await this.weightsReady();
    return evaluate(built, compiled, x, y, options);
  }

  /** @internal The graph as it runs now (for the file writers); throws when not built. */
  graph(where: string): Graph {
    this.requireRunnable(where);
    void where;
    return this.graphFor(null, where);
  }
}
