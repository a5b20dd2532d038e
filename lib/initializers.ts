/**
 * Seeded weight initializers with Keras / tfjs-layers semantics.
 *
 * This module validates initializers and reduces Keras's semantics (fans, limits, standard
 * deviations, truncation) to a native draw; the native core (native/core/initializers.h)
 * generates the values. Every initializer is fully deterministic for a given seed: the same
 * `(spec, shape, seed)` always yields the same numbers, on every platform (xoshiro128**
 * seeded through splitmix32; Box-Muller normals in float64, with log/sin/cos computed
 * portably; the orthogonal QR sums in a fixed order).
 *
 * The numbers are not bit-identical to Keras or tfjs (those use other generators), but
 * the distributions are: the same fans, limits, standard deviations, truncation rules and
 * the same orthogonal construction (QR of a normal matrix with the sign of `diag(R)`
 * folded into `Q`, transposed for wide matrices).
 *
 * @packageDocumentation
 */

import { describe, rangeError, typeError } from './errors';
import { native, NativeInitDraw } from './native';

/** The canonical (tfjs-layers camelCase) names of the built-in initializers. */
export type InitializerName =
  | 'glorotUniform'
  | 'glorotNormal'
  | 'heUniform'
  | 'heNormal'
  | 'orthogonal'
  | 'zeros'
  | 'ones'
  | 'identity'
  | 'randomNormal'
  | 'randomUniform'
  | 'truncatedNormal'
  | 'constant';

/**
 * An initializer with parameters, in the shape of a tfjs-layers / Keras serialized
 * initializer (`{ className, config }`).
 *
 * `className` accepts the canonical camelCase names ({@link InitializerName}) as well as
 * the Keras / tfjs class names and Keras's snake_case aliases, e.g. `'GlorotUniform'`,
 * `'glorot_uniform'`, `'Orthogonal'`, `'RandomNormal'`, `'he_normal'`. Also accepted:
 * `'lecunUniform'`, `'lecunNormal'` and `'varianceScaling'` (with `scale`, `mode`,
 * `distribution`).
 *
 * Which `config` keys are allowed depends on the initializer (as in Keras, where an
 * unexpected keyword argument is an error):
 *
 * | initializer | keys (defaults) |
 * |---|---|
 * | glorot*, he*, lecun* | `seed` |
 * | orthogonal | `seed`, `gain` (1) |
 * | identity | `gain` (1) |
 * | randomNormal, truncatedNormal | `seed`, `mean` (0), `stddev` (0.05) |
 * | randomUniform | `seed`, `minval` (-0.05), `maxval` (0.05) |
 * | constant | `value` (0) |
 * | zeros, ones | none |
 * | varianceScaling | `seed`, `scale` (1), `mode` ('fanIn'), `distribution` ('truncatedNormal') |
 *
 * A key whose value is `null` counts as absent (Keras writes `"seed": null`).
 * A `seed` in the config overrides the seed passed to {@link initialize}.
 */
export interface InitializerConfig {
  /** Initializer name, canonical or in a Keras / tfjs spelling. */
  className: InitializerName | string;
  /** Initializer parameters; see the table above for which apply to which initializer. */
  config?: {
    /** Seed for the random generator; overrides the seed argument of {@link initialize}. */
    seed?: number;
    /** Multiplicative factor (`orthogonal`, `identity`). Default 1. */
    gain?: number;
    /** Mean of the normal distribution (`randomNormal`, `truncatedNormal`). Default 0. */
    mean?: number;
    /** Standard deviation (`randomNormal`, `truncatedNormal`). Default 0.05. */
    stddev?: number;
    /** Lower bound, inclusive (`randomUniform`). Default -0.05. */
    minval?: number;
    /** Upper bound, exclusive (`randomUniform`). Default 0.05. */
    maxval?: number;
    /** The constant (`constant`). Default 0. */
    value?: number;
    /** Scaling factor, non-negative (`varianceScaling`). Default 1. */
    scale?: number;
    /** Fan mode (`varianceScaling`): `'fanIn'`, `'fanOut'`, `'fanAvg'` (or snake_case). */
    mode?: string;
    /**
     * Distribution (`varianceScaling`): `'truncatedNormal'`, `'untruncatedNormal'`,
     * `'uniform'` (or snake_case); `'normal'` means truncated normal, as in Keras.
     */
    distribution?: string;
  };
}

/** An initializer: a bare name or a `{ className, config }` object. */
export type InitializerSpec = InitializerName | InitializerConfig;

/* ------------------------------------------------------------------------------------ */
/* Names                                                                                */
/* ------------------------------------------------------------------------------------ */

/** Internal canonical ids: the public names plus the extra Keras initializers. */
type CanonicalName = InitializerName | 'lecunUniform' | 'lecunNormal' | 'varianceScaling';

/** Canonical names in the order they are listed in error messages. */
const CANONICAL_NAMES: readonly CanonicalName[] = [
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
  'lecunUniform',
  'lecunNormal',
  'orthogonal',
  'identity',
  'zeros',
  'ones',
  'constant',
  'randomNormal',
  'randomUniform',
  'truncatedNormal',
  'varianceScaling',
];

/** The public (typed) names, for deciding whether a bare string can be returned. */
const PUBLIC_NAMES: ReadonlySet<string> = new Set<InitializerName>([
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
  'orthogonal',
  'zeros',
  'ones',
  'identity',
  'randomNormal',
  'randomUniform',
  'truncatedNormal',
  'constant',
]);

/** Lower-cased, underscore-free spelling → canonical name. */
const NAME_LOOKUP: ReadonlyMap<string, CanonicalName> = new Map<string, CanonicalName>([
  ...CANONICAL_NAMES.map((n): [string, CanonicalName] => [n.toLowerCase(), n]),
  // Keras / tfjs aliases.
  ['zero', 'zeros'],
  ['one', 'ones'],
]);

/** Allowed config keys per initializer. */
const ALLOWED_KEYS: Readonly<Record<CanonicalName, readonly string[]>> = {
  glorotUniform: ['seed'],
  glorotNormal: ['seed'],
  heUniform: ['seed'],
  heNormal: ['seed'],
  lecunUniform: ['seed'],
  lecunNormal: ['seed'],
  orthogonal: ['seed', 'gain'],
  identity: ['gain'],
  zeros: [],
  ones: [],
  constant: ['value'],
  randomNormal: ['seed', 'mean', 'stddev'],
  randomUniform: ['seed', 'minval', 'maxval'],
  truncatedNormal: ['seed', 'mean', 'stddev'],
  varianceScaling: ['seed', 'scale', 'mode', 'distribution'],
};

type FanMode = 'fanIn' | 'fanOut' | 'fanAvg';
type Distribution = 'truncatedNormal' | 'untruncatedNormal' | 'uniform';

const FAN_MODES: ReadonlyMap<string, FanMode> = new Map<string, FanMode>([
  ['fanin', 'fanIn'],
  ['fanout', 'fanOut'],
  ['fanavg', 'fanAvg'],
]);

const DISTRIBUTIONS: ReadonlyMap<string, Distribution> = new Map<string, Distribution>([
  ['truncatednormal', 'truncatedNormal'],
  ['normal', 'truncatedNormal'],
  ['untruncatednormal', 'untruncatedNormal'],
  ['uniform', 'uniform'],
]);

/** Normalizes a spelling for lookup: drops underscores and case. */
function normalizeName(name: string): string {
  return name.replace(/_/g, '').toLowerCase();
}

function validNamesText(): string {
  return CANONICAL_NAMES.map((n) => `'${n}'`).join(', ');
}

function unknownNameError(argName: string, got: unknown): TypeError {
  return typeError(
    `${argName}: unknown initializer ${describe(got)}; expected one of ${validNamesText()} ` +
      `(Keras/tfjs spellings such as 'GlorotUniform' or 'glorot_uniform' are also accepted), ` +
      `or an object { className, config }`,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/* ------------------------------------------------------------------------------------ */
/* Validation                                                                           */
/* ------------------------------------------------------------------------------------ */

/** A fully resolved initializer: canonical name and parameters with defaults applied. */
interface Resolved {
  name: CanonicalName;
  seed: number | undefined;
  gain: number;
  mean: number;
  stddev: number;
  minval: number;
  maxval: number;
  value: number;
  scale: number;
  mode: FanMode;
  distribution: Distribution;
}

type CleanConfig = NonNullable<InitializerConfig['config']>;

function resolveName(raw: string, argName: string): CanonicalName {
  const name = NAME_LOOKUP.get(normalizeName(raw));
  if (name === undefined) throw unknownNameError(argName, raw);
  return name;
}

function checkNumber(
  value: unknown,
  where: string,
  opts: { min?: number; integer?: boolean } = {},
): number {
  if (typeof value !== 'number') {
    throw typeError(`${where} must be a number; got ${describe(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw rangeError(`${where} must be a finite number; got ${value}`);
  }
  if (opts.integer === true && !Number.isInteger(value)) {
    throw rangeError(`${where} must be an integer; got ${value}`);
  }
  if (opts.min !== undefined && value < opts.min) {
    throw rangeError(`${where} must be >= ${opts.min}; got ${value}`);
  }
  return value;
}

function validateConfig(
  name: CanonicalName,
  rawConfig: unknown,
  argName: string,
): CleanConfig {
  const clean: CleanConfig = {};
  if (rawConfig === undefined || rawConfig === null) return clean;
  if (!isPlainObject(rawConfig)) {
    throw typeError(`${argName}.config must be a plain object; got ${describe(rawConfig)}`);
  }
  const allowed = ALLOWED_KEYS[name];
  for (const key of Object.keys(rawConfig)) {
    const value = rawConfig[key];
    if (value === undefined || value === null) continue;
    if (!allowed.includes(key)) {
      const list = allowed.length === 0 ? 'none' : allowed.map((k) => `'${k}'`).join(', ');
      throw typeError(
        `${argName}.config: unknown option '${key}' for initializer '${name}'; ` +
          `allowed options: ${list}`,
      );
    }
    const where = `${argName}.config.${key}`;
    switch (key) {
      case 'seed':
        clean.seed = checkNumber(value, where);
        break;
      case 'gain':
        clean.gain = checkNumber(value, where);
        break;
      case 'mean':
        clean.mean = checkNumber(value, where);
        break;
      case 'stddev':
        clean.stddev = checkNumber(value, where, { min: 0 });
        break;
      case 'minval':
        clean.minval = checkNumber(value, where);
        break;
      case 'maxval':
        clean.maxval = checkNumber(value, where);
        break;
      case 'value':
        clean.value = checkNumber(value, where);
        break;
      case 'scale':
        clean.scale = checkNumber(value, where, { min: 0 });
        break;
      case 'mode': {
        const mode = typeof value === 'string' ? FAN_MODES.get(normalizeName(value)) : undefined;
        if (mode === undefined) {
          throw typeError(
            `${where} must be one of 'fanIn', 'fanOut', 'fanAvg'; got ${describe(value)}`,
          );
        }
        clean.mode = mode;
        break;
      }
      case 'distribution': {
        const dist =
          typeof value === 'string' ? DISTRIBUTIONS.get(normalizeName(value)) : undefined;
        if (dist === undefined) {
          throw typeError(
            `${where} must be one of 'truncatedNormal', 'untruncatedNormal', 'uniform'; ` +
              `got ${describe(value)}`,
          );
        }
        clean.distribution = dist;
        break;
      }
      default:
        // Unreachable: every allowed key is handled above.
        throw typeError(`${argName}.config: unknown option '${key}'`);
    }
  }
  if (name === 'randomUniform') {
    const lo = clean.minval ?? -0.05;
    const hi = clean.maxval ?? 0.05;
    if (lo > hi) {
      throw rangeError(
        `${argName}.config: minval (${lo}) must not be greater than maxval (${hi})`,
      );
    }
  }
  return clean;
}

/**
 * Checks an initializer given by a user (a layer option such as `kernelInitializer`) and
 * returns it in canonical form.
 *
 * A string is looked up ignoring case and underscores, so `'glorotUniform'`,
 * `'GlorotUniform'` and `'glorot_uniform'` are the same initializer; the result is the
 * canonical camelCase name. An object must be `{ className, config? }` (Keras JSON's
 * `class_name` is accepted too); the result is a fresh `{ className, config }` with the
 * canonical name and only the non-null config values. Config keys that do not apply to
 * the initializer are rejected, as are non-finite numbers, negative `stddev`/`scale` and
 * `minval > maxval`.
 *
 * @param spec - The value to check.
 * @param argName - The name of the argument or option being checked, used in error
 *   messages (e.g. `'kernelInitializer'`).
 * @returns The initializer in canonical form.
 * @throws TypeError naming `argName` and listing the valid names, for an unknown name or a
 *   value of the wrong type; RangeError naming the offending config key for an
 *   out-of-range number.
 */
export function validateInitializer(spec: unknown, argName: string): InitializerSpec {
  if (typeof spec === 'string') {
    const name = resolveName(spec, argName);
    if (PUBLIC_NAMES.has(name)) return name as InitializerName;
    return { className: name, config: {} };
  }
  if (!isPlainObject(spec)) throw unknownNameError(argName, spec);
  for (const key of Object.keys(spec)) {
    if (key !== 'className' && key !== 'class_name' && key !== 'config') {
      throw typeError(
        `${argName}: unknown key '${key}' in initializer object; ` +
          `expected { className, config }`,
      );
    }
  }
  const rawName: unknown = spec['className'] ?? spec['class_name'];
  if (typeof rawName !== 'string') {
    throw typeError(
      `${argName}.className must be a string naming an initializer, one of ` +
        `${validNamesText()}; got ${describe(rawName)}`,
    );
  }
  const name = resolveName(rawName, argName);
  const config = validateConfig(name, spec['config'], argName);
  return { className: name, config };
}

function resolve(spec: InitializerSpec): Resolved {
  const canonical = validateInitializer(spec, 'initializer');
  const name: CanonicalName =
    typeof canonical === 'string' ? canonical : resolveName(canonical.className, 'initializer');
  const config: CleanConfig = typeof canonical === 'string' ? {} : (canonical.config ?? {});
  return {
    name,
    seed: config.seed,
    gain: config.gain ?? 1,
    mean: config.mean ?? 0,
    stddev: config.stddev ?? 0.05,
    minval: config.minval ?? -0.05,
    maxval: config.maxval ?? 0.05,
    value: config.value ?? 0,
    scale: config.scale ?? 1,
    mode: (config.mode as FanMode | undefined) ?? 'fanIn',
    distribution: (config.distribution as Distribution | undefined) ?? 'truncatedNormal',
  };
}

/* ------------------------------------------------------------------------------------ */
/* Draws                                                                                */
/* ------------------------------------------------------------------------------------ */

/** Keras `compute_fans`. */
function computeFans(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0], shape[0]];
  if (shape.length === 2) return [shape[0], shape[1]];
  let receptive = 1;
  for (let i = 0; i < shape.length - 2; i++) receptive *= shape[i];
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

/** 1 / stddev of the standard normal truncated to [-2, 2] (Keras's constant). */
const TRUNCATED_STDDEV_CORRECTION = 0.87962566103423978;

/** The named variance-scaling initializers: scale, fan mode and distribution (as Keras). */
const VARIANCE_PRESETS = {
  glorotUniform: [1, 'fanAvg', 'uniform'],
  glorotNormal: [1, 'fanAvg', 'truncatedNormal'],
  heUniform: [2, 'fanIn', 'uniform'],
  heNormal: [2, 'fanIn', 'truncatedNormal'],
  lecunUniform: [1, 'fanIn', 'uniform'],
  lecunNormal: [1, 'fanIn', 'truncatedNormal'],
} as const satisfies Record<string, readonly [number, FanMode, Distribution]>;

function varianceScaling(
  shape: readonly number[],
  scale: number,
  mode: FanMode,
  distribution: Distribution,
): Pick<NativeInitDraw, 'kind' | 'a' | 'b'> {
  const [fanIn, fanOut] = computeFans(shape);
  let s = scale;
  if (mode === 'fanIn') s /= Math.max(1, fanIn);
  else if (mode === 'fanOut') s /= Math.max(1, fanOut);
  else s /= Math.max(1, (fanIn + fanOut) / 2);
  if (distribution === 'uniform') {
    const limit = Math.sqrt(3 * s);
    return { kind: 'uniform', a: -limit, b: limit };
  }
  if (distribution === 'truncatedNormal') {
    return { kind: 'truncatedNormal', a: 0, b: Math.sqrt(s) / TRUNCATED_STDDEV_CORRECTION };
  }
  return { kind: 'normal', a: 0, b: Math.sqrt(s) };
}

/** Keras's semantics of one initializer reduced to the native draw that fills `dims`. */
function drawOf(r: Resolved, dims: readonly number[]): Pick<NativeInitDraw, 'kind' | 'a' | 'b'> {
  switch (r.name) {
    case 'glorotUniform':
    case 'glorotNormal':
    case 'heUniform':
    case 'heNormal':
    case 'lecunUniform':
    case 'lecunNormal': {
      const [scale, mode, distribution] = VARIANCE_PRESETS[r.name];
      return varianceScaling(dims, scale, mode, distribution);
    }
    case 'varianceScaling':
      return varianceScaling(dims, r.scale, r.mode, r.distribution);
    case 'orthogonal':
      if (dims.length < 2) {
        throw rangeError(
          `the orthogonal initializer needs a shape of rank >= 2; got shape [${dims.join(', ')}]`,
        );
      }
      return { kind: 'orthogonal', a: r.gain, b: 0 };
    case 'identity':
      if (dims.length !== 2) {
        throw rangeError(
          `the identity initializer needs a 2-D shape; got shape [${dims.join(', ')}]`,
        );
      }
      return { kind: 'identity', a: r.gain, b: 0 };
    case 'zeros':
      return { kind: 'zeros', a: 0, b: 0 };
    case 'ones':
      return { kind: 'constant', a: 1, b: 0 };
    case 'constant':
      return { kind: 'constant', a: r.value, b: 0 };
    case 'randomNormal':
      return { kind: 'normal', a: r.mean, b: r.stddev };
    case 'randomUniform':
      return { kind: 'uniform', a: r.minval, b: r.maxval };
    case 'truncatedNormal':
      return { kind: 'truncatedNormal', a: r.mean, b: r.stddev };
  }
}

function checkShape(shape: unknown): readonly number[] {
  if (!Array.isArray(shape)) {
    throw typeError(`shape must be an array of non-negative integers; got ${describe(shape)}`);
  }
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw rangeError(
        `shape[${i}] must be a non-negative integer; got ${describe(d)} (shape [${shape.join(', ')}])`,
      );
    }
    size *= d;
  }
  if (!Number.isSafeInteger(size) || size > 0x7fffffff) {
    throw rangeError(`shape [${shape.join(', ')}] has too many elements (${size})`);
  }
  return shape as readonly number[];
}

/**
 * Generates initial values for a weight of the given shape.
 *
 * Semantics follow Keras (fans for a 2-D shape `[rows, cols]` are `fanIn = rows`,
 * `fanOut = cols`; for rank > 2 the leading dimensions form the receptive field):
 *
 * - `glorotUniform`: U(-l, l), `l = sqrt(6 / (fanIn + fanOut))`.
 * - `glorotNormal`: normal truncated at 2σ, `σ = sqrt(2 / (fanIn + fanOut)) / 0.8796…`.
 * - `heUniform`: U(-l, l), `l = sqrt(6 / fanIn)`; `heNormal`: truncated, `σ = sqrt(2 / fanIn) / 0.8796…`.
 * - `lecunUniform` / `lecunNormal`: as He with scale 1.
 * - `orthogonal`: Keras's QR construction (see {@link InitializerConfig}), times `gain`;
 *   needs rank ≥ 2.
 * - `identity`: `gain` times the identity matrix of the given 2-D shape (rectangular
 *   shapes get ones on the main diagonal).
 * - `zeros`, `ones`, `constant` (`value`).
 * - `randomNormal` (mean 0, stddev 0.05), `randomUniform` ([-0.05, 0.05)),
 *   `truncatedNormal` (mean 0, stddev 0.05, redrawn beyond 2 stddev).
 *
 * @param spec - The initializer (name or `{ className, config }`).
 * @param shape - The weight shape, non-negative integers.
 * @param seed - Seed of the random generator (any finite number); a `seed` in the
 *   initializer's config takes precedence. The same arguments always give the same values.
 * Synchronous: it blocks the calling thread. Uniform draws cost about 5 ns per value,
 * normal ones about 30 ns; `orthogonal` costs a QR factorization of the
 * `[max(rows, cols), min(rows, cols)]` matrix, about 1 s for 1024 × 4096 or 2048 × 2048 on
 * one core of an AVX-512 server (it uses up to 8 threads, leaving one core free). Layers
 * generate their weights off the JavaScript thread when large (see the recurrent layers'
 * `build()`).
 *
 * @returns The values in row-major order, `shape.reduce((a, b) => a * b, 1)` of them.
 * @throws TypeError / RangeError for an invalid initializer, shape or seed, or a shape the
 *   initializer does not support (`orthogonal` with rank < 2, `identity` not 2-D).
 */
export function initialize(
  spec: InitializerSpec,
  shape: readonly number[],
  seed: number,
): Float32Array {
  const draw = initializerDraw(spec, shape, seed);
  return native.initValues({ shape: draw.shape, parts: [draw] });
}

/**
 * @internal The native draw of {@link initialize}'s arguments (validated the same way), for
 * layers that generate their weights natively, off the JavaScript thread when large.
 */
export function initializerDraw(
  spec: InitializerSpec,
  shape: readonly number[],
  seed: number,
): NativeInitDraw {
  const r = resolve(spec);
  const dims = checkShape(shape);
  const effectiveSeed = r.seed ?? seed;
  if (typeof effectiveSeed !== 'number' || !Number.isFinite(effectiveSeed)) {
    throw typeError(`seed must be a finite number; got ${describe(effectiveSeed)}`);
  }
  return { ...drawOf(r, dims), seed: effectiveSeed, shape: [...dims] };
}
