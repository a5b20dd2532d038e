/**
 * rnnkit: fast, exact recurrent neural networks for Node.js.
 *
 * @packageDocumentation
 */
import { bidirectional } from './layers/bidirectional';
import { dense } from './layers/dense';
import { dropout } from './layers/dropout';
import { embedding } from './layers/embedding';
import { timeDistributed } from './layers/time-distributed';
import { conv1d } from './layers/conv1d';
import { averagePooling1D, globalAveragePooling1D, globalMaxPooling1D, maxPooling1D } from './layers/pooling1d';
import { adam, rmsprop, sgd } from './training/optimizers';
import { gru, lstm, simpleRNN } from './layers/recurrent';

export { backends, getBackend, getDeviceOption, getMemoryLimit, memory, setBackend, setDeviceOption, setMemoryLimit } from './backend';
export { ERROR_CODES, isRnnkitError } from './errors';
export type { ErrorCode, RnnkitError } from './errors';
export type { BackendInfo, BackendName, MemoryInfo } from './backend';
export { getIsa, getNumThreads, measureFmaPeak, setIsa, setNumThreads, supportedIsas } from './cpu';
export type { Isa } from './cpu';
export { Tensor, tensor } from './tensor';
export type { TensorLike } from './tensor';
export { clip } from './clip';
export { padSequences, unpadSequences } from './sequences';
export type { PadOptions, SequenceStep } from './sequences';
export { initialize } from './initializers';
export type { InitializerConfig, InitializerName, InitializerSpec } from './initializers';
export { RecurrentLayer, RecurrentForward } from './layers/recurrent';
export type {
  Activation,
  BackwardOptions,
  ForwardOptions,
  ForwardResult,
  Gradients,
  GRULayerArgs,
  LSTMLayerArgs,
  RecurrentConfig,
  RecurrentLayerArgs,
  SequenceLayer,
  SimpleRNNLayerArgs,
  WeightFormat,
  WeightValues,
} from './layers/recurrent';
export { Bidirectional, BidirectionalForward } from './layers/bidirectional';
export type { BidirectionalLayerArgs, MergeMode } from './layers/bidirectional';
export { Dense, DenseForward } from './layers/dense';
export { Embedding, EmbeddingForward } from './layers/embedding';
export type { EmbeddingConfig, EmbeddingLayerArgs } from './layers/embedding';
export { Dropout, DropoutForward } from './layers/dropout';
export type { DropoutLayerArgs } from './layers/dropout';
export { TimeDistributed } from './layers/time-distributed';
export type { DenseActivation, DenseConfig, DenseLayerArgs } from './layers/dense';
export { Conv1D } from './layers/conv1d';
export type { Conv1DActivation, Conv1DConfig, Conv1DLayerArgs } from './layers/conv1d';
export { AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, GlobalPooling1D, MaxPooling1D, Pooling1D } from './layers/pooling1d';
export type { GlobalPooling1DLayerArgs, Pooling1DLayerArgs } from './layers/pooling1d';
export type { TimePadding } from './layers/time-windows';

/** Layer factories, named as in tfjs-layers. */
export const layers = {
  simpleRNN,
  lstm,
  gru,
  bidirectional,
  dense,
  embedding,
  dropout,
  timeDistributed,
  conv1d,
  maxPooling1D,
  averagePooling1D,
  globalMaxPooling1D,
  globalAveragePooling1D,
};
export { Sequential, sequential } from './models/sequential';
export type { DenseLayerConfig, DenseLike, ModelLayer, PredictOptions, SymbolicShape } from './models/sequential';
export { loadModel, modelFromJson, modelToArtifacts } from './io/tfjs-format';
export type { JsonValue, LoadModelOptions, ModelJson, WeightSpec } from './io/tfjs-format';

export { computeLoss } from './training/losses';
export type { LossName, LossResult } from './training/losses';
export { Optimizer } from './training/optimizers';
export type { AdamOptions, ClipOptions, RMSpropOptions, SGDOptions } from './training/optimizers';

/** Optimizers with Keras's update rules and gradient clipping, updating weights in place. */
export const optimizers = { sgd, adam, rmsprop };
export type { CompileArgs, FitCallbacks, FitOptions, History, Logs } from './models/fit';
