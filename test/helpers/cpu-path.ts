/**
 * Setup of the per-CPU-path test projects (vitest.config.ts): pins the instruction set and
 * thread count named in the environment, and fails loudly if they did not take effect.
 */
import { beforeAll, expect } from 'vitest';
import * as rk from '../../lib';

beforeAll(() => {
  const isa = process.env.RNNKIT_ISA as rk.Isa;
  const threads = Number(process.env.RNNKIT_NUM_THREADS);
  rk.setIsa(isa);
  rk.setNumThreads(threads);
  expect(rk.getIsa()).toBe(isa);
  expect(rk.getNumThreads()).toBe(threads);
});
