import { clip } from '../clip';
import { expectObject, optionalBoolean, rangeError, rejectUnknownOptions, typeError } from '../errors';
import type { BackendName } from '../backend';
import { native } from '../native';
import { expectTensor, Tensor, tensor } from '../tensor';

/** Gradient clipping an optimizer applies before its step; at most one of them (Keras). */
export interface ClipOptions {
  /** Clip each gradient tensor to this L2 norm. */
  clipnorm?: number;
  /** Clip each gradient element to [-clipvalue, clipvalue]. */
  clipvalue?: number;
  /** Clip all gradients together to this global L2 norm. */
  globalClipnorm?: number;
}

/** Options of {@link sgd}. */
export interface SGDOptions extends ClipOptions {
  /** Default 0.01. */
  learningRate?: number;
  /** Default 0. */
  momentum?: number;
  /** Default false. */
  nesterov?: boolean;
}

/** Options of {@link adam}. */
export interface AdamOptions extends ClipOptions {
  /** Default 0.001. */
  learningRate?: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-7. */
  epsilon?: number;
}

/** Options of {@link rmsprop}. */
export interface RMSpropOptions extends ClipOptions {
  /** Default 0.001. */
  learningRate?: number;
  /** Default 0.9. */
  rho?: number;
  /** Default 0. */
  momentum?: number;
  /** Default 1e-7. */
  epsilon?: number;
}

interface StepConfig {
  kind: 'sgd' | 'adam' | 'rmsprop';
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  rho: number;
  epsilon: number;
}

function number(value: unknown, name: string, fallback: number, check: (v: number) => boolean, expected: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw typeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value) || !check(value)) throw rangeError(`${name} must be ${expected}, got ${value}`);
  return value;
}

/**
 * An optimizer (Keras update rules) that updates weight tensors in place on their device,
 * after clipping the gradients as configured.
 */
export class Optimizer {
  /** Steps taken so far. */
  iterations = 0;
  private readonly clipping: { kind: 'clipnorm' | 'clipvalue' | 'globalClipnorm'; value: number } | null;
  private readonly slots = new WeakMap<Tensor, Tensor[]>();

  /** @internal Use {@link sgd}, {@link adam} or {@link rmsprop}. */
  constructor(
    private readonly config: StepConfig,
    options: Record<string, unknown>,
    where: string,
  ) {
    const given = (['clipnorm', 'clipvalue', 'globalClipnorm'] as const).filter((k) => options[k] !== undefined);
    if (given.length > 1) throw typeError(`${where}: give at most one of clipnorm, clipvalue and globalClipnorm, got ${given.join(', ')}`);
    const kind = given[0];
    this.clipping = kind ? { kind, value: number(options[kind], `${where}: ${kind}`, 0, (v) => v > 0, '> 0') } : null;
  }

  /** The optimizer's kind and hyper-parameters. */
  get settings(): Readonly<StepConfig> {
    return this.config;
  }

  /**
   * Clips `grads` as configured, then updates each weight in place (same order).
   * @returns the global norm of the gradients before clipping
   */
  applyGradients(weights: readonly Tensor[], grads: readonly Tensor[]): number {
    if (!Array.isArray(weights) || !Array.isArray(grads) || weights.length !== grads.length) {
      throw rangeError('applyGradients: weights and grads must be arrays of the same length');
    }
    weights.forEach((w, i) => expectTensor(w, `applyGradients: weights[${i}]`));
    const g = grads.map((t, i) => expectTensor(t, `applyGradients: grads[${i}]`));
    // Every slot exists before the first weight changes: running out of memory (or into
    // rk.setMemoryLimit) part way must not leave some weights stepped and others not.
    const slots = weights.map((w) => this.slotsOf(w));
    const norm = clip.globalNorm(g);
    let clipped: Tensor[] = g;
    if (this.clipping?.kind === 'clipnorm') clipped = clip.byNorm(g, this.clipping.value);
    else if (this.clipping?.kind === 'clipvalue') clipped = clip.byValue(g, this.clipping.value);
    else if (this.clipping?.kind === 'globalClipnorm') clipped = clip.byGlobalNorm(g, this.clipping.value).grads;
    this.iterations++;
    const step = { ...this.config, iteration: this.iterations };
    weights.forEach((w, i) => {
      const [s0, s1] = slots[i]!;
      native.optimizerStep(step, w.handle, clipped[i]!.handle, s0?.handle ?? null, s1?.handle ?? null);
    });
    if (clipped !== g) for (const t of clipped) t.dispose();
    return norm;
  }

  private slotsOf(weight: Tensor): Tensor[] {
    let s = this.slots.get(weight);
    if (!s) {
      const count = this.config.kind === 'sgd' ? (this.config.momentum > 0 ? 1 : 0) : 2;
      s = Array.from({ length: count }, () => tensor(new Float32Array(weight.size), weight.shape, { device: weight.device as BackendName }));
      this.slots.set(weight, s);
    }
    return s;
  }
}

const CLIP_KEYS = ['clipnorm', 'clipvalue', 'globalClipnorm'];
const positive = (v: number) => v > 0;
const unit = (v: number) => v >= 0 && v < 1;

/** Stochastic gradient descent, with momentum and Nesterov momentum as Keras. */
export function sgd(options: SGDOptions = {}): Optimizer {
  const o = expectObject(options, 'optimizers.sgd: options');
  rejectUnknownOptions(o, ['learningRate', 'momentum', 'nesterov', ...CLIP_KEYS], 'optimizers.sgd');
  return new Optimizer(
    {
      kind: 'sgd',
      learningRate: number(o.learningRate, 'optimizers.sgd: learningRate', 0.01, positive, '> 0'),
      momentum: number(o.momentum, 'optimizers.sgd: momentum', 0, unit, 'in [0, 1)'),
      nesterov: optionalBoolean(o.nesterov, 'optimizers.sgd: nesterov', false),
      beta1: 0, beta2: 0, rho: 0, epsilon: 0,
    },
    o,
    'optimizers.sgd',
  );
}

/** Adam as Keras (epsilon 1e-7, bias correction folded into the step size). */
export function adam(options: AdamOptions = {}): Optimizer {
  const o = expectObject(options, 'optimizers.adam: options');
  rejectUnknownOptions(o, ['learningRate', 'beta1', 'beta2', 'epsilon', ...CLIP_KEYS], 'optimizers.adam');
  return new Optimizer(
    {
      kind: 'adam',
      learningRate: number(o.learningRate, 'optimizers.adam: learningRate', 0.001, positive, '> 0'),
      beta1: number(o.beta1, 'optimizers.adam: beta1', 0.9, unit, 'in [0, 1)'),
      beta2: number(o.beta2, 'optimizers.adam: beta2', 0.999, unit, 'in [0, 1)'),
      epsilon: number(o.epsilon, 'optimizers.adam: epsilon', 1e-7, positive, '> 0'),
      momentum: 0, nesterov: false, rho: 0,
    },
    o,
    'optimizers.adam',
  );
}

/** RMSprop as Keras (uncentered, optional momentum). */
export function rmsprop(options: RMSpropOptions = {}): Optimizer {
  const o = expectObject(options, 'optimizers.rmsprop: options');
  rejectUnknownOptions(o, ['learningRate', 'rho', 'momentum', 'epsilon', ...CLIP_KEYS], 'optimizers.rmsprop');
  return new Optimizer(
    {
      kind: 'rmsprop',
      learningRate: number(o.learningRate, 'optimizers.rmsprop: learningRate', 0.001, positive, '> 0'),
      rho: number(o.rho, 'optimizers.rmsprop: rho', 0.9, unit, 'in [0, 1)'),
      momentum: number(o.momentum, 'optimizers.rmsprop: momentum', 0, unit, 'in [0, 1)'),
      epsilon: number(o.epsilon, 'optimizers.rmsprop: epsilon', 1e-7, positive, '> 0'),
      nesterov: false, beta1: 0, beta2: 0,
    },
    o,
    'optimizers.rmsprop',
  );
}
