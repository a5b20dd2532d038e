import { rnnkitError, typeError } from './errors';
import { native } from './native';

/** A compute backend. */
export type BackendName = 'cpu' | 'cuda';

/** Whether a backend can run here, and if not, why. */
export interface BackendInfo {
  name: BackendName;
  available: boolean;
  /** Why the backend is unavailable. */
  reason?: string;
}

let current: BackendName = 'cpu';

/** Lists the backends this build knows and whether each can run on this machine. */
export function backends(): BackendInfo[] {
  return native.backends();
}

/**
 * Selects the backend new tensors and layers use.
 * @throws TypeError for an unknown name, Error with the reason when it is unavailable.
 */
export function setBackend(name: BackendName): void {
  const info = backends().find((b) => b.name === name);
  if (!info) throw typeError(`setBackend: name must be 'cpu' or 'cuda', got ${String(name)}`);
  if (!info.available) throw rnnkitError('RNNKIT_UNSUPPORTED', `setBackend: backend '${name}' is unavailable: ${info.reason ?? 'unknown reason'}`);
  current = name;
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

/** Native memory in use on the current backend (like tfjs's `tf.memory()`). */
export function memory(): MemoryInfo {
  return { backend: current, ...native.memory(current) };
}
