// matchWeights: every spelling of stored weight names that tfjs and Keras 2.2 to 3 write,
// manifests in any order, and failures that name the weights instead of falling back to
// order.
import { describe, it, expect } from 'vitest';
import { matchWeights, kerasSnakeCase, type ExpectedLayerWeights, type StoredWeightSpec } from '../lib/io/weight-names';

const REC = ['kernel', 'recurrent_kernel', 'bias'];

/** A model: Embedding → Bidirectional(LSTM) → LSTM → Dense → Dense (two same-shaped Dense). */
const MODEL: ExpectedLayerWeights[] = [
  { layer: 'embedding_1', className: 'Embedding', names: ['embeddings'], shapes: [[20, 4]] },
  {
    layer: 'bidirectional_1',
    className: 'Bidirectional',
    innerClassName: 'LSTM',
    names: [...REC.map((n) => `forward_lstm_1/${n}`), ...REC.map((n) => `backward_lstm_1/${n}`)],
    shapes: [[4, 12], [3, 12], [12], [4, 12], [3, 12], [12]],
  },
  { layer: 'lstm_2', className: 'LSTM', names: REC, shapes: [[6, 8], [2, 8], [8]] },
  { layer: 'dense_9', className: 'Dense', names: ['kernel', 'bias'], shapes: [[2, 2], [2]] },
  { layer: 'dense_10', className: 'Dense', names: ['kernel', 'bias'], shapes: [[2, 2], [2]] },
];

/** The stored names of MODEL's weights in one spelling, in model order. */
function spelled(spell: (layer: ExpectedLayerWeights, name: string) => string): StoredWeightSpec[] {
  return MODEL.flatMap((l) => l.names.map((n, i) => ({ name: spell(l, n), shape: l.shapes[i]! })));
}

/** The expected result for `stored`, from the names' owner and weight (independent of matchWeights). */
function check(stored: StoredWeightSpec[], owner: (s: StoredWeightSpec) => [string, number], options = {}) {
  const slots = matchWeights(MODEL, stored, options);
  const want = MODEL.map((l) => l.names.map(() => -1));
  stored.forEach((s, si) => {
    const [layer, wi] = owner(s);
    want[MODEL.findIndex((l) => l.layer === layer)]![wi] = si;
  });
  expect(slots).toEqual(want);
}

/** Seeded shuffle. */
function shuffled<T>(list: T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Tags each stored weight with its true owner and index, then spells it. */
function tagged(spell: (layer: ExpectedLayerWeights, name: string) => string): { stored: StoredWeightSpec[]; truth: Map<string, [string, number]> } {
  const truth = new Map<string, [string, number]>();
  const stored = MODEL.flatMap((l) =>
    l.names.map((n, i) => {
      const name = spell(l, n);
      truth.set(name, [l.layer, i]);
      return { name, shape: l.shapes[i]! };
    }),
  );
  return { stored, truth };
}

const SPELLINGS: [string, (l: ExpectedLayerWeights, n: string) => string, string?][] = [
  ['tfjs (layer/weight)', (l, n) => `${l.layer}/${n}`],
  ['with :0', (l, n) => `${l.layer}/${n}:0`],
  [
    'Keras 2 converter (cell level, forward_lstm)',
    (l, n) => (l.className === 'Bidirectional' ? `${l.layer}/${n.replace(/^(forward|backward)_lstm_1/, '$1_lstm')}`.replace(/\/(\w+)$/, '/lstm_cell/$1') : l.className === 'LSTM' ? `${l.layer}/lstm_cell/${n}` : `${l.layer}/${n}`) + ':0',
  ],
  ['Keras 3 tfjs (model name first)', (l, n) => `sequential/${l.layer}/${l.className === 'LSTM' ? 'lstm_cell/' : ''}${n}`, 'sequential'],
  ['Keras 3 tfjs without modelName', (l, n) => `sequential/${l.layer}/${n}`],
  ['Keras 2.2 .h5 (layer group doubled, no cell)', (l, n) => `${l.layer}/${l.layer}/${n}`],
  ['Keras 3 legacy .h5 (group, model name, layer, cell)', (l, n) => `${l.layer}/sequential/${l.layer}/${l.className === 'LSTM' ? 'lstm_cell/' : ''}${n}`, 'sequential'],
];

describe('matchWeights: spellings', () => {
  for (const [what, spell, modelName] of SPELLINGS) {
    it(`${what}, in layer order and shuffled`, () => {
      const { stored, truth } = tagged(spell);
      check(stored, (s) => truth.get(s.name)!, { modelName });
      check(shuffled(stored, 11), (s) => truth.get(s.name)!, { modelName });
    });
  }

  it('alphabetical manifests: dense_10 before dense_9, same shapes, matched by name', () => {
    const { stored, truth } = tagged((l, n) => `${l.layer}/${n}`);
    const alpha = [...stored].sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(alpha[0]!.name.startsWith('bidirectional_1/backward')).toBe(true);
    const slots = matchWeights(MODEL, alpha);
    expect(alpha[slots[3]![0]!]!.name).toBe('dense_9/kernel');
    expect(alpha[slots[4]![0]!]!.name).toBe('dense_10/kernel');
    check(alpha, (s) => truth.get(s.name)!);
  });

  it('Keras 3 .keras positional paths: class keys in layer order, forward_layer/backward_layer, cell/vars/<i>', () => {
    const positional: [string, string, number][] = [
      ['layers/embedding/vars/0', 'embedding_1', 0],
      ['layers/bidirectional/forward_layer/cell/vars/0', 'bidirectional_1', 0],
      ['layers/bidirectional/forward_layer/cell/vars/1', 'bidirectional_1', 1],
      ['layers/bidirectional/forward_layer/cell/vars/2', 'bidirectional_1', 2],
      ['layers/bidirectional/backward_layer/cell/vars/0', 'bidirectional_1', 3],
      ['layers/bidirectional/backward_layer/cell/vars/1', 'bidirectional_1', 4],
      ['layers/bidirectional/backward_layer/cell/vars/2', 'bidirectional_1', 5],
      ['layers/lstm/cell/vars/0', 'lstm_2', 0],
      ['layers/lstm/cell/vars/1', 'lstm_2', 1],
      ['layers/lstm/cell/vars/2', 'lstm_2', 2],
      ['layers/dense/vars/0', 'dense_9', 0],
      ['layers/dense/vars/1', 'dense_9', 1],
      ['layers/dense_1/vars/0', 'dense_10', 0],
      ['layers/dense_1/vars/1', 'dense_10', 1],
    ];
    const shapeOf = (layer: string, i: number) => MODEL.find((l) => l.layer === layer)!.shapes[i]!;
    const stored = positional.map(([name, layer, i]) => ({ name, shape: shapeOf(layer, i) }));
    const truth = new Map(positional.map(([name, layer, i]) => [name, [layer, i] as [string, number]]));
    check(stored, (s) => truth.get(s.name)!);
    check(shuffled(stored, 5), (s) => truth.get(s.name)!);
    // Keras 2.13 wrote the same under _layer_checkpoint_dependencies/.
    const old = stored.map((s) => ({ ...s, name: s.name.replace(/^layers\//, '_layer_checkpoint_dependencies/') }));
    check(old, (s) => truth.get(s.name.replace(/^_layer_checkpoint_dependencies\//, 'layers/'))!);
  });

  it('positional: vars numbered past 9 keep numeric order; TimeDistributed under layer/', () => {
    const bn: ExpectedLayerWeights = {
      layer: 'td',
      className: 'TimeDistributed',
      innerClassName: 'Dense',
      names: ['kernel', 'bias'],
      shapes: [[3, 2], [2]],
    };
    const slots = matchWeights([bn], [
      { name: 'layers/time_distributed/layer/vars/1', shape: [2] },
      { name: 'layers/time_distributed/layer/vars/0', shape: [3, 2] },
    ]);
    expect(slots).toEqual([[1, 0]]);
    const many: ExpectedLayerWeights = { layer: 'x', className: 'Custom', names: Array.from({ length: 12 }, (_, i) => `w${i}`), shapes: Array.from({ length: 12 }, (_, i) => [i + 1]) };
    const stored = shuffled(
      Array.from({ length: 12 }, (_, i) => ({ name: `layers/custom/vars/${i}`, shape: [i + 1] })),
      3,
    );
    const got = matchWeights([many], stored)[0]!;
    expect(got.map((si) => stored[si]!.name)).toEqual(Array.from({ length: 12 }, (_, i) => `layers/custom/vars/${i}`));
  });

  it("Keras' snake_case of class names", () => {
    expect(['LSTM', 'GRU', 'SimpleRNN', 'Conv1D', 'MaxPooling1D', 'BatchNormalization', 'TimeDistributed', 'Conv2DTranspose', 'InputLayer'].map(kerasSnakeCase)).toEqual([
      'lstm',
      'gru',
      'simple_rnn',
      'conv1d',
      'max_pooling1d',
      'batch_normalization',
      'time_distributed',
      'conv2d_transpose',
      'input_layer',
    ]);
  });
});

/** The error matchWeights throws for `stored`, checked to be a file error. */
function failure(stored: StoredWeightSpec[], expected = MODEL, options = {}): Error & { code?: string } {
  let err: unknown = null;
  try {
    matchWeights(expected, stored, options);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(Error);
  expect((err as { code?: string }).code).toBe('RNNKIT_MODEL_FILE');
  return err as Error;
}

describe('matchWeights: failures name the weights', () => {
  const base = spelled((l, n) => `${l.layer}/${n}`);

  it('a stored weight of no layer', () => {
    const e = failure([...base, { name: 'dense_11/kernel', shape: [2, 2] }]);
    expect(e.message).toMatch(/stored weight 'dense_11\/kernel' names no layer of the model/);
  });

  it('names without a layer (no fallback to order)', () => {
    const e = failure(base.map((s, i) => ({ ...s, name: `weight_${i}` })));
    expect(e.message).toMatch(/stored weight 'weight_0' names no layer/);
  });

  it('a missing weight', () => {
    const e = failure(base.filter((s) => s.name !== 'lstm_2/bias'));
    expect(e.message).toMatch(/layer 'lstm_2' \(LSTM\) weight 'bias': no stored weight matches it/);
  });

  it('a weight the layer does not have', () => {
    const e = failure([...base, { name: 'dense_9/gamma', shape: [2] }]);
    expect(e.message).toMatch(/'dense_9\/gamma' belongs to layer 'dense_9' \(Dense\), which has no weight 'gamma' \(its weights: kernel, bias\)/);
  });

  it('two stored weights matching one', () => {
    const e = failure([...base, { name: 'dense_9/kernel:0', shape: [2, 2] }]);
    expect(e.message).toMatch(/stored weights 'dense_9\/kernel' and 'dense_9\/kernel:0' both match layer 'dense_9' weight 'kernel'/);
  });

  it('a shape disagreement is a RangeError naming both weights', () => {
    const bad = base.map((s) => (s.name === 'dense_10/kernel' ? { ...s, shape: [2, 3] } : s));
    const e = failure(bad);
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/layer 'dense_10' weight 'kernel' has shape \[2,2\], but stored weight 'dense_10\/kernel' has shape \[2,3\]/);
  });

  it('positional: a layer the model lacks, or one weight too many', () => {
    const stored = [
      { name: 'layers/dense/vars/0', shape: [2, 2] },
      { name: 'layers/dense/vars/1', shape: [2] },
      { name: 'layers/dense_1/vars/0', shape: [2, 2] },
      { name: 'layers/dense_1/vars/1', shape: [2] },
      { name: 'layers/dense_2/vars/0', shape: [2, 2] },
    ];
    const dense = MODEL.slice(3);
    expect(failure(stored, dense).message).toMatch(/stored weight 'layers\/dense_2\/vars\/0' belongs to no layer of the model/);
    const extra = [...stored.slice(0, 4), { name: 'layers/dense_1/vars/2', shape: [3] }];
    expect(failure(extra, dense).message).toMatch(/layer 'dense_10' \(Dense, stored as 'layers\/dense_1'\): stored weight 'layers\/dense_1\/vars\/2' matches none of its 2 weights/);
  });

  it('positional and named paths mixed', () => {
    const e = failure([
      { name: 'layers/dense/vars/0', shape: [2, 2] },
      { name: 'dense_9/bias', shape: [2] },
    ], MODEL.slice(3, 4));
    expect(e.message).toMatch(/mix Keras 3 positional paths \('layers\/dense\/vars\/0'\) with named ones \('dense_9\/bias'\)/);
  });

  it('long lists are cut', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ name: `other_${i}/kernel`, shape: [1] }));
    const e = failure([...base, ...many]);
    expect(e.message).toMatch(/and 28 more/);
  });
});
