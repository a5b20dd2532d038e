/**
 * Sequential models with Embedding, Dropout and TimeDistributed layers:
 * - shapes and summary;
 * - predict equals the layers run by hand (with the lengths from the padding) and a
 *   float64 reference (table lookup + rnn64 with lengths);
 * - fit trains Embedding(maskZero) -> GRU -> Dropout -> Dense(softmax) on a toy task;
 * - save/load round trip bit-exact; TensorFlow.js loads what rnnkit saves and the other
 *   way round, with the same predictions;
 * - bad input gives errors naming the argument.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as rk from '../lib';
import * as ref from './reference/rnn64';
import { Rng } from './helpers/random';
import { useTempDirs } from './helpers/temp-dirs';
import { readArtifacts, tfjsArtifacts } from './helpers/model-files';
import { expectElementwiseClose } from './helpers/compare';
import { dense64 } from './helpers/model-ref';

const TOL = 1e-5;
const freshDir = useTempDirs('models-extra');

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Right-padded ids [N, T] in [1, V) with the given lengths (0 = padding). */
function paddedIds(rng: Rng, lengths: number[], T: number, V: number): Float32Array {
  const out = new Float32Array(lengths.length * T);
  lengths.forEach((len, n) => {
    for (let t = 0; t < len; t++) out[n * T + t] = rng.int(1, V - 1);
  });
  return out;
}

/** Seeded non-zero values for every weight of a model (replacing its initial ones). */
function randomizeWeights(model: rk.Sequential, rng: Rng): Float32Array[] {
  const ws = model.getWeights();
  const values = ws.map((w) => rng.uniform(w.size, -0.6, 0.6));
  for (const w of ws) w.dispose();
  model.setWeights(values);
  return values;
}



/** Embedding(maskZero) -> LSTM -> Dropout -> Dense(softmax), the model of several tests. */
function textModel(T: number | null) {
  return rk.sequential([
    rk.layers.embedding({ inputDim: 7, outputDim: 4, maskZero: true, inputShape: [T], seed: 1 }),
    rk.layers.lstm({ units: 5, seed: 2 }),
    rk.layers.dropout({ rate: 0.4, seed: 3 }),
    rk.layers.dense({ units: 3, activation: 'softmax', seed: 4 }),
  ]);
}

describe('shapes and summary', () => {
  it('Embedding(maskZero) -> LSTM -> Dropout -> Dense', () => {
    const model = textModel(6);
    expect(model.built).toBe(true);
    expect(model.inputShape).toEqual([null, 6]);
    expect(model.outputShape).toEqual([null, 3]);
    const names = model.layers.map((l) => l.name);
    const lines = model.summary().split('\n');
    expect(lines[0]).toBe(`Model: "${model.name}"`);
    const rows = lines.filter((l) => names.some((n) => l.startsWith(`${n} (`)));
    expect(rows.map((r) => r.split(/\s{2,}/))).toEqual([
      [`${names[0]} (Embedding)`, '(None, 6, 4)', '28'],
      [`${names[1]} (LSTM)`, '(None, 5)', String(4 * 5 * (4 + 5 + 1))],
      [`${names[2]} (Dropout)`, '(None, 5)', '0'],
      [`${names[3]} (Dense)`, '(None, 3)', '18'],
    ]);
    const total = 28 + 200 + 18;
    expect(model.countParams()).toBe(total);
    expect(lines).toContain(`Total params: ${total}`);
    const ws = model.getWeights();
    expect(ws.map((w) => w.shape)).toEqual([[7, 4], [4, 20], [5, 20], [20], [5, 3], [3]]);
    for (const w of ws) w.dispose();
    model.dispose();
  });

  it('unknown timesteps, TimeDistributed and a Dropout between sequences', () => {
    const model = rk.sequential([
      rk.layers.embedding({ inputDim: 5, outputDim: 3 }),
      rk.layers.gru({ units: 4, returnSequences: true }),
      rk.layers.dropout({ rate: 0.1 }),
      rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2 }) }),
    ]);
    expect(model.built).toBe(false);
    model.build([null, null]);
    expect(model.inputShape).toEqual([null, null]);
    expect(model.outputShape).toEqual([null, null, 2]);
    // the layer rows: the non-empty lines between the two '=' rules
    const lines = model.summary().split('\n');
    const rules = lines.flatMap((l, k) => (l.startsWith('===') ? [k] : []));
    const rows = lines.slice(rules[0]! + 1, rules[1]).filter((l) => l !== '');
    expect(rows[3]!.startsWith('time_distributed_')).toBe(true);
    expect(rows.map((r) => r.split(/\s{2,}/).slice(1))).toEqual([
      ['(None, None, 3)', '15'],
      ['(None, None, 4)', String(3 * 4 * (3 + 4 + 2))],
      ['(None, None, 4)', '0'],
      ['(None, None, 2)', '10'],
    ]);
    expect(model.getWeights().map((w) => w.shape)).toEqual([[5, 3], [3, 12], [4, 12], [2, 12], [4, 2], [2]]);
    model.dispose();
  });

  it('TimeDistributed needs a sequence; Embedding must come first', () => {
    expect(() => rk.sequential([rk.layers.lstm({ units: 3, inputShape: [4, 2] }), rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2 }) })])).toThrow(
      /TimeDistributed layer needs input of rank 3/,
    );
    expect(() => rk.sequential([rk.layers.lstm({ units: 3, returnSequences: true }), rk.layers.embedding({ inputDim: 4, outputDim: 2 })])).toThrow(
      TypeError,
    );
    expect(() => rk.sequential([rk.layers.dropout({ rate: 0.5 }), rk.layers.embedding({ inputDim: 4, outputDim: 2 })])).toThrow(
      /Embedding layer must be the first layer/,
    );
  });
});

describe('predict', () => {
  it('equals the layers run by hand with the padding lengths, and the float64 reference', async () => {
    const T = 6;
    const rng = new Rng(20251);
    const model = textModel(T);
    const w = randomizeWeights(model, rng);
    const lengths = [6, 3, 1, 0, 4];
    const N = lengths.length;
    const idv = paddedIds(rng, lengths, T, 7);
    const ids = rk.tensor(idv, [N, T]);
    const got = await model.predict(ids);
    expect(got.shape).toEqual([N, 3]);

    // by hand
    const [emb, lstm, drop, dense] = model.layers as [rk.Embedding, rk.RecurrentLayer, rk.Dropout, rk.Dense];
    const e = await emb.forward(ids);
    expect(Array.from(e.lengths!)).toEqual(lengths);
    const r = await lstm.forward(e.output, { lengths: e.lengths! });
    const d = await drop.forward(r.output);
    const y = await dense.forward(d.output);
    expect(Array.from(got.dataSync())).toEqual(Array.from(y.output.dataSync()));

    // float64: lookup, LSTM with lengths, softmax dense (dropout is the identity)
    const x64 = new Float64Array(N * T * 4);
    for (let i = 0; i < N * T; i++) for (let k = 0; k < 4; k++) x64[i * 4 + k] = w[0]![idv[i]! * 4 + k]!;
    const h = ref.forward({ cell: 'lstm', units: 5, inputDim: 4 }, w.slice(1, 4), { x: x64, N, T, lengths });
    const want = dense64({ dense: true, units: 3, activation: 'softmax' }, w.slice(4, 6), h.output, N, 5);
    expectElementwiseClose(got.dataSync(), want, TOL, 'predict vs float64');

    // explicit lengths are replaced by the mask's; batches split the same way
    expect(Array.from((await model.predict(ids, { lengths: [6, 6, 6, 6, 6] })).dataSync())).toEqual(Array.from(got.dataSync()));
    expect(Array.from((await model.predict(ids, { batchSize: 2 })).dataSync())).toEqual(Array.from(got.dataSync()));
    for (const t of [e.output, r.output, ...r.states, d.output, y.output, got, ids]) t.dispose();
    model.dispose();
  });

  it('Embedding without maskZero uses given lengths; TimeDistributed keeps the steps', async () => {
    const T = 5;
    const rng = new Rng(777);
    const model = rk.sequential([
      rk.layers.embedding({ inputDim: 6, outputDim: 3, inputLength: T }),
      rk.layers.gru({ units: 4, returnSequences: true }),
      rk.layers.dropout({ rate: 0.5 }),
      rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2, activation: 'tanh' }) }),
    ]);
    const w = randomizeWeights(model, rng);
    const N = 3;
    const idv = paddedIds(rng, [5, 5, 5], T, 6);
    const lengths = [5, 2, 4];
    const got = await model.predict(rk.tensor(idv, [N, T]), { lengths });
    expect(got.shape).toEqual([N, T, 2]);
    const x64 = new Float64Array(N * T * 3);
    for (let i = 0; i < N * T; i++) for (let k = 0; k < 3; k++) x64[i * 3 + k] = w[0]![idv[i]! * 3 + k]!;
    const h = ref.forward({ cell: 'gru', units: 4, inputDim: 3, returnSequences: true }, w.slice(1, 4), { x: x64, N, T, lengths });
    const want = dense64({ dense: true, units: 2, activation: 'tanh' }, w.slice(4, 6), h.output, N * T, 4);
    expectElementwiseClose(got.dataSync(), want, TOL, 'predict vs float64');
    model.dispose();
  });
});

describe('fit', () => {
  it('Embedding(maskZero) -> GRU -> Dropout -> Dense(softmax) learns whether token 3 occurs', async () => {
    const rng = new Rng(4242);
    const T = 8, V = 6, N = 192;
    const lengths = Array.from({ length: N }, () => rng.int(1, T));
    const idv = paddedIds(rng, lengths, T, V);
    // Balance the classes: half the sequences get a 3 at a random valid step, the rest none.
    const yv = new Float32Array(N * 2);
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < lengths[n]!; t++) if (idv[n * T + t] === 3) idv[n * T + t] = 4;
      const has = n % 2 === 0;
      if (has) idv[n * T + rng.int(0, lengths[n]! - 1)] = 3;
      yv[n * 2 + (has ? 1 : 0)] = 1;
    }
    const model = rk.sequential([
      rk.layers.embedding({ inputDim: V, outputDim: 8, maskZero: true, inputLength: T, seed: 11 }),
      rk.layers.gru({ units: 16, seed: 12 }),
      rk.layers.dropout({ rate: 0.2, seed: 13 }),
      rk.layers.dense({ units: 2, activation: 'softmax', seed: 14 }),
    ]);
    model.compile({ loss: 'categoricalCrossentropy', optimizer: rk.optimizers.adam({ learningRate: 0.02 }) });
    const x = rk.tensor(idv, [N, T]);
    const y = rk.tensor(yv, [N, 2]);
    const before = await model.evaluate(x, y);
    const history = await model.fit(x, y, { epochs: 40, batchSize: 32, verbose: 0, seed: 3 });
    const after = await model.evaluate(x, y);
    expect(before).toBeGreaterThan(0.5);
    expect(history.history.loss.at(-1)!).toBeLessThan(history.history.loss[0]!);
    expect(after).toBeLessThan(0.1); // chance is ln 2 ≈ 0.69
    const p = (await model.predict(x)).dataSync();
    let correct = 0;
    for (let n = 0; n < N; n++) if ((p[n * 2 + 1]! > 0.5) === (n % 2 === 0)) correct++;
    expect(correct / N).toBeGreaterThan(0.97);
    model.dispose();
  });
});

describe('save / load', () => {
  it('round trip is bit-exact (Embedding, LSTM, Dropout, TimeDistributed)', async () => {
    const rng = new Rng(99);
    const model = rk.sequential([
      rk.layers.embedding({ inputDim: 9, outputDim: 4, maskZero: true, inputLength: 5 }),
      rk.layers.lstm({ units: 3, returnSequences: true }),
      rk.layers.dropout({ rate: 0.25, seed: 5 }),
      rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2, activation: 'relu' }) }),
    ]);
    randomizeWeights(model, rng);
    const dir = freshDir();
    await model.save(dir);
    const loaded = await rk.loadModel(dir);
    expect(loaded.inputShape).toEqual([null, 5]);
    expect(loaded.layers.map((l) => l.constructor.name)).toEqual(['Embedding', 'RecurrentLayer', 'Dropout', 'TimeDistributed']);
    const emb = loaded.layers[0] as rk.Embedding;
    expect(emb.config.maskZero).toBe(true);
    expect((loaded.layers[2] as rk.Dropout).config).toMatchObject({ rate: 0.25, seed: 5 });
    const a = model.getWeights();
    const b = loaded.getWeights();
    expect(b.map((w) => w.shape)).toEqual(a.map((w) => w.shape));
    a.forEach((w, i) => expect(Buffer.from(b[i]!.dataSync().buffer).equals(Buffer.from(w.dataSync().buffer)), `weight ${i}`).toBe(true));
    const ids = rk.tensor(paddedIds(rng, [5, 2, 0, 4], 5, 9), [4, 5]);
    expect(Array.from((await loaded.predict(ids)).dataSync())).toEqual(Array.from((await model.predict(ids)).dataSync()));
    expect(loaded.summary().split('\n').slice(1)).toEqual(model.summary().split('\n').slice(1));

    const { json } = readArtifacts(dir);
    const layers = (json.modelTopology as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } }).config.layers;
    expect(layers.map((l) => l.class_name)).toEqual(['Embedding', 'LSTM', 'Dropout', 'TimeDistributed']);
    expect(layers[0]!.config).toMatchObject({ input_dim: 9, output_dim: 4, mask_zero: true, input_length: 5, batch_input_shape: [null, 5] });
    expect(layers[2]!.config).toMatchObject({ rate: 0.25, noise_shape: null });
    expect((layers[3]!.config.layer as { class_name: string }).class_name).toBe('Dense');
    const specs = json.weightsManifest[0]!.weights;
    expect(specs[0]).toMatchObject({ name: `${emb.name}/embeddings`, shape: [9, 4] });
    expect(specs.slice(4).map((s) => s.name)).toEqual([`${layers[3]!.config.name as string}/kernel`, `${layers[3]!.config.name as string}/bias`]);
    for (const m of [model, loaded]) m.dispose();
  });
});

describe('TensorFlow.js interop', () => {
  it('tf.loadLayersModel loads Embedding(maskZero) -> LSTM -> Dropout -> Dense: same predictions on right-padded ids', async () => {
    const T = 6;
    const rng = new Rng(31337);
    const model = textModel(T);
    randomizeWeights(model, rng);
    const dir = freshDir();
    await model.save(dir);
    const tfModel = await tf.loadLayersModel(tf.io.fromMemory(tfjsArtifacts(dir)));
    expect(tfModel.layers.map((l) => l.getClassName())).toEqual(['Embedding', 'LSTM', 'Dropout', 'Dense']);
    const lengths = [6, 3, 1, 5, 2, 0];
    const idv = paddedIds(rng, lengths, T, 7);
    const want = tfModel.predict(tf.tensor(idv, [lengths.length, T])) as tf.Tensor;
    const got = await model.predict(rk.tensor(idv, [lengths.length, T]));
    expect(got.shape).toEqual(want.shape);
    expectElementwiseClose(got.dataSync(), want.dataSync() as Float32Array, TOL, 'rnnkit vs tfjs');
    tfModel.dispose();
    model.dispose();
  });

  it('tf.loadLayersModel loads Embedding -> GRU(reset before) seq -> Dropout -> TimeDistributed(Dense): same predictions', async () => {
    const T = 5;
    const rng = new Rng(2718);
    const model = rk.sequential([
      rk.layers.embedding({ inputDim: 8, outputDim: 3, inputLength: T }),
      rk.layers.gru({ units: 4, returnSequences: true, resetAfter: false }),
      rk.layers.dropout({ rate: 0.3 }),
      rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2, activation: 'sigmoid' }) }),
    ]);
    randomizeWeights(model, rng);
    const dir = freshDir();
    await model.save(dir);
    const tfModel = await tf.loadLayersModel(tf.io.fromMemory(tfjsArtifacts(dir)));
    expect(tfModel.layers.map((l) => l.getClassName())).toEqual(['Embedding', 'GRU', 'Dropout', 'TimeDistributed']);
    const idv = paddedIds(rng, [5, 5, 5, 5], T, 8);
    const want = tfModel.predict(tf.tensor(idv, [4, T])) as tf.Tensor;
    const got = await model.predict(rk.tensor(idv, [4, T]));
    expect(got.shape).toEqual(want.shape);
    expectElementwiseClose(got.dataSync(), want.dataSync() as Float32Array, TOL, 'rnnkit vs tfjs');
    tfModel.dispose();
    model.dispose();
  });

  it('rnnkit loads a tfjs Embedding(maskZero) -> LSTM seq -> Dropout -> TimeDistributed(Dense) -> LSTM model', async () => {
    const T = 6;
    const rng = new Rng(1618);
    const tfModel = tf.sequential();
    tfModel.add(tf.layers.embedding({ inputDim: 7, outputDim: 3, maskZero: true, inputLength: T }));
    tfModel.add(tf.layers.lstm({ units: 4, returnSequences: true, recurrentActivation: 'sigmoid' }));
    tfModel.add(tf.layers.dropout({ rate: 0.5 }));
    tfModel.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 3, activation: 'tanh' }) }));
    tfModel.add(tf.layers.lstm({ units: 2 }));
    tfModel.setWeights(tfModel.getWeights().map((w) => tf.tensor(rng.uniform(w.size, -0.6, 0.6), w.shape)));
    let artifacts: tf.io.ModelArtifacts | null = null;
    await tfModel.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const a = artifacts as unknown as tf.io.ModelArtifacts;
    const model = rk.modelFromJson(
      { format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] },
      [a.weightData as ArrayBuffer],
    );
    expect(model.layers.map((l) => l.constructor.name)).toEqual(['Embedding', 'RecurrentLayer', 'Dropout', 'TimeDistributed', 'RecurrentLayer']);
    expect(model.inputShape).toEqual([null, T]);
    expect(model.countParams()).toBe(tfModel.countParams());
    const lengths = [6, 2, 4, 1, 5];
    const idv = paddedIds(rng, lengths, T, 7);
    const want = tfModel.predict(tf.tensor(idv, [lengths.length, T])) as tf.Tensor;
    const got = await model.predict(rk.tensor(idv, [lengths.length, T]));
    expect(got.shape).toEqual(want.shape);
    expectElementwiseClose(got.dataSync(), want.dataSync() as Float32Array, TOL, 'rnnkit vs tfjs');
    tfModel.dispose();
    model.dispose();
  });
});

describe('bad input', () => {
  it('ids that are not integers or out of range give a RangeError naming the ids', async () => {
    const model = textModel(3);
    await expect(model.predict(rk.tensor([1, 2.5, 0], [1, 3]))).rejects.toThrow(RangeError);
    await expect(model.predict(rk.tensor([1, 2.5, 0], [1, 3]))).rejects.toThrow(/x \(ids\).*2\.5/);
    await expect(model.predict(rk.tensor([1, 7, 0], [1, 3]))).rejects.toThrow(/x \(ids\) must be integers in \[0, 7\)/);
    await expect(model.predict(rk.tensor([1, -1, 0], [1, 3]))).rejects.toThrow(RangeError);
    await expect(model.predict(rk.tensor(new Float32Array(6), [1, 3, 2]))).rejects.toThrow(/integer ids of rank 2/);
    await expect(model.predict(rk.tensor([1, 2, 3, 4], [1, 4]))).rejects.toThrow(/x must have shape \[\?,3\]/);
    model.dispose();
  });

  it('an Embedding that is not the first layer is refused, by add and by a file', async () => {
    const model = rk.sequential([rk.layers.dense({ units: 2, inputShape: [3] })]);
    expect(() => model.add(rk.layers.embedding({ inputDim: 4, outputDim: 2 }))).toThrow(/layers\[1\].*Embedding layer must be the first layer/);
    const good = textModel(4);
    const dir = freshDir();
    await good.save(dir);
    const { json, data } = readArtifacts(dir);
    const layers = (json.modelTopology as { config: { layers: unknown[] } }).config.layers;
    [layers[0], layers[2]] = [layers[2], layers[0]];
    expect(() => rk.modelFromJson(json, [data])).toThrow(/Embedding layer must be the first layer/);
    good.dispose();
    model.dispose();
  });
});
