import { describe, expectObject, rangeError, rejectUnknownOptions, typeError } from '../errors';
import { baseConfig, get, type JsonObject } from '../io/keras-config';
import { native } from '../native';
import { fromNative, type Tensor } from '../tensor';
import { declaredInputOption, formatShape, LayerBase, layerNameOption, simplePass } from './base';
import type { LayerPass, RunContext, Shape } from './layer';
import { registerLayer } from './registry';
import { checkOutputGradient, checkRun, commonFromConfig, layerFromFile, notTrainingError, singleShape, zeros } from './layer-helpers';

/** Options of {@link reshape} (tfjs-layers names). */
export interface ReshapeLayerArgs {
  /** The output shape without the batch axis; one entry may be -1 (inferred from the rest). */
  targetShape: readonly number[];
  /** Input shape without the batch axis. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Layer name; default `reshape_<n>`. */
  name?: string;
}

function targetShapeOption(value: unknown, where: string): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((d) => typeof d === 'number' && Number.isInteger(d))) {
    throw typeError(`${where}: targetShape must be a non-empty array of integers, got ${describe(value)}`);
  }
  const dims = value as number[];
  if (dims.some((d) => d < 1 && d !== -1)) throw rangeError(`${where}: targetShape entries must be positive or -1, got [${dims.join(', ')}]`);
  if (dims.filter((d) => d === -1).length > 1) throw rangeError(`${where}: targetShape may have one -1 entry, got [${dims.join(', ')}]`);
  return [...dims];
}

/**
 * Keras `Reshape`: each sample gets `targetShape` (the batch axis stays); one entry of -1
 * is inferred. The values are copied in row-major order; the mask is dropped.
 */
export class Reshape extends LayerBase {
  readonly className = 'Reshape';
  /** The target shape as given (with its -1, if any). */
  readonly targetShape: readonly number[];

  /** @internal Use {@link reshape}. */
  constructor(args: ReshapeLayerArgs) {
    const where = 'layers.reshape';
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, ['targetShape', 'inputShape', 'batchInputShape', 'name'], where);
    const targetShape = targetShapeOption(o.targetShape, where);
    super(layerNameOption(o.name, 'reshape', where), declaredInputOption(o.inputShape, o.batchInputShape, where));
    this.targetShape = targetShape;
  }

  /**
   * The target shape for a sample shape: the -1 inferred when the sample's size is known
   * (null otherwise).
   * @throws RangeError naming both shapes when the sizes cannot match
   */
  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const s = singleShape(inputShapes, `${this.name}.computeOutputShape`);
    if (s.length < 1) throw rangeError(`${this.name}: the input must have a batch axis, got ${formatShape(s)}`);
    const rest = s.slice(1);
    const target = this.targetShape;
    const target2 = `${formatShape([null, ...target])}`;
    const free = target.indexOf(-1);
    if (rest.some((d) => d === null)) return [[s[0]!, ...target.map((d) => (d === -1 ? null : d))]];
    const count = (rest as number[]).reduce((a, b) => a * b, 1);
    const known = target.reduce((a, d) => (d === -1 ? a : a * d), 1);
    if (free < 0 ? known !== count : count % known !== 0) {
      throw rangeError(
        `${this.name}: cannot reshape input ${formatShape(s)} (${count} values per sample) into target shape ${target2}` +
          (free < 0 ? ` (${known} values per sample)` : ` (a multiple of ${known} values per sample)`),
      );
    }
    return [[s[0]!, ...target.map((d) => (d === -1 ? count / known : d))]];
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const where = `${this.name}.run`;
    this.assertLive('run');
    const { inputs: [x], training } = checkRun(where, inputs, context, 1);
    const device = x!.device;
    const inShape = [...x!.shape];
    const outShape = this.computeOutputShape([inShape])[0] as number[];
    const y = fromNative(await native.reshape(x!.handle, outShape));
    return simplePass([y], [null], async (dOutputs) => {
      const at = `${this.name}.backward`;
      if (!training) throw notTrainingError(at);
      const dy = checkOutputGradient(at, dOutputs, outShape);
      const dx = dy ? fromNative(await native.reshape(dy.handle, inShape)) : zeros(inShape, device);
      return { dInputs: [dx], dWeights: [] };
    });
  }

  getConfig(): JsonObject {
    return { ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null), target_shape: [...this.targetShape] };
  }
}

/** A layer giving each sample another shape (Keras `Reshape`). */
export function reshape(args: ReshapeLayerArgs): Reshape {
  return new Reshape(args);
}

registerLayer('Reshape', (cfg, context) =>
  layerFromFile(context, () => reshape({ ...commonFromConfig(cfg, context.where), targetShape: get(cfg, 'target_shape') as number[] })),
);
