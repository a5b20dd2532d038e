/**
 * The install path users get: the packed tarball carries a prebuilt addon, so installing
 * it with no install scripts at all (npm 11's allowScripts policy) still loads and runs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });

describe('install', () => {
  it('installs from the packed tarball with --ignore-scripts and runs from the prebuilt binary', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-install-'));
    try {
      // A copy of the tracked sources plus the compiled dist/, packed with its prebuild.
      const pkg = path.join(work, 'pkg');
      const files = run('git', ['ls-files'], root).trim().split('\n');
      for (const f of [...files, ...listFiles(path.join(root, 'dist')).map((f) => path.relative(root, f))]) {
        const src = path.join(root, f);
        if (!fs.existsSync(src)) continue;
        fs.mkdirSync(path.dirname(path.join(pkg, f)), { recursive: true });
        fs.copyFileSync(src, path.join(pkg, f));
      }
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
      run('npx', ['prebuildify', '--napi', '--strip'], pkg);
      // The CUDA plugin, where nvcc built it, ships beside the prebuilt addon.
      const realPlugin = path.join(root, 'build-cuda', 'rnnkit_cuda.so');
      const shipsPlugin = fs.existsSync(realPlugin);
      if (shipsPlugin) {
        fs.mkdirSync(path.join(pkg, 'build-cuda'));
        fs.copyFileSync(realPlugin, path.join(pkg, 'build-cuda', 'rnnkit_cuda.so'));
        run('bash', ['scripts/prebuild-cuda-plugin.sh'], pkg);
      }
      const tarball = run('npm', ['pack', '--ignore-scripts', '--silent'], pkg).trim().split('\n').pop()!;
      const listing = run('tar', ['-tzf', path.join(pkg, tarball)], pkg);
      expect(listing).toMatch(/package\/prebuilds\/linux-x64\/[^/]*\.node/);
      if (shipsPlugin) expect(listing).toMatch(/package\/prebuilds\/linux-x64\/rnnkit_cuda\.so/);
      expect(listing).toMatch(/package\/dist\/index\.js/);
      expect(listing).not.toMatch(/package\/test\//);

      const app = path.join(work, 'app');
      fs.mkdirSync(app);
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
      run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', path.join(pkg, tarball)], app);
      expect(fs.existsSync(path.join(app, 'node_modules', 'rnnkit', 'build'))).toBe(false);
      const script = `
        const rk = require('rnnkit');
        (async () => {
          const layer = rk.layers.lstm({ units: 3, seed: 1 });
          const x = rk.tensor(Float32Array.from({ length: 24 }, (_, i) => Math.cos(i)), [2, 4, 3]);
          const fwd = await layer.forward(x);
          const cuda = rk.backends().find((b) => b.name === 'cuda');
          console.log(JSON.stringify({ shape: fwd.output.shape, finite: fwd.output.dataSync().every(Number.isFinite), cuda }));
        })();`;
      const out = JSON.parse(run('node', ['-e', script], app).trim());
      expect({ shape: out.shape, finite: out.finite }).toEqual({ shape: [2, 3], finite: true });
      // The registry finds the shipped plugin beside the addon, and it says why it cannot run
      // here (no GPU); without one, it says where it looked.
      if (shipsPlugin && !out.cuda.available) expect(out.cuda.reason).toMatch(/NVIDIA driver|CUDA device/);
      if (!shipsPlugin) expect(out.cuda.reason).toMatch(/not found/);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);
});

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}
