/**
 * What the batcher needs to know about a model before it serves it: the form of one input
 * sample, whether sequences of different lengths can share a padded batch exactly, whether
 * the output has a time axis to cut back to each sequence's length, and the chain of layers
 * a streaming session runs a step at a time (or why it cannot).
 * Internal to rnnkit: not part of the public API.
 */
import { createHash } from 'node:crypto';
import { BackendName, getBackend } from '../backend';
import { rnnkitError } from '../errors';
import { InputLayer } from '../layers/input-layer';
import type { Layer } from '../layers/layer';
import { RecurrentLayer } from '../layers/recurrent';
import type { Graph } from '../models/graph';
import type { ModelBase } from '../models/model-base';

/** The form of one input sample. */
export interface SampleSpec {
  /** Integer ids `[T]` (an Embedding first) rather than feature rows `[T, D]`. */
  readonly ids: boolean;
  /** Features per step; for ids, the vocabulary size (ids lie in [0, width)). */
  readonly width: number;
  /** The timesteps the model's input declares, or null when any length runs. */
  readonly fixedT: number | null;
}

/** How a session runs one layer of its chain. */
export type ChainStep =
  | { readonly kind: 'recurrent'; readonly layer: RecurrentLayer; readonly stateOffset: number }
  | { readonly kind: 'layer'; readonly layer: Layer };

/** A model as a chain a session can run a step at a time. */
export interface StepChain {
  readonly steps: readonly ChainStep[];
  /** Units of every state tensor, recurrent layers in order, `[h]` or `[h, c]` each. */
  readonly stateSizes: readonly number[];
  /** Whether the output keeps the time axis (the last recurrent layer returns sequences). */
  readonly perStepOutput: boolean;
  /** What a session state is valid for: the recurrent layers' kinds and sizes, the input, and a hash of the weights. */
  readonly fingerprint: string;
}

/** Everything the batcher derives from a model once. */
export interface ServingPlan {
  readonly sample: SampleSpec;
  /** Sequences of different lengths may share a batch (every layer honours lengths). */
  readonly padSafe: boolean;
  /** The output's axis 1 is the input's time axis (cut it to each sequence's length). */
  readonly outputHasTime: boolean;
  /** The device the model's weights live on (inputs are made there). */
  readonly device: BackendName;
  /** The session chain, or the error `session()` throws. */
  readonly chain: StepChain | Error;
}

/**
 * Layers through which right padding with per-sequence lengths changes no valid result
 * (GlobalMaxPooling1D is not one: it ignores masks, as Keras's).
 */
const PAD_SAFE = new Set([
  'InputLayer', 'LSTM', 'GRU', 'SimpleRNN', 'Bidirectional', 'Embedding', 'Masking', 'Dense', 'TimeDistributed',
  'Dropout', 'SpatialDropout1D', 'Activation', 'LayerNormalization', 'BatchNormalization',
  'GlobalAveragePooling1D', 'Add', 'Multiply', 'Average', 'Concatenate',
]);
/** Layers that act on each step (or each sample) alone, so a session can run them a step at a time. */
const PER_STEP = new Set(['Dense', 'TimeDistributed', 'Dropout', 'SpatialDropout1D', 'Activation', 'Masking', 'LayerNormalization', 'BatchNormalization']);
const RECURRENT = new Set(['LSTM', 'GRU', 'SimpleRNN']);

/**
 * Reads a model for serving.
 * @throws Error RNNKIT_UNSUPPORTED for a model of several inputs or outputs, or whose input
 *   is not a sequence; RNNKIT_INVALID_STATE for a model that is not built
 */
export function planFor(model: ModelBase, where: string): ServingPlan {
  const graph = model.graph(where);
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) {
    throw rnnkitError('RNNKIT_UNSUPPORTED', `${where}: the model must have one input and one output, it has ${graph.inputs.length} and ${graph.outputs.length}`);
  }
  const layers = graph.innerLayers;
  const first = graph.nodes[0]?.layer;
  const ids = first?.className === 'Embedding';
  const inputShape = graph.inputs[0]!.shape;
  const width = ids ? (first as Layer & { config: { inputDim: number } }).config.inputDim : inputShape[2];
  if (inputShape.length !== (ids ? 2 : 3) || typeof width !== 'number') {
    throw rnnkitError(
      'RNNKIT_UNSUPPORTED',
      `${where}: the model's input must be a sequence ([batch, timesteps, features], or ids [batch, timesteps] for an Embedding), got [${inputShape.map((d) => d ?? 'null').join(', ')}]`,
    );
  }
  const fixedT = inputShape[1] ?? null;
  const sample: SampleSpec = { ids, width, fixedT };
  const padSafe = fixedT === null && layers.every((l) => PAD_SAFE.has(l.className)) && layers.some((l) => RECURRENT.has(l.className) || l.className === 'Bidirectional');
  return { sample, padSafe, outputHasTime: outputFollowsTime(graph, sample), device: deviceOf(layers), chain: chainOf(graph, sample, model, where) };
}

/** Whether the output's axis 1 grows with the input's timesteps. */
function outputFollowsTime(graph: Graph, sample: SampleSpec): boolean {
  if (sample.fixedT !== null) return false;
  const shapeAt = (T: number) => {
    const input = sample.ids ? [1, T] : [1, T, sample.width];
    return graph.shapesFor([input]).get(graph.outputs[0]!)!;
  };
  const a = shapeAt(5);
  const b = shapeAt(6);
  return a.length >= 2 && a[1] === 5 && b[1] === 6;
}

function deviceOf(layers: readonly Layer[]): BackendName {
  for (const l of layers) {
    const w = l.built ? l.trainableWeights()[0] : undefined;
    if (w) return w.device as BackendName;
  }
  return getBackend();
}

/** The model as a chain of step-wise layers, or the error that says which layer prevents it. */
function chainOf(graph: Graph, sample: SampleSpec, model: ModelBase, where: string): StepChain | Error {
  const refuse = (message: string) => rnnkitError('RNNKIT_UNSUPPORTED', `${where}: sessions need a model that runs a step at a time; ${message}`);
  const steps: ChainStep[] = [];
  const stateSizes: number[] = [];
  const kinds: string[] = [];
  let time = true;
  let previous = graph.inputs[0]!;
  for (const [i, node] of graph.nodes.entries()) {
    const l = node.layer;
    if (node.inputs.length !== 1 || node.inputs[0] !== previous) return refuse(`layer '${l.name}' is not in a single chain from the input (a branching graph)`);
    previous = node.outputs[0]!;
    if (l instanceof InputLayer) continue;
    if (l instanceof RecurrentLayer) {
      if (!time) return refuse(`layer '${l.name}' (${l.className}) follows a layer that ended the time axis`);
      if (l.config.goBackwards) return refuse(`layer '${l.name}' (${l.className}) has goBackwards: it needs the whole sequence`);
      steps.push({ kind: 'recurrent', layer: l, stateOffset: stateSizes.length });
      for (let k = 0; k < l.stateCount; k++) stateSizes.push(l.config.units);
      kinds.push(`${l.className}(${l.config.units}${l.className === 'GRU' ? `,${l.config.resetAfter ? 'resetAfter' : 'resetBefore'}` : ''})`);
      time = l.config.returnSequences;
    } else if (PER_STEP.has(l.className) || (l.className === 'Embedding' && i === 0)) {
      steps.push({ kind: 'layer', layer: l });
    } else {
      const why = l.className === 'Bidirectional' ? 'it reads the sequence backwards too' : 'it needs the whole sequence';
      return refuse(`layer '${l.name}' (${l.className}) cannot run a step at a time: ${why}`);
    }
  }
  if (previous !== graph.outputs[0]) return refuse('the output is not the end of the chain');
  if (stateSizes.length === 0) return refuse('it has no recurrent layer (use predict)');
  const input = sample.ids ? `ids < ${sample.width}` : `${sample.width} features`;
  return { steps, stateSizes, perStepOutput: time, fingerprint: `${kinds.join('>')}; ${input}; weights ${weightsHash(model)}` };
}

/** A short hash of every weight value, so that a state is resumed only by the weights that made it. */
function weightsHash(model: ModelBase): string {
  const hash = createHash('sha256');
  for (const w of model.getWeights()) {
    const v = w.dataSync();
    hash.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    w.dispose();
  }
  return hash.digest('hex').slice(0, 16);
}
