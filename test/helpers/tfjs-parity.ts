/**
 * Building the same model in rnnkit and in TensorFlow.js (cpu backend) and comparing them:
 * seeded weights copied layer by layer (getWeights/setWeights, Keras layout on both
 * sides), predictions, and one SGD step (the weight change is -lr·gradient).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as rk from '../../lib';
import { expect } from 'vitest';
import { expectClose, expectElementwiseClose } from './compare';
import { Rng } from './random';

/** A layer of the rnnkit model and the layer standing for it in the tfjs model. */
export type LayerPair = [rk.Layer, tf.layers.Layer];

/**
 * Seeded weights for every rnnkit layer of the pairs (kernels ±1/sqrt(rows), biases ±0.5),
 * copied to the tfjs layer. A layer listed twice (shared) gets them once.
 */
export function copySeededWeights(pairs: readonly LayerPair[], rng: Rng): void {
  const done = new Set<rk.Layer>();
  for (const [r, t] of pairs) {
    if (done.has(r)) continue;
    done.add(r);
    const shapes = r.getWeights().map((w) => {
      const s = [...w.shape];
      w.dispose();
      return s;
    });
    const values = shapes.map((s) => {
      const size = s.reduce((a, b) => a * b, 1);
      const a = s.length === 1 ? 0.5 : 1 / Math.sqrt(s[0]!);
      return rng.uniform(size, -a, a);
    });
    r.setWeights(values);
    t.setWeights(values.map((v, k) => tf.tensor(v, shapes[k]!)));
  }
}

/** The weights of each distinct rnnkit layer of the pairs, as arrays, and the tfjs twin's. */
export function pairWeights(pairs: readonly LayerPair[]): { rk: Float32Array[][]; tf: Float32Array[][]; names: string[] } {
  const seen = new Set<rk.Layer>();
  const out = { rk: [] as Float32Array[][], tf: [] as Float32Array[][], names: [] as string[] };
  for (const [r, t] of pairs) {
    if (seen.has(r)) continue;
    seen.add(r);
    out.rk.push(
      r.getWeights().map((w) => {
        const v = w.dataSync().slice();
        w.dispose();
        return v;
      }),
    );
    out.tf.push(t.getWeights().map((w) => (w.dataSync() as Float32Array).slice()));
    out.names.push(r.name);
  }
  return out;
}

/** rnnkit's output(s) as a list. */
export function outList(y: rk.Tensor | rk.Tensor[]): rk.Tensor[] {
  return Array.isArray(y) ? y : [y];
}

/** tfjs's output(s) as a list. */
export function tfList(y: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(y) ? y : [y];
}

/** Every output of rnnkit equals tfjs's within `tol` (relative L2), shapes included. */
export function expectSameOutputs(got: rk.Tensor | rk.Tensor[], want: tf.Tensor | tf.Tensor[], tol: number, what: string): void {
  const g = outList(got);
  const w = tfList(want);
  if (g.length !== w.length) throw new Error(`${what}: ${g.length} outputs, tfjs has ${w.length}`);
  g.forEach((t, i) => {
    if (JSON.stringify(t.shape) !== JSON.stringify(w[i]!.shape)) throw new Error(`${what}: output ${i} shape [${t.shape}] vs tfjs [${w[i]!.shape}]`);
    expectClose(t.dataSync(), w[i]!.dataSync() as Float32Array, tol, `${what}: output ${i}`);
  });
}

export interface StepData {
  /** rnnkit inputs and targets. */
  xs: rk.Tensor[];
  ys: rk.Tensor[];
  /** The same for tfjs (Embedding ids may be given as int32 there). */
  txs: tf.Tensor[];
  tys: tf.Tensor[];
  /** Options added to rnnkit's fit (mask, lengths). */
  fitOptions?: rk.FitOptions;
  /**
   * Per output, the step mask `[N·T]` it carries (null: none). Keras, and rnnkit, score a
   * masked sequence output on its valid steps only (mse: the mean over them); tfjs ignores the
   * mask. tfjs is then given targets whose mse gradient is that one: its own prediction at
   * masked steps, and p − (p − y)·N·T/M at the M valid ones.
   */
  outputMasks?: (Uint8Array | null)[];
}

/** tfjs targets giving tfjs's unmasked mse the gradient of the masked one (see {@link StepData}). */
function maskedTargets(tfModel: tf.LayersModel, data: StepData): tf.Tensor[] {
  if (!data.outputMasks?.some((m) => m)) return data.tys;
  const preds = tfModel.predict(data.txs.length === 1 ? data.txs[0]! : data.txs);
  const list = Array.isArray(preds) ? preds : [preds];
  return data.tys.map((y, i) => {
    const mask = data.outputMasks![i];
    if (!mask) return y;
    const p = list[i]!.dataSync();
    const yv = y.dataSync();
    const width = p.length / mask.length;
    const valid = mask.reduce((a, v) => a + v, 0);
    const scale = mask.length / valid;
    const out = Float32Array.from(p, (pv, j) => (mask[Math.floor(j / width)] ? pv - (pv - yv[j]!) * scale : pv));
    return tf.tensor(out, y.shape);
  });
}

/**
 * One SGD step (learningRate `lr`, no momentum, mse, one batch, one epoch, no shuffle) in
 * both libraries; the weight changes of every layer (−lr·grad) must agree within `tol`
 * (relative L2 per weight). The weights must agree before the step.
 */
export async function expectSameSgdStep(rkModel: rk.ModelBase, tfModel: tf.LayersModel, pairs: readonly LayerPair[], data: StepData, tol: number, lr = 0.1): Promise<void> {
  const before = pairWeights(pairs);
  before.rk.forEach((ws, i) => ws.forEach((w, k) => expectElementwiseClose(w, before.tf[i]![k]!, 0, `${before.names[i]} weight ${k} before the step`)));
  const N = data.xs[0]!.shape[0]!;
  rkModel.compile({ loss: 'mse', optimizer: rk.optimizers.sgd({ learningRate: lr }) });
  await rkModel.fit(data.xs.length === 1 ? data.xs[0]! : data.xs, data.ys.length === 1 ? data.ys[0]! : data.ys, {
    epochs: 1,
    batchSize: N,
    shuffle: false,
    verbose: 0,
    ...(data.fitOptions ?? {}),
  });
  tfModel.compile({ loss: 'meanSquaredError', optimizer: tf.train.sgd(lr) });
  const tys = maskedTargets(tfModel, data);
  await tfModel.fit(data.txs.length === 1 ? data.txs[0]! : data.txs, tys.length === 1 ? tys[0]! : tys, {
    epochs: 1,
    batchSize: N,
    shuffle: false,
    verbose: 0,
  });
  const after = pairWeights(pairs);
  after.rk.forEach((ws, i) =>
    ws.forEach((w, k) => {
      const dRk = w.map((v, j) => v - before.rk[i]![k]![j]!);
      const dTf = after.tf[i]![k]!.map((v, j) => v - before.tf[i]![k]![j]!);
      expectClose(dRk, dTf, tol, `${after.names[i]} weight ${k}: change after one SGD step (−lr·grad)`);
    }),
  );
}

/** Writes what tfjs's `model.save` hands a save handler as `dir/model.json` + `dir/weights.bin`. */
export async function saveTfjsModel(m: tf.LayersModel, dir: string): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
  writeFileSync(
    path.join(dir, 'model.json'),
    JSON.stringify({
      format: a.format,
      generatedBy: a.generatedBy,
      convertedBy: a.convertedBy,
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    }),
  );
  return a;
}

/** Writes a model.json with `topology` and the weights (name, shape, values) in the order given. */
export function writeModelFiles(dir: string, topology: unknown, weights: readonly { name: string; shape: number[]; values: Float32Array }[]): void {
  const total = weights.reduce((a, w) => a + w.values.length, 0);
  const all = new Float32Array(total);
  let o = 0;
  for (const w of weights) {
    if (w.values.length !== w.shape.reduce((a, b) => a * b, 1)) throw new Error(`writeModelFiles: ${w.name} has ${w.values.length} values for [${w.shape}]`);
    all.set(w.values, o);
    o += w.values.length;
  }
  writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(all.buffer));
  writeFileSync(
    path.join(dir, 'model.json'),
    JSON.stringify({
      format: 'layers-model',
      generatedBy: 'keras v3.5.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: topology,
      weightsManifest: [{ paths: ['weights.bin'], weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })) }],
    }),
  );
}

// ------------------------------------------------------------------ twin builders


export interface Sym {
  rk: rk.SymbolicTensor;
  tf: tf.SymbolicTensor;
}

/** Builds the same functional model in both libraries, remembering which layers pair up. */
export class Twin {
  readonly pairs: LayerPair[] = [];
  readonly inputs: Sym[] = [];

  input(shape: (number | null)[], name: string, dtype: 'float32' | 'int32' = 'float32'): Sym {
    const s = { rk: rk.input({ shape, name, dtype }), tf: tf.input({ shape, name, dtype }) };
    this.inputs.push(s);
    return s;
  }

  apply(pair: LayerPair, x: Sym): Sym;
  apply(pair: LayerPair, x: Sym, many: true): Sym[];
  apply(pair: LayerPair, x: Sym, many?: true): Sym | Sym[] {
    this.pairs.push(pair);
    const r = (pair[0] as rk.LayerBase).apply(x.rk);
    const t = pair[1].apply(x.tf) as tf.SymbolicTensor | tf.SymbolicTensor[];
    if (many) {
      const rs = r as rk.SymbolicTensor[];
      const ts = t as tf.SymbolicTensor[];
      expect(rs.length, `${pair[0].name}: outputs`).toBe(ts.length);
      return rs.map((o, i) => ({ rk: o, tf: ts[i]! }));
    }
    expect(Array.isArray(r)).toBe(false);
    return { rk: r as rk.SymbolicTensor, tf: t as tf.SymbolicTensor };
  }

  models(outputs: Sym[], name?: string): { m: rk.LayersModel; t: tf.LayersModel } {
    const m = rk.model({ inputs: this.inputs.map((s) => s.rk), outputs: outputs.map((s) => s.rk), ...(name ? { name } : {}) });
    const t = tf.model({ inputs: this.inputs.map((s) => s.tf), outputs: outputs.map((s) => s.tf), ...(name ? { name } : {}) });
    return { m, t };
  }
}

export type RnnOpts = { units: number; returnSequences?: boolean; returnState?: boolean; goBackwards?: boolean; activation?: 'tanh' | 'relu'; name?: string };
/** Options only rnnkit has (tfjs masks as 'carry'). */
export type RkOnly = { maskedOutput?: 'zeros' | 'carry' };
export type Cell = 'lstm' | 'gru' | 'simpleRNN';

/** rnnkit's recurrent layer of `cell` (GRU with resetAfter false, the only GRU tfjs has). */
function rkRnn(cell: Cell, o: RnnOpts, extra: RkOnly): rk.RecurrentLayer {
  if (cell === 'lstm') return rk.layers.lstm({ ...o, ...extra });
  if (cell === 'gru') return rk.layers.gru({ ...o, ...extra, resetAfter: false });
  return rk.layers.simpleRNN({ ...o, ...extra });
}

/** tfjs's recurrent layer of `cell`, with rnnkit's (TF2 Keras) recurrent activation. */
function tfRnn(cell: Cell, o: RnnOpts): tf.layers.Layer {
  if (cell === 'lstm') return tf.layers.lstm({ ...o, recurrentActivation: 'sigmoid' });
  if (cell === 'gru') return tf.layers.gru({ ...o, recurrentActivation: 'sigmoid', resetAfter: false } as never);
  return tf.layers.simpleRNN(o);
}

/** Layer pairs: rnnkit's layer and tfjs's, with tfjs's defaults set to rnnkit's (TF2 Keras). */
export const L = {
  rnn: (cell: Cell, o: RnnOpts, extra: RkOnly = {}): LayerPair => [rkRnn(cell, o, extra), tfRnn(cell, o)],
  lstm: (o: RnnOpts, extra: RkOnly = {}): LayerPair => L.rnn('lstm', o, extra),
  gru: (o: RnnOpts, extra: RkOnly = {}): LayerPair => L.rnn('gru', o, extra),
  simpleRNN: (o: RnnOpts, extra: RkOnly = {}): LayerPair => L.rnn('simpleRNN', o, extra),
  dense: (o: { units: number; activation?: 'linear' | 'tanh' | 'relu' | 'sigmoid'; name?: string }): LayerPair => [rk.layers.dense(o), tf.layers.dense(o)],
  timeDistributedDense: (o: { units: number; activation?: 'linear' | 'tanh' | 'relu' | 'sigmoid' }): LayerPair => [
    rk.layers.timeDistributed({ layer: rk.layers.dense(o) }),
    tf.layers.timeDistributed({ layer: tf.layers.dense(o) }),
  ],
  embedding: (o: { inputDim: number; outputDim: number; maskZero?: boolean; name?: string }): LayerPair => [rk.layers.embedding(o), tf.layers.embedding(o)],
  bidirectional: (cell: Cell, o: RnnOpts, mergeMode: 'concat' | 'sum' | 'ave' | 'mul', extra: RkOnly = {}): LayerPair => [
    rk.layers.bidirectional({ layer: rkRnn(cell, o, extra), mergeMode }),
    tf.layers.bidirectional({ layer: tfRnn(cell, o) as unknown as tf.RNN, mergeMode }),
  ],
  bidiGru: (o: RnnOpts, mergeMode: 'concat' | 'sum' | 'ave' | 'mul'): LayerPair => L.bidirectional('gru', o, mergeMode),
};
