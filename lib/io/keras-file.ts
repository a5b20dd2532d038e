/**
 * Reading Keras model files: Keras 3 `.keras` (a zip of config.json, metadata.json and
 * model.weights.h5) and `.h5` (HDF5, written by Keras 2 or by Keras 3's legacy saver). The
 * kind is told by the file's first bytes, never by its name.
 *
 * Libraries, and why:
 * - HDF5: `jsfive` (pure JavaScript, 1.7 MB installed with pako; CommonJS and ESM). It reads
 *   both superblock versions h5py writes (0, and 2/3 with libver='latest'), float16/32/64,
 *   and fixed and variable-length string attributes. `h5wasm` (the HDF5 C library in
 *   WebAssembly) was tried: 15 MB installed, ESM only, and on corrupted files it printed
 *   diagnostics and returned data instead of failing (1493 of 1500 mutated files "read").
 *   jsfive fails on them, but can run out of memory or loop on a crafted file, so it runs
 *   in a worker thread with a heap limit, terminated when the load's time is up: a hostile
 *   file costs the worker, never the process. jsfive does not look for a user block: the
 *   file is handed over from the HDF5 signature on (its addresses are relative to it).
 * - zip: `yauzl` (125 KB, one 10 KB dependency): written for untrusted zips; it reads the
 *   central directory from the open file and streams only the entries asked for, checks
 *   that an entry inflates to exactly its declared size, and never writes to disk. Entry
 *   sizes are checked against `maxBytes` before inflating (zip bombs), entry names are only
 *   compared, never used as paths. (`fflate` would need the whole archive in memory.)
 *
 * Weight names, one spelling for every format: the dataset's path inside the weights file
 * with any `:N` suffix removed; for `.h5` files relative to `model_weights/` (so starting
 * with the layer's group: `lstm_1/lstm_1/lstm_cell/kernel`, `lstm/sequential/lstm/lstm_cell/kernel`),
 * for `.keras` files the path in model.weights.h5 (`layers/gru_1/cell/vars/0`). `.h5`
 * weights come in Keras' own order (`layer_names`, then each layer's `weight_names`);
 * `.keras` weights depth first, group members in name order with numbers in numeric order.
 * Only model weights are read: not the optimizer's state nor metrics.
 */
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import yauzl from 'yauzl';
import { rnnkitError } from '../errors';
import type { JsonObject, JsonValue } from './keras-config';
import { checkNesting, fileRangeError, fileTypeError, LoadBudget, modelFileError, openRegularFile, printable, readExactly, type OpenFile } from './untrusted-files';

/** Which writer a Keras file comes from. */
export type KerasFileFormat =
  /** Keras 3 `.keras` zip. */
  | 'keras3'
  /** Keras 1/2 (tf.keras) `.h5`. */
  | 'keras2-h5'
  /** Keras 3 `model.save('x.h5')` (legacy HDF5 format). */
  | 'keras3-h5';

/** One stored weight, converted to float32. */
export interface KerasWeight {
  /** The path inside the weights file, without `:0` (see the module's comment). */
  name: string;
  /** Its dimensions (`[]` for a scalar). */
  shape: number[];
  /** Its values, row-major. */
  values: Float32Array;
}

/** What {@link readKerasFile} returns. */
export interface KerasFile {
  /** Which writer the file comes from. */
  format: KerasFileFormat;
  /** The model config as stored (`{ class_name, config, ... }`): config.json, or the `model_config` attribute. */
  modelConfig: JsonObject;
  /** The Keras version that wrote the file, when it says. */
  kerasVersion: string | null;
  /** The model's weights (see the module's comment for names and order). */
  weights: KerasWeight[];
}

/** Options of {@link readKerasFile}. */
export interface ReadKerasFileOptions {
  /** The most bytes read from the file, and the most any entry or weight may inflate to. */
  maxBytes: number;
  /** The load's deadline and cancellation. */
  budget: LoadBudget;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** The HDF5 signature sits at 0, 512, 1024, 2048, ... (after a user block); searched up to here. */
const MAX_USER_BLOCK = 1 << 20;
/** config.json / metadata.json larger than this are refused. */
const MAX_JSON_BYTES = 64 << 20;
const MAX_JSON_DEPTH = 100;
/** Entries of a `.keras` zip (assets included) and HDF5 objects walked, at most. */
const MAX_ZIP_ENTRIES = 65536;
const MAX_H5_OBJECTS = 200_000;
const MAX_H5_DEPTH = 32;

const startsWith = (bytes: Uint8Array, magic: number[], at = 0) => magic.every((b, i) => bytes[at + i] === b);

/**
 * Reads a Keras model file (`.keras` zip or HDF5 `.h5`, told apart by its first bytes): its
 * model config, the Keras version that wrote it, and its weights as float32.
 *
 * @param filePath the file
 * @param options `maxBytes` bounds the bytes read and inflated; `budget` the time
 * @returns the format, config, version and weights
 * @throws an error with code `RNNKIT_MODEL_FILE` naming the file, when it is not a Keras
 *   model file, is corrupt, truncated, too large, or holds integer weights
 */
export async function readKerasFile(filePath: string, options: ReadKerasFileOptions): Promise<KerasFile> {
  const { maxBytes, budget } = options;
  const what = printable(filePath, 200);
  const file = await openRegularFile(filePath, maxBytes, what);
  try {
    budget.check();
    const head = new Uint8Array(8);
    if (file.size >= 8) await readAt(file, head, 0, what);
    if (file.size >= 8 && startsWith(head, ZIP_MAGIC)) return await readKerasZip(file, what, maxBytes, budget);
    const at = await findHdf5Signature(file, head, what);
    if (at >= 0) return await readLegacyH5(file, at, what, maxBytes, budget);
    throw fileTypeError(
      `${what}: is neither a Keras .keras file (a zip, starting with 'PK\\x03\\x04') nor an HDF5 .h5 file ` +
        `(starting with '\\x89HDF\\r\\n\\x1a\\n'); it starts with ${hex(head.subarray(0, Math.min(8, file.size)))}`,
    );
  } catch (e) {
    const named = e instanceof Error && (e as { code?: unknown }).code === 'RNNKIT_MODEL_FILE' && e.message.startsWith(what);
    throw named ? e : modelFileError(e, what);
  } finally {
    await file.handle.close().catch(() => undefined);
  }
}

const hex = (b: Uint8Array) => (b.length === 0 ? 'nothing (the file is empty)' : Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' '));

async function readAt(file: OpenFile, into: Uint8Array, position: number, what: string): Promise<void> {
  const { bytesRead } = await file.handle.read(into, 0, into.length, position);
  if (bytesRead !== into.length) throw fileRangeError(`${what}: ended at byte ${position + bytesRead} (the file changed while loading?)`);
}

async function findHdf5Signature(file: OpenFile, head: Uint8Array, what: string): Promise<number> {
  if (file.size >= 8 && startsWith(head, HDF5_MAGIC)) return 0;
  const probe = new Uint8Array(8);
  for (let at = 512; at <= MAX_USER_BLOCK && at + 8 <= file.size; at *= 2) {
    await readAt(file, probe, at, what);
    if (startsWith(probe, HDF5_MAGIC)) return at;
  }
  return -1;
}

// ---------------------------------------------------------------- JSON

function parseJson(bytes: Uint8Array, where: string): JsonValue {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw modelFileError(e, `${where}: is not valid JSON`);
  }
  checkNesting(value, MAX_JSON_DEPTH, where);
  return value as JsonValue;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function modelConfigOf(value: JsonValue, where: string): JsonObject {
  if (!isObject(value) || typeof value.class_name !== 'string' || (!isObject(value.config) && !Array.isArray(value.config))) {
    throw fileTypeError(`${where}: must be a Keras model config, an object with 'class_name' and 'config'`);
  }
  return value;
}

// ---------------------------------------------------------------- zip

const ENTRIES = ['config.json', 'metadata.json', 'model.weights.h5'] as const;

async function readKerasZip(file: OpenFile, what: string, maxBytes: number, budget: LoadBudget): Promise<KerasFile> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.fromFd(file.handle.fd, { autoClose: false, lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true }, (err, z) =>
      err || !z ? reject(modelFileError(err ?? new Error('unreadable'), `${what}: not a readable zip`)) : resolve(z),
    );
  });
  try {
    if (zip.entryCount > MAX_ZIP_ENTRIES) throw fileRangeError(`${what}: the zip lists ${zip.entryCount} entries, more than ${MAX_ZIP_ENTRIES}`);
    const found = new Map<string, yauzl.Entry>();
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (e: unknown) => reject(modelFileError(e, `${what}: corrupt zip`)));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        try {
          budget.check();
          const name = entry.fileName;
          if ((ENTRIES as readonly string[]).includes(name)) {
            if (found.has(name)) throw fileTypeError(`${what}: the zip holds '${name}' twice`);
            found.set(name, entry);
          }
          zip.readEntry();
        } catch (e) {
          reject(e);
        }
      });
      zip.readEntry();
    });
    for (const name of ['config.json', 'model.weights.h5']) {
      if (!found.has(name)) {
        throw fileTypeError(
          `${what}: a Keras .keras zip must hold '${name}'; it holds ${found.size === 0 ? 'none of config.json, metadata.json, model.weights.h5' : `only ${[...found.keys()].join(', ')} of them`}`,
        );
      }
    }
    let total = 0;
    for (const e of found.values()) {
      const limit = e.fileName.endsWith('.json') ? Math.min(MAX_JSON_BYTES, maxBytes) : maxBytes;
      if (e.uncompressedSize > limit) throw fileRangeError(`${what}: '${e.fileName}' inflates to ${e.uncompressedSize} bytes, more than the limit of ${limit}`);
      total += e.uncompressedSize;
    }
    if (total > maxBytes) throw fileRangeError(`${what}: its entries inflate to ${total} bytes, more than maxBytes (${maxBytes})`);
    const config = parseJson(await readEntry(zip, found.get('config.json')!, what, budget), `${what}: config.json`);
    const modelConfig = modelConfigOf(config, `${what}: config.json`);
    let kerasVersion: string | null = null;
    const meta = found.get('metadata.json');
    if (meta) {
      const m = parseJson(await readEntry(zip, meta, what, budget), `${what}: metadata.json`);
      if (isObject(m) && typeof m.keras_version === 'string') kerasVersion = m.keras_version;
    }
    const h5 = await readEntry(zip, found.get('model.weights.h5')!, what, budget);
    if (!startsWith(h5, HDF5_MAGIC)) throw fileTypeError(`${what}: model.weights.h5 is not an HDF5 file`);
    const tree = await parseHdf5(h5, ['layers', '_layer_checkpoint_dependencies', 'vars'], `${what}: model.weights.h5`, maxBytes, budget);
    const weights = tree.datasets
      .map((d) => toWeight(d, d.path, `${what}: model.weights.h5`))
      .sort((a, b) => comparePaths(a.name, b.name));
    return { format: 'keras3', modelConfig, kerasVersion, weights };
  } finally {
    zip.close();
  }
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, what: string, budget: LoadBudget): Promise<Uint8Array> {
  const where = `${what}: '${entry.fileName}'`;
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(modelFileError(err ?? new Error('unreadable'), `${where}: cannot be read`));
      const out = new Uint8Array(entry.uncompressedSize);
      let done = 0;
      stream.on('data', (chunk: Buffer) => {
        try {
          budget.check();
          if (done + chunk.length > out.length) throw fileRangeError(`${where}: inflates to more than its declared ${out.length} bytes`);
          out.set(chunk, done);
          done += chunk.length;
        } catch (e) {
          stream.destroy();
          reject(e);
        }
      });
      stream.on('error', (e: unknown) => reject(modelFileError(e, `${where}: corrupt`)));
      stream.on('end', () => {
        if (done !== out.length) return reject(fileRangeError(`${where}: holds ${done} of its declared ${out.length} bytes`));
        // yauzl does not check CRC-32s; Python's zipfile (Keras) does.
        const crc = crc32(out);
        if (crc !== entry.crc32) return reject(rnnkitError('RNNKIT_MODEL_FILE', `${where}: corrupt: its CRC-32 is ${hex32(crc)}, the zip says ${hex32(entry.crc32)}`));
        resolve(out);
      });
    });
  });
}

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

let crcTable: Uint32Array | undefined;

/** CRC-32 (zip's), by zlib where Node has it (20.15+), else by table. */
function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (native) return native(bytes) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Path order: segment by segment, numbers numerically (`vars/2` before `vars/10`). */
function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

// ---------------------------------------------------------------- .h5

async function readLegacyH5(file: OpenFile, at: number, what: string, maxBytes: number, budget: LoadBudget): Promise<KerasFile> {
  const bytes = new Uint8Array(file.size);
  await readExactly(file.handle, bytes, 0, file.size, budget, what);
  const tree = await parseHdf5(bytes.subarray(at), ['model_weights'], what, maxBytes, budget);
  const attrs = tree.attrs;
  const config = attrs.model_config;
  if (typeof config !== 'string') {
    throw fileTypeError(
      `${what}: is an HDF5 file without a 'model_config' attribute: not a Keras model saved with model.save() (a weights-only file?)`,
    );
  }
  const modelConfig = modelConfigOf(parseJson(new TextEncoder().encode(config), `${what}: model_config`), `${what}: model_config`);
  const kerasVersion = typeof attrs.keras_version === 'string' ? attrs.keras_version : null;
  const groups = new Map(tree.groups.map((g) => [g.path, g.attrs]));
  const rootAttrs = groups.get('model_weights');
  if (!rootAttrs) throw fileTypeError(`${what}: has no 'model_weights' group`);
  const datasets = new Map(tree.datasets.map((d) => [d.path, d]));
  const layerNames = stringList(rootAttrs, 'layer_names', `${what}: model_weights`);
  const weights: KerasWeight[] = [];
  const used = new Set<string>();
  for (const layer of [...layerNames, ...(groups.has('model_weights/top_level_model_weights') ? ['top_level_model_weights'] : [])]) {
    const gAttrs = groups.get(`model_weights/${layer}`);
    if (!gAttrs) throw fileTypeError(`${what}: model_weights lists layer '${printable(layer)}', but has no group of that name`);
    for (const w of stringList(gAttrs, 'weight_names', `${what}: model_weights/${printable(layer)}`)) {
      const p = `model_weights/${layer}/${w}`;
      const d = datasets.get(p);
      if (!d) throw fileTypeError(`${what}: layer '${printable(layer)}' names weight '${printable(w)}', but the file has no dataset '${printable(p, 160)}'`);
      if (used.has(p)) throw fileTypeError(`${what}: weight '${printable(p, 160)}' is listed twice`);
      used.add(p);
      weights.push(toWeight(d, `${layer}/${w}`, what));
    }
  }
  return { format: /^3\./.test(kerasVersion ?? '') ? 'keras3-h5' : 'keras2-h5', modelConfig, kerasVersion, weights };
}

/** Keras' load_attributes_from_hdf5_group: `name`, or `name0`, `name1`, ... when it was split. */
function stringList(attrs: Record<string, AttrValue>, name: string, where: string): string[] {
  const parts: AttrValue[] = [];
  if (name in attrs) parts.push(attrs[name]!);
  else for (let i = 0; `${name}${i}` in attrs; i++) parts.push(attrs[`${name}${i}`]!);
  const out: string[] = [];
  for (const v of parts) {
    // Keras writes an empty list as an empty float64 array.
    const list = Array.isArray(v) ? v : [v];
    for (const s of list) {
      if (typeof s !== 'string') throw fileTypeError(`${where}: attribute '${name}' must be a list of strings`);
      out.push(s);
    }
  }
  return out;
}

// ---------------------------------------------------------------- weights

function toWeight(d: Dataset, path: string, where: string): KerasWeight {
  const name = path.replace(/:\d+$/, '');
  if (d.values === null) {
    const kind = /^[<>|=]?[iub]/.test(d.dtype) ? `integer (${d.dtype})` : `of type ${printable(d.dtype, 40)}`;
    throw fileTypeError(`${where}: weight '${printable(name, 160)}' is ${kind}; only float16, float32 and float64 weights can be loaded`);
  }
  return { name, shape: d.shape, values: d.values };
}

// ---------------------------------------------------------------- HDF5 in a worker

type AttrValue = string | number | null | AttrValue[];
interface Dataset {
  path: string;
  shape: number[];
  dtype: string;
  /** float32 values; null for any other type (integers, strings, compounds). */
  values: Float32Array | null;
}
interface Tree {
  attrs: Record<string, AttrValue>;
  groups: { path: string; attrs: Record<string, AttrValue> }[];
  datasets: Dataset[];
}

/**
 * The worker: walks `roots` (groups of the file), returns the root's and groups' attributes
 * (strings without their NUL padding) and the datasets, floats as float32. Every count is
 * checked before jsfive allocates for it.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
for (const k of ['log', 'warn', 'error', 'info', 'debug']) console[k] = () => {};
const hdf5 = require(workerData.jsfive);
const { bytes, roots, maxBytes, maxObjects, maxDepth } = workerData;
const fail = (m) => { throw new Error(m); };
function clean(v, depth = 0) {
  if (depth > 4) fail('an attribute is nested too deeply');
  if (typeof v === 'string') return v.replace(/\\0+$/, '');
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array && v.length < 1e6) return new TextDecoder().decode(v).replace(/\\0+$/, '');
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    if (v.length > 1e6) fail('an attribute holds more than a million values');
    return Array.from(v, (x) => clean(x, depth + 1));
  }
  return null;
}
function attrsOf(obj) {
  const out = {};
  const a = obj.attrs;
  for (const k of Object.keys(a)) out[k] = clean(a[k]);
  return out;
}
const ITEM = /^[<>|=]?([fiub])(\\d+)$/;
let count = 0;
const groups = [], datasets = [], transfer = [];
function visit(obj, path, depth) {
  if (++count > maxObjects) fail('it holds more than ' + maxObjects + ' objects');
  if (depth > maxDepth) fail('its groups nest deeper than ' + maxDepth + ' levels');
  if (obj instanceof hdf5.Group) {
    groups.push({ path, attrs: attrsOf(obj) });
    const keys = obj.keys;
    if (!Array.isArray(keys)) fail('group ' + path + ' is unreadable');
    for (const k of keys) {
      if (typeof k !== 'string' || k.length === 0 || k.includes('/')) fail('group ' + path + ' holds a bad name');
      visit(obj.get(k), path + '/' + k, depth + 1);
    }
    return;
  }
  const shape = obj.shape == null ? [] : Array.from(obj.shape, Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail('dataset ' + path + ' has a bad shape');
  const n = shape.reduce((a, b) => a * b, 1);
  const dtype = typeof obj.dtype === 'string' ? obj.dtype : JSON.stringify(obj.dtype);
  const m = ITEM.exec(dtype);
  if (!m || m[1] !== 'f') { datasets.push({ path, shape, dtype, values: null }); return; }
  const size = Number(m[2]);
  if (size !== 2 && size !== 4 && size !== 8) fail('dataset ' + path + ' has float type ' + dtype);
  if (n * size > maxBytes) fail('dataset ' + path + ' needs ' + n * size + ' bytes, more than maxBytes (' + maxBytes + ')');
  let values = n === 0 ? new Float32Array(0) : contiguous(obj, path, dtype, n, size);
  if (values === null) {
    const raw = obj.value;
    if (raw == null || raw.length !== n) fail('dataset ' + path + ' holds ' + (raw == null ? 'no' : raw.length) + ' values, its shape needs ' + n);
    values = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = raw[i];
      if (typeof x !== 'number') fail('dataset ' + path + ' holds a value that is not a number');
      values[i] = x;
    }
  }
  transfer.push(values.buffer);
  datasets.push({ path, shape, dtype, values });
}
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
let file;
// Little-endian float32/64 data stored in one piece (how h5py writes Keras weights) is
// copied straight from the file; jsfive would build an array of numbers first. Anything
// else (chunked, compressed, big-endian, float16) goes through jsfive.
function contiguous(obj, path, dtype, n, size) {
  if (!LITTLE || (dtype !== '<f4' && dtype !== '<f8')) return null;
  let offset;
  try {
    const d = obj._dataobjects;
    const msg = d.find_msg_type(8)[0];
    const props = d._get_data_message_properties(msg.get('offset_to_message'));
    if (props[2] !== 1) return null;
    offset = new DataView(file).getBigUint64(props[3], true);
  } catch (e) {
    return null;
  }
  if (offset === 0xffffffffffffffffn) return null;
  const start = Number(offset);
  if (start + n * size > file.byteLength) fail('dataset ' + path + ' lies past the end of the file');
  if (size === 4) return new Float32Array(file.slice(start, start + n * 4));
  return Float32Array.from(new Float64Array(file.slice(start, start + n * 8)));
}
try {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  file = whole ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const f = new hdf5.File(file, 'model');
  const attrs = attrsOf(f);
  for (const r of roots) {
    if (!f.keys.includes(r)) continue;
    visit(f.get(r), r, 1);
  }
  parentPort.postMessage({ tree: { attrs, groups, datasets } }, transfer);
} catch (e) {
  parentPort.postMessage({ error: e instanceof Error ? e.message : String(e) });
}
`;

/**
 * Refuses an HDF5 file shorter than its superblock's end-of-file address: a truncated file
 * whose missing tail holds nothing the reader visits would otherwise read as whole.
 */
function checkHdf5End(bytes: Uint8Array, what: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 48) throw fileRangeError(`${what}: the HDF5 file ends inside its superblock (${bytes.length} bytes)`);
  const version = bytes[8]!;
  const offsetSize = version <= 1 ? bytes[13] : bytes[9];
  if (offsetSize !== 8) return;
  const at = version === 0 ? 24 : version === 1 ? 28 : 12;
  const base = view.getBigUint64(at, true);
  const eof = view.getBigUint64(at + 16, true);
  if (eof < base) throw fileRangeError(`${what}: corrupt HDF5 superblock (end of file ${eof} before its base address ${base})`);
  if (eof - base > BigInt(bytes.length)) {
    throw fileRangeError(`${what}: truncated: the HDF5 file should hold ${eof - base} bytes, it holds ${bytes.length}`);
  }
}

let jsfivePath: string | undefined;

function parseHdf5(bytes: Uint8Array, roots: string[], what: string, maxBytes: number, budget: LoadBudget): Promise<Tree> {
  budget.check();
  checkHdf5End(bytes, what);
  jsfivePath ??= require.resolve('jsfive');
  // The reader's own arrays hold a number (8 bytes) per value of the largest dataset at a time.
  const heapMb = Math.min(16384, 256 + Math.ceil((24 * bytes.byteLength) / 2 ** 20));
  // jsfive reads well over 5 MB/s; a crafted file can make it loop for much longer.
  const limitMs = 5000 + Math.ceil((200 * bytes.byteLength) / 2 ** 20);
  const started = Date.now();
  return new Promise<Tree>((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { jsfive: jsfivePath, bytes, roots, maxBytes, maxObjects: MAX_H5_OBJECTS, maxDepth: MAX_H5_DEPTH },
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 64, stackSizeMb: 4 },
      transferList: [bytes.buffer as ArrayBuffer],
      stdout: true,
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      void worker.terminate();
      f();
    };
    // The worker cannot be interrupted from inside: the deadline is watched from here.
    const timer = setInterval(() => {
      try {
        budget.check();
        if (Date.now() - started > limitMs) throw rnnkitError('RNNKIT_MODEL_FILE', `${what}: reading the HDF5 data took longer than ${limitMs} ms (a corrupt file?)`);
      } catch (e) {
        finish(() => reject(e));
      }
    }, 25);
    worker.on('message', (m: { tree?: Tree; error?: string }) => {
      if (m.tree) finish(() => resolve(m.tree!));
      else finish(() => reject(rnnkitError('RNNKIT_MODEL_FILE', `${what}: corrupt or unsupported HDF5 file: ${printable(m.error ?? 'unreadable', 300)}`)));
    });
    worker.on('error', (e: Error & { code?: string }) => {
      const why = e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `reading it needed more than ${heapMb} MB` : printable(e.message, 300);
      finish(() => reject(rnnkitError('RNNKIT_MODEL_FILE', `${what}: corrupt or unsupported HDF5 file: ${why}`)));
    });
    worker.on('exit', (code) => finish(() => reject(rnnkitError('RNNKIT_MODEL_FILE', `${what}: the HDF5 reader stopped (exit code ${code})`))));
  });
}
