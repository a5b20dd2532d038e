import { expectObject, optionalChoice, rangeError, rejectUnknownOptions, typeError } from './errors';
import { expectTensor, Tensor, tensor } from './tensor';

/** Options of {@link padSequences}; as Keras `pad_sequences` with `padding='post'`. */
export interface PadOptions {
  /** Number of steps to keep; default: the longest sequence. */
  maxlen?: number;
  /** Which steps to drop from sequences longer than `maxlen`: 'pre' (default, as Keras) or 'post'. */
  truncating?: 'pre' | 'post';
  /** Value of padded steps; default 0. */
  value?: number;
}

/** A step of a sequence: a feature vector. */
export type SequenceStep = Float32Array | readonly number[];

/** @internal Normalises `lengths` to an Int32Array of integers in [0, steps]. */
export function toLengths(lengths: unknown, batch: number, steps: number, name = 'lengths'): Int32Array {
  if (!(lengths instanceof Int32Array) && !Array.isArray(lengths)) {
    throw typeError(`${name} must be an Int32Array or an array of integers`);
  }
  if (lengths.length !== batch) {
    throw rangeError(`${name} must have one entry per sequence (${batch}), got ${lengths.length}`);
  }
  const out = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    const l = lengths[i] as unknown;
    if (typeof l !== 'number' || !Number.isInteger(l)) throw typeError(`${name}[${i}] must be an integer, got ${String(l)}`);
    if (l < 0 || l > steps) throw rangeError(`${name}[${i}] must be in [0, ${steps}], got ${l}`);
    out[i] = l;
  }
  return out;
}

/**
 * Packs ragged sequences (each an array of [features] steps) into a right-padded batch
 * `[N, T, D]` and their lengths, ready for a layer's `forward(x, { lengths })`.
 * @throws TypeError/RangeError when sequences are not arrays of equal-width steps
 */
export function padSequences(
  sequences: readonly (readonly SequenceStep[])[],
  options: PadOptions = {},
): { x: Tensor; lengths: Int32Array } {
  if (!Array.isArray(sequences)) throw typeError('padSequences: sequences must be an array of sequences');
  const opts = expectObject(options, 'padSequences: options');
  rejectUnknownOptions(opts, ['maxlen', 'truncating', 'value'], 'padSequences');
  const truncating = optionalChoice(opts.truncating, 'padSequences: truncating', ['pre', 'post'] as const, 'pre');
  const value = opts.value ?? 0;
  if (typeof value !== 'number') throw typeError('padSequences: value must be a number');

  let features = -1;
  sequences.forEach((seq, i) => {
    if (!Array.isArray(seq)) throw typeError(`padSequences: sequences[${i}] must be an array of steps`);
    seq.forEach((step: unknown, t: number) => {
      if (!(step instanceof Float32Array) && !Array.isArray(step)) {
        throw typeError(`padSequences: sequences[${i}][${t}] must be a Float32Array or number[]`);
      }
      if (features === -1) features = step.length;
      if (step.length !== features) {
        throw rangeError(`padSequences: sequences[${i}][${t}] has ${step.length} features, expected ${features}`);
      }
    });
  });
  if (features === -1) features = 0;
  const longest = sequences.reduce((m, s) => Math.max(m, s.length), 0);
  let maxlen = longest;
  if (opts.maxlen !== undefined) {
    if (typeof opts.maxlen !== 'number' || !Number.isInteger(opts.maxlen) || opts.maxlen < 0) {
      throw rangeError(`padSequences: maxlen must be a non-negative integer, got ${String(opts.maxlen)}`);
    }
    maxlen = opts.maxlen;
  }

  const N = sequences.length;
  const x = new Float32Array(N * maxlen * features).fill(value);
  const lengths = new Int32Array(N);
  sequences.forEach((seq, n) => {
    const kept = seq.length > maxlen ? (truncating === 'pre' ? seq.slice(seq.length - maxlen) : seq.slice(0, maxlen)) : seq;
    lengths[n] = kept.length;
    kept.forEach((step: SequenceStep, t: number) => {
      for (let d = 0; d < features; d++) {
        const v = step[d];
        if (typeof v !== 'number') throw typeError(`padSequences: sequences[${n}] holds a non-number`);
        x[(n * maxlen + t) * features + d] = v;
      }
    });
  });
  return { x: tensor(x, [N, maxlen, features]), lengths };
}

/**
 * Splits a batched sequence output `[N, T, H]` back into per-sequence arrays of the
 * valid steps (`lengths[n]` rows each).
 */
export function unpadSequences(output: Tensor, lengths: Int32Array | readonly number[]): Float32Array[][] {
  const t = expectTensor(output, 'unpadSequences: output');
  if (t.shape.length !== 3) throw rangeError(`unpadSequences: output must be rank 3 [N,T,H], got [${t.shape.join(',')}]`);
  const [N, T, H] = t.shape as [number, number, number];
  const lens = toLengths(lengths, N, T, 'unpadSequences: lengths');
  const values = t.dataSync();
  const out: Float32Array[][] = [];
  for (let n = 0; n < N; n++) {
    const rows: Float32Array[] = [];
    for (let s = 0; s < lens[n]!; s++) rows.push(values.slice((n * T + s) * H, (n * T + s + 1) * H));
    out.push(rows);
  }
  return out;
}
