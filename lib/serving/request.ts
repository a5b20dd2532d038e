/**
 * A request between acceptance and its answer: its input, the promise's settle functions,
 * and the abort signal and timer that may end it early. It settles exactly once.
 * Internal to rnnkit: not part of the public API.
 */
import { describe, rangeError, rnnkitError, typeError } from '../errors';
import type { HostSequence } from './inputs';
import type { Session } from './session';
import type { Output, RequestOptions } from './types';

export class Request {
  /** When it was accepted (performance.now()). */
  readonly acceptedAt = performance.now();
  /** It is in a running batch. */
  started = false;
  private settled = false;
  private timer: NodeJS.Timeout | null = null;
  private unwatch: (() => void) | null = null;

  constructor(
    readonly input: HostSequence,
    /** The session it steps, or null for a predict. */
    readonly session: Session | null,
    /** Answer with the output's last row alone (a session's single step). */
    readonly lastOnly: boolean,
    private readonly settle: { resolve(out: Output): void; reject(e: Error): void },
    options: RequestOptions,
    where: string,
    /** Called when a signal or the timer ends it first. */
    ended: (request: Request, reason: 'aborted' | 'timedOut') => void,
  ) {
    if (options.signal) {
      this.unwatch = watchAbort(options.signal, () => {
        if (this.finish()) {
          this.settle.reject(rnnkitError('RNNKIT_ABORTED', `${where}: aborted by its signal`));
          ended(this, 'aborted');
        }
      });
    }
    if (options.timeoutMs !== undefined) {
      this.timer = setTimeout(() => {
        if (this.finish()) {
          this.settle.reject(rnnkitError('RNNKIT_TIMEOUT', `${where}: no result within timeoutMs = ${options.timeoutMs} ms`));
          ended(this, 'timedOut');
        }
      }, options.timeoutMs);
    }
  }

  /** Whether it still waits for its answer. */
  get pending(): boolean {
    return !this.settled;
  }

  resolve(out: Output): void {
    if (this.finish()) this.settle.resolve(out);
  }

  reject(e: Error): void {
    if (this.finish()) this.settle.reject(e);
  }

  /** Marks it settled and drops its timer and listener; false when it already was. */
  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.unwatch?.();
    return true;
  }
}

/** The requests watching each signal: one listener per signal, however many requests share it. */
const watchers = new WeakMap<AbortSignal, { readonly callbacks: Set<() => void>; readonly listener: () => void }>();

/** Calls `onAbort` when `signal` aborts; returns the function that stops watching (the last one removes the listener). */
function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let watch = watchers.get(signal);
  if (!watch) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      watchers.delete(signal);
      for (const f of callbacks) f();
    };
    watch = { callbacks, listener };
    watchers.set(signal, watch);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { callbacks, listener } = watch;
  callbacks.add(onAbort);
  return () => {
    callbacks.delete(onAbort);
    if (callbacks.size === 0 && watchers.get(signal)?.callbacks === callbacks) {
      watchers.delete(signal);
      signal.removeEventListener('abort', listener);
    }
  };
}

/** Checks a request's options. */
export function readRequestOptions(value: unknown, where: string): RequestOptions {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError(`${where}: options must be an object, got ${describe(value)}`);
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => k !== 'signal' && k !== 'timeoutMs');
  if (unknown.length) throw typeError(`${where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; valid options are signal, timeoutMs`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw typeError(`${where}: signal must be an AbortSignal, got ${describe(o.signal)}`);
  if (o.timeoutMs !== undefined) {
    if (typeof o.timeoutMs !== 'number') throw typeError(`${where}: timeoutMs must be a number of milliseconds, got ${describe(o.timeoutMs)}`);
    if (!(o.timeoutMs > 0) || o.timeoutMs > 2 ** 31 - 1) throw rangeError(`${where}: timeoutMs must be in (0, 2147483647] milliseconds, got ${o.timeoutMs}`);
  }
  return o as RequestOptions;
}
