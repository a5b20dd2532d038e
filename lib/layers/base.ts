/**
 * What most layers share: a name, the disposed check, `apply` on symbolic tensors, the
 * parts of the Layer contract a layer without weights answers trivially, and the common
 * option parsing (`name`, `inputShape`, `batchInputShape`).
 */
import type { BackendName } from '../backend';
import { describe, disposedError, rangeError, typeError } from '../errors';
import type { JsonObject } from '../io/keras-config';
import type { StepMask } from '../mask';
import type { Tensor } from '../tensor';
import { Layer, LayerPass, RunContext, Shape, shapeList, WeightValues } from './layer';
import { applyLayer, SymbolicTensor } from './symbolic';

const nameCounters = new Map<string, number>();

/** A fresh layer name in Keras's style: `<prefix>_<n>`, counted per prefix. */
export function defaultLayerName(prefix: string): string {
  const n = (nameCounters.get(prefix) ?? 0) + 1;
  nameCounters.set(prefix, n);
  return `${prefix}_${n}`;
}

/** The `name` option: a non-empty string, or a fresh `<prefix>_<n>`. */
export function layerNameOption(value: unknown, prefix: string, where: string): string {
  if (value === undefined) return defaultLayerName(prefix);
  if (typeof value !== 'string' || value.length === 0) throw typeError(`${where}: name must be a non-empty string, got ${describe(value)}`);
  return value;
}

/**
 * The batch input shape from the `inputShape` (without the batch axis) or
 * `batchInputShape` option, or null. `rank` fixes the rank without the batch axis when given.
 */
export function declaredInputOption(inputShape: unknown, batchInputShape: unknown, where: string, rank?: number): Shape | null {
  const check = (s: unknown, key: string, batch: boolean): (number | null)[] => {
    const ok =
      Array.isArray(s) &&
      s.length >= (batch ? 2 : 1) &&
      s.every((d, i) => d === null || (batch && i === 0 && d === null) || (typeof d === 'number' && Number.isInteger(d) && d >= 1));
    if (!ok) throw typeError(`${where}: ${key} must be an array of positive integers or null, got ${describe(s)}`);
    const shape = batch ? [...(s as (number | null)[])] : [null, ...(s as (number | null)[])];
    if (rank !== undefined && shape.length !== rank + 1) throw rangeError(`${where}: ${key} must describe rank-${rank} samples, got [${(s as unknown[]).join(', ')}]`);
    return shape;
  };
  if (batchInputShape !== undefined && batchInputShape !== null) return check(batchInputShape, 'batchInputShape', true);
  if (inputShape !== undefined && inputShape !== null) return check(inputShape, 'inputShape', false);
  return null;
}

/** A shape for a message: `[None, 20, 8]` as Keras prints it. */
export function formatShape(s: Shape): string {
  return `(${s.map((d) => (d === null ? 'None' : String(d))).join(', ')})`;
}

/**
 * A base for layers. Subclasses give `className`, `computeOutputShape`, `run` and
 * `getConfig`; layers with weights override the weight methods too.
 */
export abstract class LayerBase implements Layer {
  abstract readonly className: string;
  readonly inputArity: 1 | 'many' = 1;
  protected disposed = false;

  constructor(
    readonly name: string,
    readonly declaredInputShape: Shape | null = null,
  ) {}

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Throws RNNKIT_DISPOSED after dispose(). */
  protected assertLive(where: string): void {
    if (this.disposed) throw disposedError(`${this.name}.${where}`, 'layer');
  }

  /**
   * Calls the layer on symbolic tensors from `rk.input()` or other layers (functional
   * models): returns its output, or the list of its outputs when it has several.
   */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor | SymbolicTensor[] {
    this.assertLive('apply');
    return applyLayer(this, inputs);
  }

  abstract computeOutputShape(inputShapes: readonly Shape[]): Shape[];
  abstract run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass>;
  abstract getConfig(): JsonObject;

  get built(): boolean {
    return true;
  }
  /** Checks the shapes (a layer without weights has nothing to create). */
  build(inputShapes: Shape | readonly Shape[]): void {
    this.assertLive('build');
    this.computeOutputShape(shapeList(inputShapes));
  }
  getWeights(): Tensor[] {
    this.assertLive('getWeights');
    return [];
  }
  setWeights(weights: readonly WeightValues[]): void {
    this.assertLive('setWeights');
    if (!Array.isArray(weights) || weights.length !== 0) throw rangeError(`${this.name}.setWeights: the layer has no weights, got ${describe(weights)}`);
  }
  weightCount(): number {
    return 0;
  }
  weightNames(): string[] {
    return [];
  }
  countParams(): number {
    this.assertLive('countParams');
    return 0;
  }
  countTrainableParams(): number {
    return this.countParams();
  }
  trainableWeights(): Tensor[] {
    return [];
  }
  weightsUpdated(): void {}
  to(_backend: BackendName): this {
    this.assertLive('to');
    return this;
  }
  dispose(): void {
    this.disposed = true;
  }
}

/**
 * A pass that keeps nothing: its backward is given (closing over what it needs) and its
 * dispose frees the listed tensors it owns.
 */
export function simplePass(
  outputs: readonly Tensor[],
  masks: readonly (StepMask | null)[],
  backward: (dOutputs: readonly (Tensor | null)[]) => Promise<{ dInputs: (Tensor | null)[]; dWeights: Tensor[] }>,
  owned: readonly Tensor[] = [],
): LayerPass {
  let used = false;
  return {
    outputs,
    masks,
    backward(dOutputs) {
      if (used) throw typeError('backward: this pass was already differentiated');
      used = true;
      return backward(dOutputs);
    },
    dispose() {
      for (const t of owned) t.dispose();
    },
  };
}
