import { expectObject, optionalBoolean, optionalChoice, rejectUnknownOptions } from '../errors';
import { native } from '../native';
import { expectTensor, fromNative, Tensor } from '../tensor';

/** Losses with Keras's definitions (mean over the last axis, then over samples). */
export type LossName = 'mse' | 'mae' | 'binaryCrossentropy' | 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy';

export const LOSS_NAMES: readonly LossName[] = ['mse', 'mae', 'binaryCrossentropy', 'categoricalCrossentropy', 'sparseCategoricalCrossentropy'];

/** A loss value and its gradient with respect to the prediction. */
export interface LossResult {
  /** Mean loss over the samples. */
  value: number;
  /** d value / d yPred, same shape as yPred. */
  gradient: Tensor;
}

/**
 * Computes a loss and its gradient on the native side.
 * @param yTrue targets: yPred's shape, or for `sparseCategoricalCrossentropy` one class
 *   index per sample (yPred's shape without the last axis)
 * @param yPred predictions `[..., C]`: probabilities, or logits with `fromLogits`
 * @throws TypeError for an unknown loss, RangeError for shapes or labels out of range
 */
export async function computeLoss(
  loss: LossName,
  yTrue: Tensor,
  yPred: Tensor,
  options: { fromLogits?: boolean } = {},
): Promise<LossResult> {
  const name = optionalChoice(loss, 'loss', LOSS_NAMES, 'mse');
  const opts = expectObject(options, 'loss options');
  rejectUnknownOptions(opts, ['fromLogits'], 'loss');
  const fromLogits = optionalBoolean(opts.fromLogits, 'loss: fromLogits', false);
  const t = expectTensor(yTrue, 'yTrue');
  const p = expectTensor(yPred, 'yPred');
  const r = await native.lossCompute(name, fromLogits, p.handle, t.handle);
  return { value: r.value, gradient: fromNative(r.grad) };
}
