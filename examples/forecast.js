#!/usr/bin/env node
// Forecasts monthly airline passengers (Box & Jenkins, 1949-1960; shipped in
// examples/data) one month ahead with an LSTM trained here by BPTT in rnnkit:
// forward, backward, global-norm clipping, and Adam. The readout (one linear unit on
// the LSTM's last state) and Adam are a few lines of JavaScript; the recurrent work is
// native. The last two years are held out and compared with two naive forecasts.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const rk = require('..');

const WINDOW = 12; // months of history per prediction
const TEST_MONTHS = 24;
const UNITS = 16;
const EPOCHS = Number(process.env.DEMO_EPOCHS ?? 400);
const SCALE = 5; // log-ratios of a month are ~0.1; scale them to ~0.5

function loadSeries() {
  const file = path.join(__dirname, 'data', 'airline-passengers.csv');
  const rows = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1);
  return rows.map((r) => {
    const [month, value] = r.split(',');
    return { month, value: Number(value) };
  });
}

// Inputs: the window's log values relative to its last month. Target: log ratio of the
// next month to the last one. Both are scale-free, so the trend does not leave the
// range the model saw in training.
function makeWindows(values, from, to) {
  const xs = [];
  const ys = [];
  for (let t = from; t < to; t++) {
    const last = Math.log(values[t - 1]);
    for (let k = t - WINDOW; k < t; k++) xs.push(SCALE * (Math.log(values[k]) - last));
    ys.push(SCALE * (Math.log(values[t]) - last));
  }
  return { x: rk.tensor(Float32Array.from(xs), [ys.length, WINDOW, 1]), y: Float32Array.from(ys) };
}

// A seeded generator for the readout's initial weights.
function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Adam {
  constructor(params, lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7) {
    Object.assign(this, { params, lr, b1, b2, eps, t: 0 });
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
  }
  step(grads) {
    this.t++;
    const lr = (this.lr * Math.sqrt(1 - this.b2 ** this.t)) / (1 - this.b1 ** this.t);
    this.params.forEach((p, i) => {
      const g = grads[i];
      const m = this.m[i];
      const v = this.v[i];
      for (let j = 0; j < p.length; j++) {
        m[j] = this.b1 * m[j] + (1 - this.b1) * g[j];
        v[j] = this.b2 * v[j] + (1 - this.b2) * g[j] * g[j];
        p[j] -= (lr * m[j]) / (Math.sqrt(v[j]) + this.eps);
      }
    });
  }
}

async function predict(layer, readout, x) {
  const fwd = await layer.forward(x);
  const h = fwd.output.dataSync();
  fwd.output.dispose();
  for (const s of fwd.states) s.dispose();
  const n = x.shape[0];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = readout[UNITS];
    for (let j = 0; j < UNITS; j++) s += readout[j] * h[i * UNITS + j];
    out[i] = s;
  }
  return out;
}

function rmse(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

async function main() {
  const series = loadSeries();
  const values = series.map((s) => s.value);
  const split = values.length - TEST_MONTHS;
  const train = makeWindows(values, WINDOW, split);
  const test = makeWindows(values, split, values.length);
  const n = train.y.length;
  console.log(`airline passengers: ${values.length} months (${series[0].month} to ${series.at(-1).month}); ` +
    `training on ${n} windows, testing on the last ${TEST_MONTHS} months`);

  const layer = rk.layers.lstm({ units: UNITS, seed: 7, inputShape: [WINDOW, 1] });
  const weights = layer.getWeights().map((w) => {
    const v = w.dataSync();
    w.dispose();
    return v;
  });
  const rand = mulberry32(11);
  const readout = Float32Array.from({ length: UNITS + 1 }, (_, i) => (i < UNITS ? (rand() - 0.5) * 0.5 : 0));
  const adam = new Adam([...weights, readout], 0.01);

  const started = process.hrtime.bigint();
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    layer.setWeights(weights);
    const fwd = await layer.forward(train.x, { training: true });
    const h = fwd.output.dataSync();
    // Mean squared error of the linear readout, and its gradients.
    const dh = new Float32Array(n * UNITS);
    const dReadout = new Float32Array(UNITS + 1);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let p = readout[UNITS];
      for (let j = 0; j < UNITS; j++) p += readout[j] * h[i * UNITS + j];
      const e = p - train.y[i];
      loss += (e * e) / n;
      const de = (2 * e) / n;
      for (let j = 0; j < UNITS; j++) {
        dReadout[j] += de * h[i * UNITS + j];
        dh[i * UNITS + j] = de * readout[j];
      }
      dReadout[UNITS] += de;
    }
    const dOutput = rk.tensor(dh, [n, UNITS]);
    const grads = await layer.backward(fwd, { dOutput });
    const readoutGrad = rk.tensor(dReadout, [UNITS + 1]);
    const { grads: clipped, norm } = rk.clip.byGlobalNorm([...grads.dWeights, readoutGrad], 1.0);
    adam.step(clipped.map((g) => g.dataSync()));
    for (const t of [fwd.output, ...fwd.states, dOutput, grads.dInput, ...grads.dInitialState, ...grads.dWeights, readoutGrad, ...clipped]) t.dispose();
    fwd.dispose();
    if (epoch === 1 || epoch % 50 === 0 || epoch === EPOCHS) {
      console.log(`epoch ${String(epoch).padStart(4)}  train mse ${loss.toFixed(5)}  gradient norm ${norm.toFixed(4)}`);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  layer.setWeights(weights);

  const predicted = await predict(layer, readout, test.x);
  const actual = values.slice(split);
  const model = actual.map((_, i) => values[split + i - 1] * Math.exp(predicted[i] / SCALE));
  const lastMonth = actual.map((_, i) => values[split + i - 1]);
  const sameMonthLastYear = actual.map((_, i) => values[split + i - 12]);
  console.log(`\ntrained ${EPOCHS} epochs in ${seconds.toFixed(2)} s (${((1000 * seconds) / EPOCHS).toFixed(1)} ms per epoch)`);
  console.log(`one-month-ahead forecasts for ${series[split].month} to ${series.at(-1).month} (thousands of passengers):`);
  console.log('month     actual  lstm   last-month  same-month-last-year');
  for (let i = 0; i < actual.length; i++) {
    console.log(`${series[split + i].month}   ${String(actual[i]).padStart(4)}  ${model[i].toFixed(0).padStart(4)}   ` +
      `${String(lastMonth[i]).padStart(4)}        ${String(sameMonthLastYear[i]).padStart(4)}`);
  }
  console.log(`\nRMSE  lstm ${rmse(model, actual).toFixed(1)}   last month ${rmse(lastMonth, actual).toFixed(1)}   ` +
    `same month last year ${rmse(sameMonthLastYear, actual).toFixed(1)}`);
  train.x.dispose();
  test.x.dispose();
  layer.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
