'use strict';
/**
 * Single-node ONNX LSTM / GRU / RNN models built in-process (a hand-written protobuf
 * encoder, no dependencies), so that onnxruntime-node runs exactly the weights rnnkit runs:
 * the bench's ORT peer and the test suite's independent reference (test/parity-onnx.test.ts)
 * both use it. Types: onnx-model.d.ts. Field numbers follow onnx/onnx.proto:
 *   ModelProto:         ir_version=1, producer_name=2, graph=7, opset_import=8
 *   OperatorSetIdProto: domain=1, version=2
 *   GraphProto:         node=1, name=2, initializer=5, input=11, output=12
 *   NodeProto:          input=1, output=2, name=3, op_type=4, attribute=5
 *   AttributeProto:     name=1, f=2, i=3, s=4, floats=7, strings=9, type=20
 *   TensorProto:        dims=1, data_type=2, name=8, raw_data=9
 *   ValueInfoProto:     name=1, type=2; TypeProto: tensor_type=1; Tensor: elem_type=1, shape=2
 *   TensorShapeProto:   dim=1; Dimension: dim_value=1
 */

const WT_VARINT = 0;
const WT_LEN = 2;
const WT_FIXED32 = 5;
const DataType = { FLOAT: 1, INT32: 6 };
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, STRINGS: 8 };

/** Protobuf writer. Chunks are Buffers, so megabytes of weights are copied once. */
class Writer {
  constructor() {
    this.chunks = [];
  }

  bytes() {
    return Buffer.concat(this.chunks);
  }

  rawVarint(value) {
    let x = BigInt.asUintN(64, BigInt(value));
    const out = [];
    while (x >= 0x80n) {
      out.push(Number((x & 0x7fn) | 0x80n));
      x >>= 7n;
    }
    out.push(Number(x));
    this.chunks.push(Buffer.from(out));
  }

  tag(field, wireType) {
    this.rawVarint((field << 3) | wireType);
  }

  varint(field, value) {
    this.tag(field, WT_VARINT);
    this.rawVarint(value);
    return this;
  }

  float(field, value) {
    this.tag(field, WT_FIXED32);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.chunks.push(b);
    return this;
  }

  lenDelimited(field, payload) {
    this.tag(field, WT_LEN);
    this.rawVarint(payload.length);
    this.chunks.push(payload);
    return this;
  }

  string(field, s) {
    return this.lenDelimited(field, Buffer.from(s, 'utf8'));
  }

  message(field, w) {
    return this.lenDelimited(field, w.bytes());
  }

  packedVarints(field, values) {
    const inner = new Writer();
    for (const v of values) inner.rawVarint(v);
    return this.lenDelimited(field, inner.bytes());
  }

  packedFloats(field, values) {
    return this.lenDelimited(field, Buffer.from(Float32Array.from(values).buffer));
  }
}

/** An attribute: an integer, a string, or a list of floats or of strings. */
function encodeAttribute(name, value) {
  const w = new Writer().string(1, name);
  if (typeof value === 'number') return w.varint(3, value).varint(20, AttrType.INT);
  if (typeof value === 'string') return w.string(4, value).varint(20, AttrType.STRING);
  if (value.every((v) => typeof v === 'string')) {
    for (const s of value) w.string(9, s);
    return w.varint(20, AttrType.STRINGS);
  }
  return w.packedFloats(7, value).varint(20, AttrType.FLOATS);
}

function encodeTensor(name, dims, data) {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`initializer ${name}: dims [${dims}] need ${n} values, got ${data.length}`);
  // raw_data is little-endian: the typed array's bytes as they are (x86/arm64).
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return new Writer().packedVarints(1, dims).varint(2, DataType.FLOAT).string(8, name).lenDelimited(9, raw);
}

function encodeValueInfo(name, elemType, shape) {
  const dims = new Writer();
  for (const d of shape) dims.message(1, new Writer().varint(1, d));
  const tensorType = new Writer().varint(1, elemType).message(2, dims);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

/** Gates per ONNX op: LSTM 4, GRU 3, RNN 1. */
function gateCount(op) {
  return { LSTM: 4, GRU: 3, RNN: 1 }[op];
}

/**
 * A single-node LSTM / GRU / RNN ModelProto (see RnnModelSpec in onnx-model.d.ts). Graph
 * inputs: X [T,N,D] and, when asked for, sequence_lens [N] (int32), initial_h and initial_c
 * [dirs,N,H]; W, R and B are initializers. Outputs: Y [T,dirs,N,H], Y_h [dirs,N,H] and
 * (LSTM) Y_c [dirs,N,H].
 * @returns {Uint8Array} the serialized model
 */
function buildRnnModel(s) {
  const direction = s.direction ?? 'forward';
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const G = gateCount(s.op);
  const { T, N, D, H } = s;
  if (s.withInitialC && s.op !== 'LSTM') throw new Error('initial_c is LSTM only');

  const inputs = [['X', DataType.FLOAT, [T, N, D]]];
  if (s.withSequenceLens) inputs.push(['sequence_lens', DataType.INT32, [N]]);
  if (s.withInitialH) inputs.push(['initial_h', DataType.FLOAT, [dirs, N, H]]);
  if (s.withInitialC) inputs.push(['initial_c', DataType.FLOAT, [dirs, N, H]]);
  const outputs = [['Y', DataType.FLOAT, [T, dirs, N, H]], ['Y_h', DataType.FLOAT, [dirs, N, H]]];
  if (s.op === 'LSTM') outputs.push(['Y_c', DataType.FLOAT, [dirs, N, H]]);

  // Node inputs are positional: X, W, R, B, sequence_lens, initial_h, initial_c (LSTM); '' = omitted.
  const nodeInputs = ['X', 'W', 'R', s.B ? 'B' : '', s.withSequenceLens ? 'sequence_lens' : '', s.withInitialH ? 'initial_h' : ''];
  if (s.op === 'LSTM') nodeInputs.push(s.withInitialC ? 'initial_c' : '');
  while (nodeInputs[nodeInputs.length - 1] === '') nodeInputs.pop();

  const attributes = { hidden_size: H, direction };
  if (s.activations) attributes.activations = s.activations;
  if (s.activationAlpha) attributes.activation_alpha = s.activationAlpha;
  if (s.activationBeta) attributes.activation_beta = s.activationBeta;
  if (s.op === 'GRU') attributes.linear_before_reset = s.linearBeforeReset ?? 0;

  const node = new Writer();
  for (const input of nodeInputs) node.string(1, input);
  for (const [name] of outputs) node.string(2, name);
  node.string(3, `${s.op}_0`).string(4, s.op);
  for (const [name, value] of Object.entries(attributes)) node.message(5, encodeAttribute(name, value));

  const graph = new Writer().message(1, node).string(2, 'rnnkit');
  graph.message(5, encodeTensor('W', [dirs, G * H, D], s.W));
  graph.message(5, encodeTensor('R', [dirs, G * H, H], s.R));
  if (s.B) graph.message(5, encodeTensor('B', [dirs, 2 * G * H], s.B));
  for (const [name, type, shape] of inputs) graph.message(11, encodeValueInfo(name, type, shape));
  for (const [name, type, shape] of outputs) graph.message(12, encodeValueInfo(name, type, shape));

  const opset = new Writer().string(1, '').varint(2, s.opset ?? 14);
  const model = new Writer().varint(1, 8).string(2, 'rnnkit').message(7, graph).message(8, opset).bytes();
  return new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
}

module.exports = { buildRnnModel, gateCount };
