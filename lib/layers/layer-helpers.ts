/**
 * What layers of the Layer contract share when they run (the weightless ones, Conv1D and
 * the pools): the checks of their inputs, run context and output gradients, and
 * their `fromConfig` plumbing.
 * Internal to rnnkit: not part of the public API.
 */
import type { BackendName } from '../backend';
import { describe, isRnnkitError, optionalBoolean, rangeError, rnnkitError, typeError } from '../errors';
import { declaredShape, get, type Obj } from '../io/keras-config';
import { fileTypeError, modelFileError } from '../io/untrusted-files';
import { StepMask } from '../mask';
import { expectTensor, Tensor, tensor } from '../tensor';
import type { Layer, Shape } from './layer';
import type { FromConfigContext } from './registry';

/** A run's inputs and context, checked. */
export interface CheckedRun {
  readonly inputs: Tensor[];
  readonly training: boolean;
  /** One per input. */
  readonly masks: (StepMask | null)[];
}

/**
 * Checks `run`'s arguments: live tensors (one, or two or more for `'many'`) on one device,
 * and a context whose masks (one per input, or none) are StepMasks `[N, T]` of their input.
 */
export function checkRun(where: string, inputs: unknown, context: unknown, arity: 1 | 'many'): CheckedRun {
  if (!Array.isArray(inputs)) throw typeError(`${where}: inputs must be an array of Tensors, got ${describe(inputs)}`);
  if (arity === 1 && inputs.length !== 1) throw typeError(`${where}: takes one input, got ${inputs.length}`);
  if (arity === 'many' && inputs.length < 2) throw typeError(`${where}: takes a list of at least 2 inputs, got ${inputs.length}`);
  const xs = inputs.map((t, i) => expectTensor(t, `${where}: inputs[${i}]`));
  for (let i = 1; i < xs.length; i++) {
    if (xs[i]!.device !== xs[0]!.device) throw typeError(`${where}: inputs[${i}] is on ${xs[i]!.device}, inputs[0] on ${xs[0]!.device}`);
  }
  if (typeof context !== 'object' || context === null) throw typeError(`${where}: context must be an object { training, masks }, got ${describe(context)}`);
  const c = context as { training?: unknown; masks?: unknown };
  const training = optionalBoolean(c.training, `${where}: context.training`, false);
  let masks: (StepMask | null)[] = xs.map(() => null);
  if (c.masks !== undefined) {
    if (!Array.isArray(c.masks) || c.masks.length !== xs.length) {
      throw typeError(`${where}: context.masks must be an array with one StepMask or null per input (${xs.length}), got ${describe(c.masks)}`);
    }
    masks = c.masks.map((m: unknown, i) => {
      if (m === null || m === undefined) return null;
      if (!(m instanceof StepMask)) throw typeError(`${where}: context.masks[${i}] must be a StepMask or null, got ${describe(m)}`);
      const s = xs[i]!.shape;
      if (s.length < 2 || m.N !== s[0] || m.T !== s[1]) {
        throw rangeError(`${where}: context.masks[${i}] is [${m.N}, ${m.T}], which does not fit input ${i} of shape [${s.join(', ')}]`);
      }
      return m;
    });
  }
  return { inputs: xs, training, masks };
}

/** The error of `backward` on a pass run without training. */
export function notTrainingError(where: string): Error {
  return typeError(`${where}: the pass was run without { training: true }, which keeps nothing for backward`);
}

/**
 * The one output gradient of a single-output pass: a live tensor of the output's shape, or
 * null (the output took no part in the loss).
 */
export function checkOutputGradient(where: string, dOutputs: unknown, output: readonly number[]): Tensor | null {
  if (!Array.isArray(dOutputs) || dOutputs.length !== 1) {
    throw typeError(`${where}: dOutputs must be an array with one gradient (a Tensor or null), got ${describe(dOutputs)}`);
  }
  const d = dOutputs[0] as unknown;
  if (d === null || d === undefined) return null;
  const t = expectTensor(d, `${where}: dOutputs[0]`);
  if (t.shape.length !== output.length || t.shape.some((v, i) => v !== output[i])) {
    throw rangeError(`${where}: dOutputs[0] must have the output's shape [${output.join(', ')}], got [${t.shape.join(', ')}]`);
  }
  return t;
}

/** Zeros of `shape` on `device`: the input gradient when no output gradient was given. */
export function zeros(shape: readonly number[], device: string): Tensor {
  return tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), [...shape], { device: device as BackendName });
}

/** The one input shape of a single-input layer. */
export function singleShape(inputShapes: readonly Shape[], where: string): Shape {
  if (!Array.isArray(inputShapes) || inputShapes.length !== 1 || !Array.isArray(inputShapes[0])) {
    throw typeError(`${where}: takes one input shape, got ${describe(inputShapes)}`);
  }
  return inputShapes[0];
}

/** The options every weightless layer's config gives its factory: the name and declared input shape. */
export function commonFromConfig(cfg: Obj, where: string): { name?: string; batchInputShape?: (number | null)[] } {
  const name = get(cfg, 'name');
  if (name !== undefined && typeof name !== 'string') throw fileTypeError(`${where}: name must be a string, got ${describe(name)}`);
  const declared = declaredShape(cfg, where);
  return { ...(name !== undefined ? { name } : {}), ...(declared ? { batchInputShape: declared } : {}) };
}

/** Makes a layer from a file's config: errors of its options become model-file errors. */
export function layerFromFile(context: FromConfigContext, make: () => Layer): Layer {
  try {
    return make();
  } catch (e) {
    // A valid config asking for what rnnkit does not do (channels_first) says so.
    if (isRnnkitError(e) && e.code === 'RNNKIT_UNSUPPORTED') throw rnnkitError('RNNKIT_UNSUPPORTED', `${context.where}: ${e.message}`);
    throw modelFileError(e, context.where);
  }
}
