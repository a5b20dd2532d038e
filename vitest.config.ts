import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Native addons are not safe under vitest's worker-thread pool.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
