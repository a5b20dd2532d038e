/**
 * rnnkit's errors: every failure is a TypeError, RangeError or Error with a stable
 * `code` (DESIGN principle 6), whether it is raised in TypeScript or in native code,
 * synchronously or by a rejected Promise. The bad-input fuzz checks the codes of
 * hundreds of malformed calls; this file covers each code and the error API.
 */
import { describe, expect, it } from 'vitest';
import * as rk from '../lib';
import { native } from '../lib/native';
import { uniformArray } from './helpers/random';

async function caught(call: () => unknown): Promise<Error & { code?: unknown }> {
  try {
    await call();
  } catch (e) {
    return e as Error & { code?: unknown };
  }
  throw new Error('expected the call to fail');
}

describe('error codes', () => {
  it('ERROR_CODES lists the stable codes and isRnnkitError recognises them', async () => {
    expect([...rk.ERROR_CODES].sort()).toEqual(
      [
        'RNNKIT_DEVICE',
        'RNNKIT_DISPOSED',
        'RNNKIT_INVALID_ARGUMENT',
        'RNNKIT_INVALID_STATE',
        'RNNKIT_MODEL_FILE',
        'RNNKIT_OUT_OF_MEMORY',
        'RNNKIT_UNSUPPORTED',
        'RNNKIT_QUEUE_FULL',
        'RNNKIT_ABORTED',
        'RNNKIT_TIMEOUT',
        'RNNKIT_CLOSED',
        'RNNKIT_NO_BINARY',
      ].sort(),
    );
    const e = await caught(() => rk.layers.lstm({ units: 0 }));
    expect(rk.isRnnkitError(e)).toBe(true);
    expect(rk.isRnnkitError(new TypeError('foreign'))).toBe(false);
    expect(rk.isRnnkitError(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' }))).toBe(false);
  });

  it('RNNKIT_INVALID_ARGUMENT: TypeError for a wrong kind of value, RangeError for a bad value', async () => {
    const t = await caught(() => rk.layers.gru({ units: 'four' as unknown as number }));
    expect(t).toBeInstanceOf(TypeError);
    expect(t.code).toBe('RNNKIT_INVALID_ARGUMENT');
    expect(t.message).toMatch(/units/);
    const r = await caught(() => rk.tensor(new Float32Array(3), [2, 2]));
    expect(r).toBeInstanceOf(RangeError);
    expect(r.code).toBe('RNNKIT_INVALID_ARGUMENT');
    // An unknown option is a TypeError with the same code, naming the option.
    const o = await caught(() => rk.layers.lstm({ units: 2, resetAfter: true } as never));
    expect(o).toBeInstanceOf(TypeError);
    expect(o.code).toBe('RNNKIT_INVALID_ARGUMENT');
    expect(o.message).toMatch(/resetAfter/);
  });

  it('a long bad value is quoted as a short prefix', async () => {
    const e = await caught(() => rk.layers.lstm({ units: 2, activation: 'x'.repeat(100_000) as never }));
    expect(e.code).toBe('RNNKIT_INVALID_ARGUMENT');
    expect(e.message.length).toBeLessThan(400);
  });

  it('RNNKIT_DISPOSED: a disposed tensor, synchronously and in an async call', async () => {
    const x = rk.tensor(uniformArray(1, 2 * 3 * 4), [2, 3, 4]);
    x.dispose();
    const s = await caught(() => x.dataSync());
    expect(s.code).toBe('RNNKIT_DISPOSED');
    const layer = rk.layers.lstm({ units: 3, seed: 1 });
    const a = await caught(() => layer.forward(x));
    expect(a.code).toBe('RNNKIT_DISPOSED');
    expect(a.message).toMatch(/disposed/);
    layer.dispose();
  });

  it('RNNKIT_DISPOSED: backward after the forward pass was disposed', async () => {
    const layer = rk.layers.gru({ units: 3, seed: 2 });
    const x = rk.tensor(uniformArray(2, 2 * 3 * 4), [2, 3, 4]);
    const fwd = await layer.forward(x, { training: true });
    const dOutput = rk.tensor(uniformArray(3, 2 * 3), [2, 3]);
    fwd.dispose();
    const e = await caught(() => layer.backward(fwd, { dOutput }));
    expect(e.code).toBe('RNNKIT_DISPOSED');
    layer.dispose();
  });

  it('RNNKIT_INVALID_STATE: calls in the wrong order', async () => {
    const model = rk.sequential([rk.layers.lstm({ units: 2, inputShape: [3, 2], seed: 3 }), rk.layers.dense({ units: 1, seed: 4 })]);
    const x = rk.tensor(uniformArray(5, 4 * 3 * 2), [4, 3, 2]);
    const y = rk.tensor(uniformArray(6, 4), [4, 1]);
    const e = await caught(() => model.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 }));
    expect(e.code).toBe('RNNKIT_INVALID_STATE');
    expect(e.message).toMatch(/compile/);
    const unbuilt = await caught(() => rk.layers.dense({ units: 2 }).getWeights());
    expect(unbuilt.code).toBe('RNNKIT_INVALID_STATE');
    model.dispose();
  });

  it('RNNKIT_UNSUPPORTED: valid requests rnnkit does not do', async () => {
    const d = await caught(() => rk.layers.lstm({ units: 2, dropout: 0.5 }));
    expect(d).toBeInstanceOf(RangeError);
    expect(d.code).toBe('RNNKIT_UNSUPPORTED');
    const available = rk.backends().find((b) => b.name === 'cuda')?.available;
    if (!available) {
      const c = await caught(() => rk.setBackend('cuda'));
      expect(c.code).toBe('RNNKIT_UNSUPPORTED');
      expect(c.message).toMatch(/cuda/);
    }
  });

  it('errors raised at the N-API boundary carry codes, synchronously and from worker threads', async () => {
    // The addon checks its own arguments too (the public API checks first, so this calls it
    // directly): a synchronous native TypeError / RangeError ...
    const shape = await caught(() => new native.NativeTensor(new Float32Array(3), [2, 2], 'cpu'));
    expect(shape).toBeInstanceOf(RangeError);
    expect(shape.code).toBe('RNNKIT_INVALID_ARGUMENT');
    const kind = await caught(() => new native.NativeTensor([1, 2] as unknown as Float32Array, [2], 'cpu'));
    expect(kind).toBeInstanceOf(TypeError);
    expect(kind.code).toBe('RNNKIT_INVALID_ARGUMENT');
    // ... and a rejection settled after work on a libuv thread.
    const layer = rk.layers.simpleRNN({ units: 2, seed: 7, inputShape: [3, 2] });
    const fwd = await layer.forward(rk.tensor(uniformArray(8, 3 * 2), [1, 3, 2]), { training: true });
    const badGrad = new native.NativeTensor(uniformArray(9, 5), [5], 'cpu');
    const rejected = await caught(() => native.rnnBackward(fwd.reserve!, badGrad, null, null));
    expect(rejected.code).toBe('RNNKIT_INVALID_ARGUMENT');
    layer.dispose();
  });
});
