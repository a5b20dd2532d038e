/**
 * One request's input as flat host values: a sequence `[T, D]` of feature rows, or `[T]`
 * integer ids for a model that starts with an Embedding. Every form a caller may pass is
 * read here, and every check that keeps a bad request from reaching a shared batch.
 * Internal to rnnkit: not part of the public API.
 */
import { describe, rangeError, typeError } from '../errors';
import { Tensor } from '../tensor';
import type { SampleSpec } from './model-plan';

/** One sequence on the host: `T·width` feature values, or `T` ids. */
export interface HostSequence {
  readonly values: Float32Array;
  readonly T: number;
}

/**
 * Reads one sequence: feature rows (`number[][]`, `Float32Array[]`), flat values
 * (`Float32Array`, `number[]`), or a Tensor `[T, D]` / `[1, T, D]`; for ids, `number[]`,
 * `Int32Array`, `Float32Array` or a Tensor `[T]` / `[1, T]`.
 */
export function readSequence(value: unknown, spec: SampleSpec, name: string): HostSequence {
  const rowWidth = spec.ids ? 1 : spec.width;
  let values: Float32Array;
  if (value instanceof Tensor) {
    const s = value.shape;
    const rank = spec.ids ? 1 : 2;
    const ok = (s.length === rank || (s.length === rank + 1 && s[0] === 1)) && (spec.ids || s.at(-1) === spec.width);
    if (!ok) {
      const want = spec.ids ? '[T] or [1, T] of ids' : `[T, ${spec.width}] or [1, T, ${spec.width}]`;
      throw rangeError(`${name} must be a Tensor ${want}, got [${s.join(', ')}]`);
    }
    values = value.dataSync();
  } else if (Array.isArray(value) && value.length > 0 && !spec.ids && (Array.isArray(value[0]) || value[0] instanceof Float32Array)) {
    values = new Float32Array(value.length * rowWidth);
    value.forEach((row: unknown, t) => {
      if (!(Array.isArray(row) || row instanceof Float32Array)) throw typeError(`${name}[${t}] must be an array of ${rowWidth} numbers, got ${describe(row)}`);
      if (row.length !== rowWidth) throw rangeError(`${name}[${t}] must hold ${rowWidth} features (the model's input size), got ${row.length}`);
      values.set(row as ArrayLike<number>, t * rowWidth);
    });
  } else if (value instanceof Float32Array || value instanceof Int32Array || Array.isArray(value)) {
    values = Float32Array.from(value as ArrayLike<number>);
  } else {
    const want = spec.ids ? 'an array, Int32Array or Float32Array of ids, or a Tensor' : 'rows of features (number[][] or Float32Array[]), flat values (Float32Array), or a Tensor';
    throw typeError(`${name} must be ${want}, got ${describe(value)}`);
  }
  if (values.length === 0) throw rangeError(`${name} must hold at least one step, got none`);
  if (values.length % rowWidth !== 0) {
    throw rangeError(`${name} must hold whole steps of ${rowWidth} features (the model's input size), got ${values.length} values`);
  }
  const T = values.length / rowWidth;
  if (spec.fixedT !== null && T !== spec.fixedT) throw rangeError(`${name} must have ${spec.fixedT} steps (the model's input length), got ${T}`);
  checkValues(values, spec, name);
  return { values, T };
}

/** Reads one step: `D` features (`number[]`, `Float32Array`), or one id for an Embedding model. */
export function readStep(value: unknown, spec: SampleSpec, name: string): HostSequence {
  if (spec.ids) {
    if (typeof value !== 'number') throw typeError(`${name} must be one id (a number), got ${describe(value)}`);
    const values = Float32Array.of(value);
    checkValues(values, spec, name);
    return { values, T: 1 };
  }
  if (!(Array.isArray(value) || value instanceof Float32Array)) throw typeError(`${name} must be ${spec.width} features (number[] or Float32Array), got ${describe(value)}`);
  if (value.length !== spec.width) throw rangeError(`${name} must hold ${spec.width} features (the model's input size), got ${value.length}`);
  const values = Float32Array.from(value as ArrayLike<number>);
  checkValues(values, spec, name);
  return { values, T: 1 };
}

/** Ids must be valid vocabulary indices; features must be numbers (NaN marks a value that was not one). */
function checkValues(values: Float32Array, spec: SampleSpec, name: string): void {
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    if (spec.ids && (!Number.isInteger(v) || v < 0 || v >= spec.width)) throw rangeError(`${name} (ids) must be integers in [0, ${spec.width}), got ${v} at step ${k}`);
    if (Number.isNaN(v)) throw rangeError(`${name} must hold numbers, got NaN (or a value that is not a number) at flat index ${k}`);
  }
}
