/** Types of bench/onnx-model.js, for the test suite. */
export type OnnxRnnOp = 'LSTM' | 'GRU' | 'RNN';
export type OnnxDirection = 'forward' | 'reverse' | 'bidirectional';

export interface RnnModelSpec {
  op: OnnxRnnOp;
  /** time steps, batch, input features, hidden size */
  T: number;
  N: number;
  D: number;
  H: number;
  direction?: OnnxDirection;
  /** ONNX layout: W [dirs, G*H, D], R [dirs, G*H, H], B [dirs, 2*G*H] (W-bias then R-bias) */
  W: Float32Array;
  R: Float32Array;
  B?: Float32Array;
  /** GRU only: 1 = apply the reset gate after the recurrent matmul (cuDNN / Keras reset_after) */
  linearBeforeReset?: 0 | 1;
  /** ONNX activation names, e.g. ['Sigmoid','Tanh','Tanh'] per direction (concatenated) */
  activations?: string[];
  activationAlpha?: number[];
  activationBeta?: number[];
  /** declare a `sequence_lens` int32 [N] graph input */
  withSequenceLens?: boolean;
  /** declare an `initial_h` [dirs, N, H] graph input */
  withInitialH?: boolean;
  /** declare an `initial_c` [dirs, N, H] graph input (LSTM only) */
  withInitialC?: boolean;
  opset?: number;
}

export function gateCount(op: OnnxRnnOp): number;
export function buildRnnModel(spec: RnnModelSpec): Uint8Array;
