/**
 * Setup of the emulated-CUDA test project (vitest.config.ts): every tensor and layer of the
 * numeric suites runs on the CUDA device plugin's code, compiled for the CPU
 * (build-cuda/rnnkit_cuda_emu.so, named by RNNKIT_CUDA_PLUGIN). Fails loudly if the plugin
 * did not load, so the project can never quietly test the CPU device instead.
 */
import { beforeAll, expect } from 'vitest';
import * as rk from '../../lib';

beforeAll(() => {
  const cuda = rk.backends().find((b) => b.name === 'cuda');
  expect(cuda?.available, cuda?.reason).toBe(true);
  expect(cuda?.reason).toMatch(/emulated/);
  rk.setBackend('cuda');
  expect(rk.getBackend()).toBe('cuda');
  expect(rk.tensor([1, 2], [2]).device).toBe('cuda');
});
