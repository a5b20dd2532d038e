/**
 * Reading models in the tfjs-layers format: `model.json` (`modelTopology` with Keras
 * layer configs, and a `weightsManifest`) plus little-endian float32 `.bin` shards, as
 * written by `tf.LayersModel.save`, `tensorflowjs_converter` from Keras, and `model.save`.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describe, rangeError, rejectUnknownOptions, rnnkitError, typeError } from '../errors';
import type { LayersModel } from '../models/layers-model';
import type { Sequential } from '../models/sequential';
import { tensor } from '../tensor';
import { isObj } from './keras-config';
import { readKerasFile } from './keras-file';
import { buildModel, StoredWeight } from './model-from-config';
import type { WeightSpec } from './model-writer';
import { checkNesting, fileRangeError, fileTypeError, LoadBudget, modelFileError, openInside, openRegularFile, printable, readExactly, type OpenFile } from './untrusted-files';

export type { JsonValue } from './keras-config';
export type { ModelJson, WeightSpec } from './model-writer';
export { modelToArtifacts } from './model-writer';

/** A model read from a file: Sequential, or functional for a `Model`/`Functional` topology. */
export type LoadedModel = Sequential | LayersModel;

const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

// ---------------------------------------------------------------------------------------
// names

// ---------------------------------------------------------------------------------------
// reading

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

function readWeight(w: ManifestWeight, groupData: ArrayBuffer[]) {
  const data = groupData[w.group]!;
  const size = sizeOf(w.spec.shape);
  // Group sizes are checked before: this view is in bounds and 4-byte aligned.
  if (LITTLE_ENDIAN) return tensor(new Float32Array(data, w.offset, size), w.spec.shape);
  const view = new DataView(data, w.offset, 4 * size);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = view.getFloat32(4 * i, true);
  return tensor(values, w.spec.shape);
}

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
export function modelFromJson(modelJson: unknown, groupData: readonly ArrayBuffer[]): LoadedModel {
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
    const stored: StoredWeight[] = weights.map((w) => ({ name: w.spec.name, shape: w.spec.shape, read: () => readWeight(w, [...groupData]) }));
    const byRnnkit = typeof modelJson.generatedBy === 'string' && modelJson.generatedBy.startsWith('rnnkit');
    return buildModel(modelJson.modelTopology, stored, 'model.json', byRnnkit);
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
 * Loads a model: a tfjs-layers `model.json` (from `model.save`, `tf.LayersModel.save` or
 * `tensorflowjs_converter`; `pathOrDir` is the file or its directory, and the `.bin` shards
 * it lists are read from beside it), a Keras 3 `.keras` zip or a Keras `.h5` file (told
 * apart by their first bytes). Sequential and functional (`Model`/`Functional`) topologies;
 * the layers of the registry (`rk.registeredLayers()`), weights matched to them by name.
 * Recurrent layers of files from tfjs and Keras repeat the last output at masked steps as
 * those libraries do (`maskedOutput: 'carry'`) unless the config says
 * `zero_output_for_mask: true`; rnnkit's own files keep what was saved.
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
export async function loadModel(pathOrDir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
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

async function readModel(pathOrDir: string, maxBytes: number, budget: LoadBudget): Promise<LoadedModel> {
  const st = await fs.stat(pathOrDir).catch((e: NodeJS.ErrnoException) => {
    throw rnnkitError('RNNKIT_MODEL_FILE', `loadModel: cannot read '${printable(pathOrDir, 200)}': ${e.code ?? e.message}`);
  });
  const file = st.isDirectory() ? path.join(pathOrDir, 'model.json') : pathOrDir;
  const shown = `'${printable(file, 200)}'`;
  // A model.json starts with '{' (after white space); anything else is a Keras file, whose
  // kind its own first bytes tell.
  if (st.isFile() && !(await startsWithBrace(file))) return readKerasModel(file, maxBytes, budget);
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

/** Whether the file's first non-blank byte is `{` (a JSON model.json). */
async function startsWithBrace(file: string): Promise<boolean> {
  const handle = await fs.open(file, 'r').catch(() => null);
  if (!handle) return true; // the JSON path reports the error
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const text = head.subarray(0, bytesRead).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
    return text.length === 0 || text.startsWith('{');
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** A Keras `.keras` (zip) or `.h5` (HDF5) model: its config normalized to tfjs's spelling, its weights by name. */
async function readKerasModel(file: string, maxBytes: number, budget: LoadBudget): Promise<LoadedModel> {
  const kf = await readKerasFile(file, { maxBytes, budget });
  budget.check();
  const shown = printable(file, 200);
  const stored: StoredWeight[] = kf.weights.map((w) => ({ name: w.name, shape: w.shape, read: () => tensor(w.values, w.shape) }));
  return buildModel(kf.modelConfig, stored, shown);
}
