import { BackendName, expectBackendName, getBackend } from './backend';
import { describe, rangeError, rnnkitError, typeError } from './errors';
import { native, NativeTensor } from './native';

/** Values accepted by {@link tensor}: flat or nested arrays of numbers. */
export type TensorLike = Float32Array | number | readonly TensorLike[];

/**
 * A float32 tensor held in native (device) memory, contiguous and row-major.
 * Its memory is released by {@link Tensor.dispose} or, failing that, by garbage collection.
 */
export class Tensor {
  /** Always 'float32'. */
  readonly dtype = 'float32' as const;
  /** @internal */
  readonly handle: NativeTensor;
  #shape: number[] | undefined;

  /** @internal Wraps a native tensor; use {@link tensor} to create one. */
  constructor(handle: NativeTensor) {
    this.handle = handle;
  }

  /**
   * The dimensions, outermost first (the same array on every read). Read from the native
   * side on first use: a pass's results that are disposed unread never pay for it.
   */
  get shape(): number[] {
    return (this.#shape ??= this.handle.shape);
  }

  /** The device that holds the values, e.g. 'cpu'. */
  get device(): string {
    return this.handle.device ?? 'disposed';
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Whether {@link Tensor.dispose} has been called. */
  get isDisposed(): boolean {
    return this.handle.disposed;
  }

  /** Copies the values to a new Float32Array, without blocking on device work. */
  async data(): Promise<Float32Array> {
    return this.dataSync();
  }

  /** Copies the values to a new Float32Array. */
  dataSync(): Float32Array {
    this.assertUsable('tensor');
    return this.handle.read();
  }

  /**
   * A copy of this tensor on `device` ('cpu' or 'cuda'). Always a new tensor, even on the
   * same device (as tfjs's ops, which never alias their input): the caller disposes each
   * tensor on its own. Between devices the values pass through host memory once.
   * @throws TypeError for an unknown device name (`RNNKIT_INVALID_ARGUMENT`); Error
   *   `RNNKIT_UNSUPPORTED` with the reason when that backend is unavailable
   */
  to(device: BackendName): Tensor {
    this.assertUsable('tensor.to');
    return new Tensor(native.toDevice(this.handle, expectBackendName(device, 'tensor.to: device')));
  }

  /** Frees the native memory now. Idempotent; the tensor cannot be used afterwards. */
  dispose(): void {
    this.handle.dispose();
  }

  /** @internal Throws an Error naming `name` if the tensor was disposed. */
  assertUsable(name: string): void {
    if (this.handle.disposed) throw rnnkitError('RNNKIT_DISPOSED', `${name}: the tensor has been disposed`);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(',')}], device=${this.device})`;
  }
}

/** @internal Throws unless `value` is a live Tensor. */
export function expectTensor(value: unknown, name: string): Tensor {
  if (!(value instanceof Tensor)) throw typeError(`${name} must be a Tensor, got ${describe(value)}`);
  value.assertUsable(name);
  return value;
}

/** @internal Checks a tensor's shape; `null` entries match any size. */
export function expectShape(t: Tensor, expected: readonly (number | null)[], name: string): void {
  const ok = t.shape.length === expected.length && expected.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    const want = expected.map((d) => (d === null ? '?' : d)).join(',');
    throw rangeError(`${name} must have shape [${want}], got [${t.shape.join(',')}]`);
  }
}

function inferShape(values: TensorLike, name: string): number[] {
  if (values instanceof Float32Array) return [values.length];
  if (typeof values === 'number') return [];
  if (!Array.isArray(values)) throw typeError(`${name} must be a Float32Array, a number or nested arrays of numbers`);
  if (values.length === 0) return [0];
  const inner = inferShape(values[0] as TensorLike, name);
  return [values.length, ...inner];
}

function flatten(values: TensorLike, shape: number[], depth: number, out: number[], name: string): void {
  if (depth === shape.length) {
    if (typeof values !== 'number') throw typeError(`${name}: nested arrays must hold numbers at depth ${depth}`);
    out.push(values);
    return;
  }
  const isArrayLike = Array.isArray(values) || values instanceof Float32Array;
  if (!isArrayLike || (values as ArrayLike<unknown>).length !== shape[depth]) {
    throw rangeError(`${name}: nested arrays are ragged; expected length ${shape[depth]} at depth ${depth}`);
  }
  const items = values as ArrayLike<TensorLike>;
  for (let i = 0; i < items.length; i++) flatten(items[i] as TensorLike, shape, depth + 1, out, name);
}

/**
 * Creates a tensor on the current backend, copying `values`.
 * @param values a Float32Array or number array (with `shape`), or nested arrays (shape inferred)
 * @param shape the dimensions; required to give a flat array more than one dimension
 * @param options `device`: where to create it instead of the current backend
 * @throws TypeError for values of the wrong kind, RangeError when sizes disagree
 */
export function tensor(values: TensorLike, shape?: readonly number[], options: { device?: BackendName } = {}): Tensor {
  const device = options?.device === undefined ? getBackend() : expectBackendName(options.device, 'tensor: options.device');
  let flat: Float32Array;
  const inferred = inferShape(values, 'values');
  if (values instanceof Float32Array) {
    flat = new Float32Array(values);
  } else {
    const out: number[] = [];
    flatten(values, inferred, 0, out, 'values');
    flat = Float32Array.from(out);
  }
  let dims = inferred;
  if (shape !== undefined) {
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw typeError('shape must be an array of non-negative integers');
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== flat.length) {
      throw rangeError(`shape [${shape.join(',')}] needs ${size} values, got ${flat.length}`);
    }
    dims = [...shape];
  }
  return new Tensor(new native.NativeTensor(flat, dims, device));
}

/** @internal Wraps a tensor the native side created. */
export function fromNative(handle: NativeTensor): Tensor {
  return new Tensor(handle);
}
