/**
 * rnnkit: fast, exact recurrent neural networks for Node.js.
 *
 * @packageDocumentation
 */
import { bidirectional } from './layers/bidirectional';
import { dense } from './layers/dense';
import { dropout } from './layers/dropout';
import { embedding } from './layers/embedding';
import { flatten } from './layers/flatten';
import { masking } from './layers/masking';
import { add, average, concatenate, multiply } from './layers/merge';
import { repeatVector } from './layers/repeat-vector';
import { reshape } from './layers/reshape';
import { timeDistributed } from './layers/time-distributed';
import { layerNormalization } from './layers/layer-normalization';
import { batchNormalization } from './layers/batch-normalization';
import { activation } from './layers/activation';
import { spatialDropout1d } from './layers/spatial-dropout';
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
export { Flatten } from './layers/flatten';
export type { FlattenLayerArgs } from './layers/flatten';
export { Reshape } from './layers/reshape';
export type { ReshapeLayerArgs } from './layers/reshape';
export { RepeatVector } from './layers/repeat-vector';
export type { RepeatVectorLayerArgs } from './layers/repeat-vector';
export { Masking } from './layers/masking';
export type { MaskingLayerArgs } from './layers/masking';
export { Add, Average, Concatenate, Merge, Multiply } from './layers/merge';
export type { ConcatenateLayerArgs, MergeLayerArgs } from './layers/merge';
export { LayerNormalization } from './layers/layer-normalization';
export type { LayerNormalizationLayerArgs } from './layers/layer-normalization';
export { BatchNormalization } from './layers/batch-normalization';
export type { BatchNormalizationLayerArgs } from './layers/batch-normalization';
export { ActivationLayer } from './layers/activation';
export type { ActivationLayerArgs } from './layers/activation';
export { SpatialDropout1D } from './layers/spatial-dropout';
export type { SpatialDropout1DLayerArgs } from './layers/spatial-dropout';
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
  flatten,
  reshape,
  repeatVector,
  masking,
  concatenate,
  add,
  multiply,
  average,
  layerNormalization,
  batchNormalization,
  activation,
  spatialDropout1d,
  conv1d,
  maxPooling1D,
  averagePooling1D,
  globalMaxPooling1D,
  globalAveragePooling1D,
  /** tfjs-layers' spellings of the same factories. */
  maxPooling1d: maxPooling1D,
  averagePooling1d: averagePooling1D,
  globalMaxPooling1d: globalMaxPooling1D,
  globalAveragePooling1d: globalAveragePooling1D,
  spatialDropout1D: spatialDropout1d,
};
export { Sequential, sequential } from './models/sequential';
export type { ModelLayer } from './models/sequential';
export type { PredictOptions, SymbolicShape } from './models/model-base';
export { ModelBase } from './models/model-base';
export { LayersModel, model } from './models/layers-model';
export type { ModelArgs } from './models/layers-model';
export { input, InputLayer } from './layers/input-layer';
export type { InputArgs } from './layers/input-layer';
export { SymbolicTensor, Node } from './layers/symbolic';
export { LayerBase } from './layers/base';
export { isLayer } from './layers/layer';
export type { Layer, LayerGradients, LayerPass, RunContext, Shape } from './layers/layer';
export { registerLayer, registeredLayers } from './layers/registry';
export type { FromConfigContext, LayerFromConfig } from './layers/registry';
export { StepMask } from './mask';
export { loadModel, modelFromJson, modelToArtifacts } from './io/tfjs-format';
export type { JsonValue, LoadedModel, LoadModelOptions, ModelJson, WeightSpec } from './io/tfjs-format';
export type { JsonObject } from './io/keras-config';

export { computeLoss } from './training/losses';
export type { LossName, LossResult } from './training/losses';
export { Optimizer } from './training/optimizers';
export type { AdamOptions, ClipOptions, RMSpropOptions, SGDOptions } from './training/optimizers';

/** Serving: a dynamic batcher over a model, and streaming sessions (see `rk.serving.batcher`). */
export * as serving from './serving/index';
export type { Batcher, BatcherOptions, BatcherStats, Output, Percentiles, RequestOptions, Session, SessionOptions, SessionState } from './serving/index';

/** Optimizers with Keras's update rules and gradient clipping, updating weights in place. */
export const optimizers = { sgd, adam, rmsprop };
export type { CompileArgs, FitCallbacks, FitOptions, History, Logs, MaskOptions } from './models/fit';
