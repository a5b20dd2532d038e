/**
 * Keras's `model.summary()` table: a row per layer with its type, output shape and
 * parameter count (and, for functional models, the layers it is connected to), then the
 * totals.
 * Internal to rnnkit: not part of the public API.
 */
import { formatShape } from '../layers/base';
import type { Layer, Shape } from '../layers/layer';

/** One row of the table. */
export interface SummaryRow {
  layer: Layer;
  outputShapes: readonly Shape[];
  /** `layer[node][tensor]` of each input (functional models), or null for a Sequential table. */
  connectedTo: string[] | null;
}

/** The table as text. Layers listed more than once (shared) are counted once. */
export function summaryTable(modelName: string, rows: readonly SummaryRow[]): string {
  const functional = rows.some((r) => r.connectedTo !== null);
  const widths = functional ? [33, 28, 12, 30] : [33, 28, 12];
  const row = (cells: string[]) => cells.map((c, k) => (k < cells.length - 1 ? c.padEnd(widths[k]!) : c)).join('').trimEnd();
  const rule = (ch: string) => ch.repeat(widths.reduce((a, b) => a + b, 0));
  const header = ['Layer (type)', 'Output Shape', 'Param #', ...(functional ? ['Connected to'] : [])];
  const lines = [`Model: "${modelName}"`, rule('_'), row(header), rule('=')];
  const counted = new Set<Layer>();
  let total = 0;
  let trainable = 0;
  rows.forEach((r, i) => {
    const l = r.layer;
    const n = l.countParams();
    if (!counted.has(l)) {
      counted.add(l);
      total += n;
      trainable += l.countTrainableParams();
    }
    const label = `${l.name} (${l.className})`;
    const shape = r.outputShapes.length === 1 ? formatShape(r.outputShapes[0]!) : `[${r.outputShapes.map(formatShape).join(', ')}]`;
    const first = [label.length >= widths[0]! ? label.slice(0, widths[0]! - 2) + ' ' : label, shape, String(n)];
    const links = r.connectedTo ?? [];
    lines.push(row(functional ? [...first, links[0] ?? ''] : first));
    for (const link of links.slice(1)) lines.push(row(['', '', '', link]));
    lines.push(i === rows.length - 1 ? rule('=') : '');
  });
  lines.push(`Total params: ${total}`, `Trainable params: ${trainable}`, `Non-trainable params: ${total - trainable}`, rule('_'));
  return lines.join('\n');
}
