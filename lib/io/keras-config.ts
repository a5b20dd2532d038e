/**
 * Keras layer configs: the names, initializers and keys Keras and tfjs-layers write in
 * model files, read and written in one place for every layer.
 */
import { clipText, describe, typeError } from '../errors';
import { InitializerSpec } from '../initializers';
import { fileTypeError } from './untrusted-files';

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object: a Keras layer `config`. */
export type JsonObject = { [key: string]: JsonValue };

/** rnnkit activation name → Keras / tfjs name. */
export function kerasActivation(a: string): string {
  return a === 'hardSigmoid' ? 'hard_sigmoid' : a;
}

/** Keras / tfjs activation name → rnnkit name (unknown names pass through for the layer to reject). */
export function rkActivation(a: unknown, where: string): string | undefined {
  if (a === undefined || a === null) return undefined;
  if (typeof a !== 'string') throw typeError(`${where}: activation must be a string, got ${describe(a)}`);
  const map: Record<string, string> = { hard_sigmoid: 'hardSigmoid', hardsigmoid: 'hardSigmoid', hardSigmoid: 'hardSigmoid' };
  return map[a] ?? a;
}

const INITIALIZER_CLASSES: Record<string, [string, { [k: string]: JsonValue }]> = {
  glorotuniform: ['GlorotUniform', { seed: null }],
  glorotnormal: ['GlorotNormal', { seed: null }],
  heuniform: ['HeUniform', { seed: null }],
  henormal: ['HeNormal', { seed: null }],
  lecununiform: ['LecunUniform', { seed: null }],
  lecunnormal: ['LecunNormal', { seed: null }],
  orthogonal: ['Orthogonal', { gain: 1, seed: null }],
  identity: ['Identity', { gain: 1 }],
  zeros: ['Zeros', {}],
  ones: ['Ones', {}],
  constant: ['Constant', { value: 0 }],
  randomnormal: ['RandomNormal', { mean: 0, stddev: 0.05, seed: null }],
  randomuniform: ['RandomUniform', { minval: -0.05, maxval: 0.05, seed: null }],
  truncatednormal: ['TruncatedNormal', { mean: 0, stddev: 0.05, seed: null }],
  variancescaling: ['VarianceScaling', { scale: 1, mode: 'fan_in', distribution: 'truncated_normal', seed: null }],
};

export const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** An rnnkit initializer as Keras serializes it (`{ class_name, config }`). */
export function kerasInitializer(spec: InitializerSpec | undefined, fallback: string): JsonValue {
  const s = spec ?? fallback;
  const name = typeof s === 'string' ? s : s.className;
  const entry = INITIALIZER_CLASSES[name.replace(/_/g, '').toLowerCase()];
  const config: { [k: string]: JsonValue } = { ...(entry?.[1] ?? {}) };
  if (typeof s !== 'string' && s.config) {
    for (const [k, v] of Object.entries(s.config)) {
      if (v === undefined) continue;
      config[k] = (k === 'mode' || k === 'distribution') && typeof v === 'string' ? snake(v) : v;
    }
  }
  return { class_name: entry?.[0] ?? name, config };
}

/** The keys every Keras layer config starts with. */
export function baseConfig(name: string, batchInputShape: (number | null)[] | null): Record<string, JsonValue> {
  return { name, trainable: true, ...(batchInputShape ? { batch_input_shape: batchInputShape } : {}), dtype: 'float32' };
}

// reading

export type Obj = { [key: string]: unknown };

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A config value under its snake_case (Keras) or camelCase (tfjs in memory) key. */
export function get(cfg: Obj, key: string): unknown {
  if (cfg[key] !== undefined) return cfg[key];
  return cfg[camel(key)];
}

export function optBool(cfg: Obj, key: string, where: string): boolean | undefined {
  const v = get(cfg, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw fileTypeError(`${where}: ${key} must be a boolean, got ${describe(v)}`);
  return v;
}

/** A value as JSON for a message, at most a short prefix of it. */
export function quote(v: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    text = undefined;
  }
  return text === undefined ? describe(v) : clipText(text, 60);
}

export function shapeOf(v: unknown, where: string): (number | null)[] {
  if (!Array.isArray(v) || v.length < 2 || !v.every((d) => d === null || (typeof d === 'number' && Number.isInteger(d) && d >= 1))) {
    throw fileTypeError(`${where} must be an array of positive integers or null, got ${quote(v)}`);
  }
  return v as (number | null)[];
}

export function declaredShape(cfg: Obj, where: string): (number | null)[] | null {
  const s = get(cfg, 'batch_input_shape') ?? get(cfg, 'batch_shape');
  if (s !== undefined && s !== null) return shapeOf(s, `${where}: batch_input_shape`);
  const i = get(cfg, 'input_shape');
  if (i !== undefined && i !== null) return [null, ...shapeOf([null, ...(i as unknown[])], `${where}: input_shape`).slice(1)];
  return null;
}
