#!/usr/bin/env node
// npm's `prepare`: what makes a git checkout of rnnkit usable. npm runs it for the repository
// itself (`npm install` / `npm ci` with no arguments), for git dependencies, and before
// `npm pack` / `npm publish`; never for users installing the published tarball, which carries
// dist/ and the prebuilt binaries and runs no script at all.
//
//   repository (npm install / npm ci):  dist/ (tsc and scripts/esm-wrapper.js), the addon (node-gyp rebuild -j 2) unless
//       build/Release/rnnkit.node is newer than every native source, and the CUDA device
//       plugins where cmake is found (scripts/install-cuda-plugin.sh; never fails the install).
//   git dependency (npm install github:…/rnnkit):  dist/ and the addon, which is then copied to
//       prebuilds/<platform>-<arch>/ so that the packed dependency carries it (prebuilds/ is not
//       in git, and build/ is not packed). This native build cannot be avoided: a git checkout
//       has no binary. The CUDA plugin is built only where nvcc is found.
//   npm pack / npm publish:  dist/ only; the binaries come from `npm run prebuild:all` (or
//       `prebuild:host`) and `prepack` (scripts/check-package.js) refuses a package without them.
//
// RNNKIT_BUILD_FROM_SOURCE=1 rebuilds the addon even when it looks up to date;
// RNNKIT_SKIP_NATIVE=1 builds dist/ only.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
process.chdir(root);
const env = process.env;
const command = env.npm_command || '';
// pacote (npm's fetcher) prepares a git dependency in a clone: first `npm install` there with
// _PACOTE_NO_PREPARE_ set, then this script again with npm_package_resolved set.
const gitDependency = env._PACOTE_NO_PREPARE_ !== undefined || (!!env.npm_package_resolved && !['pack', 'publish'].includes(command));
const packing = ['pack', 'publish'].includes(command) && env._PACOTE_NO_PREPARE_ === undefined;

function run(what, cmd, args, options = {}) {
  const start = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.status !== 0) {
    console.error(`rnnkit prepare: ${what} failed (${cmd} ${args.join(' ')}${r.error ? `: ${r.error.message}` : ''})`);
    process.exit(r.status || 1);
  }
  console.log(`rnnkit prepare: ${what} (${((Date.now() - start) / 1000).toFixed(0)} s)`);
}

/** node-gyp from devDependencies, else the one npm ships (on PATH inside npm scripts). */
function nodeGyp() {
  try {
    const pkg = require.resolve('node-gyp/package.json', { paths: [root] });
    const bin = require(pkg).bin;
    return [process.execPath, [path.join(path.dirname(pkg), typeof bin === 'string' ? bin : bin['node-gyp'])]];
  } catch {
    return ['node-gyp', []];
  }
}

function newestSource() {
  let newest = fs.statSync('binding.gyp').mtimeMs;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const dir of ['native/core', 'native/cpu', 'native/napi']) walk(dir);
  return newest;
}

function addonUpToDate() {
  const out = path.join('build', 'Release', 'rnnkit.node');
  return fs.existsSync(out) && fs.statSync(out).mtimeMs > newestSource();
}

// 1. dist/, from scratch so that no file of a removed source is packed
fs.rmSync('dist', { recursive: true, force: true });
run('dist/ compiled', process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.json']);
run('ESM wrapper written', process.execPath, ['scripts/esm-wrapper.js']);

if (packing) {
  console.log(`rnnkit prepare: npm ${command}: no native build; the package ships prebuilds/ (checked by prepack)`);
  process.exit(0);
}
if (env.RNNKIT_SKIP_NATIVE === '1') {
  console.log('rnnkit prepare: RNNKIT_SKIP_NATIVE=1: the addon is not built');
  process.exit(0);
}

// 2. the addon
if (env.RNNKIT_BUILD_FROM_SOURCE !== '1' && addonUpToDate()) {
  console.log('rnnkit prepare: build/Release/rnnkit.node is up to date (RNNKIT_BUILD_FROM_SOURCE=1 rebuilds it)');
} else {
  const [cmd, pre] = nodeGyp();
  // Only the bare `node-gyp` (npm's own, a .cmd on Windows) needs a shell; node itself takes none
  // (a shell would split a path with spaces).
  run('addon built (build/Release/rnnkit.node)', cmd, [...pre, 'rebuild', '-j', '2'], { shell: process.platform === 'win32' && pre.length === 0 });
}

// 3. the CUDA device plugins
if (!gitDependency) {
  if (process.platform === 'linux') run('CUDA plugin step done', 'bash', ['scripts/install-cuda-plugin.sh']);
  process.exit(0);
}

// Git dependency: the packed clone must carry the binaries in prebuilds/.
const tuple = `${process.platform}-${process.arch}`;
const libc = process.platform !== 'linux' ? '' : process.report.getReport().header.glibcVersionRuntime ? '.glibc' : '.musl';
fs.mkdirSync(path.join('prebuilds', tuple), { recursive: true });
const target = path.join('prebuilds', tuple, `rnnkit${libc}.node`);
fs.copyFileSync(path.join('build', 'Release', 'rnnkit.node'), target);
console.log(`rnnkit prepare: git dependency: ${target} copied from the build`);
const nvcc = spawnSync('sh', ['-c', 'command -v nvcc || test -x /usr/local/cuda/bin/nvcc'], { stdio: 'ignore' }).status === 0;
if (process.platform === 'linux' && nvcc) {
  const r = spawnSync('bash', ['scripts/build-cuda.sh'], { stdio: 'inherit' });
  if (r.status === 0 && fs.existsSync('build-cuda/rnnkit_cuda.so')) {
    fs.copyFileSync('build-cuda/rnnkit_cuda.so', path.join('prebuilds', tuple, 'rnnkit_cuda.so'));
    console.log(`rnnkit prepare: git dependency: prebuilds/${tuple}/rnnkit_cuda.so copied from the build`);
  } else console.log('rnnkit prepare: the CUDA device plugin did not build; rnnkit runs on the CPU');
}
