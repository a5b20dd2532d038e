/**
 * Functional models (tfjs-layers' `tf.model`, Keras's `Model(inputs, outputs)`): any
 * directed acyclic graph of layers from `rk.input()` tensors to outputs, with several
 * inputs and outputs, shared layers, and inner layers' outputs as model outputs (feature
 * extraction).
 */
import { describe, expectObject, rejectUnknownOptions, rnnkitError, typeError } from '../errors';
import { InputLayer } from '../layers/input-layer';
import type { Layer, Shape } from '../layers/layer';
import { Node, SymbolicTensor } from '../layers/symbolic';
import type { Tensor } from '../tensor';
import { Graph, nodeIndices } from './graph';
import { ModelBase } from './model-base';
import { summaryTable } from './summary';

/** Options of {@link model}. */
export interface ModelArgs {
  /** The input(s), from `rk.input()`. */
  inputs: SymbolicTensor | SymbolicTensor[];
  /** The output(s): symbolic tensors from layers' `apply`. */
  outputs: SymbolicTensor | SymbolicTensor[];
  /** Default `model_<n>`. */
  name?: string;
}

let modelCounter = 0;

/** A functional model: a graph of layers from inputs to outputs. */
export class LayersModel extends ModelBase {
  /** @internal tfjs's class name of functional models in model.json. */
  readonly topologyClass = 'Model' as const;
  /** @internal */
  readonly graphOfModel: Graph;

  /** @internal Use {@link model}. */
  constructor(args: ModelArgs) {
    const o = expectObject(args, 'model: options');
    rejectUnknownOptions(o, ['inputs', 'outputs', 'name'], 'model');
    if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0)) throw typeError(`model: name must be a non-empty string, got ${describe(o.name)}`);
    super((o.name as string | undefined) ?? `model_${++modelCounter}`);
    const list = (v: unknown, key: string): SymbolicTensor[] => {
      if (v === undefined) throw typeError(`model: ${key} is required`);
      const items = Array.isArray(v) ? v : [v];
      if (items.length === 0) throw typeError(`model: ${key} must not be empty`);
      return items as SymbolicTensor[];
    };
    this.graphOfModel = new Graph(list(o.inputs, 'inputs'), list(o.outputs, 'outputs'), 'model');
  }

  /** Every layer once: the inputs, then the others in the order they run. */
  get layers(): Layer[] {
    return [...this.graphOfModel.layers];
  }

  /** The model's inputs. */
  get inputs(): SymbolicTensor[] {
    return [...this.graphOfModel.inputs];
  }

  /** The model's outputs. */
  get outputs(): SymbolicTensor[] {
    return [...this.graphOfModel.outputs];
  }

  /** The inputs' batch shapes. */
  get inputShapes(): Shape[] {
    return this.graphOfModel.inputs.map((t) => [...t.shape]);
  }

  /** The outputs' batch shapes. */
  get outputShapes(): Shape[] {
    return this.graphOfModel.outputs.map((t) => [...t.shape]);
  }

  /** Layers are built when applied: a functional model is built once it exists. */
  get built(): boolean {
    return this.layers.every((l) => l.built);
  }

  protected requireRunnable(where: string): void {
    this.assertLive(where);
    if (!this.built) throw rnnkitError('RNNKIT_INVALID_STATE', `${this.name}.${where}: a layer is not built`);
  }

  protected graphFor(_xs: readonly Tensor[] | null, where: string): Graph {
    this.assertLive(where);
    return this.graphOfModel;
  }

  /**
   * Calls the whole model on symbolic tensors, as a layer would be: returns new symbolic
   * tensors for its outputs (its layers, and their weights, are shared).
   */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor | SymbolicTensor[] {
    const g = this.graphOfModel;
    const list = Array.isArray(inputs) ? [...inputs] : [inputs as SymbolicTensor];
    if (list.length !== g.inputs.length) throw typeError(`${this.name}.apply: the model takes ${g.inputs.length} inputs, got ${list.length}`);
    const map = new Map<SymbolicTensor, SymbolicTensor>();
    g.inputs.forEach((t, i) => map.set(t, list[i]!));
    for (const node of g.nodes) {
      const ins = node.inputs.map((t) => map.get(t)!);
      const out = node.layer.computeOutputShape(ins.map((t) => t.shape));
      const copy = new Node(node.layer, ins);
      copy.outputs = out.map((s, k) => new SymbolicTensor([...s], copy, k));
      node.outputs.forEach((t, k) => map.set(t, copy.outputs[k]!));
    }
    const outs = g.outputs.map((t) => map.get(t)!);
    return outs.length === 1 ? outs[0]! : outs;
  }

  /**
   * A Keras-style table: each layer's name and type, output shape, parameter count and the
   * layers it is connected to (`name[node][tensor]`), then the totals.
   */
  summary(): string {
    this.requireRunnable('summary');
    const g = this.graphOfModel;
    const nodeIndex = nodeIndices(g);
    const rows = [
      ...g.inputs.map((t) => ({ layer: t.node.layer, outputShapes: [t.shape], connectedTo: [] as string[] })),
      ...g.nodes.map((n) => ({
        layer: n.layer,
        outputShapes: n.outputs.map((t) => t.shape),
        connectedTo: n.inputs.map((t) => `${t.node.layer.name}[${nodeIndex.get(t.node) ?? 0}][${t.index}]`),
      })),
    ];
    return summaryTable(this.name, rows);
  }
}

/**
 * A functional model from inputs to outputs, as `tf.model`.
 * @example
 * const x = rk.input({ shape: [null, 8] });
 * const h = rk.layers.lstm({ units: 16, returnSequences: true }).apply(x);
 * const y = rk.layers.dense({ units: 1 }).apply(rk.layers.globalMaxPooling1D().apply(h));
 * const m = rk.model({ inputs: x, outputs: y });
 */
export function model(args: ModelArgs): LayersModel {
  return new LayersModel(args);
}

export { InputLayer };
