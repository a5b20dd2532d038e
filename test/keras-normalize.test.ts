// normalizeKerasModelConfig on the fixtures' configs (written by
// test/fixtures/keras/make_fixtures.py): Keras 3 configs come out in the Keras 2 / tfjs
// spelling the generator wrote for the same models, Keras 2 ones unchanged.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { normalizeKerasModelConfig } from '../lib/io/keras-normalize';
import type { JsonObject, JsonValue } from '../lib/io/keras-config';

const DIR = path.join(__dirname, 'fixtures', 'keras');
const configOf = (file: string): JsonObject => (JSON.parse(readFileSync(path.join(DIR, `${file}.expected.json`), 'utf8')) as { modelConfig: JsonObject }).modelConfig;

/** Every key used anywhere in `v`, and every `dtype` value. */
function survey(v: JsonValue, keys = new Set<string>(), dtypes: JsonValue[] = []): { keys: Set<string>; dtypes: JsonValue[] } {
  if (Array.isArray(v)) v.forEach((x) => survey(x, keys, dtypes));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      keys.add(k);
      if (k === 'dtype') dtypes.push(x);
      survey(x, keys, dtypes);
    }
  }
  return { keys, dtypes };
}

type Layer = { class_name: string; config: JsonObject; name?: string; inbound_nodes?: JsonValue };
const layersOf = (c: JsonObject) => (c.config as JsonObject).layers as unknown as Layer[];

describe('normalizeKerasModelConfig', () => {
  it('Keras 2 configs are already in the tfjs spelling: unchanged', () => {
    for (const file of ['keras2-cell.h5', 'keras22.h5', 'functional.h5']) {
      const c = configOf(file);
      const before = JSON.stringify(c);
      expect(normalizeKerasModelConfig(c)).toEqual(c);
      expect(JSON.stringify(c)).toBe(before);
    }
  });

  it('Keras 3 Sequential: no module/registered_name/build_config, dtypes as strings, batch_input_shape, initializers as {class_name, config}', () => {
    const c = configOf('keras3-rnn.keras');
    const before = JSON.stringify(c);
    const n = normalizeKerasModelConfig(c, 'keras3-rnn.keras');
    expect(JSON.stringify(c)).toBe(before);
    const { keys, dtypes } = survey(n);
    for (const k of ['module', 'registered_name', 'build_config', 'compile_config', 'batch_shape']) expect(keys.has(k), k).toBe(false);
    expect(dtypes.every((d) => typeof d === 'string')).toBe(true);
    expect(n.class_name).toBe('Sequential');
    const layers = layersOf(n);
    expect(layers[0]).toEqual({ class_name: 'InputLayer', config: { batch_input_shape: [null, 7], dtype: 'int32', sparse: false, ragged: false, name: 'input_layer', optional: false } });
    expect(layers[1]!.config.embeddings_initializer).toEqual({ class_name: 'RandomUniform', config: { seed: null, minval: -0.05, maxval: 0.05 } });
    expect(layers[1]!.config.dtype).toBe('float32');
  });

  it('Keras 3 Bidirectional: the inner layer loses its forward_ prefix, the mirrored backward layer is dropped', () => {
    const n = normalizeKerasModelConfig(configOf('keras3-rnn.keras'));
    const bi = layersOf(n)[2]!;
    expect(bi.class_name).toBe('Bidirectional');
    expect(bi.config.backward_layer).toBeUndefined();
    const inner = bi.config.layer as unknown as Layer;
    expect(inner.class_name).toBe('LSTM');
    expect(inner.config.name).toBe('lstm');
    expect(inner.config.go_backwards).toBe(false);
    expect(inner.config.units).toBe(3);
  });

  it('a backward layer that differs from the forward one is kept', () => {
    const c = configOf('keras3-rnn.keras');
    const bi = layersOf(c)[2]!;
    ((bi.config.backward_layer as JsonObject).config as JsonObject).units = 7;
    const out = layersOf(normalizeKerasModelConfig(c))[2]!;
    expect(((out.config.backward_layer as JsonObject).config as JsonObject).units).toBe(7);
  });

  it("Keras 3 functional: inbound_nodes, input_layers and output_layers as the generator's Keras 2 config spells them", () => {
    const n = normalizeKerasModelConfig(configOf('functional.keras'));
    const k2 = configOf('functional.h5');
    const nodes = (c: JsonObject) => Object.fromEntries(layersOf(c).map((l) => [l.name, l.inbound_nodes]));
    expect(nodes(n)).toEqual(nodes(k2));
    expect((n.config as JsonObject).input_layers).toEqual((k2.config as JsonObject).input_layers);
    expect((n.config as JsonObject).output_layers).toEqual((k2.config as JsonObject).output_layers);
    expect(layersOf(n).map((l) => [l.class_name, l.config.name])).toEqual(layersOf(k2).map((l) => [l.class_name, l.config.name]));
    expect(layersOf(n)[0]!.config.batch_input_shape).toEqual([null, 5, 3]);
  });

  it('Keras 3 legacy .h5: DTypePolicy objects without module become strings', () => {
    const n = normalizeKerasModelConfig(configOf('keras3-legacy.h5'));
    const { dtypes, keys } = survey(n);
    expect(dtypes.every((d) => d === 'float32')).toBe(true);
    expect(keys.has('batch_shape')).toBe(false);
    expect(layersOf(n)[0]!.config.batch_input_shape).toEqual([null, 5, 3]);
  });

  it('mixed precision policies give float32 (their variables); a one-input functional model gets nested input_layers', () => {
    const c: JsonObject = {
      class_name: 'Functional',
      config: {
        name: 'f',
        layers: [
          { class_name: 'InputLayer', config: { batch_shape: [null, 3], dtype: 'float32', name: 'x' }, name: 'x', inbound_nodes: [] },
          {
            class_name: 'Dense',
            config: { name: 'd', units: 2, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'mixed_float16' }, registered_name: null } },
            name: 'd',
            inbound_nodes: [{ args: [{ class_name: '__keras_tensor__', config: { shape: [null, 3], dtype: 'float32', keras_history: ['x', 0, 0] } }], kwargs: { custom: 3 } }],
          },
        ],
        input_layers: ['x', 0, 0],
        output_layers: ['d', 0, 0],
      },
    };
    const n = normalizeKerasModelConfig(c);
    const cfg = n.config as JsonObject;
    expect(cfg.input_layers).toEqual([['x', 0, 0]]);
    expect(cfg.output_layers).toEqual([['d', 0, 0]]);
    const d = (cfg.layers as unknown as Layer[])[1]!;
    expect(d.config.dtype).toBe('float32');
    expect(d.inbound_nodes).toEqual([[['x', 0, 0, { custom: 3 }]]]);
  });

  it('tensors passed as keyword arguments, and bad dtypes, are file errors', () => {
    const tensor = { class_name: '__keras_tensor__', config: { keras_history: ['x', 0, 0] } };
    const c: JsonObject = {
      class_name: 'Functional',
      config: { name: 'f', layers: [{ class_name: 'LSTM', config: { name: 'l' }, name: 'l', inbound_nodes: [{ args: [tensor], kwargs: { initial_state: [tensor] } }] }] },
    };
    expect(() => normalizeKerasModelConfig(c, 'm.keras')).toThrow(/m\.keras: layer 0: inbound_nodes\[0\]: tensors passed as keyword argument 'initial_state' are not supported/);
    try {
      normalizeKerasModelConfig({ class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { dtype: { class_name: 'Foo', config: {} } } }] } });
      expect.unreachable();
    } catch (e) {
      expect((e as { code?: string }).code).toBe('RNNKIT_MODEL_FILE');
      expect((e as Error).message).toMatch(/dtype must be a string or a DTypePolicy/);
    }
  });
});
