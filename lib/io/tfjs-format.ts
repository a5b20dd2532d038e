/**
 * Reading and writing models in the tfjs-layers format: `model.json` (`modelTopology`
 * with Keras layer configs, and a `weightsManifest`) plus little-endian float32 `.bin`
 * shards, as written by `tf.LayersModel.save` and `tensorflowjs_converter` from Keras.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { clipText, describe, rangeError, rejectUnknownOptions, rnnkitError, typeError } from '../errors';
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
import { baseConfig, camel, declaredShape, get, isObj, JsonObject, JsonValue, kerasActivation, kerasInitializer, Obj, optBool, quote, rkActivation, shapeOf, snake } from './keras-config';
import { checkNesting, fileRangeError, fileTypeError, LoadBudget, modelFileError, openInside, openRegularFile, printable, readExactly, type OpenFile } from './untrusted-files';

export type { JsonValue } from './keras-config';

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

// ---------------------------------------------------------------------------------------
// writing

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

const RECURRENT_CLASSES = ['LSTM', 'GRU', 'SimpleRNN'] as const;

function recurrentFromConfig(className: string, cfg: Obj, where: string): RecurrentLayer {
  const dtype = get(cfg, 'dtype');
  if (typeof dtype === 'string' && dtype !== 'float32') throw fileTypeError(`${where}: dtype ${describe(dtype)} is not supported (float32 only)`);
  if (get(cfg, 'time_major') === true) throw fileTypeError(`${where}: time_major: true is not supported`);
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
  if (!isObj(entry)) throw fileTypeError(`${where} must be an object with class_name and config`);
  const className = entry.class_name ?? entry.className;
  if (typeof className !== 'string') throw fileTypeError(`${where}: class_name is missing`);
  const cfg = entry.config;
  if (!isObj(cfg)) throw fileTypeError(`${where} (${printable(className, 40)}): config is missing`);
  const name = typeof cfg.name === 'string' ? cfg.name : `${className.toLowerCase()}_${index}`;
  where = `model.json: layer ${index} '${printable(name, 60)}' (${printable(className, 40)})`;
  const declared = declaredShape(cfg, where);
  if (declared && index === 0) inputShape.value = declared;
  if (className === 'InputLayer') {
    if (!declared) throw fileTypeError(`${where}: batch_input_shape is missing`);
    inputShape.value = declared;
    return null;
  }
  try {
    if ((RECURRENT_CLASSES as readonly string[]).includes(className)) {
      return { layer: recurrentFromConfig(className, cfg, where), name, className };
    }
    if (className === 'Bidirectional') {
      const inner = get(cfg, 'layer');
      if (!isObj(inner)) throw fileTypeError(`${where}: config.layer is missing`);
      const innerClass = inner.class_name ?? inner.className;
      if (typeof innerClass !== 'string' || !(RECURRENT_CLASSES as readonly string[]).includes(innerClass)) {
        throw fileTypeError(`${where}: the wrapped layer must be LSTM, GRU or SimpleRNN, got ${describe(innerClass)}`);
      }
      if (!isObj(inner.config)) throw fileTypeError(`${where}: config.layer.config is missing`);
      const mode = get(cfg, 'merge_mode');
      if (mode === null) throw fileTypeError(`${where}: merge_mode null (a list of outputs) is not supported`);
      if (mode !== undefined && !['concat', 'sum', 'mul', 'ave'].includes(mode as string)) {
        throw fileTypeError(`${where}: merge_mode must be 'concat', 'sum', 'mul' or 'ave', got ${describe(mode)}`);
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
        throw fileTypeError(`${where}: input_length must be a positive integer or null, got ${describe(length)}`);
      }
      if (declared && declared.length !== 2) throw fileTypeError(`${where}: batch_input_shape must be [batch, timesteps], got ${quote(declared)}`);
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
      if (noise !== undefined && noise !== null) throw fileTypeError(`${where}: noise_shape is not supported`);
      const seed = get(cfg, 'seed');
      const layer = dropout({ rate: get(cfg, 'rate') as number, name, ...(typeof seed === 'number' ? { seed } : {}) });
      return { layer, name, className };
    }
    if (className === 'TimeDistributed') {
      const inner = get(cfg, 'layer');
      if (!isObj(inner)) throw fileTypeError(`${where}: config.layer is missing`);
      const innerClass = inner.class_name ?? inner.className;
      if (innerClass !== 'Dense') throw fileTypeError(`${where}: the wrapped layer must be Dense, got ${describe(innerClass)}`);
      if (!isObj(inner.config)) throw fileTypeError(`${where}: config.layer.config is missing`);
      const innerName = typeof inner.config.name === 'string' ? inner.config.name : `${name}_dense`;
      const layer = timeDistributed({ layer: denseFromConfig(inner.config, innerName, `${where} > Dense`) });
      setTimeDistributedName(layer, name);
      return { layer, name, className };
    }
  } catch (e) {
    throw e instanceof Error && e.message.startsWith(where) ? modelFileError(e) : modelFileError(e, where);
  }
  throw fileTypeError(`${where}: unsupported layer type '${printable(className, 40)}' (supported: LSTM, GRU, SimpleRNN, Bidirectional, Dense, Embedding, Dropout, TimeDistributed, InputLayer)`);
}

interface ManifestWeight {
  spec: WeightSpec;
  group: number;
  offset: number;
}

/** One manifest group: its shards, in order, hold its weights' bytes back to back. */
interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
  /** What its weights need: 4 bytes per value. */
  bytes: number;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function parseManifest(manifest: unknown): { groups: ManifestGroup[]; weights: ManifestWeight[] } {
  const where = 'model.json: weightsManifest';
  if (!Array.isArray(manifest)) throw fileTypeError(`${where} must be an array of { paths, weights } groups`);
  const weights: ManifestWeight[] = [];
  const groups = manifest.map((g, gi): ManifestGroup => {
    if (!isObj(g) || !Array.isArray(g.paths) || !g.paths.every((p) => typeof p === 'string') || !Array.isArray(g.weights)) {
      throw fileTypeError(`${where}[${gi}] must be { paths: string[], weights: [...] }`);
    }
    let offset = 0;
    const own: ManifestWeight[] = [];
    g.weights.forEach((w, wi) => {
      const at = `${where}[${gi}].weights[${wi}]`;
      if (!isObj(w) || typeof w.name !== 'string') throw fileTypeError(`${at}: name is missing`);
      const wat = `${at} '${printable(w.name, 60)}'`;
      if (!Array.isArray(w.shape) || !w.shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
        throw fileTypeError(`${wat}: shape must be an array of non-negative integers`);
      }
      if (w.dtype !== undefined && w.dtype !== 'float32') throw fileTypeError(`${wat}: dtype ${describe(w.dtype)} is not supported (float32 only)`);
      if (w.quantization !== undefined && w.quantization !== null) throw fileTypeError(`${wat}: quantized weights are not supported`);
      const spec: WeightSpec = { name: w.name, shape: w.shape as number[], dtype: 'float32' };
      own.push({ spec, group: gi, offset });
      offset += 4 * sizeOf(spec.shape);
    });
    for (const w of own) weights.push(w); // not push(...own): a spread of a huge list overflows the stack
    return { paths: g.paths as string[], weights: own, bytes: offset };
  });
  return { groups, weights };
}

/** A group's paths for messages, at most a few of them, clipped. */
function groupPaths(g: ManifestGroup): string {
  const shown = g.paths.slice(0, 3).map((p) => `'${printable(p, 60)}'`);
  if (g.paths.length > 3) shown.push(`… (${g.paths.length} paths)`);
  return shown.length > 0 ? shown.join(' + ') : 'no paths';
}

/** Throws unless a group's shards hold exactly the bytes its weights need. */
function checkGroupBytes(gi: number, g: ManifestGroup, found: number): void {
  if (found === g.bytes) return;
  const where = `model.json: weightsManifest[${gi}] (${groupPaths(g)})`;
  if (found > g.bytes) {
    throw fileRangeError(`${where}: its weights need ${g.bytes} bytes, but its shards hold ${found}, ${found - g.bytes} more (a wrong manifest, or extra data)`);
  }
  const w = g.weights.find((x) => x.offset + 4 * sizeOf(x.spec.shape) > found)!;
  throw fileRangeError(
    `${where}: its weights need ${g.bytes} bytes, but its shards hold only ${found}: weight '${printable(w.spec.name, 60)}' ` +
      `[${printable(w.spec.shape.join(','), 60)}] needs bytes ${w.offset}..${w.offset + 4 * sizeOf(w.spec.shape)} (truncated weights file?)`,
  );
}

/**
 * Groups the manifest's weights by layer: by name prefix (`<layer>/...`) when that
 * accounts for every weight, else in order.
 */
function assignWeights(layers: ParsedLayer[], weights: ManifestWeight[]): ManifestWeight[][] {
  const counts = layers.map((p) => weightCount(p.layer));
  const total = counts.reduce((a, b) => a + b, 0);
  if (weights.length !== total) {
    throw fileRangeError(
      `model.json: weightsManifest lists ${weights.length} weights, but the layers need ${total} (${printable(layers.map((p, i) => `${p.name}: ${counts[i]}`).join(', '), 300)})`,
    );
  }
  // By name when each weight's name starts with exactly one layer's `<name>/`. Linear in
  // the weights (a hostile file may list hundreds of thousands of layers): each weight
  // looks up its prefixes up to its first few slashes.
  const layersNamed = new Map<string, number[]>();
  layers.forEach((p, i) => {
    const list = layersNamed.get(p.name);
    if (list) list.push(i);
    else layersNamed.set(p.name, [i]);
  });
  const byName: ManifestWeight[][] = layers.map(() => []);
  let byNameOk = true;
  for (const w of weights) {
    let owners = 0;
    for (let k = w.spec.name.indexOf('/'), n = 0; k >= 0 && n < 8; k = w.spec.name.indexOf('/', k + 1), n++) {
      for (const i of layersNamed.get(w.spec.name.slice(0, k)) ?? []) {
        byName[i]!.push(w);
        owners++;
      }
    }
    if (owners !== 1) {
      byNameOk = false;
      break;
    }
  }
  if (byNameOk && byName.every((ws, i) => ws.length === counts[i])) return byName;
  let k = 0;
  return counts.map((c) => weights.slice((k += c) - c, k));
}

/**
 * Builds a model from tfjs-layers artifacts: the `modelTopology`, the weight specs in
 * manifest order with their group index, and each group's bytes.
 */
function modelFromParts(json: Obj, groupData: ArrayBuffer[], weights: ManifestWeight[]): Sequential {
  let topology = json.modelTopology;
  if (!isObj(topology)) throw fileTypeError('model.json: modelTopology is missing');
  if (isObj(topology.model_config)) topology = topology.model_config;
  const top = topology as Obj;
  const cls = top.class_name ?? top.className;
  if (cls !== 'Sequential') {
    throw fileTypeError(`model.json: modelTopology.class_name must be 'Sequential' (only Sequential models are supported), got ${describe(cls)}`);
  }
  const config = top.config;
  const list = Array.isArray(config) ? config : isObj(config) ? config.layers : undefined;
  if (!Array.isArray(list)) throw fileTypeError('model.json: modelTopology.config.layers must be an array');
  // Building a Sequential model costs O(layers²) (each add re-derives the shapes): a small
  // file listing 400,000 layers would block the event loop for hours.
  if (list.length > MAX_LAYERS) throw fileRangeError(`model.json: modelTopology.config.layers lists ${list.length} layers, more than ${MAX_LAYERS}`);
  const inputShape: { value: (number | null)[] | null } = { value: null };
  const parsed: ParsedLayer[] = [];
  try {
    list.forEach((entry, i) => {
      const p = layerFromConfig(entry, i, inputShape);
      if (p) parsed.push(p);
    });
    if (parsed.length === 0) throw fileTypeError('model.json: the model has no layers');
    const assigned = assignWeights(parsed, weights);
    parsed.forEach((p, i) => {
      const tensors: Tensor[] = [];
      try {
        for (const w of assigned[i]!) tensors.push(readWeight(w, groupData));
        if ((isDense(p.layer) || p.layer instanceof TimeDistributed) && !p.layer.built && tensors[0]) {
          // Checked before build, which initializes [D, units]: a units of 1e9 in a small
          // file must not allocate gigabytes before setWeights refuses the kernel.
          const units = (p.layer instanceof TimeDistributed ? p.layer.layer : p.layer).config.units;
          const shape = tensors[0].shape;
          if (shape.length !== 2 || shape[1] !== units) {
            throw fileRangeError(`weights[0] (kernel) must have shape [${shape[0] ?? '?'},${units}] (units ${units}), got [${printable(shape.join(','), 60)}]`);
          }
          p.layer.build([null, shape[0] ?? 0]);
        }
        p.layer.setWeights(tensors);
      } catch (e) {
        const names = printable(assigned[i]!.map((w) => `'${w.spec.name}'`).join(', '), 300);
        throw modelFileError(e, `model.json: layer '${printable(p.name, 60)}' (${printable(p.className, 40)}), weights ${names}`);
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
  if (first instanceof Dropout) throw fileTypeError('model.json: the model declares no input shape and has only Dropout layers');
  const D = first instanceof Bidirectional ? first.forwardLayer.inputFeatures : first.inputFeatures;
  return isDense(first) ? [null, D] : [null, null, D];
}

function readWeight(w: ManifestWeight, groupData: ArrayBuffer[]): Tensor {
  const data = groupData[w.group]!;
  const size = sizeOf(w.spec.shape);
  // Group sizes are checked before: this view is in bounds and 4-byte aligned.
  if (LITTLE_ENDIAN) return tensor(new Float32Array(data, w.offset, size), w.spec.shape);
  const view = new DataView(data, w.offset, 4 * size);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = view.getFloat32(4 * i, true);
  return tensor(values, w.spec.shape);
}

/** The most layers a model file may list (real models have tens). */
const MAX_LAYERS = 4096;
/** The most levels of nesting a model.json may have (rnnkit's and Keras's need about 8). */
const MAX_JSON_DEPTH = 64;
/** The most bytes model.json itself may hold. */
const MAX_JSON_BYTES = 64 * 2 ** 20;
const DEFAULT_MAX_BYTES = 4 * 2 ** 30;
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Builds a model from in-memory tfjs-layers artifacts: the parsed `model.json` object and
 * each manifest group's bytes (its shards concatenated in order), each exactly as many as
 * the group's weights need.
 * @throws TypeError/RangeError with code `RNNKIT_MODEL_FILE` naming the layer, weight or
 *   field that is wrong (a value nested deeper than 64 levels included); TypeError with
 *   code `RNNKIT_INVALID_ARGUMENT` when `groupData` is not an array of ArrayBuffers
 */
export function modelFromJson(modelJson: unknown, groupData: readonly ArrayBuffer[]): Sequential {
  if (!Array.isArray(groupData) || !groupData.every((d) => d instanceof ArrayBuffer)) {
    throw typeError('modelFromJson: groupData must be an array of ArrayBuffers, one per manifest group');
  }
  try {
    checkNesting(modelJson, MAX_JSON_DEPTH, 'model.json');
    if (!isObj(modelJson)) throw fileTypeError('model.json must hold a JSON object');
    if (modelJson.format !== undefined && modelJson.format !== 'layers-model') {
      throw fileTypeError(`model.json: format must be 'layers-model', got ${describe(modelJson.format)}`);
    }
    const { groups, weights } = parseManifest(modelJson.weightsManifest ?? []);
    if (groupData.length !== groups.length) {
      throw fileTypeError(`modelFromJson: groupData must hold one ArrayBuffer per manifest group (${groups.length}), got ${groupData.length}`);
    }
    groups.forEach((g, gi) => checkGroupBytes(gi, g, groupData[gi]!.byteLength));
    return modelFromParts(modelJson, [...groupData], weights);
  } catch (e) {
    // Layer constructors and tensors raise argument errors: here a file supplied the arguments.
    throw modelFileError(e);
  }
}

/** Limits of {@link loadModel}, for files from sources you do not control. */
export interface LoadModelOptions {
  /**
   * The most bytes the load reads: model.json and every shard it lists, together (default
   * 4 GiB, `4 * 2 ** 30`). model.json alone may hold at most 64 MiB. Checked from the
   * files' sizes and the manifest before reading.
   */
  maxBytes?: number;
  /**
   * The most milliseconds the load may take (default 60,000). Checked before each file is
   * opened and between reads (of at most 8 MiB); parsing and building the model are
   * synchronous and not interrupted.
   */
  timeoutMs?: number;
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
 *
 * The files are treated as untrusted: every shard path must be relative and resolve (after
 * symbolic links) to a regular file inside the model's folder; model.json must be a regular
 * file; each group's shards must hold exactly the bytes its weights need, which is checked
 * before reading; the sizes and the time are bounded by `options`.
 * @param options `maxBytes` (default 4 GiB read in all) and `timeoutMs` (default 60 s)
 * @throws TypeError with code `RNNKIT_INVALID_ARGUMENT` for a bad `pathOrDir` or option;
 *   every other error (TypeError, RangeError or Error) has code `RNNKIT_MODEL_FILE` and
 *   names the file, manifest entry, layer or weight
 */
export async function loadModel(pathOrDir: string, options: LoadModelOptions = {}): Promise<Sequential> {
  if (typeof pathOrDir !== 'string' || pathOrDir.length === 0) {
    throw typeError(`loadModel: pathOrDir must be a non-empty string, got ${describe(pathOrDir)}`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw typeError(`loadModel: options must be an object, got ${describe(options)}`);
  }
  rejectUnknownOptions(options, ['maxBytes', 'timeoutMs'], 'loadModel');
  const maxBytes = limitOption(options.maxBytes, 'maxBytes', DEFAULT_MAX_BYTES, Number.MAX_SAFE_INTEGER);
  // setTimeout's own limit (about 24.8 days)
  const timeoutMs = limitOption(options.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS, 2 ** 31 - 1);
  const budget = new LoadBudget(timeoutMs);
  const work = readModel(pathOrDir, maxBytes, budget);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      budget.cancel();
      reject(budget.timeoutError());
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (e) {
    // An abandoned load stops at its next check; a model it still finishes is freed.
    work.then((m) => m.dispose(), () => undefined);
    throw modelFileError(e);
  } finally {
    clearTimeout(timer);
  }
}

function limitOption(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw typeError(`loadModel: options.${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw rangeError(`loadModel: options.${name} must be an integer in [1, ${max}], got ${value}`);
  }
  return value;
}

async function readModel(pathOrDir: string, maxBytes: number, budget: LoadBudget): Promise<Sequential> {
  const st = await fs.stat(pathOrDir).catch((e: NodeJS.ErrnoException) => {
    throw rnnkitError('RNNKIT_MODEL_FILE', `loadModel: cannot read '${printable(pathOrDir, 200)}': ${e.code ?? e.message}`);
  });
  const file = st.isDirectory() ? path.join(pathOrDir, 'model.json') : pathOrDir;
  const shown = `'${printable(file, 200)}'`;
  const opened = await openRegularFile(file, Math.min(MAX_JSON_BYTES, maxBytes), `loadModel: ${shown}`);
  let text: string;
  try {
    const bytes = Buffer.alloc(opened.size);
    await readExactly(opened.handle, bytes, 0, opened.size, budget, `loadModel: ${shown}`);
    text = bytes.toString('utf8');
  } finally {
    await opened.handle.close().catch(() => undefined);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fileTypeError(`loadModel: ${shown} is not valid JSON: ${printable((e as Error).message, 120)}`);
  }
  checkNesting(json, MAX_JSON_DEPTH, `loadModel: ${shown}`);
  if (!isObj(json)) throw fileTypeError(`loadModel: ${shown} must hold a JSON object`);
  const { groups } = parseManifest(json.weightsManifest ?? []);
  const total = groups.reduce((a, g) => a + g.bytes, 0);
  if (opened.size + total > maxBytes) {
    throw fileRangeError(
      `loadModel: ${shown} (${opened.size} bytes) and the weights it lists (${total} bytes) need ${opened.size + total} bytes, more than maxBytes (${maxBytes})`,
    );
  }
  const realDir = await fs.realpath(path.dirname(file)).catch((e: NodeJS.ErrnoException) => {
    throw rnnkitError('RNNKIT_MODEL_FILE', `loadModel: cannot read the folder of ${shown}: ${e.code ?? e.message}`);
  });
  const data: ArrayBuffer[] = [];
  for (const [gi, g] of groups.entries()) data.push(await readGroup(realDir, gi, g, shown, budget));
  budget.check();
  return modelFromJson(json, data);
}

/**
 * A group's bytes from its shards. Two passes, one open file at a time (a manifest of
 * thousands of paths must not exhaust file descriptors): sizes first, checked against what
 * the weights need before any byte is read, then the reads, each of exactly that size.
 */
async function readGroup(realDir: string, gi: number, g: ManifestGroup, shown: string, budget: LoadBudget): Promise<ArrayBuffer> {
  const what = (pi: number) => `loadModel: weights file '${printable(g.paths[pi]!, 80)}' (weightsManifest[${gi}].paths[${pi}] of ${shown})`;
  const sizes: number[] = [];
  for (let pi = 0; pi < g.paths.length; pi++) {
    budget.check();
    const f = await openInside(realDir, g.paths[pi]!, Number.MAX_SAFE_INTEGER, what(pi));
    sizes.push(f.size);
    await f.handle.close().catch(() => undefined);
  }
  checkGroupBytes(gi, g, sizes.reduce((a, b) => a + b, 0));
  const data = new Uint8Array(g.bytes);
  let offset = 0;
  for (let pi = 0; pi < g.paths.length; pi++) {
    budget.check();
    const f: OpenFile = await openInside(realDir, g.paths[pi]!, sizes[pi]!, what(pi));
    try {
      if (f.size !== sizes[pi]) throw fileRangeError(`${what(pi)}: changed size while loading (${sizes[pi]} then ${f.size} bytes)`);
      await readExactly(f.handle, data, offset, f.size, budget, what(pi));
    } finally {
      await f.handle.close().catch(() => undefined);
    }
    offset += sizes[pi]!;
  }
  return data.buffer;
}
