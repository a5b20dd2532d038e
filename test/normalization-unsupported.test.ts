/**
 * A device whose table lacks the normalization entries (the emulated CUDA plugin with
 * RNNKIT_CUDA_EMULATE=no-normalization, set before the plugin loads; this file runs in its
 * own process): the layers refuse with RNNKIT_UNSUPPORTED naming the op and the device.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const plugin = path.resolve(__dirname, '..', 'build-cuda', 'rnnkit_cuda_emu.so');

describe.skipIf(!existsSync(plugin))('a device without the normalization entries', () => {
  it('refuses layer and batch normalization with RNNKIT_UNSUPPORTED; the other layers still run', async () => {
    process.env.RNNKIT_CUDA_PLUGIN = plugin;
    process.env.RNNKIT_CUDA_EMULATE = 'no-normalization';
    const rk = await import('../lib');
    const cuda = rk.backends().find((b) => b.name === 'cuda');
    expect(cuda?.available, cuda?.reason).toBe(true);
    rk.setBackend('cuda');
    const x = rk.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const ln = rk.layers.layerNormalization({});
    await expect(ln.run([x], { training: false, masks: [null] })).rejects.toMatchObject({
      code: 'RNNKIT_UNSUPPORTED',
      message: expect.stringMatching(/layer_norm_forward is not available on the cuda device/),
    });
    const bn = rk.layers.batchNormalization({});
    await expect(bn.run([x], { training: true, masks: [null] })).rejects.toMatchObject({
      code: 'RNNKIT_UNSUPPORTED',
      message: expect.stringMatching(/batch_norm_statistics is not available on the cuda device/),
    });
    await expect(bn.run([x], { training: false, masks: [null] })).rejects.toMatchObject({ code: 'RNNKIT_UNSUPPORTED' });
    const act = await rk.layers.activation({ activation: 'relu' }).run([x], { training: false, masks: [null] });
    expect(Array.from(act.outputs[0]!.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    // The CPU device has them.
    rk.setBackend('cpu');
    const onCpu = rk.layers.layerNormalization({});
    const pass = await onCpu.run([rk.tensor([1, 2, 3], [1, 3])], { training: false, masks: [null] });
    expect(pass.outputs[0]!.device).toBe('cpu');
  });
});
