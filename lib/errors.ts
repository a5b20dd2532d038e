/**
 * rnnkit's errors, in one place. Every error rnnkit throws or rejects with is a plain
 * `TypeError`, `RangeError` or `Error` carrying a stable `code` (as Node's own
 * `ERR_INVALID_ARG_TYPE`), and a message that names the argument and what was expected.
 * Native failures arrive with the same codes (see `native/core/errors.h`).
 */

/** The stable codes of rnnkit's errors. */
export type ErrorCode =
  /** An argument or option has the wrong type, value or shape. */
  | 'RNNKIT_INVALID_ARGUMENT'
  /** A model file (model.json, a weights shard, .keras, .h5) is malformed, unsafe or unreadable. */
  | 'RNNKIT_MODEL_FILE'
  /** A tensor, layer, model or forward pass was used after `dispose()`. */
  | 'RNNKIT_DISPOSED'
  /** An allocation failed, or would pass the limit set with `setMemoryLimit`. */
  | 'RNNKIT_OUT_OF_MEMORY'
  /** The request is valid but not supported by rnnkit (yet). */
  | 'RNNKIT_UNSUPPORTED'
  /** A call came in the wrong order (e.g. `fit` before `compile`, weights of an unbuilt layer). */
  | 'RNNKIT_INVALID_STATE'
  /** A device (CPU or a plugin) failed. */
  | 'RNNKIT_DEVICE'
  /** A serving queue (or its session table) is full; retry later. */
  | 'RNNKIT_QUEUE_FULL'
  /** A request's AbortSignal ended it. */
  | 'RNNKIT_ABORTED'
  /** A request's `timeoutMs` passed before its result. */
  | 'RNNKIT_TIMEOUT'
  /** The batcher or session was closed. */
  | 'RNNKIT_CLOSED'
  /**
   * No native binary loads on this platform (thrown by `require('rnnkit')` itself): the
   * message names the platform, the binaries shipped, why each failed and how to build one.
   */
  | 'RNNKIT_NO_BINARY';

/** Every {@link ErrorCode}, for checks. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'RNNKIT_INVALID_ARGUMENT',
  'RNNKIT_MODEL_FILE',
  'RNNKIT_DISPOSED',
  'RNNKIT_OUT_OF_MEMORY',
  'RNNKIT_UNSUPPORTED',
  'RNNKIT_INVALID_STATE',
  'RNNKIT_DEVICE',
  'RNNKIT_QUEUE_FULL',
  'RNNKIT_ABORTED',
  'RNNKIT_TIMEOUT',
  'RNNKIT_CLOSED',
  'RNNKIT_NO_BINARY',
];

/** An error raised by rnnkit: a TypeError, RangeError or Error with a stable `code`. */
export type RnnkitError = Error & { readonly code: ErrorCode };

function withCode<E extends Error>(error: E, code: ErrorCode): E & { readonly code: ErrorCode } {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, configurable: true, writable: false });
  return error as E & { readonly code: ErrorCode };
}

/** A TypeError with a code (default `RNNKIT_INVALID_ARGUMENT`). @internal */
export function typeError(message: string, code: ErrorCode = 'RNNKIT_INVALID_ARGUMENT'): TypeError & RnnkitError {
  return withCode(new TypeError(message), code);
}

/** A RangeError with a code (default `RNNKIT_INVALID_ARGUMENT`). @internal */
export function rangeError(message: string, code: ErrorCode = 'RNNKIT_INVALID_ARGUMENT'): RangeError & RnnkitError {
  return withCode(new RangeError(message), code);
}

/** A plain Error with a code. @internal */
export function rnnkitError(code: ErrorCode, message: string): RnnkitError {
  return withCode(new Error(message), code);
}

/** The error for a tensor, layer, model or forward pass used after `dispose()`. @internal */
export function disposedError(where: string, what: string): RnnkitError {
  return rnnkitError('RNNKIT_DISPOSED', `${where}: the ${what} has been disposed; create a new one`);
}

/** True when `e` is an error with one of rnnkit's codes. */
export function isRnnkitError(e: unknown): e is RnnkitError {
  return e instanceof Error && (ERROR_CODES as readonly unknown[]).includes((e as { code?: unknown }).code);
}

/**
 * The same kind of error (TypeError, RangeError or Error) with the same code, its message
 * prefixed by `prefix` (the layer or file it happened in). An error without an rnnkit
 * code (a foreign one) gets `fallback`.
 * @internal
 */
export function rethrow(e: unknown, prefix: string, fallback: ErrorCode = 'RNNKIT_INVALID_ARGUMENT'): RnnkitError {
  const message = `${prefix}: ${e instanceof Error ? e.message : String(e)}`;
  const code = isRnnkitError(e) ? e.code : fallback;
  if (e instanceof RangeError) return rangeError(message, code);
  if (e instanceof TypeError) return typeError(message, code);
  return rnnkitError(code, message);
}

/** At most `max` characters of `text`, marked when cut, so that messages never embed a whole bad value. */
export function clipText(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** Throws a TypeError naming every key of `options` that is not in `allowed`. */
export function rejectUnknownOptions(options: object, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw typeError(
      `${where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; ` +
        `valid options are ${allowed.join(', ')}`,
    );
  }
}

export function expectObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw typeError(`${name} must be an object`);
  }
  return value as Record<string, unknown>;
}

export function optionalBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw typeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

export function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number') throw typeError(`${name} must be a positive integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1) throw rangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export function optionalInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw typeError(`${name} must be an integer, got ${describe(value)}`);
  if (!Number.isInteger(value)) throw rangeError(`${name} must be an integer, got ${value}`);
  return value;
}

export function optionalChoice<T extends string>(value: unknown, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw typeError(`${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'string') return `'${clipText(value, 40)}'`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return String(value);
}
