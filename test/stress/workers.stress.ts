/**
 * The count: 60 worker terminations at seeded random moments and 10 workers that
 * call process.exit(), all with forwards, backwards and fits in flight; the process
 * survives and rk.memory() returns to its baseline.
 */
import { describe, expect, it } from 'vitest';
import { expectWorkersEndCleanly } from '../helpers/worker-scenario';

describe('worker_threads (stress)', () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: 60 terminations and 10 self-exits, no abort, no leak`, async () => {
      const report = await expectWorkersEndCleanly({ terminations: 60, exits: 10, seed, parallel: 3 });
      expect(report.outcomes).toHaveLength(70);
      console.log(
        `workers seed ${seed}: ${report.outcomes.length} workers in ${report.ms} ms; ` +
          `memory before ${JSON.stringify(report.before)}, peak ${JSON.stringify(report.peak)}, after ${JSON.stringify(report.after)}`,
      );
    });
  }
});
