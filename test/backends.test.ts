/**
 * rk.backends() / rk.setBackend('cuda') and the device registry behind them: where the CUDA
 * plugin is looked for, every way loading it can fail (each with its exact reason and a
 * RNNKIT_UNSUPPORTED error from setBackend), and a working plugin. The registry loads the
 * plugin once per process, so each RNNKIT_CUDA_PLUGIN case runs in a child process
 * (test/helpers/backend-child.cjs, which reads dist/: run `npx tsc -p tsconfig.json` first).
 *
 * The plugins are built here with the system C++ compiler from test/fixtures/plugins/: the
 * working one is the CPU device's own sources (native/cpu) under the name "cuda", about 10 s
 * at -O1; RK_FAKE_PLUGIN_MODE bends it into each broken or limited variant.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { useTempDirs } from './helpers/temp-dirs';

const root = path.join(__dirname, '..');
const child = path.join(__dirname, 'helpers', 'backend-child.cjs');
const compiler = process.env.CXX ?? 'c++';
const hasCompiler = spawnSync(compiler, ['--version']).status === 0;

interface Failure {
  name: string;
  code?: string;
  message: string;
}
interface ChildResult {
  mappedBeforeUse: boolean;
  mappedAfterUse?: boolean;
  backends: rk.BackendInfo[];
  loadMs: number;
  setBackendError: Failure | null;
  cpu?: { output: number[]; dInput: number[]; dWeights: number[][]; norm: number; predicted: number[] };
  cuda?: { output: number[]; dInput: number[]; dWeights: number[][]; norm: number; predicted: number[]; devices: string[] };
  mixForward?: Failure | null;
  mixClip?: Failure | null;
  conv?: Failure | { shape: number[] };
}

function runChild(plugin: string, mode = '', action = 'status'): ChildResult {
  const r = spawnSync(process.execPath, [child, action], {
    env: { ...process.env, RNNKIT_CUDA_PLUGIN: plugin, RK_FAKE_PLUGIN_MODE: mode },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

function cuda(result: ChildResult): rk.BackendInfo {
  return result.backends.find((b) => b.name === 'cuda')!;
}

// Unavailable with exactly `reason`, and setBackend('cuda') throws it with RNNKIT_UNSUPPORTED.
function expectUnavailable(result: ChildResult, reason: string): void {
  expect(result.backends).toEqual([
    { name: 'cpu', available: true },
    { name: 'cuda', available: false, reason },
  ]);
  expect(result.setBackendError).toEqual({
    name: 'Error',
    code: 'RNNKIT_UNSUPPORTED',
    message: `setBackend: backend 'cuda' is unavailable: ${reason}`,
  });
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

describe('backends', () => {
  it('lists cpu, and cuda with the paths it tried when no plugin is found', () => {
    const list = rk.backends();
    expect(list[0]).toEqual({ name: 'cpu', available: true });
    expect(list[1]!.name).toBe('cuda');
    // This checkout may hold a built plugin (build-cuda/); without one the reason lists both places.
    if (!list[1]!.available && /not found/.test(list[1]!.reason ?? '')) {
      expect(list[1]!.reason).toMatch(
        /^the CUDA device plugin was not found \(tried: \/.*\/rnnkit_cuda\.so, \/.*\/build-cuda\/rnnkit_cuda\.so\)$/,
      );
    }
  });
});

describe.skipIf(!hasCompiler)(`backends with built plugins${hasCompiler ? '' : ` (skipped: no C++ compiler '${compiler}')`}`, () => {
  const freshDir = useTempDirs('backends');
  let dir = '';
  let fake = '';
  let noEntry = '';

  beforeAll(() => {
    dir = freshDir();
    fake = path.join(dir, 'fake_cuda.so');
    noEntry = path.join(dir, 'no_entry.so');
    const cpuSources = readdirSync(path.join(root, 'native', 'cpu'))
      .filter((f) => f.endsWith('.cpp'))
      .map((f) => path.join(root, 'native', 'cpu', f));
    const flags = ['-std=c++17', '-O1', '-shared', '-fPIC', '-fvisibility=hidden', '-pthread', `-I${root}`];
    for (const [out, sources] of [
      [fake, [path.join(root, 'test/fixtures/plugins/fake_cuda.cpp'), ...cpuSources]],
      [noEntry, [path.join(root, 'test/fixtures/plugins/no_entry.cpp')]],
    ] as const) {
      const r = spawnSync(compiler, [...flags, ...sources, '-o', out], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`building ${out} failed:\n${r.stderr}`);
    }
  });

  it('reports a missing file with the path it tried', () => {
    const missing = path.join(dir, 'absent.so');
    expectUnavailable(runChild(missing), `the CUDA device plugin named by RNNKIT_CUDA_PLUGIN was not found (tried: ${missing})`);
    // A bare name is a file in the working directory, not a search of the library path.
    expectUnavailable(runChild('absent.so'), 'the CUDA device plugin named by RNNKIT_CUDA_PLUGIN was not found (tried: ./absent.so)');
  });

  it("reports dlopen's error for a file that is not a shared library", () => {
    const text = path.join(dir, 'not_elf.so');
    writeFileSync(text, 'this is not an ELF shared library\n'.repeat(8));
    expectUnavailable(runChild(text), `cannot load the CUDA device plugin: ${text}: invalid ELF header`);
  });

  it('reports a library without the entry symbol', () => {
    expectUnavailable(runChild(noEntry), `the CUDA device plugin ${noEntry} does not export rk_get_device_ops`);
  });

  it('reports an entry that returns no table', () => {
    expectUnavailable(
      runChild(fake, 'no-table'),
      `the CUDA device plugin ${fake}: rk_get_device_ops returned no device table`,
    );
  });

  it('reports an ABI version it does not support, with both numbers', () => {
    expectUnavailable(
      runChild(fake, 'abi-99'),
      `the CUDA device plugin ${fake} has device ABI version 99; this rnnkit supports versions 1 to 6`,
    );
  });

  it('reports every null mandatory entry by name', () => {
    expectUnavailable(
      runChild(fake, 'null-entries'),
      `the CUDA device plugin ${fake} lacks mandatory entries: gemm, dropout`,
    );
  });

  it('reports a plugin for another device', () => {
    expectUnavailable(runChild(fake, 'name-cpu'), `the CUDA device plugin ${fake} provides the device 'cpu', expected 'cuda'`);
  });

  it("gives the plugin's own reason when it cannot run here", () => {
    expectUnavailable(runChild(fake, 'unavailable'), 'no NVIDIA driver (test plugin)');
    expectUnavailable(
      runChild(fake, 'unavailable-silent'),
      `the CUDA device plugin ${fake} cannot run on this machine (it gave no reason)`,
    );
  });

  it("lists a usable plugin as available with its note as the reason", () => {
    const r = runChild(fake, 'noted');
    expect(cuda(r)).toEqual({ name: 'cuda', available: true, reason: 'emulated on the CPU (test plugin)' });
    expect(r.setBackendError).toBeNull();
  });

  it('finds the plugin beside the addon binary, then in build-cuda/ at the package root', () => {
    // A copy of the addon in a scratch package: build/Release/rnnkit.node.
    const pkg = freshDir();
    const release = path.join(pkg, 'build', 'Release');
    mkdirSync(release, { recursive: true });
    mkdirSync(path.join(pkg, 'build-cuda'));
    const addon = path.join(release, 'rnnkit.node');
    copyFileSync(path.join(root, 'build', 'Release', 'rnnkit.node'), addon);
    const env = { ...process.env };
    delete env.RNNKIT_CUDA_PLUGIN;
    const status = (): rk.BackendInfo => {
      const r = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(addon)}).backends()[1]))`], {
        env: { ...env, RK_FAKE_PLUGIN_MODE: 'noted' },
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as rk.BackendInfo;
    };
    const beside = path.join(release, 'rnnkit_cuda.so');
    const dev = path.join(pkg, 'build-cuda', 'rnnkit_cuda.so');
    expect(status()).toEqual({
      name: 'cuda',
      available: false,
      reason: `the CUDA device plugin was not found (tried: ${beside}, ${dev})`,
    });
    copyFileSync(fake, dev);
    expect(status()).toMatchObject({ available: true });
    // Beside the addon comes first: a broken copy there hides the one in build-cuda/.
    copyFileSync(noEntry, beside);
    expect(status().reason).toBe(`the CUDA device plugin ${beside} does not export rk_get_device_ops`);
  });

  const modes: Record<string, string> = {
    '': '',
    'v1-plain': ' (v1-plain: version 1 table, no packed GEMM, per-tensor norms)',
    'v2-plain': ' (v2-plain: version 2 table, rows and gradient layouts by the core fallbacks)',
    'v3-plain': ' (v3-plain: version 3 table, no layers beyond the recurrent ones)',
  };
  for (const [mode, title] of Object.entries(modes)) {
    it(`runs an LSTM on a working plugin as on the CPU${title}`, () => {
      const r = runChild(fake, mode, 'run');
      // Lazy: requiring rnnkit does not load the plugin; the first rk.backends() does.
      expect(r.mappedBeforeUse).toBe(false);
      expect(r.mappedAfterUse).toBe(true);
      expect(r.loadMs).toBeLessThan(100);
      expect(r.backends).toEqual([
        { name: 'cpu', available: true },
        { name: 'cuda', available: true },
      ]);
      expect(r.setBackendError).toBeNull();
      const { cpu, cuda: dev } = r;
      expect(dev!.devices.every((d) => d === 'cuda')).toBe(true);
      // The same kernels, compiled at -O1 here and -O3 in the addon: equal to float rounding.
      expect(maxAbsDiff(dev!.output, cpu!.output)).toBeLessThan(1e-6);
      expect(maxAbsDiff(dev!.dInput, cpu!.dInput)).toBeLessThan(1e-6);
      dev!.dWeights.forEach((g, i) => expect(maxAbsDiff(g, cpu!.dWeights[i]!)).toBeLessThan(1e-5));
      expect(dev!.predicted).toHaveLength(3 * 2);
      expect(maxAbsDiff(dev!.predicted, cpu!.predicted)).toBeLessThan(1e-6);
      // The global norm, against the gradients' values summed here in double.
      const expected = Math.sqrt(dev!.dWeights.flat().reduce((s, v) => s + v * v, 0));
      expect(dev!.norm).toBeCloseTo(expected, 4);
      expect(r.mixForward).toEqual({ name: 'TypeError', code: 'RNNKIT_INVALID_ARGUMENT', message: 'x is on cpu, expected cuda' });
      expect(r.mixClip).toMatchObject({ name: 'TypeError', code: 'RNNKIT_INVALID_ARGUMENT' });
      expect(r.mixClip!.message).toMatch(/different devices \(cpu and cuda\)/);
      if (mode !== '') {
        expect(r.conv).toMatchObject({ code: 'RNNKIT_UNSUPPORTED' });
        expect((r.conv as Failure).message).toMatch(/window_gather_1d.*cuda|cuda.*window_gather_1d/);
      } else {
        expect(r.conv).toEqual({ shape: [2, 4, 2] });
      }
    });
  }
});
