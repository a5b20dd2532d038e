/**
 * Weight initialization of layers, off the JavaScript thread when large.
 *
 * A layer's `build()` stays synchronous (the Layer contract): it hands its initializer
 * draws to {@link startInit}. Up to {@link SYNC_INIT_ELEMENTS} values are generated at once
 * on the calling thread; larger layers (an orthogonal recurrent kernel costs a QR
 * factorization) are generated on a libuv worker, and the layer holds a
 * {@link PendingInit}. Asynchronous entry points `await ready()`; synchronous ones that
 * need the values call `settle()`, which blocks until the worker is done (or does the work
 * itself if no worker has started it).
 * Internal to rnnkit: not part of the public API.
 */
import { getBackend } from '../backend';
import { native, NativeInitArray, NativeInitJob, NativeInitResult, NativeInitTarget, NativeRnnWeights } from '../native';
import { fromNative, Tensor } from '../tensor';

/** Layers with at most this many weight values are initialized synchronously. */
export const SYNC_INIT_ELEMENTS = 1 << 16;

/** Initialized weights, as the layer receives them. */
export interface InitializedWeights {
  tensors: Tensor[];
  prepared: NativeRnnWeights | null;
}

function wrap(r: NativeInitResult): InitializedWeights {
  return { tensors: r.tensors.map(fromNative), prepared: r.prepared ?? null };
}

function discard(r: NativeInitResult): void {
  for (const t of r.tensors) t.dispose();
  r.prepared?.dispose();
}

/** An initialization running on a worker; its result is installed exactly once. */
export class PendingInit {
  private state: 'running' | 'installed' | 'cancelled' | 'failed' = 'running';
  private error: unknown = undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly job: NativeInitJob,
    private readonly install: (w: InitializedWeights) => void,
    private readonly onFail: (e: unknown) => void,
  ) {
    // Never rejects: a failure is kept for ready() and settle(), so nothing goes unhandled.
    this.done = job.promise.then(
      (r) => this.finish(r),
      (e: unknown) => this.fail(e),
    );
  }

  /** Whether the weights are still being generated. */
  get running(): boolean {
    return this.state === 'running';
  }

  /** Resolves once the weights are installed; rejects with the job's error. */
  async ready(): Promise<void> {
    await this.done;
    if (this.state === 'failed') throw this.error;
  }

  /** Blocks the calling thread until the weights are installed; throws the job's error. */
  settle(): void {
    if (this.state === 'running') {
      let r: NativeInitResult | null;
      try {
        r = this.job.wait();
      } catch (e) {
        this.fail(e);
        throw e;
      }
      this.finish(r);
    }
    if (this.state === 'failed') throw this.error;
  }

  /**
   * The layer no longer wants the weights (disposed, or replaced): the native work stops at
   * its next check (a model file declaring a huge layer costs nothing once its weights are
   * set), and a result that still arrives is freed.
   */
  cancel(): void {
    if (this.state !== 'running') return;
    this.state = 'cancelled';
    this.job.cancel();
  }

  private finish(r: NativeInitResult | null): void {
    if (r === null) return; // wait() took it
    if (this.state !== 'running') return discard(r);
    this.state = 'installed';
    this.install(wrap(r));
  }

  private fail(e: unknown): void {
    if (this.state !== 'running') return;
    this.state = 'failed';
    this.error = e;
    this.onFail(e);
  }
}

/**
 * Generates `arrays` as device tensors on the calling thread (layers whose initializers are
 * cheap: dense kernels and embeddings draw about 10 ns per value).
 */
export function initNow(arrays: NativeInitArray[]): Tensor[] {
  return native.initRun(arrays, getBackend(), null).tensors.map(fromNative);
}

/**
 * Generates `arrays` (with `rnn`, a recurrent layer's Keras arrays, installed as canonical
 * tensors plus their prepared form). Small ones are installed before this returns (and
 * null is returned); large ones on a worker, through the returned {@link PendingInit}.
 * `onFail` runs when a worker's job fails (out of memory), before the error reaches the
 * caller of ready() or settle().
 */
export function startInit(
  arrays: NativeInitArray[],
  rnn: NativeInitTarget,
  install: (w: InitializedWeights) => void,
  onFail: (e: unknown) => void,
): PendingInit | null {
  const elements = arrays.reduce((sum, a) => sum + a.shape.reduce((p, d) => p * d, 1), 0);
  if (elements <= SYNC_INIT_ELEMENTS) {
    install(wrap(native.initRun(arrays, getBackend(), rnn)));
    return null;
  }
  return new PendingInit(native.initStart(arrays, getBackend(), rnn), install, onFail);
}
