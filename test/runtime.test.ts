/**
 * Runtime properties of the addon: it loads in worker_threads (context-aware), heavy work
 * runs off the JavaScript thread, work too small for the trip runs on it, and repeated use
 * does not grow native memory.
 */
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

describe('runtime', () => {
  it('loads and runs a forward pass inside a worker thread', async () => {
    const entry = path.join(__dirname, '..', 'dist', 'index.js');
    const code = `
      const { parentPort } = require('node:worker_threads');
      const rk = require(${JSON.stringify(entry)});
      (async () => {
        const layer = rk.layers.gru({ units: 4, seed: 3 });
        const x = rk.tensor(Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i + 1)), [2, 5, 3]);
        const fwd = await layer.forward(x);
        parentPort.postMessage(Array.from(fwd.output.dataSync()));
      })().catch((e) => parentPort.postMessage(String(e)));`;
    const run = () =>
      new Promise<unknown>((resolve, reject) => {
        const w = new Worker(code, { eval: true });
        w.once('message', (m) => {
          resolve(m);
          void w.terminate();
        });
        w.once('error', reject);
      });
    const [a, b] = await Promise.all([run(), run()]);
    expect(Array.isArray(a)).toBe(true);
    expect((a as number[]).length).toBe(8);
    expect(a).toEqual(b);
    // The same seed and input in the main thread give the same numbers.
    const layer = rk.layers.gru({ units: 4, seed: 3 });
    const x = rk.tensor(Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i + 1)), [2, 5, 3]);
    const fwd = await layer.forward(x);
    expect(Array.from(fwd.output.dataSync())).toEqual(a);
    for (const t of [x, fwd.output, ...fwd.states]) t.dispose();
    layer.dispose();
  });

  it('keeps the event loop free while a large forward pass runs', async () => {
    const rng = new Rng(5);
    const [N, T, D, H] = [64, 200, 64, 128];
    const layer = rk.layers.lstm({ units: H, seed: 1, returnSequences: true });
    const x = rk.tensor(rng.normal(N * T * D), [N, T, D]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = Date.now();
    const pending = layer.forward(x, { training: true });
    expect(pending).toBeInstanceOf(Promise);
    const fwd = await pending;
    const elapsed = Date.now() - started;
    clearInterval(timer);
    expect(fwd.output.shape).toEqual([N, T, H]);
    for (const t of [x, fwd.output, ...fwd.states]) t.dispose();
    fwd.dispose();
    layer.dispose();
    // The timer fired throughout the native work instead of once at the end.
    if (elapsed > 20) expect(ticks).toBeGreaterThan(elapsed / 10);
  });

  it('runs passes too small for a trip to a libuv thread on the JavaScript thread (RNNKIT_INLINE_WORK=0: queued)', () => {
    // Each pbkdf2 call holds one of libuv's threads for about 0.2 s on this machine.
    const child = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'inline-child.cjs'), '200000'], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
      if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.signal}): ${r.stderr}`);
      return JSON.parse(r.stdout) as { forwardMs: number; firstBusyMs: number; output: number[] };
    };
    const inline = child({});
    const queued = child({ RNNKIT_INLINE_WORK: '0' });
    // The one-step pass did not wait for a libuv thread...
    expect(inline.forwardMs).toBeLessThan(inline.firstBusyMs);
    // ...where a queued one waits until a pbkdf2 call gives its thread back.
    expect(queued.forwardMs).toBeGreaterThanOrEqual(queued.firstBusyMs);
    expect(inline.output).toHaveLength(8);
    expect(inline.output).toEqual(queued.output);
  });

  it('settles inline passes started together on a later turn, in the order they started, and lets timers run between awaited ones', async () => {
    const rng = new Rng(41);
    const layer = rk.layers.lstm({ units: 8, seed: 5 });
    const inputs = Array.from({ length: 6 }, () => rk.tensor(rng.uniform(2 * 3 * 4), [2, 3, 4]));
    const alone = await Promise.all(inputs.map(async (x) => {
      const fwd = await layer.forward(x);
      return Array.from(fwd.output.dataSync());
    }));
    const settled: number[] = [];
    const passes = inputs.map((x, i) => layer.forward(x).then((fwd) => {
      settled.push(i);
      return fwd;
    }));
    await Promise.resolve();
    expect(settled).toEqual([]); // not settled within the calling turn
    const fwds = await Promise.all(passes);
    expect(settled).toEqual([0, 1, 2, 3, 4, 5]);
    fwds.forEach((fwd, i) => expect(Array.from(fwd.output.dataSync())).toEqual(alone[i]));
    expect(alone[0]).not.toEqual(alone[1]);
    // A loop of awaited small passes still yields to immediates queued meanwhile.
    let immediates = 0;
    const tick = () => {
      immediates += 1;
      if (immediates < 50) setImmediate(tick);
    };
    setImmediate(tick);
    for (let i = 0; i < 40; i++) (await layer.forward(inputs[i % inputs.length]!)).dispose();
    expect(immediates).toBeGreaterThanOrEqual(39);
    for (const t of [...inputs, ...fwds]) t.dispose();
    layer.dispose();
  });

  it('makes loading fail with a RangeError naming RNNKIT_INLINE_WORK for a bad value', () => {
    const entry = path.join(__dirname, '..', 'dist', 'index.js');
    for (const value of ['abc', '-1', '1e3x', 'Infinity']) {
      const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(entry)})`], {
        env: { ...process.env, RNNKIT_INLINE_WORK: value },
        encoding: 'utf8',
      });
      expect(r.status).not.toBe(0);
      expect(r.signal).toBeNull();
      expect(r.stderr).toContain('RangeError: RNNKIT_INLINE_WORK must be a number of FLOPs');
      expect(r.stderr).toContain(`got '${value}'`);
      expect(r.stderr).toContain("code: 'RNNKIT_INVALID_ARGUMENT'");
    }
  });

  it('a loop of awaited small passes still lets timers run between them', async () => {
    const layer = rk.layers.gru({ units: 4, seed: 3 });
    const x = rk.tensor(Float32Array.from({ length: 3 * 2 }, (_, i) => Math.sin(i + 1)), [1, 3, 2]);
    let fired = false;
    setTimeout(() => (fired = true), 1);
    const started = Date.now();
    let passes = 0;
    // Settled from setImmediate, not before start() returns: this loop ends once the timer fired.
    while (!fired && Date.now() - started < 5000) {
      const fwd = await layer.forward(x);
      for (const t of [fwd.output, ...fwd.states]) t.dispose();
      passes++;
    }
    expect(fired).toBe(true);
    expect(passes).toBeGreaterThan(0);
    x.dispose();
    layer.dispose();
  });

  it('small passes settle under fake timers installed after the addon loaded', async () => {
    const layer = rk.layers.gru({ units: 4, seed: 3 });
    const x = rk.tensor(Float32Array.from({ length: 3 * 2 }, (_, i) => Math.sin(i + 1)), [1, 3, 2]);
    // Waits for the weights' initialization. Every result is disposed: one left to the garbage
    // collector would be freed inside the allocation test below and move its baseline.
    const first = await layer.forward(x);
    for (const t of [first.output, ...first.states]) t.dispose();
    vi.useFakeTimers();
    try {
      const fwd = await layer.forward(x);
      expect(fwd.output.shape).toEqual([1, 4]);
      for (const t of [fwd.output, ...fwd.states]) t.dispose();
    } finally {
      vi.useRealTimers();
    }
    x.dispose();
    layer.dispose();
  });

  it('frees every native allocation of forward/backward/clip cycles once results are disposed', async () => {
    const rng = new Rng(9);
    const [N, T, D, H] = [8, 30, 16, 32];
    for (const layer of [
      rk.layers.gru({ units: H, seed: 2, returnSequences: true }),
      rk.layers.lstm({ units: H, seed: 2, returnSequences: true }),
      rk.layers.gru({ units: H, seed: 2, returnSequences: true, resetAfter: false }),
    ]) {
      const x = rk.tensor(rng.normal(N * T * D), [N, T, D]);
      const dOutput = rk.tensor(rng.normal(N * T * H), [N, T, H]);
      layer.build(x.shape);
      // The first backward packs the weights for BPTT once; later cycles allocate nothing new.
      const warm = await layer.forward(x, { training: true });
      const warmGrads = await layer.backward(warm, { dOutput });
      for (const t of [warm.output, ...warm.states, warmGrads.dInput, ...warmGrads.dInitialState, ...warmGrads.dWeights]) t.dispose();
      warm.dispose();
      const live = () => ({ bytes: rk.memory().bytes, allocations: rk.memory().allocations });
      const baseline = live();
      for (let i = 0; i < 20; i++) {
        const fwd = await layer.forward(x, { training: true, lengths: [30, 1, 0, 7, 30, 12, 3, 29] });
        expect(rk.memory().bytes).toBeGreaterThanOrEqual(baseline.bytes + fwd.reserveBytes);
        const g = await layer.backward(fwd, { dOutput });
        const clipped = rk.clip.byGlobalNorm(g.dWeights, 1).grads;
        for (const t of [fwd.output, ...fwd.states, g.dInput, ...g.dInitialState, ...g.dWeights, ...clipped]) t.dispose();
        fwd.dispose();
        fwd.dispose();
        expect(live()).toEqual(baseline);
      }
      // A failed call leaves nothing behind either.
      await expect(layer.forward(x, { lengths: [99, 0, 0, 0, 0, 0, 0, 0] })).rejects.toThrow(RangeError);
      const bad = rk.tensor(rng.normal(N * T * 3), [N, T, 3]);
      await expect(layer.forward(bad)).rejects.toThrow(/features/);
      bad.dispose();
      expect(live()).toEqual(baseline);
      // Dispose now: tensors left to the garbage collector would be freed during the next
      // layer's loop and move its baseline.
      x.dispose();
      dOutput.dispose();
      layer.dispose();
    }
  });
});
