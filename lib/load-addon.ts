/**
 * rnnkit's loader for its native addon, on top of node-gyp-build's naming rules.
 *
 * It looks, in order, at `RNNKIT_ADDON` (a `.node` file; nothing else is tried when it is
 * set), `build/Release/` and `build/Debug/` (a build from source; skipped with
 * `PREBUILDS_ONLY=1`), then `prebuilds/<platform>-<arch>/` (or the folder named by
 * `RNNKIT_PREBUILD`, as node-gyp-build allows), choosing the file whose tags (`napi`, `glibc`,
 * `musl`) fit this process, and loads the first one that loads. When none does it throws one
 * Error, code `RNNKIT_NO_BINARY`, that names the platform detected (platform, arch, libc and
 * its version), the binaries shipped, the glibc found against the floor the Linux binaries
 * are built for, why each candidate failed to load, and the command that builds from source.
 *
 * Everything it reads from the machine (platform, arch, the process report, the file system,
 * `require`) can be replaced, so that test/load-addon.test.ts can point it at fake prebuild
 * folders and fake reports. Internal to rnnkit: not part of the public API.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRnnkitError, rnnkitError, type RnnkitError } from './errors';

// node-gyp-build's own parsers, so that a file prebuildify names is read the same way.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ngb = require('node-gyp-build') as {
  parseTuple(name: string): { name: string; platform: string; architectures: string[] } | undefined;
  parseTags(file: string): PrebuildTags | undefined;
};

/** The tags node-gyp-build reads from a prebuild's file name (rnnkit.glibc.node, rnnkit.napi.musl.node). */
interface PrebuildTags {
  file: string;
  specificity: number;
  runtime?: string;
  napi?: boolean;
  abi?: string;
  uv?: string;
  armv?: string;
  libc?: string;
}

/**
 * The oldest glibc the Linux prebuilds load on (they are built against Debian 11's); kept in
 * package.json (`rnnkit.glibc`), which the prebuild scripts check the binaries against.
 * @internal
 */
export const GLIBC_FLOOR: string = readFloor();

function readFloor(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const floor = (require(path.join(__dirname, '..', 'package.json')) as { rnnkit?: { glibc?: unknown } }).rnnkit?.glibc;
    if (typeof floor === 'string' && /^\d+\.\d+$/.test(floor)) return floor;
  } catch {
    // the default below
  }
  return '2.31';
}

/** The command that builds the addon from source in an installed rnnkit. @internal */
export const BUILD_FROM_SOURCE = 'npm explore rnnkit -- npm run build:native';

/** The C library of a Linux process; null elsewhere. @internal */
export interface LibcInfo {
  family: 'glibc' | 'musl' | 'unknown';
  /** e.g. '2.36' for glibc, '1.2.4' for musl; undefined when unknown. */
  version?: string;
}

/** What the loader reads from the machine; every field can be replaced in tests. @internal */
export interface LoaderHost {
  platform: string;
  arch: string;
  env: Record<string, string | undefined>;
  /** The package root: the folder holding build/ and prebuilds/. */
  root: string;
  /**
   * The libc of this process (called only on Linux). `detail` asks for its version too (for
   * the error message); without it a quick check of the family is enough.
   */
  libc(detail?: boolean): LibcInfo;
  readdir(dir: string): string[];
  /** Loads a .node file; throws as `require` does. */
  load(file: string): unknown;
}

/** One file the loader tried, and why it did not load. @internal */
export interface LoadAttempt {
  file: string;
  error: string;
}

/** The libc of this process, from the process report as detect-libc reads it. @internal */
export function detectLibc(report: unknown = readReport()): LibcInfo {
  const r = (report ?? {}) as { header?: { glibcVersionRuntime?: string }; sharedObjects?: string[] };
  const glibc = r.header?.glibcVersionRuntime;
  if (glibc) return { family: 'glibc', version: glibc };
  const musl = (r.sharedObjects ?? []).find((o) => /(?:^|\/)(?:libc\.musl-|ld-musl-)/.test(o));
  if (musl) return { family: 'musl', version: muslVersion() };
  // Node built against musl reports no glibc version: a Linux process without one is musl.
  if (r.header) return { family: 'musl', version: muslVersion() };
  return { family: 'unknown' };
}

function readReport(): unknown {
  try {
    const report = process.report as { excludeNetwork?: boolean; getReport(): unknown } | undefined;
    if (!report) return undefined;
    const saved = report.excludeNetwork;
    report.excludeNetwork = true;
    try {
      return report.getReport();
    } finally {
      report.excludeNetwork = saved;
    }
  } catch {
    return undefined;
  }
}

/** musl's version as its dynamic loader prints it (`Version 1.2.4`), when it can be read. */
function muslVersion(): string | undefined {
  try {
    for (const dir of ['/lib', '/usr/lib']) {
      for (const f of fs.readdirSync(dir)) {
        if (!/^ld-musl-.*\.so\.1$/.test(f)) continue;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
        const out = spawnSync(path.join(dir, f), [], { encoding: 'utf8', timeout: 2000 });
        const m = /Version\s+([\d.]+)/.exec(`${out.stderr ?? ''}${out.stdout ?? ''}`);
        if (m) return m[1];
      }
    }
  } catch {
    // unknown
  }
  return undefined;
}

/** The fast libc check for choosing a prebuild: /usr/bin/ldd names its C library; else the report. */
function quickLibc(): LibcInfo {
  try {
    const head = fs.readFileSync('/usr/bin/ldd', { encoding: 'latin1' }).slice(0, 4096);
    if (/musl/i.test(head)) return { family: 'musl' };
    if (/GNU C Library|GLIBC|glibc/.test(head)) return { family: 'glibc' };
  } catch {
    // fall through to the report
  }
  return detectLibc();
}

/** The real machine; `root` is the package root (lib/ and dist/ sit one level below it). @internal */
export function defaultHost(root: string = path.join(__dirname, '..')): LoaderHost {
  let quick: LibcInfo | undefined;
  let full: LibcInfo | undefined;
  return {
    platform: process.env.npm_config_platform || process.platform,
    arch: process.env.npm_config_arch || process.arch,
    env: process.env,
    root,
    libc: (detail) => (detail ? (full ??= detectLibc()) : (quick ??= quickLibc())),
    readdir: (dir) => {
      try {
        return fs.readdirSync(dir);
      } catch {
        return [];
      }
    },
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    load: (file) => require(file),
  };
}

/** The files to try, best first: a local build, then the prebuilds that fit this platform. @internal */
export function candidates(host: LoaderHost): string[] {
  const out: string[] = [];
  if (!host.env.PREBUILDS_ONLY) {
    for (const sub of ['build/Release', 'build/Debug']) {
      const dir = path.join(host.root, sub);
      const node = host.readdir(dir).filter((f) => f.endsWith('.node'));
      if (node.length > 0) out.push(path.join(dir, node.includes('rnnkit.node') ? 'rnnkit.node' : node[0]));
    }
  }
  const base = host.env.RNNKIT_PREBUILD || host.root;
  const libc = host.platform === 'linux' ? host.libc().family : undefined;
  const tuples = host
    .readdir(path.join(base, 'prebuilds'))
    .map((n) => ngb.parseTuple(n))
    .filter((t): t is NonNullable<typeof t> => !!t && t.platform === host.platform && t.architectures.includes(host.arch))
    .sort((a, b) => a.architectures.length - b.architectures.length);
  for (const tuple of tuples) {
    const dir = path.join(base, 'prebuilds', tuple.name);
    const fits = host
      .readdir(dir)
      .map((f) => ngb.parseTags(f))
      .filter((t): t is PrebuildTags => !!t)
      // node-gyp-build's rules: prebuildify names an N-API build rnnkit.node (rnnkit.glibc.node
      // with --tag-libc), with no abi tag; an abi-tagged one must be this Node's.
      .filter((t) => (!t.abi || t.napi || t.abi === process.versions.modules) && (!t.runtime || t.runtime === 'node'))
      // A binary tagged for the other libc never loads; an unknown libc tries glibc first.
      .filter((t) => !t.libc || t.libc === libc || (libc === 'unknown' && t.libc === 'glibc'))
      .sort((a, b) => (b.libc ? 1 : 0) - (a.libc ? 1 : 0) || b.specificity - a.specificity);
    for (const t of fits) out.push(path.join(dir, t.file));
  }
  return out;
}

/** The `<platform>-<arch> (tags)` folders and binaries under prebuilds/, for messages. @internal */
export function shippedTriples(host: LoaderHost): string[] {
  const base = host.env.RNNKIT_PREBUILD || host.root;
  const out: string[] = [];
  for (const name of host.readdir(path.join(base, 'prebuilds')).sort()) {
    const tags = host
      .readdir(path.join(base, 'prebuilds', name))
      .map((f) => ngb.parseTags(f))
      .filter((t): t is PrebuildTags => !!t);
    if (tags.length === 0) continue;
    const libcs = [...new Set(tags.map((t) => t.libc ?? (name.startsWith('linux-') ? 'any libc' : '')))].filter(Boolean);
    out.push(libcs.length > 0 ? `${name} (${libcs.join(', ')})` : name);
  }
  return out;
}

/** Compares dotted versions: negative when a < b. @internal */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The first line that says why a file did not load (dlopen's message, without its stack). */
function reason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0].trim();
}

/** The one error for "no binary loads": what was detected, shipped, needed and tried. @internal */
export function noBinaryError(host: LoaderHost, attempts: LoadAttempt[]): RnnkitError {
  const libc = host.platform === 'linux' ? host.libc(true) : undefined;
  const triple = `${host.platform}-${host.arch}${libc ? ` ${libc.family}${libc.version ? ` ${libc.version}` : ''}` : ''}`;
  const shipped = shippedTriples(host);
  const lines = [
    `rnnkit: no native binary loads on this platform (${triple}).`,
    `  platform detected: ${triple}, Node ${process.versions.node} (N-API ${process.versions.napi ?? '?'})`,
    `  binaries shipped:  ${shipped.length > 0 ? shipped.join('; ') : 'none (prebuilds/ is empty or missing)'}`,
  ];
  if (libc?.family === 'glibc') {
    const old = libc.version && compareVersions(libc.version, GLIBC_FLOOR) < 0;
    lines.push(`  glibc:             found ${libc.version ?? 'unknown'}, the Linux binaries need ${GLIBC_FLOOR} or newer${old ? ' (too old)' : ''}`);
  } else if (libc?.family === 'musl') {
    const hasMusl = shipped.some((s) => s.startsWith(`${host.platform}-${host.arch} `) && /musl/.test(s));
    lines.push(`  libc:              musl${hasMusl ? '' : `; no musl binary is shipped for ${host.platform}-${host.arch} (the glibc ones need glibc ${GLIBC_FLOOR} or newer)`}`);
  }
  if (attempts.length === 0) lines.push(`  tried:             no binary fits ${host.platform}-${host.arch}${libc ? ` ${libc.family}` : ''}`);
  else {
    lines.push('  tried:');
    for (const a of attempts) lines.push(`    ${path.relative(host.root, a.file) || a.file}: ${a.error}`);
  }
  lines.push(
    '  build from source (needs Python 3, make and a C++17 compiler; under 2 minutes on 2 cores):',
    `    ${BUILD_FROM_SOURCE}`,
    '  or set RNNKIT_ADDON to the path of a rnnkit.node built elsewhere.',
  );
  const error = rnnkitError('RNNKIT_NO_BINARY', lines.join('\n'));
  Object.defineProperty(error, 'attempts', { value: attempts, enumerable: false });
  return error;
}

/**
 * Loads the addon: `RNNKIT_ADDON` alone when set, else the first of {@link candidates} that
 * loads. Throws {@link noBinaryError} when none does.
 * @internal
 */
export function loadAddon(host: LoaderHost = defaultHost()): unknown {
  const attempts: LoadAttempt[] = [];
  const explicit = host.env.RNNKIT_ADDON;
  const files = explicit ? [path.resolve(explicit)] : candidates(host);
  for (const file of files) {
    try {
      return host.load(file);
    } catch (e) {
      // A binary that loaded and then refused to start (a bad RNNKIT_* setting) says why itself.
      if (isRnnkitError(e)) throw e;
      attempts.push({ file, error: explicit ? `(RNNKIT_ADDON) ${reason(e)}` : reason(e) });
    }
  }
  throw noBinaryError(host, attempts);
}
