/**
 * The training loop of a layer stack: forward with `training: true`, the loss and its
 * gradient, backward through every layer, clipping and the optimizer step on the device,
 * then the layers re-derive what they cache from their weights.
 * @internal
 */
import { describe, expectObject, optionalBoolean, optionalInteger, rangeError, rejectUnknownOptions, typeError } from '../errors';
import { Bidirectional } from '../layers/bidirectional';
import { Dense } from '../layers/dense';
import { Dropout } from '../layers/dropout';
import { Embedding, EmbeddingForward } from '../layers/embedding';
import { RecurrentLayer } from '../layers/recurrent';
import { TimeDistributed } from '../layers/time-distributed';
import { native } from '../native';
import { toLengths } from '../sequences';
import { expectTensor, fromNative, Tensor } from '../tensor';
import { computeLoss, LOSS_NAMES, LossName } from '../training/losses';
import { Optimizer } from '../training/optimizers';

/** A layer the training loop can drive. */
export type TrainableLayer = RecurrentLayer | Bidirectional | Dense | Embedding | Dropout | TimeDistributed;

/** Whether a layer runs over time with per-sequence lengths. */
function isRecurrent(l: TrainableLayer): l is RecurrentLayer | Bidirectional {
  return l instanceof RecurrentLayer || l instanceof Bidirectional;
}

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
  /** Stop when `monitor` has not improved by more than `minDelta` for `patience` epochs. */
  earlyStopping?: { monitor?: 'loss' | 'val_loss'; patience?: number; minDelta?: number };
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
  /** Valid steps per sample of a right-padded `[N, T, D]` input. */
  lengths?: Int32Array | readonly number[];
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

type LayerForward = { output: Tensor; dispose(): void };

/** Runs the stack forward; `lengths` reach recurrent layers while the sequence axis exists. */
async function forwardAll(layers: readonly TrainableLayer[], x: Tensor, lengths: Int32Array | null, training: boolean) {
  const passes: LayerForward[] = [];
  let h = x;
  let sequence = x.shape.length === 3 || layers[0] instanceof Embedding;
  for (const layer of layers) {
    const withLengths = sequence && lengths && isRecurrent(layer) ? { lengths } : {};
    const fwd: LayerForward = await (layer.forward as (x: Tensor, o: object) => Promise<LayerForward>).call(layer, h, { training, ...withLengths });
    if (fwd instanceof EmbeddingForward && fwd.lengths) lengths = fwd.lengths;
    if (isRecurrent(layer)) {
      const returnsSequences =
        layer instanceof Bidirectional ? layer.forwardLayer.config.returnSequences : layer.config.returnSequences;
      if (!returnsSequences) sequence = false;
      if (!training) for (const s of (fwd as { states?: Tensor[] }).states ?? []) s.dispose();
    }
    passes.push(fwd);
    h = fwd.output;
  }
  return passes;
}

function release(passes: LayerForward[], keepLast = false): void {
  passes.forEach((p, i) => {
    if (!(keepLast && i === passes.length - 1)) p.output.dispose();
    for (const s of (p as { states?: Tensor[] }).states ?? []) s.dispose();
    p.dispose();
  });
}

/** Correct predictions in a batch (Keras's accuracy for the loss), counted natively. */
function countCorrect(loss: LossName, fromLogits: boolean, pred: Tensor, target: Tensor): { correct: number; total: number } {
  return native.countCorrect(loss, fromLogits, pred.handle, target.handle);
}

/** One optimizer step on one batch; returns the batch's loss. */
export async function trainOnBatch(
  layers: readonly TrainableLayer[],
  compiled: Required<CompileArgs>,
  x: Tensor,
  y: Tensor,
  lengths: Int32Array | null,
): Promise<{ loss: number; correct: number; total: number }> {
  const passes = await forwardAll(layers, x, lengths, true);
  try {
    const output = passes[passes.length - 1]!.output;
    const { value, gradient } = await computeLoss(compiled.loss, y, output, { fromLogits: compiled.fromLogits });
    const accuracy = compiled.metrics.length ? countCorrect(compiled.loss, compiled.fromLogits, output, y) : { correct: 0, total: 0 };
    const weights: Tensor[] = [];
    const grads: Tensor[] = [];
    let d = gradient;
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i]!;
      // Each layer's backward takes the pass its own forward returned.
      const backward = layer.backwardTrainable as (fwd: LayerForward, d: Tensor) => Promise<{ dInput: Tensor; dWeights: Tensor[] }>;
      const g = await backward.call(layer, passes[i]!, d);
      d.dispose();
      d = g.dInput;
      weights.unshift(...layer.trainableWeights());
      grads.unshift(...g.dWeights);
    }
    d.dispose();
    compiled.optimizer.applyGradients(weights, grads);
    for (const t of grads) t.dispose();
    for (const layer of layers) layer.weightsUpdated();
    return { loss: value, ...accuracy };
  } finally {
    release(passes);
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
async function evaluateIndices(
  layers: readonly TrainableLayer[],
  compiled: Required<CompileArgs>,
  xs: Tensor,
  ys: Tensor,
  lengths: Int32Array | null,
  indices: number[],
  batchSize: number,
): Promise<{ loss: number; acc: number }> {
  let total = 0;
  let correct = 0;
  let counted = 0;
  for (let b = 0; b < indices.length; b += batchSize) {
    const idx = indices.slice(b, b + batchSize);
    const x = take(xs, idx);
    const y = take(ys, idx);
    const passes = await forwardAll(layers, x, lengths ? Int32Array.from(idx, (i) => lengths[i]!) : null, false);
    const output = passes[passes.length - 1]!.output;
    const { value, gradient } = await computeLoss(compiled.loss, y, output, { fromLogits: compiled.fromLogits });
    if (compiled.metrics.length) {
      const a = countCorrect(compiled.loss, compiled.fromLogits, output, y);
      correct += a.correct;
      counted += a.total;
    }
    gradient.dispose();
    release(passes);
    x.dispose();
    y.dispose();
    total += value * idx.length;
  }
  return { loss: total / indices.length, acc: counted ? correct / counted : NaN };
}

function checkXY(x: unknown, y: unknown, where: string): [Tensor, Tensor] {
  const xt = expectTensor(x, `${where}: x`);
  const yt = expectTensor(y, `${where}: y`);
  if (xt.shape[0] !== yt.shape[0]) {
    throw rangeError(`${where}: x and y must hold the same number of samples, got ${xt.shape[0]} and ${yt.shape[0]}`);
  }
  if (!xt.shape[0]) throw rangeError(`${where}: x holds no samples`);
  // Samples without values (e.g. 0 timesteps) cannot be trained on; indexing billions of
  // them would only hang.
  for (const [t, name] of [[xt, 'x'], [yt, 'y']] as const) {
    if (t.size === 0) throw rangeError(`${where}: ${name} [${t.shape.join(',')}] holds no values: each of its ${t.shape[0]} samples is empty`);
  }
  return [xt, yt];
}

/** Mean loss of the stack on (x, y). */
export async function evaluate(
  layers: readonly TrainableLayer[],
  compiled: Required<CompileArgs>,
  x: Tensor,
  y: Tensor,
  options: { batchSize?: number; lengths?: Int32Array | readonly number[] } = {},
): Promise<number> {
  const [xt, yt] = checkXY(x, y, 'evaluate');
  const opts = expectObject(options, 'evaluate: options');
  rejectUnknownOptions(opts, ['batchSize', 'lengths'], 'evaluate');
  const batchSize = optionalInteger(opts.batchSize, 'evaluate: batchSize', 32);
  if (batchSize < 1) throw rangeError(`evaluate: batchSize must be >= 1, got ${batchSize}`);
  const N = xt.shape[0]!;
  const lengths = opts.lengths === undefined ? null : toLengths(opts.lengths, N, xt.shape[1] ?? 0, 'evaluate: lengths');
  const all = Array.from({ length: N }, (_, i) => i);
  return (await evaluateIndices(layers, compiled, xt, yt, lengths, all, batchSize)).loss;
}

/** Trains the stack; see {@link FitOptions}. */
export async function fit(
  layers: readonly TrainableLayer[],
  compiled: Required<CompileArgs>,
  x: Tensor,
  y: Tensor,
  options: FitOptions = {},
): Promise<History> {
  const [xt, yt] = checkXY(x, y, 'fit');
  const o = expectObject(options, 'fit: options');
  rejectUnknownOptions(o, ['epochs', 'batchSize', 'shuffle', 'validationSplit', 'verbose', 'seed', 'lengths', 'callbacks'], 'fit');
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

  const N = xt.shape[0]!;
  const lengths = o.lengths === undefined ? null : toLengths(o.lengths, N, xt.shape[1] ?? 0, 'fit: lengths');
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
  let best = Infinity;
  let waited = 0;
  const tty = process.stdout.isTTY === true;

  for (let epoch = 0; epoch < epochs; epoch++) {
    const started = Date.now();
    const order = shuffle ? shuffled(trainIdx, seed + epoch) : trainIdx;
    const batches = Math.ceil(order.length / batchSize);
    let sum = 0;
    let correct = 0;
    let counted = 0;
    for (let b = 0; b < batches; b++) {
      const idx = order.slice(b * batchSize, (b + 1) * batchSize);
      const xb = take(xt, idx);
      const yb = take(yt, idx);
      const lb = lengths ? Int32Array.from(idx, (i) => lengths[i]!) : null;
      const { loss, ...accuracy } = await trainOnBatch(layers, compiled, xb, yb, lb);
      xb.dispose();
      yb.dispose();
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
      const v = await evaluateIndices(layers, compiled, xt, yt, lengths, valIdx, batchSize);
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
    await callbacks.onEpochEnd?.(epoch, logs);
    if (stop) {
      const value = logs[monitor] ?? logs.loss;
      if (value < best - (stop.minDelta ?? 0)) {
        best = value;
        waited = 0;
      } else if (++waited >= (stop.patience ?? 0)) {
        break;
      }
    }
  }
  return history;
}
