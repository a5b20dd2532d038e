/**
 * The dynamic batcher: requests that arrive together run as one forward. Predicts are padded
 * into a batch with per-sequence lengths (grouped by length so padding stays small); session
 * steps gather their sessions' states into a batch and scatter them back. Up to
 * `maxConcurrentBatches` forwards run at once; a batch starts when one may, and it is full or
 * its oldest request has waited `maxDelayMs` (default 0), so under load each forward takes
 * what arrived while the others ran.
 */
import { describe, expectObject, rangeError, rejectUnknownOptions, rethrow, rnnkitError, typeError } from '../errors';
import { maskOptions } from '../layers/recurrent';
import { StepMask } from '../mask';
import type { ModelBase } from '../models/model-base';
import { Tensor, tensor } from '../tensor';
import { HostSequence, readSequence, readStep } from './inputs';
import { ChainStep, planFor, ServingPlan, StepChain } from './model-plan';
import { Request, readRequestOptions } from './request';
import { Session, StepQueue } from './session';
import { BatcherStats, LatencyWindow } from './stats';
import type { Output, RequestOptions } from './types';

/** Options of {@link batcher}. */
export interface BatcherOptions {
  /** Most sequences (or session chunks) in one forward. Default 32. */
  maxBatchSize?: number;
  /**
   * How long the oldest waiting request may wait for others before its batch starts, in ms.
   * Default 0: a batch starts as soon as no forward runs, and under load requests gather while
   * one does. A delay adds coalescing at light load, at the cost of that much latency.
   */
  maxDelayMs?: number;
  /** Most requests waiting (predicts and session steps); past it requests reject with `RNNKIT_QUEUE_FULL`. Default 1024. */
  maxQueue?: number;
  /** A session idle this long (ms) is closed. Default 600000 (10 minutes); `Infinity` keeps sessions until closed. */
  sessionTtlMs?: number;
  /** Most open sessions; past it `session()` throws `RNNKIT_QUEUE_FULL`. Default 100000. */
  maxSessions?: number;
  /**
   * Most forwards running at once. Default 2: while one batch runs, the next may start, so a
   * core the running forward cannot use (a busy machine) still serves requests.
   */
  maxConcurrentBatches?: number;
}

/** Options of {@link Batcher.session}. */
export interface SessionOptions {
  /** A state from `Session.exportState()` to resume from; default zeros. */
  state?: unknown;
}

/** Padded cells may be at most this many times the valid ones in a batch of mixed lengths. */
const PADDING_ALLOWANCE = 1.5;

/** A session's calls not yet started, and whether one is running. */
interface SessionQueue {
  readonly entries: (Request | 'reset')[];
  busy: boolean;
}

/**
 * Serves a model to concurrent callers (`rk.serving.batcher(model, options)`): `predict`
 * for whole sequences, `session()` for sequences fed as their steps arrive.
 */
export class Batcher {
  private readonly plan: ServingPlan;
  private readonly maxBatchSize: number;
  private readonly maxDelayMs: number;
  private readonly maxQueue: number;
  private readonly sessionTtlMs: number;
  private readonly maxSessions: number;
  private readonly maxConcurrentBatches: number;
  /** Predicts waiting, in arrival order. */
  private readonly waiting: Request[] = [];
  private readonly sessionQueues = new Map<Session, SessionQueue>();
  /** Sessions with a call waiting to start. */
  private readonly waitingSessions = new Set<Session>();
  private queued = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;
  private readonly counts = { requests: 0, completed: 0, batches: 0 };
  private readonly rejected = { queueFull: 0, aborted: 0, timedOut: 0, closed: 0, failed: 0 };
  private readonly batchSizes = new Map<number, number>();
  private readonly queueWait = new LatencyWindow();
  private readonly compute = new LatencyWindow();
  private readonly host: StepQueue;

  /** @internal Use {@link batcher}. */
  constructor(
    private readonly model: ModelBase,
    options: BatcherOptions,
  ) {
    const where = 'serving.batcher';
    if (typeof model !== 'object' || model === null || typeof (model as { graph?: unknown }).graph !== 'function') {
      throw typeError(`${where}: model must be an rk model (rk.sequential, rk.model or rk.loadModel), got ${describe(model)}`);
    }
    const o = expectObject(options, `${where}: options`);
    rejectUnknownOptions(o, ['maxBatchSize', 'maxDelayMs', 'maxQueue', 'sessionTtlMs', 'maxSessions', 'maxConcurrentBatches'], where);
    this.maxBatchSize = integerOption(o.maxBatchSize, `${where}: maxBatchSize`, 32, 1 << 16);
    this.maxQueue = integerOption(o.maxQueue, `${where}: maxQueue`, 1024, 1 << 24);
    this.maxSessions = integerOption(o.maxSessions, `${where}: maxSessions`, 100000, 1 << 30);
    this.maxConcurrentBatches = integerOption(o.maxConcurrentBatches, `${where}: maxConcurrentBatches`, 2, 64);
    this.maxDelayMs = numberOption(o.maxDelayMs, `${where}: maxDelayMs`, 0, 0, 60000);
    this.sessionTtlMs = numberOption(o.sessionTtlMs, `${where}: sessionTtlMs`, 600000, 1, Infinity);
    this.plan = planFor(model, where);
    const self = this;
    this.host = {
      get chain(): StepChain {
        return self.plan.chain as StepChain;
      },
      enqueueSteps: (session, input, lastOnly, options, w) => this.accept(input, session, lastOnly, options, w),
      readStep: (value, name) => readStep(value, this.plan.sample, name),
      readSequence: (value, name) => readSequence(value, this.plan.sample, name),
      resetAfterQueued: (session) => this.resetAfterQueued(session),
      sessionClosed: (session) => this.sessionClosed(session),
    };
  }

  /**
   * Runs one sequence through the model, in a batch with the requests that wait with it.
   * @param sequence `[T, D]` feature rows (`number[][]`, `Float32Array[]`), their `T·D` values
   *   flat, or a Tensor `[T, D]` / `[1, T, D]`; for an Embedding model, `T` integer ids
   *   (`number[]`, `Int32Array`, `Float32Array`, Tensor `[T]` / `[1, T]`)
   * @returns what `model.predict` gives for this sequence alone, without the batch axis
   * @throws (as a rejected Promise) TypeError/RangeError for a malformed sequence or options;
   *   Error `RNNKIT_QUEUE_FULL`, `RNNKIT_ABORTED`, `RNNKIT_TIMEOUT` or `RNNKIT_CLOSED`
   */
  async predict(sequence: unknown, options?: RequestOptions): Promise<Output> {
    const where = 'batcher.predict';
    return this.accept(readSequence(sequence, this.plan.sample, `${where}: sequence`), null, false, options, where);
  }

  /**
   * Opens a streaming session (see {@link Session}).
   * @throws Error `RNNKIT_UNSUPPORTED` naming the layer when the model cannot run a step at a
   *   time (bidirectional, goBackwards, convolutions, pooling over time…); `RNNKIT_CLOSED`
   *   once `close()` was called; `RNNKIT_QUEUE_FULL` past `maxSessions`; TypeError/RangeError
   *   for a state that is malformed or of another model
   */
  session(options: SessionOptions = {}): Session {
    const where = 'batcher.session';
    if (this.plan.chain instanceof Error) throw this.plan.chain;
    const o = expectObject(options, `${where}: options`);
    rejectUnknownOptions(o, ['state'], where);
    if (this.closing) throw rnnkitError('RNNKIT_CLOSED', `${where}: the batcher is closed`);
    if (this.sessionQueues.size >= this.maxSessions) {
      throw rnnkitError('RNNKIT_QUEUE_FULL', `${where}: ${this.maxSessions} sessions are open (maxSessions); close some first`);
    }
    const session = new Session(this.host, o.state);
    this.sessionQueues.set(session, { entries: [], busy: false });
    this.startSweeper();
    return session;
  }

  /** Counters, the batch-size histogram, the queue and latency percentiles. */
  stats(): BatcherStats {
    return {
      ...this.counts,
      rejected: { ...this.rejected },
      batchSizes: [...this.batchSizes].sort((a, b) => a[0] - b[0]).map(([size, count]) => ({ size, count })),
      queueDepth: this.queued,
      sessions: this.sessionQueues.size,
      queueWaitMs: this.queueWait.percentiles(),
      computeMs: this.compute.percentiles(),
    };
  }

  /**
   * Stops taking requests (later calls reject with `RNNKIT_CLOSED`), runs every request
   * already accepted, then closes the sessions. Resolves once drained; idempotent.
   */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        this.drained = resolve;
      });
      this.schedule();
    }
    return this.closing;
  }

  private accept(input: HostSequence, session: Session | null, lastOnly: boolean, options: unknown, where: string): Promise<Output> {
    const opts = readRequestOptions(options, where);
    if (this.closing) {
      this.rejected.closed++;
      return Promise.reject(rnnkitError('RNNKIT_CLOSED', `${where}: the batcher is closed`));
    }
    if (this.queued >= this.maxQueue) {
      this.rejected.queueFull++;
      return Promise.reject(rnnkitError('RNNKIT_QUEUE_FULL', `${where}: ${this.maxQueue} requests are already waiting (maxQueue); retry later`));
    }
    if (opts.signal?.aborted) {
      this.rejected.aborted++;
      return Promise.reject(rnnkitError('RNNKIT_ABORTED', `${where}: its signal was already aborted`));
    }
    return new Promise<Output>((resolve, reject) => {
      const request = new Request(input, session, lastOnly, { resolve, reject }, opts, where, (r, reason) => this.ended(r, reason));
      this.counts.requests++;
      this.queued++;
      if (session) {
        this.sessionQueues.get(session)!.entries.push(request);
        this.waitingSessions.add(session);
      } else {
        this.waiting.push(request);
      }
      this.schedule();
    });
  }

  /** A signal or timer ended a request: one still waiting leaves its queue. */
  private ended(request: Request, reason: 'aborted' | 'timedOut'): void {
    this.rejected[reason]++;
    if (request.started) return;
    this.queued--;
    if (request.session) {
      const q = this.sessionQueues.get(request.session);
      if (q) {
        q.entries.splice(q.entries.indexOf(request), 1);
        this.settleResets(request.session, q);
      }
    } else {
      this.waiting.splice(this.waiting.indexOf(request), 1);
    }
    this.schedule();
  }

  /** Starts batches while they are due and a forward may start, or sets the timer for when one will be. */
  private schedule(): void {
    while (this.inFlight < this.maxConcurrentBatches) {
      const oldest = this.oldestWaiting();
      if (oldest === null) {
        this.clearTimer();
        if (this.inFlight === 0 && this.closing && this.drained) this.finishClose();
        return;
      }
      const due = oldest + this.maxDelayMs - performance.now();
      if (due > 0 && this.queued < this.maxBatchSize && !this.closing) {
        this.timer ??= setTimeout(() => {
          this.timer = null;
          this.schedule();
        }, Math.ceil(due));
        return;
      }
      this.clearTimer();
      void this.runBatch();
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** When the oldest request that could start now was accepted (a session's next call waits for its running one), or null. */
  private oldestWaiting(): number | null {
    let oldest = this.waiting[0]?.acceptedAt ?? null;
    for (const s of this.waitingSessions) {
      const q = this.sessionQueues.get(s)!;
      const head = q.entries[0];
      if (!q.busy && head instanceof Request && (oldest === null || head.acceptedAt < oldest)) oldest = head.acceptedAt;
    }
    return oldest;
  }

  private async runBatch(): Promise<void> {
    this.inFlight++;
    const predictFirst = this.waiting.length > 0 && this.waiting[0]!.acceptedAt === this.oldestWaiting();
    const batch = predictFirst ? this.takePredicts() : this.takeSteps();
    this.queued -= batch.length;
    for (const r of batch) r.started = true;
    this.counts.batches++;
    this.batchSizes.set(batch.length, (this.batchSizes.get(batch.length) ?? 0) + 1);
    const start = performance.now();
    try {
      const outputs = predictFirst ? await this.runPredicts(batch) : await this.runSteps(batch);
      const end = performance.now();
      batch.forEach((r, i) => {
        if (!r.pending) return;
        this.counts.completed++;
        this.queueWait.add(start - r.acceptedAt);
        this.compute.add(end - start);
        r.resolve(outputs[i]!);
      });
    } catch (e) {
      for (const r of batch) {
        if (!r.pending) continue;
        this.rejected.failed++;
        r.reject(rethrow(e, 'batcher: the batch failed'));
      }
    } finally {
      if (!predictFirst) {
        for (const r of batch) {
          const q = this.sessionQueues.get(r.session!);
          if (!q) continue;
          q.busy = false;
          this.settleResets(r.session!, q);
        }
      }
      this.inFlight--;
      this.schedule();
    }
  }

  /** The oldest predict and those closest to its length, within the padding allowance. */
  private takePredicts(): Request[] {
    const first = this.waiting[0]!;
    const rest = this.waiting.slice(1).filter((r) => this.plan.padSafe || r.input.T === first.input.T);
    rest.sort((a, b) => Math.abs(a.input.T - first.input.T) - Math.abs(b.input.T - first.input.T) || a.acceptedAt - b.acceptedAt);
    const batch = fillBatch(first, rest, this.maxBatchSize);
    const taken = new Set(batch);
    this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((r) => !taken.has(r)));
    return batch;
  }

  /** One chunk from each session with a call waiting, oldest first, within the padding allowance. */
  private takeSteps(): Request[] {
    const heads: Request[] = [];
    for (const s of this.waitingSessions) {
      const q = this.sessionQueues.get(s)!;
      if (!q.busy && q.entries[0] instanceof Request) heads.push(q.entries[0]);
    }
    heads.sort((a, b) => a.acceptedAt - b.acceptedAt);
    const batch = fillBatch(heads[0]!, heads.slice(1), this.maxBatchSize);
    for (const r of batch) {
      const q = this.sessionQueues.get(r.session!)!;
      q.entries.shift();
      q.busy = true;
      if (q.entries.length === 0) this.waitingSessions.delete(r.session!);
    }
    return batch;
  }

  /** Pads the batch's sequences to the longest: `[B, Tmax, D]`, or ids `[B, Tmax]`. */
  private paddedInput(batch: readonly Request[]): { x: Tensor; Tmax: number; lengths: Int32Array | null } {
    const { ids, width } = this.plan.sample;
    const step = ids ? 1 : width;
    const Tmax = Math.max(...batch.map((r) => r.input.T));
    const values = new Float32Array(batch.length * Tmax * step);
    batch.forEach((r, i) => values.set(r.input.values, i * Tmax * step));
    const shape = ids ? [batch.length, Tmax] : [batch.length, Tmax, width];
    const varied = batch.some((r) => r.input.T !== Tmax);
    return { x: tensor(values, shape, { device: this.plan.device }), Tmax, lengths: varied ? Int32Array.from(batch, (r) => r.input.T) : null };
  }

  private async runPredicts(batch: readonly Request[]): Promise<Output[]> {
    const { x, Tmax, lengths } = this.paddedInput(batch);
    try {
      const y = (await this.model.predict(x, { batchSize: batch.length, ...(lengths ? { lengths } : {}) })) as Tensor;
      try {
        return splitOutput(await y.data(), y.shape, batch, Tmax, this.plan.outputHasTime);
      } finally {
        y.dispose();
      }
    } finally {
      x.dispose();
    }
  }

  /** Runs the session chain over the batch's chunks from their sessions' states, then stores the new states. */
  private async runSteps(batch: readonly Request[]): Promise<Output[]> {
    const chain = this.plan.chain as StepChain;
    const { x, Tmax, lengths } = this.paddedInput(batch);
    const B = batch.length;
    const states = batch.map(() => new Array<Float32Array>(chain.stateSizes.length));
    let mask: StepMask | null = lengths ? StepMask.fromLengths(lengths, Tmax) : null;
    let h = x;
    try {
      for (const step of chain.steps) {
        let next: Tensor;
        if (step.kind === 'recurrent') {
          const { layer, stateOffset } = step;
          const H = layer.config.units;
          const initialState = Array.from({ length: layer.stateCount }, (_, k) => {
            const values = new Float32Array(B * H);
            batch.forEach((r, i) => values.set(r.session!.states[stateOffset + k]!, i * H));
            return tensor(values, [B, H], { device: this.plan.device });
          });
          try {
            const fwd = await layer.streamForward(h, { initialState, ...maskOptions(mask) });
            fwd.dispose();
            for (const [k, s] of fwd.states.entries()) {
              const values = await s.data();
              s.dispose();
              batch.forEach((_, i) => (states[i]![stateOffset + k] = values.slice(i * H, (i + 1) * H)));
            }
            next = mask ? await this.carryAcrossChunks(fwd.output, mask, batch, step) : fwd.output;
          } finally {
            for (const t of initialState) t.dispose();
          }
          if (!layer.config.returnSequences) mask = null;
        } else {
          const pass = await step.layer.run([h], { training: false, masks: [mask] });
          pass.dispose();
          next = pass.outputs[0]!;
          for (const extra of pass.outputs.slice(1)) extra.dispose();
          mask = pass.masks[0] ?? null;
        }
        if (h !== x) h.dispose();
        h = next;
      }
      const outputs = splitOutput(await h.data(), h.shape, batch, Tmax, chain.perStepOutput);
      batch.forEach((r, i) => {
        const session = r.session!;
        if (!r.pending || session.closed) return;
        session.states = states[i]!;
        session.steps += r.input.T;
        session.lastUsed = performance.now();
      });
      return outputs;
    } finally {
      if (h !== x) h.dispose();
      x.dispose();
    }
  }

  /**
   * A masked step carries the output of the last valid step before it, which may lie in an
   * earlier chunk: there the chunk's own run has none, so the output before the chunk (the
   * session's h) is put in. This holds for a last-step output whose chunk has no valid step,
   * and for a sequence output with `maskedOutput: 'carry'` before the chunk's first valid step.
   */
  private async carryAcrossChunks(output: Tensor, mask: StepMask, batch: readonly Request[], step: ChainStep & { kind: 'recurrent' }): Promise<Tensor> {
    const { layer, stateOffset } = step;
    const sequence = layer.config.returnSequences;
    if (sequence && layer.config.maskedOutput !== 'carry') return output;
    const H = layer.config.units;
    const T = mask.T;
    const firstValid = batch.map((r, i) => {
      let t = 0;
      while (t < r.input.T && !mask.valid[i * T + t]) t++;
      return t;
    });
    if (firstValid.every((t) => t === 0)) return output;
    const values = await output.data();
    batch.forEach((r, i) => {
      const h = r.session!.states[stateOffset]!;
      if (sequence) for (let t = 0; t < firstValid[i]!; t++) values.set(h, (i * T + t) * H);
      else if (firstValid[i] === r.input.T) values.set(h, i * H);
    });
    output.dispose();
    return tensor(values, sequence ? [batch.length, T, H] : [batch.length, H], { device: this.plan.device });
  }

  /** Applies the resets at the head of a session's queue (they wait for the calls before them). */
  private settleResets(session: Session, q: SessionQueue): void {
    if (q.busy) return;
    while (q.entries[0] === 'reset') {
      q.entries.shift();
      session.applyReset();
    }
    if (q.entries.length === 0) this.waitingSessions.delete(session);
  }

  private resetAfterQueued(session: Session): void {
    const q = this.sessionQueues.get(session)!;
    q.entries.push('reset');
    this.waitingSessions.add(session);
    this.settleResets(session, q);
  }

  /** Drops a closed session: calls not yet started reject with `RNNKIT_CLOSED`. */
  private sessionClosed(session: Session): void {
    const q = this.sessionQueues.get(session);
    if (!q) return;
    this.sessionQueues.delete(session);
    this.waitingSessions.delete(session);
    for (const e of q.entries) {
      if (e === 'reset' || !e.pending) continue;
      this.queued--;
      this.rejected.closed++;
      e.reject(rnnkitError('RNNKIT_CLOSED', `session ${session.id}: the session was closed (${session.closeReason}) before this call ran`));
    }
    if (this.sessionQueues.size === 0) this.stopSweeper();
    this.schedule();
  }

  /** Closes sessions idle past `sessionTtlMs`. */
  private startSweeper(): void {
    if (this.sweeper || !Number.isFinite(this.sessionTtlMs)) return;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const [s, q] of this.sessionQueues) {
        if (!q.busy && q.entries.length === 0 && now - s.lastUsed > this.sessionTtlMs) s.closeWith(`evicted after ${this.sessionTtlMs} ms idle`);
      }
    }, Math.max(1, Math.min(this.sessionTtlMs / 2, 30000)));
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private finishClose(): void {
    const resolve = this.drained!;
    this.drained = null;
    for (const s of [...this.sessionQueues.keys()]) s.closeWith('the batcher was closed');
    this.stopSweeper();
    resolve();
  }
}

/** The first request, then others in order while the padded cells stay within the allowance. */
function fillBatch(first: Request, candidates: readonly Request[], maxBatchSize: number): Request[] {
  const batch = [first];
  let longest = first.input.T;
  let cells = first.input.T;
  for (const r of candidates) {
    if (batch.length >= maxBatchSize) break;
    const T = Math.max(longest, r.input.T);
    if ((batch.length + 1) * T > PADDING_ALLOWANCE * (cells + r.input.T)) continue;
    batch.push(r);
    longest = T;
    cells += r.input.T;
  }
  return batch;
}

/**
 * Each request's rows of a batch output: its own steps of a per-step output (the last alone
 * for a single session step), or its sample.
 */
function splitOutput(data: Float32Array, shape: readonly number[], batch: readonly Request[], Tmax: number, perStep: boolean): Output[] {
  const sampleShape = shape.slice(1);
  const sampleSize = data.length / batch.length;
  return batch.map((r, i) => {
    const at = i * sampleSize;
    if (!perStep) return { data: data.slice(at, at + sampleSize), shape: [...sampleShape] };
    const rowSize = sampleSize / Tmax;
    const rows = r.lastOnly ? [r.input.T - 1, r.input.T] : [0, r.input.T];
    const values = data.slice(at + rows[0]! * rowSize, at + rows[1]! * rowSize);
    return { data: values, shape: r.lastOnly ? sampleShape.slice(1) : [r.input.T, ...sampleShape.slice(1)] };
  });
}

function integerOption(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw typeError(`${name} must be a positive integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1 || value > max) throw rangeError(`${name} must be an integer in [1, ${max}], got ${value}`);
  return value;
}

function numberOption(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw typeError(`${name} must be a number, got ${describe(value)}`);
  if (!(value >= min && value <= max)) throw rangeError(`${name} must be in [${min}, ${max}], got ${value}`);
  return value;
}

/**
 * Serves `model` to concurrent callers: `predict` coalesces sequences into padded batches,
 * `session()` streams sequences a step at a time with their states kept between calls.
 * @param model a model of one sequence input and one output (rk.sequential, rk.model, rk.loadModel)
 * @throws Error `RNNKIT_UNSUPPORTED` for a model of several inputs or outputs or a non-sequence
 *   input; TypeError/RangeError for bad options
 */
export function batcher(model: ModelBase, options: BatcherOptions = {}): Batcher {
  return new Batcher(model, options);
}
