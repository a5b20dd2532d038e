/**
 * Keras `Activation`: an activation function applied elementwise (softmax over the last
 * axis), on the dense layers' native activation entries.
 */
import { describe, expectObject, optionalChoice, rejectUnknownOptions, typeError } from '../errors';
import { baseConfig, declaredShape, get, JsonObject, kerasActivation, Obj, rkActivation } from '../io/keras-config';
import { modelFileError } from '../io/untrusted-files';
import { native } from '../native';
import { expectTensor, fromNative, Tensor } from '../tensor';
import { declaredInputOption, LayerBase, layerNameOption, simplePass } from './base';
import { singleShape, zerosLike } from './channel-weights';
import type { DenseActivation } from './dense';
import type { LayerPass, RunContext, Shape } from './layer';
import { registerLayer } from './registry';

const ACTIVATIONS: readonly DenseActivation[] = ['linear', 'relu', 'tanh', 'sigmoid', 'hardSigmoid', 'softmax', 'elu', 'selu', 'softsign', 'softplus'];

/** Options of {@link activation}. */
export interface ActivationLayerArgs {
  /** The function: any activation of `rk.layers.dense` (`hardSigmoid` is Keras 2 / tfjs's). */
  activation: DenseActivation;
  /** Input shape without the batch axis. */
  inputShape?: readonly (number | null)[];
  /** Input shape with the batch axis (instead of `inputShape`). */
  batchInputShape?: readonly (number | null)[];
  /** Layer name. */
  name?: string;
}

/**
 * Applies an activation function to its input (Keras `Activation`; named ActivationLayer
 * here because `Activation` is already the recurrent layers' activation name type). The
 * mask passes through.
 */
export class ActivationLayer extends LayerBase {
  readonly className = 'Activation';
  /** The function applied. */
  readonly activation: DenseActivation;

  /** @internal Use {@link activation}. */
  constructor(args: ActivationLayerArgs) {
    const where = 'layers.activation';
    const o = expectObject(args, `${where}: options`);
    rejectUnknownOptions(o, ['activation', 'inputShape', 'batchInputShape', 'name'], where);
    super(layerNameOption(o.name, 'activation', where), declaredInputOption(o.inputShape, o.batchInputShape, where));
    if (o.activation === undefined) throw typeError(`${where}: activation is required (one of ${ACTIVATIONS.join(', ')})`);
    this.activation = optionalChoice(o.activation, `${where}: activation`, ACTIVATIONS, 'linear');
  }

  computeOutputShape(inputShapes: readonly Shape[]): Shape[] {
    const shape = singleShape(inputShapes, this.name);
    if (!Array.isArray(shape) || shape.length < 1) throw typeError(`${this.name}: expected an input shape, got ${describe(shape)}`);
    return [[...shape]];
  }

  async run(inputs: readonly Tensor[], context: RunContext): Promise<LayerPass> {
    this.assertLive('run');
    const where = `${this.name}.run`;
    if (!Array.isArray(inputs) || inputs.length !== 1) throw typeError(`${where}: takes one input`);
    const x = expectTensor(inputs[0], `${where}: inputs[0]`);
    const training = context.training === true;
    const y = fromNative(await native.activationForward(x.handle, this.activation));
    return simplePass([y], [context.masks?.[0] ?? null], async (dOutputs) => {
      if (!training) throw typeError(`${this.name}.backward: the pass was run without training: true`);
      if (y.isDisposed) throw typeError(`${this.name}.backward: the pass's output was disposed; keep it until backward (its derivative is taken from it)`);
      const dy = dOutputs[0] ? expectTensor(dOutputs[0], `${this.name}.backward: dOutputs[0]`) : zerosLike(y);
      try {
        return { dInputs: [fromNative(await native.activationBackward(y.handle, dy.handle, this.activation))], dWeights: [] };
      } finally {
        if (dy !== dOutputs[0]) dy.dispose();
      }
    });
  }

  getConfig(): JsonObject {
    return { ...baseConfig(this.name, this.declaredInputShape ? [...this.declaredInputShape] : null), activation: kerasActivation(this.activation) };
  }
}

/** An activation function as a layer (Keras `Activation`). */
export function activation(args: ActivationLayerArgs): ActivationLayer {
  return new ActivationLayer(args);
}

function fromConfig(cfg: Obj, context: { readonly where: string }): ActivationLayer {
  try {
    const name = get(cfg, 'name');
    const declared = declaredShape(cfg, context.where);
    const act = rkActivation(get(cfg, 'activation'), context.where);
    return activation({
      activation: act as DenseActivation,
      ...(typeof name === 'string' ? { name } : {}),
      ...(declared ? { batchInputShape: declared } : {}),
    });
  } catch (e) {
    throw modelFileError(e, context.where);
  }
}

registerLayer('Activation', fromConfig);
