import { existsSync, readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// The numeric suites run once per CPU path (instruction set × threads), so every kernel the
// dispatcher can pick is checked against the references. Only paths this CPU has are run.
const numericSuites = [
  'test/forward.test.ts',
  'test/gradients.test.ts',
  'test/parity-tfjs.test.ts',
  'test/parity-onnx.test.ts',
  'test/sequences.test.ts',
  'test/clip.test.ts',
];

function cpuFlags(): string {
  return existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
}

function extraPaths(): { isa: string; threads: number }[] {
  const flags = cpuFlags();
  const isas = ['generic'];
  if (/\bavx2\b/.test(flags) && /\bfma\b/.test(flags)) isas.push('avx2');
  if (/\bavx512f\b/.test(flags)) isas.push('avx512');
  const paths = isas.flatMap((isa) => [1, 2].map((threads) => ({ isa, threads })));
  // The default project already runs the best instruction set on every thread.
  return paths.filter((p) => !(p.isa === isas[isas.length - 1] && p.threads === 2));
}

export default defineConfig({
  test: {
    // Native addons are not safe under vitest's worker-thread pool.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      ...extraPaths().map(({ isa, threads }) => ({
        extends: true,
        test: {
          name: `${isa}-${threads}t`,
          include: numericSuites,
          env: { RNNKIT_ISA: isa, RNNKIT_NUM_THREADS: String(threads) },
          setupFiles: ['test/helpers/cpu-path.ts'],
        },
      })),
    ],
  },
});
