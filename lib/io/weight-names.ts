/**
 * Matching a file's stored weights to a model's layers by name (interim: tfjs and
 * converter spellings; see the keras branch for every Keras spelling).
 * @internal
 */
import { fileRangeError, printable } from './untrusted-files';

/** What a layer expects, in model layer order. */
export interface ExpectedWeights {
  layer: string;
  className: string;
  innerClassName?: string;
  /** Relative names, as tfjs writes them after `<layer>/`. */
  names: string[];
  shapes: number[][];
}

/** A stored weight's name and shape. */
export interface StoredWeightName {
  name: string;
  shape: number[];
}

function normalize(name: string): string[] {
  return name.replace(/:\d+$/, '').split('/').filter((s) => s.length > 0 && !s.endsWith('_cell'));
}

/**
 * For each layer, for each of its weights, the index of the stored weight holding it.
 * @throws RangeError RNNKIT_MODEL_FILE naming the weights that cannot be matched one to one
 */
export function matchWeights(expected: readonly ExpectedWeights[], stored: readonly StoredWeightName[], options: { modelName?: string; source?: string } = {}): number[][] {
  const source = options.source ?? 'model file';
  const keys = new Map<string, [number, number]>();
  expected.forEach((e, i) => e.names.forEach((n, k) => keys.set(normalize(`${e.layer}/${n}`).join('/'), [i, k])));
  const out = expected.map((e) => e.names.map(() => -1));
  const unmatched: string[] = [];
  stored.forEach((w, s) => {
    const parts = normalize(w.name);
    let hit = keys.get(parts.join('/'));
    if (!hit && parts.length > 1 && (options.modelName === undefined || parts[0] === options.modelName)) hit = keys.get(parts.slice(1).join('/'));
    if (!hit || out[hit[0]]![hit[1]]! !== -1) {
      unmatched.push(w.name);
      return;
    }
    out[hit[0]]![hit[1]] = s;
  });
  const missing = expected.flatMap((e, i) => e.names.filter((_, k) => out[i]![k] === -1).map((n) => `${e.layer}/${n}`));
  const needed = expected.reduce((a, e) => a + e.names.length, 0);
  if (stored.length !== needed) {
    throw fileRangeError(
      `${source}: the file lists ${stored.length} weights, but the layers need ${needed} (${printable(expected.map((e) => `${e.layer}: ${e.names.length}`).join(', '), 300)})`,
    );
  }
  if (unmatched.length || missing.length) {
    const list = (xs: string[]) => printable(xs.slice(0, 8).map((x) => `'${x}'`).join(', ') + (xs.length > 8 ? `, … (${xs.length})` : ''), 400);
    throw fileRangeError(
      `${source}: the stored weights cannot be matched to the layers by name` +
        (unmatched.length ? `; stored weights without a layer weight: ${list(unmatched)}` : '') +
        (missing.length ? `; layer weights not stored: ${list(missing)}` : ''),
    );
  }
  return out;
}
