/**
 * Soak: 20,000 forward/backward/dispose cycles of a small LSTM (seeded random inputs) and
 * 2,000 loadModel/predict/dispose cycles of a saved model, in a child process run with
 * --expose-gc. Flat means: rk.memory() bytes and allocations exactly at their start value
 * at 10% and at the end (for explicit dispose even before gc), and RSS outside V8's heap
 * (after gc) growing less than 32 MB from 10% to the end (the first 10% warms V8, malloc and
 * the allocator's cache). V8's own heap is left out: under this allocation rate it grows its
 * young generation by tens of MB (heap total 14 to 38 MB with 4.8 MB used), which is no leak.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

interface Sample {
  label: string;
  cycle: number;
  ms: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  beforeGc: { bytes: number; allocations: number; cachedBytes: number };
  bytes: number;
  allocations: number;
  cachedBytes: number;
}
interface Phase {
  name: string;
  count: number;
  ms: number;
  samples: Sample[];
}

const script = path.join(__dirname, '..', 'fixtures', 'soak.cjs');
const MB = 2 ** 20;

function runSoak(options: { cycles: number; loads: number }): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('soak', () => {
  it('20,000 forward/backward/dispose and 2,000 loadModel/predict/dispose cycles keep native memory and RSS flat', async () => {
    const child = await runSoak({ cycles: 20_000, loads: 2_000 });
    expect({ code: child.code, signal: child.signal, stderr: child.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    const report = JSON.parse(child.stdout) as { phases: Phase[]; mismatches: number };
    expect(report.mismatches).toBe(0);
    const [training, loading] = report.phases as [Phase, Phase];
    expect(training.count).toBe(20_000);
    expect(loading.count).toBe(2_000);
    for (const phase of report.phases) {
      const [start, tenth, end] = phase.samples as [Sample, Sample, Sample];
      expect(phase.samples.map((s) => s.label)).toEqual(['start', '10%', 'end']);
      for (const s of [tenth, end]) {
        expect({ bytes: s.bytes, allocations: s.allocations }).toEqual({ bytes: start.bytes, allocations: start.allocations });
      }
      console.log(
        `${phase.name}: ${phase.count} cycles in ${(phase.ms / 1000).toFixed(1)} s; ` +
          phase.samples
            .map((s) => `${s.label} (cycle ${s.cycle}, ${(s.ms / 1000).toFixed(1)} s): rss ${(s.rss / MB).toFixed(1)} MB (V8 heap ${(s.heapUsed / MB).toFixed(1)} of ${(s.heapTotal / MB).toFixed(1)} MB), rk.memory ${s.bytes} B / ${s.allocations} allocations / ${s.cachedBytes} B cached (before gc ${s.beforeGc.bytes} B / ${s.beforeGc.allocations})`)
            .join('; '),
      );
      const outsideHeap = (s: Sample) => s.rss - s.heapTotal;
      expect(outsideHeap(end) - outsideHeap(tenth)).toBeLessThan(32 * MB);
    }
    // Explicitly disposed results are freed at once, not by the garbage collector.
    for (const s of training.samples) expect(s.beforeGc).toEqual({ bytes: s.bytes, allocations: s.allocations, cachedBytes: s.cachedBytes });
  });
});
