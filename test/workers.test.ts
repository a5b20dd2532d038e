/**
 * worker_threads with native work in flight: terminated by the main thread at random
 * (seeded) moments, or leaving through process.exit(), never take the process down and
 * never leak native memory. The full count (60 terminations, 10 exits) is in
 * test/stress/workers.stress.ts.
 */
import { describe, expect, it } from 'vitest';
import { expectWorkersEndCleanly, runScenario } from './helpers/worker-scenario';

describe('worker_threads', () => {
  it('survives 12 terminations and 3 process.exit() calls with forwards, backwards and fits in flight, and frees every tensor', async () => {
    const report = await expectWorkersEndCleanly({ terminations: 12, exits: 3, seed: 11, parallel: 3 });
    expect(report.outcomes.filter((o) => o.kind === 'terminate' && !o.early).length).toBeGreaterThan(6);
  }, 60_000);

  it('exits with its own code when the main thread calls process.exit() with passes in flight', async () => {
    for (const seed of [1, 2, 3]) {
      const child = await runScenario({ mainExit: true, seed });
      expect({ signal: child.signal, code: child.code, stderr: child.stderr }).toEqual({ signal: null, code: 7, stderr: '' });
    }
  }, 60_000);
});
