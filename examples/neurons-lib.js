// The parts of examples/neurons.js ("what the neurons learn, shown"), kept in a module so
// that a test can run them on a tiny model: the character model (found, or trained), the
// functional feature model built from its trained layers, the text features, the choice of
// units and the HTML page.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const rk = require('..');
const corpus = require('./char-corpus');

// The corpus, its vocabulary, the windows and the held-out split are char-corpus.js's, the
// demo's (examples/char-lm.js): one place, so that the demo's saved model fits here.
const { WINDOW, STRIDE, VALIDATION_SPLIT, charVocab, firstUnseenChar, mulberry32, windows } = corpus;

// ---------------------------------------------------------------------------------------
// The character model

/**
 * The model the demo saved, if there is one: char-lm.js saves into a fresh
 * `fs.mkdtempSync(<tmpdir>/rnnkit-char-lm-XXXXXX)` folder on every run, so the newest such
 * folder holding a model.json is the last demo's model.
 */
function findDemoModel(tmp = os.tmpdir()) {
  let best = null;
  let entries;
  try {
    entries = fs.readdirSync(tmp, { withFileTypes: true });
  } catch {
    return null;
  }
  for (const e of entries) {
    if (!e.isDirectory() || !e.name.startsWith('rnnkit-char-lm-')) continue;
    const file = path.join(tmp, e.name, 'model.json');
    try {
      const st = fs.statSync(file);
      if (st.isFile() && (!best || st.mtimeMs > best.mtimeMs)) best = { dir: path.join(tmp, e.name), mtimeMs: st.mtimeMs };
    } catch {
      // no model.json there (a run stopped before saving)
    }
  }
  return best && best.dir;
}

/**
 * A small character model made like the demo's (an LSTM reading windows and predicting
 * the next character at every step, a softmax readout), with an Embedding in front of it
 * instead of one-hot vectors: `[N, T]` ids → Embedding → LSTM (sequences) → Dense softmax.
 */
function buildCharModel({ V, units, embeddingDim = 24, seed = 1, returnSequences = true, cell = 'lstm', embedding = true }) {
  const recurrent = rk.layers[cell]({
    units,
    returnSequences,
    seed: seed + 1,
    name: `char_${cell}`,
    ...(embedding ? {} : { inputShape: [null, V] }),
  });
  return rk.sequential([
    ...(embedding ? [rk.layers.embedding({ inputDim: V, outputDim: embeddingDim, inputShape: [null], seed, name: 'char_embedding' })] : []),
    recurrent,
    rk.layers.dense({ units: V, activation: 'softmax', seed: seed + 2, name: 'next_char' }),
  ]);
}

/** Whether the model's first layer is an Embedding (it takes ids) or not (one-hot vectors). */
function takesIds(model) {
  return model.layers[0] instanceof rk.Embedding;
}

/** The input of `model` for these characters: ids `[1, T]` or one-hot `[1, T, V]`. */
function encode(chars, index, V, ids) {
  const n = chars.length;
  const unknown = chars.find((c) => !index.has(c));
  if (unknown !== undefined) throw new Error(`the character ${JSON.stringify(unknown)} is not in the model's vocabulary`);
  if (ids) return rk.tensor(Float32Array.from(chars, (c) => index.get(c)), [1, n]);
  const x = new Float32Array(n * V);
  chars.forEach((c, t) => (x[t * V + index.get(c)] = 1));
  return rk.tensor(x, [1, n, V]);
}

/**
 * Trains `model` as char-lm.js does (its windows, sparse categorical cross-entropy, Adam
 * 0.005 with clipnorm 1, the last 10% of windows held out for validation, seeded
 * shuffling), stopping early with the best epoch's weights restored. Returns the
 * history, the seconds it took and the epoch whose weights the model keeps.
 */
async function trainCharModel(model, text, { epochs, batchSize = 64, seed = 3, window: W = WINDOW, stride = STRIDE, log = () => {} }) {
  const { index } = charVocab(text);
  const ids = takesIds(model);
  const data = windows(text, index, { ids, window: W, stride });
  const n = data.starts.length;
  if (Math.floor(n * VALIDATION_SPLIT) < 1) throw new Error(`the text makes ${n} windows of ${W + 1} characters: at least 10 are needed (10% held out)`);
  const xt = rk.tensor(data.x, data.xShape);
  const yt = rk.tensor(data.y, data.yShape);
  model.compile({
    loss: 'sparseCategoricalCrossentropy',
    optimizer: rk.optimizers.adam({ learningRate: 0.005, clipnorm: 1 }),
    metrics: ['accuracy'],
  });
  const started = Date.now();
  // As the demo: stop after two epochs without a lower validation loss and restore the best
  // epoch's weights (Keras's restore_best_weights).
  let best = { loss: Infinity, epoch: -1 };
  const history = await model.fit(xt, yt, {
    epochs,
    batchSize,
    validationSplit: VALIDATION_SPLIT,
    seed,
    verbose: 0,
    callbacks: {
      onEpochEnd: (epoch, logs) => {
        const better = logs.val_loss < best.loss;
        if (better) best = { loss: logs.val_loss, epoch };
        log(`  epoch ${epoch + 1}/${epochs}: loss ${logs.loss.toFixed(3)}, val_loss ${logs.val_loss.toFixed(3)}${better ? ' (best)' : ''} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      },
      earlyStopping: { monitor: 'val_loss', patience: 2, restoreBestWeights: true },
    },
  });
  xt.dispose();
  yt.dispose();
  // Stopped early: the best epoch's weights are back; at the epoch budget, the last epoch's stay.
  const ran = history.epoch.length;
  const keptEpoch = ran < epochs ? best.epoch + 1 : ran;
  return { history, seconds: (Date.now() - started) / 1000, windows: n, keptEpoch, keptValLoss: history.history.val_loss[keptEpoch - 1] };
}

// ---------------------------------------------------------------------------------------
// The feature model

/**
 * A functional model over the trained model's own layers (shared: same weights, nothing
 * copied) that returns the recurrent layer's hidden state at every character and the
 * next-character probabilities:
 *
 *   rk.input → [Embedding] → recurrent layer (sequences) → [Dense softmax]
 *               outputs: [hidden states [1, T, H], probabilities [1, T, V]]
 *
 * The layers are found by class and taken with `model.getLayer(name)`. When the trained
 * recurrent layer returns only its last step (returnSequences false), it cannot give a
 * state per character; a twin layer of the same cell and configuration with
 * returnSequences: true is made, built for the same input size, and given the trained
 * weights with getWeights/setWeights. Both run the same equations on the same weights, so
 * the twin's state at the last step is the trained layer's output; the Dense readout is
 * then applied to every step (a Dense layer acts on the last axis).
 */
function featureModel(model) {
  const names = model.layers.map((l) => l.name);
  const iRnn = model.layers.findIndex((l) => l instanceof rk.RecurrentLayer);
  if (iRnn < 0) throw new Error(`the model has no recurrent layer (layers: ${names.join(', ')})`);
  const trained = model.getLayer(names[iRnn]);
  const before = names.slice(0, iRnn).map((n) => model.getLayer(n));
  const after = names.slice(iRnn + 1).map((n) => model.getLayer(n));
  if (before.some((l) => !(l instanceof rk.Embedding))) throw new Error(`expected at most an Embedding before '${trained.name}', got ${names.slice(0, iRnn).join(', ')}`);
  const ids = before.length > 0;
  const V = ids ? before[0].config.inputDim : trained.inputFeatures;

  let recurrent = trained;
  let twin = false;
  if (!trained.config.returnSequences) {
    const c = trained.config;
    const options = { units: c.units, activation: c.activation, recurrentActivation: c.recurrentActivation, useBias: c.useBias, goBackwards: c.goBackwards, returnSequences: true, name: `${c.name}_sequences` };
    if (c.cell === 'gru') options.resetAfter = c.resetAfter;
    recurrent = rk.layers[c.cell](options);
    recurrent.build([null, null, trained.inputFeatures]);
    const weights = trained.getWeights();
    recurrent.setWeights(weights);
    for (const w of weights) w.dispose();
    twin = true;
  }

  const input = rk.input(ids ? { shape: [null], dtype: 'int32', name: 'chars' } : { shape: [null, V], name: 'chars' });
  let t = input;
  for (const l of before) t = l.apply(t);
  const hidden = recurrent.apply(t);
  let probs = hidden;
  for (const l of after) probs = l.apply(probs);
  const fm = rk.model({ inputs: input, outputs: [hidden, probs], name: 'neurons' });
  return { fm, recurrent, trained, before, after, ids, V, twin, units: recurrent.units };
}

/** Runs the feature model on the characters: `acts[t * H + u]` and `probs[t * V + k]`. */
async function activations(feature, chars, index) {
  const x = encode(chars, index, feature.V, feature.ids);
  const [h, p] = await feature.fm.predict(x);
  const out = { acts: h.dataSync().slice(), probs: p.dataSync().slice(), H: h.shape[2], T: chars.length };
  x.dispose();
  h.dispose();
  p.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------
// Text features: simple things a unit might track, computed in JavaScript per character
// (the state at character t has read characters 0..t).

const isLetter = (c) => /[A-Za-z]/.test(c);

function textFeatures(chars) {
  const T = chars.length;
  const f = (name, kind) => ({ name, kind, values: new Float64Array(T) });
  const quotes = f('inside quotes', 'binary');
  const parens = f('inside parentheses', 'binary');
  const column = f('position in line', 'count');
  const space = f('space', 'binary');
  const wordStart = f('first letter of a word', 'binary');
  const inWord = f('position in word', 'count');
  const vowel = f('vowel', 'binary');
  const punct = f('punctuation', 'binary');
  const upper = f('capital letter', 'binary');
  const lineNo = f('line of the paragraph', 'count');
  let inQuote = false;
  let depth = 0;
  let col = 0;
  let wpos = 0;
  let prevWordChar = false;
  let line = 0;
  for (let t = 0; t < T; t++) {
    const c = chars[t];
    const prev = t > 0 ? chars[t - 1] : '\n';
    const next = t + 1 < T ? chars[t + 1] : '\n';
    // An apostrophe opens a quote after a non-letter and before a letter ('This fair...),
    // closes an open one before a non-letter (...excuse,'); between letters (beauty's) or
    // after a plural (mistress' eyes) outside a quote it is neither.
    let quoteChar = false;
    if (c === "'" || c === '"') {
      if (!inQuote && !isLetter(prev) && isLetter(next)) {
        inQuote = true;
        quoteChar = true;
      } else if (inQuote && !isLetter(next)) {
        inQuote = false;
        quoteChar = true;
      }
    }
    quotes.values[t] = inQuote || quoteChar ? 1 : 0;
    if (c === '(') depth++;
    parens.values[t] = depth > 0 ? 1 : 0;
    if (c === ')' && depth > 0) depth--;
    column.values[t] = col;
    space.values[t] = c === ' ' ? 1 : 0;
    // A word: letters, and apostrophes between letters (beauty's).
    const wordChar = isLetter(c) || (c === "'" && isLetter(prev) && isLetter(next));
    wpos = wordChar ? (prevWordChar ? wpos + 1 : 0) : 0;
    prevWordChar = wordChar;
    wordStart.values[t] = wordChar && wpos === 0 ? 1 : 0;
    inWord.values[t] = wordChar ? wpos + 1 : 0;
    vowel.values[t] = /[aeiouAEIOU]/.test(c) ? 1 : 0;
    punct.values[t] = /[.,;:!?'"()-]/.test(c) ? 1 : 0;
    upper.values[t] = /[A-Z]/.test(c) ? 1 : 0;
    lineNo.values[t] = line;
    if (c === '\n') {
      col = 0;
      line = prev === '\n' ? 0 : line + 1;
    } else col++;
  }
  return [quotes, parens, column, space, wordStart, inWord, vowel, punct, upper, lineNo];
}

/** Pearson's r of a and b (0 when either is constant). */
function pearson(a, b) {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Unit u's activations over the T characters. */
function unitSeries(acts, T, H, u) {
  const s = new Float64Array(T);
  for (let t = 0; t < T; t++) s[t] = acts[t * H + u];
  return s;
}

/** A binary feature needs this many characters on each side to be scored. */
const MIN_SIDE = 5;

/** For each feature: whether the passage lets it be scored, and r against every unit. */
function correlations(acts, T, H, features) {
  const series = Array.from({ length: H }, (_, u) => unitSeries(acts, T, H, u));
  return features.map((f) => {
    const positives = f.values.reduce((s, v) => s + (v > 0 ? 1 : 0), 0);
    const distinct = new Set(f.values).size;
    const scored = f.kind === 'binary' ? positives >= MIN_SIDE && T - positives >= MIN_SIDE : distinct >= 3;
    const r = scored ? series.map((s) => pearson(s, f.values)) : null;
    let best = -1;
    if (r) for (let u = 0; u < H; u++) if (best < 0 || Math.abs(r[u]) > Math.abs(r[best])) best = u;
    return { feature: f, positives, scored, r, best, bestR: best >= 0 ? r[best] : 0 };
  });
}

/** How strongly |r| ties a unit to a feature, in words. */
function strength(r) {
  const a = Math.abs(r);
  if (a >= 0.6) return 'strong';
  if (a >= 0.4) return 'moderate';
  return 'weak';
}

/**
 * The units to show: for each feature the passage can score, the unit that correlates
 * best with it (taken greedily, strongest feature first, each unit once), then the
 * `byVariance` units of highest variance not chosen yet. A feature whose best free unit has
 * |r| < minR gets no block.
 */
function selectUnits(acts, T, H, features, { byVariance = 3, minR = 0.4 } = {}) {
  const corr = correlations(acts, T, H, features);
  const chosen = [];
  const used = new Set();
  const order = corr.filter((c) => c.scored).sort((a, b) => Math.abs(b.bestR) - Math.abs(a.bestR));
  for (const c of order) {
    let best = -1;
    for (let u = 0; u < H; u++) if (!used.has(u) && (best < 0 || Math.abs(c.r[u]) > Math.abs(c.r[best]))) best = u;
    if (best < 0 || Math.abs(c.r[best]) < minR) continue; // no unit follows it clearly: the table says so
    used.add(best);
    c.shown = best;
    chosen.push({ unit: best, why: 'feature', feature: c.feature.name, r: c.r[best], strength: strength(c.r[best]) });
  }
  const sd = Array.from({ length: H }, (_, u) => {
    const s = unitSeries(acts, T, H, u);
    const m = s.reduce((a, b) => a + b, 0) / T;
    return Math.sqrt(s.reduce((a, b) => a + (b - m) * (b - m), 0) / T);
  });
  const byVar = [...sd.keys()].sort((a, b) => sd[b] - sd[a] || a - b).filter((u) => !used.has(u)).slice(0, byVariance);
  for (const u of byVar) {
    used.add(u);
    // Its best feature, for the label.
    let bf = null;
    for (const c of corr) if (c.scored && (!bf || Math.abs(c.r[u]) > Math.abs(bf.r))) bf = { feature: c.feature.name, r: c.r[u] };
    chosen.push({ unit: u, why: 'variance', feature: bf && bf.feature, r: bf ? bf.r : 0, strength: bf ? strength(bf.r) : 'weak' });
  }
  for (const c of chosen) c.sd = sd[c.unit];
  return { chosen, corr };
}

// ---------------------------------------------------------------------------------------
// The page

const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** How a character is shown in a cell: visible marks for newline and space. */
function shown(c) {
  if (c === '\n') return '\u21b5';
  if (c === ' ') return '\u00a0';
  if (c === '\t') return '\u21e5';
  return c;
}

/** Blue (negative) → white (0) → red (positive), for activations in [-1, 1] (tanh range). */
function colour(a) {
  const x = Math.max(-1, Math.min(1, a));
  const to = x >= 0 ? [214, 39, 40] : [31, 119, 180];
  const k = Math.abs(x);
  const ch = (i) => Math.round(255 + (to[i] - 255) * k).toString(16).padStart(2, '0');
  return `#${ch(0)}${ch(1)}${ch(2)}`;
}

/** The shortest decimal text that reads back (Math.fround) as exactly this float32 value. */
function float32Text(a) {
  for (let p = 1; p < 9; p++) {
    const t = Number(a.toPrecision(p));
    if (Math.fround(t) === a) return String(t);
  }
  return String(a);
}

const fmtR = (r) => `${r >= 0 ? '+' : '\u2212'}${Math.abs(r).toFixed(2)}`;

/** The label of a selected unit. */
function unitLabel(s) {
  if (s.why === 'feature') return `unit ${s.unit}: r=${fmtR(s.r)} with '${s.feature}' (${s.strength})`;
  return `unit ${s.unit}: high variance (sd ${s.sd.toFixed(2)})${s.feature ? `; best feature '${s.feature}', r=${fmtR(s.r)} (${s.strength})` : ''}`;
}

/**
 * The page: a table of the features (best unit and r, and the best |r| an untrained model
 * of the same shape reaches, as a control), then one block per selected unit: every
 * character coloured by the unit's activation after reading it (the exact value in
 * data-a and in the tooltip), and under it the model's top-1 guess of the next character
 * and its probability (green when right).
 */
function renderHtml({ chars, vocab, acts, probs, H, selected, corr, control, meta }) {
  const T = chars.length;
  const V = vocab.length;
  const top = Array.from({ length: T }, (_, t) => {
    let k = 0;
    for (let j = 1; j < V; j++) if (probs[t * V + j] > probs[t * V + k]) k = j;
    return { c: vocab[k], p: probs[t * V + k] };
  });
  const right = top.reduce((s, g, t) => s + (t + 1 < T && g.c === chars[t + 1] ? 1 : 0), 0);
  let loss = 0;
  for (let t = 0; t + 1 < T; t++) loss -= Math.log(Math.max(probs[t * V + vocab.indexOf(chars[t + 1])], 1e-30));
  loss /= Math.max(1, T - 1);
  // Probability shown by the guess's strength of colour (five steps) and in percent.
  const predRow = top.map((g, t) => {
    const ok = t + 1 < T && g.c === chars[t + 1];
    return `<span class="p p${Math.min(4, Math.floor(g.p * 5))}${ok ? ' ok' : ''}" title="p=${g.p.toFixed(3)}">${escapeHtml(shown(g.c))}</span><span class="q">${Math.min(99, Math.round(g.p * 100))}</span>`;
  });
  const blocks = selected.map((s) => {
    const cells = [];
    for (let t = 0; t < T; t++) {
      const a = acts[t * H + s.unit];
      cells.push(
        `<span class="k"><span class="c" style="background:${colour(a)}" data-a="${float32Text(a)}" title="${a.toFixed(3)}">${escapeHtml(shown(chars[t]))}</span>${predRow[t]}</span>${chars[t] === '\n' ? '<br>' : ''}`,
      );
    }
    return `<section class="unit" data-unit="${s.unit}">\n<h2>${escapeHtml(unitLabel(s))}</h2>\n<div class="text">${cells.join('')}</div>\n</section>`;
  });
  const controlBest = new Map((control || []).map((c) => [c.feature.name, c]));
  const rows = corr.map((c) => {
    const k = controlBest.get(c.feature.name);
    if (!c.scored) return `<tr><td>${escapeHtml(c.feature.name)}</td><td colspan="5" class="na">not in this passage (${c.positives} characters), not scored</td></tr>`;
    const block = c.shown === undefined ? 'no (|r| &lt; 0.4)' : `unit ${c.shown}${c.shown === c.best ? '' : `, r=${fmtR(c.r[c.shown])}`}`;
    return `<tr><td>${escapeHtml(c.feature.name)}</td><td>${c.feature.kind === 'binary' ? c.positives : '-'}</td><td>${c.best}</td><td>${fmtR(c.bestR)} (${strength(c.bestR)})</td><td>${k && k.scored ? Math.abs(k.bestR).toFixed(2) : '-'}</td><td>${block}</td></tr>`;
  });
  const strong = corr.filter((c) => c.scored && Math.abs(c.bestR) >= 0.6);
  const verdict = strong.length
    ? `Units with a strong correlation (|r| &ge; 0.6): ${strong.map((c) => `${escapeHtml(c.feature.name)} (unit ${c.best}, r=${fmtR(c.bestR)})`).join(', ')}.`
    : 'No unit correlates strongly (|r| &ge; 0.6) with any of these features on this passage.';
  const weak = corr.filter((c) => c.scored && Math.abs(c.bestR) < 0.4).map((c) => escapeHtml(c.feature.name));
  const css = `body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:80em}
h1{font-size:1.4em}h2{font-size:1em;margin:1.4em 0 .3em}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}td.na{color:#888}
.text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:15px;line-height:1.05}
.k{display:inline-block;vertical-align:top;text-align:center;margin-bottom:.35em}
.c,.p,.q{display:block;white-space:pre;min-width:.62em}
.p{font-size:11px;color:#555}.p.ok{color:#1a7f37;font-weight:600}.p0{opacity:.3}.p1{opacity:.45}.p2{opacity:.6}.p3{opacity:.8}.q{font-size:7px;color:#999}
.legend span{display:inline-block;width:2.2em;text-align:center;font-size:.8em}.note{color:#555;font-size:.9em}`;
  const legend = [-1, -0.5, 0, 0.5, 1].map((a) => `<span style="background:${colour(a)}">${a}</span>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What the neurons learn</title>
<style>${css}</style></head><body>
<h1>What the neurons learn: ${escapeHtml(meta.title)}</h1>
<p class="note">${meta.lines.map(escapeHtml).join('<br>')}</p>
<p class="note">Each character is coloured by one hidden unit's activation (h<sub>t</sub> of the recurrent layer) after reading it: <span class="legend">${legend}</span> (the tanh range; hover for the value). Under it: the model's top-1 guess of the next character (green when right: ${right} of ${T - 1}) and its probability in percent; its loss on the passage is ${loss.toFixed(2)} nats per character (uniform guessing: ${Math.log(V).toFixed(2)}).</p>
<h2>Features (Pearson r over the ${T} characters, best of ${H} units; control: best |r| of an untrained model of the same shape)</h2>
<table><tr><th>feature</th><th>characters with it</th><th>best unit</th><th>r</th><th>control |r|</th><th>shown below</th></tr>
${rows.join('\n')}</table>
<p class="note">${verdict}${weak.length ? ` Weak (|r| &lt; 0.4: no unit tracks it clearly here): ${weak.join(', ')}.` : ''} The control matters: an untrained LSTM already has units that follow the character just read (a space, a vowel), because that character is its input; what training adds is the gap between the two columns, largest for features that need memory of earlier characters. Correlation over one passage is a hint, not proof: a unit can follow a feature only part of the time, or follow something that goes with it.</p>
${blocks.join('\n')}
</body></html>
`;
}

/**
 * The whole analysis on one passage: the feature model's states and probabilities, the
 * features, the chosen units, a control (an untrained model of the same shape, when
 * `control` is given) and the page.
 */
async function analyse({ model, feature = featureModel(model), text, passage, meta, byVariance = 3, control = null }) {
  const { vocab, index } = charVocab(text);
  const chars = [...passage];
  if (feature.V !== vocab.length) throw new Error(`the model takes ${feature.V} characters, the text has ${vocab.length}`);
  const { acts, probs, H, T } = await activations(feature, chars, index);
  const features = textFeatures(chars);
  const { chosen, corr } = selectUnits(acts, T, H, features, { byVariance });
  let controlCorr = null;
  if (control) {
    const cf = featureModel(control);
    const c = await activations(cf, chars, index);
    controlCorr = correlations(c.acts, T, c.H, features);
    cf.fm.dispose();
  }
  const html = renderHtml({ chars, vocab, acts, probs, H, selected: chosen, corr, control: controlCorr, meta });
  return { html, chosen, corr, controlCorr, acts, probs, H, T, feature, chars };
}

module.exports = {
  WINDOW,
  STRIDE,
  mulberry32,
  charVocab,
  findDemoModel,
  buildCharModel,
  takesIds,
  encode,
  trainCharModel,
  firstUnseenChar,
  featureModel,
  activations,
  textFeatures,
  pearson,
  correlations,
  selectUnits,
  escapeHtml,
  renderHtml,
  unitLabel,
  analyse,
};
