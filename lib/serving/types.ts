/** The plain data that serving requests take and give. */

/** One sample's output on the host: what `model.predict` gives for it, without the batch axis. */
export interface Output {
  /** The values, row-major. */
  readonly data: Float32Array;
  /** `[K]` for a per-sequence output; `[T, K]` for a per-step output (T: the sequence's own steps). */
  readonly shape: number[];
}

/** Options of one request. */
export interface RequestOptions {
  /** Aborting it rejects the request with `RNNKIT_ABORTED`; while it waits, it leaves the queue. */
  signal?: AbortSignal;
  /** Rejects the request with `RNNKIT_TIMEOUT` after this many milliseconds without a result. */
  timeoutMs?: number;
}

/** A session's states as plain, JSON-safe data (see {@link Session.exportState}). */
export interface SessionState {
  readonly format: 'rnnkit-session-state';
  readonly version: 1;
  /** The model it belongs to: its recurrent layers, input and a hash of its weights, e.g. `'LSTM(64)>GRU(32,resetAfter); 8 features; weights 1f0c…'`. */
  readonly model: string;
  /** Steps fed since the session started (or was reset). */
  readonly steps: number;
  /** Every state tensor's values, recurrent layers in order, `[h]` or `[h, c]` each. */
  readonly states: number[][];
}
