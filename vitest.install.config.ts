import { defineConfig } from 'vitest/config';

// `npm run test:install`: the package as users install it (test/install/setup.ts packs and
// installs once; the test files run the installed project from CJS, ESM and TypeScript, under
// Node 18 and 22, on arm64 under qemu-aarch64 and without AVX under qemu-x86_64 -cpu Nehalem).
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/install/**/*.test.ts'],
    globalSetup: ['test/install/setup.ts'],
    // qemu runs Node many times slower than the host.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
