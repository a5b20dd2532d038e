/**
 * Writing models in the tfjs-layers format: `model.json` (the Keras topology, Sequential or
 * functional, and a weights manifest) and one little-endian float32 `weights.bin`, read by
 * `tf.loadLayersModel` and by {@link loadModel}.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describe, typeError } from '../errors';
import { InputLayer } from '../layers/input-layer';
import type { Node } from '../layers/symbolic';
import { Graph, nodeIndices } from '../models/graph';
import type { JsonObject, JsonValue } from './keras-config';

/** One entry of a weights manifest group. */
export interface WeightSpec {
  /** E.g. `lstm_1/kernel`. */
  name: string;
  shape: number[];
  /** Only 'float32' is read or written. */
  dtype: 'float32';
}

/** The contents of a tfjs-layers `model.json`. */
export interface ModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: string | null;
  modelTopology: { [key: string]: JsonValue };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

/** What the writer needs of a model. */
export interface WritableModel {
  readonly name: string;
  /** `'Sequential'`, or `'Model'` for a functional model (tfjs's class names). */
  readonly topologyClass: 'Sequential' | 'Model';
  graph(where: string): Graph;
  weightsReady(): Promise<void>;
}

const VERSION = '0.1.0';
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/** The Keras topology of a model (`{ class_name, config }`). */
function topology(model: WritableModel, g: Graph): JsonObject {
  if (model.topologyClass === 'Sequential') {
    const input = g.inputs[0]!.shape;
    const layers = g.innerLayers.map((l, i) => {
      const { batch_input_shape: _declared, ...config } = l.getConfig();
      return { class_name: l.className, config: i === 0 ? { ...config, batch_input_shape: [null, ...input.slice(1)] } : config };
    });
    return { class_name: 'Sequential', config: { name: model.name, layers } };
  }
  const index = nodeIndices(g);
  const ref = (n: Node, tensor: number): JsonValue => [n.layer.name, index.get(n) ?? 0, tensor];
  const layers = g.layers.map((l) => {
    const nodes = l instanceof InputLayer ? [] : g.nodes.filter((n) => n.layer === l).map((n) => n.inputs.map((t) => [t.node.layer.name, index.get(t.node) ?? 0, t.index, {}]));
    return { name: l.name, class_name: l.className, config: l.getConfig(), inbound_nodes: nodes as JsonValue };
  });
  return {
    class_name: 'Model',
    config: {
      name: model.name,
      layers,
      input_layers: g.inputs.map((t) => ref(t.node, t.index)),
      output_layers: g.outputs.map((t) => ref(t.node, t.index)),
    },
  };
}

/**
 * A model as tfjs-layers artifacts: the `model.json` contents (one shard, `weights.bin`)
 * and the weight bytes. Weight names are `<layer>/<weight>` as tfjs writes them.
 * @throws Error when the model is not built
 */
export function modelToArtifacts(model: WritableModel): { modelJson: ModelJson; weightData: ArrayBuffer } {
  const g = model.graph('save');
  const specs: WeightSpec[] = [];
  const arrays: Float32Array[] = [];
  for (const l of g.innerLayers) {
    const names = l.weightNames();
    const ws = l.getWeights();
    ws.forEach((w, k) => {
      specs.push({ name: `${l.name}/${names[k] ?? `weight_${k}`}`, shape: [...w.shape], dtype: 'float32' });
      arrays.push(w.dataSync());
      w.dispose();
    });
  }
  const count = arrays.reduce((a, x) => a + x.length, 0);
  const all = new Float32Array(count);
  let offset = 0;
  for (const a of arrays) {
    all.set(a, offset);
    offset += a.length;
  }
  const modelJson: ModelJson = {
    format: 'layers-model',
    generatedBy: `rnnkit v${VERSION}`,
    convertedBy: null,
    modelTopology: { ...topology(model, g), keras_version: `rnnkit ${VERSION}`, backend: 'rnnkit' },
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  return { modelJson, weightData: littleEndian(all) };
}

/** The bytes of a Float32Array in little-endian order (the tfjs format's). */
function littleEndian(a: Float32Array): ArrayBuffer {
  const buf = new ArrayBuffer(a.byteLength);
  const view = new DataView(buf);
  if (LITTLE_ENDIAN) {
    new Float32Array(buf).set(a);
  } else {
    for (let i = 0; i < a.length; i++) view.setFloat32(4 * i, a[i]!, true);
  }
  return buf;
}

/**
 * Writes `model` to `dir` (created if needed) as `model.json` and `weights.bin`.
 * @throws Error when the model is not built or the files cannot be written
 */
export async function saveModel(model: WritableModel, dir: string): Promise<void> {
  if (typeof dir !== 'string' || dir.length === 0) throw typeError(`${model.name}.save: dir must be a non-empty string, got ${describe(dir)}`);
  await model.weightsReady(); // large layers initialize on a worker: wait without blocking
  const { modelJson, weightData } = modelToArtifacts(model);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'weights.bin'), new Uint8Array(weightData));
  await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
}
