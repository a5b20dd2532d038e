/**
 * Runs test/fixtures/worker-scenario.cjs in a child process and checks how it ended: an
 * abort in native code shows there as the child's signal, not as a dead test runner.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { expect } from 'vitest';

export interface ScenarioOptions {
  terminations?: number;
  exits?: number;
  seed?: number;
  parallel?: number;
  maxDelayMs?: number;
  mainExit?: boolean;
}

interface Memory {
  bytes: number;
  allocations: number;
  cachedBytes: number;
}

export interface Outcome {
  kind: 'terminate' | 'exit';
  early: boolean;
  delayMs: number;
  code: number;
  expectedCode: number;
  /** Rounds each loop had completed when the worker reported all of them running. */
  running?: Record<'forwards' | 'wide' | 'large' | 'backwards' | 'fits' | 'loads', number>;
  errors: string[];
}

export interface ScenarioReport {
  before: Memory;
  peak: Memory;
  after: Memory;
  outcomes: Outcome[];
  ms: number;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export const scenarioScript = path.join(__dirname, '..', 'fixtures', 'worker-scenario.cjs');

export function runScenario(options: ScenarioOptions, env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [scenarioScript, JSON.stringify(options)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Runs `terminations` + `exits` workers and asserts: the process survived, every worker
 * ended as it was made to, and the native memory the workers held is all freed.
 */
export async function expectWorkersEndCleanly(options: Required<Pick<ScenarioOptions, 'terminations' | 'exits' | 'seed'>> & ScenarioOptions): Promise<ScenarioReport> {
  const child = await runScenario(options);
  expect({ signal: child.signal, code: child.code, stderr: child.stderr }).toEqual({ signal: null, code: 0, stderr: '' });
  const report = JSON.parse(child.stdout) as ScenarioReport;
  const kinds = report.outcomes.map((o) => o.kind);
  expect(kinds.filter((k) => k === 'terminate')).toHaveLength(options.terminations);
  expect(kinds.filter((k) => k === 'exit')).toHaveLength(options.exits);
  for (const o of report.outcomes) {
    expect(o.errors).toEqual([]);
    // A worker terminated before its script started may report 0 instead of 1.
    if (o.kind === 'terminate' && o.early) expect([0, 1]).toContain(o.code);
    else expect(o.code).toBe(o.expectedCode);
    // Terminated on cue: forwards, backwards and fits had all run and had their next pass in flight.
    if (o.kind === 'terminate' && !o.early) expect(Object.values(o.running ?? {}).every((n) => n > 0)).toBe(true);
  }
  // The counters are process-wide: the workers' tensors showed up in them while they ran...
  expect(report.peak.bytes).toBeGreaterThan(0);
  expect(report.peak.allocations).toBeGreaterThan(0);
  // ...and every one of them was freed when its worker went, whether or not it was disposed.
  expect(report.after.bytes).toBe(report.before.bytes);
  expect(report.after.allocations).toBe(report.before.allocations);
  // Freed blocks over 64 KiB stay cached for reuse (bounded by the allocator's 1 GiB cap).
  expect(report.after.cachedBytes).toBeLessThanOrEqual(2 ** 30);
  return report;
}
