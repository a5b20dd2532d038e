/**
 * The programs a user writes against the installed package, written into the fresh project
 * by test/install/setup.ts: one seeded LSTM forward pass (weights set explicitly, so every
 * build runs the same numbers), loaded from CommonJS, from ESM (a namespace import and named
 * imports) and from strict TypeScript (ESM and CommonJS under `nodenext`, CommonJS under
 * `node10`). Each prints one line, `RESULT {json}` (test/install/env.ts's Result).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '../helpers/random';

/** The case: x [N,T,D] and Keras-layout LSTM weights for H units, from a fixed seed. */
export function forwardCase() {
  const [N, T, D, H] = [3, 5, 4, 6];
  const rand = mulberry32(1307);
  const uniform = (n: number, a: number) => Array.from({ length: n }, () => Math.fround((rand() * 2 - 1) * a));
  return {
    shape: [N, T, D],
    units: H,
    x: uniform(N * T * D, 1),
    // kernel [D,4H], recurrentKernel [H,4H], bias [4H]
    weights: [uniform(D * 4 * H, 0.5), uniform(H * 4 * H, 0.5), uniform(4 * H, 0.2)],
  };
}

/** The forward pass, as plain JavaScript over `rk` and the case `c` (CJS and ESM alike). */
const body = `
async function forward(rk, c, via) {
  const layer = rk.layers.lstm({ units: c.units, returnSequences: true });
  layer.build([null, c.shape[1], c.shape[2]]);
  layer.setWeights(c.weights.map((w) => Float32Array.from(w)));
  const x = rk.tensor(Float32Array.from(c.x), c.shape);
  const fwd = await layer.forward(x);
  const output = Array.from(await fwd.output.data());
  const states = [];
  for (const s of fwd.states) states.push(Array.from(await s.data()));
  const result = { via, arch: process.arch, node: process.version, isa: rk.getIsa(), isas: rk.supportedIsas(),
    shape: fwd.output.shape, output, states, backends: rk.backends() };
  fwd.dispose();
  x.dispose();
  layer.dispose();
  return result;
}
const fail = (e) => { console.error(e && e.stack ? e.stack : e); process.exit(1); };
`;

/** The scripts a CommonJS or ESM user runs; `rnnkit` is the specifier they import. */
export function jsConsumers(rnnkit = 'rnnkit'): Record<string, string> {
  const spec = JSON.stringify(rnnkit);
  return {
    'forward.cjs': `'use strict';
const rk = require(${spec});
const c = require('./case.json');
${body}
forward(rk, c, 'cjs').then((r) => console.log('RESULT ' + JSON.stringify(r)), fail);
`,
    'forward-namespace.mjs': `import * as rk from ${spec};
import { readFileSync } from 'node:fs';
const c = JSON.parse(readFileSync(new URL('./case.json', import.meta.url), 'utf8'));
${body}
forward(rk, c, 'esm namespace').then((r) => console.log('RESULT ' + JSON.stringify(r)), fail);
`,
    'forward-named.mjs': `import { layers, tensor, getIsa, supportedIsas, backends } from ${spec};
import { readFileSync } from 'node:fs';
const c = JSON.parse(readFileSync(new URL('./case.json', import.meta.url), 'utf8'));
${body}
forward({ layers, tensor, getIsa, supportedIsas, backends }, c, 'esm named').then((r) => console.log('RESULT ' + JSON.stringify(r)), fail);
`,
    // Both ways at once in one process: one module instance (no dual-package hazard), so
    // one native addon and tensors that pass between them.
    'dual.mjs': `import { createRequire } from 'node:module';
import * as esm from ${spec};
const cjs = createRequire(import.meta.url)(${spec});
const t = esm.tensor([1, 2, 3], [3]);
console.log('RESULT ' + JSON.stringify({ sameTensor: cjs.tensor === esm.tensor, sameClass: t instanceof cjs.Tensor,
  data: Array.from(cjs.clip.byValue([t], 2)[0].dataSync()) }));
`,
  };
}

/** A strict TypeScript user: typed calls, and one call the types must reject. */
function tsBody(kind: 'esm' | 'cjs'): string {
  return `
interface Case {
  shape: [number, number, number];
  units: number;
  x: number[];
  weights: number[][];
}

async function forward(c: Case) {
  const layer = layers.lstm({ units: c.units, returnSequences: true });
  layer.build([null, c.shape[1], c.shape[2]]);
  layer.setWeights(c.weights.map((w) => Float32Array.from(w)));
  const x: Tensor = tensor(Float32Array.from(c.x), c.shape);
  const fwd = await layer.forward(x);
  const data: Float32Array = await fwd.output.data();
  const states: number[][] = [];
  for (const s of fwd.states) states.push(Array.from(await s.data()));
  const isa: Isa = rk.getIsa();
  const info: rk.BackendInfo[] = rk.backends();
  if (c.units < 0) {
    // never run: the package's types are real, not any
    // @ts-expect-error units is a number
    layers.lstm({ units: 'six' });
  }
  const result = { via: 'typescript ${kind}', arch: process.arch, node: process.version, isa, isas: rk.supportedIsas(),
    shape: fwd.output.shape, output: Array.from(data), states, backends: info };
  fwd.dispose();
  x.dispose();
  return result;
}
`;
}

/** The TypeScript project: sources and one tsconfig per module setting. */
export function tsConsumers(): Record<string, string> {
  const common = {
    strict: true,
    target: 'es2022',
    lib: ['es2022'],
    types: ['node'],
    skipLibCheck: false,
    noEmitOnError: true,
    forceConsistentCasingInFileNames: true,
  };
  return {
    'ts/consumer.mts': `import * as rk from 'rnnkit';
import { layers, tensor, type Isa, type Tensor } from 'rnnkit';
import { readFileSync } from 'node:fs';
${tsBody('esm')}
const c = JSON.parse(readFileSync(new URL('../../case.json', import.meta.url), 'utf8')) as Case;
forward(c).then((r) => console.log('RESULT ' + JSON.stringify(r)), (e: unknown) => { console.error(e); process.exit(1); });
`,
    'ts/consumer.cts': `import * as rk from 'rnnkit';
import { layers, tensor, type Isa, type Tensor } from 'rnnkit';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
${tsBody('cjs')}
const c = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'case.json'), 'utf8')) as Case;
forward(c).then((r) => console.log('RESULT ' + JSON.stringify(r)), (e: unknown) => { console.error(e); process.exit(1); });
`,
    'ts/node10/consumer.ts': `import * as rk from 'rnnkit';
import { layers, tensor, type Isa, type Tensor } from 'rnnkit';
import { readFileSync } from 'fs';
import * as path from 'path';
${tsBody('cjs').replace("'typescript cjs'", "'typescript node10'")}
const c = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'case.json'), 'utf8')) as Case;
forward(c).then((r) => console.log('RESULT ' + JSON.stringify(r)), (e: unknown) => { console.error(e); process.exit(1); });
`,
    'ts/tsconfig.json': JSON.stringify(
      { compilerOptions: { ...common, module: 'nodenext', moduleResolution: 'nodenext', outDir: '../out/nodenext' }, files: ['consumer.mts', 'consumer.cts'] },
      null,
      2,
    ),
    'ts/node10/tsconfig.json': JSON.stringify(
      { compilerOptions: { ...common, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true, outDir: '../../out/node10' }, files: ['consumer.ts'] },
      null,
      2,
    ),
  };
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}
