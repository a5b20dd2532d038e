/**
 * Running a layer of the Layer contract in tests (one pass forward and back), central
 * finite differences of float64 references, and a config round trip through the registry.
 */
import { expect } from 'vitest';
import * as rk from '../../lib';
import type { Layer } from '../../lib/layers/layer';
import { layerFromConfig } from '../../lib/layers/registry';
import type { StepMask } from '../../lib/mask';

/** What one training pass of a layer gave: outputs, masks and input gradients, read back. */
export interface PassResult {
  outputs: { shape: number[]; values: Float32Array }[];
  masks: (StepMask | null)[];
  dInputs: { shape: number[]; values: Float32Array }[] | null;
}

/** Runs `layer` on `inputs` (training), then backward with `dOutput` when given; disposes everything. */
export async function runLayer(
  layer: Layer,
  inputs: rk.Tensor[],
  opts: { masks?: (StepMask | null)[]; dOutput?: Float32Array; training?: boolean } = {},
): Promise<PassResult> {
  const pass = await layer.run(inputs, { training: opts.training ?? true, masks: opts.masks ?? inputs.map(() => null) });
  const out = pass.outputs[0]!;
  const result: PassResult = {
    outputs: pass.outputs.map((t) => ({ shape: [...t.shape], values: t.dataSync() })),
    masks: [...pass.masks],
    dInputs: null,
  };
  if (opts.dOutput) {
    const dy = rk.tensor(opts.dOutput, out.shape);
    const g = await pass.backward([dy]);
    expect(g.dWeights).toEqual([]);
    result.dInputs = g.dInputs.map((t) => ({ shape: [...t!.shape], values: t!.dataSync() }));
    for (const t of g.dInputs) t?.dispose();
    dy.dispose();
  }
  pass.dispose();
  for (const t of pass.outputs) t.dispose();
  return result;
}

/**
 * ∂/∂x_i of Σ G ⊙ f(x_0, x_1, ...) by central differences of a float64 function, for each
 * input in turn.
 */
export function finiteDifferences(f: (xs: Float64Array[]) => Float64Array, xs: ArrayLike<number>[], G: ArrayLike<number>, eps = 1e-3): Float64Array[] {
  const base = xs.map((x) => Float64Array.from(x));
  const loss = (ys: Float64Array[]): number => {
    const y = f(ys);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * G[i]!;
    return s;
  };
  return base.map((x) => {
    const g = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      x[i] = v + eps;
      const up = loss(base);
      x[i] = v - eps;
      const down = loss(base);
      x[i] = v;
      g[i] = (up - down) / (2 * eps);
    }
    return g;
  });
}

/** The layer rebuilt from its own config through the registry (what a model file reader does). */
export function roundTrip(layer: Layer): Layer {
  const config = layer.getConfig();
  const copy = layerFromConfig(layer.className, JSON.parse(JSON.stringify(config)), {
    where: 'test',
    deserialize: () => {
      throw new Error('no nested layers here');
    },
  });
  expect(copy.className).toBe(layer.className);
  expect(copy.getConfig()).toEqual(config);
  return copy;
}

/** Expects `promise` (or `fn`) to fail with this error class and code. */
export async function expectCode(run: () => unknown, kind: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, code: string, message?: RegExp): Promise<void> {
  let error: unknown = null;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected an error').toBeInstanceOf(kind);
  expect((error as { code?: string }).code).toBe(code);
  if (message) expect((error as Error).message).toMatch(message);
}
