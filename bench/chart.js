'use strict';
/**
 * The results chart: hand-written SVG, one group of horizontal bars per benchmark row (ms
 * per implementation, log scale, since the peers span four orders of magnitude): rnnkit at
 * 1 and 2 threads with each measured ISA, then the peers. Predicted times are dashed
 * outlines; rows a peer cannot run say why in place of the bar.
 */
const fs = require('fs');
const path = require('path');
const { shapeLabel, CELL_LABEL } = require('./data');
const { BUSY_CORES } = require('./machine');
const { rnnkitKey } = require('./plan');

/** rnnkit's colours per ISA (in the order measured, best first): [1 thread, 2 threads]. */
const RNNKIT_COLORS = [['#1f6fb2', '#0b3d6b'], ['#5fb8cf', '#1d7f96'], ['#9aa7b4', '#5c6b7a']];

/** The chart's bar series: rnnkit per ISA and thread count, then the peers. */
function seriesOf(isas) {
  return [
    ...isas.flatMap((isa, i) => [1, 2].map((t, j) => ({
      label: `rnnkit ${isa} ${t} thread${t > 1 ? 's' : ''}`,
      color: RNNKIT_COLORS[Math.min(i, RNNKIT_COLORS.length - 1)][j],
      pick: (row) => row.results[rnnkitKey(isa, t)],
    }))),
    { label: 'onnxruntime-node (best of 1, 2 threads)', color: '#e07b00', pick: (row) => bestOf(row, ['ort-1t', 'ort-2t']), threadsTag: true },
    { label: 'tfjs wasm', color: '#3a9a3a', pick: (row) => row.results['tfjs-wasm'] },
    { label: 'tfjs cpu', color: '#8e5bb5', pick: (row) => row.results['tfjs-cpu'] },
  ];
}

/** The faster of several thread settings, tagged with its thread count. */
function bestOf(row, keys) {
  const rs = keys.filter((k) => row.results[k]).map((k) => ({ ...row.results[k], threads: k.slice(-2) }));
  const measured = rs.filter((r) => r.status === 'ok' || r.status === 'FAIL').sort((a, b) => a.medianMs - b.medianMs);
  return measured[0] ?? rs[0];
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmtMs(v) {
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)} s`;
  if (v >= 10) return `${v.toFixed(0)} ms`;
  if (v >= 1) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(2)} ms`;
}

function fmtTick(v) {
  return v >= 1000 ? `${v / 1000} s` : `${v} ms`;
}

const L = { width: 1120, left: 270, right: 150, top: 96, barH: 13, barGap: 3, groupGap: 20 };

/** log10 scale over whole decades covering every value. */
function scale(values) {
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  const x0 = L.left;
  const x1 = L.width - L.right;
  return { lo, hi, x: (v) => x0 + ((Math.log10(v) - lo) / Math.max(hi - lo, 1)) * (x1 - x0) };
}

function chartValues(rows, series) {
  const vs = [];
  for (const row of rows) {
    for (const s of series) {
      const r = s.pick(row);
      if (r?.medianMs) vs.push(r.medianMs);
      if (r?.predictedMs) vs.push(r.predictedMs);
    }
  }
  return vs.length ? vs : [1, 10];
}

function axis(sc, top, bottom) {
  const parts = [];
  for (let e = sc.lo; e <= sc.hi; e++) {
    const x = sc.x(10 ** e).toFixed(1);
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#ccc"/>`);
    parts.push(`<text x="${x}" y="${top - 6}" text-anchor="middle" class="tick">${esc(fmtTick(Number((10 ** e).toPrecision(1))))}</text>`);
  }
  return parts.join('\n');
}

function bar(series, r, y, sc) {
  const x0 = L.left;
  const mid = y + L.barH - 3;
  if (r && (r.status === 'ok' || r.status === 'FAIL')) {
    const x = sc.x(r.medianMs);
    const fail = r.status === 'FAIL';
    return `<rect x="${x0}" y="${y}" width="${Math.max(x - x0, 1).toFixed(1)}" height="${L.barH}" fill="${series.color}"${fail ? ' stroke="#d00" stroke-width="2"' : ''}/>` +
      `<text x="${(x + 4).toFixed(1)}" y="${mid}" class="${fail ? 'fail' : 'val'}">${esc(fmtMs(r.medianMs))}${series.threadsTag ? ` (${r.threads})` : ''}${r.foreignCores > BUSY_CORES ? ' †' : ''}${fail ? ' FAIL: outputs disagree' : ''}</text>`;
  }
  if (r?.predictedMs) {
    const x = sc.x(r.predictedMs);
    return `<rect x="${x0}" y="${y + 0.5}" width="${Math.max(x - x0, 1).toFixed(1)}" height="${L.barH - 1}" fill="none" stroke="${series.color}" stroke-dasharray="4 3"/>` +
      `<text x="${(x + 4).toFixed(1)}" y="${mid}" class="note">~${esc(fmtMs(r.predictedMs))} predicted, not run</text>`;
  }
  return `<text x="${x0 + 4}" y="${mid}" class="note">${esc(r?.note ?? 'not run')}</text>`;
}

function group(row, y, sc, series) {
  const parts = [];
  const h = series.length * (L.barH + L.barGap);
  const mode = row.mode === 'training' ? 'training step' : 'forward';
  parts.push(`<text x="${L.left - 10}" y="${y + h / 2 - 3}" text-anchor="end" class="row">${esc(shapeLabel(row.shape))} ${esc(CELL_LABEL[row.cell])}</text>`);
  parts.push(`<text x="${L.left - 10}" y="${y + h / 2 + 12}" text-anchor="end" class="sub">${mode}</text>`);
  series.forEach((s, i) => parts.push(bar(s, s.pick(row), y + i * (L.barH + L.barGap), sc)));
  return parts.join('\n');
}

const LEGEND_LINE = 18;

/** Where each legend item goes: left to right, wrapped onto a new line at the chart's edge. */
function legendLayout(series) {
  let x = L.left;
  let line = 0;
  return series.map((s) => {
    const w = 24 + s.label.length * 6.6;
    if (x > L.left && x + w > L.width - 16) {
      x = L.left;
      line += 1;
    }
    const at = { s, x, line };
    x += w;
    return at;
  });
}

function legend(y, series) {
  return legendLayout(series).map(({ s, x, line }) => {
    const yy = y + line * LEGEND_LINE;
    return `<rect x="${x}" y="${yy - 10}" width="12" height="12" fill="${s.color}"/><text x="${x + 16}" y="${yy}" class="legend">${esc(s.label)}</text>`;
  }).join('\n');
}

function busyNote(res) {
  const busy = res.rows.some((row) => Object.values(row.results).some((r) => r.foreignCores > BUSY_CORES));
  return busy ? ' †: measured while other processes kept the CPU busy (not trustworthy).' : '';
}

/**
 * @param {string} file
 * @param {{rows: object[], isas: string[], date: string, machine: object, quick: boolean}} res
 */
function writeSvg(file, res) {
  const series = seriesOf(res.isas);
  const sc = scale(chartValues(res.rows, series));
  const top = L.top + Math.max(...legendLayout(series).map((a) => a.line)) * LEGEND_LINE;
  const groupH = series.length * (L.barH + L.barGap) + L.groupGap;
  const height = top + res.rows.length * groupH + 44;
  const plotBottom = top + res.rows.length * groupH - L.groupGap / 2;
  const m = res.machine;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${height}" viewBox="0 0 ${L.width} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>
.title{font-size:17px;font-weight:bold}.subtitle{font-size:12px;fill:#444}.tick{font-size:11px;fill:#555}
.row{font-size:12.5px;font-weight:bold}.sub{font-size:11px;fill:#555}.val{font-size:11px}.note{font-size:11px;fill:#777;font-style:italic}
.fail{font-size:11px;fill:#d00;font-weight:bold}.legend{font-size:12px}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="16" y="24" class="title">rnnkit vs onnxruntime-node vs TensorFlow.js: median ms per call (log scale, shorter is faster)</text>
<text x="16" y="42" class="subtitle">${esc(`${res.date.slice(0, 16).replace('T', ' ')} UTC${res.quick ? ' (--quick)' : ''} · ${m.cpu}, ${m.cores} cores · node ${m.node} · onnxruntime-node ${m.ort} · tfjs ${m.tfjs} · shapes (N,T,D,H)`)}</text>
${legend(64, series)}
${axis(sc, top - 8, plotBottom)}
${res.rows.map((row, i) => group(row, top + i * groupH, sc, series)).join('\n')}
<text x="16" y="${height - 26}" class="subtitle">Same seeded data and weights for every implementation; outputs agree with rnnkit within relative L2 ${res.tolerance.toExponential(0)} before timing. Training step = forward + backward with weight gradients.</text>
<text x="16" y="${height - 9}" class="subtitle">Dashed: not run, predicted from a measured shape by FLOP ratio.${busyNote(res)}</text>
</svg>
`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, svg);
}

module.exports = { writeSvg };
