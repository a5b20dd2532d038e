import { defineConfig } from 'vitest/config';

// Slow suites (fuzzers, soaks, worker terminations at scale): `npm run test:stress`.
// `npm test` runs a smaller seeded slice of each from test/*.test.ts.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/stress/**/*.stress.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
  },
});
