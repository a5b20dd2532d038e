/**
 * A streaming session: a sequence fed a step (or a chunk) at a time, whose recurrent states
 * live on the host between calls, so that a batch can gather many sessions' states and
 * scatter them back, and a service can export them to a store and resume anywhere.
 */
import { randomUUID } from 'node:crypto';
import { describe, expectObject, rangeError, rnnkitError, typeError } from '../errors';
import type { HostSequence } from './inputs';
import type { StepChain } from './model-plan';
import type { Output, RequestOptions, SessionState } from './types';

/** What a session asks of the batcher that owns it. @internal */
export interface StepQueue {
  readonly chain: StepChain;
  /** Queues a chunk of this session's steps; the output is its last row alone when `lastOnly`. */
  enqueueSteps(session: Session, input: HostSequence, lastOnly: boolean, options: RequestOptions, where: string): Promise<Output>;
  readStep(value: unknown, name: string): HostSequence;
  readSequence(value: unknown, name: string): HostSequence;
  /** Resets the states once the steps already requested are done. */
  resetAfterQueued(session: Session): void;
  /** Called once when the session closes: its queued steps are rejected. */
  sessionClosed(session: Session): void;
}


/**
 * A sequence fed as its steps arrive (`b.session()`): every recurrent layer's state is kept
 * for the next call. Calls run in order; many sessions' steps that wait together run as one
 * batched forward.
 */
export class Session {
  /** A unique id (a random UUID). */
  readonly id = randomUUID();
  /** @internal The states after the last completed step, one array per state tensor. */
  states: Float32Array[];
  /** @internal Steps fed so far. */
  steps = 0;
  /** @internal When it last took a call or finished one (performance.now()). */
  lastUsed = performance.now();
  private closedBecause: string | null = null;

  /** @internal Use `batcher.session()`. */
  constructor(
    private readonly host: StepQueue,
    state: unknown,
  ) {
    this.states = state === undefined ? zeroStates(host.chain) : importState(state, host.chain);
    if (state !== undefined) this.steps = (state as SessionState).steps;
  }

  /** Whether the session is closed (by `close()`, its batcher's `close()`, or eviction when idle). */
  get closed(): boolean {
    return this.closedBecause !== null;
  }

  /** @internal Why it closed, for the errors of later calls. */
  get closeReason(): string | null {
    return this.closedBecause;
  }

  /**
   * Feeds one step (`D` features, or one id for an Embedding model) and resolves to the
   * model's output for the sequence so far: shape `[K]`.
   */
  step(x: unknown, options: RequestOptions = {}): Promise<Output> {
    const where = `session ${this.id}: step`;
    return this.enqueue(() => this.host.readStep(x, `${where}: x`), true, options, where);
  }

  /**
   * Feeds several steps (the forms `batcher.predict` takes). Resolves to the output at every
   * step fed, `[T, K]`, when the model outputs a sequence; else to the output after the last, `[K]`.
   */
  feed(chunk: unknown, options: RequestOptions = {}): Promise<Output> {
    const where = `session ${this.id}: feed`;
    return this.enqueue(() => this.host.readSequence(chunk, `${where}: chunk`), false, options, where);
  }

  private enqueue(read: () => HostSequence, lastOnly: boolean, options: RequestOptions, where: string): Promise<Output> {
    try {
      if (this.closedBecause !== null) throw rnnkitError('RNNKIT_CLOSED', `${where}: the session is closed (${this.closedBecause})`);
      this.lastUsed = performance.now();
      return this.host.enqueueSteps(this, read(), lastOnly, options, where);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Sets the states back to zeros, after the steps already requested. */
  reset(): void {
    if (this.closedBecause !== null) throw rnnkitError('RNNKIT_CLOSED', `session ${this.id}: reset: the session is closed (${this.closedBecause})`);
    this.host.resetAfterQueued(this);
  }

  /** @internal */
  applyReset(): void {
    this.states = zeroStates(this.host.chain);
    this.steps = 0;
  }

  /** Closes the session: steps not yet started reject with `RNNKIT_CLOSED`, and so do later calls. Idempotent. */
  close(): void {
    this.closeWith('closed by close()');
  }

  /** @internal */
  closeWith(reason: string): void {
    if (this.closedBecause !== null) return;
    this.closedBecause = reason;
    this.host.sessionClosed(this);
  }

  /**
   * The states after the last completed step as plain data that `JSON.stringify` keeps
   * exactly; `batcher.session({ state })` resumes from it, in any process serving the same model.
   */
  exportState(): SessionState {
    return { format: 'rnnkit-session-state', version: 1, model: this.host.chain.fingerprint, steps: this.steps, states: this.states.map((s) => Array.from(s)) };
  }
}

function zeroStates(chain: StepChain): Float32Array[] {
  return chain.stateSizes.map((H) => new Float32Array(H));
}

/** Reads an exported state, checking that it belongs to this model. */
function importState(value: unknown, chain: StepChain): Float32Array[] {
  const name = 'session: state';
  const o = expectObject(value, name);
  if (o.format !== 'rnnkit-session-state' || o.version !== 1) {
    throw typeError(`${name} must be what Session.exportState() returns (format 'rnnkit-session-state', version 1), got format ${describe(o.format)}, version ${describe(o.version)}`);
  }
  if (o.model !== chain.fingerprint) {
    throw rangeError(`${name} belongs to a model with recurrent layers ${describe(o.model)}; this model has ${chain.fingerprint}`);
  }
  if (typeof o.steps !== 'number' || !Number.isInteger(o.steps) || o.steps < 0) throw rangeError(`${name}: steps must be a non-negative integer, got ${describe(o.steps)}`);
  const states = o.states;
  if (!Array.isArray(states) || states.length !== chain.stateSizes.length) {
    throw rangeError(`${name}: states must be an array of ${chain.stateSizes.length} arrays, got ${describe(states)}`);
  }
  return states.map((s: unknown, k) => {
    const H = chain.stateSizes[k]!;
    if (!Array.isArray(s) || s.length !== H) throw rangeError(`${name}: states[${k}] must be an array of ${H} numbers, got ${describe(s)}`);
    const out = new Float32Array(H);
    s.forEach((v: unknown, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw rangeError(`${name}: states[${k}][${j}] must be a finite number, got ${describe(v)}`);
      out[j] = v;
    });
    return out;
  });
}
