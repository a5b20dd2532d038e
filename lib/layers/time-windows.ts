/**
 * What Conv1D and the pooling layers share: window options (a number or Keras's 1-tuple),
 * output lengths by TensorFlow's padding rules, the checks of a run's input and output
 * gradient, and reading their Keras configs.
 * Internal to rnnkit: not part of the public API.
 */
import { describe, optionalBoolean, rangeError, rnnkitError, typeError } from '../errors';
import { StepMask } from '../mask';
import { expectTensor, Tensor } from '../tensor';
import { formatShape } from './base';
import type { Shape } from './layer';

/** How windows meet the sequence ends: TF's `valid` and `same`, and Keras's `causal` (Conv1D only). */
export type TimePadding = 'valid' | 'same' | 'causal';

/** A positive integer given as a number or a one-element array (Keras writes `[3]`). */
export function windowOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const v = Array.isArray(value) && value.length === 1 ? (value[0] as unknown) : value;
  if (typeof v !== 'number') throw typeError(`${name} must be a positive integer or a one-element array of one, got ${describe(value)}`);
  if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) throw rangeError(`${name} must be a positive integer below 2^31, got ${v}`);
  return v;
}

/** Rejects `dataFormat: 'channelsFirst'` (`channels_first` in files): inputs are `[N, T, C]`. */
export function checkDataFormat(value: unknown, where: string): void {
  if (value === undefined || value === null || value === 'channelsLast' || value === 'channels_last') return;
  if (value === 'channelsFirst' || value === 'channels_first') {
    throw rnnkitError('RNNKIT_UNSUPPORTED', `${where}: data format '${value}' is not supported; inputs are channels-last [batch, steps, channels]`);
  }
  throw typeError(`${where}: dataFormat must be 'channelsLast', got ${describe(value)}`);
}

/**
 * The output length for `steps` input steps (null: unknown), as TensorFlow computes it:
 * `valid` (steps − span) / stride + 1 (floor), `same` and `causal` ceil(steps / stride),
 * where span = dilation·(window − 1) + 1.
 * @throws RangeError when a `valid` window does not fit in the input
 */
export function outputSteps(steps: number | null, window: number, stride: number, dilation: number, padding: TimePadding, where: string): number | null {
  if (steps === null) return null;
  const span = dilation * (window - 1) + 1;
  if (padding !== 'valid') return Math.ceil(steps / stride);
  if (span > steps) throw rangeError(`${where}: the input has ${steps} steps, fewer than one window needs (${span}) with padding 'valid'`);
  return Math.floor((steps - span) / stride) + 1;
}

/** The one input shape, rank 3 `[N, T, C]` with C known. */
export function sequenceShape(inputShapes: readonly Shape[], where: string): Shape {
  if (!Array.isArray(inputShapes) || inputShapes.length !== 1 || !Array.isArray(inputShapes[0])) {
    throw typeError(`${where}: takes one input shape, got ${describe(inputShapes)}`);
  }
  const s = inputShapes[0];
  if (s.length !== 3) throw rangeError(`${where}: the input must be rank 3 [batch, steps, channels], got ${formatShape(s)}`);
  const C = s[2];
  if (typeof C !== 'number' || !Number.isInteger(C) || C < 1) throw rangeError(`${where}: the channels axis must be known, got ${formatShape(s)}`);
  return s;
}

/** A run's one input (rank 3) and context, checked. */
export function checkSequenceRun(where: string, inputs: unknown, context: unknown): { x: Tensor; training: boolean; mask: StepMask | null } {
  if (!Array.isArray(inputs) || inputs.length !== 1) throw typeError(`${where}: inputs must be an array of one Tensor, got ${describe(inputs)}`);
  const x = expectTensor(inputs[0], `${where}: inputs[0]`);
  if (x.shape.length !== 3) throw rangeError(`${where}: inputs[0] must be rank 3 [batch, steps, channels], got [${x.shape.join(', ')}]`);
  if (typeof context !== 'object' || context === null) throw typeError(`${where}: context must be an object { training, masks }, got ${describe(context)}`);
  const c = context as { training?: unknown; masks?: unknown };
  const training = optionalBoolean(c.training, `${where}: context.training`, false);
  let mask: StepMask | null = null;
  if (c.masks !== undefined) {
    if (!Array.isArray(c.masks) || c.masks.length !== 1) throw typeError(`${where}: context.masks must be an array of one StepMask or null, got ${describe(c.masks)}`);
    const m = c.masks[0] as unknown;
    if (m !== null && m !== undefined) {
      if (!(m instanceof StepMask)) throw typeError(`${where}: context.masks[0] must be a StepMask or null, got ${describe(m)}`);
      if (m.N !== x.shape[0] || m.T !== x.shape[1]) {
        throw rangeError(`${where}: context.masks[0] is [${m.N}, ${m.T}], which does not fit the input [${x.shape.join(', ')}]`);
      }
      mask = m;
    }
  }
  return { x, training, mask };
}

export { checkOutputGradient, commonFromConfig, layerFromFile, notTrainingError, zeros as zerosOn } from './layer-helpers';
