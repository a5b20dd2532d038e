/**
 * The installed package on an x86-64 CPU without AVX: the host's Node under
 * `qemu-x86_64 -cpu Nehalem` (SSE4.2, no AVX). The addon must pick the portable 'generic'
 * kernels by itself and give the reference's numbers.
 */
import { describe, expect, inject, it } from 'vitest';
import { expectMatches, installState, runConsumer, userEnv } from './env';

const state = inject('install');

describe.skipIf(process.arch !== 'x64')('install: x86-64 without AVX (qemu-x86_64 -cpu Nehalem)', () => {
  for (const script of ['forward.cjs', 'forward-namespace.mjs']) {
    it(`${script} runs the generic kernels and matches`, (ctx) => {
      const s = installState(state);
      if (s.qemuX64.skip) {
        console.log(`skipped: ${s.qemuX64.skip}`);
        return ctx.skip(s.qemuX64.skip);
      }
      const r = runConsumer(s.qemuX64.path!, ['-cpu', 'Nehalem', process.execPath, script], { cwd: s.app, env: userEnv(s.bin), timeoutMs: 300_000 });
      expect(r.isa).toBe('generic');
      expect(r.isas).toEqual(['generic']);
      expectMatches(r, s.reference.generic);
      expectMatches(r, s.reference.default);
    });
  }
});
