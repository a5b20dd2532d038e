#!/usr/bin/env node
// npm's `prepack` (npm pack, npm publish): refuses to make a package that would install
// without a binary. The binaries every package must carry are listed in package.json,
// `rnnkit.requiredPrebuilds` ("linux-x64 glibc": a folder of prebuilds/ and the libc tag); change that list when a platform is
// added or dropped. Other prebuilds found (macOS, Windows, musl, the CUDA plugin) are listed,
// not required: a Linux-only pack is a valid package, a package with no Linux binary is not.
//
// `npm run prebuild:all` makes the Linux binaries; the CI workflow
// (.github/workflows/prebuilds.yml) assembles the others. RNNKIT_ALLOW_MISSING_PREBUILDS=1
// packs anyway, with the warning, for local experiments only.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const required = (pkg.rnnkit && pkg.rnnkit.requiredPrebuilds) || [];
if (!Array.isArray(required) || required.length === 0) {
  console.error('check-package: package.json has no rnnkit.requiredPrebuilds list');
  process.exit(1);
}

// Each entry is "<platform>-<arch>" and, for Linux, the libc tag the binary must carry
// ("linux-x64 glibc" is met by prebuilds/linux-x64/rnnkit.glibc.node, the name prebuildify
// --tag-libc gives; an explicit napi tag, rnnkit.napi.glibc.node, counts too).
const missing = [];
for (const entry of required) {
  const [tuple, libc] = String(entry).split(/\s+/);
  const dir = path.join(root, 'prebuilds', tuple);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const ok = files.some((f) => {
    if (!f.endsWith('.node') || fs.statSync(path.join(dir, f)).size === 0) return false;
    return !libc || f.split('.').slice(1, -1).includes(libc);
  });
  if (!ok) missing.push(`prebuilds/${tuple}/rnnkit.${libc ? `${libc}.` : ''}node`);
}

const found = [];
const walk = (dir) => {
  for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else found.push(`${path.relative(root, p)} (${(fs.statSync(p).size / 1e6).toFixed(1)} MB)`);
  }
};
walk(path.join(root, 'prebuilds'));

if (missing.length > 0) {
  const lines = [
    `check-package: this package would install without a binary on some platforms: missing ${missing.join(', ')}.`,
    `  prebuilds/ holds: ${found.length > 0 ? found.join(', ') : 'nothing'}`,
    '  Make the Linux binaries with `npm run prebuild:all` (x64 and arm64, glibc floor ' +
      `${(pkg.rnnkit && pkg.rnnkit.glibc) || '?'}), or download the CI artifacts of .github/workflows/prebuilds.yml into prebuilds/.`,
    '  The list of required binaries is package.json rnnkit.requiredPrebuilds.',
  ];
  if (process.env.RNNKIT_ALLOW_MISSING_PREBUILDS === '1') {
    console.warn(`${lines.join('\n')}\n  RNNKIT_ALLOW_MISSING_PREBUILDS=1: packing anyway; do not publish this tarball.`);
    process.exit(0);
  }
  console.error(lines.join('\n'));
  process.exit(1);
}
console.log(`check-package: ${found.length} prebuilt file(s): ${found.join(', ')}`);
