/**
 * The benchmark's own logic (bench/), without running a benchmark: the command line, the
 * plan of rows and implementations per ISA, issue 11's targets judged per ISA against that
 * ISA's peak, the contention verdicts, the report and chart on synthetic results, and the
 * contention mode's busy process (started and killed).
 */
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';

const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any */
const args = require('../bench/args.js') as any;
const plan = require('../bench/plan.js') as any;
const targets = require('../bench/targets.js') as any;
const contention = require('../bench/contention.js') as any;
const report = require('../bench/report.js') as any;
const chart = require('../bench/chart.js') as any;
const isolate = require('../bench/isolate.js') as any;
const { forwardFlops, shapeLabel, CELL_LABEL } = require('../bench/data.js') as any;

describe('bench command line', () => {
  it('takes --quick, --contention and --isa in both spellings', () => {
    expect(args.parseArgs([])).toEqual({ quick: false, contention: false, isas: null });
    expect(args.parseArgs(['--quick', '--contention'])).toEqual({ quick: true, contention: true, isas: null });
    expect(args.parseArgs(['--isa', 'avx2']).isas).toEqual(['avx2']);
    expect(args.parseArgs(['--isa=avx512,avx2']).isas).toEqual(['avx512', 'avx2']);
    expect(args.parseArgs(['--isa', 'avx2', '--isa', 'avx512']).isas).toEqual(['avx2', 'avx512']);
  });

  it('rejects unknown arguments and a missing --isa value', () => {
    expect(() => args.parseArgs(['--fast'])).toThrow(/unknown argument\(s\): --fast/);
    expect(() => args.parseArgs(['--isa'])).toThrow(args.UsageError);
    expect(() => args.parseArgs(['--isa', '--quick'])).toThrow(args.UsageError);
    expect(args.USAGE).toMatch(/--contention/);
  });

  it('chooses the ISAs best first, from --isa, else RNNKIT_ISA, else every vector ISA', () => {
    const supported = ['avx512', 'avx2', 'generic'];
    const defaults = plan.defaultIsas(supported);
    expect(defaults).toEqual(['avx512', 'avx2']);
    expect(plan.defaultIsas(['avx2', 'generic'])).toEqual(['avx2']);
    expect(plan.defaultIsas(['generic'])).toEqual(['generic']);
    expect(args.chooseIsas(null, supported, defaults, undefined)).toEqual({ isas: ['avx512', 'avx2'], from: 'default' });
    expect(args.chooseIsas(['avx2', 'avx512'], supported, defaults, 'generic').isas).toEqual(['avx512', 'avx2']);
    expect(args.chooseIsas(null, supported, defaults, 'avx2')).toEqual({ isas: ['avx2'], from: 'RNNKIT_ISA' });
    expect(args.chooseIsas(null, supported, defaults, 'auto').from).toBe('default');
    expect(() => args.chooseIsas(['avx512'], ['avx2', 'generic'], ['avx2'], undefined)).toThrow(/avx512 not supported/);
  });
});

describe('bench plan', () => {
  const has = (N: number, T: number, D: number, H: number, cell: string, mode = 'forward') =>
    plan.ROWS.some((r: any) => r.shape.N === N && r.shape.T === T && r.shape.D === D && r.shape.H === H && r.cell === cell && r.mode === mode);

  it('has every cell at both compute-bound shapes, the latency rows and the training row', () => {
    for (const cell of ['lstm', 'gru', 'simpleRNN']) {
      expect(has(32, 100, 128, 256, cell)).toBe(true);
      expect(has(64, 50, 256, 512, cell)).toBe(true);
    }
    expect(has(1, 100, 64, 128, 'lstm') && has(1, 100, 64, 128, 'gru') && has(16, 200, 32, 64, 'lstm')).toBe(true);
    expect(has(32, 100, 128, 256, 'lstm', 'training')).toBe(true);
    expect(new Set(plan.ROWS.map((r: any) => r.seed)).size).toBe(plan.ROWS.length);
  });

  it('runs rnnkit at 1 and 2 threads per ISA, then the peers once', () => {
    const keys = plan.implsFor(['avx512', 'avx2']).map((i: any) => i.key);
    expect(keys).toEqual(['rnnkit-avx512-1t', 'rnnkit-avx512-2t', 'rnnkit-avx2-1t', 'rnnkit-avx2-2t', 'ort-1t', 'ort-2t', 'tfjs-wasm', 'tfjs-cpu']);
    expect(plan.rnnkitKey('avx2', null)).toBe('rnnkit-avx2-default');
  });

  it("gives rnnkit's children the ISA and, for default settings, none of the tuning variables", () => {
    const saved = { ...process.env };
    try {
      process.env.RNNKIT_NUM_THREADS = '1';
      process.env.RNNKIT_CPU_SPLIT = 'rows';
      const env = isolate.childEnv({ isa: 'avx2', defaults: true });
      expect(env.RNNKIT_ISA).toBe('avx2');
      expect(env.RNNKIT_NUM_THREADS).toBeUndefined();
      expect(env.RNNKIT_CPU_SPLIT).toBeUndefined();
      expect(isolate.childEnv({ isa: 'avx512' }).RNNKIT_NUM_THREADS).toBe('1');
    } finally {
      process.env = saved;
    }
  });
});

// ------------------------------------------------------------------ synthetic results

const PEAKS = { byIsa: { avx512: { 1: 200, 2: 400 }, avx2: { 1: 100, 2: 200 } }, peak: { 1: 200, 2: 400 }, foreignCores: 0, probes: [], note: 'synthetic', warnings: [] };

const timing = (ms: number, extra: object = {}) => ({ status: 'ok', medianMs: ms, minMs: ms, reps: 10, foreignCores: 0, roundMedians: [ms], ...extra });

/** A row whose rnnkit runs at `share1`/`share2` of each ISA's 1-/2-thread peak, ORT at `ortMs`. */
function row(spec: any, share1: number, share2: number, ortMs: number | null) {
  const flops = (spec.mode === 'training' ? 3 : 1) * forwardFlops(spec.shape, spec.cell);
  const results: Record<string, any> = {};
  for (const isa of ['avx512', 'avx2'] as const) {
    const p = (PEAKS.byIsa as any)[isa];
    results[plan.rnnkitKey(isa, 1)] = timing(flops / (share1 * p[1] * 1e6), { isa, threads: 1 });
    results[plan.rnnkitKey(isa, 2)] = timing(flops / (share2 * p[2] * 1e6), { isa, threads: 2 });
  }
  if (ortMs !== null) {
    results['ort-1t'] = timing(ortMs * 1.8);
    results['ort-2t'] = timing(ortMs);
  }
  return { ...spec, label: `${shapeLabel(spec.shape)} ${CELL_LABEL[spec.cell]}`, flops, results };
}

const find = (list: any[], isa: string, target: RegExp, label: string) =>
  list.find((t) => t.isa === isa && target.test(t.target) && t.row === label);

describe('issue 11 targets', () => {
  const [lstmN1, , lstm32] = plan.ROWS;
  const training = plan.ROWS.find((r: any) => r.mode === 'training');

  it('judges each ISA against its own peak', () => {
    const r = row(lstm32, 0.82, 0.77, 1e9);
    const list = targets.evaluateTargets([r], PEAKS, ['avx512', 'avx2']);
    for (const isa of ['avx512', 'avx2']) {
      const one = find(list, isa, /1t ≥ 80% of 1-thread peak/, r.label);
      const two = find(list, isa, /2t ≥ 75% of 2-thread peak/, r.label);
      expect(one.value).toBeCloseTo(82, 6);
      expect(two.value).toBeCloseTo(77, 6);
      expect([one.status, two.status]).toEqual(['PASS', 'PASS']);
    }
    // Compute-bound forward rows: never slower than ORT + the two peak shares, per ISA.
    expect(list.filter((t: any) => t.isa === 'avx2').map((t: any) => t.target)).toEqual([
      'forward ≥ 1.0x ORT best',
      'forward 1t ≥ 80% of 1-thread peak',
      'forward 2t ≥ 75% of 2-thread peak',
    ]);
  });

  it('says what limits a miss', () => {
    const r = row(lstm32, 0.7, 0.6, null);
    const ortMs = r.results[plan.rnnkitKey('avx2', 2)].medianMs * 0.9; // ORT faster than rnnkit avx2
    r.results['ort-1t'] = timing(ortMs * 2);
    r.results['ort-2t'] = timing(ortMs);
    const list = targets.evaluateTargets([r], PEAKS, ['avx512', 'avx2']);
    const never = find(list, 'avx2', /≥ 1.0x ORT/, r.label);
    expect(never.status).toBe('MISS');
    expect(never.limit).toMatch(/of the avx2 2-thread peak/);
    expect(find(list, 'avx512', /≥ 1.0x ORT/, r.label).status).toBe('PASS');
    const one = find(list, 'avx2', /1t ≥ 80%/, r.label);
    expect(one.status).toBe('MISS');
    expect(one.limit).toMatch(/1 thread: 70 of 100 GFLOP\/s/);
    const two = find(list, 'avx2', /2t ≥ 75%/, r.label);
    expect(two.limit).toMatch(/1 thread reaches 70% of the 1-thread peak; 1→2 threads: 1\.71x/);
    expect(two.limit).toMatch(/one thread's efficiency/);
  });

  it("sets the time the cache takes to deliver a step's recurrent weights beside a missed N = 1 target", () => {
    // The probe's sizes: the LSTM's and the GRU's weights (H = 128) whole on 1 thread, halved on 2.
    expect(plan.cacheReadSizes(plan.ROWS)).toEqual([
      { threads: 1, bytes: 4 * 4 * 128 * 128 },
      { threads: 2, bytes: 2 * 4 * 128 * 128 },
      { threads: 1, bytes: 3 * 4 * 128 * 128 },
      { threads: 2, bytes: (3 * 4 * 128 * 128) / 2 },
    ]);
    const r = row(lstmN1, 0.3, 0.3, 0.2);
    const cacheReads = [
      { threads: 1, bytes: 262144, gbs: 100 },
      { threads: 2, bytes: 131072, gbs: 262.144 },
    ];
    const miss = find(targets.evaluateTargets([r], { ...PEAKS, cacheReads }, ['avx2']), 'avx2', /≥ 2x ORT/, r.label);
    expect(miss.status).toBe('MISS');
    // 256 KB at 262.144 GB/s: 1 µs, the faster of the two thread counts.
    expect(miss.limit).toMatch(/reading the step's 256 KB of recurrent weights alone takes 1\.00 µs at the 262 GB\/s this CPU's cache delivers on 2 threads/);
    const without = find(targets.evaluateTargets([r], PEAKS, ['avx2']), 'avx2', /≥ 2x ORT/, r.label);
    expect(without.limit).not.toMatch(/recurrent weights/);
  });

  it('asks 2x ORT of the N = 1 LSTM and GRU, 1.5x of (16,200,32,64), 65% of the 2-thread peak in training', () => {
    expect(targets.latencyGoal(lstmN1)).toBe(2);
    expect(targets.latencyGoal(plan.ROWS[1])).toBe(2);
    expect(targets.latencyGoal(plan.ROWS.find((r: any) => r.shape.N === 16))).toBe(1.5);
    expect(targets.latencyGoal(lstm32)).toBeNull();
    const rows = [row(lstmN1, 0.3, 0.3, 1), row(training, 0.5, 0.66, null)];
    rows[0].results[plan.rnnkitKey('avx512', 2)] = timing(0.45);
    rows[0].results[plan.rnnkitKey('avx2', 2)] = timing(0.6);
    const list = targets.evaluateTargets(rows, PEAKS, ['avx512', 'avx2']);
    expect(find(list, 'avx512', /≥ 2x ORT/, rows[0].label).status).toBe('PASS');
    expect(find(list, 'avx2', /≥ 2x ORT/, rows[0].label).status).toBe('MISS');
    expect(find(list, 'avx2', /≥ 1.0x ORT/, rows[0].label).status).toBe('PASS');
    const train = find(list, 'avx2', /training ≥ 65% of 2-thread peak/, rows[1].label);
    expect(train.value).toBeCloseTo(66, 6);
    expect(train.status).toBe('PASS');
    expect(list.some((t: any) => /tfjs/.test(t.target))).toBe(false);
  });

  it('judges the ratios to ORT round by round, not best round against best round', () => {
    // rnnkit's 2-thread run had one fast round (its cores close) and ORT its own fast round
    // at another time: best against best reads 2.05x, the same rounds 1.25x to 2.82x.
    const r = row(lstmN1, 0.3, 0.3, 1);
    const rounds = (ms: number[]) => timing(Math.min(...ms), { roundMedians: ms });
    r.results[plan.rnnkitKey('avx2', 1)] = rounds([0.35, 0.35, 0.36, 0.35]);
    r.results[plan.rnnkitKey('avx2', 2)] = rounds([0.22, 0.4, 0.41, 0.4]);
    r.results['ort-1t'] = rounds([0.62, 0.63, 0.62, 0.64]);
    r.results['ort-2t'] = rounds([0.62, 0.62, 0.45, 0.63]);
    const paired = targets.pairedOrt(r, 'avx2');
    expect(paired.ratios.map((x: number) => +x.toFixed(2))).toEqual([1.25, 1.77, 1.8, 2.82]);
    expect(paired.x).toBeCloseTo((0.62 / 0.35 + 0.63 / 0.35) / 2, 9);
    const t = find(targets.evaluateTargets([r], PEAKS, ['avx2']), 'avx2', /≥ 2x ORT/, r.label);
    expect(t.status).toBe('MISS');
    expect(t.value).toBeCloseTo(paired.x, 9);
    expect(t.measured).toBe('1.79x, median of the rounds 1.25 · 1.77 · 1.80 · 2.82; best round against best round 2.05x');
    // The middle round (1.77x: ORT 0.62 ms, rnnkit 0.35) sets what the miss would take.
    expect(t.limit).toMatch(/^in the middle round ORT took 0\.620 ms and rnnkit 0\.350: needs ≤ 0\.310 ms/);
    // Without rounds in every result (older files), best against best as before.
    delete r.results['ort-1t'].roundMedians;
    expect(targets.pairedOrt(r, 'avx2')).toBeNull();
    expect(find(targets.evaluateTargets([r], PEAKS, ['avx2']), 'avx2', /≥ 2x ORT/, r.label).status).toBe('PASS');
  });

  it('marks figures from a busy machine with †, and fails only the ISA whose output disagreed', () => {
    const r = row(lstm32, 0.9, 0.9, 1e9);
    r.results[plan.rnnkitKey('avx512', 2)].foreignCores = 1;
    r.results[plan.rnnkitKey('avx2', 1)].status = 'FAIL';
    const list = targets.evaluateTargets([r], PEAKS, ['avx512', 'avx2']);
    expect(find(list, 'avx512', /2t ≥ 75%/, r.label).status).toBe('PASS †');
    expect(find(list, 'avx512', /1t ≥ 80%/, r.label).status).toBe('PASS');
    expect(list.filter((t: any) => t.isa === 'avx2').every((t: any) => t.status === 'FAIL')).toBe(true);
  });
});

describe('contention verdicts', () => {
  const [n1, , big] = plan.CONTENTION.rows;
  const fig = (ms: number | null, extra: object = {}) => (ms === null ? { ms: null, error: 'error: x' } : { ms, roundMeans: [ms], threads: 2, crowded: false, maxRelErr: 0, ...extra });

  it('passes within the allowed ratio and explains a miss', () => {
    expect(n1.maxRatio).toBe(1.2);
    expect(big.maxRatio).toBe(1.0);
    const pass = contention.judgeContention(n1, { 'quiet-1t': fig(1), 'busy-default': fig(1.19), 'busy-1t': fig(1.1), 'busy-2t': fig(3) });
    expect(pass.status).toBe('PASS');
    expect(pass.ratio).toBeCloseTo(1.19, 10);
    const miss = contention.judgeContention(big, { 'quiet-1t': fig(10), 'busy-default': fig(20), 'busy-1t': fig(9.5), 'busy-2t': fig(20) });
    expect(miss.status).toBe('MISS');
    expect(miss.limit).toMatch(/needs ≤ 10\.0 ms; the default ran 2 threads \(2\.00x\); 1 thread 0\.95x/);
    expect(miss.limit).toMatch(/1 thread meets it: the default's 2 threads are what lose/);
  });

  it('fails on disagreeing outputs, n/a without a figure, † when crowded', () => {
    expect(contention.judgeContention(n1, { 'quiet-1t': fig(1), 'busy-default': fig(1, { maxRelErr: 1 }), 'busy-1t': fig(1), 'busy-2t': fig(1) }).status).toBe('FAIL');
    expect(contention.judgeContention(n1, { 'quiet-1t': fig(1), 'busy-default': fig(null), 'busy-1t': fig(1), 'busy-2t': fig(1) }).status).toBe('n/a');
    expect(contention.judgeContention(n1, { 'quiet-1t': fig(1, { crowded: true }), 'busy-default': fig(1), 'busy-1t': fig(1), 'busy-2t': fig(1) }).status).toBe('PASS †');
  });

  it('judges the median of the rounds\' mean ms per call, not the median of the calls', () => {
    const results: Record<string, any[]> = {};
    // A collapsing pool: most calls fast (median 1), the mean dragged up by the stalled ones.
    for (const c of contention.CONFIGS) {
      results[`avx2 ${c.key}`] = [5, 1, 2].map((m) => ({ meanMs: c.busy ? m * 1.1 : m, medianMs: 1, p90Ms: 3 * m, reps: 3, foreignCores: c.busy ? 1 : 0, threadsUsed: 2 }));
    }
    const [s] = contention.summarize([{ row: n1, results }], ['avx2']);
    expect(s.figures['quiet-1t'].ms).toBe(2);
    expect(s.figures['busy-default'].ms).toBeCloseTo(2.2, 10);
    expect(s.figures['busy-default'].callMedianMs).toBe(1);
    expect(s.figures['busy-default'].p90Ms).toBe(6);
    expect(s.figures['busy-default'].crowded).toBe(false); // the spinner's own core is allowed
    expect(s.status).toBe('PASS');
  });

  it('starts a busy process and kills it', async () => {
    const listeners = process.listenerCount('SIGINT');
    const spinner = await contention.startSpinner();
    expect(() => process.kill(spinner.pid, 0)).not.toThrow();
    expect(process.listenerCount('SIGINT')).toBe(listeners + 1);
    await spinner.stop();
    expect(() => process.kill(spinner.pid, 0)).toThrow();
    expect(process.listenerCount('SIGINT')).toBe(listeners);
  });
});

describe('bench report and chart', () => {
  it('render one table per ISA, the targets with their ISA, and a chart with every ISA', () => {
    const rows = plan.ROWS.map((r: any) => ({ ...row(r, 0.8, 0.78, r.mode === 'training' ? null : 50), label: `${shapeLabel(r.shape)} ${CELL_LABEL[r.cell]}` }));
    const isas = ['avx512', 'avx2'];
    const res = {
      date: '2026-01-01T00:00:00.000Z', quick: true, isas,
      machine: { cpu: 'Test CPU', cores: 2, isaFlags: ['avx2', 'fma', 'avx512f'], platform: 'linux-x64', node: '20', rnnkit: '0', rnnkitIsa: 'avx512', rnnkitThreads: true, ort: '1', tfjs: '4', tfjsWasmThreads: 1 },
      peaks: PEAKS, tolerance: 1e-4, memoryMethod: 'test', timing: {}, rounds: 1, rows, scaling: [], foreignCores: 0,
      targets: targets.evaluateTargets(rows, PEAKS, isas),
    };
    const text = report.render(res);
    expect(text).toMatch(/### Median ms \(min\) per call — rnnkit avx512/);
    expect(text).toMatch(/### Median ms \(min\) per call — rnnkit avx2 \(the AVX2 kernels forced \(RNNKIT_ISA=avx2\) on an AVX-512 machine/);
    expect(text).toMatch(/\| target +\| ISA +\| row/);
    expect(text).toMatch(/avx512: \d+ of \d+ met/);
    const dir = mkdtempSync(join(tmpdir(), 'rnnkit-bench-'));
    try {
      chart.writeSvg(join(dir, 'c.svg'), res);
      const svg = readFileSync(join(dir, 'c.svg'), 'utf8');
      expect(svg).toMatch(/rnnkit avx512 2 threads/);
      expect(svg).toMatch(/rnnkit avx2 1 thread/);
      report.writeJson(join(dir, 'r.json'), res);
      const json = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
      expect(json.rows[0].results['rnnkit-avx2-1t'].isa).toBe('avx2');
      expect(Object.keys(json.rows[0].derived)).toEqual(isas);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench target figures', () => {
  it('show a miss that rounds to the goal with one more digit', () => {
    const training = plan.ROWS.find((r: any) => r.mode === 'training');
    const r = row(training, 0.3, 0.6462, null);
    const t = find(targets.evaluateTargets([r], PEAKS, ['avx2']), 'avx2', /training/, r.label);
    expect(t.status).toBe('MISS');
    expect(t.measured).toBe('64.6% of 2-thread peak (rnnkit 2t)');
  });
});
