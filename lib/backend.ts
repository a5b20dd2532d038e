import { describe, rangeError, rnnkitError, typeError } from './errors';
import { native } from './native';

/** A compute backend. */
export type BackendName = 'cpu' | 'cuda';

/** Whether a backend can run here, and if not, why. */
export interface BackendInfo {
  name: BackendName;
  available: boolean;
  /**
   * When `available` is false: why the backend cannot run, e.g. where the CUDA plugin was
   * looked for, the loader's error, an ABI version mismatch, or the plugin's own reason
   * ("no NVIDIA driver"). When `available` is true: a note from the plugin a user should
   * know (e.g. that the device is emulated on the CPU), or absent.
   */
  reason?: string;
}

let current: BackendName = 'cpu';

/**
 * Lists the backends this build knows and whether each can run on this machine: `cpu`,
 * always available, then `cuda`. The CUDA device is a plugin (`rnnkit_cuda.so`), loaded
 * once per process on first use (this call, `setBackend('cuda')`, or a tensor on `cuda`):
 * from the path in the environment variable `RNNKIT_CUDA_PLUGIN` if set, else from the
 * folder of rnnkit's native addon, then from `build-cuda/` at the package root. It is never
 * unloaded.
 */
export function backends(): BackendInfo[] {
  return native.backends();
}

function backendName(value: unknown, where: string): BackendName {
  if (value !== 'cpu' && value !== 'cuda') throw typeError(`${where}: backend must be 'cpu' or 'cuda', got ${describe(value)}`);
  return value;
}

function optionText(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0) throw typeError(`${where} must be a non-empty string, got ${describe(value)}`);
  return value;
}

/**
 * Sets a device setting by name. `cpu`: `threads` (as {@link setNumThreads}), `isa` (as
 * `setIsa`). `cuda`: `math`, `'fp32'` (the default: full FP32 GEMMs, the CPU's numbers) or
 * `'tf32'` (TF32 tensor cores: faster GEMMs, about 1e-3 relative; `RNNKIT_CUDA_MATH=tf32`
 * sets it at start-up).
 * @throws TypeError (`RNNKIT_INVALID_ARGUMENT`) for an unknown option or a bad value; Error
 *   (`RNNKIT_UNSUPPORTED`) when the backend is unavailable
 */
export function setDeviceOption(backend: BackendName, name: string, value: string): void {
  const b = backendName(backend, 'setDeviceOption');
  native.setDeviceOption(b, optionText(name, 'setDeviceOption: name'), optionText(value, 'setDeviceOption: value'));
}

/**
 * Reads a device setting as text: those of {@link setDeviceOption}, and read-only ones
 * (`cpu`: `hardware_threads`, `supported_isas`, `stalled_teams`, the number of times so far
 * a recurrence's threads stopped sharing it because one of them lost its core to another
 * process, and `crowded_periods`, the number of times so far the pool switched to its
 * crowded mode because a thread was not getting its core, `home_calls`, the number of calls
 * so far run on rnnkit's home thread, and `home_busy`, the number of calls that found it
 * running another call and ran on their own libuv thread; `cuda`: `host_copies`, the number
 * of device-to-host copies so far).
 * @throws as {@link setDeviceOption}
 */
export function getDeviceOption(backend: BackendName, name: string): string {
  return native.deviceOption(backendName(backend, 'getDeviceOption'), optionText(name, 'getDeviceOption: name'));
}

/**
 * Selects the backend new tensors and layers use.
 * @throws TypeError for an unknown name (`RNNKIT_INVALID_ARGUMENT`); Error with code
 *   `RNNKIT_UNSUPPORTED` and the {@link BackendInfo.reason} when it is unavailable.
 */
export function setBackend(name: BackendName): void {
  const info = backends().find((b) => b.name === name);
  if (!info) throw typeError(`setBackend: name must be 'cpu' or 'cuda', got ${String(name)}`);
  if (!info.available) throw rnnkitError('RNNKIT_UNSUPPORTED', `setBackend: backend '${name}' is unavailable: ${info.reason ?? 'unknown reason'}`);
  current = name;
}

/** @internal Throws a TypeError (`RNNKIT_INVALID_ARGUMENT`) unless `value` names a backend. */
export function expectBackendName(value: unknown, where: string): BackendName {
  if (value !== 'cpu' && value !== 'cuda') throw typeError(`${where} must be 'cpu' or 'cuda', got ${describe(value)}`);
  return value;
}

/** The backend new tensors go to. */
export function getBackend(): BackendName {
  return current;
}

/** Native memory in use on a backend. */
export interface MemoryInfo {
  backend: BackendName;
  /** Bytes of live device allocations: tensors, saved activations, weights. */
  bytes: number;
  /** Number of live device allocations. */
  allocations: number;
  /** Released memory the backend keeps to reuse for the next passes' buffers. */
  cachedBytes: number;
}

/**
 * Native memory in use on the current backend (like tfjs's `tf.memory()`). The counts are
 * process-wide: the CPU backend has one allocator for the main thread and every
 * worker_thread, and a worker's tensors leave them when they are disposed, collected, or
 * freed with the worker when it exits or is terminated.
 */
export function memory(): MemoryInfo {
  return { backend: current, ...native.memory(current) };
}

/**
 * Caps the native memory rnnkit's tensors and buffers may hold together, for a service that
 * must not grow without bound. The limit counts live bytes, as {@link memory}'s `bytes` does;
 * released blocks kept for reuse (`cachedBytes`) are trimmed so that they fit beside the bytes
 * in use, and are never the reason a call fails.
 *
 * A call that would pass the limit fails, and allocates nothing that outlives it: `rk.tensor`
 * throws, and a forward, backward or fit rejects, with an `Error` of code
 * `RNNKIT_OUT_OF_MEMORY` whose message names the operation, the bytes requested, the limit
 * and the bytes in use. Its inputs are left as they were, and the same call succeeds once
 * memory is released or the limit raised.
 *
 * The limit is process-wide: it covers the CPU backend's host memory, which every
 * worker_thread shares. Lowering it below the bytes in use frees nothing; allocations fail
 * until enough is released. At start-up the limit comes from the environment variable
 * `RNNKIT_MEMORY_LIMIT`, read once per process when rnnkit is first loaded: a whole number of
 * bytes, or a number with a `K`, `M`, `G` or `T` suffix in powers of 1024, optionally followed
 * by `B` or `iB` (`536870912`, `512M`, `1.5G`, `2GiB`); empty or `none` for no limit. Any other
 * value makes loading rnnkit throw a `RangeError` (`RNNKIT_INVALID_ARGUMENT`).
 *
 * @param bytes the limit in bytes, a positive integer; `null` removes the limit.
 * @throws TypeError if `bytes` is not a number or null, RangeError if it is not a positive
 *   integer at most `Number.MAX_SAFE_INTEGER` (both `RNNKIT_INVALID_ARGUMENT`).
 */
export function setMemoryLimit(bytes: number | null): void {
  if (bytes !== null && typeof bytes !== 'number') {
    throw typeError(`setMemoryLimit: bytes must be a number of bytes or null, got ${describe(bytes)}`);
  }
  if (bytes !== null && !(Number.isSafeInteger(bytes) && bytes >= 1)) {
    throw rangeError(`setMemoryLimit: bytes must be a positive integer of at most ${Number.MAX_SAFE_INTEGER}, or null for no limit, got ${bytes}`);
  }
  native.setMemoryLimit(bytes);
}

/** The limit set by {@link setMemoryLimit} or `RNNKIT_MEMORY_LIMIT`, in bytes; `null` when there is none. */
export function getMemoryLimit(): number | null {
  return native.getMemoryLimit();
}
