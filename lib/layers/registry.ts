/**
 * Layer kinds by Keras class name, for the model-file readers. Each layer file registers
 * its kind; `lib/layers/all.ts` imports every layer file so that all are known.
 */
import type { Obj } from '../io/keras-config';
import { fileTypeError, printable } from '../io/untrusted-files';
import type { Layer } from './layer';

/** What a layer's `fromConfig` gets besides its config. */
export interface FromConfigContext {
  /** Where the config was found, for messages (`model.json: layer 2 'lstm_1' (LSTM)`). */
  readonly where: string;
  /** Builds a nested layer from its `{ class_name, config }` (wrappers such as Bidirectional). */
  deserialize(entry: unknown, where: string): Layer;
  /**
   * What a recurrent layer outputs at masked steps when its config does not say: `'carry'`
   * for files from tfjs and Keras (their non-cuDNN semantics), `'zeros'` for rnnkit's.
   */
  readonly maskedOutput?: 'zeros' | 'carry';
}

/** Builds a layer from its Keras config (snake_case keys, or tfjs's camelCase). */
export type LayerFromConfig = (config: Obj, context: FromConfigContext) => Layer;

const kinds = new Map<string, LayerFromConfig>();

/**
 * Makes a layer kind loadable from model files under its Keras class name (and aliases,
 * e.g. `Conv1D` and `Convolution1D`).
 */
export function registerLayer(classNames: string | readonly string[], fromConfig: LayerFromConfig): void {
  for (const name of typeof classNames === 'string' ? [classNames] : classNames) kinds.set(name, fromConfig);
}

/** The registered Keras class names, sorted. */
export function registeredLayers(): string[] {
  return [...kinds.keys()].sort();
}

/**
 * The layer a Keras `{ class_name, config }` describes.
 * @throws TypeError RNNKIT_MODEL_FILE for a class that is not registered
 */
export function layerFromConfig(className: string, config: Obj, context: FromConfigContext): Layer {
  const make = kinds.get(className);
  if (!make) {
    throw fileTypeError(`${context.where}: unsupported layer type '${printable(className, 40)}' (supported: ${registeredLayers().join(', ')})`);
  }
  return make(config, context);
}
