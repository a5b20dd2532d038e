/**
 * The native addon, loaded by lib/load-addon.ts from `prebuilds/` (or a local build, or
 * `RNNKIT_ADDON`), and the types of what it exports. Internal: the public API wraps every entry.
 */
import { loadAddon } from './load-addon';

/** A native float32 buffer on a device. */
export interface NativeTensor {
  readonly shape: number[];
  readonly device: string | null;
  readonly disposed: boolean;
  read(): Float32Array;
  dispose(): void;
}

/** Saved activations of a training forward pass. */
export interface NativeReserve {
  readonly bytes: number;
  readonly disposed: boolean;
  dispose(): void;
}

/** Weights prepared for many passes: canonical tensors and packed GEMM operands. */
export interface NativeRnnWeights {
  readonly bytes: number;
  /** Whether the device keeps packed copies (then in-place weight updates need a new prepare). */
  readonly packed: boolean;
  dispose(): void;
}

/** The cell description the native side validates and runs. */
export interface NativeRnnDesc {
  cell: 'simpleRNN' | 'lstm' | 'gruResetAfter' | 'gruResetBefore';
  activation: string;
  recurrentActivation: string;
  inputSize: number;
  units: number;
  goBackwards: boolean;
  returnSequences: boolean;
  maskedOutput: 'zeros' | 'carry';
}

export type NativeWeightFormat = 'keras' | 'pytorch' | 'onnx';

/** A forward pass's results: output, h, c (LSTM) and the reserve (training). */
export type NativeForward = [output: NativeTensor, h: NativeTensor, c: NativeTensor | null, reserve: NativeReserve | null];

export interface NativeGradients {
  dx: NativeTensor;
  dh0: NativeTensor;
  dc0?: NativeTensor;
  dw: NativeTensor;
  dr: NativeTensor;
  dbiasW?: NativeTensor;
  dbiasR?: NativeTensor;
}

/** One native draw of initial values (lib/initializers.ts builds them). */
export interface NativeInitDraw {
  /** uniform [a, b); normal / truncatedNormal: mean a, stddev b; constant a; orthogonal / identity: gain a. */
  kind: 'zeros' | 'constant' | 'uniform' | 'normal' | 'truncatedNormal' | 'orthogonal' | 'identity';
  a: number;
  b: number;
  seed: number;
  shape: number[];
}

/** An array of `shape` filled by draws laid end to end. */
export interface NativeInitArray {
  shape: number[];
  parts: NativeInitDraw[];
}

/** Initialized weights: device tensors, and with `rnn` the canonical ones prepared. */
export interface NativeInitResult {
  tensors: NativeTensor[];
  prepared?: NativeRnnWeights;
}

/** With `rnn`, the arrays are a recurrent layer's Keras arrays, converted to canonical. */
export type NativeInitTarget = { desc: NativeRnnDesc; useBias: boolean } | null;

/** A running initialization (see native/napi/init_bindings.cpp). */
export interface NativeInitJob {
  /** Resolves with the result, or null when wait() took it first. */
  promise: Promise<NativeInitResult | null>;
  /** Blocks until the job is done; the result, or null when the promise delivered it. */
  wait(): NativeInitResult | null;
  /** Stops the work at its next check; the promise then rejects. */
  cancel(): void;
}

/** A Conv1D pass's geometry and activation (native/core/conv1d.h). */
export interface NativeConv1dSpec {
  strides: number;
  dilationRate: number;
  padding: 'valid' | 'same' | 'causal';
  activation: string;
}

/** A pooling pass over time (native/core/pooling.h). */
export interface NativePool1dSpec {
  kind: 'max' | 'average';
  poolSize: number;
  strides: number;
  padding: 'valid' | 'same';
}

export interface NativeAddon {
  initValues(array: NativeInitArray): Float32Array;
  initRun(arrays: NativeInitArray[], backend: string, rnn: NativeInitTarget): NativeInitResult;
  initStart(arrays: NativeInitArray[], backend: string, rnn: NativeInitTarget): NativeInitJob;
  NativeTensor: new (values: Float32Array, shape: number[], backend: string) => NativeTensor;
  backends(): { name: 'cpu' | 'cuda'; available: boolean; reason?: string }[];
  memory(backend: string): { bytes: number; allocations: number; cachedBytes: number };
  setMemoryLimit(bytes: number | null): void;
  getMemoryLimit(): number | null;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  hardwareThreads(): number;
  setIsa(isa: string): void;
  getIsa(): string;
  supportedIsas(): string[];
  measureFmaPeak(isa: string, threads: number, seconds: number): number;
  rnnPrepare(desc: NativeRnnDesc, weights: NativeTensor[]): NativeRnnWeights;
  /** A forward pass of the layer `weights` were prepared for (their description). */
  rnnForward(
    weights: NativeRnnWeights,
    x: NativeTensor,
    h0: NativeTensor | null,
    c0: NativeTensor | null,
    lengths: Int32Array | null,
    training: boolean,
  ): Promise<NativeForward>;
  rnnBackward(
    reserve: NativeReserve,
    dOutput: NativeTensor,
    dh: NativeTensor | null,
    dc: NativeTensor | null,
  ): Promise<NativeGradients>;
  weightFormatArrays(desc: NativeRnnDesc, useBias: boolean, format: NativeWeightFormat): { name: string; shape: number[] }[];
  weightsToCanonical(desc: NativeRnnDesc, useBias: boolean, format: NativeWeightFormat, arrays: Float32Array[]): Float32Array[];
  weightsFromCanonical(desc: NativeRnnDesc, format: NativeWeightFormat, canonical: Float32Array[]): Float32Array[];
  canonicalToFormat(desc: NativeRnnDesc, format: NativeWeightFormat, canonical: NativeTensor[], gradients: boolean): NativeTensor[];
  denseForward(x: NativeTensor, kernel: NativeTensor, bias: NativeTensor | null, activation: string): Promise<NativeTensor>;
  denseBackward(
    x: NativeTensor,
    kernel: NativeTensor,
    hasBias: boolean,
    output: NativeTensor,
    dOutput: NativeTensor,
    activation: string,
  ): Promise<{ dx: NativeTensor; dkernel: NativeTensor; dbias?: NativeTensor }>;
  conv1dForward(x: NativeTensor, kernel: NativeTensor, bias: NativeTensor | null, spec: NativeConv1dSpec): Promise<NativeTensor>;
  conv1dBackward(
    x: NativeTensor,
    kernel: NativeTensor,
    hasBias: boolean,
    output: NativeTensor,
    dOutput: NativeTensor,
    spec: NativeConv1dSpec,
  ): Promise<{ dx: NativeTensor; dkernel: NativeTensor; dbias?: NativeTensor }>;
  pool1dForward(x: NativeTensor, spec: NativePool1dSpec): Promise<NativeTensor>;
  pool1dBackward(x: NativeTensor, dOutput: NativeTensor, spec: NativePool1dSpec): Promise<NativeTensor>;
  /** `mask`: [N, T] of 0/1 on x's device, or null (every step). */
  globalPool1dForward(x: NativeTensor, kind: 'max' | 'average', mask: NativeTensor | null, keepdims: boolean): Promise<NativeTensor>;
  globalPool1dBackward(x: NativeTensor, mask: NativeTensor | null, dOutput: NativeTensor, kind: 'max' | 'average'): Promise<NativeTensor>;
  lossCompute(loss: string, fromLogits: boolean, yPred: NativeTensor, yTrue: NativeTensor): Promise<{ value: number; grad: NativeTensor }>;
  optimizerStep(
    config: { kind: string; iteration: number; learningRate: number; momentum: number; nesterov: boolean; beta1: number; beta2: number; rho: number; epsilon: number },
    param: NativeTensor,
    grad: NativeTensor,
    slot0: NativeTensor | null,
    slot1: NativeTensor | null,
  ): void;
  countCorrect(loss: string, fromLogits: boolean, yPred: NativeTensor, yTrue: NativeTensor): { correct: number; total: number };
  embeddingForward(table: NativeTensor, ids: NativeTensor): { output: NativeTensor; lengths: Int32Array };
  embeddingBackward(ids: NativeTensor, dOutput: NativeTensor, tableShape: number[]): NativeTensor;
  dropout(x: NativeTensor, rate: number, seed: number): { output: NativeTensor; mask: NativeTensor };
  clipByValue(grads: NativeTensor[], clipValue: number): NativeTensor[];
  clipByNorm(grads: NativeTensor[], clipNorm: number): NativeTensor[];
  clipByGlobalNorm(grads: NativeTensor[], clipNorm: number): { grads: NativeTensor[]; norm: number };
  globalNorm(tensors: NativeTensor[]): number;
  add(a: NativeTensor, b: NativeTensor): NativeTensor;
  multiply(a: NativeTensor, b: NativeTensor): NativeTensor;
  scale(a: NativeTensor, factor: number): NativeTensor;
  concatLast(parts: NativeTensor[]): NativeTensor;
  splitLast(x: NativeTensor, widths: number[]): NativeTensor[];
  reverseSequences(x: NativeTensor, lengths: Int32Array | null): NativeTensor;
  gatherRows(x: NativeTensor, indices: Int32Array): NativeTensor;
  concatRows(parts: NativeTensor[]): NativeTensor;
  /** A copy of x with another shape of the same element count. */
  reshape(x: NativeTensor, shape: number[]): Promise<NativeTensor>;
  /** Concatenation along `axis`; the other axes must match. */
  concatAxis(parts: NativeTensor[], axis: number): Promise<NativeTensor>;
  /** `axis` split into pieces of these sizes. */
  splitAxis(x: NativeTensor, axis: number, sizes: number[]): Promise<NativeTensor[]>;
  /** `[N, C]` → `[N, n, C]`. */
  repeatRows(x: NativeTensor, n: number): Promise<NativeTensor>;
  /** `[N, n, C]` → `[N, C]`, the n copies summed. */
  sumRepeats(dOutput: NativeTensor): Promise<NativeTensor>;
  /** Masking of `[N, T, C]`: the input with all-`maskValue` steps zeroed, and 0/1 per step (N·T). */
  maskSteps(x: NativeTensor, maskValue: number): Promise<{ output: NativeTensor; valid: Uint8Array }>;
  /** `[N, T, ...]` with the steps whose `valid` byte is 0 zeroed. */
  maskRows(x: NativeTensor, valid: Uint8Array): Promise<NativeTensor>;
  /** The elementwise sum, product or mean of tensors of one shape. */
  merge(kind: 'add' | 'multiply' | 'average', inputs: NativeTensor[]): Promise<NativeTensor>;
  /** One gradient per input of {@link NativeAddon.merge}; add and average take the number of inputs instead. */
  mergeBackward(kind: 'add' | 'multiply' | 'average', inputs: NativeTensor[] | number, dOutput: NativeTensor): Promise<NativeTensor[]>;
  toDevice(x: NativeTensor, backend: string): NativeTensor;
  /** Layer normalization over the last axis; with keepStatistics the row mean and 1/std for the backward. */
  layerNormForward(
    x: NativeTensor,
    gamma: NativeTensor | null,
    beta: NativeTensor | null,
    epsilon: number,
    keepStatistics: boolean,
  ): Promise<{ y: NativeTensor; mean?: NativeTensor; rstd?: NativeTensor }>;
  layerNormBackward(
    x: NativeTensor,
    dOutput: NativeTensor,
    gamma: NativeTensor | null,
    mean: NativeTensor,
    rstd: NativeTensor,
  ): Promise<{ dx: NativeTensor; dgamma: NativeTensor; dbeta: NativeTensor }>;
  /**
   * Batch normalization over the last axis: with training, the batch statistics (rows
   * weighted by rowWeights when given) and the moving ones updated in place; else the moving ones.
   */
  batchNormForward(
    x: NativeTensor,
    gamma: NativeTensor | null,
    beta: NativeTensor | null,
    movingMean: NativeTensor,
    movingVariance: NativeTensor,
    epsilon: number,
    training: boolean,
    momentum: number,
    rowWeights: Float32Array | null,
  ): Promise<{ y: NativeTensor; mean?: NativeTensor; variance?: NativeTensor }>;
  batchNormBackward(
    x: NativeTensor,
    dOutput: NativeTensor,
    gamma: NativeTensor | null,
    mean: NativeTensor,
    variance: NativeTensor,
    epsilon: number,
    rowWeights: Float32Array | null,
  ): Promise<{ dx: NativeTensor; dgamma: NativeTensor; dbeta: NativeTensor }>;
  activationForward(x: NativeTensor, activation: string): Promise<NativeTensor>;
  activationBackward(output: NativeTensor, dOutput: NativeTensor, activation: string): Promise<NativeTensor>;
  /** x [N, T, C] with whole channels dropped per sample; mask [N, C]. */
  spatialDropout(x: NativeTensor, rate: number, seed: number): Promise<{ output: NativeTensor; mask: NativeTensor }>;
  /** x [N, T, C] times mask [N, C] broadcast over the steps. */
  spatialDropoutApply(x: NativeTensor, mask: NativeTensor): Promise<NativeTensor>;
  deviceOption(backend: string, name: string): string;
  setDeviceOption(backend: string, name: string, value: string): void;
}

/**
 * The addon. RNNKIT_ADDON names another build of it (a .node file), e.g. the sanitizer build
 * of `npm run test:asan`; without it, a local build, then the prebuild that fits this platform.
 * When none loads, an Error with code RNNKIT_NO_BINARY says why (lib/load-addon.ts).
 */
export const native = loadAddon() as NativeAddon;
