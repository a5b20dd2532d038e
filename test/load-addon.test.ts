/**
 * The addon loader (lib/load-addon.ts): which file it picks for a platform, and the one
 * error it throws when no binary loads, tried against fake prebuild folders, fake libcs and
 * fake dlopen failures. The real load (this process's addon) is checked too, untouched.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as rk from '../lib';
import {
  BUILD_FROM_SOURCE,
  GLIBC_FLOOR,
  candidates,
  compareVersions,
  defaultHost,
  detectLibc,
  loadAddon,
  type LibcInfo,
  type LoaderHost,
} from '../lib/load-addon';
import { native } from '../lib/native';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-loader-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A package root holding these files (relative paths), each a few bytes. */
function fakeRoot(files: string[]): string {
  const root = fs.mkdtempSync(path.join(work, 'pkg-'));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), 'not an ELF file');
  }
  return root;
}

// As prebuildify 6 names N-API builds: rnnkit.node, rnnkit.<libc>.node with --tag-libc (no
// napi tag); an explicit napi tag (rnnkit.napi.glibc.node) is read the same way.
const SHIPPED = [
  'prebuilds/linux-x64/rnnkit.glibc.node',
  'prebuilds/linux-x64/rnnkit.musl.node',
  'prebuilds/linux-x64/rnnkit_cuda.so',
  'prebuilds/linux-arm64/rnnkit.napi.glibc.node',
  'prebuilds/darwin-arm64/rnnkit.node',
  'prebuilds/win32-x64/rnnkit.abi93.node',
];

/** A host on a fake root; `load` fails with `fail(file)` unless that returns undefined. */
function host(
  root: string,
  over: { platform?: string; arch?: string; libc?: LibcInfo; env?: Record<string, string>; fail?: (file: string) => string | undefined } = {},
): LoaderHost & { loaded: string[] } {
  const loaded: string[] = [];
  return {
    ...defaultHost(root),
    platform: over.platform ?? 'linux',
    arch: over.arch ?? 'x64',
    env: over.env ?? {},
    libc: () => over.libc ?? { family: 'glibc', version: '2.36' },
    loaded,
    load: (file: string) => {
      loaded.push(file);
      const why = over.fail?.(file);
      if (why !== undefined) throw new Error(why);
      return { file };
    },
  };
}

const rel = (root: string, files: string[]) => files.map((f) => path.relative(root, f).split(path.sep).join('/'));

describe('addon loader', () => {
  it('the real addon loads as before (the public API runs on it)', async () => {
    expect(typeof native.backends).toBe('function');
    const x = rk.tensor([1, 2, 3, 4], [2, 2]);
    expect(Array.from(await x.data())).toEqual([1, 2, 3, 4]);
    x.dispose();
    expect(rk.ERROR_CODES).toContain('RNNKIT_NO_BINARY');
  });

  it('picks the libc-tagged prebuild of this platform; a local build first', () => {
    const root = fakeRoot(SHIPPED);
    expect(rel(root, candidates(host(root)))).toEqual(['prebuilds/linux-x64/rnnkit.glibc.node']);
    expect(rel(root, candidates(host(root, { libc: { family: 'musl' } })))).toEqual(['prebuilds/linux-x64/rnnkit.musl.node']);
    expect(rel(root, candidates(host(root, { arch: 'arm64' })))).toEqual(['prebuilds/linux-arm64/rnnkit.napi.glibc.node']);
    // musl on arm64: the glibc binary would never load, so nothing fits.
    expect(candidates(host(root, { arch: 'arm64', libc: { family: 'musl' } }))).toEqual([]);
    expect(rel(root, candidates(host(root, { platform: 'darwin', arch: 'arm64' })))).toEqual(['prebuilds/darwin-arm64/rnnkit.node']);
    // An abi-tagged build of another Node does not fit.
    expect(candidates(host(root, { platform: 'win32', arch: 'x64' }))).toEqual([]);

    const built = fakeRoot(['build/Release/rnnkit.node', ...SHIPPED]);
    expect(rel(built, candidates(host(built)))).toEqual(['build/Release/rnnkit.node', 'prebuilds/linux-x64/rnnkit.glibc.node']);
    expect(rel(built, candidates(host(built, { env: { PREBUILDS_ONLY: '1' } })))).toEqual(['prebuilds/linux-x64/rnnkit.glibc.node']);
    // An untagged prebuild (the host-only prebuildify of old) still fits, after a tagged one.
    const untagged = fakeRoot(['prebuilds/linux-x64/rnnkit.node', 'prebuilds/linux-x64/rnnkit.glibc.node']);
    expect(rel(untagged, candidates(host(untagged)))).toEqual(['prebuilds/linux-x64/rnnkit.glibc.node', 'prebuilds/linux-x64/rnnkit.node']);
  });

  it('loads the first candidate that loads: a broken local build falls back to the prebuild', () => {
    const root = fakeRoot(['build/Release/rnnkit.node', ...SHIPPED]);
    const h = host(root, { fail: (f) => (f.includes('build/Release') ? 'Module did not self-register' : undefined) });
    expect(loadAddon(h)).toEqual({ file: path.join(root, 'prebuilds/linux-x64/rnnkit.glibc.node') });
    expect(rel(root, h.loaded)).toEqual(['build/Release/rnnkit.node', 'prebuilds/linux-x64/rnnkit.glibc.node']);
  });

  it('a binary that loads and then refuses to start (a bad RNNKIT_* setting) throws its own error, not RNNKIT_NO_BINARY', () => {
    const root = fakeRoot(['build/Release/rnnkit.node', ...SHIPPED]);
    const own = Object.assign(new RangeError('RNNKIT_MEMORY_LIMIT must be a positive number of bytes'), { code: 'RNNKIT_INVALID_ARGUMENT' });
    const h = { ...host(root), load: () => { throw own; } };
    expect(() => loadAddon(h)).toThrow(own);
  });

  it('glibc too old: one error naming the triple, the shipped binaries, found vs needed, the reason and the fix', () => {
    const root = fakeRoot(SHIPPED);
    const dlopen =
      "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /app/node_modules/rnnkit/prebuilds/linux-x64/rnnkit.glibc.node)";
    const h = host(root, { libc: { family: 'glibc', version: '2.28' }, fail: () => dlopen });
    let error: (Error & { code?: string; attempts?: unknown[] }) | undefined;
    try {
      loadAddon(h);
    } catch (e) {
      error = e as Error & { code?: string };
    }
    expect(error).toBeInstanceOf(Error);
    expect(error!.code).toBe('RNNKIT_NO_BINARY');
    expect(rk.isRnnkitError(error)).toBe(true);
    const m = error!.message;
    expect(m).toMatch(/^rnnkit: no native binary loads on this platform \(linux-x64 glibc 2\.28\)/);
    expect(m).toContain('binaries shipped:  darwin-arm64; linux-arm64 (glibc); linux-x64 (glibc, musl); win32-x64');
    expect(m).toContain(`glibc:             found 2.28, the Linux binaries need ${GLIBC_FLOOR} or newer (too old)`);
    expect(m).toContain(`${path.join('prebuilds', 'linux-x64', 'rnnkit.glibc.node')}: ${dlopen}`);
    expect(m).toContain(BUILD_FROM_SOURCE);
    expect(m).toContain('RNNKIT_ADDON');
    expect(error!.attempts).toHaveLength(1);
    expect(GLIBC_FLOOR).toBe('2.31');
  });

  it('musl with no musl binary, an unknown platform, no prebuilds at all', () => {
    const root = fakeRoot(SHIPPED);
    const musl = () => loadAddon(host(root, { arch: 'arm64', libc: { family: 'musl', version: '1.2.4' } }));
    expect(musl).toThrow(expect.objectContaining({ code: 'RNNKIT_NO_BINARY' }));
    expect(musl).toThrow(/\(linux-arm64 musl 1\.2\.4\)/);
    expect(musl).toThrow(/no musl binary is shipped for linux-arm64/);
    expect(musl).toThrow(/tried: +no binary fits linux-arm64 musl/);

    const win = () => loadAddon(host(root, { platform: 'win32', arch: 'ia32' }));
    expect(win).toThrow(/no native binary loads on this platform \(win32-ia32\)/);
    expect(win).not.toThrow(/glibc:/);

    const empty = fakeRoot([]);
    expect(() => loadAddon(host(empty))).toThrow(/binaries shipped: +none \(prebuilds\/ is empty or missing\)/);
  });

  it('RNNKIT_ADDON alone is tried when set, and its failure is named', () => {
    const root = fakeRoot(SHIPPED);
    const missing = path.join(work, 'nowhere', 'rnnkit.node');
    const h = host(root, { env: { RNNKIT_ADDON: missing }, fail: (f) => `Cannot find module '${f}'` });
    expect(() => loadAddon(h)).toThrow(/\(RNNKIT_ADDON\) Cannot find module/);
    expect(h.loaded).toEqual([missing]);
  });

  it("a real dlopen failure: the loader quotes the system's reason", () => {
    const root = fakeRoot(['prebuilds/linux-x64/rnnkit.glibc.node']);
    const h = { ...defaultHost(root), platform: 'linux', arch: 'x64', env: {}, libc: () => ({ family: 'glibc' as const, version: '2.36' }) };
    // dlopen's words differ by system (Linux: invalid ELF header; macOS: not a mach-o file).
    expect(() => loadAddon(h)).toThrow(/rnnkit\.glibc\.node: \S/);
    if (process.platform === 'linux') expect(() => loadAddon(h)).toThrow(/invalid ELF header|file too short/);
  });

  it('detects the libc from a process report as detect-libc does', () => {
    expect(detectLibc({ header: { glibcVersionRuntime: '2.31' }, sharedObjects: [] })).toEqual({ family: 'glibc', version: '2.31' });
    expect(detectLibc({ header: {}, sharedObjects: ['/lib/ld-musl-x86_64.so.1'] }).family).toBe('musl');
    expect(detectLibc({ header: {}, sharedObjects: [] }).family).toBe('musl');
    expect(detectLibc(null).family).toBe('unknown');
    if (process.platform === 'linux') expect(['glibc', 'musl']).toContain(detectLibc().family);
    expect(compareVersions('2.28', '2.31')).toBeLessThan(0);
    expect(compareVersions('2.31', '2.31')).toBe(0);
    expect(compareVersions('2.4', '2.31')).toBeLessThan(0);
  });
});
