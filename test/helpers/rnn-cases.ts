/**
 * Shared setup of the tests that compare rnnkit's layers with the float64 reference
 * (forward.test.ts, gradients.test.ts): per-test seeds, building an rnnkit layer from a
 * reference config, and the cell variants / activations / mask modes they sweep.
 */
import * as rk from '../../lib';
import * as ref from '../reference/rnn64';
import { Rng } from './random';

/** FNV-1a hash of a test name, used as its seed. */
export function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** rnnkit options for one RNN layer; only options defined for that cell are passed. */
function rnnOptions(c: ref.RnnConfig, extra: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = { units: c.units };
  if (c.activation) o.activation = c.activation;
  if (c.cell !== 'simpleRNN' && c.recurrentActivation) o.recurrentActivation = c.recurrentActivation;
  if (c.useBias === false) o.useBias = false;
  if (c.cell === 'gru') o.resetAfter = c.resetAfter ?? true;
  if (c.returnSequences) o.returnSequences = true;
  if (c.goBackwards) o.goBackwards = true;
  if (c.maskedOutput) o.maskedOutput = c.maskedOutput;
  return { ...o, ...extra };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLayer = any;

/** The rnnkit layer for a reference config; `extra` options go to every RNN layer. */
export function makeLayer(cfg: ref.LayerConfig, extra: Record<string, unknown> = {}): AnyLayer {
  if (ref.isBidirectional(cfg)) {
    const o: Record<string, unknown> = { layer: makeLayer(cfg.layer, extra) };
    if (cfg.mergeMode) o.mergeMode = cfg.mergeMode;
    return rk.layers.bidirectional(o as never);
  }
  const o = rnnOptions(cfg, extra);
  switch (cfg.cell) {
    case 'simpleRNN':
      return rk.layers.simpleRNN(o as never);
    case 'lstm':
      return rk.layers.lstm(o as never);
    case 'gru':
      return rk.layers.gru(o as never);
  }
}

export function inputDim(cfg: ref.LayerConfig): number {
  return ref.isBidirectional(cfg) ? cfg.layer.inputDim : cfg.inputDim;
}

export interface Variant {
  name: string;
  cfg: ref.RnnConfig;
}

/** The four cell variants (simpleRNN, lstm, gru with both resetAfter), H units on D inputs. */
export function makeVariants(D: number, H: number): Variant[] {
  return [
    { name: 'simpleRNN', cfg: { cell: 'simpleRNN', units: H, inputDim: D } },
    { name: 'lstm', cfg: { cell: 'lstm', units: H, inputDim: D } },
    { name: 'gru resetAfter=true', cfg: { cell: 'gru', units: H, inputDim: D, resetAfter: true } },
    { name: 'gru resetAfter=false', cfg: { cell: 'gru', units: H, inputDim: D, resetAfter: false } },
  ];
}

export const ACTIVATIONS: ref.Activation[] = ['tanh', 'sigmoid', 'hardSigmoid', 'relu', 'linear'];

export type MaskMode = 'none' | 'zeros' | 'carry';
export const MASK_MODES: MaskMode[] = ['none', 'zeros', 'carry'];

/** Seeded random Keras-layout weights (float32 values in [-scale, scale)). */
export function randomWeights(rng: Rng, cfg: ref.LayerConfig, scale = 0.5): Float32Array[] {
  return ref.weightShapes(cfg).map((s) => rng.uniform(ref.sizeOf(s), -scale, scale));
}

/** One forward (or BPTT) case: a layer config, batch and time sizes, optional lengths. */
export interface Case {
  cfg: ref.LayerConfig;
  N: number;
  T: number;
  lengths?: number[];
  /** a Keras mask [N*T] of 0/1, passed as a Uint8Array */
  mask?: number[];
  /** pass random initial states */
  init?: boolean;
}

export interface CaseSetup {
  /** the case's generator, after the draws below (for any further random data) */
  rng: Rng;
  D: number;
  H: number;
  weights: Float32Array[];
  /** the same input, initial states and lengths for the reference */
  args: ref.ForwardArgs;
  /** the rnnkit layer, built and given `weights` */
  layer: AnyLayer;
  /** the tensors made here (input, initial states): the caller disposes them */
  tensors: rk.Tensor[];
  /** forward options: initialState and lengths when the case has them (and `extraOpts`) */
  opts: Record<string, unknown>;
}

/**
 * The common setup of a case, seeded by its name: weights U(-0.5, 0.5), input N(0, xStd)
 * and initial states N(0, 0.5) (drawn in that order), the rnnkit layer with those weights,
 * and the input / initial-state tensors and forward options that match the reference args.
 */
export function setUpCase(name: string, c: Case, xStd = 1, extraOpts: Record<string, unknown> = {}): CaseSetup {
  const rng = new Rng(seedOf(name));
  const D = inputDim(c.cfg);
  const H = ref.units(c.cfg);
  const weights = randomWeights(rng, c.cfg);
  const x = rng.normal(c.N * c.T * D, 0, xStd);
  const init = c.init ? Array.from({ length: ref.stateCount(c.cfg) }, () => rng.normal(c.N * H, 0, 0.5)) : undefined;
  const args: ref.ForwardArgs = { x, N: c.N, T: c.T, initialState: init, lengths: c.lengths, mask: c.mask };

  const layer = makeLayer(c.cfg);
  layer.build([c.N, c.T, D]);
  layer.setWeights(weights);
  const xt = rk.tensor(x, [c.N, c.T, D]);
  const tensors: rk.Tensor[] = [xt];
  const opts: Record<string, unknown> = { ...extraOpts };
  if (init) {
    const initT = init.map((s) => rk.tensor(s, [c.N, H]));
    tensors.push(...initT);
    opts.initialState = initT;
  }
  if (c.lengths) opts.lengths = Int32Array.from(c.lengths);
  if (c.mask) opts.mask = Uint8Array.from(c.mask);
  return { rng, D, H, weights, args, layer, tensors, opts };
}
