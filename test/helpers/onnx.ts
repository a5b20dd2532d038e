/**
 * A minimal, hand-written ONNX ModelProto encoder (protobuf wire format) for
 * building single-node recurrent models (LSTM, GRU, RNN) in tests, so that
 * onnxruntime-node can serve as an independent reference. No dependencies.
 *
 * Field numbers follow onnx/onnx.proto:
 *   ModelProto:        ir_version=1, producer_name=2, graph=7, opset_import=8
 *   OperatorSetIdProto: domain=1, version=2
 *   GraphProto:        node=1, name=2, initializer=5, input=11, output=12
 *   NodeProto:         input=1, output=2, name=3, op_type=4, attribute=5, domain=7
 *   AttributeProto:    name=1, f=2, i=3, s=4, floats=7, ints=8, strings=9, type=20
 *   TensorProto:       dims=1, data_type=2, name=8, raw_data=9
 *   ValueInfoProto:    name=1, type=2
 *   TypeProto:         tensor_type=1 ; TypeProto.Tensor: elem_type=1, shape=2
 *   TensorShapeProto:  dim=1 ; Dimension: dim_value=1, dim_param=2
 */

// ---------------------------------------------------------------- wire format

const WT_VARINT = 0;
const WT_FIXED64 = 1;
const WT_LEN = 2;
const WT_FIXED32 = 5;
void WT_FIXED64;

/** Protobuf writer producing a byte array. */
class Writer {
  private chunks: number[] = [];

  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }

  private rawVarint(v: bigint): void {
    // int64 fields: negative values are encoded as 10-byte two's complement.
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.chunks.push(Number((x & 0x7fn) | 0x80n));
      x >>= 7n;
    }
    this.chunks.push(Number(x));
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(BigInt((field << 3) | wireType));
  }

  varint(field: number, v: number | bigint): this {
    this.tag(field, WT_VARINT);
    this.rawVarint(BigInt(v));
    return this;
  }

  fixed32Float(field: number, v: number): this {
    this.tag(field, WT_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.chunks.push(x);
    return this;
  }

  lenDelimited(field: number, payload: Uint8Array): this {
    this.tag(field, WT_LEN);
    this.rawVarint(BigInt(payload.length));
    for (const x of payload) this.chunks.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.lenDelimited(field, new TextEncoder().encode(s));
  }

  message(field: number, w: Writer): this {
    return this.lenDelimited(field, w.bytes());
  }

  packedVarints(field: number, values: (number | bigint)[]): this {
    const inner = new Writer();
    for (const v of values) inner.rawVarint(BigInt(v));
    return this.lenDelimited(field, inner.bytes());
  }

  packedFloats(field: number, values: number[]): this {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.lenDelimited(field, b);
  }
}

// ---------------------------------------------------------------- ONNX pieces

export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'strings'; value: string[] };

function encodeAttribute(name: string, a: AttrValue): Writer {
  const w = new Writer().string(1, name);
  switch (a.kind) {
    case 'float':
      w.fixed32Float(2, a.value).varint(20, AttrType.FLOAT);
      break;
    case 'int':
      w.varint(3, a.value).varint(20, AttrType.INT);
      break;
    case 'string':
      w.string(4, a.value).varint(20, AttrType.STRING);
      break;
    case 'floats':
      w.packedFloats(7, a.value).varint(20, AttrType.FLOATS);
      break;
    case 'ints':
      w.packedVarints(8, a.value).varint(20, AttrType.INTS);
      break;
    case 'strings':
      for (const s of a.value) w.string(9, s);
      w.varint(20, AttrType.STRINGS);
      break;
  }
  return w;
}

export interface TensorInit {
  name: string;
  dims: number[];
  data: Float32Array | Int32Array;
}

function encodeTensor(t: TensorInit): Writer {
  const w = new Writer();
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) {
    throw new Error(`initializer ${t.name}: dims ${t.dims} need ${n} values, got ${t.data.length}`);
  }
  w.packedVarints(1, t.dims);
  w.varint(2, t.data instanceof Float32Array ? DataType.FLOAT : DataType.INT32);
  w.string(8, t.name);
  // raw_data is little-endian; copy the bytes (the typed array may be a view).
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
  w.lenDelimited(9, raw);
  return w;
}

export interface ValueInfo {
  name: string;
  elemType: number;
  /** number = fixed dimension, string = symbolic dimension */
  shape: (number | string)[];
}

function encodeValueInfo(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.varint(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new Writer().varint(1, v.elemType).message(2, shape);
  const type = new Writer().message(1, tensorType);
  return new Writer().string(1, v.name).message(2, type);
}

export interface NodeSpec {
  opType: string;
  /** input names; '' for an omitted optional input */
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttrValue>;
  name?: string;
}

export interface GraphSpec {
  node: NodeSpec;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: TensorInit[];
  opset?: number;
  irVersion?: number;
}

/** Encodes a single-node ModelProto. */
export function encodeModel(g: GraphSpec): Uint8Array {
  const node = new Writer();
  for (const i of g.node.inputs) node.string(1, i);
  for (const o of g.node.outputs) node.string(2, o);
  node.string(3, g.node.name ?? `${g.node.opType}_0`);
  node.string(4, g.node.opType);
  for (const [k, v] of Object.entries(g.node.attributes ?? {})) node.message(5, encodeAttribute(k, v));

  const graph = new Writer();
  graph.message(1, node);
  graph.string(2, 'rnnkit_parity');
  for (const t of g.initializers) graph.message(5, encodeTensor(t));
  for (const v of g.inputs) graph.message(11, encodeValueInfo(v));
  for (const v of g.outputs) graph.message(12, encodeValueInfo(v));

  const opset = new Writer().string(1, '').varint(2, g.opset ?? 14);
  const model = new Writer();
  model.varint(1, g.irVersion ?? 8);
  model.string(2, 'rnnkit-tests');
  model.message(7, graph);
  model.message(8, opset);
  return model.bytes();
}

// ---------------------------------------------------------------- RNN models

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

export function gateCount(op: OnnxRnnOp): number {
  return op === 'LSTM' ? 4 : op === 'GRU' ? 3 : 1;
}

/**
 * Builds a single-node LSTM/GRU/RNN ModelProto. Graph inputs (fed at run time):
 * X [T,N,D] and, when requested, sequence_lens [N] (int32), initial_h, initial_c
 * [dirs,N,H]. W, R, B are initializers. Outputs: Y [T,dirs,N,H], Y_h [dirs,N,H]
 * and (LSTM) Y_c [dirs,N,H].
 */
export function buildRnnModel(s: RnnModelSpec): Uint8Array {
  const direction = s.direction ?? 'forward';
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const G = gateCount(s.op);
  const { T, N, D, H } = s;

  const initializers: TensorInit[] = [
    { name: 'W', dims: [dirs, G * H, D], data: s.W },
    { name: 'R', dims: [dirs, G * H, H], data: s.R },
  ];
  if (s.B) initializers.push({ name: 'B', dims: [dirs, 2 * G * H], data: s.B });

  const inputs: ValueInfo[] = [{ name: 'X', elemType: DataType.FLOAT, shape: [T, N, D] }];
  if (s.withSequenceLens) inputs.push({ name: 'sequence_lens', elemType: DataType.INT32, shape: [N] });
  if (s.withInitialH) inputs.push({ name: 'initial_h', elemType: DataType.FLOAT, shape: [dirs, N, H] });
  if (s.withInitialC) {
    if (s.op !== 'LSTM') throw new Error('initial_c is LSTM only');
    inputs.push({ name: 'initial_c', elemType: DataType.FLOAT, shape: [dirs, N, H] });
  }

  // Node inputs are positional: X, W, R, B, sequence_lens, initial_h, initial_c (LSTM), P (LSTM).
  const nodeInputs = [
    'X',
    'W',
    'R',
    s.B ? 'B' : '',
    s.withSequenceLens ? 'sequence_lens' : '',
    s.withInitialH ? 'initial_h' : '',
  ];
  if (s.op === 'LSTM') nodeInputs.push(s.withInitialC ? 'initial_c' : '');
  while (nodeInputs.length > 0 && nodeInputs[nodeInputs.length - 1] === '') nodeInputs.pop();

  const outputs: ValueInfo[] = [
    { name: 'Y', elemType: DataType.FLOAT, shape: [T, dirs, N, H] },
    { name: 'Y_h', elemType: DataType.FLOAT, shape: [dirs, N, H] },
  ];
  if (s.op === 'LSTM') outputs.push({ name: 'Y_c', elemType: DataType.FLOAT, shape: [dirs, N, H] });

  const attributes: Record<string, AttrValue> = {
    hidden_size: { kind: 'int', value: H },
    direction: { kind: 'string', value: direction },
  };
  if (s.activations) attributes.activations = { kind: 'strings', value: s.activations };
  if (s.activationAlpha) attributes.activation_alpha = { kind: 'floats', value: s.activationAlpha };
  if (s.activationBeta) attributes.activation_beta = { kind: 'floats', value: s.activationBeta };
  if (s.op === 'GRU') attributes.linear_before_reset = { kind: 'int', value: s.linearBeforeReset ?? 0 };

  return encodeModel({
    node: { opType: s.op, inputs: nodeInputs, outputs: outputs.map((o) => o.name), attributes },
    inputs,
    outputs,
    initializers,
    opset: s.opset ?? 14,
  });
}
