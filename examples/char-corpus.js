// The text of the character-model examples, in one place: char-lm.js (npm run demo) trains
// on it, neurons.js reads a passage of it, serve.js and bench/serve.js take their
// vocabulary from it, so that a model one of them saved is a model the others can use.
//
// The corpus: Jane Austen's Northanger Abbey and Persuasion (published together in
// December 1817), about 900 kB, public domain; examples/data/README.md says where it comes
// from and how scripts/make-austen-corpus.py made it.
//
// The split: the text is cut into windows of WINDOW characters, one every STRIDE; model.fit's
// validationSplit holds out the last VALIDATION_SPLIT of them (in text order, before any
// shuffling), so the held-out text is the end of Persuasion, which no training window reads.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const FILE = path.join(__dirname, 'data', 'austen.txt');
/** The corpus, as it is named in what the examples print. */
const NAME = 'Jane Austen, Northanger Abbey and Persuasion';
/** Characters a training window reads (and predicts: the target at each step is the next one). */
const WINDOW = 64;
/** Characters between the starts of two windows: WINDOW, so that an epoch reads each character once. */
const STRIDE = 64;
/** The fraction of windows, from the end, that model.fit holds out. */
const VALIDATION_SPLIT = 0.1;

let cached = null;
/** The corpus text (read once). */
function readCorpus() {
  cached ??= fs.readFileSync(FILE, 'utf8');
  return cached;
}

/** The sorted distinct characters of `text`: the models' vocabulary (input and output index). */
function charVocab(text) {
  const vocab = [...new Set(text)].sort();
  return { vocab, index: new Map(vocab.map((c, i) => [c, i])) };
}

/** The first character of every window of `window + 1` characters (input and next-character target). */
function windowStarts(textLength, window = WINDOW, stride = STRIDE) {
  const starts = [];
  for (let s = 0; s + window + 1 <= textLength; s += stride) starts.push(s);
  return starts;
}

/** How many of `n` windows model.fit keeps for validation (Keras: floor, from the end). */
function validationCount(n, split = VALIDATION_SPLIT) {
  return Math.floor(n * split);
}

/**
 * The first character position that no training window saw, input or target: fit holds
 * out the last floor(VALIDATION_SPLIT of the windows), in order, before shuffling.
 */
function firstUnseenChar(textLength, window = WINDOW, stride = STRIDE) {
  const n = windowStarts(textLength, window, stride).length;
  const nTrain = n - validationCount(n);
  return (nTrain - 1) * stride + window + 1;
}

/**
 * The training windows as model inputs and targets: `x` one-hot `[N, W, V]` (or ids `[N, W]`
 * with `ids`), `y` the index of the next character at every step `[N, W]`, as Float32Arrays
 * with their shapes.
 */
function windows(text, index, { ids = false, window: W = WINDOW, stride = STRIDE } = {}) {
  const V = index.size;
  const starts = windowStarts(text.length, W, stride);
  const x = new Float32Array(starts.length * W * (ids ? 1 : V));
  const y = new Float32Array(starts.length * W);
  starts.forEach((s, n) => {
    for (let t = 0; t < W; t++) {
      const c = index.get(text[s + t]);
      if (ids) x[n * W + t] = c;
      else x[(n * W + t) * V + c] = 1;
      y[n * W + t] = index.get(text[s + t + 1]);
    }
  });
  return { x, xShape: ids ? [starts.length, W] : [starts.length, W, V], y, yShape: [starts.length, W], starts };
}

/**
 * The characters fit's validation scores (the targets of the held-out windows), as one
 * string per window.
 */
function validationTargets(text, window = WINDOW, stride = STRIDE) {
  const starts = windowStarts(text.length, window, stride);
  return starts.slice(starts.length - validationCount(starts.length)).map((s) => text.slice(s + 1, s + window + 1));
}

/**
 * The entropy, in nats, of the characters' own frequencies: the loss of the best model that
 * ignores context (a unigram model fitted to these very characters), the baseline a
 * language model must beat.
 */
function unigramEntropy(chars) {
  const counts = new Map();
  let n = 0;
  for (const c of chars) {
    counts.set(c, (counts.get(c) ?? 0) + 1);
    n++;
  }
  let h = 0;
  for (const k of counts.values()) h -= (k / n) * Math.log(k / n);
  return h;
}

/**
 * A passage of held-out text for neurons.js: the last `paragraphs` paragraphs before the
 * last chapter heading, i.e. the end of chapter 23 of Persuasion (its last dialogue, with
 * quotes), all past firstUnseenChar.
 */
function heldOutPassage(text, paragraphs = 2) {
  const end = text.lastIndexOf('\nChapter ');
  let from = text.slice(0, end).replace(/\s+$/, '').length;
  const body = text.slice(0, from);
  for (let i = 0; i < paragraphs; i++) from = body.lastIndexOf('\n\n', from - 1);
  from += 2;
  if (end < 0 || from < firstUnseenChar(text.length)) throw new Error('the passage is not in the held-out text');
  return { from, passage: body.slice(from) + '\n' };
}

/** A seeded generator, so runs are repeatable. */
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = {
  FILE,
  NAME,
  WINDOW,
  STRIDE,
  VALIDATION_SPLIT,
  readCorpus,
  charVocab,
  windowStarts,
  validationCount,
  firstUnseenChar,
  windows,
  validationTargets,
  unigramEntropy,
  heldOutPassage,
  mulberry32,
};
