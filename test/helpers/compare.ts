/**
 * Comparing computed arrays with reference arrays, shared by the test files.
 */
import { expect } from 'vitest';

/**
 * ||a - b||_2 / ||b||_2 (absolute ||a - b|| when b is exactly zero).
 * Infinity when the lengths differ or the error is not finite.
 */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  if (!Number.isFinite(num)) return Infinity;
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

export interface CloseOptions {
  /**
   * Accept an all-zero reference (the error is then the absolute ||actual||_2).
   * Off by default: an all-zero reference usually means degenerate test data.
   */
  allowZeroReference?: boolean;
}

/**
 * `actual` matches the reference `expected` to relative L2 error <= tol: same number of
 * elements, finite values, and (unless allowed) a reference that is not all zeros.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
  opts: CloseOptions = {},
): void {
  expect(actual.length, `${what}: number of elements`).toBe(expected.length);
  if (!opts.allowZeroReference) {
    let norm = 0;
    for (let i = 0; i < expected.length; i++) norm += expected[i] * expected[i];
    expect(norm, `${what}: the reference is all zeros (test data is degenerate)`).toBeGreaterThan(0);
  }
  for (let i = 0; i < actual.length; i++) {
    if (!Number.isFinite(actual[i])) throw new Error(`${what}: non-finite value ${actual[i]} at ${i}`);
  }
  const err = relL2(actual, expected);
  expect(err, `${what}: relative L2 error ${err.toExponential(3)} > ${tol}`).toBeLessThanOrEqual(tol);
}

/**
 * Element by element: |got[i] - want[i]| <= tol * max(1, |want[i]|) for every i
 * (absolute near zero, relative for large values; all-zero and empty references are fine).
 */
export function expectElementwiseClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= tol * Math.max(1, Math.abs(want[i])))) {
      throw new Error(`${what}: index ${i}: got ${got[i]}, want ${want[i]} (|diff| ${d} > ${tol})`);
    }
  }
}
