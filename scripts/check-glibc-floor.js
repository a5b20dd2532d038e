#!/usr/bin/env node
// The glibc floor of the shipped Linux binaries (issue 13): every .node and .so under
// prebuilds/linux-* (or the files named on the command line) may need at most
//   GLIBC_2.31, GLIBCXX_3.4.28, CXXABI_1.3.12     (Debian 11 / Ubuntu 20.04 / RHEL 8-era)
// and may link only glibc's own libraries, libstdc++ and libgcc_s (DT_NEEDED). Binaries
// tagged musl are checked against the musl list instead (libc.so only, no versions).
//
//   node scripts/check-glibc-floor.js                     prebuilds/linux-*/*.{node,so}
//   node scripts/check-glibc-floor.js a.node b.so         those files
//   --json                                                a machine-readable summary
//
// Reads the ELF with `objdump -p` (its "Version References" are what the dynamic loader
// checks) and `objdump -T` (to name the symbols that need a version above the floor). The
// host objdump reads aarch64 files too; where it cannot, aarch64-linux-gnu-objdump is used.
// Exits 1 when a binary is over the floor or links anything else, 2 when it cannot check.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const FLOOR = { GLIBC: '2.31', GLIBCXX: '3.4.28', CXXABI: '1.3.12' };
// glibc's libraries (librt: glibc before 2.34 keeps shm_open and friends there, which the
// static CUDA runtime uses; it is part of every glibc install), libstdc++, libgcc_s, ld.so.
const GLIBC_NEEDED = [
  /^libc\.so\.6$/, /^libm\.so\.6$/, /^libpthread\.so\.0$/, /^libdl\.so\.2$/, /^librt\.so\.1$/,
  /^libstdc\+\+\.so\.6$/, /^libgcc_s\.so\.1$/, /^ld-linux-(x86-64|aarch64)\.so\.[12]$/,
];
const MUSL_NEEDED = [/^libc\.so$/, /^libc\.musl-[a-z0-9_]+\.so\.1$/];

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const json = args.includes('--json');
let files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  const pre = path.join(root, 'prebuilds');
  for (const dir of fs.existsSync(pre) ? fs.readdirSync(pre) : []) {
    if (!dir.startsWith('linux-')) continue;
    for (const f of fs.readdirSync(path.join(pre, dir))) {
      if (/\.(node|so)$/.test(f)) files.push(path.join(pre, dir, f));
    }
  }
  if (files.length === 0) {
    console.error('check-glibc-floor: no binaries under prebuilds/linux-*; run npm run prebuild:all');
    process.exit(2);
  }
}

function cmp(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

function objdump(flag, file) {
  for (const tool of ['objdump', 'aarch64-linux-gnu-objdump']) {
    const r = spawnSync(tool, [flag, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error && r.error.code === 'ENOENT') continue;
    if (r.status === 0) return r.stdout;
  }
  return null;
}

function machine(file) {
  const b = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, b, 0, 20, 0);
  fs.closeSync(fd);
  if (b.readUInt32BE(0) !== 0x7f454c46) return null;
  return { 62: 'x86-64', 183: 'aarch64' }[b.readUInt16LE(18)] ?? `e_machine ${b.readUInt16LE(18)}`;
}

let failed = false;
let unchecked = false;
const summary = [];
for (const file of files) {
  const rel = path.relative(process.cwd(), file) || file;
  const arch = fs.existsSync(file) ? machine(file) : null;
  if (!arch) {
    console.error(`check-glibc-floor: ${rel}: not an ELF file`);
    unchecked = true;
    continue;
  }
  const p = objdump('-p', file);
  const t = objdump('-T', file);
  if (p == null || t == null) {
    console.error(`check-glibc-floor: ${rel}: objdump cannot read it (install binutils, or binutils-aarch64-linux-gnu)`);
    unchecked = true;
    continue;
  }
  const musl = /\.musl\.node$|musl/.test(path.basename(file));
  const needed = [...p.matchAll(/^\s+NEEDED\s+(\S+)/gm)].map((m) => m[1]);
  // Version References: "required from libc.so.6:" then "0x... 0x00 03 GLIBC_2.2.5".
  const required = [...new Set([...p.matchAll(/\s0x[0-9a-f]+ 0x[0-9a-f]+ \d+ ([A-Z]+_[0-9.]+)\s*$/gm)].map((m) => m[1]))];
  const max = {};
  for (const v of required) {
    const [, fam, ver] = v.match(/^([A-Z]+)_([0-9.]+)$/);
    if (!max[fam] || cmp(ver, max[fam]) > 0) max[fam] = ver;
  }
  const problems = [];
  for (const [fam, floor] of Object.entries(FLOOR)) {
    if (max[fam] && cmp(max[fam], floor) > 0) {
      const over = required.filter((v) => v.startsWith(fam + '_') && cmp(v.slice(fam.length + 1), floor) > 0);
      const syms = [];
      for (const line of t.split('\n')) {
        const m = line.match(/\*UND\*\s+\S+\s+(?:\(([A-Z]+_[0-9.]+)\)|([A-Z]+_[0-9.]+))\s+(\S+)/);
        if (m && over.includes(m[1] || m[2])) syms.push(`${m[3]}@${m[1] || m[2]}`);
      }
      problems.push(`needs ${fam}_${max[fam]} > ${fam}_${floor}: ${syms.slice(0, 8).join(', ')}${syms.length > 8 ? ', …' : ''}`);
    }
  }
  const allowed = musl ? MUSL_NEEDED : GLIBC_NEEDED;
  const extra = needed.filter((n) => !allowed.some((re) => re.test(n)));
  if (extra.length) problems.push(`links libraries outside ${musl ? 'musl libc' : 'glibc/libstdc++/libgcc_s'}: ${extra.join(', ')}`);
  if (musl && required.length) problems.push(`is tagged musl but needs glibc versions: ${required.join(', ')}`);
  const floors = Object.entries(max).map(([f, v]) => `${f}_${v}`).join(' ') || '(no versioned symbols)';
  const size = fs.statSync(file).size;
  summary.push({ file: rel, arch, size, needed, max, ok: problems.length === 0, problems });
  if (!json) {
    console.log(`${problems.length ? 'FAIL' : 'ok  '} ${rel} (${arch}, ${(size / 1048576).toFixed(2)} MiB): ${floors}; NEEDED ${needed.join(' ')}`);
    for (const pr of problems) console.log(`     ${pr}`);
  }
  if (problems.length) failed = true;
}
if (json) console.log(JSON.stringify({ floor: FLOOR, files: summary }, null, 2));
else if (failed) console.log(`check-glibc-floor: over the floor (GLIBC_${FLOOR.GLIBC}, GLIBCXX_${FLOOR.GLIBCXX}, CXXABI_${FLOOR.CXXABI}); build with npm run prebuild:all`);
process.exit(failed ? 1 : unchecked ? 2 : 0);
