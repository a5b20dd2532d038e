/**
 * A strict TypeScript user of the installed package (test/install/consumers.ts): typescript
 * run from the repository's node_modules (not installed into the project), @types/node as a
 * Node user has it. Under `nodenext` (an ESM .mts and a CommonJS .cts) the program is checked
 * with `--strict` and skipLibCheck off, so the package's own .d.ts files are checked too, and
 * emitted only when there is no error (noEmitOnError: one tsc run is `tsc --strict --noEmit`
 * and the emit); under `node10` (CommonJS, `types`/`main` resolution) the same with
 * skipLibCheck on, the .d.ts files being checked already. Then the compiled programs run.
 */
import * as path from 'node:path';
import { describe, inject, it } from 'vitest';
import { expectMatches, installState, repo, runConsumer, runOk, userEnv } from './env';

const state = inject('install');
const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

describe('install: strict TypeScript consumer', () => {
  it('nodenext (ESM .mts and CommonJS .cts): tsc --strict passes on the program and the package types; both run and match', () => {
    const s = installState(state);
    const env = userEnv(s.bin);
    runOk('node', [tsc, '-p', 'ts/tsconfig.json', '--strict'], { cwd: s.app, env });
    for (const out of ['out/nodenext/consumer.mjs', 'out/nodenext/consumer.cjs']) {
      expectMatches(runConsumer('node', [out], { cwd: s.app, env }), s.reference.default);
    }
  });

  it('node10 (CommonJS, resolved through "types"/"main"): tsc --strict passes; it runs and matches', () => {
    const s = installState(state);
    const env = userEnv(s.bin);
    runOk('node', [tsc, '-p', 'ts/node10/tsconfig.json', '--strict', '--skipLibCheck'], { cwd: s.app, env });
    expectMatches(runConsumer('node', ['out/node10/consumer.js'], { cwd: s.app, env }), s.reference.default);
  });
});
