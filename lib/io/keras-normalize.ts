/**
 * Keras 2 and Keras 3 model configs rewritten in the spelling of a tfjs-layers
 * `modelTopology.model_config`, which the model builder reads. Keras 2 (tf.keras) configs
 * already are in that spelling; Keras 3 ones differ:
 * - every serialized object carries `module` and `registered_name`, layers `build_config`,
 *   the model `compile_config` (dropped here, with `shared_object_id`);
 * - `dtype` is a policy object, `{class_name: 'DTypePolicy', config: {name: 'float32'}}`
 *   (written as its name; mixed policies as 'float32', the dtype of their variables);
 * - InputLayer's shape is `batch_shape` (written as `batch_input_shape`);
 * - functional layers' `inbound_nodes` are `[{args: [...], kwargs: {...}}]`, tensors in
 *   them `{class_name: '__keras_tensor__', config: {keras_history: [layer, node, index]}}`
 *   (written as Keras 2's `[[[layer, node, index, kwargs], ...]]`); `input_layers` and
 *   `output_layers` of a one-input model may be a single `[layer, node, index]`;
 * - Bidirectional's inner layer is named `forward_<name>` and the backward layer is stored
 *   too (the prefix is dropped, as Keras does, and the backward layer when it mirrors the
 *   forward one).
 */
import type { JsonObject, JsonValue } from './keras-config';
import { fileTypeError, printable } from './untrusted-files';

/** Keys Keras 3 writes that tfjs-layers configs do not have. */
const KERAS3_ONLY = ['module', 'registered_name', 'build_config', 'compile_config', 'shared_object_id'];

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A Keras 2 or 3 model config (`{class_name, config}` as stored in config.json or an `.h5`
 * file's `model_config`) in the spelling of a tfjs-layers `modelTopology.model_config`. The
 * input is not changed.
 *
 * @param modelConfig the stored model config
 * @param where names the file in errors
 * @returns a new config: snake_case keys as stored, `batch_input_shape`, dtypes as strings,
 *   Keras 2 style `inbound_nodes`
 * @throws an error with code `RNNKIT_MODEL_FILE` when the config is malformed or passes
 *   tensors as keyword arguments (which the Keras 2 spelling cannot say)
 */
export function normalizeKerasModelConfig(modelConfig: JsonObject, where = 'model config'): JsonObject {
  const out = clean(modelConfig, where) as JsonObject;
  if (typeof out.class_name !== 'string') throw fileTypeError(`${where}: class_name must be a string`);
  const config = out.config;
  if (!isObject(config)) return out;
  const layers = config.layers;
  if (!Array.isArray(layers)) throw fileTypeError(`${where}: config.layers must be an array`);
  layers.forEach((entry, i) => normalizeLayer(entry, `${where}: layer ${i}`));
  if (out.class_name === 'Sequential') {
    const first = layers[0];
    const build = config.build_input_shape;
    // Keras 3 may list no InputLayer: the model's build shape is the first layer's input.
    if (isObject(first) && first.class_name !== 'InputLayer' && Array.isArray(build) && isObject(first.config) && first.config.batch_input_shape === undefined) {
      first.config.batch_input_shape = build;
    }
  } else {
    for (const key of ['input_layers', 'output_layers']) {
      const v = config[key];
      if (v === undefined) continue;
      config[key] = tensorList(v, `${where}: ${key}`);
    }
  }
  return out;
}

/** A deep copy without Keras 3's extra keys, dtype policies written as dtypes. */
function clean(v: JsonValue, where: string): JsonValue {
  if (Array.isArray(v)) return v.map((x) => clean(x, where));
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  const serialized = typeof v.class_name === 'string' && 'config' in v;
  for (const [k, x] of Object.entries(v)) {
    if (serialized && KERAS3_ONLY.includes(k)) continue;
    out[k] = k === 'dtype' ? dtypeOf(x, where) : clean(x, where);
  }
  return out;
}

function dtypeOf(v: JsonValue, where: string): JsonValue {
  if (!isObject(v)) return v;
  const name = isObject(v.config) ? v.config.name : undefined;
  if (typeof v.class_name !== 'string' || !/DTypePolicy$/.test(v.class_name) || typeof name !== 'string') {
    throw fileTypeError(`${where}: dtype must be a string or a DTypePolicy, got ${printable(JSON.stringify(v), 120)}`);
  }
  return /^mixed_/.test(name) ? 'float32' : name;
}

function normalizeLayer(entry: JsonValue, where: string): void {
  if (!isObject(entry) || !isObject(entry.config)) return;
  const cfg = entry.config;
  if (entry.class_name === 'InputLayer' && cfg.batch_input_shape === undefined && cfg.batch_shape !== undefined) {
    cfg.batch_input_shape = cfg.batch_shape;
    delete cfg.batch_shape;
  }
  if (isObject(cfg.layer)) {
    normalizeLayer(cfg.layer, `${where}: layer`);
    if (entry.class_name === 'Bidirectional') normalizeBidirectional(cfg, `${where}`);
  }
  if (Array.isArray(entry.inbound_nodes)) entry.inbound_nodes = entry.inbound_nodes.map((n, i) => inboundNode(n, `${where}: inbound_nodes[${i}]`));
}

function normalizeBidirectional(cfg: JsonObject, where: string): void {
  const forward = cfg.layer as JsonObject;
  const fc = forward.config;
  if (isObject(fc) && typeof fc.name === 'string' && fc.name.startsWith('forward_')) fc.name = fc.name.slice('forward_'.length);
  const backward = cfg.backward_layer;
  if (!isObject(backward)) return;
  normalizeLayer(backward, `${where}: backward_layer`);
  const bc = backward.config;
  if (!isObject(fc) || !isObject(bc) || backward.class_name !== forward.class_name) return;
  const strip = (c: JsonObject) => JSON.stringify(Object.entries(c).filter(([k]) => k !== 'name' && k !== 'go_backwards').sort(([a], [b]) => (a < b ? -1 : 1)));
  if (bc.go_backwards === !fc.go_backwards && strip(bc) === strip(fc)) delete cfg.backward_layer;
}

/** A Keras 3 `{args, kwargs}` node as Keras 2's `[[layer, node, index, kwargs], ...]`; Keras 2 nodes unchanged. */
function inboundNode(node: JsonValue, where: string): JsonValue {
  if (!isObject(node)) return node;
  const tensors: JsonValue[][] = [];
  const collect = (v: JsonValue) => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (isObject(v) && v.class_name === '__keras_tensor__') {
      const h = isObject(v.config) ? v.config.keras_history : undefined;
      if (!Array.isArray(h) || h.length !== 3 || typeof h[0] !== 'string') throw fileTypeError(`${where}: a tensor without a valid keras_history`);
      tensors.push([h[0], h[1]!, h[2]!]);
    }
  };
  collect(node.args ?? []);
  const kwargs: JsonObject = {};
  if (isObject(node.kwargs)) {
    for (const [k, v] of Object.entries(node.kwargs)) {
      if (JSON.stringify(v).includes('"__keras_tensor__"')) throw fileTypeError(`${where}: tensors passed as keyword argument '${printable(k, 40)}' are not supported`);
      // Call-time defaults Keras 3 writes for every call.
      if (v === null || k === 'training' || k === 'mask') continue;
      kwargs[k] = v;
    }
  }
  if (tensors.length === 0) throw fileTypeError(`${where}: the node has no input tensor`);
  return tensors.map((t) => [...t, kwargs]);
}

/** `[layer, node, index]` or a list or dict of them, as a list of them. */
function tensorList(v: JsonValue, where: string): JsonValue {
  if (Array.isArray(v) && typeof v[0] === 'string') return [v];
  if (Array.isArray(v)) return v;
  if (isObject(v)) return Object.values(v);
  throw fileTypeError(`${where}: must be a list of [layer, node, index]`);
}
