/**
 * A model's layer graph and how it runs: nodes in dependency order from the inputs to the
 * outputs, a forward pass that hands each layer its inputs and masks, and a backward pass
 * that sums gradients where a tensor feeds several layers and where a layer is shared.
 * Sequential and functional models both run here.
 * Internal to rnnkit: not part of the public API.
 */
import { rangeError, rethrow, typeError } from '../errors';
import type { Layer, LayerPass, Shape } from '../layers/layer';
import { InputLayer } from '../layers/input-layer';
import { Node, SymbolicTensor } from '../layers/symbolic';
import type { StepMask } from '../mask';
import { native } from '../native';
import { fromNative, Tensor } from '../tensor';

/** A graph from input symbolic tensors to output symbolic tensors. */
export class Graph {
  /** Nodes that run, in an order where every node follows those it reads from. */
  readonly nodes: readonly Node[];
  /** Every layer once, inputs first, then in the order their first node runs. */
  readonly layers: readonly Layer[];

  constructor(
    readonly inputs: readonly SymbolicTensor[],
    readonly outputs: readonly SymbolicTensor[],
    where: string,
  ) {
    inputs.forEach((t, i) => {
      if (!(t instanceof SymbolicTensor) || !(t.node.layer instanceof InputLayer)) {
        throw typeError(`${where}: inputs[${i}] must be a symbolic tensor made by rk.input()`);
      }
    });
    if (new Set(inputs).size !== inputs.length) throw typeError(`${where}: an input is listed twice`);
    outputs.forEach((t, i) => {
      if (!(t instanceof SymbolicTensor)) throw typeError(`${where}: outputs[${i}] must be a symbolic tensor from a layer's apply()`);
    });
    const order: Node[] = [];
    const state = new Map<Node, 'visiting' | 'done'>();
    const visit = (node: Node, path: string): void => {
      const s = state.get(node);
      if (s === 'done') return;
      if (s === 'visiting') throw typeError(`${where}: the graph has a cycle through layer '${node.layer.name}'`);
      state.set(node, 'visiting');
      if (node.layer instanceof InputLayer) {
        if (!inputs.includes(node.outputs[0]!)) {
          throw typeError(`${where}: ${path} depends on input '${node.layer.name}', which is not among the model's inputs (the graph is disconnected)`);
        }
      }
      for (const t of node.inputs) visit(t.node, path);
      state.set(node, 'done');
      order.push(node);
    };
    outputs.forEach((t, i) => visit(t.node, `outputs[${i}] (${t.name})`));
    this.nodes = order.filter((n) => !(n.layer instanceof InputLayer));
    const layers: Layer[] = inputs.map((t) => t.node.layer);
    for (const n of this.nodes) if (!layers.includes(n.layer)) layers.push(n.layer);
    const names = new Set<string>();
    for (const l of layers) {
      if (names.has(l.name)) throw typeError(`${where}: two layers are named '${l.name}'; layer names in a model must be unique`);
      names.add(l.name);
    }
    this.layers = layers;
  }

  /** Layers that are not inputs. */
  get innerLayers(): Layer[] {
    return this.layers.filter((l) => !(l instanceof InputLayer));
  }

  /**
   * Shapes for concrete input shapes: each symbolic tensor's shape with the batch (and
   * other unknown axes) filled in from the inputs.
   */
  shapesFor(inputShapes: readonly Shape[]): Map<SymbolicTensor, Shape> {
    const shapes = new Map<SymbolicTensor, Shape>();
    this.inputs.forEach((t, i) => shapes.set(t, inputShapes[i]!));
    for (const node of this.nodes) {
      let out: Shape[];
      try {
        out = node.layer.computeOutputShape(node.inputs.map((t) => shapes.get(t)!));
      } catch (e) {
        throw e instanceof Error && e.message.startsWith(node.layer.name) ? e : rethrow(e, node.layer.name);
      }
      node.outputs.forEach((t, k) => shapes.set(t, out[k]!));
    }
    return shapes;
  }

  /**
   * Runs every node on `xs` (one tensor per input, with its step mask or null). The
   * returned pass owns every tensor it made except the model outputs it returns.
   */
  async run(xs: readonly Tensor[], masks: readonly (StepMask | null)[], training: boolean): Promise<GraphPass> {
    const pass = new GraphPass(this, training);
    try {
      await pass.forward(xs, masks);
    } catch (e) {
      pass.dispose(true);
      throw e;
    }
    return pass;
  }
}

/** One run of a graph: the outputs, and (training) the way back. */
export class GraphPass {
  /** The model outputs, in `graph.outputs` order. They are the caller's to dispose. */
  outputs: Tensor[] = [];
  private readonly values = new Map<SymbolicTensor, Tensor>();
  private readonly masks = new Map<SymbolicTensor, StepMask | null>();
  private readonly passes = new Map<Node, LayerPass>();
  /** Tensors made by layers that are not model outputs: freed by dispose(). */
  private readonly owned = new Set<Tensor>();
  private readonly given = new Set<Tensor>();

  constructor(
    private readonly graph: Graph,
    private readonly training: boolean,
  ) {}

  /** @internal */
  async forward(xs: readonly Tensor[], masks: readonly (StepMask | null)[]): Promise<void> {
    const g = this.graph;
    g.inputs.forEach((t, i) => {
      this.values.set(t, xs[i]!);
      this.masks.set(t, masks[i] ?? null);
      this.given.add(xs[i]!);
    });
    // Inference frees a tensor once its last reader has run.
    const readers = new Map<SymbolicTensor, number>();
    for (const n of g.nodes) for (const t of n.inputs) readers.set(t, (readers.get(t) ?? 0) + 1);
    for (const t of g.outputs) readers.set(t, Infinity);
    for (const node of g.nodes) {
      const inputs = node.inputs.map((t) => this.values.get(t)!);
      const pass = await node.layer.run(inputs, { training: this.training, masks: node.inputs.map((t) => this.masks.get(t) ?? null) });
      this.passes.set(node, pass);
      node.outputs.forEach((t, k) => {
        const v = pass.outputs[k]!;
        this.values.set(t, v);
        this.masks.set(t, pass.masks[k] ?? null);
        if (!this.given.has(v)) this.owned.add(v);
      });
      // Outputs nobody reads (e.g. states of a layer with returnState) are freed at once.
      node.outputs.forEach((t) => {
        if (!readers.has(t)) this.release(t);
      });
      if (!this.training) {
        pass.dispose();
        for (const t of node.inputs) {
          const left = (readers.get(t) ?? 0) - 1;
          readers.set(t, left);
          if (left === 0) this.release(t);
        }
      }
    }
    this.outputs = g.outputs.map((t) => this.values.get(t)!);
    for (const o of this.outputs) this.owned.delete(o);
  }

  private release(t: SymbolicTensor): void {
    const v = this.values.get(t);
    if (v && this.owned.has(v) && !this.outputs.includes(v) && !this.graph.outputs.some((o) => this.values.get(o) === v)) {
      v.dispose();
      this.owned.delete(v);
    }
  }

  /** The mask each output carries (Keras's output masks), in `graph.outputs` order. */
  outputMasks(): (StepMask | null)[] {
    return this.graph.outputs.map((t) => this.masks.get(t) ?? null);
  }

  /**
   * Backpropagates the loss gradients of the outputs (null: not in the loss). Returns each
   * layer's weight gradients in its `trainableWeights()` order, summed over the layer's
   * nodes; a layer no gradient reached is absent.
   */
  async backward(dOutputs: readonly (Tensor | null)[]): Promise<Map<Layer, Tensor[]>> {
    if (!this.training) throw typeError('backward needs a pass run with training: true');
    const grads = new Map<SymbolicTensor, Tensor>();
    const made = new Set<Tensor>();
    const accumulate = (t: SymbolicTensor, d: Tensor, owned: boolean): void => {
      const prev = grads.get(t);
      if (!prev) {
        grads.set(t, d);
        if (owned) made.add(d);
        return;
      }
      const sum = fromNative(native.add(prev.handle, d.handle));
      if (made.has(prev)) prev.dispose();
      if (owned) d.dispose();
      made.delete(prev);
      grads.set(t, sum);
      made.add(sum);
    };
    this.graph.outputs.forEach((t, i) => {
      const d = dOutputs[i];
      if (d) accumulate(t, d, false);
    });
    const weightGrads = new Map<Layer, Tensor[]>();
    try {
      for (const node of [...this.graph.nodes].reverse()) {
        const ds = node.outputs.map((t) => grads.get(t) ?? null);
        if (ds.every((d) => d === null)) continue;
        const g = await this.passes.get(node)!.backward(ds);
        for (const t of node.outputs) {
          const d = grads.get(t);
          if (d && made.has(d)) d.dispose();
          made.delete(d!);
          grads.delete(t);
        }
        node.inputs.forEach((t, k) => {
          const d = g.dInputs[k];
          if (d) accumulate(t, d, true);
        });
        const prev = weightGrads.get(node.layer);
        if (!prev) {
          weightGrads.set(node.layer, g.dWeights);
        } else {
          // A shared layer: its nodes' weight gradients add up.
          weightGrads.set(
            node.layer,
            prev.map((p, k) => {
              const sum = fromNative(native.add(p.handle, g.dWeights[k]!.handle));
              p.dispose();
              g.dWeights[k]!.dispose();
              return sum;
            }),
          );
        }
      }
    } catch (e) {
      for (const ws of weightGrads.values()) for (const w of ws) w.dispose();
      throw e;
    } finally {
      for (const d of made) d.dispose();
    }
    return weightGrads;
  }

  /**
   * Frees everything the pass made and the layers' saved state; the outputs too when
   * `outputsToo` (a failed run, or a caller done with them).
   */
  dispose(outputsToo = false): void {
    for (const p of this.passes.values()) p.dispose();
    this.passes.clear();
    for (const t of this.owned) t.dispose();
    this.owned.clear();
    if (outputsToo) for (const o of this.outputs) if (!this.given.has(o)) o.dispose();
  }
}

/** Checks that concrete input tensors fit the graph's inputs. */
export function checkInputShapes(graph: Graph, xs: readonly Tensor[], where: string): void {
  if (xs.length !== graph.inputs.length) {
    throw typeError(`${where}: the model has ${graph.inputs.length} input${graph.inputs.length > 1 ? 's' : ''}, got ${xs.length} tensor${xs.length === 1 ? '' : 's'}`);
  }
  graph.inputs.forEach((t, i) => {
    const want = t.shape;
    const got = xs[i]!.shape;
    const ok = want.length === got.length && want.every((d, k) => k === 0 || d === null || d === got[k]);
    if (!ok) {
      const name = graph.inputs.length > 1 ? `x[${i}] (${t.node.layer.name})` : 'x';
      throw rangeError(`${where}: ${name} must have shape [${want.map((d) => (d === null ? '?' : String(d))).join(',')}], got [${got.join(',')}]`);
    }
  });
}

/** Each node's index among its layer's nodes in the graph (Keras's node_index). */
export function nodeIndices(g: Graph): Map<Node, number> {
  const out = new Map<Node, number>();
  const counts = new Map<Layer, number>();
  for (const t of g.inputs) out.set(t.node, 0);
  for (const n of g.nodes) {
    const k = counts.get(n.layer) ?? 0;
    out.set(n, k);
    counts.set(n.layer, k + 1);
  }
  return out;
}
