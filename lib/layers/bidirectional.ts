import { disposedError, expectObject, optionalChoice, rangeError, rejectUnknownOptions, typeError } from '../errors';
import type { BackendName } from '../backend';
import { native } from '../native';
import { toLengths } from '../sequences';
import { expectShape, expectTensor, fromNative, Tensor } from '../tensor';
import {
  BackwardOptions,
  exportDirections,
  ForwardOptions,
  ForwardResult,
  Gradients,
  importDirections,
  RecurrentForward,
  RecurrentLayer,
  maskOptions,
  recurrentConfig,
  recurrentFromConfig,
  recurrentOutputShapes,
  recurrentPass,
  WeightFormat,
  WeightValues,
} from './recurrent';
import { get, isObj, JsonObject } from '../io/keras-config';
import { fileTypeError } from '../io/untrusted-files';
import { defaultLayerName, layerNameOption } from './base';
import { Layer, LayerPass, RunContext, Shape, shapeList } from './layer';
import { registerLayer } from './registry';
import { applyLayer, SymbolicTensor } from './symbolic';

/** How a bidirectional layer combines its two directions' outputs. */
export type MergeMode = 'concat' | 'sum' | 'mul' | 'ave';

/** Options of {@link bidirectional}. */
export interface BidirectionalLayerArgs {
  /** The recurrent layer to run in both directions; its configuration is copied for the backward one. */
  layer: RecurrentLayer;
  /** Default 'concat' (forward first). */
  mergeMode?: MergeMode;
  /** Layer name; default `bidirectional_<n>`. */
  name?: string;
}

/** The result of a bidirectional forward pass. */
export class BidirectionalForward implements ForwardResult {
  /** @internal */
  constructor(
    readonly output: Tensor,
    readonly states: Tensor[],
    /** @internal */ readonly layer: Bidirectional,
    /** @internal */ readonly forwardPass: RecurrentForward,
    /** @internal */ readonly backwardPass: RecurrentForward,
    /** @internal backward direction's output re-aligned to input positions */ readonly backwardAligned: Tensor,
    /** @internal */ readonly lengths: Int32Array | null,
  ) {}

  dispose(): void {
    this.forwardPass.dispose();
    this.backwardPass.dispose();
  }
}

/**
 * Runs a recurrent layer forward and a copy of it backward over the same input (Keras
 * `Bidirectional`). Weights, states and gradients list the forward layer first. The
 * backward layer's sequence output is re-aligned so position t holds the step that
 * consumed x[t] (with lengths, each sequence's valid steps only).
 */
export class Bidirectional implements Layer {
  /** The forward-direction layer (the one given). */
  readonly forwardLayer: RecurrentLayer;
  /** The backward-direction copy, with `goBackwards` flipped. */
  readonly backwardLayer: RecurrentLayer;
  readonly mergeMode: MergeMode;
  /** The layer's name. */
  readonly name: string;

  /** @internal Use {@link bidirectional}. */
  constructor(args: unknown) {
    const o = expectObject(args, 'layers.bidirectional: options');
    rejectUnknownOptions(o, ['layer', 'mergeMode', 'name'], 'layers.bidirectional');
    this.name = o.name === undefined ? defaultLayerName('bidirectional') : layerNameOption(o.name, 'bidirectional', 'layers.bidirectional');
    if (!(o.layer instanceof RecurrentLayer)) {
      throw typeError('layers.bidirectional: layer must be a recurrent layer (simpleRNN, lstm or gru)');
    }
    this.mergeMode = optionalChoice(o.mergeMode, 'layers.bidirectional: mergeMode', ['concat', 'sum', 'mul', 'ave'] as const, 'concat');
    this.forwardLayer = o.layer;
    const c = o.layer.config;
    const { cell, batchInputShape, ...rest } = c;
    void cell;
    const copy = {
      ...rest,
      name: `${c.name}_backward`,
      goBackwards: !c.goBackwards,
      seed: (c.seed + 104729) >>> 0,
      ...(batchInputShape ? { batchInputShape: batchInputShape as [number | null, number | null, number] } : {}),
    };
    if (c.cell !== 'lstm') delete (copy as { unitForgetBias?: boolean }).unitForgetBias;
    if (c.cell !== 'gru') delete (copy as { resetAfter?: boolean }).resetAfter;
    if (c.cell === 'simpleRNN') delete (copy as { recurrentActivation?: string }).recurrentActivation;
    this.backwardLayer = new RecurrentLayer(c.cell, copy);
    if (this.forwardLayer.built) this.backwardLayer.build([null, null, this.forwardLayer.inputFeatures]);
  }

  private get layers(): RecurrentLayer[] {
    return [this.forwardLayer, this.backwardLayer];
  }

  /** Whether either direction was disposed (every use then throws RNNKIT_DISPOSED). */
  get isDisposed(): boolean {
    return this.forwardLayer.isDisposed || this.backwardLayer.isDisposed;
  }

  private assertLive(where: string): void {
    if (this.isDisposed) throw disposedError(`bidirectional.${where}`, 'layer');
  }

  /** Whether both directions have weights. */
  get built(): boolean {
    return this.forwardLayer.built && this.backwardLayer.built;
  }

  /** Builds both directions for `[N | null, T | null, D]`. */
  build(inputShape: Shape | readonly Shape[]): void {
    this.assertLive('build');
    const shape = shapeList(inputShape)[0]!;
    for (const l of this.layers) l.build(shape);
  }

  /** @internal Resolves once both directions' weights exist (see RecurrentLayer.build). */
  async weightsReady(): Promise<void> {
    await Promise.all(this.layers.map((l) => l.weightsReady()));
  }

  /** Forward layer's weights, then the backward layer's (Keras order). */
  getWeights(): Tensor[] {
    this.assertLive('getWeights');
    return this.layers.flatMap((l) => l.getWeights());
  }

  /** Number of weight values of both directions. */
  countParams(): number {
    this.assertLive('countParams');
    return this.layers.reduce((s, l) => s + l.countParams(), 0);
  }

  /** Sets the forward layer's weights then the backward layer's, each in Keras layout. */
  setWeights(weights: readonly WeightValues[]): void {
    this.assertLive('setWeights');
    if (!Array.isArray(weights) || weights.length % 2 !== 0) {
      throw rangeError('bidirectional.setWeights: weights must hold the forward layer\'s weights then the backward layer\'s');
    }
    const half = weights.length / 2;
    this.forwardLayer.setWeights(weights.slice(0, half));
    this.backwardLayer.setWeights(weights.slice(half));
  }

  /** Loads PyTorch (`*_l0` and `*_l0_reverse`) or ONNX (`[2, …]` stacked) bidirectional weights. */
  importWeights(format: WeightFormat, weights: Readonly<Record<string, WeightValues>>): void {
    importDirections(this.layers, format, weights, 'bidirectional.importWeights');
  }

  /** Both directions' weights in PyTorch or ONNX layout and naming. */
  exportWeights(format: WeightFormat): Record<string, Tensor> {
    return exportDirections(this.layers, format, 'bidirectional.exportWeights');
  }

  /** Runs both directions and merges their outputs. `initialState` lists the forward layer's states first. */
  async forward(x: Tensor, options: ForwardOptions = {}): Promise<BidirectionalForward> {
    this.assertLive('forward');
    const opts = expectObject(options, 'bidirectional.forward: options');
    rejectUnknownOptions(opts, ['initialState', 'lengths', 'mask', 'training'], 'bidirectional.forward');
    const input = expectTensor(x, 'bidirectional.forward: x');
    const k = this.forwardLayer.stateCount;
    let fwInit: Tensor[] | undefined;
    let bwInit: Tensor[] | undefined;
    if (opts.initialState !== undefined) {
      const init = opts.initialState;
      if (!Array.isArray(init) || init.length !== 2 * k) {
        throw typeError(`bidirectional.forward: initialState must hold ${2 * k} Tensors (forward layer's states, then backward layer's)`);
      }
      fwInit = init.slice(0, k);
      bwInit = init.slice(k);
    }
    const lengths =
      opts.lengths === undefined || input.shape.length !== 3
        ? null
        : toLengths(opts.lengths, input.shape[0]!, input.shape[1]!, 'bidirectional.forward: lengths');
    const common = {
      ...(opts.lengths !== undefined ? { lengths: opts.lengths as Int32Array } : {}),
      ...(opts.mask !== undefined ? { mask: opts.mask as Uint8Array } : {}),
      ...(opts.training !== undefined ? { training: opts.training as boolean } : {}),
    };
    // With a mask the backward direction reverses the whole sequence (Keras), so does its re-alignment.
    const realign = opts.mask !== undefined ? null : lengths;
    const fw = await this.forwardLayer.forward(input, { ...common, ...(fwInit ? { initialState: fwInit } : {}) });
    const bw = await this.backwardLayer.forward(input, { ...common, ...(bwInit ? { initialState: bwInit } : {}) });
    const aligned = this.realigns() ? fromNative(native.reverseSequences(bw.output.handle, realign)) : bw.output;
    const output = this.merge(fw.output, aligned);
    return new BidirectionalForward(output, [...fw.states, ...bw.states], this, fw, bw, aligned, realign);
  }

  /**
   * Whether the second direction's sequence output needs re-aligning to input positions:
   * only when it returns sequences and runs backwards (it runs forwards when the wrapped
   * layer itself has goBackwards).
   */
  private realigns(): boolean {
    return this.backwardLayer.config.returnSequences && this.backwardLayer.config.goBackwards;
  }

  private merge(a: Tensor, b: Tensor): Tensor {
    switch (this.mergeMode) {
      case 'concat': return fromNative(native.concatLast([a.handle, b.handle]));
      case 'sum': return fromNative(native.add(a.handle, b.handle));
      case 'mul': return fromNative(native.multiply(a.handle, b.handle));
      case 'ave': {
        const sum = native.add(a.handle, b.handle);
        const ave = native.scale(sum, 0.5);
        sum.dispose();
        return fromNative(ave);
      }
    }
  }

  /** BPTT through both directions; gradients list the forward layer's first. */
  async backward(fwd: ForwardResult, options: BackwardOptions): Promise<Gradients> {
    const where = 'bidirectional.backward';
    this.assertLive('backward');
    if (!(fwd instanceof BidirectionalForward) || fwd.layer !== this) {
      throw typeError(`${where}: fwd must be the result of this layer's forward()`);
    }
    const opts = expectObject(options, `${where}: options`);
    rejectUnknownOptions(opts, ['dOutput', 'dStates'], where);
    const dOutput = expectTensor(opts.dOutput, `${where}: dOutput`);
    expectShape(dOutput, fwd.output.shape, `${where}: dOutput`);
    const k = this.forwardLayer.stateCount;
    const dStates = opts.dStates;
    if (dStates !== undefined && (!Array.isArray(dStates) || dStates.length !== 2 * k)) {
      throw typeError(`${where}: dStates must be an array of ${2 * k} Tensors (null for a zero gradient)`);
    }
    const H = this.forwardLayer.units;
    const [dFw, dBwAligned] = this.splitGradient(dOutput, fwd, H);
    const dBw = this.realigns() ? fromNative(native.reverseSequences(dBwAligned.handle, fwd.lengths)) : dBwAligned;
    const fwStates = (dStates as Tensor[] | undefined)?.slice(0, k);
    const bwStates = (dStates as Tensor[] | undefined)?.slice(k);
    const gf = await this.forwardLayer.backward(fwd.forwardPass, { dOutput: dFw, ...(fwStates ? { dStates: fwStates } : {}) });
    const gb = await this.backwardLayer.backward(fwd.backwardPass, { dOutput: dBw, ...(bwStates ? { dStates: bwStates } : {}) });
    const dInput = fromNative(native.add(gf.dInput.handle, gb.dInput.handle));
    for (const t of new Set([dFw, dBwAligned, dBw, gf.dInput, gb.dInput])) if (t !== dOutput) t.dispose();
    return {
      dInput,
      dInitialState: [...gf.dInitialState, ...gb.dInitialState],
      dWeights: [...gf.dWeights, ...gb.dWeights],
    };
  }

  /** For training loops: both directions' trainable weights, forward first. */
  trainableWeights(): Tensor[] {
    this.assertLive('trainableWeights');
    return [...this.forwardLayer.trainableWeights(), ...this.backwardLayer.trainableWeights()];
  }

  /** Re-packs both directions after an optimizer changed their weights. */
  weightsUpdated(): void {
    for (const l of this.layers) l.weightsUpdated();
  }

  /** @internal Backward with the gradients in {@link trainableWeights} order. */
  async backwardTrainable(fwd: BidirectionalForward, dOutput: Tensor, dStates: (Tensor | null)[] = []): Promise<{ dInput: Tensor; dWeights: Tensor[] }> {
    this.assertLive('backward');
    const k = this.forwardLayer.stateCount;
    const [dFw, dBwAligned] = this.splitGradient(dOutput, fwd, this.forwardLayer.units);
    const dBw = this.realigns() ? fromNative(native.reverseSequences(dBwAligned.handle, fwd.lengths)) : dBwAligned;
    const gf = await this.forwardLayer.backwardTrainable(fwd.forwardPass, dFw, dStates.length ? dStates.slice(0, k) : undefined);
    const gb = await this.backwardLayer.backwardTrainable(fwd.backwardPass, dBw, dStates.length ? dStates.slice(k) : undefined);
    const dInput = fromNative(native.add(gf.dInput.handle, gb.dInput.handle));
    for (const t of new Set([dFw, dBwAligned, dBw, gf.dInput, gb.dInput])) if (t !== dOutput) t.dispose();
    return { dInput, dWeights: [...gf.dWeights, ...gb.dWeights] };
  }

  private splitGradient(d: Tensor, fwd: BidirectionalForward, H: number): [Tensor, Tensor] {
    switch (this.mergeMode) {
      case 'concat': {
        const [a, b] = native.splitLast(d.handle, [H, H]);
        return [fromNative(a!), fromNative(b!)];
      }
      case 'sum': return [d, d];
      case 'mul':
        return [
          fromNative(native.multiply(d.handle, fwd.backwardAligned.handle)),
          fromNative(native.multiply(d.handle, fwd.forwardPass.output.handle)),
        ];
      case 'ave': {
        const half = fromNative(native.scale(d.handle, 0.5));
        return [half, half];
      }
    }
  }

  // ---- the Layer contract ----

  /** 'Bidirectional'. */
  readonly className = 'Bidirectional';
  /** One input. */
  readonly inputArity = 1;
  /** The wrapped layer's declared batch input shape, or null. */
  get declaredInputShape(): Shape | null {
    return this.forwardLayer.config.batchInputShape;
  }

  /** Calls the layer on a symbolic tensor (functional models). */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor | SymbolicTensor[] {
    this.assertLive('apply');
    return applyLayer(this, inputs);
  }

  /** `[output]`, or with `returnState` the output then both directions' states. */
  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const f = this.forwardLayer;
    const units = f.units * (this.mergeMode === 'concat' ? 2 : 1);
    const shapes = recurrentOutputShapes({ name: this.name, built: f.built, inputFeatures: f.inputFeatures }, f.config, inputShapes, units, f.stateCount);
    return f.config.returnState ? [shapes[0]!, ...shapes.slice(1), ...shapes.slice(1)] : shapes;
  }

  /** Runs both directions (see {@link forward}). */
  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const mask = context.masks[0] ?? null;
    const c = this.forwardLayer.config;
    // The backward direction's sequence output: with lengths its carried outputs at the
    // padding would be the first step's, where Keras's masked run (padding first) has none.
    const sameAsMask = !(c.returnSequences && (c.goBackwards || c.maskedOutput === 'carry'));
    const fwd = await this.forward(inputs[0]!, { training: context.training, ...maskOptions(mask, sameAsMask) });
    return recurrentPass(this, fwd, mask, c.returnSequences, c.returnState, context.training, (f, d, dStates) =>
      this.backwardTrainable(f as BidirectionalForward, d, dStates),
    );
  }

  /** Both directions' weight arrays. */
  weightCount(): number {
    return 2 * this.forwardLayer.weightCount();
  }
  /** `forward_<layer>/kernel`, ..., `backward_<layer>/kernel`, ... (tfjs's names). */
  weightNames(): string[] {
    const inner = this.forwardLayer.name;
    const names = this.forwardLayer.weightNames();
    return [...names.map((n) => `forward_${inner}/${n}`), ...names.map((n) => `backward_${inner}/${n}`)];
  }
  /** Every weight is trainable. */
  countTrainableParams(): number {
    return this.countParams();
  }
  /** The Keras config: `merge_mode` and the wrapped `layer`. */
  getConfig(): JsonObject {
    const c = this.forwardLayer.config;
    const inner = recurrentConfig({ ...c, batchInputShape: null });
    return {
      name: this.name,
      trainable: true,
      ...(c.batchInputShape ? { batch_input_shape: [...c.batchInputShape] } : {}),
      dtype: 'float32',
      merge_mode: this.mergeMode,
      layer: { class_name: this.forwardLayer.className, config: inner },
    };
  }

  /** Moves both directions' weights and carried states to `backend`; returns this layer. */
  to(backend: BackendName): this {
    for (const l of this.layers) l.to(backend);
    return this;
  }

  /** Clears carried states of stateful directions. */
  resetStates(): void {
    for (const l of this.layers) l.resetStates();
  }

  /** Frees both directions' weights. Idempotent; any later use throws RNNKIT_DISPOSED. */
  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}

/** Wraps a recurrent layer to run over the sequence in both directions. */
export function bidirectional(args: BidirectionalLayerArgs): Bidirectional {
  return new Bidirectional(args);
}

registerLayer('Bidirectional', (cfg, context) => {
  const where = context.where;
  const inner = get(cfg, 'layer');
  if (!isObj(inner)) throw fileTypeError(`${where}: config.layer is missing`);
  const innerClass = inner.class_name ?? inner.className;
  if (typeof innerClass !== 'string' || !['LSTM', 'GRU', 'SimpleRNN'].includes(innerClass)) {
    throw fileTypeError(`${where}: the wrapped layer must be LSTM, GRU or SimpleRNN, got ${typeof innerClass === 'string' ? `'${innerClass.slice(0, 40)}'` : 'nothing'}`);
  }
  if (!isObj(inner.config)) throw fileTypeError(`${where}: config.layer.config is missing`);
  const mode = get(cfg, 'merge_mode');
  if (mode === null) throw fileTypeError(`${where}: merge_mode null (a list of outputs) is not supported`);
  if (mode !== undefined && !['concat', 'sum', 'mul', 'ave'].includes(mode as string)) {
    throw fileTypeError(`${where}: merge_mode must be 'concat', 'sum', 'mul' or 'ave', got ${JSON.stringify(mode)?.slice(0, 40)}`);
  }
  const back = get(cfg, 'backward_layer');
  if (isObj(back) && (back.class_name ?? back.className) !== innerClass) {
    throw fileTypeError(`${where}: backward_layer must be the same kind of layer as layer (${innerClass}), got ${String(back.class_name ?? back.className).slice(0, 40)}`);
  }
  const wrapped = recurrentFromConfig(innerClass, inner.config, `${where} > ${innerClass}`, context.maskedOutput);
  const name = get(cfg, 'name');
  return bidirectional({ layer: wrapped, ...(mode !== undefined ? { mergeMode: mode as MergeMode } : {}), ...(typeof name === 'string' ? { name } : {}) });
});
