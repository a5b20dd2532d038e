'use strict';
/**
 * The printed report (Markdown tables, so they paste into the README as they are) and the
 * JSON results file.
 */
const fs = require('fs');
const path = require('path');
const { implsFor, rnnkitKey } = require('./plan');
const { derive, peakTrustworthy, peakOf } = require('./targets');
const { forwardFlops } = require('./data');
const { BUSY_CORES } = require('./machine');

/** '†' marks a figure measured while other processes kept a noticeable share of the cores busy. */
const busyMark = (r) => (r?.foreignCores > BUSY_CORES ? ' †' : '');

/** A Markdown table with padded columns. */
function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function ms(v) {
  if (v >= 1000) return Math.round(v).toLocaleString('en-US');
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

const MODE = { forward: 'forward', training: 'train step' };
const pct = (v) => (v === null ? '–' : `${v.toFixed(1)}%`);
const ratio = (r) => (r ? `${r.predicted ? '~' : ''}${r.x < 10 ? r.x.toFixed(2) : r.x.toFixed(0)}x${r.predicted ? ' (pred.)' : ''}` : '–');

/** A result cell: median (min) ms, or why there is none. */
function timeCell(r) {
  if (!r) return '–';
  if (r.status === 'ok' || r.status === 'FAIL') {
    const once = r.firstRunOnly ? ' [1 run]' : '';
    return `${ms(r.medianMs)} (${ms(r.minMs)})${once}${busyMark(r)}${r.status === 'FAIL' ? ' **FAIL**' : ''}`;
  }
  return r.note;
}

/** The agreement of the results of `keys` on `row` with the reference (the first ISA's rnnkit 1t). */
function checkCell(row, keys) {
  const checked = Object.entries(row.results).filter(([k, r]) => keys.includes(k) && r.relErr !== undefined);
  const failed = checked.filter(([, r]) => r.status === 'FAIL');
  if (failed.length) return `**FAIL** ${failed.map(([k, r]) => `${k} ${r.relErr.toExponential(1)}`).join(', ')}`;
  if (!checked.length) return 'not checked';
  return `ok ≤ ${Math.max(...checked.map(([, r]) => r.relErr)).toExponential(1)}`;
}

const rowCells = (row) => [row.label.split(' ')[0], row.label.split(' ').slice(1).join(' '), MODE[row.mode]];

/** The peers' implementations and rnnkit's with `isa`: one ISA's times table. */
const implsOf = (isas, isa) => implsFor(isas).filter((i) => i.peer !== 'rnnkit' || i.isa === isa);

/** Median (min) ms of rnnkit with `isa` and of every peer, and their agreement with the reference. */
function timesTable(rows, isas, isa) {
  const impls = implsOf(isas, isa);
  const reference = rnnkitKey(isas[0], 1);
  const headers = ['shape (N,T,D,H)', 'cell', 'mode', ...impls.map((i) => i.label), `agreement (rel. L2 vs rnnkit ${isas[0]} 1t)`];
  return table(headers, rows.map((row) => [...rowCells(row), ...impls.map((i) => timeCell(row.results[i.key])), checkCell(row, impls.map((i) => i.key).filter((k) => k !== reference))]));
}

function rnnkitTable(rows, peaks, isa) {
  const headers = ['shape (N,T,D,H)', 'cell', 'mode', 'rnnkit best ms', 'GFLOP/s', '% peak 1t', '% peak 2t', '1→2t speed-up', 'vs ORT best', 'vs tfjs wasm', 'vs tfjs cpu'];
  return table(headers, rows.map((row) => {
    const d = derive(row, peaks, isa);
    return [
      row.label.split(' ')[0], row.label.split(' ').slice(1).join(' '), MODE[row.mode],
      d.rkBest ? `${ms(d.rkBest.ms)} (${d.rkBest.key.slice(-2)})` : '–',
      d.gflops === null ? '–' : d.gflops.toFixed(1),
      pct(d.pctPeak1), pct(d.pctPeak2),
      d.speedup12 === null ? '–' : `${d.speedup12.toFixed(2)}x`,
      ratio(d.vsOrt), ratio(d.vsWasm), ratio(d.vsCpu),
    ];
  }));
}

function targetsTable(targets) {
  return table(
    ['target', 'ISA', 'row', 'measured', 'status', 'what a miss would take / what limits it'],
    targets.map((t) => [t.target, t.isa, `${t.row}${t.mode === 'training' ? ' train' : ''}`, t.measured, t.status.startsWith('PASS') ? t.status : `**${t.status}**`, t.limit ?? '']),
  );
}

/** "avx512: 21 of 25 met (3 MISS, 1 n/a)" per ISA. */
function targetCounts(targets, isas) {
  return isas.map((isa) => {
    const mine = targets.filter((t) => t.isa === isa);
    const met = mine.filter((t) => t.status.startsWith('PASS')).length;
    const other = ['MISS', 'FAIL', 'n/a']
      .map((s) => [s, mine.filter((t) => t.status.startsWith(s)).length])
      .filter(([, n]) => n)
      .map(([s, n]) => `${n} ${s}`);
    return `${isa}: ${met} of ${mine.length} met${other.length ? ` (${other.join(', ')})` : ''}`;
  }).join(' · ');
}

function targetLines(res) {
  const lines = [
    "### Targets of issue 11, per ISA (each ISA's kernels against that ISA's own FMA peak; ratios against ORT's best thread count, round by round: the median over the rounds of ORT's time in a round over rnnkit's in the same round)",
    '',
    targetCounts(res.targets, res.isas),
    '',
    targetsTable(res.targets),
  ];
  if (res.targets.some((t) => t.trustworthy === false)) {
    lines.push('', '† judged from figures measured while other processes loaded the CPU (or against a peak probed then): rerun on a quiet machine before believing it.');
  }
  return lines;
}

function scalingTable(series) {
  const first = series.points[0];
  const key = series.vary;
  return table(
    [key, 'shape (N,T,D,H)', 'median ms', `time / time at ${key}=${first[key]}`, `FLOPs / FLOPs at ${key}=${first[key]}`, 'GFLOP/s'],
    series.points.map((p) => [
      p[key], `(${p.shape.N},${p.shape.T},${p.shape.D},${p.shape.H})`, ms(p.medianMs) + busyMark(p),
      `${(p.medianMs / first.medianMs).toFixed(2)}x`, `${(p.flops / first.flops).toFixed(2)}x`,
      (p.flops / (p.medianMs * 1e6)).toFixed(1),
    ]),
  );
}

/** The training rows' reserve space against the minimum BPTT needs. */
function reserveLines(rows, isas) {
  const lines = [];
  for (const row of rows.filter((r) => r.mode === 'training')) {
    const { N, T, H } = row.shape;
    if (row.cell !== 'lstm') continue;
    // Per step the four activated gates (i, f, g, o), c and h: 6H floats per sequence; plus
    // the initial h0 and c0 (BPTT's first step needs them).
    const minBytes = 4 * (N * T * 6 * H + 2 * N * H);
    for (const key of isas.flatMap((isa) => [rnnkitKey(isa, 1), rnnkitKey(isa, 2)])) {
      const r = row.results[key];
      if (r?.reserveBytes === undefined) continue;
      lines.push(`${row.label} ${key}: reserve ${r.reserveBytes.toLocaleString('en-US')} bytes; minimum (N·T·6H + 2·N·H floats) ${minBytes.toLocaleString('en-US')} bytes; ratio ${(r.reserveBytes / minBytes).toFixed(4)}`);
    }
  }
  return lines;
}

function memoryTable(rows, isas) {
  const impls = implsFor(isas);
  const headers = ['shape (N,T,D,H)', 'cell', 'mode', ...impls.map((i) => i.label)];
  const cell = (r) => (r && r.peakRssMB !== undefined ? `${r.peakRssMB.toFixed(0)} (+${r.deltaRssMB.toFixed(0)})` : '–');
  return table(headers, rows.map((row) => [...rowCells(row), ...impls.map((i) => cell(row.results[i.key]))]));
}

/** A warning when other processes competed for the CPU during the run. */
function loadLines(res) {
  const flagged = res.rows.flatMap((row) => Object.values(row.results)).filter((r) => r.foreignCores > BUSY_CORES).length +
    res.scaling.flatMap((s) => s.points).filter((p) => p.foreignCores > BUSY_CORES).length;
  const lines = [];
  if (!Number.isFinite(res.foreignCores)) return ['Machine load: not measurable on this OS.'];
  lines.push(`Other processes kept ${res.foreignCores.toFixed(2)} cores busy on average during the run (${res.peaks.foreignCores.toFixed(2)} during the peak probes).`);
  if (flagged) {
    lines.push(`**† ${flagged} measurements were taken while other processes used more than ${BUSY_CORES} cores: their times (2-thread ones above all) and the peak are not trustworthy; rerun on a quiet machine.**`);
  }
  return lines;
}

/** Every round's median of the implementations measured in rounds, best first: how much the machine varied. */
function roundsTable(rows, isas) {
  const impls = implsFor(isas).filter((i) => i.peer !== 'tfjs');
  const cell = (r) => (r?.roundMedians?.length > 1 ? [...r.roundMedians].sort((a, b) => a - b).map(ms).join(' · ') : '–');
  return table(
    ['shape (N,T,D,H)', 'cell', 'mode', ...impls.map((i) => i.label)],
    rows.map((row) => [...rowCells(row), ...impls.map((i) => cell(row.results[i.key]))]),
  );
}

/** Each probe's best reading per ISA and thread count, with the range when probed more than once. */
function probeSummary(probes) {
  const groups = new Map();
  for (const p of probes) {
    const key = `${p.source} ${p.isa} ${p.threads}t`;
    groups.set(key, [...(groups.get(key) ?? []), p.gflops]);
  }
  return [...groups].map(([key, g]) => {
    const hi = Math.max(...g), lo = Math.min(...g);
    return `${key} ${hi.toFixed(0)}${g.length > 1 ? ` (${lo.toFixed(0)}-${hi.toFixed(0)})` : ''}`;
  }).join(' · ');
}

const fmtPeak = (p) => Object.entries(p).map(([t, g]) => `${t} thread${t > 1 ? 's' : ''} ${g === null ? 'n/a' : g.toFixed(0)}`).join(', ');

function machineLines(m, peaks, isas) {
  const lines = [
    `CPU: ${m.cpu} · ${m.cores} logical cores · ${m.isaFlags.join(' ')} · ${m.platform}`,
    `node ${m.node} · rnnkit ${m.rnnkit} (ISAs measured: ${isas.join(', ')}, each forced with RNNKIT_ISA; default here ${m.rnnkitIsa ?? 'not reported'}; thread control ${m.rnnkitThreads ? 'yes' : 'no: single-threaded build'}) · onnxruntime-node ${m.ort} · @tensorflow/tfjs ${m.tfjs} (wasm backend threads: ${m.tfjsWasmThreads})`,
    `FMA peak (FP32 GFLOP/s) per ISA: ${isas.map((isa) => `${isa}: ${fmtPeak(peakOf(peaks, isa))}`).join('; ')}; ${peaks.note}`,
    `  probes (best of each): ${probeSummary(peaks.probes)}`,
  ];
  for (const w of peaks.warnings ?? []) lines.push(`  **${w}**`);
  for (const isa of isas.filter((i) => !peakTrustworthy(peaks, i))) {
    lines.push(`  **† the ${isa} peak is not trustworthy: probed on a busy machine, or 2 threads did not reach about twice 1 thread's figure (the threads shared a core, or were crowded out)**`);
  }
  return lines;
}

/** How each ISA's tables were measured: forced, and what machine it stands for. */
function isaNote(m, isa) {
  const widest = m.isaFlags.includes('avx512f') ? 'avx512' : m.isaFlags.includes('avx2') ? 'avx2' : null;
  if (isa === 'avx2' && widest === 'avx512') return 'the AVX2 kernels forced (RNNKIT_ISA=avx2) on an AVX-512 machine: what an AVX2-only machine runs, judged against the AVX2 peak';
  if (isa === m.rnnkitIsa) return `RNNKIT_ISA=${isa}, this CPU's default`;
  return `forced with RNNKIT_ISA=${isa}`;
}

/** The whole printed report. */
function render(res) {
  const out = [];
  const { isas } = res;
  out.push(`## rnnkit benchmark — ${res.date}${res.quick ? ' (--quick)' : ''}`, '', ...machineLines(res.machine, res.peaks, isas), ...loadLines(res), '');
  out.push('Median ms (min) per call; forward = layer.forward (inference), train step = forward (training) + backward with weight gradients.');
  out.push('ORT: onnxruntime-node single-op model, intra-op threads 1 and 2. tfjs: tf.layers on the cpu and wasm backends. [1 run]: one call took so long that its check run is its only sample.');
  out.push('The peers run once per row (their speed does not depend on rnnkit\'s ISA); each ISA\'s table repeats them.');
  if (res.rounds > 1) out.push(`rnnkit (every ISA) and ORT: each measured in ${res.rounds} fresh processes, in turns; the process with the lowest median is shown (all medians are in the JSON, roundMedians).`);
  out.push('');
  for (const isa of isas) out.push(`### Median ms (min) per call — rnnkit ${isa} (${isaNote(res.machine, isa)})`, '', timesTable(res.rows, isas, isa), '');
  if (res.rounds > 1) out.push('### Median ms of every round (fresh processes, rounds spread over the run), lowest first', '', roundsTable(res.rows, isas), '');
  for (const isa of isas) {
    out.push(`### rnnkit ${isa}: throughput, % of the measured ${isa} FMA peak, and speed-up over each peer (peer ms / rnnkit best ms); FLOPs = 2·T·N·G·H·(D+H), training 3x`, '');
    out.push(rnnkitTable(res.rows, res.peaks, isa), '');
  }
  out.push(...targetLines(res), '');
  for (const s of res.scaling) {
    out.push(`### Scaling: rnnkit ${s.isa} LSTM forward against ${s.vary} (others at (32,100,128,256)), ${s.threads} thread${s.threads > 1 ? 's' : ''}`, '', scalingTable(s), '');
  }
  out.push('### Memory', '', ...reserveLines(res.rows, isas), '');
  out.push(`Peak RSS in MB (+ growth during the benchmark); ${res.memoryMethod}`, '', memoryTable(res.rows, isas), '');
  return out.join('\n');
}

function writeJson(file, res) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const rows = res.rows.map((row) => ({
    ...row,
    forwardFlops: forwardFlops(row.shape, row.cell),
    derived: Object.fromEntries(res.isas.map((isa) => [isa, derive(row, res.peaks, isa)])),
  }));
  fs.writeFileSync(file, JSON.stringify({ ...res, rows }, null, 2) + '\n');
}

module.exports = { render, writeJson, table };
