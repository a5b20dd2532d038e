'use strict';
/**
 * The bench's command line: `node bench/run.js [--quick] [--isa NAME[,NAME...]] [--contention]`.
 * Kept apart from run.js (which loads the addon) so that it can be tested on its own.
 */

const USAGE = `usage: npm run bench [-- [--quick] [--isa NAME[,NAME...]] [--contention]]
  --quick        a short smoke run (fewer repetitions, one round; results go to latest-quick.*)
  --isa LIST     the instruction sets to run rnnkit with, e.g. avx2 or avx512,avx2 (default:
                 RNNKIT_ISA when set, else every vector ISA this CPU and build support;
                 'generic' only when asked for)
  --contention   the contention run instead of the main one: rnnkit's default settings while
                 a busy process spins on one core, against 1 thread on the quiet machine`;

class UsageError extends Error {}

/**
 * @param {string[]} argv the arguments after the script
 * @returns {{quick: boolean, contention: boolean, isas: string[] | null}} isas null: not given
 * @throws {UsageError} for an unknown or malformed argument
 */
function parseArgs(argv) {
  const out = { quick: false, contention: false, isas: null };
  const unknown = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') out.quick = true;
    else if (a === '--contention') out.contention = true;
    else if (a === '--isa' || a.startsWith('--isa=')) {
      const value = a === '--isa' ? argv[++i] : a.slice('--isa='.length);
      if (!value || value.startsWith('--')) throw new UsageError('--isa needs a value, e.g. --isa avx2 or --isa avx512,avx2');
      const names = value.split(',').map((v) => v.trim()).filter(Boolean);
      if (!names.length) throw new UsageError('--isa needs a value, e.g. --isa avx2 or --isa avx512,avx2');
      out.isas = [...new Set([...(out.isas ?? []), ...names])];
    } else unknown.push(a);
  }
  if (unknown.length) throw new UsageError(`unknown argument(s): ${unknown.join(' ')}`);
  return out;
}

/**
 * The ISAs to measure, best first (in `supported`'s order): the requested ones, else
 * RNNKIT_ISA's, else `defaults`.
 * @param {string[] | null} requested from --isa
 * @param {string[]} supported rk.supportedIsas(), best first
 * @param {string[]} defaults plan.defaultIsas(supported)
 * @param {string | undefined} envIsa process.env.RNNKIT_ISA
 * @returns {{isas: string[], from: string}}
 * @throws {UsageError} for an ISA this CPU or build does not support
 */
function chooseIsas(requested, supported, defaults, envIsa) {
  let names = requested;
  let from = '--isa';
  if (!names && envIsa && envIsa !== 'auto') {
    names = [envIsa];
    from = 'RNNKIT_ISA';
  }
  if (!names) return { isas: defaults, from: 'default' };
  const missing = names.filter((n) => !supported.includes(n));
  if (missing.length) {
    throw new UsageError(`${from}: ${missing.join(', ')} not supported here (rnnkit supports ${supported.join(', ')} on this CPU)`);
  }
  return { isas: supported.filter((s) => names.includes(s)), from };
}

module.exports = { parseArgs, chooseIsas, UsageError, USAGE };
