/**
 * rk.setMemoryLimit / RNNKIT_MEMORY_LIMIT: a call that would pass the limit fails with
 * RNNKIT_OUT_OF_MEMORY through the normal error path, leaves its inputs and rk.memory() as
 * they were, and succeeds once the limit is raised.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

const entry = path.join(__dirname, '..', 'dist', 'index.js');

function live(): { bytes: number; allocations: number } {
  const { bytes, allocations } = rk.memory();
  return { bytes, allocations };
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected the call to reject');
}

describe('memory limit', () => {
  afterEach(() => rk.setMemoryLimit(null));

  it('validates its argument', () => {
    expect(rk.getMemoryLimit()).toBeNull();
    for (const bad of ['1', true, {}, undefined]) {
      expect(() => rk.setMemoryLimit(bad as unknown as number)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'RNNKIT_INVALID_ARGUMENT' }));
    }
    for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) {
      expect(() => rk.setMemoryLimit(bad)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'RNNKIT_INVALID_ARGUMENT' }));
      expect(() => rk.setMemoryLimit(bad)).toThrow(/setMemoryLimit: bytes must be a positive integer/);
    }
    expect(rk.getMemoryLimit()).toBeNull();
    rk.setMemoryLimit(123_456_789);
    expect(rk.getMemoryLimit()).toBe(123_456_789);
    rk.setMemoryLimit(null);
    expect(rk.getMemoryLimit()).toBeNull();
  });

  it('rejects a forward that needs more than the limit, leaves its input and memory as they were, and runs once raised', async () => {
    const rng = new Rng(21);
    const [N, T, D, H] = [8, 40, 12, 48];
    const layer = rk.layers.lstm({ units: H, returnSequences: true, seed: 4 });
    const xValues = rng.normal(N * T * D);
    const x = rk.tensor(xValues, [N, T, D]);
    const reference = await layer.forward(x);
    const expected = reference.output.dataSync();
    for (const t of [reference.output, ...reference.states]) t.dispose();

    const before = live();
    // The output alone is N·T·H floats; allow a tenth of it.
    rk.setMemoryLimit(before.bytes + (N * T * H * 4) / 10);
    const error = await rejection(layer.forward(x));
    expect(error.code).toBe('RNNKIT_OUT_OF_MEMORY');
    expect(error.message).toMatch(/out of memory in recurrent forward: cannot allocate \d+ bytes on cpu/);
    expect(error.message).toContain(`the memory limit is ${rk.getMemoryLimit()} bytes and `);
    expect(error.message).toMatch(/and \d+ bytes are in use/);
    expect(live()).toEqual(before);
    expect(x.isDisposed).toBe(false);
    expect(x.dataSync()).toEqual(xValues);

    rk.setMemoryLimit(before.bytes + N * T * H * 4 * 8);
    const fwd = await layer.forward(x);
    expect(fwd.output.dataSync()).toEqual(expected);
    for (const t of [x, fwd.output, ...fwd.states]) t.dispose();
    layer.dispose();
  });

  it('rejects a backward over the limit and keeps the forward pass usable', async () => {
    const rng = new Rng(22);
    const [N, T, D, H] = [6, 30, 10, 32];
    const layer = rk.layers.gru({ units: H, returnSequences: true, seed: 5 });
    const x = rk.tensor(rng.normal(N * T * D), [N, T, D]);
    const dOutput = rk.tensor(rng.normal(N * T * H), [N, T, H]);
    const warm = await layer.forward(x, { training: true });
    const warmGrads = await layer.backward(warm, { dOutput });
    const expected = [warmGrads.dInput, ...warmGrads.dWeights].map((t) => t.dataSync());
    for (const t of [warm.output, ...warm.states, warmGrads.dInput, ...warmGrads.dInitialState, ...warmGrads.dWeights]) t.dispose();
    warm.dispose();

    const fwd = await layer.forward(x, { training: true });
    const before = live();
    rk.setMemoryLimit(before.bytes + 4096);
    const error = await rejection(layer.backward(fwd, { dOutput }));
    expect(error.code).toBe('RNNKIT_OUT_OF_MEMORY');
    expect(error.message).toMatch(/out of memory in recurrent backward: cannot allocate \d+ bytes on cpu: the memory limit is \d+ bytes/);
    expect(live()).toEqual(before);

    rk.setMemoryLimit(null);
    const g = await layer.backward(fwd, { dOutput });
    expect([g.dInput, ...g.dWeights].map((t) => t.dataSync())).toEqual(expected);
    for (const t of [x, dOutput, fwd.output, ...fwd.states, g.dInput, ...g.dInitialState, ...g.dWeights]) t.dispose();
    fwd.dispose();
    layer.dispose();
  });

  it('rejects a fit over the limit without touching the weights, and fits once raised', async () => {
    const rng = new Rng(23);
    const [N, T, D] = [16, 20, 4];
    const model = rk.sequential([rk.layers.lstm({ units: 24, inputShape: [T, D], seed: 6 }), rk.layers.dense({ units: 1, seed: 7 })]);
    model.compile({ loss: 'mse', optimizer: rk.optimizers.adam({ learningRate: 0.01 }) });
    const x = rk.tensor(rng.normal(N * T * D), [N, T, D]);
    const y = rk.tensor(rng.normal(N), [N, 1]);
    const weights = (): Float32Array[] =>
      model.getWeights().map((w) => {
        const values = w.dataSync();
        w.dispose();
        return values;
      });
    const weightsBefore = weights();
    const before = live();
    rk.setMemoryLimit(before.bytes + 2048);
    const error = await rejection(model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 }));
    expect(error.code).toBe('RNNKIT_OUT_OF_MEMORY');
    expect(error.message).toMatch(/memory limit is \d+ bytes/);
    rk.setMemoryLimit(null);
    expect(live()).toEqual(before);
    expect(weights()).toEqual(weightsBefore);

    const history = await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 });
    expect(history.history.loss).toHaveLength(1);
    expect(weights()).not.toEqual(weightsBefore);
    model.dispose();
    x.dispose();
    y.dispose();
  });

  it('an optimizer step over the limit changes no weight (all slots are made before the first update)', () => {
    const rng = new Rng(25);
    const small = rk.tensor(rng.normal(1000), [1000]);
    const large = rk.tensor(rng.normal(50_000), [50_000]);
    const grads = [rk.tensor(rng.normal(1000), [1000]), rk.tensor(rng.normal(50_000), [50_000])];
    const values = [small.dataSync(), large.dataSync()];
    const adam = rk.optimizers.adam({ learningRate: 0.1 });
    // Room for both slots of `small` and one of `large`: the second slot of `large` fails.
    rk.setMemoryLimit(live().bytes + 2 * 4000 + 200_000 + 1000);
    expect(() => adam.applyGradients([small, large], grads)).toThrow(expect.objectContaining({ code: 'RNNKIT_OUT_OF_MEMORY' }));
    expect(adam.iterations).toBe(0);
    expect([small.dataSync(), large.dataSync()]).toEqual(values);
    rk.setMemoryLimit(null);
    adam.applyGradients([small, large], grads);
    expect(adam.iterations).toBe(1);
    // Adam's first step moves every weight by about the learning rate against its gradient's sign.
    const g0 = grads[0]!.dataSync();
    const stepped = small.dataSync();
    for (let i = 0; i < 1000; i += 97) expect(stepped[i]! - values[0]![i]!).toBeCloseTo(-0.1 * Math.sign(g0[i]!), 3);
    for (const t of [small, large, ...grads]) t.dispose();
  });

  it('throws synchronously from rk.tensor over the limit, naming the size, the limit and the bytes in use', () => {
    const before = live();
    rk.setMemoryLimit(before.bytes + 100_000);
    const values = new Float32Array(50_000).fill(0.5);
    let caught: (Error & { code?: string }) | undefined;
    try {
      rk.tensor(values, [50_000]);
    } catch (e) {
      caught = e as Error & { code?: string };
    }
    expect(caught?.code).toBe('RNNKIT_OUT_OF_MEMORY');
    expect(caught?.message).toBe(
      `out of memory in rk.tensor: cannot allocate 200000 bytes on cpu: the memory limit is ${before.bytes + 100_000} bytes ` +
        `and ${before.bytes} bytes are in use (rk.setMemoryLimit, RNNKIT_MEMORY_LIMIT)`,
    );
    expect(live()).toEqual(before);
    // Under the limit it works, and the limit counts the tensor.
    const t = rk.tensor(values.subarray(0, 20_000), [20_000]);
    expect(live().bytes).toBe(before.bytes + 80_000);
    expect(() => rk.tensor(values.subarray(0, 10_000), [10_000])).toThrow(expect.objectContaining({ code: 'RNNKIT_OUT_OF_MEMORY' }));
    t.dispose();
    expect(live()).toEqual(before);
  });

  it('keeps released blocks cached only within the room the limit leaves', async () => {
    const layer = rk.layers.lstm({ units: 64, returnSequences: true, seed: 8 });
    const x = rk.tensor(new Rng(24).normal(16 * 40 * 8), [16, 40, 8]);
    const fwd = await layer.forward(x, { training: true });
    for (const t of [fwd.output, ...fwd.states]) t.dispose();
    fwd.dispose();
    expect(rk.memory().cachedBytes).toBeGreaterThan(100_000);
    const { bytes } = live();
    rk.setMemoryLimit(bytes + 70_000);
    expect(rk.memory().cachedBytes).toBeLessThanOrEqual(70_000);
    rk.setMemoryLimit(null);
    x.dispose();
    layer.dispose();
  });

  describe('RNNKIT_MEMORY_LIMIT', () => {
    function load(value: string, script = 'console.log(JSON.stringify(rk.getMemoryLimit()))') {
      const child = spawnSync(process.execPath, ['-e', `const rk = require(${JSON.stringify(entry)}); ${script}`], {
        env: { ...process.env, RNNKIT_MEMORY_LIMIT: value },
        encoding: 'utf8',
      });
      return { status: child.status, signal: child.signal, stdout: child.stdout.trim(), stderr: child.stderr };
    }

    it('reads bytes, K/M/G/T suffixes (powers of 1024) and none at load', () => {
      const cases: [string, number | null][] = [
        ['1048576', 1048576],
        ['64K', 65536],
        ['512M', 512 * 2 ** 20],
        ['512mb', 512 * 2 ** 20],
        ['1.5G', 1.5 * 2 ** 30],
        ['2GiB', 2 * 2 ** 30],
        ['1T', 2 ** 40],
        ['none', null],
        ['', null],
      ];
      for (const [value, expected] of cases) {
        expect({ value, ...load(value) }).toEqual({ value, status: 0, signal: null, stdout: JSON.stringify(expected), stderr: '' });
      }
    });

    it('enforces the limit from the environment', () => {
      const r = load(
        '64K',
        `try { rk.tensor(new Float32Array(20000), [20000]); console.log('allocated'); } catch (e) { console.log(e.code + ' ' + e.message); }`,
      );
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^RNNKIT_OUT_OF_MEMORY out of memory in rk\.tensor: cannot allocate 80000 bytes on cpu: the memory limit is 65536 bytes/);
    });

    it('makes loading fail with a RangeError naming the variable for a bad value', () => {
      for (const value of ['abc', '1.5', '0', '12X', '-5M']) {
        const r = load(value, '');
        expect(r.status).not.toBe(0);
        expect(r.signal).toBeNull();
        expect(r.stderr).toContain('RangeError: RNNKIT_MEMORY_LIMIT must be a positive number of bytes');
        expect(r.stderr).toContain(`got '${value}'`);
        expect(r.stderr).toContain("code: 'RNNKIT_INVALID_ARGUMENT'");
      }
    });

    it('is read once per process: a worker loading rnnkit later keeps the limit the main thread set', () => {
      const r = load(
        '512M',
        `rk.setMemoryLimit(1234567);
         const { Worker } = require('node:worker_threads');
         const w = new Worker('const rk = require(' + JSON.stringify(${JSON.stringify(entry)}) + '); require("node:worker_threads").parentPort.postMessage(rk.getMemoryLimit());', { eval: true });
         w.once('message', (m) => { console.log(JSON.stringify([m, rk.getMemoryLimit()])); w.terminate(); });`,
      );
      expect(r).toEqual({ status: 0, signal: null, stdout: '[1234567,1234567]', stderr: '' });
    });
  });
});
