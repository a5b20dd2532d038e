/**
 * Reading files a model names, treating their contents as hostile: shards confined to the
 * model's folder (after symlinks), regular files only, sizes checked before reading,
 * reads bounded in bytes and time, and a nesting limit for parsed JSON. Every error here
 * is a TypeError/RangeError/Error with code `RNNKIT_MODEL_FILE`.
 */
import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { clipText, rangeError, rnnkitError, typeError, type RnnkitError } from '../errors';

/** A TypeError about a model file. @internal */
export const fileTypeError = (message: string): RnnkitError => typeError(message, 'RNNKIT_MODEL_FILE');
/** A RangeError about a model file. @internal */
export const fileRangeError = (message: string): RnnkitError => rangeError(message, 'RNNKIT_MODEL_FILE');

/**
 * `e` as an error with code `RNNKIT_MODEL_FILE`, of the same kind (TypeError, RangeError,
 * Error), its message prefixed by `prefix` when given. Errors of layer constructors are
 * argument errors there, but file errors when a file supplied the arguments.
 * @internal
 */
export function modelFileError(e: unknown, prefix?: string): RnnkitError {
  if (prefix === undefined && e instanceof Error && (e as { code?: unknown }).code === 'RNNKIT_MODEL_FILE') return e as RnnkitError;
  // A foreign message (e.g. from JSON.parse) may quote the bad input: keep it short.
  const text = e instanceof Error ? e.message : String(e);
  const message = `${prefix === undefined ? '' : `${prefix}: `}${clipText(text, 600)}`;
  if (e instanceof RangeError) return fileRangeError(message);
  if (e instanceof TypeError) return fileTypeError(message);
  return rnnkitError('RNNKIT_MODEL_FILE', message);
}

/**
 * A name from a file, for a message: clipped to `max` characters, control characters
 * (NUL, terminal escapes) written as `\xNN`.
 * @internal
 */
export function printable(text: string, max = 80): string {
  return clipText(text, max).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Deadline and cancellation of one load, checked between reads. @internal */
export class LoadBudget {
  private cancelled = false;
  private readonly deadline: number;

  constructor(readonly timeoutMs: number) {
    this.deadline = Date.now() + timeoutMs;
  }

  /** The error a load past its time limit rejects with. */
  timeoutError(): RnnkitError {
    return rnnkitError('RNNKIT_MODEL_FILE', `loadModel: the load took longer than timeoutMs (${this.timeoutMs} ms)`);
  }

  /** Marks the load abandoned: its next check throws. */
  cancel(): void {
    this.cancelled = true;
  }

  /** Throws when the load was abandoned or its time is up. */
  check(): void {
    if (this.cancelled || Date.now() > this.deadline) throw this.timeoutError();
  }
}

const { O_RDONLY, O_NONBLOCK } = constants;
// O_NOFOLLOW: a final symlink swapped in after the realpath check fails to open (ELOOP).
// O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer.
const O_NOFOLLOW = (constants as { O_NOFOLLOW?: number }).O_NOFOLLOW ?? 0;

/** What a non-regular file is, for messages. */
function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSymbolicLink(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

const errno = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? (e instanceof Error ? e.message : String(e));

/** An open regular file and its size. @internal */
export interface OpenFile {
  handle: fs.FileHandle;
  size: number;
}

/**
 * Opens `file` (symlinks followed: the caller named it) as a regular file of at most
 * `maxBytes` bytes. `what` names it in errors.
 * @internal
 */
export async function openRegularFile(file: string, maxBytes: number, what: string): Promise<OpenFile> {
  const st = await fs.stat(file).catch((e: unknown) => {
    throw rnnkitError('RNNKIT_MODEL_FILE', `${what}: cannot read: ${errno(e)}`);
  });
  if (!st.isFile()) throw fileTypeError(`${what}: is ${kindOf(st)}, not a regular file`);
  return openChecked(file, O_RDONLY | O_NONBLOCK, maxBytes, what);
}

async function openChecked(file: string, flags: number, maxBytes: number, what: string): Promise<OpenFile> {
  const handle = await fs.open(file, flags).catch((e: unknown) => {
    const code = errno(e);
    throw rnnkitError('RNNKIT_MODEL_FILE', `${what}: cannot open: ${code === 'ELOOP' ? 'it became a symbolic link while loading' : code}`);
  });
  try {
    // The opened file is what gets read: check it, not the path.
    const st = await handle.stat();
    if (!st.isFile()) throw fileTypeError(`${what}: is ${kindOf(st)}, not a regular file`);
    if (st.size > maxBytes) throw fileRangeError(`${what}: holds ${st.size} bytes, more than the limit of ${maxBytes}`);
    return { handle, size: st.size };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

/** True when `child` (absolute, normalized) is `dir` itself or below it. */
function isInside(dir: string, child: string): boolean {
  const rel = path.relative(dir, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * Opens the shard `name` of a model whose folder's real path is `realDir`: refused unless
 * it is a relative path that resolves, after symlinks, to a regular file inside the folder.
 * `what` names the manifest entry in errors.
 * @internal
 */
export async function openInside(realDir: string, name: string, maxBytes: number, what: string): Promise<OpenFile> {
  if (name.length === 0) throw fileTypeError(`${what}: the path is empty`);
  if (name.includes('\0')) throw fileTypeError(`${what}: the path contains a NUL byte`);
  if (path.isAbsolute(name)) throw fileTypeError(`${what}: absolute paths are refused; shards must be inside the model's folder`);
  const joined = path.resolve(realDir, name);
  if (!isInside(realDir, joined) || joined === realDir) throw fileTypeError(`${what}: the path leaves the model's folder`);
  const real = await fs.realpath(joined).catch((e: unknown) => {
    throw rnnkitError('RNNKIT_MODEL_FILE', `${what}: cannot be read: ${errno(e)}`);
  });
  if (!isInside(realDir, real) || real === realDir) {
    throw fileTypeError(`${what}: resolves (through a symbolic link) to a file outside the model's folder`);
  }
  const st = await fs.lstat(real).catch((e: unknown) => {
    throw rnnkitError('RNNKIT_MODEL_FILE', `${what}: cannot be read: ${errno(e)}`);
  });
  if (!st.isFile()) throw fileTypeError(`${what}: is ${kindOf(st)}, not a regular file`);
  return openChecked(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, maxBytes, what);
}

/** Read size per call: small enough to check the time limit between reads. */
const CHUNK = 8 << 20;

/**
 * Reads exactly `length` bytes from the start of `handle` into `into` at `offset`; a file
 * that ends sooner (it shrank while loading) is an error.
 * @internal
 */
export async function readExactly(handle: fs.FileHandle, into: Uint8Array, offset: number, length: number, budget: LoadBudget, what: string): Promise<void> {
  let done = 0;
  while (done < length) {
    budget.check();
    const { bytesRead } = await handle.read(into, offset + done, Math.min(CHUNK, length - done), done);
    if (bytesRead === 0) throw fileRangeError(`${what}: ended after ${done} of ${length} bytes (the file changed while loading?)`);
    done += bytesRead;
  }
}

/**
 * Throws when `value` holds objects or arrays nested deeper than `maxDepth` levels (the
 * top level is level 1), naming where. Iterative, so that no depth overflows the stack;
 * shared sub-objects are walked once per depth increase and cycles end at the limit.
 * @internal
 */
export function checkNesting(value: unknown, maxDepth: number, where: string): void {
  interface Item {
    v: unknown;
    depth: number;
    key: string | number | null;
    parent: Item | null;
  }
  const deepest = new Map<object, number>();
  const stack: Item[] = [{ v: value, depth: 1, key: null, parent: null }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const v = item.v;
    if (typeof v !== 'object' || v === null) continue;
    if (item.depth > maxDepth) throw fileRangeError(`${where}: nested deeper than ${maxDepth} levels at ${pathOf(item)}`);
    const seen = deepest.get(v);
    if (seen !== undefined && seen >= item.depth) continue;
    deepest.set(v, item.depth);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], depth: item.depth + 1, key: i, parent: item });
    } else {
      for (const k of Object.keys(v)) stack.push({ v: (v as Record<string, unknown>)[k], depth: item.depth + 1, key: k, parent: item });
    }
  }

  function pathOf(item: Item): string {
    const parts: string[] = [];
    for (let it: Item | null = item; it && it.key !== null; it = it.parent) {
      parts.push(typeof it.key === 'number' ? `[${it.key}]` : `.${clipText(it.key, 20)}`);
    }
    const text = parts.reverse().join('').replace(/^\./, '') || '(top level)';
    return text.length <= 160 ? text : `${text.slice(0, 160)}…`;
  }
}
