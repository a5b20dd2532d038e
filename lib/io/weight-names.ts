/**
 * Matching stored weights (a tfjs weights manifest, a Keras `.h5` or `.keras` file) to the
 * layers of a model, by name, never by order: two same-shaped layers listed out of order
 * must not swap weights silently.
 *
 * Rules:
 * 1. A stored name loses any `:N` suffix (`kernel:0`) and is split at `/`.
 * 2. Keras 3 `.keras` paths (every name `layers/<key>/.../vars/<i>`, or
 *    `_layer_checkpoint_dependencies/...` as Keras 2.13 wrote them) are matched by position,
 *    as Keras itself does: `<key>` is the layer's class in snake_case (`lstm`,
 *    `max_pooling1d`, `batch_normalization`), with `_k` for the k-th further layer of that
 *    class in model layer order (so `expected` must list every layer, weightless ones too).
 *    Under the key, weights sit at `vars/<i>`, or under one sub-object (`cell/vars/<i>` for
 *    recurrent layers, `layer/...` for TimeDistributed); Bidirectional ones under
 *    `forward_layer/...` then `backward_layer/...`. `<i>` runs 0, 1, ... in the layer's
 *    weight order (trainable, then non-trainable).
 * 3. Any other name belongs to the layer named by its first segment that is a layer's name
 *    (a leading model name, `sequential/lstm/...`, or the group of an `.h5` file,
 *    `lstm/sequential/lstm/...`, is skipped that way). Within the layer, segments up to the
 *    last repetition of the layer's name are dropped (Keras 2.2 `lstm_3/lstm_3/kernel`),
 *    as are cell levels (`lstm_cell`, `gru_cell`, `cell`), and `forward_<x>` / `backward_<x>`
 *    stand for the direction only (Keras names the inner layer `forward_lstm`, tfjs
 *    `forward_lstm_1`). The weight is the expected one with the same direction and last
 *    segment (`kernel`, `recurrent_kernel`, `bias`, `gamma`, ...), or, in a layer whose
 *    weights share a last segment, the same remaining path.
 * 4. Every stored weight must match exactly one expected weight, every expected weight
 *    exactly one stored weight, with the same shape. Otherwise the match fails with an
 *    error naming the weights concerned: there is no fallback to order.
 */
import { fileRangeError, fileTypeError, printable } from './untrusted-files';

/** The weights one layer expects, as tfjs names them relative to the layer. */
export interface ExpectedLayerWeights {
  /** The layer's name. */
  layer: string;
  /** Its Keras class, e.g. 'LSTM', 'Bidirectional', 'Dense'. */
  className: string;
  /** The class a Bidirectional or TimeDistributed wraps, e.g. 'LSTM'. */
  innerClassName?: string;
  /**
   * The layer's weight names relative to it, in its weight order: `['kernel',
   * 'recurrent_kernel', 'bias']`; Bidirectional `['forward_lstm_1/kernel', ...,
   * 'backward_lstm_1/kernel', ...]`; `[]` for a layer without weights.
   */
  names: readonly string[];
  /**
   * The shape of each weight, in the order of `names`; absent when not known yet (the
   * layer checks the shapes itself when the weights are set).
   */
  shapes?: readonly (readonly number[])[];
}

/** A stored weight's name and shape. */
export interface StoredWeightSpec {
  /** Its name as stored: a manifest entry's name, or a name `readKerasFile` returns. */
  name: string;
  /** Its dimensions. */
  shape: readonly number[];
}

/** Options of {@link matchWeights}. */
export interface MatchWeightsOptions {
  /** The model's name, which Keras 3 puts before layer names (`sequential/lstm/...`). */
  modelName?: string;
}

/** Problems listed in one error, at most. */
const MAX_LISTED = 12;

/**
 * Matches stored weights to the layers that expect them, by name (see the rules at the top
 * of this module).
 *
 * @param expected every layer of the model, in model layer order, with its weight names and shapes
 * @param stored the stored weights' names and shapes, in any order
 * @param options `modelName`: the model's name, when known
 * @returns for each layer of `expected`, for each of its weights, the index into `stored`
 * @throws an error with code `RNNKIT_MODEL_FILE` naming the weights, when a stored weight
 *   matches no expected weight or the same one as another, an expected weight has no stored
 *   weight, or the shapes disagree
 */
export function matchWeights(expected: readonly ExpectedLayerWeights[], stored: readonly StoredWeightSpec[], options: MatchWeightsOptions = {}): number[][] {
  const slots: number[][] = expected.map((e) => {
    if (e.shapes && e.names.length !== e.shapes.length) {
      throw fileTypeError(`layer '${printable(e.layer)}': ${e.names.length} weight names but ${e.shapes.length} shapes`);
    }
    return e.names.map(() => -1);
  });
  const problems: string[] = [];
  const segments = stored.map((s) => s.name.replace(/:\d+$/, '').split('/'));
  const positional = segments.map((p) => p.length >= 4 && POSITIONAL_ROOTS.includes(p[0]!) && p[p.length - 2] === 'vars' && /^\d+$/.test(p[p.length - 1]!));
  const count = positional.filter(Boolean).length;
  if (count > 0 && count < stored.length) {
    const a = stored[positional.indexOf(true)]!.name;
    const b = stored[positional.indexOf(false)]!.name;
    throw fileTypeError(`the stored weights mix Keras 3 positional paths ('${printable(a, 100)}') with named ones ('${printable(b, 100)}')`);
  }
  if (count > 0) matchPositional(expected, stored, segments, slots, problems);
  else matchNamed(expected, stored, segments, slots, problems, options.modelName);

  const shapeProblems: string[] = [];
  expected.forEach((e, li) => {
    e.names.forEach((n, wi) => {
      const si = slots[li]![wi]!;
      if (si < 0) {
        problems.push(`layer '${printable(e.layer)}' (${printable(e.className, 40)}) weight '${printable(n)}': no stored weight matches it`);
        return;
      }
      if (!e.shapes) return;
      const have = stored[si]!.shape;
      const want = e.shapes[wi]!;
      if (have.length !== want.length || have.some((d, k) => d !== want[k])) {
        shapeProblems.push(
          `layer '${printable(e.layer)}' weight '${printable(n)}' has shape [${want.join(',')}], but stored weight '${printable(stored[si]!.name, 120)}' has shape [${printable(have.join(','), 60)}]`,
        );
      }
    });
  });
  const all = [...problems, ...shapeProblems];
  if (all.length > 0) {
    const listed = all.slice(0, MAX_LISTED).join('; ') + (all.length > MAX_LISTED ? `; and ${all.length - MAX_LISTED} more` : '');
    const message = `the stored weights cannot be matched to the model's layers by name: ${listed}`;
    throw problems.length === 0 ? fileRangeError(message) : fileTypeError(message);
  }
  return slots;
}

const POSITIONAL_ROOTS = ['layers', '_layer_checkpoint_dependencies'];

/** Keras' `naming.to_snake_case`, which names a layer's slot in a `.keras` file. */
export function kerasSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

type Direction = 'forward' | 'backward' | '';

/** The direction a name's segment stands for, if any. */
function directionOf(segment: string): Direction {
  if (segment === 'forward_layer' || segment.startsWith('forward_')) return 'forward';
  if (segment === 'backward_layer' || segment.startsWith('backward_')) return 'backward';
  return '';
}

function matchPositional(
  expected: readonly ExpectedLayerWeights[],
  stored: readonly StoredWeightSpec[],
  segments: string[][],
  slots: number[][],
  problems: string[],
): void {
  const roots = new Set(segments.map((p) => p[0]!));
  if (roots.size > 1) throw fileTypeError(`the stored weights sit under both 'layers/' and '_layer_checkpoint_dependencies/'`);
  const root = [...roots][0]!;
  // key → the stored weights under it: their index, sub-object path and variable number.
  const byKey = new Map<string, { index: number; sub: string; dir: Direction; i: number }[]>();
  segments.forEach((p, index) => {
    const key = p[1]!;
    const sub = p.slice(2, -2);
    const list = byKey.get(key) ?? [];
    list.push({ index, sub: sub.join('/'), dir: sub.length > 0 ? directionOf(sub[0]!) : '', i: Number(p[p.length - 1]) });
    byKey.set(key, list);
  });
  const seen = new Map<string, number>();
  const used = new Set<string>();
  expected.forEach((e, li) => {
    const cls = kerasSnakeCase(e.className);
    const k = seen.get(cls) ?? 0;
    seen.set(cls, k + 1);
    const key = k === 0 ? cls : `${cls}_${k}`;
    const entries = byKey.get(key) ?? [];
    if (entries.length > 0) used.add(key);
    if (e.names.length === 0 && entries.length === 0) return;
    const where = `layer '${printable(e.layer)}' (${printable(e.className, 40)}, stored as '${root}/${printable(key)}')`;
    const wantDir = e.names.map((n) => directionOf(n.split('/')[0]!));
    for (const dir of ['', 'forward', 'backward'] as const) {
      const names = e.names.map((_, wi) => wi).filter((wi) => wantDir[wi] === dir);
      const have = entries.filter((x) => x.dir === dir).sort((a, b) => a.i - b.i);
      const subs = new Set(have.map((x) => x.sub));
      if (subs.size > 1) {
        problems.push(`${where}: weights under both '${[...subs].map((s) => printable(s, 60)).join("' and '")}', whose order is unknown`);
        continue;
      }
      have.forEach((x, n) => {
        if (x.i !== n || n >= names.length) {
          problems.push(`${where}: stored weight '${printable(stored[x.index]!.name, 120)}' matches none of its ${names.length} ${dir ? `${dir} ` : ''}weights`);
          return;
        }
        slots[li]![names[n]!] = x.index;
      });
    }
  });
  for (const [key, entries] of byKey) {
    if (used.has(key)) continue;
    for (const x of entries.slice(0, MAX_LISTED)) problems.push(`stored weight '${printable(stored[x.index]!.name, 120)}' belongs to no layer of the model`);
  }
}

/** A name's segments after its owner, reduced to what tells the layer's weights apart. */
function reduce(rest: string[], layer: string | null): { dir: Direction; full: string; short: string } {
  let r = rest;
  if (layer !== null) {
    const last = r.lastIndexOf(layer, r.length - 2);
    if (last >= 0) r = r.slice(last + 1);
  }
  let dir: Direction = '';
  const kept: string[] = [];
  r.forEach((s, i) => {
    const isLast = i === r.length - 1;
    if (!isLast && (s === 'cell' || s.endsWith('_cell'))) return;
    const d = isLast ? '' : directionOf(s);
    if (d) {
      if (!dir) dir = d;
      kept.push(d);
      return;
    }
    kept.push(s);
  });
  const leaf = r[r.length - 1] ?? '';
  return { dir, full: kept.join('/'), short: `${dir}/${leaf}` };
}

function matchNamed(
  expected: readonly ExpectedLayerWeights[],
  stored: readonly StoredWeightSpec[],
  segments: string[][],
  slots: number[][],
  problems: string[],
  modelName: string | undefined,
): void {
  const layerIndex = new Map<string, number>();
  expected.forEach((e, li) => {
    if (layerIndex.has(e.layer)) throw fileTypeError(`two layers are named '${printable(e.layer)}'; weights cannot be matched by name`);
    layerIndex.set(e.layer, li);
  });
  // Per layer: its weights by short key when those are unique, else by full key.
  const keys = expected.map((e) => {
    const reduced = e.names.map((n) => reduce(n.split('/'), null));
    const byShort = new Map<string, number>();
    let unique = true;
    reduced.forEach((r, wi) => {
      if (byShort.has(r.short)) unique = false;
      byShort.set(r.short, wi);
    });
    if (unique) return { useShort: true, map: byShort };
    return { useShort: false, map: new Map(reduced.map((r, wi) => [r.full, wi])) };
  });
  const matchedBy: string[][] = expected.map((e) => e.names.map(() => ''));
  segments.forEach((p, si) => {
    const name = stored[si]!.name;
    let owner = -1;
    for (let j = 0; j < p.length - 1; j++) {
      const li = layerIndex.get(p[j]!);
      if (li === undefined) continue;
      // A model named like one of its layers: its name leads, the layer's follows.
      if (j === 0 && p[j] === modelName && p.slice(1, -1).some((s) => layerIndex.has(s))) continue;
      owner = li;
      const rest = p.slice(j + 1);
      const r = reduce(rest, p[j]!);
      const k = keys[li]!;
      const wi = k.map.get(k.useShort ? r.short : r.full);
      const e = expected[li]!;
      if (wi === undefined) {
        problems.push(`stored weight '${printable(name, 120)}' belongs to layer '${printable(e.layer)}' (${printable(e.className, 40)}), which has no weight '${printable(k.useShort ? r.short.replace(/^\//, '') : r.full, 80)}' (its weights: ${printable(e.names.join(', '), 200) || 'none'})`);
      } else if (slots[li]![wi]! >= 0) {
        problems.push(`stored weights '${printable(matchedBy[li]![wi]!, 120)}' and '${printable(name, 120)}' both match layer '${printable(e.layer)}' weight '${printable(e.names[wi]!)}'`);
      } else {
        slots[li]![wi] = si;
        matchedBy[li]![wi] = name;
      }
      break;
    }
    if (owner < 0) problems.push(`stored weight '${printable(name, 120)}' names no layer of the model`);
  });
}
