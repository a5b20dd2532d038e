/**
 * The home thread: queued calls of 50 MFLOPs or more run on one persistent thread, counted
 * by rk.getDeviceOption('cpu', 'home_calls'); a call that finds it running another call runs
 * on its own libuv thread ('home_busy'). One CPU thread throughout: a crowded pool (other
 * test files share the cores) sends calls past the home thread, which these counts would
 * then not see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

const count = (name: string) => Number(rk.getDeviceOption('cpu', name));
const initialThreads = rk.getNumThreads();
beforeAll(() => rk.setNumThreads(1));
afterAll(() => {
  rk.setNumThreads(initialThreads);
  rk.setMemoryLimit(null);
});

describe("getDeviceOption('cpu', 'home_calls' | 'home_busy')", () => {
  // 629 MFLOPs a pass, several milliseconds on one thread: the four passes started at once
  // below overlap.
  const [N, T, D, H] = [32, 100, 64, 128];

  it('runs large calls one after another on the home thread, concurrent ones beside it, with the same bits', async () => {
    const rng = new Rng(57);
    const layer = rk.layers.lstm({ units: H, seed: 8, returnSequences: true });
    const x = rk.tensor(rng.normal(N * T * D), [N, T, D]);
    const calls = count('home_calls');
    const busy = count('home_busy');
    const alone: Float32Array[] = [];
    for (let i = 0; i < 3; i++) {
      const fwd = await layer.forward(x);
      alone.push(fwd.output.dataSync());
      fwd.dispose();
    }
    expect(count('home_calls') - calls).toBe(3);
    expect(count('home_busy') - busy).toBe(0);
    // libuv starts the four at once: one holds the home thread, the others find it busy.
    const together = await Promise.all([0, 1, 2, 3].map(() => layer.forward(x)));
    expect(count('home_calls') - calls + count('home_busy') - busy).toBe(7);
    expect(count('home_busy') - busy).toBeGreaterThan(0);
    for (const out of [...alone.slice(1), ...together.map((f) => f.output.dataSync())])
      expect(out.filter((v, i) => !Object.is(v, alone[0]![i])).length).toBe(0);
    for (const f of together) f.dispose();
    x.dispose();
    layer.dispose();
  });

  it('rejects a call that fails on the home thread as anywhere else, and runs the next', async () => {
    const rng = new Rng(59);
    const layer = rk.layers.gru({ units: H, seed: 9, returnSequences: true });
    const x = rk.tensor(rng.normal(N * T * D), [N, T, D]);
    (await layer.forward(x)).dispose();  // builds the weights
    const calls = count('home_calls');
    rk.setMemoryLimit(rk.memory().bytes + (N * T * H * 4) / 10);
    await expect(layer.forward(x)).rejects.toMatchObject({
      code: 'RNNKIT_OUT_OF_MEMORY',
      message: expect.stringMatching(/out of memory in recurrent forward: cannot allocate \d+ bytes on cpu/),
    });
    rk.setMemoryLimit(null);
    const fwd = await layer.forward(x);
    expect(fwd.output.shape).toEqual([N, T, H]);
    expect(count('home_calls') - calls).toBe(2);
    fwd.dispose();
    x.dispose();
    layer.dispose();
  });

  it('leaves calls below 50 MFLOPs on their libuv thread (a hand-off would cost more than it gains)', async () => {
    const rng = new Rng(58);
    const layer = rk.layers.lstm({ units: 96, seed: 8, returnSequences: true });
    // 26 MFLOPs: queued (over 2 MFLOPs), not handed to the home thread.
    const x = rk.tensor(rng.normal(4 * 60 * 48), [4, 60, 48]);
    const calls = count('home_calls');
    const busy = count('home_busy');
    for (let i = 0; i < 3; i++) (await layer.forward(x)).dispose();
    expect(count('home_calls')).toBe(calls);
    expect(count('home_busy')).toBe(busy);
    x.dispose();
    layer.dispose();
  });
});
