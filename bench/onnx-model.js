'use strict';
/**
 * Builds single-node ONNX LSTM / GRU / RNN models in-process, so that onnxruntime-node
 * runs exactly the weights rnnkit runs. A plain-JS port of the protobuf encoder in
 * test/helpers/onnx.ts, cut down to what the benchmark needs (X as the only graph input,
 * W/R/B as initializers, Y as the output that is fetched). Field numbers from onnx.proto:
 *   ModelProto: ir_version=1, producer_name=2, graph=7, opset_import=8
 *   OperatorSetIdProto: domain=1, version=2
 *   GraphProto: node=1, name=2, initializer=5, input=11, output=12
 *   NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
 *   AttributeProto: name=1, i=3, s=4, type=20 (INT=2, STRING=3)
 *   TensorProto: dims=1, data_type=2 (FLOAT=1), name=8, raw_data=9
 *   ValueInfoProto: name=1, type=2; TypeProto: tensor_type=1; Tensor: elem_type=1, shape=2
 *   TensorShapeProto: dim=1; Dimension: dim_value=1
 */

const WT_VARINT = 0;
const WT_LEN = 2;
const FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;

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
}

function encodeAttribute(name, value) {
  const w = new Writer().string(1, name);
  if (typeof value === 'number') w.varint(3, value).varint(20, ATTR_INT);
  else w.string(4, value).varint(20, ATTR_STRING);
  return w;
}

function encodeTensor(name, dims, data) {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`initializer ${name}: dims [${dims}] need ${n} values, got ${data.length}`);
  // raw_data is little-endian float32: the typed array's bytes as they are (x86/arm64).
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return new Writer().packedVarints(1, dims).varint(2, FLOAT).string(8, name).lenDelimited(9, raw);
}

function encodeValueInfo(name, shape) {
  const dims = new Writer();
  for (const d of shape) dims.message(1, new Writer().varint(1, d));
  const tensorType = new Writer().varint(1, FLOAT).message(2, dims);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

const GATES = { LSTM: 4, GRU: 3, RNN: 1 };

/**
 * A forward-direction LSTM / GRU / RNN with default activations (Sigmoid/Tanh, as rnnkit's
 * TF2 defaults). X [T,N,D] is the graph input; W [1,G·H,D], R [1,G·H,H], B [1,2·G·H] are
 * initializers; outputs Y [T,1,N,H] and Y_h [1,N,H] (and Y_c for LSTM).
 * @param {{op:'LSTM'|'GRU'|'RNN', T:number, N:number, D:number, H:number,
 *          W:Float32Array, R:Float32Array, B:Float32Array, linearBeforeReset?:0|1}} s
 * @returns {Uint8Array} the serialized ModelProto
 */
function buildRnnModel(s) {
  const G = GATES[s.op];
  const { T, N, D, H } = s;
  const outputs = [
    ['Y', [T, 1, N, H]],
    ['Y_h', [1, N, H]],
  ];
  if (s.op === 'LSTM') outputs.push(['Y_c', [1, N, H]]);

  const node = new Writer();
  for (const input of ['X', 'W', 'R', 'B']) node.string(1, input);
  for (const [name] of outputs) node.string(2, name);
  node.string(3, `${s.op}_0`).string(4, s.op);
  node.message(5, encodeAttribute('hidden_size', H));
  node.message(5, encodeAttribute('direction', 'forward'));
  if (s.op === 'GRU') node.message(5, encodeAttribute('linear_before_reset', s.linearBeforeReset ?? 0));

  const graph = new Writer().message(1, node).string(2, 'rnnkit_bench');
  graph.message(5, encodeTensor('W', [1, G * H, D], s.W));
  graph.message(5, encodeTensor('R', [1, G * H, H], s.R));
  graph.message(5, encodeTensor('B', [1, 2 * G * H], s.B));
  graph.message(11, encodeValueInfo('X', [T, N, D]));
  for (const [name, shape] of outputs) graph.message(12, encodeValueInfo(name, shape));

  const opset = new Writer().string(1, '').varint(2, 14);
  return new Writer().varint(1, 8).string(2, 'rnnkit-bench').message(7, graph).message(8, opset).bytes();
}

module.exports = { buildRnnModel };
