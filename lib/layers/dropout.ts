import { disposedError, expectObject, optionalBoolean, optionalInteger, rangeError, rejectUnknownOptions, typeError } from '../errors';
import { BackendName, expectBackendName } from '../backend';
import { native } from '../native';
import { expectTensor, fromNative, Tensor } from '../tensor';
import { baseConfig, get, JsonObject } from '../io/keras-config';
import { fileTypeError } from '../io/untrusted-files';
import { Layer, LayerPass, RunContext, Shape } from './layer';
import { registerLayer } from './registry';
import { applyLayer, SymbolicTensor } from './symbolic';

/** Options of {@link dropout}. */
export interface DropoutLayerArgs {
  /** Fraction of inputs set to zero while training, in [0, 1). */
  rate: number;
  /** Seed of the masks (each training pass draws a new one from it); default random. */
  seed?: number;
  name?: string;
}

let counter = 0;

/** The result of a dropout pass. */
export class DropoutForward {
  /** @internal */
  constructor(
    readonly output: Tensor,
    /** @internal */ readonly layer: Dropout,
    /** @internal the scaled mask of a training pass */ readonly mask: Tensor | null,
  ) {}

  /** Frees the mask; `output` stays the caller's. */
  dispose(): void {
    this.mask?.dispose();
  }
}

/**
 * Inverted dropout (Keras `Dropout`): while training, each input is zeroed with
 * probability `rate` and the rest scaled by 1/(1 - rate); otherwise the input passes
 * through (copied).
 */
export class Dropout implements Layer {
  readonly config: { readonly rate: number; readonly seed: number; readonly name: string };
  private passes = 0;
  private disposed = false;

  /** @internal Use {@link dropout}. */
  constructor(args: unknown) {
    const where = 'layers.dropout';
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, ['rate', 'seed', 'name'], where);
    if (typeof o.rate !== 'number') throw typeError(`${where}: rate must be a number`);
    if (!(o.rate >= 0 && o.rate < 1)) throw rangeError(`${where}: rate must be in [0, 1), got ${o.rate}`);
    const name = o.name === undefined ? `dropout_${++counter}` : o.name;
    if (typeof name !== 'string') throw typeError(`${where}: name must be a string`);
    this.config = { rate: o.rate, seed: optionalInteger(o.seed, `${where}: seed`, Math.floor(Math.random() * 0x7fffffff)), name };
  }

  get name(): string {
    return this.config.name;
  }
  /** Dropout has no weights. */
  get built(): boolean {
    return true;
  }
  /** Whether {@link dispose} has been called; a disposed layer cannot be used again. */
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** Throws RNNKIT_DISPOSED after dispose(): a disposed layer never silently rebuilds. */
  private assertLive(where: string): void {
    if (this.disposed) throw disposedError(`${this.name}.${where}`, 'layer');
  }
  build(): void {
    this.assertLive('build');
  }
  getWeights(): Tensor[] {
    this.assertLive('getWeights');
    return [];
  }
  setWeights(weights: readonly unknown[]): void {
    this.assertLive('setWeights');
    if (!Array.isArray(weights) || weights.length !== 0) throw rangeError(`${this.name}.setWeights: dropout has no weights`);
  }
  countParams(): number {
    this.assertLive('countParams');
    return 0;
  }

  async forward(x: Tensor, options: { training?: boolean } = {}): Promise<DropoutForward> {
    const where = `${this.name}.forward`;
    this.assertLive('forward');
    const input = expectTensor(x, `${where}: x`);
    const opts = expectObject(options, `${where}: options`);
    rejectUnknownOptions(opts, ['training'], where);
    const training = optionalBoolean(opts.training, `${where}: training`, false);
    if (!training || this.config.rate === 0) return new DropoutForward(fromNative(native.scale(input.handle, 1)), this, null);
    const r = native.dropout(input.handle, this.config.rate, this.config.seed + 7919 * ++this.passes);
    return new DropoutForward(fromNative(r.output), this, fromNative(r.mask));
  }

  /** Part of the {@link Layer} contract. */
  trainableWeights(): Tensor[] {
    this.assertLive('trainableWeights');
    return [];
  }
  /** Part of the {@link Layer} contract. */
  weightsUpdated(): void {}
  /** Nothing to move: a dropout layer holds no weights. Returns this layer. */
  to(backend: BackendName): this {
    expectBackendName(backend, `${this.name}.to: backend`);
    return this;
  }
  /** @internal */
  async backwardTrainable(fwd: DropoutForward, dOutput: Tensor): Promise<{ dInput: Tensor; dWeights: Tensor[] }> {
    this.assertLive('backward');
    const d = fwd.mask ? native.multiply(dOutput.handle, fwd.mask.handle) : native.scale(dOutput.handle, 1);
    return { dInput: fromNative(d), dWeights: [] };
  }

  // ---- the Layer contract ----

  /** 'Dropout'. */
  readonly className = 'Dropout';
  /** One input. */
  readonly inputArity = 1;
  /** Dropout declares no input shape. */
  readonly declaredInputShape: Shape | null = null;
  /** Calls the layer on a symbolic tensor (functional models). */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor | SymbolicTensor[] {
    this.assertLive('apply');
    return applyLayer(this, inputs);
  }
  /** The input's shape. */
  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    if (inputShapes.length !== 1) throw typeError(`${this.name}: takes one input, got ${inputShapes.length}`);
    return [[...inputShapes[0]!]];
  }
  /** Drops while training; the mask passes through. */
  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const fwd = await this.forward(inputs[0]!, { training: context.training });
    let used = false;
    return {
      outputs: [fwd.output],
      masks: [context.masks[0] ?? null],
      backward: async (dOutputs) => {
        if (used) throw typeError(`${this.name}: backward was already called for this pass`);
        used = true;
        const d = dOutputs[0] ?? fromNative(native.scale(fwd.output.handle, 0));
        const g = await this.backwardTrainable(fwd, d);
        if (d !== dOutputs[0]) d.dispose();
        return { dInputs: [g.dInput], dWeights: [] };
      },
      dispose: () => fwd.dispose(),
    };
  }
  weightCount(): number {
    return 0;
  }
  weightNames(): string[] {
    return [];
  }
  countTrainableParams(): number {
    return 0;
  }
  /** The Keras config. */
  getConfig(): JsonObject {
    return { ...baseConfig(this.name, null), rate: this.config.rate, noise_shape: null, seed: this.config.seed };
  }

  /** Idempotent; any later use throws RNNKIT_DISPOSED (as every layer). */
  dispose(): void {
    this.disposed = true;
  }
}

/** A dropout layer (active only in training passes). */
export function dropout(args: DropoutLayerArgs): Dropout {
  return new Dropout(args);
}

registerLayer('Dropout', (cfg, context) => {
  const noise = get(cfg, 'noise_shape');
  if (noise !== undefined && noise !== null) throw fileTypeError(`${context.where}: noise_shape is not supported`);
  const seed = get(cfg, 'seed');
  const name = get(cfg, 'name');
  return dropout({ rate: get(cfg, 'rate') as number, ...(typeof name === 'string' ? { name } : {}), ...(typeof seed === 'number' ? { seed } : {}) });
});
