/**
 * rk.loadModel under thousands of seeded hostile model files (see test/helpers/model-fuzz.ts):
 * no crash, no hang, no load of anything outside the model's folder, every error coded
 * RNNKIT_MODEL_FILE. Needs the compiled package: `npx tsc -p tsconfig.json`.
 * RNNKIT_FUZZ_COUNT and RNNKIT_FUZZ_SEED change the run.
 */
import { describe, it, expect } from 'vitest';
import { runModelFuzz, summarize } from '../helpers/model-fuzz';

describe('loadModel under the model-file fuzzer', () => {
  it('survives thousands of mutated model files', async () => {
    const count = Number(process.env.RNNKIT_FUZZ_COUNT ?? 10_000);
    const seed = Number(process.env.RNNKIT_FUZZ_SEED ?? 20261206);
    const r = await runModelFuzz({ seed, count });
    // eslint-disable-next-line no-console
    console.log(`model fuzz (seed ${seed}): ${summarize(r)}`);
    // eslint-disable-next-line no-console
    console.log(Object.entries(r.byKind).sort().map(([k, v]) => `  ${k}: ${v.loaded} loaded, ${v.rejected} rejected${v.example ? ` (e.g. ${v.example.slice(0, 160)})` : ''}`).join('\n'));
    const show = (xs: { mutations: string[] }[]) => xs.slice(0, 5).map((c) => c.mutations.join('; '));
    expect(show(r.crashes)).toEqual([]);
    expect(show(r.hangs)).toEqual([]);
    expect(show(r.escapes)).toEqual([]);
    expect(r.uncoded.slice(0, 5).map(({ c, v }) => `${c.mutations.join('; ')} -> ${v.name}: ${v.message}`)).toEqual([]);
    expect(r.miscoded.slice(0, 5).map(({ c, v }) => `${c.mutations.join('; ')} -> ${v.code}: ${v.message}`)).toEqual([]);
    expect(r.slow.slice(0, 5).map(({ c, v }) => `${c.mutations.join('; ')} -> ${v.ms} ms`)).toEqual([]);
    expect(r.loaded).toBeGreaterThan(0);
    expect(r.rejected).toBeGreaterThan(0);
  });
});
