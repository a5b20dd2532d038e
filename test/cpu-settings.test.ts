/**
 * The CPU backend's settings: threads, instruction set, the FMA peak probe and backends().
 * Results must not depend on them (the numeric suites run once per setting, see
 * vitest.config.ts); here: validation, and that each setting takes effect.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { Rng } from './helpers/random';

const initialThreads = rk.getNumThreads();
const initialIsa = rk.getIsa();
afterAll(() => {
  rk.setNumThreads(initialThreads);
  rk.setIsa(initialIsa);
});

describe('CPU settings', () => {
  it('reports the backends, with a reason for an unavailable one', () => {
    const list = rk.backends();
    expect(list.find((b) => b.name === 'cpu')).toEqual({ name: 'cpu', available: true });
    const cuda = list.find((b) => b.name === 'cuda');
    expect(cuda).toBeDefined();
    // Where a GPU and its driver are present the plugin runs; everywhere else (no plugin
    // built, or the real plugin without a driver) the reason says which.
    if (cuda!.available) return;
    expect(cuda!.reason).toMatch(/CUDA device plugin was not found|no NVIDIA driver|CUDA/);
    expect(() => rk.setBackend('cuda')).toThrow(/unavailable/);
    expect(rk.getBackend()).toBe('cpu');
  });

  it('sets and validates the thread count', () => {
    rk.setNumThreads(1);
    expect(rk.getNumThreads()).toBe(1);
    rk.setNumThreads(2);
    expect(rk.getNumThreads()).toBe(2);
    for (const bad of [0, -1, 1.5, NaN, 5000]) expect(() => rk.setNumThreads(bad)).toThrow(RangeError);
    expect(() => rk.setNumThreads('2' as unknown as number)).toThrow(/threads/);
  });

  it('counts the teams that ended on a stall (read only; the stress suite makes them happen)', () => {
    expect(rk.getDeviceOption('cpu', 'stalled_teams')).toMatch(/^\d+$/);
    expect(() => rk.setDeviceOption('cpu', 'stalled_teams', '0')).toThrow(/no settable option/);
  });

  it('counts the crowded periods (read only; the stress suite makes them happen)', () => {
    expect(rk.getDeviceOption('cpu', 'crowded_periods')).toMatch(/^\d+$/);
    expect(() => rk.setDeviceOption('cpu', 'crowded_periods', '0')).toThrow(/no settable option/);
  });

  it('lists supported instruction sets best first, switches between them and rejects others', () => {
    const isas = rk.supportedIsas();
    expect(isas[isas.length - 1]).toBe('generic');
    for (const isa of isas) {
      rk.setIsa(isa);
      expect(rk.getIsa()).toBe(isa);
    }
    rk.setIsa('auto');
    expect(rk.getIsa()).toBe(isas[0]);
    expect(() => rk.setIsa('sse9' as rk.Isa)).toThrow(TypeError);
    expect(() => rk.setIsa('sse9' as rk.Isa)).toThrow(/isa/);
  });

  it('offers NEON on arm64 (every arm64 CPU has it) and only there', () => {
    const isas = rk.supportedIsas();
    if (process.arch === 'arm64') {
      expect(isas).toEqual(['neon', 'generic']);
      rk.setIsa('auto');
      expect(rk.getIsa()).toBe('neon');
    } else {
      expect(isas).not.toContain('neon');
      expect(() => rk.setIsa('neon')).toThrow(TypeError);
    }
  });

  it('gives the same forward result on every instruction set and thread count', async () => {
    const rng = new Rng(31);
    const layer = rk.layers.gru({ units: 40, seed: 4, returnSequences: true });
    const x = rk.tensor(rng.normal(3 * 7 * 5), [3, 7, 5]);
    const outputs: Float32Array[] = [];
    for (const isa of rk.supportedIsas())
      for (const threads of [1, 2]) {
        rk.setIsa(isa);
        rk.setNumThreads(threads);
        const fwd = await layer.forward(x, { lengths: [7, 3, 0] });
        outputs.push(fwd.output.dataSync());
      }
    // Different instruction sets sum in different orders: equal to float32 rounding.
    for (const out of outputs.slice(1)) {
      let maxDiff = 0;
      for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i]! - outputs[0]![i]!));
      expect(maxDiff).toBeLessThan(1e-5);
    }
  });

  it('measures a positive FMA peak that grows with the vector width', () => {
    const isas = rk.supportedIsas();
    const peaks = isas.map((isa) => rk.measureFmaPeak({ isa, threads: 1, seconds: 0.05 }));
    for (const p of peaks) expect(p).toBeGreaterThan(0);
    // avx512 (16 lanes) > avx2 (8 lanes) on any CPU that has both; generic is slowest on
    // x86-64 (SSE2 without FMA). arm64's baseline already has Advanced SIMD, and the compiler
    // vectorizes the generic probe into the same 4-lane FMAs as 'neon': no order there.
    if (process.arch !== 'arm64') expect(peaks[0]).toBeGreaterThan(peaks[peaks.length - 1]!);
    expect(() => rk.measureFmaPeak({ isa: 'sse9' as rk.Isa })).toThrow(TypeError);
    expect(() => rk.measureFmaPeak({ seconds: 0 })).toThrow(RangeError);
  });
});
