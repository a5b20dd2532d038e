/**
 * examples/neurons.js ("what the neurons learn, shown") on tiny models:
 * - the page: one block per chosen unit, one character span per passage character in each,
 *   the text escaped (`<`, `&`, quotes), tags balanced;
 * - the activations written in the page are the functional feature model's outputs for
 *   that text, which are the recurrent layer's own `forward` outputs (≤ 1e-6), and the
 *   guesses under the characters are the argmax of the trained Dense readout;
 * - the returnSequences twin (for a trained layer that returns only its last step) runs
 *   the trained weights: its last state is the trained layer's output;
 * - the text features on a string with quotes and parentheses;
 * - the script itself, end to end, with a 1-epoch model (reads dist/: `npx tsc` first).
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { useTempDirs } from './helpers/temp-dirs';

// The example is plain CommonJS on the compiled package (require('..') → dist/): load it
// and rnnkit the same way, so that classes (instanceof) are the example's.
const require = createRequire(import.meta.url);
const root = path.join(__dirname, '..');
const rk = require(root);
const lib = require(path.join(root, 'examples', 'neurons-lib.js'));
const freshDir = useTempDirs('neurons');

// Text with everything that must be escaped, quotes, parentheses and lines.
const LINE = [
  'if (a < b && c > d) say "hi & bye";\n',
  "she said 'x <= y' & left (quickly).\n",
  'Tom & Jerry <b>bold</b> (not html)\n',
  "don't 'quote' me, it's fine & <ok>\n",
];
const TEXT = Array.from({ length: 4 }, () => LINE.join('')).join('\n');

const unescape = (s: string) =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
const shown = (c: string) => (c === '\n' ? '\u21b5' : c === ' ' ? '\u00a0' : c);

/** Checks that every tag closes in order and no bare `<` or `&` is left in the text. */
function expectBalanced(html: string): void {
  const body = html.replace(/<style>[\s\S]*?<\/style>/, '');
  const stack: string[] = [];
  const voids = new Set(['meta', 'br', '!doctype']);
  for (const m of body.matchAll(/<(\/?)([!a-zA-Z][a-zA-Z0-9]*)[^<>]*>/g)) {
    const name = m[2]!.toLowerCase();
    if (voids.has(name)) continue;
    if (m[1]) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
  const text = body.replace(/<(\/?)([!a-zA-Z][a-zA-Z0-9]*)[^<>]*>/g, '');
  expect(text).not.toMatch(/[<>]/);
  expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|#39|ge|le);)/);
}

/** Per unit block: its unit, and each character span's text and data-a value. */
function blocks(html: string): { unit: number; chars: string[]; values: number[]; guesses: string[] }[] {
  return [...html.matchAll(/<section class="unit" data-unit="(\d+)">([\s\S]*?)<\/section>/g)].map((m) => {
    const spans = [...m[2]!.matchAll(/<span class="c" style="background:#[0-9a-f]{6}" data-a="([^"]+)" title="[^"]*">([^<]*)<\/span><span class="p[^"]*" title="[^"]*">([^<]*)<\/span>/g)];
    return {
      unit: Number(m[1]),
      chars: spans.map((s) => unescape(s[2]!)),
      values: spans.map((s) => Number(s[1])),
      guesses: spans.map((s) => unescape(s[3]!)),
    };
  });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** The trained layers run one by one with their own forward: hidden states [T*H] and probabilities [T*V]. */
async function byHand(feature: any, chars: string[], index: Map<string, number>) {
  const x = lib.encode(chars, index, feature.V, feature.ids);
  let input = x;
  let emb: any = null;
  if (feature.ids) {
    emb = await feature.before[0].forward(x);
    input = emb.output;
  }
  const rnn = await feature.recurrent.forward(input);
  const hidden = rnn.output.dataSync().slice();
  let probs: Float32Array | null = null;
  if (feature.after.length === 1) {
    const d = await feature.after[0].forward(rnn.output);
    probs = d.output.dataSync().slice();
    d.output.dispose();
  }
  const last = feature.twin ? await feature.trained.forward(input) : null;
  const trainedOut = last ? last.output.dataSync().slice() : null;
  for (const r of [rnn, last]) if (r) { r.output.dispose(); for (const s of r.states) s.dispose(); r.dispose(); }
  if (emb) emb.output.dispose();
  x.dispose();
  return { hidden, probs, trainedOut };
}

async function checkPage(model: any, passage: string) {
  const { vocab, index } = lib.charVocab(TEXT);
  const chars = [...passage];
  const V = vocab.length;
  const control = lib.buildCharModel({ V, units: 6, embeddingDim: 3, seed: 50 });
  const r = await lib.analyse({ model, text: TEXT, passage, control, byVariance: 2, meta: { title: 'a <test> & more', lines: ['x < y & "z"'] } });
  const html: string = r.html;
  expect(html.startsWith('<!doctype html>')).toBe(true);
  expect(html).toContain('a &lt;test&gt; &amp; more');
  expect(html).not.toMatch(/https?:|<script|<link|<img|url\(/); // self-contained
  expectBalanced(html);

  const bs = blocks(html);
  expect(bs.length).toBe(r.chosen.length);
  expect(bs.length).toBeGreaterThanOrEqual(2);
  expect(bs.map((b) => b.unit)).toEqual(r.chosen.map((c: any) => c.unit));
  expect(new Set(bs.map((b) => b.unit)).size).toBe(bs.length);
  // One span per character per unit, every character written (escaped) as it is.
  expect((html.match(/<span class="c" /g) ?? []).length).toBe(chars.length * bs.length);
  for (const b of bs) expect(b.chars).toEqual(chars.map(shown));
  const lt = chars.filter((c) => c === '<').length;
  const amp = chars.filter((c) => c === '&').length;
  expect(lt).toBeGreaterThan(0);
  expect(amp).toBeGreaterThan(0);
  expect((html.match(/>&lt;<\/span>/g) ?? []).length).toBeGreaterThanOrEqual(lt * bs.length);
  expect((html.match(/>&amp;<\/span>/g) ?? []).length).toBeGreaterThanOrEqual(amp * bs.length);

  // The page's values = the feature model's outputs for the passage, computed afresh.
  const x = lib.encode(chars, index, r.feature.V, r.feature.ids);
  const [h, p] = await r.feature.fm.predict(x);
  expect(h.shape).toEqual([1, chars.length, r.H]);
  expect(p.shape).toEqual([1, chars.length, V]);
  const H = r.H;
  const hs = h.dataSync();
  const ps = p.dataSync();
  for (const b of bs) {
    const fromModel = Array.from({ length: chars.length }, (_, t) => hs[t * H + b.unit]!);
    expect(maxDiff(b.values, fromModel)).toBeLessThanOrEqual(1e-6);
    // Written exactly: the float32 reads back bit for bit.
    expect(b.values.map((v) => Math.fround(v))).toEqual(fromModel);
  }
  // = the recurrent layer's own forward on the same input (and the Dense readout's).
  const hand = await byHand(r.feature, chars, index);
  expect(maxDiff(hs, hand.hidden)).toBeLessThanOrEqual(1e-6);
  expect(maxDiff(ps, hand.probs!)).toBeLessThanOrEqual(1e-6);
  // The guesses under the characters are the argmax of those probabilities.
  const argmax = Array.from({ length: chars.length }, (_, t) => {
    let k = 0;
    for (let j = 1; j < V; j++) if (ps[t * V + j]! > ps[t * V + k]!) k = j;
    return shown(vocab[k]);
  });
  for (const b of bs) expect(b.guesses).toEqual(argmax);
  x.dispose();
  h.dispose();
  p.dispose();
  control.dispose();
  return { r, hand, H };
}

describe('examples/neurons', () => {
  it('text features: quotes, parentheses, line and word positions', () => {
    const chars = [..."a 'b c' d's (e f)\nGh"];
    const f = Object.fromEntries(lib.textFeatures(chars).map((x: any) => [x.name, Array.from(x.values)]));
    //                           a     '  b     c  '     d  '  s     (  e     f  )  \n G  h
    expect(f['inside quotes']).toEqual([0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(f['inside parentheses']).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(f['position in line']).toEqual([...Array.from({ length: 18 }, (_, i) => i), 0, 1]);
    expect(f['capital letter']).toEqual([...new Array(18).fill(0), 1, 0]);
    expect(f['position in word']).toEqual([1, 0, 0, 1, 0, 1, 0, 0, 1, 2, 3, 0, 0, 1, 0, 1, 0, 0, 1, 2]);
    expect(lib.pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(lib.pearson([1, 1, 1], [2, 4, 6])).toBe(0);
  });

  it('trained Embedding → LSTM → Dense: the page shows the LSTM\'s own states', async () => {
    const { vocab } = lib.charVocab(TEXT);
    const model = lib.buildCharModel({ V: vocab.length, units: 12, embeddingDim: 5, seed: 7 });
    // The corpus's windows do not overlap; this text is too short for that: 40 characters every 3.
    const t = await lib.trainCharModel(model, TEXT, { epochs: 2, batchSize: 16, window: 40, stride: 3 });
    expect(t.keptEpoch).toBeGreaterThanOrEqual(1);
    expect(t.keptValLoss).toBe(t.history.history.val_loss![t.keptEpoch - 1]);
    const passage = TEXT.slice(TEXT.length - LINE.join('').length);
    const { r } = await checkPage(model, passage);
    expect(r.feature.twin).toBe(false);
    expect(r.feature.recurrent).toBe(model.getLayer('char_lstm')); // shared, not copied
    model.dispose();
  });

  it('one-hot LSTM without returnSequences: a twin with the trained weights', async () => {
    const { vocab } = lib.charVocab(TEXT);
    const model = lib.buildCharModel({ V: vocab.length, units: 10, seed: 11, embedding: false, returnSequences: false });
    const passage = LINE.join('');
    const { r, hand, H } = await checkPage(model, passage);
    expect(r.feature.twin).toBe(true);
    expect(r.feature.recurrent).not.toBe(r.feature.trained);
    // The twin's last state is the trained layer's output.
    const T = [...passage].length;
    expect(maxDiff(hand.hidden.subarray((T - 1) * H, T * H), hand.trainedOut!)).toBeLessThanOrEqual(1e-6);
    model.dispose();
  });

  it('the script runs end to end on a 1-epoch model', () => {
    const entry = path.join(root, 'examples', 'neurons.js');
    const out = freshDir();
    const res = spawnSync(process.execPath, [entry], {
      env: { ...process.env, NEURONS_TRAIN: '1', NEURONS_EPOCHS: '1', NEURONS_UNITS: '12', NEURONS_OUT: out },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/units shown:/);
    const file = path.join(out, 'neurons.html');
    expect(existsSync(file)).toBe(true);
    const html = readFileSync(file, 'utf8');
    expectBalanced(html);
    const bs = blocks(html);
    expect(bs.length).toBeGreaterThan(0);
    const n = bs[0]!.chars.length;
    expect(n).toBeGreaterThan(300);
    for (const b of bs) expect(b.chars.length).toBe(n);
    expect(existsSync(path.join(out, 'char-model', 'model.json'))).toBe(true);
  });
});
