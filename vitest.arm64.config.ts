import { defineConfig } from 'vitest/config';
import { cpuPathProject, cpuPaths } from './test/helpers/cpu-paths';

// `npm run test:arm64` (scripts/test-arm64.sh): the cross-built arm64 addon under qemu-aarch64.
// The suites that exercise the CPU kernels (GEMM, fused recurrence, cells, clipping, dense)
// run on each CPU path as vitest.config.ts names them: 'neon' and 'generic' at 1 and 2
// threads, and on 'neon' the per-step loop, the rows split and the units split, at the same
// tolerances as on x86-64.
const kernelSuites = [
  'test/forward.test.ts',
  'test/gradients.test.ts',
  'test/sequences.test.ts',
  'test/training.test.ts',
  'test/sizes.test.ts',
  'test/dense.test.ts',
  'test/clip.test.ts',
];

const paths = cpuPaths(['generic', 'neon'], false);

export default defineConfig({
  test: {
    pool: 'forks',
    // qemu runs both the JavaScript and the kernels many times slower than the host.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    projects: [
      // The instruction sets the arm64 build offers ('neon' first) and the settings' checks.
      { extends: true, test: { name: 'arm64', include: ['test/cpu-settings.test.ts'] } },
      ...paths.map((path) => cpuPathProject(path, kernelSuites)),
    ],
  },
});
