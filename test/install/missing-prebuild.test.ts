/**
 * A tarball with no binary for this platform (the real one less prebuilds/<platform>-<arch>/),
 * installed with --ignore-scripts where there is no compiler: loading it must fail with
 * rnnkit's loader error (issue 13 part 4: code RNNKIT_NO_BINARY, naming the platform, the
 * binaries shipped and the command that builds from source), not node-gyp's. Until the
 * loader is in the package (detected by RNNKIT_NO_BINARY in its dist/), that check is
 * skipped, saying so, and only "fails cleanly, from require and import alike" is checked.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { installState, runOk, userEnv } from './env';

const state = inject('install');
const triple = `${process.platform}-${process.arch}`;
const noLoader = 'the package has no rnnkit loader yet (issue 13 part 4); today the error is node-gyp-build\'s';

interface LoadError {
  via: string;
  loaded: boolean;
  code?: string;
  message?: string;
}

describe('install: no prebuild for this platform', () => {
  const errors: LoadError[] = [];
  beforeAll(() => {
    const s = installState(state);
    const dir = path.join(s.work, 'missing');
    fs.mkdirSync(path.join(dir, 'x'), { recursive: true });
    runOk('tar', ['-xzf', s.tarball, '-C', path.join(dir, 'x')], { cwd: dir });
    fs.rmSync(path.join(dir, 'x', 'package', 'prebuilds', triple), { recursive: true, force: true });
    const tarball = path.join(dir, 'rnnkit-missing.tgz');
    runOk('tar', ['-czf', tarball, '-C', path.join(dir, 'x'), 'package'], { cwd: dir });
    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const env = userEnv(s.bin);
    runOk('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, env });
    const report = (via: string) => `(e) => console.log('RESULT ' + JSON.stringify({ via: '${via}', loaded: false, code: e.code, message: e.message }))`;
    fs.writeFileSync(path.join(app, 'load.cjs'), `try { require('rnnkit'); console.log('RESULT ' + JSON.stringify({ via: 'cjs', loaded: true })); } catch (e) { (${report('cjs')})(e); }`);
    fs.writeFileSync(path.join(app, 'load.mjs'), `import('rnnkit').then(() => console.log('RESULT ' + JSON.stringify({ via: 'esm', loaded: true })), ${report('esm')});`);
    for (const f of ['load.cjs', 'load.mjs']) {
      const out = runOk('node', [f], { cwd: app, env }).stdout;
      errors.push(JSON.parse(out.split('RESULT ')[1]!));
    }
  });

  it('require and import fail with an Error (no crash), the same one', () => {
    for (const e of errors) {
      expect(e.loaded, e.via).toBe(false);
      expect(e.message, e.via).toBeTruthy();
    }
    expect(errors[1]!.message).toBe(errors[0]!.message);
    console.log(`the error (${errors[0]!.code ?? 'no code'}):\n${errors[0]!.message}`);
  });

  it("rnnkit's loader error: code, platform, binaries shipped, glibc, how to build from source", (ctx) => {
    const s = installState(state);
    if (!s.hasLoader) {
      console.log(`skipped: ${noLoader}`);
      return ctx.skip(noLoader);
    }
    const e = errors[0]!;
    expect(e.code).toBe('RNNKIT_NO_BINARY');
    expect(e.message).toContain('rnnkit');
    expect(e.message).toContain(triple);
    if (process.platform === 'linux') expect(e.message).toMatch(/glibc|musl/);
    for (const shipped of new Set(s.listing.map((f) => /^prebuilds\/([^/]+)\/[^/]+\.node$/.exec(f)?.[1]).filter((t) => t && t !== triple))) {
      expect(e.message).toContain(shipped);
    }
    expect(e.message).toMatch(/build:native|--build-from-source|npm rebuild/);
    // Not node-gyp's Python noise: a short message that names what to do.
    expect(e.message!.split('\n').length).toBeLessThan(25);
    expect(e.message).not.toMatch(/gyp ERR|Traceback/);
  });
});
