/**
 * Shared by the serving suites (test/serving-batcher.test.ts, test/serving-sessions.test.ts):
 * seeded models and data, the one-sample-at-a-time reference (`model.predict` on [1, T, D]
 * or [1, T] ids), the relative max-error comparison of the serving contract, and error checks.
 */
import { expect } from 'vitest';
import * as rk from '../../lib';
import { Rng } from './random';

/** The serving contract's tolerance: max |a − b| / max |b| over one output. */
export const REL = 1e-6;

/** What batcher.predict, session.step and session.feed resolve to. */
export interface Output {
  data: Float32Array;
  shape: number[];
}

export type Model = rk.Sequential | rk.LayersModel;

/** max |a − b| / max |b| (Infinity on a length mismatch or a non-finite value). */
export function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) return Infinity;
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den > 0 ? num / den : num;
}

/** `got` equals `want` within {@link REL} (relative max error), with a non-zero reference. */
export function expectRel(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = REL): void {
  expect(got.length, `${what}: number of values`).toBe(want.length);
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]!));
  expect(max, `${what}: the reference is all zeros (degenerate test data)`).toBeGreaterThan(0);
  const e = relMax(got, want);
  expect(e, `${what}: relative max error ${e.toExponential(3)} > ${tol}`).toBeLessThanOrEqual(tol);
}

/** An Output equals a reference of the given shape. */
export function expectOutput(out: Output, want: { data: ArrayLike<number>; shape: number[] }, what: string, tol = REL): void {
  expect(out, `${what}: an Output`).toBeTruthy();
  expect(out.data, `${what}: data is a Float32Array`).toBeInstanceOf(Float32Array);
  expect(out.shape, `${what}: shape`).toEqual(want.shape);
  expectRel(out.data, want.data, what, tol);
}

/** model.predict on one sample [1, T, D] (or [1, T] ids); the Output without the batch axis. */
export async function predictOne(model: Model, seq: Float32Array, T: number, D: number | null): Promise<Output> {
  const x = rk.tensor(seq, D === null ? [1, T] : [1, T, D]);
  const y = (await model.predict(x)) as rk.Tensor;
  const out = { data: y.dataSync().slice(), shape: y.shape.slice(1) };
  x.dispose();
  y.dispose();
  return out;
}

/** T rows of D seeded normal values, flat (never all zero). */
export function features(rng: Rng, T: number, D: number): Float32Array {
  return rng.normal(T * D);
}

/** T seeded ids in [lo, V). */
export function ids(rng: Rng, T: number, V: number, lo = 1): Float32Array {
  const out = new Float32Array(T);
  for (let t = 0; t < T; t++) out[t] = rng.int(lo, V - 1);
  return out;
}

/** Rows of a flat [T, D] array. */
export function rows(flat: Float32Array, D: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < flat.length; i += D) out.push(flat.slice(i, i + D));
  return out;
}

/** Row t of a [T, K] output. */
export function row(out: { data: Float32Array; shape: number[] }, t: number): Float32Array {
  const K = out.shape[out.shape.length - 1]!;
  return out.data.slice(t * K, (t + 1) * K);
}

/**
 * The error `run` throws or its promise rejects with. `async`: the call must return a
 * promise that rejects (a synchronous throw is reported as a failure of the contract).
 */
export async function caught(run: () => unknown, mode: 'async' | 'sync' | 'either' = 'either'): Promise<unknown> {
  let value: unknown;
  try {
    value = run();
  } catch (e) {
    if (mode === 'async') throw new Error(`expected a rejected promise, but the call threw synchronously: ${(e as Error)?.message}`);
    return e;
  }
  if (mode === 'sync') throw new Error('expected a synchronous throw, but the call returned without an error');
  try {
    await value;
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, but the call succeeded (its promise resolved)');
}

/** `e` is an instance of one of `kinds` with `code` (and a message matching `message`). */
export function expectError(e: unknown, kinds: ErrorConstructor[], code: string, message?: RegExp): void {
  expect(e, 'an Error').toBeInstanceOf(Error);
  const ok = kinds.some((k) => e instanceof k);
  expect(ok, `${(e as Error).constructor.name} is one of ${kinds.map((k) => k.name).join('/')}: ${(e as Error).message}`).toBe(true);
  expect((e as { code?: string }).code, (e as Error).message).toBe(code);
  if (message) expect((e as Error).message).toMatch(message);
}

/** The promise `p` rejects with `code` within `ms` (or resolves/rejects otherwise → fails). */
export async function rejectsWithin(p: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([p, late]);
  } catch (e) {
    return e;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('expected a rejection, but the promise resolved');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether `p` has settled after the current macrotask queue drains. */
export async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise<void>((r) => setImmediate(r));
  return done;
}

/** A batch-size histogram's totals: Σ count (forwards) and Σ size·count (sequences). */
export function histogramTotals(h: { size: number; count: number }[]): { forwards: number; sequences: number; maxSize: number } {
  let forwards = 0;
  let sequences = 0;
  let maxSize = 0;
  for (const { size, count } of h) {
    forwards += count;
    sequences += size * count;
    if (count > 0) maxSize = Math.max(maxSize, size);
  }
  return { forwards, sequences, maxSize };
}
