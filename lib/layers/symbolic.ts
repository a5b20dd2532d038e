/**
 * Symbolic tensors: what `layer.apply` takes and returns when a functional model is
 * described (tfjs-layers' `SymbolicTensor`). Each one is an output of a node: one call
 * of a layer on earlier symbolic tensors. A layer applied twice has two nodes and shares
 * its weights between them.
 */
import { describe, rangeError, rethrow, typeError } from '../errors';
import type { Layer, Shape } from './layer';

/** One call of a layer in a model's graph. */
export class Node {
  /** The symbolic tensors it produced, one per layer output. */
  outputs: SymbolicTensor[] = [];

  /** @internal */
  constructor(
    /** The layer called. */
    readonly layer: Layer,
    /** What it was called on, in order. */
    readonly inputs: readonly SymbolicTensor[],
  ) {}
}

let symbolicCounter = 0;

/** A placeholder for a tensor in a functional model's description. */
export class SymbolicTensor {
  /** @internal */
  readonly id = ++symbolicCounter;

  /** @internal */
  constructor(
    /** Batch-first shape; `null` where unknown (batch, timesteps). */
    readonly shape: Shape,
    /** The node that produces it. */
    readonly node: Node,
    /** Which of the node's outputs it is. */
    readonly index: number,
  ) {}

  /** `<layer name>/<output index>`, as Keras names a node output. */
  get name(): string {
    return `${this.node.layer.name}/${this.index}`;
  }

  /** The producing layer (an `InputLayer` for a model input). */
  get sourceLayer(): Layer {
    return this.node.layer;
  }
}

/**
 * Calls `layer` on symbolic tensors: checks the shapes, builds the layer if needed, and
 * returns its outputs (one symbolic tensor, or a list when it has several).
 * @throws TypeError/RangeError naming the layer when the inputs do not fit it
 */
export function applyLayer(layer: Layer, inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor | SymbolicTensor[] {
  const where = `${layer.name}.apply`;
  const list = Array.isArray(inputs) ? (inputs as readonly SymbolicTensor[]) : [inputs as SymbolicTensor];
  list.forEach((t, i) => {
    if (!(t instanceof SymbolicTensor)) {
      throw typeError(
        `${where}: inputs${Array.isArray(inputs) ? `[${i}]` : ''} must be a symbolic tensor from rk.input() or another layer's apply(), got ${describe(t)}; ` +
          'to run a layer on data use model.predict, or the layer\'s forward/run',
      );
    }
  });
  if (layer.inputArity === 1 && list.length !== 1) throw typeError(`${where}: takes one input, got ${list.length}`);
  if (layer.inputArity === 'many' && (!Array.isArray(inputs) || list.length < 2)) {
    throw typeError(`${where}: takes a list of at least 2 inputs, got ${Array.isArray(inputs) ? `${list.length}` : 'one tensor'}`);
  }
  const shapes = list.map((t) => t.shape);
  let outShapes: Shape[];
  try {
    outShapes = layer.computeOutputShape(shapes);
    layer.build(shapes);
  } catch (e) {
    throw e instanceof Error && e.message.startsWith(layer.name) ? e : rethrow(e, where);
  }
  const node = new Node(layer, list);
  node.outputs = outShapes.map((s, k) => new SymbolicTensor([...s], node, k));
  if (node.outputs.length === 0) throw rangeError(`${where}: the layer has no outputs`);
  return node.outputs.length === 1 ? node.outputs[0]! : [...node.outputs];
}
