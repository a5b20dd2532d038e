import { describe, disposedError, expectObject, optionalBoolean, optionalInteger, positiveInteger, rangeError, rejectUnknownOptions, rnnkitError, typeError } from '../errors';
import { initializerDraw, InitializerSpec, validateInitializer } from '../initializers';
import { initNow } from './weight-init';
import { BackendName, expectBackendName, getBackend } from '../backend';
import { native } from '../native';
import { expectShape, expectTensor, fromNative, Tensor, tensor } from '../tensor';
import type { WeightValues } from './layer';
import { baseConfig, declaredShape, get, JsonObject, kerasInitializer, optBool } from '../io/keras-config';
import { fileTypeError } from '../io/untrusted-files';
import { StepMask } from '../mask';
import { formatShape } from './base';
import { Layer, LayerPass, RunContext, Shape } from './layer';
import { registerLayer } from './registry';
import { applyLayer, SymbolicTensor } from './symbolic';

/** Options of {@link embedding} (tfjs-layers names, Keras defaults). */
export interface EmbeddingLayerArgs {
  /** Vocabulary size: ids are integers in [0, inputDim). */
  inputDim: number;
  /** Size of each embedding vector. */
  outputDim: number;
  /**
   * Treat id 0 as padding, as Keras: every step whose id is 0 is masked wherever it is
   * (front padding from Keras's `pad_sequences`, holes), and later recurrent layers skip it.
   * Right-padded batches run as per-sequence lengths. Default false.
   */
  maskZero?: boolean;
  /** Default randomUniform in [-0.05, 0.05] (Keras 'uniform'). */
  embeddingsInitializer?: InitializerSpec;
  /** Timesteps of the input, when fixed; with it, `[inputLength]` is the input shape. */
  inputLength?: number;
  /** Input shape without the batch axis: `[timesteps | null]`. */
  inputShape?: readonly (number | null)[];
  seed?: number;
  name?: string;
}

/** Resolved configuration of an {@link Embedding} layer. */
export interface EmbeddingConfig {
  readonly inputDim: number;
  readonly outputDim: number;
  readonly maskZero: boolean;
  readonly embeddingsInitializer: InitializerSpec;
  readonly batchInputShape: readonly (number | null)[] | null;
  readonly seed: number;
  readonly name: string;
}

let counter = 0;

/** The result of an embedding lookup. */
export class EmbeddingForward {
  /** @internal */
  constructor(
    /** `[N, T, outputDim]`. */
    readonly output: Tensor,
    /** With maskZero: each sequence's length (position of its first 0 id). */
    readonly lengths: Int32Array | null,
    /** @internal */ readonly layer: Embedding,
    /** @internal */ readonly ids: Tensor,
  ) {}

  /** Nothing of its own to free; `output` stays the caller's. */
  dispose(): void {}
}

/**
 * Maps integer ids `[N, T]` to vectors `[N, T, outputDim]` (Keras `Embedding`). With
 * `maskZero`, id 0 is padding and right-padded sequences get per-sequence lengths that
 * later recurrent layers use.
 */
export class Embedding implements Layer {
  readonly config: EmbeddingConfig;
  private table: Tensor | null = null;
  private disposed = false;

  /** @internal Use {@link embedding}. */
  constructor(args: unknown) {
    const where = 'layers.embedding';
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, ['inputDim', 'outputDim', 'maskZero', 'embeddingsInitializer', 'inputLength', 'inputShape', 'seed', 'name'], where);
    const name = o.name === undefined ? `embedding_${++counter}` : o.name;
    if (typeof name !== 'string') throw typeError(`${where}: name must be a string`);
    let batchInputShape: (number | null)[] | null = null;
    if (o.inputLength !== undefined) batchInputShape = [null, positiveInteger(o.inputLength, `${where}: inputLength`)];
    if (o.inputShape !== undefined) {
      const s = o.inputShape;
      if (!Array.isArray(s) || s.length !== 1 || !(s[0] === null || (Number.isInteger(s[0]) && s[0] >= 1))) {
        throw typeError(`${where}: inputShape must be [timesteps | null], got ${describe(s)}`);
      }
      batchInputShape = [null, s[0] as number | null];
    }
    this.config = {
      inputDim: positiveInteger(o.inputDim, `${where}: inputDim`),
      outputDim: positiveInteger(o.outputDim, `${where}: outputDim`),
      maskZero: optionalBoolean(o.maskZero, `${where}: maskZero`, false),
      embeddingsInitializer:
        o.embeddingsInitializer === undefined ? 'randomUniform' : validateInitializer(o.embeddingsInitializer, `${where}: embeddingsInitializer`),
      batchInputShape,
      seed: optionalInteger(o.seed, `${where}: seed`, Math.floor(Math.random() * 0x7fffffff)),
      name,
    };
    if (batchInputShape) this.build(batchInputShape);
  }

  get name(): string {
    return this.config.name;
  }
  get built(): boolean {
    return this.table !== null;
  }
  /** Whether {@link dispose} has been called; a disposed layer cannot be used again. */
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** Throws RNNKIT_DISPOSED after dispose(): a disposed layer never silently rebuilds. */
  private assertLive(where: string): void {
    if (this.disposed) throw disposedError(`${this.name}.${where}`, 'layer');
  }

  /** Creates the table `[inputDim, outputDim]`; the input shape is `[N | null, T | null]`. */
  build(_inputShape?: Shape | readonly Shape[]): void {
    this.assertLive('build');
    if (this.table) return;
    const { inputDim, outputDim, seed } = this.config;
    const shape = [inputDim, outputDim];
    this.table = initNow([{ shape, parts: [initializerDraw(this.config.embeddingsInitializer, shape, seed)] }])[0]!;
  }

  /** `[embeddings [inputDim, outputDim]]`, as a copy. */
  getWeights(): Tensor[] {
    this.assertLive('getWeights');
    if (!this.table) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.name}.getWeights: the layer is not built`);
    return [this.table.to(this.table.device as BackendName)];
  }

  setWeights(weights: readonly WeightValues[]): void {
    const where = `${this.name}.setWeights`;
    this.assertLive('setWeights');
    const shape = [this.config.inputDim, this.config.outputDim];
    if (!Array.isArray(weights) || weights.length !== 1) throw rangeError(`${where}: expected 1 weight (embeddings [${shape.join(',')}])`);
    const w = weights[0];
    let next: Tensor;
    if (w instanceof Float32Array) {
      if (w.length !== shape[0]! * shape[1]!) throw rangeError(`${where}: embeddings must have ${shape[0]! * shape[1]!} values, got ${w.length}`);
      next = tensor(w, shape);
    } else {
      const t = expectTensor(w, `${where}: weights[0]`);
      expectShape(t, shape, `${where}: weights[0] (embeddings)`);
      next = t.to(getBackend());
    }
    this.table?.dispose();
    this.table = next;
  }

  countParams(): number {
    this.assertLive('countParams');
    return this.config.inputDim * this.config.outputDim;
  }

  /** Looks up `ids` `[N, T]` (integers as float32). */
  async forward(ids: Tensor, options: { training?: boolean } = {}): Promise<EmbeddingForward> {
    const where = `${this.name}.forward`;
    this.assertLive('forward');
    const x = expectTensor(ids, `${where}: ids`);
    rejectUnknownOptions(expectObject(options, `${where}: options`), ['training'], where);
    if (x.shape.length !== 2) throw rangeError(`${where}: ids must be rank 2 [batch, timesteps], got [${x.shape.join(',')}]`);
    this.build();
    const r = native.embeddingForward(this.table!.handle, x.handle);
    return new EmbeddingForward(fromNative(r.output), this.config.maskZero ? r.lengths : null, this, x);
  }

  /** For training loops. */
  trainableWeights(): Tensor[] {
    this.build();
    return [this.table!];
  }

  /** Part of the {@link Layer} contract. */
  weightsUpdated(): void {}

  /** @internal The table's gradient; ids have none (a zero tensor stands for it). */
  async backwardTrainable(fwd: EmbeddingForward, dOutput: Tensor): Promise<{ dInput: Tensor; dWeights: Tensor[] }> {
    this.assertLive('backward');
    if (!(fwd instanceof EmbeddingForward) || fwd.layer !== this) throw typeError(`${this.name}.backward: fwd must come from this layer`);
    const dTable = fromNative(native.embeddingBackward(fwd.ids.handle, dOutput.handle, [this.config.inputDim, this.config.outputDim]));
    return { dInput: tensor(new Float32Array(fwd.ids.size), fwd.ids.shape, { device: fwd.ids.device as BackendName }), dWeights: [dTable] };
  }

  // ---- the Layer contract ----

  /** 'Embedding'. */
  readonly className = 'Embedding';
  /** One input: ids `[N, T]`. */
  readonly inputArity = 1;
  /** The batch input shape its `inputShape`/`inputLength` option declared, or null. */
  get declaredInputShape(): Shape | null {
    return this.config.batchInputShape;
  }
  /** Calls the layer on a symbolic tensor of ids (functional models). */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor | SymbolicTensor[] {
    this.assertLive('apply');
    return applyLayer(this, inputs);
  }
  /** `[N, T]` → `[N, T, outputDim]`. */
  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const s = inputShapes[0];
    if (inputShapes.length !== 1 || !s) throw typeError(`${this.name}: takes one input, got ${inputShapes.length}`);
    if (s.length !== 2) throw rangeError(`${this.name}: an Embedding layer needs ids of rank 2 [batch, timesteps], got ${formatShape(s)}`);
    return [[s[0]!, s[1]!, this.config.outputDim]];
  }
  /**
   * Looks up the ids; with maskZero the output carries the mask of the non-zero ids
   * (combined with an incoming mask).
   */
  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const ids = inputs[0]!;
    if (ids.shape.length === 2) checkIds(ids, this.config.inputDim, `${this.name}: ids`);
    const fwd = await this.forward(ids, { training: context.training });
    const incoming = context.masks[0] ?? null;
    const own = this.config.maskZero ? nonZeroMask(ids) : null;
    const mask = own && incoming ? own.and(incoming) : (own ?? incoming);
    let used = false;
    return {
      outputs: [fwd.output],
      masks: [mask],
      backward: async (dOutputs) => {
        if (!context.training) throw typeError(`${this.name}: backward needs a pass run with training: true`);
        if (used) throw typeError(`${this.name}: backward was already called for this pass`);
        used = true;
        const d = dOutputs[0];
        if (!d) return { dInputs: [null], dWeights: [fromNative(native.scale(this.table!.handle, 0))] };
        const g = await this.backwardTrainable(fwd, d);
        g.dInput.dispose();
        return { dInputs: [null], dWeights: g.dWeights };
      },
      dispose: () => fwd.dispose(),
    };
  }
  weightCount(): number {
    return 1;
  }
  /** `embeddings`. */
  weightNames(): string[] {
    return ['embeddings'];
  }
  countTrainableParams(): number {
    return this.countParams();
  }
  /** The Keras config. */
  getConfig(): JsonObject {
    const c = this.config;
    return {
      ...baseConfig(c.name, c.batchInputShape ? [...c.batchInputShape] : null),
      input_dim: c.inputDim,
      output_dim: c.outputDim,
      embeddings_initializer: kerasInitializer(c.embeddingsInitializer, 'randomUniform'),
      embeddings_regularizer: null,
      activity_regularizer: null,
      embeddings_constraint: null,
      mask_zero: c.maskZero,
      input_length: c.batchInputShape?.[1] ?? null,
    };
  }

  /**
   * Moves the weights to `backend` ('cpu' or 'cuda'); later passes run there. An unbuilt
   * layer is built where the backend is current at its build. Returns this layer.
   * @throws TypeError for an unknown name; Error `RNNKIT_UNSUPPORTED` when unavailable
   */
  to(backend: BackendName): this {
    this.assertLive('to');
    const device = expectBackendName(backend, `${this.name}.to: backend`);
    if (this.table) {
      const next = this.table.to(device);
      this.table.dispose();
      this.table = next;
    }
    return this;
  }

  /** Frees the table. Idempotent; any later use throws RNNKIT_DISPOSED. */
  dispose(): void {
    this.disposed = true;
    this.table?.dispose();
    this.table = null;
  }
}

/** An embedding lookup layer (Keras `Embedding`). */
export function embedding(args: EmbeddingLayerArgs): Embedding {
  return new Embedding(args);
}

/** @internal The mask of the non-zero ids `[N, T]` (Keras's mask_zero). */
export function nonZeroMask(ids: Tensor): StepMask {
  const [N, T] = ids.shape as [number, number];
  const v = ids.dataSync();
  const valid = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) valid[i] = v[i] !== 0 ? 1 : 0;
  return StepMask.fromValid(valid, N, T);
}

/** @internal Checks that every id is an integer in `[0, inputDim)`. */
export function checkIds(ids: Tensor, inputDim: number, name: string): void {
  const v = ids.dataSync();
  for (let k = 0; k < v.length; k++) {
    const id = v[k]!;
    if (!Number.isInteger(id) || id < 0 || id >= inputDim) {
      throw rangeError(`${name} must be integers in [0, ${inputDim}), got ${id} at flat index ${k}`);
    }
  }
}

registerLayer('Embedding', (cfg, context) => {
  const where = context.where;
  const length = get(cfg, 'input_length');
  if (length !== undefined && length !== null && !(typeof length === 'number' && Number.isInteger(length) && length >= 1)) {
    throw fileTypeError(`${where}: input_length must be a positive integer or null`);
  }
  const declared = declaredShape(cfg, where);
  if (declared && declared.length !== 2) throw fileTypeError(`${where}: batch_input_shape must be [batch, timesteps], got [${declared.join(', ')}]`);
  const maskZero = optBool(cfg, 'mask_zero', where);
  const name = get(cfg, 'name');
  return embedding({
    inputDim: get(cfg, 'input_dim') as number,
    outputDim: get(cfg, 'output_dim') as number,
    ...(typeof name === 'string' ? { name } : {}),
    seed: 0,
    ...(maskZero !== undefined ? { maskZero } : {}),
  });
});
