/**
 * rk.loadModel on Keras `.keras` and `.h5` files (test/fixtures/keras, written by
 * make_fixtures.py in the layouts Keras 2.2, 2.x and 3 write): each loads as the model its
 * config describes, with the generator's weights on the right layers, and predicts what
 * TensorFlow.js predicts for the same config and weights.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { normalizeKerasModelConfig } from '../lib/io/keras-normalize';
import { expectClose } from './helpers/compare';
import { model64, RefLayer } from './helpers/model-ref';
import { Rng } from './helpers/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const DIR = path.join(__dirname, 'fixtures', 'keras');

interface Expected {
  format: string;
  modelConfig: rk.JsonObject;
  layers: { layer: string; className: string; names: string[]; shapes: number[][]; values: number[][] }[];
}

const FIXTURES = ['keras2-cell.h5', 'keras22.h5', 'keras3-legacy.h5', 'hdf5-named.keras', 'keras3-rnn.keras', 'keras3-conv.keras', 'functional.keras', 'functional.h5'];

/** The same model in tfjs, built from the file's config with the generator's weights. */
async function tfjsModel(expected: Expected): Promise<tf.LayersModel> {
  const topology = normalizeKerasModelConfig(expected.modelConfig, 'fixture');
  const m = await tf.models.modelFromJSON({ modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'] });
  for (const l of expected.layers) {
    if (l.values.length === 0) continue;
    // Keras 3 names a Bidirectional's inner layers forward_<x>; tfjs layers are found by the outer name.
    m.getLayer(l.layer).setWeights(l.values.map((v, k) => tf.tensor(v, l.shapes[k])));
  }
  return m;
}

type Cfg = Record<string, unknown>;

/** A recurrent layer's Keras config as the float64 reference's. */
function rnnRef(className: string, c: Cfg): RefLayer {
  const cell = className === 'LSTM' ? 'lstm' : className === 'GRU' ? 'gru' : 'simpleRNN';
  const act = (a: unknown) => (a === 'hard_sigmoid' ? 'hardSigmoid' : a) as 'tanh';
  return {
    cell,
    units: c.units as number,
    inputDim: 0,
    activation: act(c.activation ?? 'tanh'),
    ...(cell !== 'simpleRNN' ? { recurrentActivation: act(c.recurrent_activation ?? 'sigmoid') } : {}),
    useBias: c.use_bias !== false,
    ...(cell === 'gru' ? { resetAfter: c.reset_after !== false } : {}),
    returnSequences: c.return_sequences === true,
    goBackwards: c.go_backwards === true,
  } as RefLayer;
}

/**
 * tfjs has no reset-after GRU: such Sequential files are checked against the float64
 * reference instead (the embedding looked up here, ids without padding).
 */
function reference64(expected: Expected, ids: Float32Array, N: number, T: number): Float64Array {
  const topology = normalizeKerasModelConfig(expected.modelConfig, 'fixture') as Cfg;
  const layers = ((topology.config as Cfg).layers as Cfg[]).filter((l) => l.class_name !== 'InputLayer');
  const byName = new Map(expected.layers.map((l) => [l.layer, l]));
  let x: Float32Array = ids;
  let D = 1;
  const refs: RefLayer[] = [];
  const weights: Float32Array[][] = [];
  for (const l of layers) {
    const c = l.config as Cfg;
    const w = byName.get(c.name as string)!;
    if (l.class_name === 'Embedding') {
      const table = w.values[0]!;
      D = c.output_dim as number;
      x = new Float32Array(ids.length * D);
      ids.forEach((id, i) => x.set(table.slice(id * D, (id + 1) * D), i * D));
    } else if (l.class_name === 'Dense') {
      refs.push({ dense: true, units: c.units as number, activation: (c.activation as 'linear') ?? 'linear', useBias: c.use_bias !== false });
      weights.push(w.values.map((v) => Float32Array.from(v)));
    } else if (l.class_name === 'Bidirectional') {
      const inner = c.layer as Cfg;
      refs.push({ layer: rnnRef(inner.class_name as string, inner.config as Cfg), mergeMode: (c.merge_mode as 'concat') ?? 'concat' } as RefLayer);
      weights.push(w.values.map((v) => Float32Array.from(v)));
    } else {
      refs.push(rnnRef(l.class_name as string, c));
      weights.push(w.values.map((v) => Float32Array.from(v)));
    }
  }
  return model64(refs, weights, x, N, T, D).output;
}

/** Inputs for each model input: ids for an Embedding (some front-padded with 0), else normal floats. */
function inputs(m: rk.LoadedModel, rng: Rng, N: number, frontPadded: boolean): { rkx: rk.Tensor[]; tfx: tf.Tensor[] } {
  const graph = m.graph('test');
  const rkx: rk.Tensor[] = [];
  const tfx: tf.Tensor[] = [];
  graph.inputs.forEach((t, i) => {
    const shape = t.shape.map((d, k) => (k === 0 ? N : d ?? 7));
    const size = shape.reduce((a, b) => a * b, 1);
    const reader = graph.nodes.find((n) => n.inputs.includes(t))!.layer;
    let values: Float32Array;
    if (reader.className === 'Embedding') {
      const vocab = (reader as rk.Embedding).config.inputDim;
      values = Float32Array.from({ length: size }, () => 1 + Math.floor(rng.uniform(1, 0, 0.999)[0]! * (vocab - 1)));
      // Keras's pad_sequences pads at the front.
      const T = shape[1]!;
      if (frontPadded) for (let n = 0; n < N; n += 2) values.fill(0, n * T, n * T + (n % T));
    } else {
      values = rng.normal(size);
    }
    rkx.push(rk.tensor(values, shape));
    tfx.push(tf.tensor(values, shape));
    void i;
  });
  return { rkx, tfx };
}

describe('rk.loadModel on .keras and .h5 files', () => {
  for (const file of FIXTURES) {
    it(`${file} loads with its weights and predicts as tfjs does`, async () => {
      const expected = JSON.parse(readFileSync(path.join(DIR, `${file}.expected.json`), 'utf8')) as Expected;
      const model = await rk.loadModel(path.join(DIR, file));
      // Every layer's weights are the generator's, on the layer of that name.
      for (const l of expected.layers) {
        if (l.values.length === 0) continue;
        const ws = model.getLayer(l.layer).getWeights();
        expect(ws.map((w) => w.shape)).toEqual(l.shapes);
        ws.forEach((w, k) => expectClose(w.dataSync(), l.values[k]!, 1e-7, `${file}: ${l.layer}/${l.names[k]}`));
      }
      const rng = new Rng(file.length * 7919);
      const resetAfterGru = JSON.stringify(expected.modelConfig).includes('"reset_after":true');
      const { rkx, tfx } = inputs(model, rng, 4, !resetAfterGru);
      const ours = await model.predict(rkx.length === 1 ? rkx[0]! : rkx);
      const a = Array.isArray(ours) ? ours : [ours];
      if (resetAfterGru) {
        const [N, T] = rkx[0]!.shape as [number, number];
        expectClose(a[0]!.dataSync(), reference64(expected, rkx[0]!.dataSync(), N, T), 1e-5, `${file}: output vs float64 reference`);
      } else {
        const ref = await tfjsModel(expected);
        const theirs = ref.predict(tfx.length === 1 ? tfx[0]! : tfx);
        const b = Array.isArray(theirs) ? theirs : [theirs];
        expect(a.length).toBe(b.length);
        a.forEach((t, k) => expectClose(t.dataSync(), b[k]!.dataSync(), 1e-5, `${file}: output ${k} vs tfjs`));
      }
      model.dispose();
    });
  }

  it('a .keras file whose weights hold integers is refused, naming the weight', async () => {
    await expect(rk.loadModel(path.join(DIR, 'int-weights.keras'))).rejects.toMatchObject({ code: 'RNNKIT_MODEL_FILE' });
  });

  it('an .h5 file of weights only (no model_config) is a clear model-file error', async () => {
    await expect(rk.loadModel(path.join(DIR, 'weights-only.h5'))).rejects.toMatchObject({ code: 'RNNKIT_MODEL_FILE' });
  });
});
