import { rangeError, typeError } from './errors';
import { native } from './native';
import { expectTensor, fromNative, Tensor } from './tensor';

function handles(grads: unknown, fn: string) {
  if (!Array.isArray(grads)) throw typeError(`${fn}: grads must be an array of Tensors`);
  return grads.map((g, i) => expectTensor(g, `${fn}: grads[${i}]`).handle);
}

function clipArgument(value: unknown, fn: string, name: string): number {
  if (typeof value !== 'number') throw typeError(`${fn}: ${name} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value) || value <= 0) throw rangeError(`${fn}: ${name} must be a finite number > 0, got ${value}`);
  return value;
}

/**
 * Gradient clipping with Keras semantics, computed by the native core on the tensors'
 * device. Every function returns new tensors and leaves its inputs unchanged.
 */
export const clip = {
  /** Clamps every element to [-clipValue, clipValue] (Keras `clipvalue`). */
  byValue(grads: Tensor[], clipValue: number): Tensor[] {
    const h = handles(grads, 'clip.byValue');
    return native.clipByValue(h, clipArgument(clipValue, 'clip.byValue', 'clipValue')).map(fromNative);
  },
  /** Scales each tensor on its own to `g·c / max(‖g‖₂, c)` (Keras `clipnorm`). */
  byNorm(grads: Tensor[], clipNorm: number): Tensor[] {
    const h = handles(grads, 'clip.byNorm');
    return native.clipByNorm(h, clipArgument(clipNorm, 'clip.byNorm', 'clipNorm')).map(fromNative);
  },
  /**
   * Scales all tensors by `c / max(‖all‖₂, c)`, the norm taken over all of them as one
   * vector (Keras `global_clipnorm`). Returns the clipped tensors and that global norm.
   */
  byGlobalNorm(grads: Tensor[], clipNorm: number): { grads: Tensor[]; norm: number } {
    const h = handles(grads, 'clip.byGlobalNorm');
    const r = native.clipByGlobalNorm(h, clipArgument(clipNorm, 'clip.byGlobalNorm', 'clipNorm'));
    return { grads: r.grads.map(fromNative), norm: r.norm };
  },
  /** The L2 norm of all tensors taken as one vector. */
  globalNorm(tensors: Tensor[]): number {
    return native.globalNorm(handles(tensors, 'clip.globalNorm'));
  },
};
