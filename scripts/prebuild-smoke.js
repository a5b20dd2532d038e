// One forward pass through the package (dist/) with the addon named by RNNKIT_ADDON: what
// scripts/prebuild-linux.sh runs for each prebuilt binary on the floor (bullseye's glibc,
// qemu-aarch64, qemu-x86_64 -cpu Nehalem). Prints one JSON line: the platform as seen, the
// ISA chosen, and the first outputs, which the caller compares across binaries.
'use strict';
const path = require('node:path');
const rk = require(path.resolve(__dirname, '..', 'dist'));
(async () => {
  const layer = rk.layers.lstm({ units: 8, seed: 7 });
  layer.build([2, 5, 3]);
  const x = rk.tensor(Float32Array.from({ length: 30 }, (_, i) => Math.sin(i)), [2, 5, 3]);
  const fwd = await layer.forward(x);
  const out = await fwd.output.data();
  const report = process.report.getReport();
  console.log(JSON.stringify({
    arch: process.arch,
    node: process.version,
    glibc: report.header.glibcVersionRuntime ?? null,
    addon: path.basename(process.env.RNNKIT_ADDON || ''),
    isa: rk.getIsa(),
    isas: rk.supportedIsas(),
    out: Array.from(out.slice(0, 4), (v) => Number(v.toFixed(5))),
  }));
  // With RNNKIT_CUDA_PLUGIN set: the plugin's own probe answers (its reason without a GPU is
  // "no NVIDIA driver ..."), which says it loaded with every symbol resolved.
  if (process.env.RNNKIT_CUDA_PLUGIN) console.log(`cuda plugin: ${JSON.stringify(rk.backends().find((b) => b.name === 'cuda'))}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
