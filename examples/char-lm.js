#!/usr/bin/env node
// A character-level language model trained on two novels by Jane Austen (public domain,
// shipped in examples/data; see examples/char-corpus.js): an LSTM reads windows of 64
// characters and predicts the next character at every step. It trains with model.fit,
// holding out the end of the text; it stops when the held-out loss stops improving and
// keeps the weights of the best epoch (early stopping with the best weights restored,
// written with fit's callbacks). It compares that loss with the unigram baseline, saves the
// model in the tfjs-layers format, loads it back, writes new text by temperature sampling
// and checks whether that text is copied from the training text.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const rk = require('..');
const corpus = require('./char-corpus');

const UNITS = Number(process.env.DEMO_UNITS ?? 192);
/** At most this many epochs (the time budget); early stopping usually ends sooner. */
const EPOCHS = Number(process.env.DEMO_EPOCHS ?? 8);
/** Stop after this many epochs without a better validation loss. */
const PATIENCE = 2;
const LEARNING_RATE = Number(process.env.DEMO_LR ?? 0.005);
const BATCH = 64;
const GENERATE = 400;
/** The sample's windows of this many characters are looked up in the training text. */
const VERBATIM = 40;

const text = corpus.readCorpus();
const { vocab, index } = corpus.charVocab(text);
const V = vocab.length;
const W = corpus.WINDOW;

function oneHot(chars) {
  const x = new Float32Array(chars.length * V);
  chars.forEach((c, t) => (x[t * V + index.get(c)] = 1));
  return x;
}

function sample(probs, temperature, rand) {
  const logits = Array.from(probs, (p) => Math.log(Math.max(p, 1e-12)) / temperature);
  const max = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - max));
  let r = rand() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) if ((r -= weights[i]) <= 0) return i;
  return weights.length - 1;
}

/** GENERATE characters after `seed`, each drawn from the model's prediction given the last W characters. */
async function generate(model, seed, temperature, rand) {
  const context = [...seed];
  let out = '';
  for (let i = 0; i < GENERATE; i++) {
    const window = context.slice(-W);
    const x = rk.tensor(oneHot(window), [1, window.length, V]);
    const y = await model.predict(x);
    const probs = y.dataSync().subarray((window.length - 1) * V);
    const next = vocab[sample(probs, temperature, rand)];
    x.dispose();
    y.dispose();
    out += next;
    context.push(next);
  }
  return out;
}

/**
 * How much of `generated` is copied: how many of its VERBATIM-character windows occur
 * verbatim in `training`, and the longest stretch of it that does.
 */
function verbatimCheck(generated, training) {
  let copied = 0;
  const total = generated.length - VERBATIM + 1;
  for (let i = 0; i < total; i++) if (training.includes(generated.slice(i, i + VERBATIM))) copied++;
  let longest = '';
  for (let start = 0, end = 1; end <= generated.length; end++) {
    while (start < end && !training.includes(generated.slice(start, end))) start++;
    if (end - start > longest.length) longest = generated.slice(start, end);
  }
  return { copied, total, longest };
}

async function main() {
  const began = Date.now();
  const data = corpus.windows(text, index);
  const N = data.starts.length;
  const nVal = corpus.validationCount(N);
  const unseen = corpus.firstUnseenChar(text.length);
  const training = text.slice(0, unseen);
  const baseline = corpus.unigramEntropy(corpus.validationTargets(text).join(''));
  console.log(`corpus: ${corpus.NAME} (examples/data/${path.basename(corpus.FILE)}), ${text.length} characters, ${V} distinct; ` +
    `${N} windows of ${W}: ${N - nVal} for training, the last ${nVal} (${nVal * W} characters, the end of the text) held out`);
  console.log(`baseline: the unigram entropy of the held-out characters is ${baseline.toFixed(3)} nats ` +
    `(uniform guessing: ${Math.log(V).toFixed(3)}); rnnkit on ${rk.getBackend()} (${rk.getIsa()}, ${rk.getNumThreads()} threads)`);
  const x = rk.tensor(data.x, data.xShape);
  const y = rk.tensor(data.y, data.yShape);
  // The held-out windows again, on their own, to score the model once it is loaded back.
  const xVal = rk.tensor(data.x.subarray((N - nVal) * W * V), [nVal, W, V]);
  const yVal = rk.tensor(data.y.subarray((N - nVal) * W), [nVal, W]);
  data.x = data.y = null; // the tensors hold copies
  const model = rk.sequential([
    rk.layers.lstm({ units: UNITS, returnSequences: true, inputShape: [null, V], seed: 1 }),
    rk.layers.dense({ units: V, activation: 'softmax', seed: 2 }),
  ]);
  console.log(model.summary());
  model.compile({
    loss: 'sparseCategoricalCrossentropy',
    optimizer: rk.optimizers.adam({ learningRate: LEARNING_RATE, clipnorm: 1 }),
    metrics: ['accuracy'],
  });

  // Early stopping with the best weights restored (Keras's EarlyStopping with
  // restore_best_weights): training ends after PATIENCE epochs without a lower val_loss, and
  // then the weights of the best epoch come back. A run that reaches the epoch budget keeps
  // its last weights, as Keras does.
  const started = Date.now();
  let epochStarted = started;
  let best = { valLoss: Infinity, epoch: -1 };
  const history = await model.fit(x, y, {
    epochs: EPOCHS,
    batchSize: BATCH,
    validationSplit: corpus.VALIDATION_SPLIT,
    seed: 3,
    verbose: 0,
    callbacks: {
      onEpochEnd: (epoch, logs) => {
        const better = logs.val_loss < best.valLoss;
        if (better) best = { valLoss: logs.val_loss, epoch };
        const now = Date.now();
        console.log(`epoch ${String(epoch + 1).padStart(2)}/${EPOCHS}  ${((now - epochStarted) / 1000).toFixed(1)} s  ` +
          `loss ${logs.loss.toFixed(3)}  acc ${logs.acc.toFixed(3)}  val_loss ${logs.val_loss.toFixed(3)}  val_acc ${logs.val_acc.toFixed(3)}` +
          `${better ? '  (best so far)' : ''}`);
        epochStarted = now;
      },
      earlyStopping: { monitor: 'val_loss', patience: PATIENCE, restoreBestWeights: true },
    },
  });
  const seconds = (Date.now() - started) / 1000;
  const ran = history.epoch.length;
  const stopped = ran < EPOCHS;
  const why = stopped ? `early stopping: no lower val_loss in the last ${PATIENCE} epochs` : `the ${EPOCHS}-epoch budget`;
  console.log(`trained ${ran} epochs in ${seconds.toFixed(1)} s (${(seconds / ran).toFixed(1)} s per epoch), stopped by ${why}`);
  const kept = stopped ? 'its weights restored' : best.epoch === ran - 1 ? 'the last, whose weights the model keeps' : 'the model keeps the last epoch\'s weights';
  console.log(`best epoch: ${best.epoch + 1} (${kept}): val_loss ${best.valLoss.toFixed(3)} nats per character, ` +
    `${(baseline - best.valLoss).toFixed(3)} below the unigram baseline ${baseline.toFixed(3)} ` +
    `(${(Math.exp(best.valLoss)).toFixed(1)} vs ${Math.exp(baseline).toFixed(1)} equally likely characters)`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-char-lm-'));
  await model.save(dir);
  const loaded = await rk.loadModel(dir);
  loaded.compile({ loss: 'sparseCategoricalCrossentropy', optimizer: rk.optimizers.adam() });
  const loadedLoss = await loaded.evaluate(xVal, yVal, { batchSize: BATCH });
  console.log(`saved to ${dir}/model.json and loaded back: the loaded model's held-out loss is ${loadedLoss.toFixed(3)}`);

  const rand = corpus.mulberry32(7);
  // The opening of Pride and Prejudice: Austen, but not in the training text.
  const seed = 'It is a truth universally acknowledged, that ';
  for (const temperature of [0.5, 0.8]) {
    const generated = await generate(loaded, seed, temperature, rand);
    const v = verbatimCheck(generated, training);
    console.log(`\n--- temperature ${temperature}, seed "${seed}" ---\n${seed}${generated}\n` +
      `--- ${v.copied} of its ${v.total} windows of ${VERBATIM} characters occur verbatim in the training text; ` +
      `its longest stretch that does is ${v.longest.length} characters: ${JSON.stringify(v.longest)}`);
  }
  console.log(`\ndone in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  for (const t of [x, y, xVal, yVal]) t.dispose();
  model.dispose();
  loaded.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
