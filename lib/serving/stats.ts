/**
 * The batcher's counters: requests, rejections by reason, batch sizes, and the latency of
 * the most recent requests (queue wait and compute apart).
 * Internal to rnnkit: not part of the public API.
 */

/** Latency percentiles in milliseconds over a window of recent requests. */
export interface Percentiles {
  /** Requests in the window. */
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** A snapshot of a batcher's counters (see `Batcher.stats`). */
export interface BatcherStats {
  /** Accepted predicts and session steps/feeds. */
  requests: number;
  /** Requests answered with a result. */
  completed: number;
  /** Requests refused or abandoned, by reason (`failed`: the forward itself threw). */
  rejected: { queueFull: number; aborted: number; timedOut: number; closed: number; failed: number };
  /** Forward passes run. */
  batches: number;
  /** How many batches held each number of requests, ascending size. */
  batchSizes: { size: number; count: number }[];
  /** Requests waiting now. */
  queueDepth: number;
  /** Sessions open now. */
  sessions: number;
  /** From acceptance to the start of the request's forward, over the last {@link LATENCY_WINDOW} completed requests. */
  queueWaitMs: Percentiles;
  /** The forward that served the request, same window. */
  computeMs: Percentiles;
}

/** How many recent requests the latency percentiles cover. */
export const LATENCY_WINDOW = 4096;

/** The latencies of the last {@link LATENCY_WINDOW} requests, in a ring. */
export class LatencyWindow {
  private readonly values = new Float64Array(LATENCY_WINDOW);
  private next = 0;
  private filled = 0;

  add(ms: number): void {
    this.values[this.next] = ms;
    this.next = (this.next + 1) % LATENCY_WINDOW;
    this.filled = Math.min(LATENCY_WINDOW, this.filled + 1);
  }

  percentiles(): Percentiles {
    const sorted = this.values.slice(0, this.filled).sort();
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : 0);
    return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
  }
}
