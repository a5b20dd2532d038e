/**
 * The training loop of a model's graph: forward with `training: true`, the loss of every
 * output and its gradient, backward through the graph, clipping and the optimizer step on
 * the device, then the layers re-derive what they cache from their weights.
 * Internal to rnnkit: not part of the public API.
 */
import { describe, expectObject, optionalBoolean, optionalInteger, rangeError, rejectUnknownOptions, typeError } from '../errors';
import type { Layer } from '../layers/layer';
import { StepMask, toMask } from '../mask';
import { native } from '../native';
import { toLengths } from '../sequences';
import { expectTensor, fromNative, Tensor } from '../tensor';
import { computeLoss, LOSS_NAMES, LossName } from '../training/losses';
import { Optimizer } from '../training/optimizers';
import type { Graph } from './graph';

/** What `compile` fixes: the loss and the optimizer. */
export interface CompileArgs {
  loss: LossName;
  optimizer: Optimizer;
  /** The model outputs logits (crossentropy losses); default false. */
  fromLogits?: boolean;
  /** Metrics reported beside the loss; 'accuracy' (argmax match, or 0.5 threshold for one output). */
  metrics?: 'accuracy'[];
}

/** Per-epoch (and per-batch) values a callback receives. */
export interface Logs {
  loss: number;
  val_loss?: number;
  acc?: number;
  val_acc?: number;
}

/** Callbacks of {@link FitOptions}. */
export interface FitCallbacks {
  onBatchEnd?: (batch: number, logs: Logs) => void | Promise<void>;
  onEpochEnd?: (epoch: number, logs: Logs) => void | Promise<void>;
  /**
   * Stop when `monitor` has not improved by more than `minDelta` for `patience` epochs; with
   * `restoreBestWeights`, a stopped run ends with the weights of its best epoch (Keras's
   * `restore_best_weights`: a run that ends at `epochs` keeps its last weights).
   */
  earlyStopping?: { monitor?: 'loss' | 'val_loss'; patience?: number; minDelta?: number; restoreBestWeights?: boolean };
}

/** Options of `fit`. */
export interface FitOptions {
  /** Default 1. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Shuffle the training samples every epoch (seeded); default true. */
  shuffle?: boolean;
  /** Fraction of the samples, taken from the end as Keras does, kept for validation; default 0. */
  validationSplit?: number;
  /** 0: silent; 1 (default): a progress bar on a TTY, else a line per epoch. */
  verbose?: 0 | 1;
  /** Seed of the shuffling; default 1. */
  seed?: number;
  /** Valid steps per sample of a right-padded first input `[N, T, ...]`. */
  lengths?: Int32Array | readonly number[];
  /** Keras per-step mask `[N, T]` of 0/1 for the first input, any position (front padding, holes). */
  mask?: Tensor | Uint8Array;
  callbacks?: FitCallbacks;
}

/** What `fit` returns, as tfjs's History. */
export interface History {
  epoch: number[];
  history: { loss: number[]; val_loss?: number[]; acc?: number[]; val_acc?: number[] };
}

/** Resolved compile arguments. */
export function checkCompileArgs(args: unknown): Required<CompileArgs> {
  const o = expectObject(args, 'compile: options');
  rejectUnknownOptions(o, ['loss', 'optimizer', 'fromLogits', 'metrics'], 'compile');
  if (typeof o.loss !== 'string' || !(LOSS_NAMES as readonly string[]).includes(o.loss)) {
    throw typeError(`compile: loss must be one of ${LOSS_NAMES.map((l) => `'${l}'`).join(', ')}, got ${describe(o.loss)}`);
  }
  if (!(o.optimizer instanceof Optimizer)) {
    throw typeError('compile: optimizer must come from rk.optimizers.sgd/adam/rmsprop');
  }
  const metrics = o.metrics ?? [];
  if (!Array.isArray(metrics) || !metrics.every((m) => m === 'accuracy')) {
    throw typeError(`compile: metrics must be an array of 'accuracy', got ${describe(o.metrics)}`);
  }
  return {
    loss: o.loss as LossName,
    optimizer: o.optimizer,
    fromLogits: optionalBoolean(o.fromLogits, 'compile: fromLogits', false),
    metrics: metrics as 'accuracy'[],
  };
}

/** The samples a batch holds: one tensor per model input and output, and the input masks. */
export interface Batch {
  xs: Tensor[];
  ys: Tensor[];
  masks: (StepMask | null)[];
}

/** Correct predictions in a batch (Keras's accuracy for the loss), counted natively. */
function countCorrect(loss: LossName, fromLogits: boolean, pred: Tensor, target: Tensor): { correct: number; total: number } {
  return native.countCorrect(loss, fromLogits, pred.handle, target.handle);
}

/**
 * One output's loss, gradient and correct count. A sequence output `[N, T, ...]` that carries
 * a step mask is scored on its unmasked steps only, as Keras weights the loss by the output
 * mask (the mean over the valid steps); its gradient is zero at masked steps.
 */
async function outputLoss(compiled: Required<CompileArgs>, output: Tensor, y: Tensor, mask: StepMask | null) {
  const accuracy = (p: Tensor, t: Tensor) => (compiled.metrics.length ? countCorrect(compiled.loss, compiled.fromLogits, p, t) : { correct: 0, total: 0 });
  const [N, T] = output.shape as [number, number];
  const masked = mask && !mask.allValid && output.shape.length >= 3 && mask.N === N && mask.T === T && y.shape[0] === N && y.shape[1] === T;
  if (!masked) {
    const r = await computeLoss(compiled.loss, y, output, { fromLogits: compiled.fromLogits });
    return { ...r, ...accuracy(output, y) };
  }
  const rows: number[] = [];
  for (let i = 0; i < N * T; i++) if (mask.valid[i]) rows.push(i);
  if (rows.length === 0) return { value: 0, gradient: fromNative(native.scale(output.handle, 0)), correct: 0, total: 0 };
  const stepRows = async (t: Tensor) => fromNative(await native.reshape(t.handle, [N * T, ...t.shape.slice(2)]));
  const owned: Tensor[] = [];
  try {
    const outSteps = await stepRows(output);
    const ySteps = await stepRows(y);
    owned.push(outSteps, ySteps);
    const index = Int32Array.from(rows);
    const outValid = fromNative(native.gatherRows(outSteps.handle, index));
    const yValid = fromNative(native.gatherRows(ySteps.handle, index));
    owned.push(outValid, yValid);
    const r = await computeLoss(compiled.loss, yValid, outValid, { fromLogits: compiled.fromLogits });
    owned.push(r.gradient);
    // The gradient back at every step: its valid row, zeros at masked steps.
    const back = new Int32Array(N * T);
    rows.forEach((row, k) => {
      back[row] = k;
    });
    const spread = fromNative(native.gatherRows(r.gradient.handle, back));
    owned.push(spread);
    const shaped = fromNative(await native.reshape(spread.handle, [N, T, ...output.shape.slice(2)]));
    owned.push(shaped);
    const gradient = fromNative(await native.maskRows(shaped.handle, mask.valid));
    return { value: r.value, gradient, ...accuracy(outValid, yValid) };
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** The loss of every output, summed (Keras's total loss), with each output's gradient. */
async function lossesOf(compiled: Required<CompileArgs>, outputs: readonly Tensor[], ys: readonly Tensor[], masks: readonly (StepMask | null)[], where: string) {
  if (outputs.length !== ys.length) throw rangeError(`${where}: the model has ${outputs.length} outputs, got ${ys.length} targets`);
  let value = 0;
  let correct = 0;
  let total = 0;
  const gradients: Tensor[] = [];
  try {
    for (let i = 0; i < outputs.length; i++) {
      const r = await outputLoss(compiled, outputs[i]!, ys[i]!, masks[i] ?? null);
      value += r.value;
      gradients.push(r.gradient);
      correct += r.correct;
      total += r.total;
    }
  } catch (e) {
    for (const g of gradients) g.dispose();
    throw e;
  }
  return { value, gradients, correct, total };
}

/** One optimizer step on one batch; returns the batch's loss. */
export async function trainOnBatch(graph: Graph, compiled: Required<CompileArgs>, batch: Batch): Promise<{ loss: number; correct: number; total: number }> {
  const pass = await graph.run(batch.xs, batch.masks, true);
  try {
    const { value, gradients, correct, total } = await lossesOf(compiled, pass.outputs, batch.ys, pass.outputMasks(), 'fit');
    let layerGrads: Map<Layer, Tensor[]>;
    try {
      layerGrads = await pass.backward(gradients);
    } finally {
      for (const g of gradients) g.dispose();
    }
    const weights: Tensor[] = [];
    const grads: Tensor[] = [];
    for (const layer of graph.innerLayers) {
      const g = layerGrads.get(layer);
      if (!g || g.length === 0) continue;
      weights.push(...layer.trainableWeights());
      grads.push(...g);
    }
    try {
      compiled.optimizer.applyGradients(weights, grads);
    } finally {
      for (const t of grads) t.dispose();
    }
    for (const layer of layerGrads.keys()) layer.weightsUpdated();
    return { loss: value, correct, total };
  } finally {
    pass.dispose(true);
  }
}

/**
 * The samples of `t` at `idx`, gathered on t's device: batches (shuffled or not) never
 * pass through the host; only the indices travel.
 */
function take(t: Tensor, idx: readonly number[]): Tensor {
  return fromNative(native.gatherRows(t.handle, Int32Array.from(idx)));
}

/** A seeded Fisher-Yates shuffle (mulberry32). */
function shuffled(indices: number[], seed: number): number[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...indices];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Mean loss over `indices` (inference passes, in batches). */
async function evaluateIndices(graph: Graph, compiled: Required<CompileArgs>, data: Batch, indices: number[], batchSize: number): Promise<{ loss: number; acc: number }> {
  let total = 0;
  let correct = 0;
  let counted = 0;
  for (let b = 0; b < indices.length; b += batchSize) {
    const idx = indices.slice(b, b + batchSize);
    const batch = takeBatch(data, idx);
    try {
      const pass = await graph.run(batch.xs, batch.masks, false);
      try {
        const r = await lossesOf(compiled, pass.outputs, batch.ys, pass.outputMasks(), 'evaluate');
        for (const g of r.gradients) g.dispose();
        correct += r.correct;
        counted += r.total;
        total += r.value * idx.length;
      } finally {
        pass.dispose(true);
      }
    } finally {
      disposeBatch(batch);
    }
  }
  return { loss: total / indices.length, acc: counted ? correct / counted : NaN };
}

/** The rows `idx` of every tensor of `data`, gathered on their device. */
function takeBatch(data: Batch, idx: readonly number[]): Batch {
  return { xs: data.xs.map((t) => take(t, idx)), ys: data.ys.map((t) => take(t, idx)), masks: data.masks.map((m) => m?.gather(idx) ?? null) };
}

function disposeBatch(b: Batch): void {
  for (const t of [...b.xs, ...b.ys]) t.dispose();
}

/** `x` (or `y`) as a list: one tensor per model input (output). */
export function tensorList(value: unknown, count: number, name: string, where: string): Tensor[] {
  if (Array.isArray(value)) {
    if (value.length !== count) throw typeError(`${where}: ${name} must hold ${count} tensor${count === 1 ? '' : 's'} (one per model ${name === 'x' ? 'input' : 'output'}), got ${value.length}`);
    return value.map((t, i) => expectTensor(t, `${where}: ${name}[${i}]`));
  }
  if (count !== 1) throw typeError(`${where}: the model has ${count} ${name === 'x' ? 'inputs' : 'outputs'}: ${name} must be an array of ${count} tensors`);
  return [expectTensor(value, `${where}: ${name}`)];
}

/** Options that describe which steps of the first input are valid. */
export interface MaskOptions {
  /** Valid steps per sample of a right-padded first input `[N, T, ...]`. */
  lengths?: Int32Array | readonly number[];
  /** Keras per-step mask `[N, T]` of 0/1 for the first input (a Tensor or a Uint8Array of N·T). */
  mask?: Tensor | Uint8Array;
}

/** The step masks of the inputs: the first input's from `lengths`/`mask`, the others none. */
export function inputMasks(xs: readonly Tensor[], opts: MaskOptions, where: string): (StepMask | null)[] {
  const masks: (StepMask | null)[] = xs.map(() => null);
  const x = xs[0]!;
  if (opts.lengths === undefined && opts.mask === undefined) return masks;
  if (x.shape.length < 2) throw typeError(`${where}: lengths and mask need a sequence input [batch, timesteps, ...], got [${x.shape.join(',')}]`);
  const [N, T] = x.shape as [number, number];
  let mask: StepMask | null = null;
  if (opts.lengths !== undefined) mask = StepMask.fromLengths(toLengths(opts.lengths, N, T, `${where}: lengths`), T);
  if (opts.mask !== undefined) {
    const m = StepMask.fromValid(toMask(opts.mask, N, T, `${where}: mask`), N, T);
    mask = mask ? mask.and(m) : m;
  }
  masks[0] = mask;
  return masks;
}

function checkData(xs: readonly Tensor[], ys: readonly Tensor[], where: string): void {
  const N = xs[0]!.shape[0];
  for (const [list, name] of [[xs, 'x'], [ys, 'y']] as const) {
    list.forEach((t, i) => {
      const label = list.length > 1 ? `${name}[${i}]` : name;
      if (t.shape[0] !== N) throw rangeError(`${where}: x and y must hold the same number of samples, got ${N} and ${t.shape[0]} (${label})`);
      // Samples without values (e.g. 0 timesteps) cannot be trained on; indexing billions of
      // them would only hang.
      if (N && t.size === 0) throw rangeError(`${where}: ${label} [${t.shape.join(',')}] holds no values: each of its ${t.shape[0]} samples is empty`);
    });
  }
  if (!N) throw rangeError(`${where}: x holds no samples`);
}

/** Mean loss of the model on (x, y). */
export async function evaluate(
  graph: Graph,
  compiled: Required<CompileArgs>,
  x: unknown,
  y: unknown,
  options: { batchSize?: number } & MaskOptions = {},
): Promise<number> {
  const xs = tensorList(x, graph.inputs.length, 'x', 'evaluate');
  const ys = tensorList(y, graph.outputs.length, 'y', 'evaluate');
  checkData(xs, ys, 'evaluate');
  const opts = expectObject(options, 'evaluate: options');
  rejectUnknownOptions(opts, ['batchSize', 'lengths', 'mask'], 'evaluate');
  const batchSize = optionalInteger(opts.batchSize, 'evaluate: batchSize', 32);
  if (batchSize < 1) throw rangeError(`evaluate: batchSize must be >= 1, got ${batchSize}`);
  const masks = inputMasks(xs, opts as MaskOptions, 'evaluate');
  const all = Array.from({ length: xs[0]!.shape[0]! }, (_, i) => i);
  return (await evaluateIndices(graph, compiled, { xs, ys, masks }, all, batchSize)).loss;
}

/** Trains the model; see {@link FitOptions}. */
export async function fit(graph: Graph, compiled: Required<CompileArgs>, x: unknown, y: unknown, options: FitOptions = {}): Promise<History> {
  const xs = tensorList(x, graph.inputs.length, 'x', 'fit');
  const ys = tensorList(y, graph.outputs.length, 'y', 'fit');
  checkData(xs, ys, 'fit');
  const o = expectObject(options, 'fit: options');
  rejectUnknownOptions(o, ['epochs', 'batchSize', 'shuffle', 'validationSplit', 'verbose', 'seed', 'lengths', 'mask', 'callbacks'], 'fit');
  const epochs = optionalInteger(o.epochs, 'fit: epochs', 1);
  const batchSize = optionalInteger(o.batchSize, 'fit: batchSize', 32);
  if (epochs < 1) throw rangeError(`fit: epochs must be >= 1, got ${epochs}`);
  if (batchSize < 1) throw rangeError(`fit: batchSize must be >= 1, got ${batchSize}`);
  const shuffle = optionalBoolean(o.shuffle, 'fit: shuffle', true);
  const split = o.validationSplit ?? 0;
  if (typeof split !== 'number' || !(split >= 0 && split < 1)) throw rangeError(`fit: validationSplit must be in [0, 1), got ${String(split)}`);
  const verbose = o.verbose ?? 1;
  if (verbose !== 0 && verbose !== 1) throw typeError('fit: verbose must be 0 or 1');
  const seed = optionalInteger(o.seed, 'fit: seed', 1);
  const callbacks = (o.callbacks === undefined ? {} : expectObject(o.callbacks, 'fit: callbacks')) as FitCallbacks;
  rejectUnknownOptions(callbacks, ['onBatchEnd', 'onEpochEnd', 'earlyStopping'], 'fit: callbacks');

  const N = xs[0]!.shape[0]!;
  const data: Batch = { xs, ys, masks: inputMasks(xs, o as MaskOptions, 'fit') };
  const nVal = Math.floor(N * split);
  const trainIdx = Array.from({ length: N - nVal }, (_, i) => i);
  const valIdx = Array.from({ length: nVal }, (_, i) => N - nVal + i);
  if (trainIdx.length === 0) throw rangeError('fit: validationSplit leaves no training samples');
  const withAcc = compiled.metrics.includes('accuracy');
  const history: History = {
    epoch: [],
    history: { loss: [], ...(nVal ? { val_loss: [] } : {}), ...(withAcc ? { acc: [] } : {}), ...(withAcc && nVal ? { val_acc: [] } : {}) },
  };
  const stop = callbacks.earlyStopping;
  const monitor = stop?.monitor ?? (nVal ? 'val_loss' : 'loss');
  if (monitor === 'val_loss' && !nVal) throw typeError("fit: earlyStopping monitors 'val_loss', which needs a validationSplit");
  if (stop) rejectUnknownOptions(expectObject(stop, 'fit: callbacks.earlyStopping'), ['monitor', 'patience', 'minDelta', 'restoreBestWeights'], 'fit: callbacks.earlyStopping');
  const restoreBest = optionalBoolean(stop?.restoreBestWeights, 'fit: callbacks.earlyStopping.restoreBestWeights', false);
  let best = Infinity;
  let waited = 0;
  let bestWeights: Tensor[][] | null = null;
  const layers = graph.innerLayers.filter((l) => l.weightCount() > 0);
  const dropBest = () => {
    for (const ws of bestWeights ?? []) for (const w of ws) w.dispose();
    bestWeights = null;
  };
  const tty = process.stdout.isTTY === true;

  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const started = Date.now();
      const order = shuffle ? shuffled(trainIdx, seed + epoch) : trainIdx;
      const batches = Math.ceil(order.length / batchSize);
      let sum = 0;
      let correct = 0;
      let counted = 0;
      for (let b = 0; b < batches; b++) {
        const idx = order.slice(b * batchSize, (b + 1) * batchSize);
        const batch = takeBatch(data, idx);
        let result;
        try {
          result = await trainOnBatch(graph, compiled, batch);
        } finally {
          disposeBatch(batch);
        }
        const { loss, ...accuracy } = result;
        sum += loss * idx.length;
        correct += accuracy.correct;
        counted += accuracy.total;
        await callbacks.onBatchEnd?.(b, { loss, ...(withAcc ? { acc: accuracy.correct / accuracy.total } : {}) });
        if (verbose && tty) {
          const done = (b + 1) / batches;
          const eta = ((Date.now() - started) / done) * (1 - done) / 1000;
          const bar = '='.repeat(Math.round(done * 30)).padEnd(30, '.');
          process.stdout.write(`\repoch ${epoch + 1}/${epochs} [${bar}] ${b + 1}/${batches} eta ${eta.toFixed(1)}s loss ${(sum / ((b * batchSize) + idx.length)).toFixed(4)}`);
        }
      }
      const logs: Logs = { loss: sum / order.length };
      if (withAcc) logs.acc = correct / counted;
      if (nVal) {
        const v = await evaluateIndices(graph, compiled, data, valIdx, batchSize);
        logs.val_loss = v.loss;
        if (withAcc) logs.val_acc = v.acc;
      }
      history.epoch.push(epoch);
      history.history.loss.push(logs.loss);
      if (logs.val_loss !== undefined) history.history.val_loss!.push(logs.val_loss);
      if (logs.acc !== undefined) history.history.acc!.push(logs.acc);
      if (logs.val_acc !== undefined) history.history.val_acc!.push(logs.val_acc);
      if (verbose) {
        const line = `epoch ${epoch + 1}/${epochs} - ${((Date.now() - started) / 1000).toFixed(2)}s - loss ${logs.loss.toFixed(4)}` +
          (logs.acc !== undefined ? ` - acc ${logs.acc.toFixed(4)}` : '') +
          (logs.val_loss !== undefined ? ` - val_loss ${logs.val_loss.toFixed(4)}` : '') +
          (logs.val_acc !== undefined ? ` - val_acc ${logs.val_acc.toFixed(4)}` : '');
        process.stdout.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
      }
      // The best weights are those that made this epoch's figures, before a callback changes them.
      let stopNow = false;
      if (stop) {
        const value = logs[monitor] ?? logs.loss;
        if (value < best - (stop.minDelta ?? 0)) {
          best = value;
          waited = 0;
          if (restoreBest) {
            dropBest();
            bestWeights = layers.map((l) => l.getWeights());
          }
        } else {
          stopNow = ++waited >= (stop.patience ?? 0);
        }
      }
      await callbacks.onEpochEnd?.(epoch, logs);
      if (stopNow) {
        if (bestWeights) layers.forEach((l, i) => l.setWeights(bestWeights![i]!));
        break;
      }
    }
  } finally {
    dropBest();
  }
  return history;
}
