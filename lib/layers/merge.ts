/**
 * The merge layers: Concatenate, Add, Multiply and Average. Each takes two or more inputs
 * (`inputArity = 'many'`) and shares one implementation; the numerics run natively.
 */
import { describe, expectObject, optionalInteger, rangeError, rejectUnknownOptions, typeError } from '../errors';
import { baseConfig, get, type JsonObject, type Obj } from '../io/keras-config';
import { StepMask } from '../mask';
import { native } from '../native';
import { fromNative, type Tensor } from '../tensor';
import { formatShape, LayerBase, layerNameOption, simplePass } from './base';
import type { LayerPass, RunContext, Shape } from './layer';
import { registerLayer, type FromConfigContext } from './registry';
import { checkOutputGradient, checkRun, commonFromConfig, layerFromFile, notTrainingError, zeros } from './layer-helpers';

/** Options of {@link add}, {@link multiply} and {@link average}. */
export interface MergeLayerArgs {
  /** Layer name; default `<kind>_<n>` (`add_1`). */
  name?: string;
}

/** Options of {@link concatenate} (tfjs-layers names, Keras defaults). */
export interface ConcatenateLayerArgs {
  /**
   * The axis to join along, counted with the batch axis (negative: from the end); default
   * -1. Any axis but the batch axis: the features (-1) and the time axis (1) of sequences.
   */
  axis?: number;
  /** Layer name; default `concatenate_<n>`. */
  name?: string;
}

function checkInputShapes(inputShapes: readonly Shape[], where: string): void {
  if (!Array.isArray(inputShapes) || inputShapes.length < 2) {
    throw typeError(`${where}: takes a list of at least 2 input shapes, got ${Array.isArray(inputShapes) ? inputShapes.length : describe(inputShapes)}`);
  }
  inputShapes.forEach((s, i) => {
    if (!Array.isArray(s)) throw typeError(`${where}: inputShapes[${i}] must be an array, got ${describe(s)}`);
  });
}

/** The mask of each output step valid where every given mask is (null: no input has one). */
function andMasks(masks: readonly (StepMask | null)[]): StepMask | null {
  let out: StepMask | null = null;
  for (const m of masks) if (m) out = out ? out.and(m) : m;
  return out;
}

/**
 * The base of the merge layers: two or more inputs, no weights, masks combined with a
 * logical and (Keras's merge `compute_mask`).
 */
export abstract class Merge extends LayerBase {
  override readonly inputArity = 'many' as const;

  /** @internal */
  constructor(args: unknown, prefix: string, extra: readonly string[], where: string) {
    const o = expectObject(args === undefined ? {} : args, `${where}: options`);
    rejectUnknownOptions(o, ['name', ...extra], where);
    super(layerNameOption(o.name, prefix, where));
  }

  getConfig(): JsonObject {
    return baseConfig(this.name, null);
  }
}

/** Add, Multiply, Average: elementwise over inputs of one shape. */
abstract class ElementwiseMerge extends Merge {
  protected abstract readonly kind: 'add' | 'multiply' | 'average';

  /**
   * The common shape of the inputs (an unknown axis takes a known one).
   * @throws RangeError naming the shapes when they differ (Keras broadcasts a batch of 1; rnnkit does not)
   */
  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const where = `${this.name}.computeOutputShape`;
    checkInputShapes(inputShapes, where);
    const out = [...inputShapes[0]!];
    for (const s of inputShapes) {
      const same = s.length === out.length && s.every((d, i) => d === null || out[i] === null || d === out[i]);
      if (!same) {
        throw rangeError(
          `${this.name}: inputs must all have one shape, got ${inputShapes.map(formatShape).join(', ')} (rnnkit does not broadcast between inputs)`,
        );
      }
      s.forEach((d, i) => {
        if (out[i] === null) out[i] = d;
      });
    }
    return [out];
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const where = `${this.name}.run`;
    this.assertLive('run');
    const { inputs: xs, training, masks } = checkRun(where, inputs, context, 'many');
    this.computeOutputShape(xs.map((x) => x.shape));
    const kind = this.kind;
    const device = xs[0]!.device;
    const y = fromNative(await native.merge(kind, xs.map((x) => x.handle)));
    const shape = [...y.shape];
    return simplePass([y], [andMasks(masks)], async (dOutputs) => {
      const at = `${this.name}.backward`;
      if (!training) throw notTrainingError(at);
      const dy = checkOutputGradient(at, dOutputs, shape);
      // Multiply needs the inputs: the caller's tensors, kept (not copied) as Dense keeps its input.
      const inputs = kind === 'multiply' ? xs.map((x) => x.handle) : xs.length;
      const dxs = dy ? (await native.mergeBackward(kind, inputs, dy.handle)).map(fromNative) : xs.map(() => zeros(shape, device));
      return { dInputs: dxs, dWeights: [] };
    });
  }
}

/** Keras `Add`: the elementwise sum of its inputs; each input's gradient is dOutput. */
export class Add extends ElementwiseMerge {
  readonly className = 'Add';
  protected readonly kind = 'add' as const;

  /** @internal Use {@link add}. */
  constructor(args: MergeLayerArgs = {}) {
    super(args, 'add', [], 'layers.add');
  }
}

/** Keras `Multiply`: the elementwise product; each input's gradient is dOutput times the others. */
export class Multiply extends ElementwiseMerge {
  readonly className = 'Multiply';
  protected readonly kind = 'multiply' as const;

  /** @internal Use {@link multiply}. */
  constructor(args: MergeLayerArgs = {}) {
    super(args, 'multiply', [], 'layers.multiply');
  }
}

/** Keras `Average`: the elementwise mean; each input's gradient is dOutput / k. */
export class Average extends ElementwiseMerge {
  readonly className = 'Average';
  protected readonly kind = 'average' as const;

  /** @internal Use {@link average}. */
  constructor(args: MergeLayerArgs = {}) {
    super(args, 'average', [], 'layers.average');
  }
}

/**
 * Keras `Concatenate`: joins its inputs along `axis` (any axis but the batch axis); the
 * other axes must match. Its gradient splits dOutput back. Masks: joined along the time
 * axis (a missing one as all valid) when concatenating steps, else combined by a logical and.
 */
export class Concatenate extends Merge {
  readonly className = 'Concatenate';
  /** The axis as given (negative counts from the end). */
  readonly axis: number;

  /** @internal Use {@link concatenate}. */
  constructor(args: ConcatenateLayerArgs = {}) {
    const where = 'layers.concatenate';
    super(args, 'concatenate', ['axis'], where);
    const axis = optionalInteger((args as { axis?: unknown } | undefined)?.axis, `${where}: axis`, -1);
    if (axis === 0) throw rangeError(`${where}: axis 0 is the batch axis; concatenate along another axis (e.g. -1 or 1)`);
    this.axis = axis;
  }

  /** The axis for inputs of `rank` (with the batch axis). @throws RangeError when it is outside or the batch axis */
  private resolveAxis(rank: number): number {
    const a = this.axis < 0 ? this.axis + rank : this.axis;
    if (a < 0 || a >= rank) throw rangeError(`${this.name}: axis ${this.axis} is outside inputs of rank ${rank}`);
    if (a === 0) throw rangeError(`${this.name}: axis ${this.axis} is the batch axis of inputs of rank ${rank}; concatenating samples is not supported`);
    return a;
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    checkInputShapes(inputShapes, `${this.name}.computeOutputShape`);
    const rank = inputShapes[0]!.length;
    const a = this.resolveAxis(rank);
    const out = [...inputShapes[0]!];
    let joined: number | null = 0;
    for (const s of inputShapes) {
      const same = s.length === rank && s.every((d, i) => i === a || d === null || out[i] === null || d === out[i]);
      if (!same) {
        throw rangeError(
          `${this.name}: inputs must have one shape except along axis ${this.axis}, got ${inputShapes.map(formatShape).join(', ')}`,
        );
      }
      s.forEach((d, i) => {
        if (i !== a && out[i] === null) out[i] = d;
      });
      joined = joined === null || s[a] === null ? null : joined + s[a]!;
    }
    out[a] = joined;
    return [out];
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const where = `${this.name}.run`;
    this.assertLive('run');
    const { inputs: xs, training, masks } = checkRun(where, inputs, context, 'many');
    this.computeOutputShape(xs.map((x) => x.shape));
    const a = this.resolveAxis(xs[0]!.shape.length);
    const y = fromNative(await native.concatAxis(xs.map((x) => x.handle), a));
    const shape = [...y.shape];
    const sizes = xs.map((x) => x.shape[a]!);
    const inShapes = xs.map((x) => [...x.shape]);
    const device = xs[0]!.device;
    const mask = a === 1 ? joinMasks(masks, xs) : andMasks(masks);
    return simplePass([y], [mask], async (dOutputs) => {
      const at = `${this.name}.backward`;
      if (!training) throw notTrainingError(at);
      const dy = checkOutputGradient(at, dOutputs, shape);
      const dxs = dy ? (await native.splitAxis(dy.handle, a, sizes)).map(fromNative) : inShapes.map((s) => zeros(s, device));
      return { dInputs: dxs, dWeights: [] };
    });
  }

  override getConfig(): JsonObject {
    return { ...super.getConfig(), axis: this.axis };
  }
}

/** Masks of inputs joined along their time axis; a missing one counts as all valid (Keras). */
function joinMasks(masks: readonly (StepMask | null)[], xs: readonly Tensor[]): StepMask | null {
  if (masks.every((m) => m === null)) return null;
  const N = xs[0]!.shape[0]!;
  const T = xs.reduce((s, x) => s + x.shape[1]!, 0);
  const valid = new Uint8Array(N * T);
  for (let n = 0; n < N; n++) {
    let t0 = 0;
    xs.forEach((x, i) => {
      const Ti = x.shape[1]!;
      const m = masks[i];
      if (m) valid.set(m.valid.subarray(n * Ti, (n + 1) * Ti), n * T + t0);
      else valid.fill(1, n * T + t0, n * T + t0 + Ti);
      t0 += Ti;
    });
  }
  return StepMask.fromValid(valid, N, T);
}

/** A layer joining its inputs along an axis (Keras `Concatenate`). */
export function concatenate(args: ConcatenateLayerArgs = {}): Concatenate {
  return new Concatenate(args);
}

/** A layer adding its inputs elementwise (Keras `Add`). */
export function add(args: MergeLayerArgs = {}): Add {
  return new Add(args);
}

/** A layer multiplying its inputs elementwise (Keras `Multiply`). */
export function multiply(args: MergeLayerArgs = {}): Multiply {
  return new Multiply(args);
}

/** A layer averaging its inputs elementwise (Keras `Average`). */
export function average(args: MergeLayerArgs = {}): Average {
  return new Average(args);
}

function nameOnly(cfg: Obj, context: FromConfigContext): MergeLayerArgs {
  const { name } = commonFromConfig(cfg, context.where);
  return name !== undefined ? { name } : {};
}

registerLayer('Add', (cfg, context) => layerFromFile(context, () => add(nameOnly(cfg, context))));
registerLayer('Multiply', (cfg, context) => layerFromFile(context, () => multiply(nameOnly(cfg, context))));
registerLayer('Average', (cfg, context) => layerFromFile(context, () => average(nameOnly(cfg, context))));
registerLayer('Concatenate', (cfg, context) =>
  layerFromFile(context, () => {
    const axis = get(cfg, 'axis');
    return concatenate({ ...nameOnly(cfg, context), ...(axis !== undefined && axis !== null ? { axis: axis as number } : {}) });
  }),
);
