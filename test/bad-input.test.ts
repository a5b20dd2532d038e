/**
 * Fuzz-style bad-input test (DESIGN principle 6: "Bad input gets a clear error and loses
 * nothing"). A seeded PRNG throws several hundred malformed calls at the public API. Each
 * must throw synchronously or reject with a TypeError or RangeError with code
 * RNNKIT_INVALID_ARGUMENT (an Error with code RNNKIT_DISPOSED for a disposed tensor) whose
 * message names the offending argument or option. Afterwards the
 * process is alive, valid calls still work and give the same results as before, and every
 * tensor passed in is unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

type Tensor = ReturnType<typeof rk.tensor>;
// The layer and forward-result types, whatever the library calls them.
type Layer = ReturnType<typeof rk.layers.lstm>;
type Fwd = Awaited<ReturnType<Layer['forward']>>;

const N = 2;
const T = 4;
const D = 3;
const ITERATIONS = 500;

// ------------------------------------------------------------------ bookkeeping

interface Guarded {
  t: Tensor;
  snap: number[];
  shape: number[];
  label: string;
}
const guarded: Guarded[] = [];
const toDispose: Tensor[] = [];

/** A live tensor passed to a malformed call: checked for changes at the end. */
function keep(t: Tensor, label: string): Tensor {
  guarded.push({ t, snap: Array.from(t.dataSync()), shape: [...t.shape], label });
  return t;
}

function rand(rng: Rng, shape: number[], label: string): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return keep(rk.tensor(rng.uniform(n, -1, 1), shape), label);
}

function disposedTensor(rng: Rng, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = rk.tensor(rng.uniform(n, -1, 1), shape);
  t.dispose();
  return t;
}

/** Releases whatever an erroneously successful call returned. */
function release(v: unknown): void {
  if (v === null || typeof v !== 'object') return;
  const o = v as Record<string, unknown>;
  if (Array.isArray(v)) {
    for (const e of v) release(e);
    return;
  }
  if (typeof o.dispose === 'function') {
    try {
      (o.dispose as () => void)();
    } catch {
      /* ignore */
    }
  }
  for (const k of ['x', 'grads', 'output', 'states', 'dInput', 'dWeights', 'dInitialState']) {
    if (k in o) release(o[k]);
  }
}

// ------------------------------------------------------------------ fixtures

interface LayerMeta {
  name: string;
  make: (extra?: Record<string, unknown>) => Layer;
  layer: Layer;
  H: number; // output features
  stateH: number; // features of each state
  nStates: number;
  returnSequences: boolean;
  weights: Float32Array[];
  weightShapes: number[][];
  refOutput: number[];
  refStates: number[][];
  trainFwd: Fwd;
}

let metas: LayerMeta[] = [];
let x: Tensor;
const setupRng = new Rng(2024);

function outShape(m: LayerMeta): number[] {
  return m.returnSequences ? [N, T, m.H] : [N, m.H];
}

async function makeMeta(
  name: string,
  make: (extra?: Record<string, unknown>) => Layer,
  H: number,
  stateH: number,
  nStates: number,
  returnSequences: boolean,
  seed: number,
): Promise<LayerMeta> {
  const layer = make();
  layer.build([null, null, D]);
  const current = layer.getWeights();
  const weightShapes = current.map((w) => [...w.shape]);
  for (const w of current) w.dispose();
  const wrng = new Rng(seed);
  const weights = weightShapes.map((s) => wrng.uniform(s.reduce((a, b) => a * b, 1), -0.5, 0.5));
  layer.setWeights(weights);
  const ref = await layer.forward(x);
  const refOutput = Array.from(ref.output.dataSync());
  const refStates = ref.states.map((s) => Array.from(s.dataSync()));
  ref.dispose();
  const trainFwd = await layer.forward(x, { training: true });
  return {
    name,
    make,
    layer,
    H,
    stateH,
    nStates,
    returnSequences,
    weights,
    weightShapes,
    refOutput,
    refStates,
    trainFwd,
  };
}

beforeAll(async () => {
  x = keep(rk.tensor(setupRng.uniform(N * T * D, -1, 1), [N, T, D]), 'x');
  metas = [
    await makeMeta('lstm', (e = {}) => rk.layers.lstm({ units: 5, returnSequences: true, ...e }), 5, 5, 2, true, 1),
    await makeMeta('gru', (e = {}) => rk.layers.gru({ units: 4, ...e }), 4, 4, 1, false, 2),
    await makeMeta(
      'simpleRNN',
      (e = {}) => rk.layers.simpleRNN({ units: 3, returnSequences: true, ...e }),
      3,
      3,
      1,
      true,
      3,
    ),
    await makeMeta(
      'bidirectional(gru)',
      (e = {}) =>
        rk.layers.bidirectional({ layer: rk.layers.gru({ units: 3, returnSequences: true }), ...e }) as unknown as Layer,
      6,
      3,
      2,
      true,
      4,
    ),
  ];
});

afterAll(() => {
  for (const m of metas) m.trainFwd.dispose();
  for (const t of toDispose) t.dispose();
  for (const g of guarded) g.t.dispose();
});

// ------------------------------------------------------------------ cases

type Expect = 'argError' | 'disposed' | 'skip';

interface Case {
  label: string;
  call: () => unknown;
  pattern: RegExp;
  expect: Expect;
}

const X = /\bx\b|input/i;

function pick<V>(rng: Rng, vs: readonly V[]): V {
  return vs[rng.int(0, vs.length - 1)];
}

/** A generator for an entry point the library does not have (yet): not counted. */
function skip(): Case {
  return { label: 'skipped', call: () => undefined, pattern: /$^/, expect: 'skip' };
}

function layerOf(rng: Rng): LayerMeta {
  return pick(rng, metas);
}

const generators: ((rng: Rng) => Case)[] = [
  // forward: x of the wrong rank
  (rng) => {
    const m = layerOf(rng);
    const shape = pick(rng, [[T * D], [T, D], [N * T, D], [N, T, D, 1], [1, N, T, D]]);
    const bad = rand(rng, shape, `x[${shape}]`);
    return {
      label: `${m.name}.forward(x of shape [${shape}])`,
      call: () => m.layer.forward(bad),
      pattern: X,
      expect: 'argError',
    };
  },
  // forward: feature size mismatch vs the built layer
  (rng) => {
    const m = layerOf(rng);
    const d = pick(rng, [1, 2, D + 1, D + 4]);
    const bad = rand(rng, [N, T, d], `x[${N},${T},${d}]`);
    return {
      label: `${m.name}.forward(x [${N},${T},${d}], layer built with D=${D})`,
      call: () => m.layer.forward(bad),
      pattern: /\bx\b|input|feature/i,
      expect: 'argError',
    };
  },
  // forward: x not a tensor
  (rng) => {
    const m = layerOf(rng);
    const bads: [string, unknown][] = [
      ['Float32Array', new Float32Array(N * T * D)],
      ['nested number[][][]', [[[1, 2, 3]]]],
      ['null', null],
      ['undefined', undefined],
      ['{}', {}],
      ["'x'", 'x'],
      ['fake tensor', { shape: [N, T, D], dtype: 'float32' }],
    ];
    const [desc, bad] = pick(rng, bads);
    return {
      label: `${m.name}.forward(x = ${desc})`,
      call: () => m.layer.forward(bad as Tensor),
      pattern: X,
      expect: 'argError',
    };
  },
  // setWeights: wrong number of weights
  (rng) => {
    const m = layerOf(rng);
    const fewer = rng.random() < 0.5;
    const ws = fewer ? m.weights.slice(0, m.weights.length - 1) : [...m.weights, m.weights[0].slice()];
    return {
      label: `${m.name}.setWeights(${ws.length} arrays; expects ${m.weights.length})`,
      call: () => m.layer.setWeights(ws),
      pattern: /weights/i,
      expect: 'argError',
    };
  },
  // setWeights: one weight of the wrong size / shape
  (rng) => {
    const m = layerOf(rng);
    const i = rng.int(0, m.weights.length - 1);
    const shape = m.weightShapes[i];
    const size = shape.reduce((a, b) => a * b, 1);
    const ws: (Tensor | Float32Array)[] = m.weights.map((w) => w.slice());
    const kind = rng.int(0, 3);
    let desc: string;
    if (kind === 0) {
      ws[i] = rng.uniform(size + 1, -0.5, 0.5);
      desc = `Float32Array(${size + 1})`;
    } else if (kind === 1) {
      ws[i] = rng.uniform(size - 1, -0.5, 0.5);
      desc = `Float32Array(${size - 1})`;
    } else if (kind === 2 && shape.length === 2 && shape[0] !== shape[1]) {
      ws[i] = rand(rng, [shape[1], shape[0]], `w transposed`);
      desc = `tensor [${shape[1]},${shape[0]}] (transposed)`;
    } else {
      const wrong = shape.length === 1 ? [1, shape[0]] : [size];
      ws[i] = rand(rng, wrong, `w reshaped`);
      desc = `tensor [${wrong}] (same size, wrong rank)`;
    }
    return {
      label: `${m.name}.setWeights: weight ${i} (expects [${shape}]) given ${desc}`,
      call: () => m.layer.setWeights(ws),
      pattern: /weight|kernel|bias/i,
      expect: 'argError',
    };
  },
  // setWeights: not an array / bad elements
  (rng) => {
    const m = layerOf(rng);
    const bads: [string, unknown][] = [
      ['null', null],
      ["'w'", 'w'],
      ['a Float32Array', m.weights[0]],
      ['[null, ...]', [null, ...m.weights.slice(1)]],
      ['[42, ...]', [42, ...m.weights.slice(1)]],
      ['[number[], ...]', [Array.from(m.weights[0]), ...m.weights.slice(1)]],
    ];
    const [desc, bad] = pick(rng, bads);
    return {
      label: `${m.name}.setWeights(${desc})`,
      call: () => m.layer.setWeights(bad as Float32Array[]),
      pattern: /weight|kernel/i,
      expect: 'argError',
    };
  },
  // forward: bad lengths
  (rng) => {
    const m = layerOf(rng);
    const bads: [string, unknown][] = [
      ['[1.5, 2]', [1.5, 2]],
      ['[-1, 2]', [-1, 2]],
      [`[${T + 1}, 1]`, [T + 1, 1]],
      [`[2, ${T + 7}]`, [2, T + 7]],
      ['[2] (too few)', [2]],
      ['[1, 2, 3] (too many)', [1, 2, 3]],
      ['Int32Array(3)', new Int32Array([1, 2, 3])],
      ['[NaN, 1]', [NaN, 1]],
      ['[1, Infinity]', [1, Infinity]],
      ["'ab'", 'ab'],
      ["[1, '2']", [1, '2']],
      ['{}', {}],
      ['42', 42],
    ];
    const [desc, bad] = pick(rng, bads);
    return {
      label: `${m.name}.forward(x, { lengths: ${desc} })`,
      call: () => m.layer.forward(x, { lengths: bad as number[] }),
      pattern: /lengths/,
      expect: 'argError',
    };
  },
  // constructors: unknown option names
  (rng) => {
    const bads: [string, () => unknown, RegExp][] = [
      ['lstm({ units: 3, unitz: 3 })', () => rk.layers.lstm({ units: 3, unitz: 3 } as never), /unitz/],
      ['lstm({ units: 3, resetAfter: true })', () => rk.layers.lstm({ units: 3, resetAfter: true } as never), /resetAfter/],
      ['gru({ units: 3, unitForgetBias: true })', () => rk.layers.gru({ units: 3, unitForgetBias: true } as never), /unitForgetBias/],
      [
        'simpleRNN({ units: 3, recurrentActivation: "sigmoid" })',
        () => rk.layers.simpleRNN({ units: 3, recurrentActivation: 'sigmoid' } as never),
        /recurrentActivation/,
      ],
      ['gru({ units: 3, return_sequences: true })', () => rk.layers.gru({ units: 3, return_sequences: true } as never), /return_sequences/],
      ['simpleRNN({ units: 3, activaton: "relu" })', () => rk.layers.simpleRNN({ units: 3, activaton: 'relu' } as never), /activaton/],
      [
        'bidirectional({ layer, merge_mode: "sum" })',
        () => rk.layers.bidirectional({ layer: rk.layers.gru({ units: 2 }), merge_mode: 'sum' } as never),
        /merge_mode/,
      ],
    ];
    const [desc, call, pattern] = pick(rng, bads);
    return { label: `rk.layers.${desc}`, call, pattern, expect: 'argError' };
  },
  // forward / backward: unknown option names
  (rng) => {
    const m = layerOf(rng);
    const bads: [string, () => unknown, RegExp][] = [
      ['forward(x, { lenghts: [1, 2] })', () => m.layer.forward(x, { lenghts: [1, 2] } as never), /lenghts/],
      ['forward(x, { trainig: true })', () => m.layer.forward(x, { trainig: true } as never), /trainig/],
      ['forward(x, { initialStates: [] })', () => m.layer.forward(x, { initialStates: [] } as never), /initialStates/],
      [
        'backward(fwd, { dOutput, dOuput })',
        () => {
          const dOut = rand(rng, outShape(m), 'dOutput');
          return m.layer.backward(m.trainFwd, { dOutput: dOut, dOuput: dOut } as never);
        },
        /dOuput/,
      ],
    ];
    const [desc, call, pattern] = pick(rng, bads);
    return { label: `${m.name}.${desc}`, call, pattern, expect: 'argError' };
  },
  // constructors: wrong option types / values
  (rng) => {
    const cell = pick(rng, ['lstm', 'gru', 'simpleRNN'] as const);
    const make = (o: Record<string, unknown>) =>
      cell === 'lstm' ? rk.layers.lstm(o as never) : cell === 'gru' ? rk.layers.gru(o as never) : rk.layers.simpleRNN(o as never);
    const opts: [string, unknown][] = [
      ['units', '4'],
      ['units', null],
      ['units', [4]],
      ['units', true],
      ['returnSequences', 'yes'],
      ['returnSequences', 1],
      ['returnState', 'no'],
      ['goBackwards', 0],
      ['stateful', 'true'],
      ['useBias', 'false'],
      ['activation', 'tanhh'],
      ['activation', 5],
      ['activation', null],
      ['kernelInitializer', 'nope'],
      ['recurrentInitializer', 42],
      ['biasInitializer', { className: 'notAnInitializer' }],
      ['inputShape', [5]],
      ['inputShape', 'x'],
      ['inputShape', [null, -1]],
      ['inputShape', [null, 2.5]],
      ['seed', 'abc'],
      ['maskedOutput', 'carry2'],
      ['dropout', 'x'],
      ['dropout', -0.1],
      ['dropout', 1.5],
    ];
    if (cell !== 'simpleRNN') opts.push(['recurrentActivation', 'sigmoidd'], ['recurrentActivation', 3]);
    if (cell === 'gru') opts.push(['resetAfter', 'yes']);
    if (cell === 'lstm') opts.push(['unitForgetBias', 1]);
    const [key, value] = pick(rng, opts);
    const o: Record<string, unknown> = { units: 3 };
    o[key] = value;
    return {
      label: `rk.layers.${cell}({ ${key}: ${JSON.stringify(value)} })`,
      call: () => make(o),
      pattern: new RegExp(key),
      expect: 'argError',
    };
  },
  // forward: wrong option types
  (rng) => {
    const m = layerOf(rng);
    const bads: [string, unknown, RegExp][] = [
      ['{ training: "yes" }', { training: 'yes' }, /training/],
      ['{ training: 1 }', { training: 1 }, /training/],
      ['{ initialState: "h" }', { initialState: 'h' }, /initialState/],
      ['"options"', 'options', /options/],
    ];
    const [desc, opts, pattern] = pick(rng, bads);
    return {
      label: `${m.name}.forward(x, ${desc})`,
      call: () => m.layer.forward(x, opts as never),
      pattern,
      expect: 'argError',
    };
  },
  // units < 1 or not an integer
  (rng) => {
    const cell = pick(rng, ['lstm', 'gru', 'simpleRNN'] as const);
    const units = pick(rng, [0, -1, -100, 2.5, 0.5, NaN, Infinity, -Infinity]);
    const make = () =>
      cell === 'lstm'
        ? rk.layers.lstm({ units })
        : cell === 'gru'
          ? rk.layers.gru({ units })
          : rk.layers.simpleRNN({ units });
    return { label: `rk.layers.${cell}({ units: ${units} })`, call: make, pattern: /units/, expect: 'argError' };
  },
  // dense: bad units / options (the contract's rk.layers.dense; skipped while it does not exist)
  (rng) => {
    if (typeof (rk.layers as Record<string, unknown>).dense !== 'function') return skip();
    const bads: [string, unknown, RegExp][] = [
      ['{ units: 0 }', { units: 0 }, /units/],
      ['{ units: "2" }', { units: '2' }, /units/],
      ['{ units: 2, activation: "nope" }', { units: 2, activation: 'nope' }, /activation/],
      ['{ units: 2, returnSequences: true }', { units: 2, returnSequences: true }, /returnSequences/],
    ];
    const [desc, o, pattern] = pick(rng, bads);
    const dense = (rk.layers as unknown as { dense: (o: unknown) => unknown }).dense;
    return { label: `rk.layers.dense(${desc})`, call: () => dense(o), pattern, expect: 'argError' };
  },
  // disposed tensors
  (rng) => {
    const m = layerOf(rng);
    const kind = rng.int(0, 5);
    if (kind === 0) {
      const bad = disposedTensor(rng, [N, T, D]);
      return { label: `${m.name}.forward(disposed x)`, call: () => m.layer.forward(bad), pattern: /disposed/, expect: 'disposed' };
    }
    if (kind === 1) {
      const states = Array.from({ length: m.nStates }, (_, k) =>
        k === 0 ? disposedTensor(rng, [N, m.stateH]) : rand(rng, [N, m.stateH], 'state'),
      );
      return {
        label: `${m.name}.forward(x, { initialState: [disposed, ...] })`,
        call: () => m.layer.forward(x, { initialState: states }),
        pattern: /disposed/,
        expect: 'disposed',
      };
    }
    if (kind === 2) {
      const ws: (Tensor | Float32Array)[] = m.weights.map((w) => w.slice());
      const i = rng.int(0, ws.length - 1);
      ws[i] = disposedTensor(rng, m.weightShapes[i]);
      return {
        label: `${m.name}.setWeights([... disposed tensor at ${i} ...])`,
        call: () => m.layer.setWeights(ws),
        pattern: /disposed/,
        expect: 'disposed',
      };
    }
    if (kind === 3) {
      const dOut = disposedTensor(rng, outShape(m));
      return {
        label: `${m.name}.backward(fwd, { dOutput: disposed })`,
        call: () => m.layer.backward(m.trainFwd, { dOutput: dOut }),
        pattern: /disposed/,
        expect: 'disposed',
      };
    }
    if (kind === 4) {
      const bad = disposedTensor(rng, [N, T, 2]);
      return { label: `rk.unpadSequences(disposed, lengths)`, call: () => rk.unpadSequences(bad, [1, 2]), pattern: /disposed/, expect: 'disposed' };
    }
    const bad = disposedTensor(rng, [N, T, D]);
    return {
      label: `${m.name}.forward(disposed x, { training: true })`,
      call: () => m.layer.forward(bad, { training: true }),
      pattern: /disposed/,
      expect: 'disposed',
    };
  },
  // backward on a forward that was not a training forward
  (rng) => {
    const m = layerOf(rng);
    const dOut = rand(rng, outShape(m), 'dOutput');
    return {
      label: `${m.name}.backward(fwd from forward() without training: true, { dOutput })`,
      call: async () => {
        const fwd = await m.layer.forward(x);
        try {
          return await m.layer.backward(fwd, { dOutput: dOut });
        } finally {
          fwd.dispose();
        }
      },
      pattern: /training/,
      expect: 'argError',
    };
  },
  // backward on a disposed forward result
  (rng) => {
    const m = layerOf(rng);
    const dOut = rand(rng, outShape(m), 'dOutput');
    return {
      label: `${m.name}.backward(disposed fwd, { dOutput })`,
      call: async () => {
        const fwd = await m.layer.forward(x, { training: true });
        fwd.dispose();
        return m.layer.backward(fwd, { dOutput: dOut });
      },
      pattern: /disposed/,
      expect: 'disposed',
    };
  },
  // backward: dOutput of the wrong shape / missing; dStates wrong
  (rng) => {
    const m = layerOf(rng);
    const good = outShape(m);
    const wrongShapes: number[][] = m.returnSequences
      ? [[N, T, m.H + 1], [N, m.H], [N + 1, T, m.H], [N, T + 1, m.H], [N * T * m.H]]
      : [[N, m.H + 1], [N, T, m.H], [N + 1, m.H], [N * m.H]];
    const kind = rng.int(0, 4);
    if (kind <= 1) {
      const s = pick(rng, wrongShapes);
      const dOut = rand(rng, s, `dOutput[${s}]`);
      return {
        label: `${m.name}.backward(fwd, { dOutput: [${s}] }) (expects [${good}])`,
        call: () => m.layer.backward(m.trainFwd, { dOutput: dOut }),
        pattern: /dOutput/,
        expect: 'argError',
      };
    }
    if (kind === 2) {
      const bads: [string, unknown][] = [
        ['{}', {}],
        ['{ dOutput: Float32Array }', { dOutput: new Float32Array(good.reduce((a, b) => a * b, 1)) }],
        ['{ dOutput: null }', { dOutput: null }],
      ];
      const [desc, opts] = pick(rng, bads);
      return {
        label: `${m.name}.backward(fwd, ${desc})`,
        call: () => m.layer.backward(m.trainFwd, opts as never),
        pattern: /dOutput/,
        expect: 'argError',
      };
    }
    if (kind === 3) {
      const dOut = rand(rng, good, 'dOutput');
      const count = pick(rng, [m.nStates - 1, m.nStates + 1].filter((c) => c >= 1));
      const dStates = Array.from({ length: count }, () => rand(rng, [N, m.stateH], 'dState'));
      return {
        label: `${m.name}.backward(fwd, { dOutput, dStates: ${count} tensors }) (expects ${m.nStates})`,
        call: () => m.layer.backward(m.trainFwd, { dOutput: dOut, dStates }),
        pattern: /dStates/,
        expect: 'argError',
      };
    }
    const dOut = rand(rng, good, 'dOutput');
    const s = pick(rng, [[N, m.stateH + 1], [N + 1, m.stateH], [m.stateH]]);
    const dStates = Array.from({ length: m.nStates }, (_, k) => rand(rng, k === 0 ? s : [N, m.stateH], 'dState'));
    return {
      label: `${m.name}.backward(fwd, { dOutput, dStates[0]: [${s}] }) (expects [${N},${m.stateH}])`,
      call: () => m.layer.backward(m.trainFwd, { dOutput: dOut, dStates }),
      pattern: /dStates/,
      expect: 'argError',
    };
  },
  // backward: fwd not a forward result
  (rng) => {
    const m = layerOf(rng);
    const dOut = rand(rng, outShape(m), 'dOutput');
    const bads: [string, unknown][] = [
      ['null', null],
      ['{}', {}],
      ['a tensor', x],
    ];
    const [desc, bad] = pick(rng, bads);
    return {
      label: `${m.name}.backward(${desc}, { dOutput })`,
      call: () => m.layer.backward(bad as Fwd, { dOutput: dOut }),
      pattern: /fwd|forward/i,
      expect: 'argError',
    };
  },
  // forward: wrong initialState count / shape
  (rng) => {
    const m = layerOf(rng);
    const kind = rng.int(0, 3);
    if (kind === 0) {
      const count = pick(rng, [m.nStates - 1, m.nStates + 1].filter((c) => c >= 1));
      const states = Array.from({ length: count }, () => rand(rng, [N, m.stateH], 'h0'));
      return {
        label: `${m.name}.forward(x, { initialState: ${count} tensors }) (expects ${m.nStates})`,
        call: () => m.layer.forward(x, { initialState: states }),
        pattern: /initialState/,
        expect: 'argError',
      };
    }
    if (kind === 1) {
      const s = pick(rng, [[N, m.stateH + 1], [N + 1, m.stateH], [m.stateH], [N, 1, m.stateH], [1, m.stateH]]);
      const k0 = rng.int(0, m.nStates - 1);
      const states = Array.from({ length: m.nStates }, (_, k) => rand(rng, k === k0 ? s : [N, m.stateH], 'h0'));
      return {
        label: `${m.name}.forward(x, { initialState[${k0}]: [${s}] }) (expects [${N},${m.stateH}])`,
        call: () => m.layer.forward(x, { initialState: states }),
        pattern: /initialState/,
        expect: 'argError',
      };
    }
    if (kind === 2) {
      const one = rand(rng, [N, m.stateH], 'h0');
      return {
        label: `${m.name}.forward(x, { initialState: a tensor, not a list })`,
        call: () => m.layer.forward(x, { initialState: one as unknown as Tensor[] }),
        pattern: /initialState/,
        expect: 'argError',
      };
    }
    const states: unknown[] = Array.from({ length: m.nStates }, () => rand(rng, [N, m.stateH], 'h0'));
    states[rng.int(0, m.nStates - 1)] = pick(rng, [null, new Float32Array(N * m.stateH), 7]);
    return {
      label: `${m.name}.forward(x, { initialState: [..., non-tensor, ...] })`,
      call: () => m.layer.forward(x, { initialState: states as Tensor[] }),
      pattern: /initialState/,
      expect: 'argError',
    };
  },
  // clip: bad arguments
  (rng) => {
    const g = [rand(rng, [3, 2], 'grad'), rand(rng, [4], 'grad')];
    const fn = pick(rng, ['byValue', 'byNorm', 'byGlobalNorm'] as const);
    const call = (grads: unknown, c: unknown) => rk.clip[fn](grads as Tensor[], c as number);
    const cName = fn === 'byValue' ? /clip ?value/i : /clip ?norm/i;
    const bads: [string, () => unknown, RegExp][] = [
      ['(grads, -1)', () => call(g, -1), cName],
      ['(grads, NaN)', () => call(g, NaN), cName],
      ["(grads, '1')", () => call(g, '1'), cName],
      ['(grads, undefined)', () => call(g, undefined), cName],
      ['(null, 1)', () => call(null, 1), /grads/],
      ['(tensor, 1)', () => call(g[0], 1), /grads/],
      ['([tensor, Float32Array], 1)', () => call([g[0], new Float32Array(3)], 1), /grads/],
      ['([tensor, 3], 1)', () => call([g[0], 3], 1), /grads/],
    ];
    const [desc, c, pattern] = pick(rng, bads);
    return { label: `rk.clip.${fn}${desc}`, call: c, pattern, expect: 'argError' };
  },
  // padSequences: bad input
  (rng) => {
    const good = [
      [rng.uniform(D), rng.uniform(D)],
      [rng.uniform(D)],
    ];
    const bads: [string, () => unknown, RegExp][] = [
      ["padSequences('x')", () => rk.padSequences('x' as never), /seq/i],
      ['padSequences(null)', () => rk.padSequences(null as never), /seq/i],
      ['padSequences([5])', () => rk.padSequences([5] as never), /seq/i],
      ['padSequences([[5]]) (step not a vector)', () => rk.padSequences([[5]] as never), /seq/i],
      ["padSequences([[['a','b','c']]])", () => rk.padSequences([[['a', 'b', 'c']]] as never), /seq/i],
      ['padSequences(steps with D=3 and D=2)', () => rk.padSequences([good[0], [new Float32Array(2)]]), /seq/i],
      ['padSequences(seqs, { maxlen: -2 })', () => rk.padSequences(good, { maxlen: -2 }), /maxlen/],
      ['padSequences(seqs, { maxlen: 1.5 })', () => rk.padSequences(good, { maxlen: 1.5 }), /maxlen/],
      ["padSequences(seqs, { truncating: 'mid' })", () => rk.padSequences(good, { truncating: 'mid' } as never), /truncating/],
      ["padSequences(seqs, { value: 'v' })", () => rk.padSequences(good, { value: 'v' } as never), /value/],
      ["padSequences(seqs, { padding: 'pre' })", () => rk.padSequences(good, { padding: 'pre' } as never), /padding/],
    ];
    const [desc, call, pattern] = pick(rng, bads);
    return { label: `rk.${desc}`, call, pattern, expect: 'argError' };
  },
  // unpadSequences: bad input
  (rng) => {
    const out = rand(rng, [N, T, 2], 'output');
    const bads: [string, () => unknown, RegExp][] = [
      ['unpadSequences(out, [1])', () => rk.unpadSequences(out, [1]), /lengths/],
      [`unpadSequences(out, [1, ${T + 1}])`, () => rk.unpadSequences(out, [1, T + 1]), /lengths/],
      ['unpadSequences(out, [-1, 1])', () => rk.unpadSequences(out, [-1, 1]), /lengths/],
      ['unpadSequences(Float32Array, [1, 1])', () => rk.unpadSequences(new Float32Array(N * T * 2) as never, [1, 1]), /output/],
      ['unpadSequences(tensor [N, T], [1, 1])', () => rk.unpadSequences(rand(rng, [N, T], 'o2'), [1, 1]), /output/],
    ];
    const [desc, call, pattern] = pick(rng, bads);
    return { label: `rk.${desc}`, call, pattern, expect: 'argError' };
  },
  // build: bad shapes
  (rng) => {
    const m = layerOf(rng);
    const bads: [string, unknown][] = [
      ['[null, null, 0]', [null, null, 0]],
      ['[null, null, -3]', [null, null, -3]],
      ['[3]', [3]],
      ['[null, 3]', [null, 3]],
      ["'x'", 'x'],
      ['[null, null, 2.5]', [null, null, 2.5]],
    ];
    const [desc, shape] = pick(rng, bads);
    return {
      label: `fresh ${m.name}.build(${desc})`,
      call: () => m.make().build(shape as number[]),
      pattern: /shape/i,
      expect: 'argError',
    };
  },
  // bidirectional: bad arguments
  (rng) => {
    const bads: [string, () => unknown, RegExp][] = [
      ["bidirectional({ layer, mergeMode: 'avg' })", () => rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 2 }), mergeMode: 'avg' } as never), /mergeMode/],
      ["bidirectional({ layer: 'lstm' })", () => rk.layers.bidirectional({ layer: 'lstm' } as never), /layer/],
      ['bidirectional({})', () => rk.layers.bidirectional({} as never), /layer/],
    ];
    if (typeof (rk.layers as Record<string, unknown>).dense === 'function') {
      const dense = (rk.layers as unknown as { dense: (o: { units: number }) => unknown }).dense({ units: 2 });
      bads.push(['bidirectional({ layer: dense })', () => rk.layers.bidirectional({ layer: dense } as never), /layer/]);
    }
    const [desc, call, pattern] = pick(rng, bads);
    return { label: `rk.layers.${desc}`, call, pattern, expect: 'argError' };
  },
  // rk.tensor: bad values / shapes
  (rng) => {
    const bads: [string, () => unknown, RegExp][] = [
      ['tensor(Float32Array(6), [4, 2])', () => rk.tensor(rng.uniform(6), [4, 2]), /shape/i],
      ['tensor(Float32Array(6), [-2, -3])', () => rk.tensor(rng.uniform(6), [-2, -3]), /shape/i],
      ['tensor([[1, 2], [3]])', () => rk.tensor([[1, 2], [3]]), /shape|values|ragged/i],
      ["tensor(['a'])", () => rk.tensor(['a'] as never), /values/i],
      ['tensor(null)', () => rk.tensor(null as never), /values/i],
    ];
    const [desc, call, pattern] = pick(rng, bads);
    return { label: `rk.${desc}`, call, pattern, expect: 'argError' };
  },
];

// ------------------------------------------------------------------ runner

interface Outcome {
  threw: boolean;
  error?: unknown;
  value?: unknown;
}

async function run(call: () => unknown): Promise<Outcome> {
  try {
    const r = call();
    if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
      return { threw: false, value: await (r as Promise<unknown>) };
    }
    return { threw: false, value: r };
  } catch (e) {
    return { threw: true, error: e };
  }
}

function judge(c: Case, o: Outcome): string | null {
  if (!o.threw) {
    release(o.value);
    return `did not throw`;
  }
  const e = o.error;
  if (!(e instanceof Error)) return `threw a non-Error: ${String(e)}`;
  const code = (e as { code?: unknown }).code;
  const msg = `${e.constructor.name} [${String(code)}]: ${e.message}`;
  if (c.expect === 'disposed') {
    if (!/disposed/.test(e.message)) return `threw ${msg} (no mention of 'disposed')`;
    if (code !== 'RNNKIT_DISPOSED') return `threw ${msg} (expected code RNNKIT_DISPOSED)`;
    return null;
  }
  if (!(e instanceof TypeError || e instanceof RangeError)) return `threw ${msg} (expected TypeError or RangeError)`;
  if (code !== 'RNNKIT_INVALID_ARGUMENT') return `threw ${msg} (expected code RNNKIT_INVALID_ARGUMENT)`;
  if (!c.pattern.test(e.message)) return `threw ${msg} (message does not match ${c.pattern})`;
  if (e.message.length > 600) return `threw a ${e.message.length}-character message (values must be quoted short)`;
  return null;
}

function sameWithin(a: ArrayLike<number>, b: ArrayLike<number>, rel: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= rel * Math.max(1, Math.abs(b[i])))) return false;
  }
  return true;
}

describe('bad input: seeded fuzz of malformed calls', () => {
  it(`${ITERATIONS} malformed calls each throw a clear TypeError/RangeError (or a 'disposed' Error) and lose nothing`, async () => {
    const rng = new Rng(0xbad1);
    const failures = new Map<string, { count: number; example: string }>();
    let ran = 0;
    const log: string[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const gen = generators[rng.int(0, generators.length - 1)];
      let c: Case;
      try {
        c = gen(rng);
      } catch (e) {
        // Building the malformed call itself failed (e.g. a fixture call threw): report it.
        const key = `case construction #${generators.indexOf(gen)}`;
        const prev = failures.get(key);
        failures.set(key, { count: (prev?.count ?? 0) + 1, example: String(e) });
        continue;
      }
      if (c.expect === 'skip') continue;
      const o = await run(c.call);
      ran++;
      if (process.env.RNNKIT_FUZZ_LOG) {
        const e = o.error as Error | undefined;
        log.push(`${c.label}  →  ${o.threw ? `${e?.constructor?.name}: ${e?.message}` : 'no throw'}`);
      }
      const problem = judge(c, o);
      if (problem !== null) {
        const prev = failures.get(c.label);
        failures.set(c.label, { count: (prev?.count ?? 0) + 1, example: problem });
      }
    }
    expect(ran).toBeGreaterThan(ITERATIONS * 0.85);
    if (process.env.RNNKIT_FUZZ_LOG) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(process.env.RNNKIT_FUZZ_LOG, [...new Set(log)].sort().join('\n') + '\n');
    }

    // Report all problems at once: one line per distinct malformed call.
    const report = [...failures.entries()].map(([label, f]) => `${label}  →  ${f.example}  (×${f.count})`).sort();
    expect(report, `malformed calls without a proper error:\n${report.join('\n')}`).toEqual([]);
  });

  it('afterwards: tensors passed in are unchanged', () => {
    const changed: string[] = [];
    for (const g of guarded) {
      if (g.t.isDisposed) {
        changed.push(`${g.label}: disposed by a failed call`);
        continue;
      }
      if (JSON.stringify(g.t.shape) !== JSON.stringify(g.shape)) changed.push(`${g.label}: shape changed`);
      const now = Array.from(g.t.dataSync());
      if (!now.every((v, i) => Object.is(v, g.snap[i]))) changed.push(`${g.label}: values changed`);
    }
    expect(guarded.length).toBeGreaterThan(100);
    expect(changed).toEqual([]);
  });

  it('afterwards: weights are intact and valid forwards give the same results as before', async () => {
    for (const m of metas) {
      const ws = m.layer.getWeights();
      expect(ws.length, m.name).toBe(m.weights.length);
      ws.forEach((w, i) => {
        expect(w.shape, `${m.name} weight ${i}`).toEqual(m.weightShapes[i]);
        expect(Array.from(w.dataSync()), `${m.name} weight ${i}`).toEqual(Array.from(m.weights[i]));
        w.dispose();
      });
      const fwd = await m.layer.forward(x);
      expect(fwd.output.shape).toEqual(outShape(m));
      // Same input, same weights, same device: the same numbers (float32 round-off only).
      expect(sameWithin(fwd.output.dataSync(), m.refOutput, 1e-6), `${m.name} output`).toBe(true);
      fwd.states.forEach((s, k) => expect(sameWithin(s.dataSync(), m.refStates[k], 1e-6), `${m.name} state ${k}`).toBe(true));
      fwd.dispose();
    }
  });

  it('afterwards: the training forward kept across the failed backward calls still backpropagates', async () => {
    const rng = new Rng(77);
    for (const m of metas) {
      const dOut = rk.tensor(rng.uniform(outShape(m).reduce((a, b) => a * b, 1)), outShape(m));
      const g = await m.layer.backward(m.trainFwd, { dOutput: dOut });
      expect(g.dInput.shape).toEqual([N, T, D]);
      expect(g.dWeights.length).toBe(m.weights.length);
      g.dWeights.forEach((w, i) => expect(w.shape).toEqual(m.weightShapes[i]));
      const di = g.dInput.dataSync();
      expect(di.every((v) => Number.isFinite(v))).toBe(true);
      expect(di.some((v) => v !== 0)).toBe(true);
      release(g);
      dOut.dispose();
    }
  });

  it('afterwards: other entry points still work', () => {
    const a = rk.tensor([[3, -4]]);
    const [c] = rk.clip.byNorm([a], 1);
    expect(Array.from(c.dataSync())).toEqual(Array.from(new Float32Array([0.6, -0.8])));
    const p = rk.padSequences([[[1, 2]], [[3, 4], [5, 6]]]);
    expect(Array.from(p.lengths)).toEqual([1, 2]);
    expect(Array.from(p.x.dataSync())).toEqual([1, 2, 0, 0, 3, 4, 5, 6]);
    for (const t of [a, c, p.x]) t.dispose();
  });
});

describe('forward({ mask }): malformed masks are coded errors naming mask', () => {
  it('wrong kind, wrong shape or size, values other than 0/1; a disposed mask tensor', async () => {
    const Nm = 2, Tm = 3, Dm = 2;
    const layer = rk.layers.gru({ units: 2, seed: 5 });
    const x = rk.tensor(new Rng(6).normal(Nm * Tm * Dm), [Nm, Tm, Dm]);
    const disposed = rk.tensor(new Float32Array(Nm * Tm).fill(1), [Nm, Tm]);
    disposed.dispose();
    const cases: [unknown, string, RegExp][] = [
      [[1, 1, 1, 1, 1, 1], 'RNNKIT_INVALID_ARGUMENT', /mask must be a Tensor/],
      [new Uint8Array(5), 'RNNKIT_INVALID_ARGUMENT', /mask must have N·T = 6 entries/],
      [Uint8Array.from([1, 0, 2, 1, 1, 1]), 'RNNKIT_INVALID_ARGUMENT', /mask must hold 0 or 1, got 2 at flat index 2/],
      [rk.tensor(new Float32Array(6).fill(1), [3, 2]), 'RNNKIT_INVALID_ARGUMENT', /mask must have shape \[2,3\], got \[3,2\]/],
      [rk.tensor(Float32Array.from([1, 0.5, 1, 1, 1, 1]), [2, 3]), 'RNNKIT_INVALID_ARGUMENT', /mask must hold 0 or 1, got 0.5/],
      [rk.tensor(Float32Array.from([1, NaN, 1, 1, 1, 1]), [2, 3]), 'RNNKIT_INVALID_ARGUMENT', /mask must hold 0 or 1, got NaN/],
      [disposed, 'RNNKIT_DISPOSED', /mask: the tensor has been disposed/],
    ];
    for (const [mask, code, pattern] of cases) {
      const o = await run(() => layer.forward(x, { mask: mask as Uint8Array }));
      expect(o.threw, String(pattern)).toBe(true);
      const e = o.error as Error & { code?: string };
      expect(e.code, e.message).toBe(code);
      expect(e.message).toMatch(pattern);
      expect(e.message).toMatch(/forward: mask/);
    }
    // the layer and x are unharmed
    const ok = await layer.forward(x, { mask: Uint8Array.from([1, 1, 0, 0, 1, 1]) });
    expect(ok.output.dataSync().every(Number.isFinite)).toBe(true);
    for (const t of [x, ok.output, ...ok.states]) t.dispose();
    layer.dispose();
  });
});
