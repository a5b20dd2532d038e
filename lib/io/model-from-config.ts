/**
 * A model from a Keras topology (Sequential, or functional `Model`/`Functional` with
 * `inbound_nodes` in Keras 2 or Keras 3 spelling) and named weights: what every model
 * file (tfjs model.json, .keras, .h5) comes down to. Layers are made through the layer
 * registry; weights are matched to layers by name (lib/io/weight-names.ts) and set before
 * the graph is built, so a file's sizes are checked against its weights before anything
 * large is allocated.
 * Internal to rnnkit: not part of the public API.
 */
import { describe } from '../errors';
import '../layers/all';
import { InputLayer } from '../layers/input-layer';
import type { Layer, Shape } from '../layers/layer';
import { layerFromConfig, FromConfigContext } from '../layers/registry';
import { applyLayer, SymbolicTensor } from '../layers/symbolic';
import { LayersModel } from '../models/layers-model';
import { Sequential } from '../models/sequential';
import type { Tensor } from '../tensor';
import { declaredShape, get, isObj, JsonObject, Obj, quote } from './keras-config';
import { normalizeKerasModelConfig } from './keras-normalize';
import { fileRangeError, fileTypeError, modelFileError, printable } from './untrusted-files';
import { matchWeights } from './weight-names';

/** A weight as a file stores it: its name, shape, and how to read its values. */
export interface StoredWeight {
  readonly name: string;
  readonly shape: readonly number[];
  /** The values as a tensor on the current backend (the caller of build disposes nothing). */
  read(): Tensor;
}

/** The most layers a model file may list (real models have tens). */
export const MAX_LAYERS = 4096;
/** The most nodes (calls) per layer a functional model may list. */
const MAX_NODES = 64;

/** A layer entry of a topology: `{ class_name, config }` (and `inbound_nodes` for functional models). */
function layerOf(entry: unknown, where: string, maskedOutput: 'zeros' | 'carry'): Layer {
  if (!isObj(entry)) throw fileTypeError(`${where} must be an object with class_name and config`);
  const className = entry.class_name ?? entry.className;
  if (typeof className !== 'string') throw fileTypeError(`${where}: class_name is missing`);
  const cfg = entry.config;
  if (!isObj(cfg)) throw fileTypeError(`${where} (${printable(className, 40)}): config is missing`);
  const name = typeof cfg.name === 'string' ? cfg.name : typeof entry.name === 'string' ? entry.name : undefined;
  const at = `${where}${name !== undefined ? ` '${printable(name, 60)}'` : ''} (${printable(className, 40)})`;
  const context: FromConfigContext = { where: at, deserialize: (inner, innerWhere) => layerOf(inner, innerWhere, maskedOutput), maskedOutput };
  try {
    // A config without a name (hand-written files) gets the entry's name, or a fresh one.
    const config = name !== undefined && cfg.name === undefined ? { ...cfg, name } : cfg;
    return layerFromConfig(className, config, context);
  } catch (e) {
    throw e instanceof Error && e.message.startsWith(at) ? modelFileError(e) : modelFileError(e, at);
  }
}

/** The model a topology describes, with the stored weights set. */
/**
 * @param writtenByRnnkit the file comes from rnnkit's `save` (masked steps output zeros unless
 *   a layer says otherwise); tfjs's and Keras's files carry the last output
 */
export function buildModel(topologyValue: unknown, weights: readonly StoredWeight[], source: string, writtenByRnnkit = false): Sequential | LayersModel {
  let topology = topologyValue;
  if (!isObj(topology)) throw fileTypeError(`${source}: modelTopology is missing`);
  if (isObj(topology.model_config)) topology = topology.model_config;
  // Keras 3 spellings (converter output of Keras 3 models, .keras files) become tfjs's.
  // (tfjs's in-memory camelCase spelling has none of them.)
  const top = (typeof (topology as Obj).class_name === 'string' ? normalizeKerasModelConfig(topology as JsonObject, source) : topology) as Obj;
  const cls = top.class_name ?? top.className;
  const masked = writtenByRnnkit ? 'zeros' : 'carry';
  if (cls === 'Sequential') return sequentialModel(top, weights, source, masked);
  if (cls === 'Model' || cls === 'Functional') return functionalModel(top, weights, source, masked);
  throw fileTypeError(`${source}: the topology's class_name must be 'Sequential', 'Model' or 'Functional', got ${describe(cls)}`);
}

function layerList(config: unknown, source: string): unknown[] {
  const list = Array.isArray(config) ? config : isObj(config) ? config.layers : undefined;
  if (!Array.isArray(list)) throw fileTypeError(`${source}: the topology's config.layers must be an array`);
  if (list.length > MAX_LAYERS) throw fileRangeError(`${source}: the topology lists ${list.length} layers, more than ${MAX_LAYERS}`);
  return list;
}

/** Sets each layer's weights from the file, matched by name (`layers`: every layer, in model order). */
function setStoredWeights(layers: readonly Layer[], weights: readonly StoredWeight[], modelName: string | undefined, source: string): void {
  const needed = layers.reduce((a, l) => a + l.weightCount(), 0);
  if (weights.length !== needed) {
    const counts = layers.filter((l) => l.weightCount() > 0).map((l) => `${l.name}: ${l.weightCount()}`);
    throw fileRangeError(`${source}: the file lists ${weights.length} weights, but the layers need ${needed} (${printable(counts.join(', '), 300)})`);
  }
  const expected = layers.map((l) => {
    const inner = (l as Layer & { forwardLayer?: Layer; layer?: Layer }).forwardLayer ?? (l as Layer & { layer?: Layer }).layer;
    return { layer: l.name, className: l.className, ...(inner ? { innerClassName: inner.className } : {}), names: l.weightNames() };
  });
  let assigned: number[][];
  try {
    assigned = matchWeights(expected, weights.map((w) => ({ name: w.name, shape: [...w.shape] })), modelName ? { modelName } : {});
  } catch (e) {
    throw modelFileError(e, source);
  }
  layers.forEach((l, i) => {
    const idx = assigned[i]!;
    if (idx.length === 0) return;
    const tensors: Tensor[] = [];
    try {
      for (const k of idx) tensors.push(weights[k]!.read());
      l.setWeights(tensors);
    } catch (e) {
      const names = printable(idx.map((k) => `'${weights[k]!.name}'`).join(', '), 300);
      throw modelFileError(e, `${source}: layer '${printable(l.name, 60)}' (${printable(l.className, 40)}), weights ${names}`);
    } finally {
      for (const t of tensors) t.dispose();
    }
  });
}

function sequentialModel(top: Obj, weights: readonly StoredWeight[], source: string, maskedOutput: 'zeros' | 'carry'): Sequential {
  const config = top.config;
  const list = layerList(config, source);
  const modelName = isObj(config) && typeof config.name === 'string' ? config.name : undefined;
  let input: Shape | null = null;
  const layers: Layer[] = [];
  try {
    list.forEach((entry, i) => {
      const where = `${source}: layer ${i}`;
      const layer = layerOf(entry, where, maskedOutput);
      const cfg = (entry as Obj).config as Obj;
      if (layer instanceof InputLayer) {
        input = layer.batchInputShape;
        return;
      }
      if (layers.length === 0 && !input) {
        input = declaredShape(cfg, where);
        const length = get(cfg, 'input_length');
        if (!input && layer.className === 'Embedding' && typeof length === 'number') input = [null, length];
      }
      layers.push(layer);
    });
    if (layers.length === 0) throw fileTypeError(`${source}: the model has no layers`);
    setStoredWeights(layers, weights, modelName, source);
    const model = new Sequential([], modelName);
    for (const l of layers) model.add(l);
    if (!model.inputShape) model.build(input ?? fallbackInput(layers, source));
    return model;
  } catch (e) {
    for (const l of layers) l.dispose();
    throw modelFileError(e);
  }
}

/** The input shape of a model whose file declares none, from its first layer with weights. */
function fallbackInput(layers: readonly Layer[], source: string): Shape {
  const first = layers.find((l) => l.className !== 'Dropout');
  if (!first) throw fileTypeError(`${source}: the model declares no input shape and has only Dropout layers`);
  if (first.className === 'Embedding') return [null, null];
  const D = (first as Layer & { inputFeatures?: number }).inputFeatures ?? (first as Layer & { forwardLayer?: { inputFeatures: number } }).forwardLayer?.inputFeatures;
  if (!D) throw fileTypeError(`${source}: the model declares no input shape (batch_input_shape) and its first layer does not tell it`);
  return first.className === 'Dense' ? [null, D] : [null, null, D];
}

/** `[layer, node, tensor]` of a Keras 2 inbound entry or a Keras 3 `__keras_tensor__`. */
function historyOf(v: unknown, where: string): [string, number, number] {
  let h: unknown = v;
  if (isObj(v)) {
    const cfg = v.config;
    h = isObj(cfg) ? cfg.keras_history : undefined;
  }
  if (!Array.isArray(h) || h.length < 3 || typeof h[0] !== 'string' || !Number.isInteger(h[1]) || !Number.isInteger(h[2])) {
    throw fileTypeError(`${where} must be [layer name, node index, tensor index], got ${quote(v)}`);
  }
  return [h[0], h[1] as number, h[2] as number];
}

/** The input references of one inbound node, and whether they were given as a list. */
function nodeInputs(node: unknown, where: string): { refs: [string, number, number][]; list: boolean } {
  if (Array.isArray(node)) {
    // Keras 2 / tfjs: a list of [layer, node, tensor, kwargs].
    return { refs: node.map((e, k) => historyOf(e, `${where}[${k}]`)), list: node.length > 1 };
  }
  if (isObj(node) && Array.isArray(node.args)) {
    // Keras 3: { args: [tensor | [tensors...]], kwargs }.
    const first = node.args[0];
    if (Array.isArray(first)) return { refs: first.map((e, k) => historyOf(e, `${where}.args[0][${k}]`)), list: true };
    return { refs: node.args.filter((a) => isObj(a) && a.class_name === '__keras_tensor__').map((e, k) => historyOf(e, `${where}.args[${k}]`)), list: false };
  }
  throw fileTypeError(`${where} must be a list of inputs (Keras 2) or { args, kwargs } (Keras 3), got ${quote(node)}`);
}

/** `input_layers`/`output_layers`: a list of `[layer, node, tensor]`, or one such triple. */
function endpoints(v: unknown, where: string): [string, number, number][] {
  if (!Array.isArray(v) || v.length === 0) throw fileTypeError(`${where} must be a non-empty list of [layer name, node index, tensor index]`);
  if (typeof v[0] === 'string') return [historyOf(v, where)];
  return v.map((e, k) => historyOf(e, `${where}[${k}]`));
}

function functionalModel(top: Obj, weights: readonly StoredWeight[], source: string, maskedOutput: 'zeros' | 'carry'): LayersModel {
  const config = top.config;
  if (!isObj(config)) throw fileTypeError(`${source}: the topology's config is missing`);
  const list = layerList(config, source);
  const modelName = typeof config.name === 'string' ? config.name : undefined;
  const layers: Layer[] = [];
  try {
    const byName = new Map<string, { layer: Layer; nodes: unknown[] }>();
    list.forEach((entry, i) => {
      const where = `${source}: layer ${i}`;
      const layer = layerOf(entry, where, maskedOutput);
      layers.push(layer);
      if (byName.has(layer.name)) throw fileTypeError(`${where}: two layers are named '${printable(layer.name, 60)}'`);
      const nodes = (entry as Obj).inbound_nodes ?? [];
      if (!Array.isArray(nodes)) throw fileTypeError(`${where}: inbound_nodes must be a list`);
      if (nodes.length > MAX_NODES) throw fileRangeError(`${where}: inbound_nodes lists ${nodes.length} calls, more than ${MAX_NODES}`);
      byName.set(layer.name, { layer, nodes });
    });
    setStoredWeights(layers, weights, modelName, source);

    // Nodes are created as soon as their inputs exist (Keras lists layers in any order).
    const tensors = new Map<string, SymbolicTensor>();
    const key = (l: string, n: number, t: number) => `${l}\u0000${n}\u0000${t}`;
    for (const l of layers) if (l instanceof InputLayer) tensors.set(key(l.name, 0, 0), l.output);
    const pending: { layer: Layer; index: number; node: unknown; where: string }[] = [];
    list.forEach((_, i) => {
      const l = layers[i]!;
      if (l instanceof InputLayer) return;
      byName.get(l.name)!.nodes.forEach((node, k) => pending.push({ layer: l, index: k, node, where: `${source}: layer ${i} '${printable(l.name, 60)}' inbound_nodes[${k}]` }));
    });
    const created = new Map<Layer, number>();
    while (pending.length > 0) {
      let progressed = false;
      for (let p = 0; p < pending.length; ) {
        const { layer, index, node, where } = pending[p]!;
        const { refs, list: asList } = nodeInputs(node, where);
        for (const [name] of refs) if (!byName.has(name)) throw fileTypeError(`${where}: no layer is named '${printable(name, 60)}'`);
        const ins = refs.map(([l, n, t]) => tensors.get(key(l, n, t)));
        // Nodes of one layer are created in their order, so that node indices agree.
        if (ins.some((t) => t === undefined) || (created.get(layer) ?? 0) !== index) {
          p++;
          continue;
        }
        const out = applyLayer(layer, asList || layer.inputArity === 'many' ? (ins as SymbolicTensor[]) : ins[0]!);
        (Array.isArray(out) ? out : [out]).forEach((t, k) => tensors.set(key(layer.name, index, k), t));
        created.set(layer, index + 1);
        pending.splice(p, 1);
        progressed = true;
      }
      if (!progressed) {
        const { where } = pending[0]!;
        throw fileTypeError(`${where}: its inputs are never produced (a missing layer or node, or a cycle)`);
      }
    }
    const resolve = (refs: [string, number, number][], what: string) =>
      refs.map(([l, n, t]) => {
        const found = tensors.get(key(l, n, t));
        if (!found) throw fileTypeError(`${source}: ${what} names '${printable(l, 60)}' node ${n} tensor ${t}, which the model does not produce`);
        return found;
      });
    const inputs = resolve(endpoints(config.input_layers, `${source}: input_layers`), 'input_layers');
    const outputs = resolve(endpoints(config.output_layers, `${source}: output_layers`), 'output_layers');
    return new LayersModel({ inputs, outputs, ...(modelName ? { name: modelName } : {}) });
  } catch (e) {
    for (const l of layers) l.dispose();
    throw modelFileError(e);
  }
}
