/**
 * A model's input (Keras `InputLayer`) and `rk.input`, which makes the symbolic tensor a
 * functional model starts from.
 */
import { describe, expectObject, rejectUnknownOptions, typeError } from '../errors';
import { declaredShape, get, JsonObject } from '../io/keras-config';
import { fileTypeError } from '../io/untrusted-files';
import type { Tensor } from '../tensor';
import { declaredInputOption, LayerBase, layerNameOption } from './base';
import type { LayerPass, RunContext, Shape } from './layer';
import { registerLayer } from './registry';
import { Node, SymbolicTensor } from './symbolic';

/** Options of {@link input} (tfjs-layers' names). */
export interface InputArgs {
  /** The shape of one sample (without the batch axis); `null` for unknown timesteps. */
  shape?: readonly (number | null)[];
  /** The whole shape, batch axis first (instead of `shape`). */
  batchShape?: readonly (number | null)[];
  /** Default `input_<n>`. */
  name?: string;
  /** `'float32'` (default), or `'int32'` for the ids an Embedding takes (held as float32). */
  dtype?: 'float32' | 'int32';
}

/** A model input: it holds a shape and passes its tensor on. */
export class InputLayer extends LayerBase {
  readonly className = 'InputLayer';
  /** The dtype the model's config declares for this input. */
  readonly dtype: 'float32' | 'int32';

  /** @internal Use {@link input}. */
  constructor(name: string, readonly batchInputShape: Shape, dtype: 'float32' | 'int32' = 'float32') {
    super(name, batchInputShape);
    this.dtype = dtype;
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    if (inputShapes.length > 1) throw typeError(`${this.name}: an input takes no other tensor`);
    return [[...this.batchInputShape]];
  }

  /** Passes the tensor on (the model has checked it against the shape). */
  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    return {
      outputs: [inputs[0]!],
      masks: [context.masks[0] ?? null],
      backward: async (dOutputs) => ({ dInputs: [dOutputs[0] ?? null], dWeights: [] }),
      dispose: () => undefined,
    };
  }

  getConfig(): JsonObject {
    return { batch_input_shape: [...this.batchInputShape], dtype: this.dtype, sparse: false, ragged: false, name: this.name };
  }

  /** The symbolic tensor this input stands for (one per InputLayer). */
  get output(): SymbolicTensor {
    let t = inputTensors.get(this);
    if (!t) {
      const node = new Node(this, []);
      t = new SymbolicTensor([...this.batchInputShape], node, 0);
      node.outputs = [t];
      inputTensors.set(this, t);
    }
    return t;
  }
}

const inputTensors = new WeakMap<InputLayer, SymbolicTensor>();

/**
 * A model input, as `tf.input`: the symbolic tensor that layers are applied to when a
 * functional model is described.
 * @example const x = rk.input({ shape: [null, 8] }); // any number of steps of 8 features
 */
export function input(args: InputArgs): SymbolicTensor {
  const where = 'input';
  const o = expectObject(args, `${where}: options`);
  rejectUnknownOptions(o, ['shape', 'batchShape', 'name', 'dtype'], where);
  if (o.shape === undefined && o.batchShape === undefined) throw typeError(`${where}: give shape (one sample's shape) or batchShape`);
  if (o.shape !== undefined && o.batchShape !== undefined) throw typeError(`${where}: give shape or batchShape, not both`);
  const shape = declaredInputOption(o.shape, o.batchShape, where)!;
  if (o.shape !== undefined && Array.isArray(o.shape) && o.shape.length === 0) throw typeError(`${where}: shape must have at least one axis`);
  const dtype = o.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'int32') throw typeError(`${where}: dtype must be 'float32' or 'int32', got ${describe(dtype)}`);
  return new InputLayer(layerNameOption(o.name, 'input', where), shape, dtype).output;
}

registerLayer('InputLayer', (cfg, context) => {
  const shape = declaredShape(cfg, context.where);
  if (!shape) throw fileTypeError(`${context.where}: batch_input_shape is missing`);
  const name = get(cfg, 'name');
  const dtype = get(cfg, 'dtype');
  return new InputLayer(typeof name === 'string' ? name : 'input', shape, dtype === 'int32' ? 'int32' : 'float32');
});
