/**
 * The tfjs-layers model format (model.json + .bin shards):
 * - rnnkit save -> load round-trips bit-exactly;
 * - model.json files written here by hand in tensorflowjs_converter's form (Keras names,
 *   `model_config`, several shards, seeded weights) load and predict like the float64
 *   reference, including GRU reset_after with its [2, 3H] bias (which tfjs refuses);
 * - TensorFlow.js's own tf.loadLayersModel accepts what rnnkit writes, and rnnkit loads what
 *   tfjs writes, with the same predictions;
 * - malformed files give errors naming the layer, weight or field.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { writeFileSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as rk from '../lib';
import * as ref from './reference/rnn64';
import { Rng } from './helpers/random';
import { useTempDirs } from './helpers/temp-dirs';
import { readArtifacts, tfjsArtifacts } from './helpers/model-files';
import { expectClose, expectElementwiseClose } from './helpers/compare';
import { makeLayer, seedOf } from './helpers/rnn-cases';
import { model64, randomModelWeights, isDenseRef, type DenseRef, type RefLayer } from './helpers/model-ref';

const TOL = 1e-5;
const freshDir = useTempDirs('tfjs-format');

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const rnn = (cell: ref.CellType, units: number, extra: Partial<ref.RnnConfig> = {}): ref.RnnConfig => ({ cell, units, inputDim: 0, ...extra });
const dense = (units: number, activation: DenseRef['activation'] = 'linear', useBias = true): DenseRef => ({ dense: true, units, activation, useBias });

function rkLayer(l: RefLayer, first: { inputShape: [number | null, number] } | null): rk.ModelLayer {
  if (isDenseRef(l)) {
    return rk.layers.dense({ units: l.units, activation: l.activation ?? 'linear', useBias: l.useBias !== false, ...(first ?? {}) });
  }
  if (ref.isBidirectional(l)) {
    return rk.layers.bidirectional({ layer: makeLayer(l.layer, first ?? {}), ...(l.mergeMode ? { mergeMode: l.mergeMode } : {}) });
  }
  return makeLayer(l, first ?? {}) as rk.ModelLayer;
}

function buildModel(name: string, layers: RefLayer[], D: number, T: number | null) {
  const rng = new Rng(seedOf(name));
  const weights = randomModelWeights(rng, layers, D);
  const model = rk.sequential(layers.map((l, i) => rkLayer(l, i === 0 ? { inputShape: [T, D] } : null)));
  model.setWeights(weights.flat());
  return { model, weights, rng };
}


// ------------------------------------------------------------------ round trip

const ROUND_TRIP: Record<string, { layers: RefLayer[]; D: number }> = {
  'LSTM seq -> Bidirectional GRU(resetAfter) sum seq -> SimpleRNN -> Dense(softmax)': {
    D: 4,
    layers: [rnn('lstm', 5, { returnSequences: true }), { layer: rnn('gru', 3, { returnSequences: true }), mergeMode: 'sum' }, rnn('simpleRNN', 4), dense(3, 'softmax')],
  },
  'LSTM(hardSigmoid, no bias, goBackwards, carry) seq -> Dense(relu) -> GRU(reset before)': {
    D: 3,
    layers: [
      rnn('lstm', 4, { returnSequences: true, recurrentActivation: 'hardSigmoid', useBias: false, goBackwards: true, maskedOutput: 'carry' }),
      dense(5, 'relu'),
      rnn('gru', 2, { resetAfter: false }),
    ],
  },
};

describe('save -> loadModel round trip', () => {
  for (const [name, c] of Object.entries(ROUND_TRIP)) {
    it(`${name}: bit-exact weights and predictions`, async () => {
      const { model, rng } = buildModel(name, c.layers, c.D, 6);
      const dir = freshDir();
      await model.save(dir);
      const loaded = await rk.loadModel(dir);
      const again = await rk.loadModel(path.join(dir, 'model.json'));
      expect(loaded.name).toBe(model.name);
      expect(loaded.inputShape).toEqual([null, 6, c.D]);
      expect(loaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
      const a = model.getWeights();
      const b = loaded.getWeights();
      expect(b.length).toBe(a.length);
      a.forEach((w, i) => {
        expect(b[i]!.shape, `weight ${i} shape`).toEqual(w.shape);
        expect(Buffer.from(b[i]!.dataSync().buffer).equals(Buffer.from(w.dataSync().buffer)), `weight ${i} bits`).toBe(true);
      });
      const N = 5;
      const x = rk.tensor(rng.normal(N * 6 * c.D), [N, 6, c.D]);
      const lengths = [6, 2, 0, 5, 1];
      for (const opts of [{}, { lengths }]) {
        const want = (await model.predict(x, opts)).dataSync();
        expect(Array.from((await loaded.predict(x, opts)).dataSync())).toEqual(Array.from(want));
        expect(Array.from((await again.predict(x, opts)).dataSync())).toEqual(Array.from(want));
      }
      expect(loaded.summary().split('\n').slice(1)).toEqual(model.summary().split('\n').slice(1));
      for (const m of [model, loaded, again]) m.dispose();
    });
  }

  it('the saved model.json has the tfjs-layers structure', async () => {
    const { model } = buildModel('structure', ROUND_TRIP['LSTM seq -> Bidirectional GRU(resetAfter) sum seq -> SimpleRNN -> Dense(softmax)']!.layers, 4, null);
    const dir = freshDir();
    await model.save(dir);
    const { json, data } = readArtifacts(dir);
    expect(json.format).toBe('layers-model');
    expect(json.convertedBy).toBeNull();
    expect(typeof json.generatedBy).toBe('string');
    const topo = json.modelTopology as { class_name: string; config: { name: string; layers: { class_name: string; config: Record<string, unknown> }[] }; keras_version: string; backend: string };
    expect(topo.class_name).toBe('Sequential');
    expect(topo.config.layers.map((l) => l.class_name)).toEqual(['LSTM', 'Bidirectional', 'SimpleRNN', 'Dense']);
    expect(topo.config.layers[0]!.config.batch_input_shape).toEqual([null, null, 4]);
    expect(topo.config.layers[0]!.config.recurrent_activation).toBe('sigmoid');
    expect(topo.config.layers[1]!.config.merge_mode).toBe('sum');
    expect((topo.config.layers[1]!.config.layer as { config: Record<string, unknown> }).config.reset_after).toBe(true);
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0]!.paths).toEqual(['weights.bin']);
    const specs = json.weightsManifest[0]!.weights;
    expect(specs.every((s) => s.dtype === 'float32')).toBe(true);
    const bidi = topo.config.layers[1]!.config.name as string;
    const inner = (topo.config.layers[1]!.config.layer as { config: { name: string } }).config.name;
    expect(specs[3]!.name).toBe(`${bidi}/forward_${inner}/kernel`);
    expect(specs[5]!).toMatchObject({ name: `${bidi}/forward_${inner}/bias`, shape: [2, 9] });
    expect(specs[6]!.name).toBe(`${bidi}/backward_${inner}/kernel`);
    expect(data.byteLength).toBe(4 * specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0));
    model.dispose();
  });
});

// ------------------------------------------------------------------ converter-format files

/** Writes `values` as float32 LE, split into `shards` files of roughly equal size (cut mid-weight). */
function writeShards(dir: string, prefix: string, values: Float32Array[], shards: number): string[] {
  const total = values.reduce((a, v) => a + v.length, 0);
  const all = new Float32Array(total);
  let o = 0;
  for (const v of values) {
    all.set(v, o);
    o += v.length;
  }
  const bytes = Buffer.from(all.buffer);
  const names: string[] = [];
  const step = Math.ceil(bytes.length / shards / 4) * 4 + 2; // not a multiple of 4: cuts through a float
  for (let s = 0; s < shards; s++) {
    const name = `${prefix}-shard${s + 1}of${shards}.bin`;
    writeFileSync(path.join(dir, name), bytes.subarray(s * step, Math.min(bytes.length, (s + 1) * step)));
    names.push(name);
  }
  return names;
}

const kerasInit = (cls: string) => ({ class_name: cls, config: { seed: null } });

/** A Keras 2 LSTM/GRU/SimpleRNN config as tensorflowjs_converter copies it from the .h5. */
function kerasRnnConfig(cfg: ref.RnnConfig, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const act = (a: string | undefined, d: string) => ({ hardSigmoid: 'hard_sigmoid' } as Record<string, string>)[a ?? d] ?? a ?? d;
  return {
    name,
    trainable: true,
    dtype: 'float32',
    return_sequences: cfg.returnSequences ?? false,
    return_state: false,
    go_backwards: cfg.goBackwards ?? false,
    stateful: false,
    unroll: false,
    time_major: false,
    units: cfg.units,
    activation: act(cfg.activation, 'tanh'),
    ...(cfg.cell !== 'simpleRNN' ? { recurrent_activation: act(cfg.recurrentActivation, 'sigmoid') } : {}),
    use_bias: cfg.useBias ?? true,
    kernel_initializer: kerasInit('GlorotUniform'),
    recurrent_initializer: { class_name: 'Orthogonal', config: { gain: 1.0, seed: null } },
    bias_initializer: { class_name: 'Zeros', config: {} },
    ...(cfg.cell === 'lstm' ? { unit_forget_bias: true } : {}),
    kernel_regularizer: null,
    recurrent_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    recurrent_constraint: null,
    bias_constraint: null,
    dropout: 0.0,
    recurrent_dropout: 0.0,
    ...(cfg.cell !== 'simpleRNN' ? { implementation: 2 } : {}),
    ...(cfg.cell === 'gru' ? { reset_after: cfg.resetAfter ?? true } : {}),
    ...extra,
  };
}

const KERAS_CLASS: Record<ref.CellType, string> = { lstm: 'LSTM', gru: 'GRU', simpleRNN: 'SimpleRNN' };
const KERAS_CELL: Record<ref.CellType, string> = { lstm: 'lstm_cell', gru: 'gru_cell', simpleRNN: 'simple_rnn_cell' };

/**
 * A converter-style model.json (Keras 2 names like `lstm/lstm_cell/kernel`, topology under
 * `model_config`, InputLayer first) for `layers`, with its weights in two manifest groups
 * of several shards each.
 */
function writeConverterModel(dir: string, layers: RefLayer[], weights: Float32Array[][], T: number, D: number): void {
  const layerJson: unknown[] = [
    { class_name: 'InputLayer', config: { batch_input_shape: [null, T, D], dtype: 'float32', sparse: false, ragged: false, name: 'input_1' } },
  ];
  const specs: { name: string; shape: number[]; dtype: string }[] = [];
  let d = D;
  const counts: Record<string, number> = {};
  const uniq = (base: string) => {
    counts[base] = (counts[base] ?? 0) + 1;
    return counts[base] === 1 ? base : `${base}_${counts[base]! - 1}`;
  };
  layers.forEach((l, i) => {
    const shapes = isDenseRef(l)
      ? [[d, l.units], ...(l.useBias === false ? [] : [[l.units]])]
      : ref.weightShapes(ref.isBidirectional(l) ? { ...l, layer: { ...l.layer, inputDim: d } } : { ...l, inputDim: d });
    const wnames = (prefix: string, cell: string) => ['kernel', 'recurrent_kernel', 'bias'].map((w) => `${prefix}/${cell}/${w}`);
    let names: string[];
    if (isDenseRef(l)) {
      const name = uniq('dense');
      layerJson.push({
        class_name: 'Dense',
        config: {
          name, trainable: true, dtype: 'float32', units: l.units, activation: l.activation ?? 'linear', use_bias: l.useBias !== false,
          kernel_initializer: kerasInit('GlorotUniform'), bias_initializer: { class_name: 'Zeros', config: {} },
          kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
        },
      });
      names = [`${name}/kernel`, `${name}/bias`];
    } else if (ref.isBidirectional(l)) {
      const name = uniq('bidirectional');
      const inner = uniq(KERAS_CLASS[l.layer.cell].toLowerCase().replace('simplernn', 'simple_rnn'));
      layerJson.push({
        class_name: 'Bidirectional',
        config: { name, trainable: true, dtype: 'float32', layer: { class_name: KERAS_CLASS[l.layer.cell], config: kerasRnnConfig(l.layer, inner) }, merge_mode: l.mergeMode ?? 'concat' },
      });
      names = [...wnames(`${name}/forward_${inner}`, KERAS_CELL[l.layer.cell]), ...wnames(`${name}/backward_${inner}`, KERAS_CELL[l.layer.cell])];
    } else {
      const name = uniq(KERAS_CLASS[l.cell].toLowerCase().replace('simplernn', 'simple_rnn'));
      layerJson.push({ class_name: KERAS_CLASS[l.cell], config: kerasRnnConfig(l, name) });
      names = wnames(name, KERAS_CELL[l.cell]);
    }
    shapes.forEach((s, k) => specs.push({ name: names[k]!, shape: s, dtype: 'float32' }));
    d = isDenseRef(l) ? l.units : ref.isBidirectional(l) ? l.layer.units * ((l.mergeMode ?? 'concat') === 'concat' ? 2 : 1) : l.units;
    void i;
  });
  const flat = weights.flat();
  const half = Math.ceil(flat.length / 2);
  const g1 = writeShards(dir, 'group1', flat.slice(0, half), 3);
  const g2 = writeShards(dir, 'group2', flat.slice(half), 2);
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'keras v2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {
      keras_version: '2.15.0',
      backend: 'tensorflow',
      model_config: { class_name: 'Sequential', config: { name: 'sequential', layers: layerJson } },
      training_config: { loss: 'mse', metrics: null, weighted_metrics: null, loss_weights: null, optimizer_config: { class_name: 'Adam', config: { learning_rate: 0.001 } } },
    },
    weightsManifest: [
      { paths: g1, weights: specs.slice(0, half) },
      { paths: g2, weights: specs.slice(half) },
    ],
  };
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson, null, 2));
}

const CONVERTER_CASES: Record<string, { layers: RefLayer[]; D: number }> = {
  'LSTM seq -> Bidirectional GRU(reset_after) concat seq -> SimpleRNN -> Dense(softmax)': {
    D: 4,
    layers: [rnn('lstm', 5, { returnSequences: true }), { layer: rnn('gru', 3, { returnSequences: true }) }, rnn('simpleRNN', 4), dense(3, 'softmax')],
  },
  'GRU reset_after [2,3H] bias, goBackwards, seq -> Dense(tanh) per step': {
    D: 3,
    layers: [rnn('gru', 6, { returnSequences: true, goBackwards: true }), dense(4, 'tanh')],
  },
  'GRU reset_after -> GRU reset_after (hard_sigmoid) -> Dense(sigmoid)': {
    D: 5,
    layers: [rnn('gru', 4, { returnSequences: true }), rnn('gru', 3, { recurrentActivation: 'hardSigmoid' }), dense(2, 'sigmoid')],
  },
};

describe('converter-format model.json written by hand', () => {
  for (const [name, c] of Object.entries(CONVERTER_CASES)) {
    it(`${name}: loads and predicts like the float64 reference`, async () => {
      const rng = new Rng(seedOf(name));
      const T = 7;
      const weights = randomModelWeights(rng, c.layers, c.D);
      const dir = freshDir();
      writeConverterModel(dir, c.layers, weights, T, c.D);
      const model = await rk.loadModel(dir);
      expect(model.inputShape).toEqual([null, T, c.D]);
      const N = 6;
      const xv = rng.normal(N * T * c.D);
      const x = rk.tensor(xv, [N, T, c.D]);
      const y = await model.predict(x);
      const want = model64(c.layers, weights, xv, N, T, c.D);
      expect(y.shape).toEqual(want.shape);
      expectClose(y.dataSync(), want.output, TOL, 'predict vs float64 reference');
      const lengths = [7, 3, 0, 1, 6, 4];
      // A converter's file means Keras's / tfjs's masked steps: the last output repeated.
      const carried = c.layers.map((l) => ('dense' in l ? l : 'layer' in l ? { ...l, layer: { ...l.layer, maskedOutput: 'carry' as const } } : { ...l, maskedOutput: 'carry' as const }));
      expectClose((await model.predict(x, { lengths, batchSize: 4 })).dataSync(), model64(carried, weights, xv, N, T, c.D, lengths).output, TOL, 'with lengths');
      model.dispose();
    });
  }
});

describe('other spellings of the format', () => {
  const c = CONVERTER_CASES['LSTM seq -> Bidirectional GRU(reset_after) concat seq -> SimpleRNN -> Dense(softmax)']!;
  const T = 7;
  const N = 3;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function check(name: string, edit: (json: Record<string, any>) => void): Promise<void> {
    const rng = new Rng(seedOf(name));
    const weights = randomModelWeights(rng, c.layers, c.D);
    const dir = freshDir();
    writeConverterModel(dir, c.layers, weights, T, c.D);
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    edit(json);
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    const model = await rk.loadModel(dir);
    const xv = rng.normal(N * T * c.D);
    const y = await model.predict(rk.tensor(xv, [N, T, c.D]));
    expectClose(y.dataSync(), model64(c.layers, weights, xv, N, T, c.D).output, TOL, 'predict vs float64 reference');
    model.dispose();
  }

  it('weight names that match no layer are an error naming them, never taken in order', async () => {
    await expect(
      check('names by order', (json) => {
        let k = 0;
        for (const g of json.weightsManifest) for (const w of g.weights) w.name = `w${k++}`;
      }),
    ).rejects.toThrow(/cannot be matched to the model's layers by name: stored weight 'w0' names no layer of the model; stored weight 'w1'/);
  });

  it('Keras 3 style: InputLayer batch_shape, dtype policies, module / registered_name keys', async () => {
    await check('keras 3', (json) => {
      const layers = json.modelTopology.model_config.config.layers;
      layers[0].config.batch_shape = layers[0].config.batch_input_shape;
      delete layers[0].config.batch_input_shape;
      for (const l of layers) {
        l.module = 'keras.layers';
        l.registered_name = null;
        l.config.dtype = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
      }
    });
  });

  it('camelCase keys (className, returnSequences, ...) as tfjs uses in memory', async () => {
    const toCamel = (k: string) => k.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
    const camelize = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(camelize) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [toCamel(k), camelize(x)])) : v;
    await check('camelCase', (json) => {
      json.modelTopology = camelize(json.modelTopology);
      json.modelTopology.model_config = json.modelTopology.modelConfig;
    });
  });
});

// ------------------------------------------------------------------ TensorFlow.js interop


const TFJS_CASES: Record<string, { layers: RefLayer[]; D: number }> = {
  'LSTM seq -> GRU(reset_after false) seq -> SimpleRNN -> Dense(softmax)': {
    D: 4,
    layers: [rnn('lstm', 5, { returnSequences: true }), rnn('gru', 3, { resetAfter: false, returnSequences: true }), rnn('simpleRNN', 4), dense(3, 'softmax')],
  },
  'Bidirectional LSTM concat seq -> Bidirectional GRU(reset before) ave -> Dense(relu)': {
    D: 3,
    layers: [{ layer: rnn('lstm', 4, { returnSequences: true }) }, { layer: rnn('gru', 3, { resetAfter: false }), mergeMode: 'ave' }, dense(5, 'relu')],
  },
  'LSTM(hard_sigmoid, no bias) seq -> Dense(tanh) per step': {
    D: 5,
    layers: [rnn('lstm', 3, { returnSequences: true, recurrentActivation: 'hardSigmoid', useBias: false }), dense(2, 'tanh')],
  },
  'GRU(reset before, goBackwards, maskedOutput carry: an rnnkit-only key) -> Dense': {
    D: 3,
    layers: [rnn('gru', 4, { resetAfter: false, goBackwards: true, maskedOutput: 'carry' }), dense(2)],
  },
  'Bidirectional SimpleRNN(relu) mul seq -> Dense(sigmoid, no bias)': {
    D: 4,
    layers: [{ layer: rnn('simpleRNN', 3, { returnSequences: true, activation: 'relu' }), mergeMode: 'mul' }, dense(2, 'sigmoid', false)],
  },
};

describe('tf.loadLayersModel accepts what rnnkit saves', () => {
  for (const [name, c] of Object.entries(TFJS_CASES)) {
    it(`${name}: same predictions within 1e-5`, async () => {
      const T = 6;
      const { model, rng } = buildModel(name, c.layers, c.D, T);
      const dir = freshDir();
      await model.save(dir);
      const tfModel = await tf.loadLayersModel(tf.io.fromMemory(tfjsArtifacts(dir)));
      const N = 5;
      const xv = rng.normal(N * T * c.D);
      const want = tfModel.predict(tf.tensor(xv, [N, T, c.D])) as tf.Tensor;
      const got = await model.predict(rk.tensor(xv, [N, T, c.D]));
      expect(got.shape).toEqual(want.shape);
      expectElementwiseClose(got.dataSync(), want.dataSync() as Float32Array, TOL, 'rnnkit vs tfjs');
      expect(relNonZero(want.dataSync() as Float32Array)).toBe(true);
      tfModel.dispose();
      model.dispose();
    });
  }
});

function relNonZero(a: Float32Array): boolean {
  return a.some((v) => v !== 0);
}

describe('rnnkit loads what tfjs saves', () => {
  it('a tfjs Sequential (LSTM, Bidirectional GRU, SimpleRNN, Dense) saved with withSaveHandler predicts the same', async () => {
    const rng = new Rng(seedOf('tfjs saves'));
    const T = 5;
    const D = 3;
    const m = tf.sequential();
    m.add(tf.layers.lstm({ units: 4, returnSequences: true, inputShape: [T, D] }));
    m.add(tf.layers.bidirectional({ layer: tf.layers.gru({ units: 3, resetAfter: false, returnSequences: true }) as tf.layers.RNN, mergeMode: 'concat' }));
    m.add(tf.layers.simpleRNN({ units: 2 }));
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    // seeded weights instead of tfjs's unseeded initializers
    m.setWeights(m.getWeights().map((w) => tf.tensor(rng.uniform(w.size, -0.6, 0.6), w.shape)));
    let artifacts: tf.io.ModelArtifacts | undefined;
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const dir = freshDir();
    const weightData = artifacts!.weightData as ArrayBuffer;
    writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(weightData));
    writeFileSync(
      path.join(dir, 'model.json'),
      JSON.stringify({
        format: artifacts!.format,
        generatedBy: artifacts!.generatedBy,
        convertedBy: artifacts!.convertedBy,
        modelTopology: artifacts!.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts!.weightSpecs }],
      }),
    );
    const model = await rk.loadModel(dir);
    // tfjs's LSTM/GRU default recurrent activation is hard_sigmoid: it must survive the trip
    const lstm = model.layers[0] as rk.RecurrentLayer;
    expect(lstm.config.recurrentActivation).toBe('hardSigmoid');
    const N = 4;
    const xv = rng.normal(N * T * D);
    const want = (m.predict(tf.tensor(xv, [N, T, D])) as tf.Tensor).dataSync() as Float32Array;
    const got = await model.predict(rk.tensor(xv, [N, T, D]));
    expect(got.shape).toEqual([N, 3]);
    expectElementwiseClose(got.dataSync(), want, TOL, 'rnnkit vs tfjs');
    m.dispose();
    model.dispose();
  });

  it('tfjs refuses GRU reset_after: true, which rnnkit saves and loads', async () => {
    const c = CONVERTER_CASES['GRU reset_after [2,3H] bias, goBackwards, seq -> Dense(tanh) per step']!;
    const { model } = buildModel('gru reset_after tfjs', c.layers, c.D, 4);
    const dir = freshDir();
    await model.save(dir);
    await expect(tf.loadLayersModel(tf.io.fromMemory(tfjsArtifacts(dir)))).rejects.toThrow();
    const loaded = await rk.loadModel(dir);
    expect(loaded.getWeights()[2]!.shape).toEqual([2, 18]);
    model.dispose();
    loaded.dispose();
  });
});

// ------------------------------------------------------------------ malformed files

describe('malformed files', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function saved(): Promise<{ dir: string; json: Record<string, any> }> {
    const { model } = buildModel('malformed', [rnn('lstm', 3, { returnSequences: true }), dense(2)], 4, 5);
    const dir = freshDir();
    await model.save(dir);
    model.dispose();
    return { dir, json: JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) };
  }
  const write = (dir: string, json: unknown) => writeFileSync(path.join(dir, 'model.json'), typeof json === 'string' ? json : JSON.stringify(json));

  it('an unknown class_name names the layer and its type', async () => {
    const { dir, json } = await saved();
    json.modelTopology.config.layers[1].class_name = 'Conv2D';
    write(dir, json);
    await expect(rk.loadModel(dir)).rejects.toThrow(TypeError);
    await expect(rk.loadModel(dir)).rejects.toThrow(/layer 1 'dense_\d+' \(Conv2D\): unsupported layer type 'Conv2D'/);
  });

  it('a missing weight names the counts per layer', async () => {
    const { dir, json } = await saved();
    const dropped = json.weightsManifest[0].weights.pop();
    write(dir, json);
    // the shard without the dropped weight's bytes: a longer shard is an error of its own
    const bin = readFileSync(path.join(dir, 'weights.bin'));
    writeFileSync(path.join(dir, 'weights.bin'), bin.subarray(0, bin.length - 4 * dropped.shape.reduce((x: number, y: number) => x * y, 1)));
    await expect(rk.loadModel(dir)).rejects.toThrow(RangeError);
    await expect(rk.loadModel(dir)).rejects.toThrow(/lists 4 weights, but the layers need 5/);
  });

  it('a truncated weights file is a RangeError naming the weight, never a crash', async () => {
    const { dir } = await saved();
    const bin = readFileSync(path.join(dir, 'weights.bin'));
    for (const keep of [bin.length - 1, bin.length - 8, 10, 0]) {
      writeFileSync(path.join(dir, 'weights.bin'), bin.subarray(0, keep));
      await expect(rk.loadModel(dir)).rejects.toThrow(RangeError);
      await expect(rk.loadModel(dir)).rejects.toThrow(/weight '[a-zA-Z_0-9]+\/[a-z_]+' \[[0-9,]+\] needs bytes .*truncated/);
    }
  });

  it('a weight of the wrong shape names the layer and the weight', async () => {
    const { dir, json } = await saved();
    json.weightsManifest[0].weights[1].shape = [6, 6]; // recurrent kernel: [3,12], the same number of values
    write(dir, json);
    await expect(rk.loadModel(dir)).rejects.toThrow(RangeError);
    await expect(rk.loadModel(dir)).rejects.toThrow(/layer 'lstm_\d+' \(LSTM\), weights .*'lstm_\d+\/recurrent_kernel'.*must have shape \[3,12\], got \[6,6\]/);
  });

  it('missing files, bad JSON, other formats and fields are clear errors', async () => {
    const { dir, json } = await saved();
    await expect(rk.loadModel(path.join(dir, 'nope'))).rejects.toThrow(/cannot read/);
    await expect(rk.loadModel(42 as never)).rejects.toThrow(TypeError);
    const j2 = structuredClone(json);
    j2.weightsManifest[0].paths = ['missing.bin'];
    write(dir, j2);
    await expect(rk.loadModel(dir)).rejects.toThrow(/weights file 'missing.bin'/);
    write(dir, '{ not json');
    await expect(rk.loadModel(dir)).rejects.toThrow(/not valid JSON/);
    write(dir, { ...json, format: 'graph-model' });
    await expect(rk.loadModel(dir)).rejects.toThrow(/format must be 'layers-model'/);
    write(dir, { ...json, modelTopology: { ...json.modelTopology, class_name: 'Functional' } });
    await expect(rk.loadModel(dir)).rejects.toThrow(/input_layers must be a non-empty list/);
    const j3 = structuredClone(json);
    delete j3.modelTopology.config.layers[0].config.units;
    write(dir, j3);
    await expect(rk.loadModel(dir)).rejects.toThrow(/layer 0 'lstm_\d+' \(LSTM\).*units must be a positive integer/);
    const j4 = structuredClone(json);
    j4.modelTopology.config.layers[0].config.activation = 'gelu';
    write(dir, j4);
    await expect(rk.loadModel(dir)).rejects.toThrow(/layer 0 'lstm_\d+' \(LSTM\).*activation/);
    const j5 = structuredClone(json);
    j5.weightsManifest[0].weights[0].dtype = 'float16';
    write(dir, j5);
    await expect(rk.loadModel(dir)).rejects.toThrow(/weights\[0\] 'lstm_\d+\/kernel': dtype 'float16' is not supported/);
    const j6 = structuredClone(json);
    delete j6.modelTopology;
    write(dir, j6);
    await expect(rk.loadModel(dir)).rejects.toThrow(/modelTopology is missing/);
  });
});
