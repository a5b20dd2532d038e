/**
 * The CPU pool on a machine it does not have to itself: with busy processes spinning on
 * every core, recurrences run as teams whose members lose their cores mid-run, teams end
 * on real stalls and the caller takes over, parts are claimed by whichever thread gets
 * there. Every output and gradient must be bit-identical to a single thread's on a quiet
 * machine (the results do not depend on how the threads shared the work).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const child = path.resolve(__dirname, '../helpers/contention-child.cjs');

interface ChildResult {
  threads: number;
  stalledTeams: number;
  crowdedPeriods: number;
  hashes: string[][];
}

function runChild(env: Record<string, string>, rounds: number): ChildResult {
  const r = spawnSync(process.execPath, [child, String(rounds)], {
    env: { ...process.env, RNNKIT_CPU_TEAM_ENDS_AT: '', RNNKIT_CPU_SPLIT: 'auto', ...env },
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

const spinners: ChildProcess[] = [];
afterAll(() => {
  for (const s of spinners) s.kill('SIGKILL');
});

describe('CPU pool under contention (stress)', () => {
  const single = runChild({ RNNKIT_NUM_THREADS: '1' }, 1);

  it('one thread gives one answer per case, never forms a team and never waits on another', () => {
    for (const h of single.hashes) expect(h).toHaveLength(1);
    expect(single.stalledTeams).toBe(0);
    expect(single.crowdedPeriods).toBe(0);
  });

  for (const [name, env] of [
    ['teams of every thread', { RNNKIT_NUM_THREADS: '2', RNNKIT_CPU_SPLIT: 'units' }],
    ['default split, more threads than cores', { RNNKIT_NUM_THREADS: String(cpus().length + 2) }],
    ['rows split', { RNNKIT_NUM_THREADS: '2', RNNKIT_CPU_SPLIT: 'rows' }],
  ] as const) {
    it(`${name}, with a busy process on every core: the same bits as one thread`, () => {
      while (spinners.length < cpus().length) {
        spinners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
      }
      const busy = runChild(env, 8);
      expect(busy.hashes).toEqual(single.hashes);
      console.log(
        `${name}: ${busy.threads} threads, ${busy.stalledTeams} teams ended on a stall, ${busy.crowdedPeriods} crowded periods`,
      );
    });
  }
});
