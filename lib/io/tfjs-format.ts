/**
 * Reading and writing models in the tfjs-layers format: `model.json` (`modelTopology`
 * with Keras layer configs, and a `weightsManifest`) plus little-endian float32 `.bin`
 * shards, as written by `tf.LayersModel.save` and `tensorflowjs_converter` from Keras.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describe, rangeError, rethrow, rnnkitError, typeError } from '../errors';
import { InitializerSpec } from '../initializers';
import { Bidirectional, bidirectional } from '../layers/bidirectional';
import { dense, Dense } from '../layers/dense';
import { Dropout, dropout } from '../layers/dropout';
import { Embedding, embedding } from '../layers/embedding';
import { TimeDistributed, timeDistributed } from '../layers/time-distributed';
import { Activation, gru, lstm, RecurrentLayer, simpleRNN } from '../layers/recurrent';
import { DenseLike, isDense, kerasClassName, layerName, ModelLayer, setBidirectionalName, setTimeDistributedName, weightCount } from '../models/layer-kinds';
import { Sequential } from '../models/sequential';
import { Tensor, tensor } from '../tensor';

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One entry of a weights manifest group. */
export interface WeightSpec {
  /** E.g. `lstm_1/kernel`. */
  name: string;
  shape: number[];
  /** Only 'float32' is read or written. */
  dtype: 'float32';
}

/** The contents of a tfjs-layers `model.json`. */
export interface ModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: string | null;
  modelTopology: { [key: string]: JsonValue };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

const VERSION = '0.1.0';
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

// ---------------------------------------------------------------------------------------
// names

/** rnnkit activation name → Keras / tfjs name. */
function kerasActivation(a: string): string {
  return a === 'hardSigmoid' ? 'hard_sigmoid' : a;
}

/** Keras / tfjs activation name → rnnkit name (unknown names pass through for the layer to reject). */
function rkActivation(a: unknown, where: string): string | undefined {
  if (a === undefined || a === null) return undefined;
  if (typeof a !== 'string') throw typeError(`${where}: activation must be a string, got ${describe(a)}`);
  const map: Record<string, string> = { hard_sigmoid: 'hardSigmoid', hardsigmoid: 'hardSigmoid', hardSigmoid: 'hardSigmoid' };
  return map[a] ?? a;
}

const INITIALIZER_CLASSES: Record<string, [string, { [k: string]: JsonValue }]> = {
  glorotuniform: ['GlorotUniform', { seed: null }],
  glorotnormal: ['GlorotNormal', { seed: null }],
  heuniform: ['HeUniform', { seed: null }],
  henormal: ['HeNormal', { seed: null }],
  lecununiform: ['LecunUniform', { seed: null }],
  lecunnormal: ['LecunNormal', { seed: null }],
  orthogonal: ['Orthogonal', { gain: 1, seed: null }],
  identity: ['Identity', { gain: 1 }],
  zeros: ['Zeros', {}],
  ones: ['Ones', {}],
  constant: ['Constant', { value: 0 }],
  randomnormal: ['RandomNormal', { mean: 0, stddev: 0.05, seed: null }],
  randomuniform: ['RandomUniform', { minval: -0.05, maxval: 0.05, seed: null }],
  truncatednormal: ['TruncatedNormal', { mean: 0, stddev: 0.05, seed: null }],
  variancescaling: ['VarianceScaling', { scale: 1, mode: 'fan_in', distribution: 'truncated_normal', seed: null }],
};

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** An rnnkit initializer as Keras serializes it (`{ class_name, config }`). */
function kerasInitializer(spec: InitializerSpec | undefined, fallback: string): JsonValue {
  const s = spec ?? fallback;
  const name = typeof s === 'string' ? s : s.className;
  const entry = INITIALIZER_CLASSES[name.replace(/_/g, '').toLowerCase()];
  const config: { [k: string]: JsonValue } = { ...(entry?.[1] ?? {}) };
  if (typeof s !== 'string' && s.config) {
    for (const [k, v] of Object.entries(s.config)) {
      if (v === undefined) continue;
      config[k] = (k === 'mode' || k === 'distribution') && typeof v === 'string' ? snake(v) : v;
    }
  }
  return { class_name: entry?.[0] ?? name, config };
}

// ---------------------------------------------------------------------------------------
// writing

/** The keys every Keras layer config starts with. */
function baseConfig(name: string, batchInputShape: (number | null)[] | null): Record<string, JsonValue> {
  return { name, trainable: true, ...(batchInputShape ? { batch_input_shape: batchInputShape } : {}), dtype: 'float32' };
}

function recurrentConfig(l: RecurrentLayer, batchInputShape: (number | null)[] | null): { [k: string]: JsonValue } {
  const c = l.config;
  const cfg: { [k: string]: JsonValue } = {
    ...baseConfig(c.name, batchInputShape),
    units: c.units,
    activation: kerasActivation(c.activation),
    ...(c.cell !== 'simpleRNN' ? { recurrent_activation: kerasActivation(c.recurrentActivation) } : {}),
    use_bias: c.useBias,
    kernel_initializer: kerasInitializer(c.kernelInitializer, 'glorotUniform'),
    recurrent_initializer: kerasInitializer(c.recurrentInitializer, 'orthogonal'),
    bias_initializer: kerasInitializer(c.biasInitializer, 'zeros'),
    ...(c.cell === 'lstm' ? { unit_forget_bias: c.unitForgetBias } : {}),
    kernel_regularizer: null,
    recurrent_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    recurrent_constraint: null,
    bias_constraint: null,
    dropout: 0,
    recurrent_dropout: 0,
    ...(c.cell !== 'simpleRNN' ? { implementation: null } : {}),
    ...(c.cell === 'gru' ? { reset_after: c.resetAfter } : {}),
    return_sequences: c.returnSequences,
    return_state: c.returnState,
    go_backwards: c.goBackwards,
    stateful: c.stateful,
    unroll: false,
  };
  // Not a Keras option: written only when it differs from the default, so that a reload
  // in rnnkit keeps it (tfjs ignores the key).
  if (c.maskedOutput !== 'zeros') cfg.rnnkit_masked_output = c.maskedOutput;
  return cfg;
}


function layerConfig(l: ModelLayer, batchInputShape: (number | null)[] | null): JsonValue {
  const class_name = kerasClassName(l);
  if (l instanceof RecurrentLayer) return { class_name, config: recurrentConfig(l, batchInputShape) };
  if (l instanceof Bidirectional) {
    return {
      class_name,
      config: {
        ...baseConfig(layerName(l), batchInputShape),
        merge_mode: l.mergeMode,
        layer: { class_name: kerasClassName(l.forwardLayer), config: recurrentConfig(l.forwardLayer, null) },
      },
    };
  }
  if (l instanceof Embedding) {
    const c = l.config;
    const T = batchInputShape ? batchInputShape[1] ?? null : (c.batchInputShape?.[1] ?? null);
    return {
      class_name,
      config: {
        ...baseConfig(c.name, batchInputShape),
        input_dim: c.inputDim,
        output_dim: c.outputDim,
        embeddings_initializer: kerasInitializer(c.embeddingsInitializer, 'randomUniform'),
        embeddings_regularizer: null,
        activity_regularizer: null,
        embeddings_constraint: null,
        mask_zero: c.maskZero,
        input_length: T,
      },
    };
  }
  if (l instanceof Dropout) {
    return { class_name, config: { ...baseConfig(l.name, batchInputShape), rate: l.config.rate, noise_shape: null, seed: l.config.seed } };
  }
  if (l instanceof TimeDistributed) {
    return {
      class_name,
      config: { ...baseConfig(layerName(l), batchInputShape), layer: { class_name: 'Dense', config: denseConfig(l.layer, null) } },
    };
  }
  return { class_name, config: denseConfig(l, batchInputShape) };
}

function denseConfig(l: DenseLike, batchInputShape: (number | null)[] | null): { [k: string]: JsonValue } {
  const c = l.config;
  return {
      ...baseConfig(c.name, batchInputShape),
      units: c.units,
      activation: kerasActivation(c.activation),
      use_bias: c.useBias,
      kernel_initializer: kerasInitializer(c.kernelInitializer, 'glorotUniform'),
      bias_initializer: kerasInitializer(c.biasInitializer, 'zeros'),
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
  };
}

/** Weight names as tfjs-layers gives them: `<layer>/kernel`, `<bidirectional>/forward_<layer>/kernel`. */
function weightNames(l: ModelLayer): string[] {
  const rec = (prefix: string, r: RecurrentLayer) =>
    ['kernel', 'recurrent_kernel', ...(r.config.useBias ? ['bias'] : [])].map((w) => `${prefix}/${w}`);
  if (l instanceof RecurrentLayer) return rec(l.name, l);
  if (l instanceof Bidirectional) {
    const inner = l.forwardLayer.name;
    return [...rec(`${layerName(l)}/forward_${inner}`, l.forwardLayer), ...rec(`${layerName(l)}/backward_${inner}`, l.backwardLayer)];
  }
  if (l instanceof Embedding) return [`${l.name}/embeddings`];
  if (l instanceof Dropout) return [];
  return ['kernel', ...(l.config.useBias ? ['bias'] : [])].map((w) => `${layerName(l)}/${w}`);
}

/**
 * A built model as tfjs-layers artifacts: the `model.json` contents (with one shard,
 * `weights.bin`) and the weight bytes.
 * @throws Error when the model is not built
 */
export function modelToArtifacts(model: Sequential): { modelJson: ModelJson; weightData: ArrayBuffer } {
  const input = model.inputShape;
  if (!input || !model.built) throw rnnkitError('RNNKIT_INVALID_STATE', `${model.name}.save: the model is not built; build it or run predict() first`);
  const layers = model.layers;
  const specs: WeightSpec[] = [];
  const arrays: Float32Array[] = [];
  for (const l of layers) {
    const names = weightNames(l);
    const ws = l.getWeights();
    ws.forEach((w, k) => {
      specs.push({ name: names[k] ?? `${layerName(l)}/weight_${k}`, shape: [...w.shape], dtype: 'float32' });
      arrays.push(w.dataSync());
      w.dispose();
    });
  }
  const bytes = arrays.reduce((a, x) => a + x.byteLength, 0);
  const all = new Float32Array(bytes / 4);
  let offset = 0;
  for (const a of arrays) {
    all.set(a, offset);
    offset += a.length;
  }
  const modelJson: ModelJson = {
    format: 'layers-model',
    generatedBy: `rnnkit v${VERSION}`,
    convertedBy: null,
    modelTopology: {
      class_name: 'Sequential',
      config: { name: model.name, layers: layers.map((l, i) => layerConfig(l, i === 0 ? [null, ...input.slice(1)] : null)) },
      keras_version: `rnnkit ${VERSION}`,
      backend: 'rnnkit',
    },
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  return { modelJson, weightData: littleEndian(all) };
}

/** The bytes of a Float32Array in little-endian order (the tfjs format's). */
function littleEndian(a: Float32Array): ArrayBuffer {
  const buf = new ArrayBuffer(a.byteLength);
  const view = new DataView(buf);
  if (LITTLE_ENDIAN) {
    new Float32Array(buf).set(a);
  } else {
    for (let i = 0; i < a.length; i++) view.setFloat32(4 * i, a[i]!, true);
  }
  return buf;
}

/**
 * Writes `model` to `dir` (created if needed) as `model.json` and `weights.bin`.
 * @throws Error when the model is not built or the files cannot be written
 */
export async function saveModel(model: Sequential, dir: string): Promise<void> {
  if (typeof dir !== 'string' || dir.length === 0) throw typeError(`${model.name}.save: dir must be a non-empty string, got ${describe(dir)}`);
  await model.weightsReady(); // large layers initialize on a worker: wait without blocking
  const { modelJson, weightData } = modelToArtifacts(model);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'weights.bin'), new Uint8Array(weightData));
  await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
}

// ---------------------------------------------------------------------------------------
// reading

type Obj = { [key: string]: unknown };

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A config value under its snake_case (Keras) or camelCase (tfjs in memory) key. */
function get(cfg: Obj, key: string): unknown {
  if (cfg[key] !== undefined) return cfg[key];
  return cfg[camel(key)];
}

function optBool(cfg: Obj, key: string, where: string): boolean | undefined {
  const v = get(cfg, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw typeError(`${where}: ${key} must be a boolean, got ${describe(v)}`);
  return v;
}

function shapeOf(v: unknown, where: string): (number | null)[] {
  if (!Array.isArray(v) || v.length < 2 || !v.every((d) => d === null || (typeof d === 'number' && Number.isInteger(d) && d >= 1))) {
    throw typeError(`${where} must be an array of positive integers or null, got ${JSON.stringify(v)}`);
  }
  return v as (number | null)[];
}

function declaredShape(cfg: Obj, where: string): (number | null)[] | null {
  const s = get(cfg, 'batch_input_shape') ?? get(cfg, 'batch_shape');
  if (s !== undefined && s !== null) return shapeOf(s, `${where}: batch_input_shape`);
  const i = get(cfg, 'input_shape');
  if (i !== undefined && i !== null) return [null, ...shapeOf([null, ...(i as unknown[])], `${where}: input_shape`).slice(1)];
  return null;
}

const RECURRENT_CLASSES = ['LSTM', 'GRU', 'SimpleRNN'] as const;

function recurrentFromConfig(className: string, cfg: Obj, where: string): RecurrentLayer {
  const dtype = get(cfg, 'dtype');
  if (typeof dtype === 'string' && dtype !== 'float32') throw typeError(`${where}: dtype '${dtype}' is not supported (float32 only)`);
  if (get(cfg, 'time_major') === true) throw typeError(`${where}: time_major: true is not supported`);
  const name = get(cfg, 'name');
  const activation = rkActivation(get(cfg, 'activation'), where);
  const recurrentActivation = rkActivation(get(cfg, 'recurrent_activation'), where);
  const masked = get(cfg, 'rnnkit_masked_output');
  const common = {
    units: get(cfg, 'units') as number,
    ...(typeof name === 'string' ? { name } : {}),
    ...(activation !== undefined ? { activation: activation as Activation } : {}),
    ...(optBool(cfg, 'use_bias', where) !== undefined ? { useBias: optBool(cfg, 'use_bias', where) } : {}),
    ...(optBool(cfg, 'return_sequences', where) !== undefined ? { returnSequences: optBool(cfg, 'return_sequences', where) } : {}),
    ...(optBool(cfg, 'return_state', where) !== undefined ? { returnState: optBool(cfg, 'return_state', where) } : {}),
    ...(optBool(cfg, 'go_backwards', where) !== undefined ? { goBackwards: optBool(cfg, 'go_backwards', where) } : {}),
    ...(optBool(cfg, 'stateful', where) !== undefined ? { stateful: optBool(cfg, 'stateful', where) } : {}),
    ...(masked === 'carry' || masked === 'zeros' ? { maskedOutput: masked as 'carry' | 'zeros' } : {}),
    seed: 0,
  };
  if (className === 'SimpleRNN') return simpleRNN(common);
  const gates = { ...common, ...(recurrentActivation !== undefined ? { recurrentActivation: recurrentActivation as Activation } : {}) };
  if (className === 'LSTM') {
    const ufb = optBool(cfg, 'unit_forget_bias', where);
    return lstm({ ...gates, ...(ufb !== undefined ? { unitForgetBias: ufb } : {}) });
  }
  const ra = optBool(cfg, 'reset_after', where);
  return gru({ ...gates, ...(ra !== undefined ? { resetAfter: ra } : {}) });
}

function denseFromConfig(cfg: Obj, name: string, where: string): Dense {
  const activation = rkActivation(get(cfg, 'activation'), where);
  const useBias = optBool(cfg, 'use_bias', where);
  return dense({
    units: get(cfg, 'units') as number,
    name,
    seed: 0,
    ...(activation !== undefined ? { activation: activation as 'linear' } : {}),
    ...(useBias !== undefined ? { useBias } : {}),
  });
}

interface ParsedLayer {
  layer: ModelLayer;
  name: string;
  className: string;
}

function layerFromConfig(entry: unknown, index: number, inputShape: { value: (number | null)[] | null }): ParsedLayer | null {
  let where = `model.json: modelTopology layer ${index}`;
  if (!isObj(entry)) throw typeError(`${where} must be an object with class_name and config`);
  const className = entry.class_name ?? entry.className;
  if (typeof className !== 'string') throw typeError(`${where}: class_name is missing`);
  const cfg = entry.config;
  if (!isObj(cfg)) throw typeError(`${where} (${className}): config is missing`);
  const name = typeof cfg.name === 'string' ? cfg.name : `${className.toLowerCase()}_${index}`;
  where = `model.json: layer ${index} '${name}' (${className})`;
  const declared = declaredShape(cfg, where);
  if (declared && index === 0) inputShape.value = declared;
  if (className === 'InputLayer') {
    if (!declared) throw typeError(`${where}: batch_input_shape is missing`);
    inputShape.value = declared;
    return null;
  }
  try {
    if ((RECURRENT_CLASSES as readonly string[]).includes(className)) {
      return { layer: recurrentFromConfig(className, cfg, where), name, className };
    }
    if (className === 'Bidirectional') {
      const inner = get(cfg, 'layer');
      if (!isObj(inner)) throw typeError(`${where}: config.layer is missing`);
      const innerClass = inner.class_name ?? inner.className;
      if (typeof innerClass !== 'string' || !(RECURRENT_CLASSES as readonly string[]).includes(innerClass)) {
        throw typeError(`${where}: the wrapped layer must be LSTM, GRU or SimpleRNN, got ${describe(innerClass)}`);
      }
      if (!isObj(inner.config)) throw typeError(`${where}: config.layer.config is missing`);
      const mode = get(cfg, 'merge_mode');
      if (mode === null) throw typeError(`${where}: merge_mode null (a list of outputs) is not supported`);
      if (mode !== undefined && !['concat', 'sum', 'mul', 'ave'].includes(mode as string)) {
        throw typeError(`${where}: merge_mode must be 'concat', 'sum', 'mul' or 'ave', got ${describe(mode)}`);
      }
      const wrapped = recurrentFromConfig(innerClass, inner.config, `${where} > ${innerClass}`);
      const b = bidirectional({ layer: wrapped, ...(mode !== undefined ? { mergeMode: mode as 'concat' } : {}) });
      setBidirectionalName(b, name);
      return { layer: b, name, className };
    }
    if (className === 'Dense') return { layer: denseFromConfig(cfg, name, where), name, className };
    if (className === 'Embedding') {
      const length = get(cfg, 'input_length');
      if (length !== undefined && length !== null && !(typeof length === 'number' && Number.isInteger(length) && length >= 1)) {
        throw typeError(`${where}: input_length must be a positive integer or null, got ${describe(length)}`);
      }
      if (declared && declared.length !== 2) throw typeError(`${where}: batch_input_shape must be [batch, timesteps], got ${JSON.stringify(declared)}`);
      const T = declared ? declared[1]! : typeof length === 'number' ? length : null;
      if (index === 0 && !declared && T !== null) inputShape.value = [null, T];
      const maskZero = optBool(cfg, 'mask_zero', where);
      const layer = embedding({
        inputDim: get(cfg, 'input_dim') as number,
        outputDim: get(cfg, 'output_dim') as number,
        name,
        seed: 0,
        ...(maskZero !== undefined ? { maskZero } : {}),
      });
      return { layer, name, className };
    }
    if (className === 'Dropout') {
      const noise = get(cfg, 'noise_shape');
      if (noise !== undefined && noise !== null) throw typeError(`${where}: noise_shape is not supported`);
      const seed = get(cfg, 'seed');
      const layer = dropout({ rate: get(cfg, 'rate') as number, name, ...(typeof seed === 'number' ? { seed } : {}) });
      return { layer, name, className };
    }
    if (className === 'TimeDistributed') {
      const inner = get(cfg, 'layer');
      if (!isObj(inner)) throw typeError(`${where}: config.layer is missing`);
      const innerClass = inner.class_name ?? inner.className;
      if (innerClass !== 'Dense') throw typeError(`${where}: the wrapped layer must be Dense, got ${describe(innerClass)}`);
      if (!isObj(inner.config)) throw typeError(`${where}: config.layer.config is missing`);
      const innerName = typeof inner.config.name === 'string' ? inner.config.name : `${name}_dense`;
      const layer = timeDistributed({ layer: denseFromConfig(inner.config, innerName, `${where} > Dense`) });
      setTimeDistributedName(layer, name);
      return { layer, name, className };
    }
  } catch (e) {
    throw e instanceof Error && e.message.startsWith(where) ? e : rethrow(e, where);
  }
  throw typeError(`${where}: unsupported layer type '${className}' (supported: LSTM, GRU, SimpleRNN, Bidirectional, Dense, Embedding, Dropout, TimeDistributed, InputLayer)`);
}

interface ManifestWeight {
  spec: WeightSpec;
  group: number;
  offset: number;
}

function parseManifest(manifest: unknown): { groups: { paths: string[] }[]; weights: ManifestWeight[] } {
  const where = 'model.json: weightsManifest';
  if (!Array.isArray(manifest)) throw typeError(`${where} must be an array of { paths, weights } groups`);
  const weights: ManifestWeight[] = [];
  const groups = manifest.map((g, gi) => {
    if (!isObj(g) || !Array.isArray(g.paths) || !g.paths.every((p) => typeof p === 'string') || !Array.isArray(g.weights)) {
      throw typeError(`${where}[${gi}] must be { paths: string[], weights: [...] }`);
    }
    let offset = 0;
    g.weights.forEach((w, wi) => {
      const at = `${where}[${gi}].weights[${wi}]`;
      if (!isObj(w) || typeof w.name !== 'string') throw typeError(`${at}: name is missing`);
      const wat = `${at} '${w.name}'`;
      if (!Array.isArray(w.shape) || !w.shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
        throw typeError(`${wat}: shape must be an array of non-negative integers`);
      }
      if (w.dtype !== undefined && w.dtype !== 'float32') throw typeError(`${wat}: dtype '${String(w.dtype)}' is not supported (float32 only)`);
      if (w.quantization !== undefined && w.quantization !== null) throw typeError(`${wat}: quantized weights are not supported`);
      const spec: WeightSpec = { name: w.name, shape: w.shape as number[], dtype: 'float32' };
      weights.push({ spec, group: gi, offset });
      offset += 4 * spec.shape.reduce((a, b) => a * b, 1);
    });
    return { paths: g.paths as string[] };
  });
  return { groups, weights };
}

/**
 * Groups the manifest's weights by layer: by name prefix (`<layer>/...`) when that
 * accounts for every weight, else in order.
 */
function assignWeights(layers: ParsedLayer[], weights: ManifestWeight[]): ManifestWeight[][] {
  const counts = layers.map((p) => weightCount(p.layer));
  const total = counts.reduce((a, b) => a + b, 0);
  if (weights.length !== total) {
    throw rangeError(
      `model.json: weightsManifest lists ${weights.length} weights, but the layers need ${total} (${layers.map((p, i) => `${p.name}: ${counts[i]}`).join(', ')})`,
    );
  }
  const byName = layers.map((p) => weights.filter((w) => w.spec.name.startsWith(`${p.name}/`)));
  const claimed = new Set(byName.flat());
  if (claimed.size === weights.length && byName.every((ws, i) => ws.length === counts[i])) return byName;
  let k = 0;
  return counts.map((c) => weights.slice((k += c) - c, k));
}

/**
 * Builds a model from tfjs-layers artifacts: the `modelTopology`, the weight specs in
 * manifest order with their group index, and each group's bytes.
 */
function modelFromParts(json: Obj, groupData: ArrayBuffer[], groupPaths: string[][], weights: ManifestWeight[]): Sequential {
  let topology = json.modelTopology;
  if (!isObj(topology)) throw typeError('model.json: modelTopology is missing');
  if (isObj(topology.model_config)) topology = topology.model_config;
  const top = topology as Obj;
  const cls = top.class_name ?? top.className;
  if (cls !== 'Sequential') {
    throw typeError(`model.json: modelTopology.class_name must be 'Sequential' (only Sequential models are supported), got ${describe(cls)}`);
  }
  const config = top.config;
  const list = Array.isArray(config) ? config : isObj(config) ? config.layers : undefined;
  if (!Array.isArray(list)) throw typeError('model.json: modelTopology.config.layers must be an array');
  const inputShape: { value: (number | null)[] | null } = { value: null };
  const parsed: ParsedLayer[] = [];
  try {
    list.forEach((entry, i) => {
      const p = layerFromConfig(entry, i, inputShape);
      if (p) parsed.push(p);
    });
    if (parsed.length === 0) throw typeError('model.json: the model has no layers');
    const assigned = assignWeights(parsed, weights);
    parsed.forEach((p, i) => {
      const tensors = assigned[i]!.map((w) => readWeight(w, groupData, groupPaths));
      try {
        if ((isDense(p.layer) || p.layer instanceof TimeDistributed) && !p.layer.built && tensors[0]) {
          p.layer.build([null, tensors[0].shape[0] ?? 0]);
        }
        p.layer.setWeights(tensors);
      } catch (e) {
        throw rethrow(e, `model.json: layer '${p.name}' (${p.className}), weights ${assigned[i]!.map((w) => `'${w.spec.name}'`).join(', ')}`);
      } finally {
        for (const t of tensors) t.dispose();
      }
    });
    const name = isObj(config) && typeof config.name === 'string' ? config.name : undefined;
    const model = new Sequential([], name);
    for (const p of parsed) model.add(p.layer);
    if (!model.inputShape) model.build(inputShape.value ?? fallbackInput(parsed.map((p) => p.layer)));
    return model;
  } catch (e) {
    for (const p of parsed) p.layer.dispose();
    throw e;
  }
}

/** The input shape of a model whose file declares none, from its first layer with weights. */
function fallbackInput(layers: ModelLayer[]): (number | null)[] {
  const first = layers.find((l) => !(l instanceof Dropout)) ?? layers[0]!;
  if (first instanceof Embedding) return [null, null];
  if (first instanceof Dropout) throw typeError('model.json: the model declares no input shape and has only Dropout layers');
  const D = first instanceof Bidirectional ? first.forwardLayer.inputFeatures : first.inputFeatures;
  return isDense(first) ? [null, D] : [null, null, D];
}

function readWeight(w: ManifestWeight, groupData: ArrayBuffer[], groupPaths: string[][]): Tensor {
  const data = groupData[w.group]!;
  const size = w.spec.shape.reduce((a, b) => a * b, 1);
  const end = w.offset + 4 * size;
  if (end > data.byteLength) {
    throw rangeError(
      `model.json: weight '${w.spec.name}' [${w.spec.shape.join(',')}] needs bytes ${w.offset}..${end} of ${groupPaths[w.group]!.join(' + ')}, ` +
        `which hold only ${data.byteLength} bytes (truncated weights file?)`,
    );
  }
  let values: Float32Array;
  if (LITTLE_ENDIAN) {
    values = new Float32Array(data.slice(w.offset, end));
  } else {
    const view = new DataView(data, w.offset, 4 * size);
    values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = view.getFloat32(4 * i, true);
  }
  return tensor(values, w.spec.shape);
}

/**
 * Builds a model from in-memory tfjs-layers artifacts: the parsed `model.json` object and
 * each manifest group's bytes (its shards concatenated in order).
 * @throws TypeError/RangeError naming the layer, weight or field that is wrong
 */
export function modelFromJson(modelJson: unknown, groupData: readonly ArrayBuffer[]): Sequential {
  if (!isObj(modelJson)) throw typeError('model.json must hold a JSON object');
  if (modelJson.format !== undefined && modelJson.format !== 'layers-model') {
    throw typeError(`model.json: format must be 'layers-model', got ${describe(modelJson.format)}`);
  }
  const { groups, weights } = parseManifest(modelJson.weightsManifest ?? []);
  if (!Array.isArray(groupData) || groupData.length !== groups.length) {
    throw typeError(`modelFromJson: groupData must hold one ArrayBuffer per manifest group (${groups.length})`);
  }
  return modelFromParts(modelJson, [...groupData], groups.map((g) => g.paths), weights);
}

/**
 * Loads a tfjs-layers model (from `model.save`, `tf.LayersModel.save` or
 * `tensorflowjs_converter`): `pathOrDir` is the `model.json` file or its directory; the
 * `.bin` shards it lists are read from beside it. Supports Sequential models of LSTM, GRU
 * (including `reset_after: true` with its `[2, 3H]` bias), SimpleRNN, Bidirectional,
 * Dense, Embedding (first layer), Dropout, TimeDistributed(Dense) and InputLayer layers.
 * An Embedding with `mask_zero` becomes per-sequence lengths (the position of the first 0
 * id), so right-padded ids give tfjs's final outputs; at padded steps of a
 * `return_sequences` layer tfjs repeats the last valid output, rnnkit writes zeros unless
 * the layer has `maskedOutput: 'carry'`.
 * @throws TypeError/Error naming the layer or field for unsupported or malformed files,
 *   RangeError naming the weight for a truncated weights file
 */
export async function loadModel(pathOrDir: string): Promise<Sequential> {
  if (typeof pathOrDir !== 'string' || pathOrDir.length === 0) {
    throw typeError(`loadModel: pathOrDir must be a non-empty string, got ${describe(pathOrDir)}`);
  }
  let file = pathOrDir;
  const stat = await fs.stat(file).catch((e: NodeJS.ErrnoException) => {
    throw rnnkitError('RNNKIT_MODEL_FILE', `loadModel: cannot read '${pathOrDir}': ${e.code ?? e.message}`);
  });
  if (stat.isDirectory()) file = path.join(pathOrDir, 'model.json');
  const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw rnnkitError('RNNKIT_MODEL_FILE', `loadModel: cannot read '${file}': ${e.code ?? e.message}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw typeError(`loadModel: '${file}' is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObj(json)) throw typeError(`loadModel: '${file}' must hold a JSON object`);
  const { groups } = parseManifest(json.weightsManifest ?? []);
  const dir = path.dirname(file);
  const data: ArrayBuffer[] = [];
  for (const g of groups) {
    const parts: Buffer[] = [];
    for (const p of g.paths) {
      parts.push(
        await fs.readFile(path.resolve(dir, p)).catch((e: NodeJS.ErrnoException) => {
          throw rnnkitError('RNNKIT_MODEL_FILE', `loadModel: cannot read weights file '${p}' listed in ${file}: ${e.code ?? e.message}`);
        }),
      );
    }
    const all = Buffer.concat(parts);
    data.push(all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer);
  }
  return modelFromJson(json, data);
}
