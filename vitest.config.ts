import { existsSync, readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { cpuPathProject, cpuPaths, type CpuPath } from './test/helpers/cpu-paths';

// The numeric suites run once per CPU path (instruction set × threads, the plain per-step
// loop with the fused recurrence turned off, and the fused recurrence split by batch rows
// instead of units), so every kernel and work split the dispatcher can pick is checked
// against the references. Only instruction sets this CPU has are run.
const numericSuites = [
  'test/forward.test.ts',
  'test/gradients.test.ts',
  'test/parity-tfjs.test.ts',
  'test/parity-onnx.test.ts',
  'test/sequences.test.ts',
  'test/clip.test.ts',
  'test/dense.test.ts',
  'test/training.test.ts',
  'test/layers-extra.test.ts',
  'test/sizes.test.ts',
  'test/reshaping.test.ts',
  'test/masking.test.ts',
  'test/merge.test.ts',
  'test/normalization.test.ts',
  'test/activation.test.ts',
  'test/spatial-dropout.test.ts',
  'test/conv1d.test.ts',
  'test/pooling1d.test.ts',
];

function cpuFlags(): string {
  return existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
}

function extraPaths(): CpuPath[] {
  const isas = ['generic'];
  if (process.arch === 'x64') {
    const flags = cpuFlags();
    if (/\bavx2\b/.test(flags) && /\bfma\b/.test(flags)) isas.push('avx2');
    if (/\bavx512f\b/.test(flags)) isas.push('avx512');
  }
  // Every arm64 CPU has Advanced SIMD (under qemu-user /proc/cpuinfo is the host's).
  if (process.arch === 'arm64') isas.push('neon');
  return cpuPaths(isas, true);
}

// The CUDA device plugin's sources compiled for the CPU (scripts/build-cuda.sh; npm install
// builds it where cmake is found): the numeric suites run once more on the CUDA device's code.
const emulatedCuda = 'build-cuda/rnnkit_cuda_emu.so';
const cudaProjects = existsSync(emulatedCuda)
  ? [
      {
        extends: true,
        test: {
          name: 'cuda-emulated',
          // The numeric suites, plus models, training loops and model files on the device.
          include: [...numericSuites, 'test/models.test.ts', 'test/models-extra.test.ts', 'test/fit.test.ts', 'test/tfjs-format.test.ts', 'test/masks.test.ts', 'test/functional-models.test.ts', 'test/functional-training.test.ts', 'test/serving-batcher.test.ts', 'test/serving-sessions.test.ts'],
          env: { RNNKIT_CUDA_PLUGIN: emulatedCuda },
          setupFiles: ['test/helpers/cuda-emulated.ts'],
        },
      },
    ]
  : [];

export default defineConfig({
  test: {
    // Native addons are not safe under vitest's worker-thread pool.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      // test/install/ runs on its own (npm run test:install, vitest.install.config.ts).
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'], exclude: ['test/install/**', '**/node_modules/**'] } },
      ...extraPaths().map((path) => cpuPathProject(path, numericSuites)),
      ...cudaProjects,
    ],
  },
});
