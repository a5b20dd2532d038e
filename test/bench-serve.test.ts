/**
 * bench/serve.js's own logic, without a load test: the command line, the seeded request
 * bodies, the batcher/direct ratios, issue 12's targets judged on synthetic runs, and the
 * report.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';

const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any */
const bench = require('../bench/serve.js') as any;

function run(mode: string, connections: number, rps: number, p99: number, loopP99: number, extra: Record<string, number> = {}) {
  return {
    mode,
    connections,
    rps,
    ok: Math.round(rps * 5),
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    latency: { p50: p99 / 2, p99, max: p99 * 1.5 },
    eventLoopDelayMs: { p99: loopP99, max: loopP99 * 2 },
    batcher: { meanBatch: mode === 'batcher' ? 30 : null },
    serverCpuCores: 1.5,
    foreignCores: 0,
    ...extra,
  };
}

describe('bench:serve command line', () => {
  it('has defaults, --quick, and takes values in both spellings', () => {
    expect(bench.parseArgs([])).toEqual({ quick: false, durationS: 5, warmupS: 1, connections: [1, 16, 64, 256], model: null, maxBatchSize: null, maxDelayMs: null });
    expect(bench.parseArgs(['--quick'])).toMatchObject({ quick: true, durationS: 2, warmupS: 0.5 });
    expect(bench.parseArgs(['--duration', '3', '--warmup=0.2', '--connections', '64,1,64', '--model', '/m', '--max-delay-ms', '0', '--max-batch=64'])).toEqual({
      quick: false, durationS: 3, warmupS: 0.2, connections: [1, 64], model: '/m', maxBatchSize: 64, maxDelayMs: 0,
    });
  });

  it('rejects unknown arguments and bad values', () => {
    expect(() => bench.parseArgs(['--fast'])).toThrow(bench.UsageError);
    expect(() => bench.parseArgs(['--duration'])).toThrow(/needs a value/);
    expect(() => bench.parseArgs(['--duration', '-1'])).toThrow(/seconds/);
    expect(() => bench.parseArgs(['--connections', '0,16'])).toThrow(/integers/);
    expect(() => bench.parseArgs(['--max-batch', '0'])).toThrow(/integer >= 1/);
    expect(() => bench.parseArgs(['--max-delay-ms', '1.5'])).toThrow(/integer >= 0/);
    expect(bench.USAGE).toMatch(/--connections/);
  });
});

describe('bench:serve load and judging', () => {
  it('makes the same seeded windows of the corpus every time', () => {
    const text = readFileSync(join(__dirname, '..', 'examples', 'data', 'austen.txt'), 'utf8');
    const a = bench.requestBodies(text, 50);
    expect(a).toEqual(bench.requestBodies(text, 50));
    expect(a).not.toEqual(bench.requestBodies(text, 50, 40, 99));
    for (const b of a) {
      const t = JSON.parse(b).text;
      expect(t).toHaveLength(bench.WINDOW);
      expect(text).toContain(t);
    }
    expect(new Set(a).size).toBeGreaterThan(45);
  });

  it('judges the targets at 64 connections: throughput ratio, p99, event-loop delay in every batcher run', () => {
    const good = [run('batcher', 1, 300, 4, 1), run('direct', 1, 1300, 2, 1), run('batcher', 64, 4000, 20, 5), run('direct', 64, 900, 30, 30)];
    expect(bench.ratios(good).map((r: any) => r.connections)).toEqual([1, 64]);
    expect(bench.ratios(good)[1].rps).toBeCloseTo(4000 / 900, 9);
    const v = bench.judgeTargets(good);
    expect(v.map((t: any) => [t.id, t.verdict])).toEqual([['throughput', 'PASS'], ['latency', 'PASS'], ['event-loop', 'PASS']]);

    const slow = [run('batcher', 64, 3000, 40, 25), run('direct', 64, 1000, 30, 5), run('batcher', 256, 3000, 90, 10)];
    expect(bench.judgeTargets(slow).map((t: any) => t.verdict)).toEqual(['MISS', 'MISS', 'MISS']);
    expect(bench.judgeTargets(slow)[2].measured).toMatch(/worst 25\.0 ms \(at 64 connections\)/);

    // Speed bought with failed requests does not pass; an unmeasured target is neither.
    const failing = [run('batcher', 64, 5000, 10, 1, { non2xx: 3 }), run('direct', 64, 1000, 30, 1)];
    expect(bench.judgeTargets(failing).map((t: any) => t.verdict)).toEqual(['MISS', 'MISS', 'PASS']);
    expect(bench.judgeTargets([run('batcher', 16, 10, 1, 1)]).map((t: any) => t.verdict)).toEqual(['–', '–', 'PASS']);
  });

  it('reports a table row per run, the ratios and the verdicts', () => {
    const runs = [run('batcher', 64, 4000, 20, 5), run('direct', 64, 900, 30, 30)];
    const text = bench.render({
      machine: { cpu: 'Test CPU', cores: 2, isaFlags: ['avx2'], platform: 'linux-x64', node: '20' },
      model: { source: 'a model', input: 'one-hot' },
      server: 'cpu (avx2, 2 threads)',
      settings: { durationS: 5, warmupS: 1 },
      forward: { isa: 'avx2', threads: 2, n1: { medianMs: 0.6 }, n32: { medianMs: 4.8, perSequenceMs: 0.15 }, batchGain: 4 },
      runs,
      ratios: bench.ratios(runs),
      targets: bench.judgeTargets(runs),
    });
    expect(text).toMatch(/\| 64 +\| batcher +\| 4,000 +\|/);
    expect(text).toMatch(/4\.44x/);
    expect(text).toMatch(/\*\*PASS\*\*/);
    expect(text).toMatch(/shares|same 2 cores/);
  });
});
