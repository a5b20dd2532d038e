import { expectObject, positiveInteger, rangeError, rejectUnknownOptions } from '../errors';
import { baseConfig, get, type JsonObject } from '../io/keras-config';
import { native } from '../native';
import { fromNative, type Tensor } from '../tensor';
import { declaredInputOption, formatShape, LayerBase, layerNameOption, simplePass } from './base';
import type { LayerPass, RunContext, Shape } from './layer';
import { registerLayer } from './registry';
import { checkOutputGradient, checkRun, commonFromConfig, layerFromFile, notTrainingError, singleShape, zeros } from './layer-helpers';

/** Options of {@link repeatVector} (tfjs-layers names). */
export interface RepeatVectorLayerArgs {
  /** How many times the input is repeated (a positive integer). */
  n: number;
  /** Input shape without the batch axis: `[features]`. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Layer name; default `repeat_vector_<n>`. */
  name?: string;
}

/**
 * Keras `RepeatVector`: `[N, C]` → `[N, n, C]`, each sample repeated n times (e.g. an
 * encoder's final state fed to every step of a decoder). Its gradient sums the n copies.
 */
export class RepeatVector extends LayerBase {
  readonly className = 'RepeatVector';
  /** The number of repeats. */
  readonly n: number;

  /** @internal Use {@link repeatVector}. */
  constructor(args: RepeatVectorLayerArgs) {
    const where = 'layers.repeatVector';
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, ['n', 'inputShape', 'batchInputShape', 'name'], where);
    const n = positiveInteger(o.n, `${where}: n`);
    super(layerNameOption(o.name, 'repeat_vector', where), declaredInputOption(o.inputShape, o.batchInputShape, where, 1));
    this.n = n;
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const s = singleShape(inputShapes, `${this.name}.computeOutputShape`);
    if (s.length !== 2) throw rangeError(`${this.name}: the input must be rank 2 [batch, features], got ${formatShape(s)}`);
    return [[s[0]!, this.n, s[1]!]];
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    const where = `${this.name}.run`;
    this.assertLive('run');
    const { inputs: [x], training } = checkRun(where, inputs, context, 1);
    const device = x!.device;
    const inShape = [...x!.shape];
    const outShape = this.computeOutputShape([inShape])[0] as number[];
    const y = fromNative(await native.repeatRows(x!.handle, this.n));
    return simplePass([y], [null], async (dOutputs) => {
      const at = `${this.name}.backward`;
      if (!training) throw notTrainingError(at);
      const dy = checkOutputGradient(at, dOutputs, outShape);
      const dx = dy ? fromNative(await native.sumRepeats(dy.handle)) : zeros(inShape, device);
      return { dInputs: [dx], dWeights: [] };
    });
  }

  getConfig(): JsonObject {
    return { ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null), n: this.n };
  }
}

/** A layer repeating each sample n times along a new time axis (Keras `RepeatVector`). */
export function repeatVector(args: RepeatVectorLayerArgs): RepeatVector {
  return new RepeatVector(args);
}

registerLayer('RepeatVector', (cfg, context) =>
  layerFromFile(context, () => repeatVector({ ...commonFromConfig(cfg, context.where), n: get(cfg, 'n') as number })),
);
