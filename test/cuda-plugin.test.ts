/**
 * The CUDA device plugin without a GPU (DESIGN principle 3): builds the emulated plugin
 * (the native/cuda sources compiled by g++ against native/cuda/emulation.h), the fake
 * libcublas.so.13 and rnnkit_cuda_check with CMake, then runs the check: every entry of the
 * CUDA ops table against the CPU device, the cuBLAS loader's reasons, and, when
 * build-cuda/rnnkit_cuda.so was built (`npm run build:cuda`, CI), that the real plugin loads
 * here and says why it cannot run. The nvcc build of every architecture takes about 1.5
 * minutes on 2 cores, so it is a separate step (scripts/build-cuda.sh, check:cuda), not part
 * of this test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');
const buildDir = path.join(root, 'build-cuda');

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

const cmake = has('cmake');
if (!cmake) console.warn('cuda-plugin.test.ts: skipped: cmake is not installed, so the emulated CUDA plugin cannot be built');

describe.skipIf(!cmake)('CUDA device plugin (emulated on the CPU)', () => {
  it('builds and matches the CPU device on every entry', { timeout: 300_000 }, () => {
    const started = Date.now();
    // One compile job: the other suites run beside this one (timing tests among them).
    execFileSync('bash', ['scripts/build-cuda.sh', '--emulated-only'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, JOBS: '1' },
    });
    const buildSeconds = (Date.now() - started) / 1000;
    console.log(`emulated CUDA plugin and check built in ${buildSeconds.toFixed(1)} s`);

    const run = spawnSync(path.join(buildDir, 'rnnkit_cuda_check'), [], { cwd: root, encoding: 'utf8', env: { ...process.env, RNNKIT_CUBLAS: '' } });
    const out = run.stdout;
    if (run.status !== 0) console.log(out, run.stderr);
    expect(run.status).toBe(0);
    expect(out.trim().split('\n').pop()).toBe('ALL OK');

    // One line per op: every entry of the ABI was run, none failed.
    const lines = new Map<string, { ok: boolean; cases: number; err: number }>();
    for (const m of out.matchAll(/^(\S.*?)\s+(OK|FAIL)\s+cases=(\d+)\s+(?:exact, )?\S+=(\S+)/gm))
      lines.set(m[1]!, { ok: m[2] === 'OK', cases: Number(m[3]), err: Number(m[4]) });
    const entries = [
      'alloc/copy/release', 'memory_stats', 'fill', 'gemm', 'recurrent_*, pack_b (optional: none; per-step loop, plain gemm)', 'permute_steps',
      'reverse_valid_steps', 'cell_forward', 'cell_backward', 'sum_rows', 'sum_squares', 'axpby', 'multiply', 'clamp',
      'copy_2d', 'bias_activation', 'activation_backward', 'loss (gradient)', 'loss (value)', 'optimizer_step',
      'count_correct', 'embedding_forward', 'embedding_backward', 'dropout (mask and output)', 'gather_rows',
      'transpose_2d',
    ];
    for (const e of entries) {
      const line = lines.get(e);
      expect(line, e).toBeDefined();
      expect(line!.ok, e).toBe(true);
      expect(line!.cases, e).toBeGreaterThan(0);
      expect(line!.err, e).toBeLessThanOrEqual(1e-5);
    }
    for (const exact of ['permute_steps', 'reverse_valid_steps', 'copy_2d', 'embedding_forward', 'embedding_backward',
      'dropout (mask and output)', 'count_correct', 'alloc/copy/release', 'gather_rows', 'transpose_2d'])
      expect(lines.get(exact)!.err, exact).toBe(0);
    expect(lines.get('cell_forward')!.cases).toBeGreaterThan(1000);

    // The loader: fake cuBLAS found beside the plugin and through RNNKIT_CUBLAS; pointing
    // nowhere gives the reason with what was tried.
    expect(out).toMatch(/^emulated, fake cuBLAS found beside it\s+OK/m);
    expect(out).toMatch(/^emulated, RNNKIT_CUBLAS=<fake>\s+OK/m);
    expect(out).toMatch(/^emulated, RNNKIT_CUBLAS pointing nowhere\s+OK/m);
    expect(out).toMatch(/reason: cuBLAS not found \(tried \/nonexistent\/rnnkit\/libcublas\.so\.13/);
    expect(out).toMatch(/emulated plugin: emulated on the CPU/);
    // The reasons of machines we do not have, simulated by the emulated plugin.
    for (const name of ['as without a driver', 'as with an old driver', 'as without a device', 'as out of memory for the context'])
      expect(out).toMatch(new RegExp(`^emulated, ${name}\\s+OK`, 'm'));
    expect(out).toMatch(/reason: the NVIDIA driver supports CUDA 12\.8 but this plugin's runtime needs CUDA 13\.0/);

    // Results must not depend on the grid: every grid-stride launch capped at 3 blocks of 32
    // threads, so the loops stride on this small data too.
    const small = spawnSync(path.join(buildDir, 'rnnkit_cuda_check'), ['--grid', '3x32'], { cwd: root, encoding: 'utf8' });
    if (small.status !== 0) console.log(small.stdout, small.stderr);
    expect(small.status).toBe(0);
    expect(small.stdout.trim().split('\n').pop()).toBe('ALL OK');

    if (fs.existsSync(path.join(buildDir, 'rnnkit_cuda.so'))) {
      expect(out).toMatch(/^real plugin loads, says why it cannot run\s+OK/m);
    } else {
      console.log('build-cuda/rnnkit_cuda.so is not built (npm run build:cuda): the real plugin is not checked here');
    }
  });
});
