/**
 * Losses against float64 references of Keras's definitions (values and, by central
 * differences, gradients); optimizers against plain-JS Keras update rules, step by step,
 * with every clipping mode.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { expectClose } from './helpers/compare';
import { Rng } from './helpers/random';

const EPS = 1e-7;
const clipP = (p: number) => Math.min(1 - EPS, Math.max(EPS, p));

/** Keras losses in float64: per-sample value, averaged over samples. */
function loss64(name: rk.LossName, yTrue: ArrayLike<number>, yPred: ArrayLike<number>, rows: number, cols: number, fromLogits: boolean): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const p = Array.from({ length: cols }, (_, j) => yPred[r * cols + j]!);
    const t = name === 'sparseCategoricalCrossentropy'
      ? Array.from({ length: cols }, (_, j) => (j === yTrue[r] ? 1 : 0))
      : Array.from({ length: cols }, (_, j) => yTrue[r * cols + j]!);
    let s = 0;
    if (name === 'mse') s = p.reduce((a, v, j) => a + (v - t[j]!) ** 2, 0) / cols;
    else if (name === 'mae') s = p.reduce((a, v, j) => a + Math.abs(v - t[j]!), 0) / cols;
    else if (name === 'binaryCrossentropy')
      s = p.reduce((a, v, j) => {
        const q = fromLogits ? 1 / (1 + Math.exp(-v)) : clipP(v);
        return a - (t[j]! * Math.log(q) + (1 - t[j]!) * Math.log(1 - q));
      }, 0) / cols;
    else {
      let q: number[];
      if (fromLogits) {
        const m = Math.max(...p);
        const z = p.reduce((a, v) => a + Math.exp(v - m), 0);
        q = p.map((v) => Math.exp(v - m) / z);
      } else {
        const sum = p.reduce((a, v) => a + v, 0);
        q = p.map((v) => clipP(v / sum));
      }
      s = -t.reduce((a, v, j) => a + v * Math.log(q[j]!), 0);
    }
    total += s;
  }
  return total / rows;
}

describe('losses', () => {
  const cases: { name: rk.LossName; fromLogits: boolean }[] = [
    { name: 'mse', fromLogits: false },
    { name: 'mae', fromLogits: false },
    { name: 'binaryCrossentropy', fromLogits: false },
    { name: 'binaryCrossentropy', fromLogits: true },
    { name: 'categoricalCrossentropy', fromLogits: false },
    { name: 'categoricalCrossentropy', fromLogits: true },
    { name: 'sparseCategoricalCrossentropy', fromLogits: false },
    { name: 'sparseCategoricalCrossentropy', fromLogits: true },
  ];
  for (const { name, fromLogits } of cases)
    it(`${name}${fromLogits ? ' (fromLogits)' : ''}: value and gradient match the float64 reference`, async () => {
      const rng = new Rng(name.length * 10 + (fromLogits ? 1 : 0));
      const [rows, cols] = [6, 5];
      const probs = !fromLogits && name !== 'mse' && name !== 'mae';
      const pred = probs ? rng.uniform(rows * cols, 0.05, 0.95) : rng.normal(rows * cols);
      const sparse = name === 'sparseCategoricalCrossentropy';
      const target = sparse
        ? Float32Array.from({ length: rows }, () => Math.floor(rng.uniform(1, 0, cols)[0]!))
        : name.includes('Crossentropy')
          ? (() => {
              const t = rng.uniform(rows * cols, 0, 1);
              if (name === 'categoricalCrossentropy') for (let r = 0; r < rows; r++) {
                const s = t.slice(r * cols, (r + 1) * cols).reduce((a, v) => a + v, 0);
                for (let j = 0; j < cols; j++) t[r * cols + j]! /= s;
              }
              return t;
            })()
          : rng.normal(rows * cols);
      const yPred = rk.tensor(pred, [rows, cols]);
      const yTrue = rk.tensor(target, sparse ? [rows] : [rows, cols]);
      const r = await rk.computeLoss(name, yTrue, yPred, { fromLogits });
      const want = loss64(name, target, pred, rows, cols, fromLogits);
      expect(Math.abs(r.value - want) / Math.max(1e-12, Math.abs(want))).toBeLessThan(1e-5);
      const fd = Float64Array.from(pred, (_, i) => {
        const up = Float64Array.from(pred), down = Float64Array.from(pred);
        up[i]! += 1e-6;
        down[i]! -= 1e-6;
        return (loss64(name, target, up, rows, cols, fromLogits) - loss64(name, target, down, rows, cols, fromLogits)) / 2e-6;
      });
      expectClose(r.gradient.dataSync(), fd, 1e-4, 'gradient');
    });

  it('rejects unknown losses, wrong shapes and out-of-range labels', async () => {
    const p = rk.tensor(new Float32Array(6).fill(0.5), [2, 3]);
    await expect(rk.computeLoss('hinge' as rk.LossName, p, p)).rejects.toThrow(/loss/);
    await expect(rk.computeLoss('mse', rk.tensor([1, 2], [2]), p)).rejects.toThrow(/yTrue/);
    await expect(rk.computeLoss('sparseCategoricalCrossentropy', rk.tensor([0, 3], [2]), p)).rejects.toThrow(/yTrue\[1\] must be an integer in \[0, 3\)/);
    await expect(rk.computeLoss('mse', p, p, { fromLogit: true } as unknown as { fromLogits: boolean })).rejects.toThrow(/fromLogit/);
  });
});

/** Plain-JS Keras optimizers over Float64 copies, with Keras's clipping. */
function referenceStep(kind: 'sgd' | 'adam' | 'rmsprop', o: Record<string, number | boolean>, w: Float64Array[], g: Float64Array[], state: Float64Array[][], t: number) {
  const norm = (a: Float64Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
  let grads = g;
  if (o.clipnorm) grads = g.map((x) => x.map((v) => (v * (o.clipnorm as number)) / Math.max(norm(x), o.clipnorm as number)));
  if (o.clipvalue) grads = g.map((x) => x.map((v) => Math.min(o.clipvalue as number, Math.max(-(o.clipvalue as number), v))));
  if (o.globalClipnorm) {
    const gn = Math.sqrt(g.reduce((s, x) => s + norm(x) ** 2, 0));
    grads = g.map((x) => x.map((v) => (v * (o.globalClipnorm as number)) / Math.max(gn, o.globalClipnorm as number)));
  }
  w.forEach((p, k) => {
    const gr = grads[k]!;
    const [s0, s1] = state[k]!;
    for (let i = 0; i < p.length; i++) {
      if (kind === 'sgd') {
        const lr = (o.learningRate as number) ?? 0.01, m = (o.momentum as number) ?? 0;
        if (!m) p[i]! -= lr * gr[i]!;
        else {
          s0![i] = m * s0![i]! - lr * gr[i]!;
          p[i]! += o.nesterov ? m * s0![i]! - lr * gr[i]! : s0![i]!;
        }
      } else if (kind === 'adam') {
        const lr = (o.learningRate as number) ?? 0.001, b1 = 0.9, b2 = 0.999, e = 1e-7;
        s0![i] = b1 * s0![i]! + (1 - b1) * gr[i]!;
        s1![i] = b2 * s1![i]! + (1 - b2) * gr[i]! ** 2;
        p[i]! -= ((lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t)) * s0![i]! / (Math.sqrt(s1![i]!) + e);
      } else {
        const lr = (o.learningRate as number) ?? 0.001, rho = 0.9, m = (o.momentum as number) ?? 0, e = 1e-7;
        s0![i] = rho * s0![i]! + (1 - rho) * gr[i]! ** 2;
        const step = (lr * gr[i]!) / (Math.sqrt(s0![i]!) + e);
        if (m) {
          s1![i] = m * s1![i]! + step;
          p[i]! -= s1![i]!;
        } else p[i]! -= step;
      }
    }
  });
}

describe('optimizers', () => {
  const configs: { kind: 'sgd' | 'adam' | 'rmsprop'; options: Record<string, number | boolean> }[] = [
    { kind: 'sgd', options: { learningRate: 0.1 } },
    { kind: 'sgd', options: { learningRate: 0.05, momentum: 0.9 } },
    { kind: 'sgd', options: { learningRate: 0.05, momentum: 0.9, nesterov: true, clipnorm: 0.5 } },
    { kind: 'adam', options: { learningRate: 0.01 } },
    { kind: 'adam', options: { learningRate: 0.01, clipvalue: 0.3 } },
    { kind: 'adam', options: { learningRate: 0.01, globalClipnorm: 1.0 } },
    { kind: 'rmsprop', options: { learningRate: 0.01 } },
    { kind: 'rmsprop', options: { learningRate: 0.01, momentum: 0.5, clipnorm: 0.8 } },
  ];
  for (const { kind, options } of configs)
    it(`${kind} ${JSON.stringify(options)} matches the Keras update rule over 5 steps`, () => {
      const rng = new Rng(kind.length + Object.keys(options).length * 7);
      const shapes = [[4, 3], [3]];
      const opt = rk.optimizers[kind](options);
      const weights = shapes.map((s) => rk.tensor(rng.normal(s[0]! * (s[1] ?? 1)), s));
      const ref = weights.map((w) => Float64Array.from(w.dataSync()));
      const state = ref.map((w) => [new Float64Array(w.length), new Float64Array(w.length)]);
      for (let t = 1; t <= 5; t++) {
        const grads = shapes.map((s) => rng.normal(s[0]! * (s[1] ?? 1), 0, 1.5));
        const gTensors = grads.map((g, i) => rk.tensor(g, shapes[i]));
        const before = gTensors.map((g) => g.dataSync());
        opt.applyGradients(weights, gTensors);
        referenceStep(kind, options, ref, grads.map((g) => Float64Array.from(g)), state, t);
        gTensors.forEach((g, i) => expect(g.dataSync()).toEqual(before[i]));
      }
      weights.forEach((w, i) => expectClose(w.dataSync(), ref[i]!, 1e-5, `weight ${i}`));
      expect(opt.iterations).toBe(5);
    });

  it('rejects more than one clipping option and bad hyper-parameters', () => {
    expect(() => rk.optimizers.sgd({ clipnorm: 1, clipvalue: 1 })).toThrow(/at most one/);
    expect(() => rk.optimizers.adam({ learningRate: -1 })).toThrow(RangeError);
    expect(() => rk.optimizers.rmsprop({ rho: 1 })).toThrow(/rho/);
    expect(() => rk.optimizers.sgd({ lr: 0.1 } as unknown as rk.SGDOptions)).toThrow(/lr/);
    const opt = rk.optimizers.sgd();
    expect(() => opt.applyGradients([rk.tensor([1, 2])], [rk.tensor([1, 2, 3])])).toThrow(/shape/);
  });
});
