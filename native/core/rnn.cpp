#include "rnn.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "cell_math.h"

namespace rk {
namespace {

void expect_shape(const Tensor& t, const Shape& expected, const std::string& name) {
  if (t.shape != expected)
    throw RangeError(name + " must have shape " + shape_string(expected) + ", got " +
                     shape_string(t.shape));
}

void expect_same_device(const Tensor& t, const Device& device, const std::string& name) {
  if (&t.device() != &device)
    throw TypeError(name + " is on " + t.device().name() + ", expected " + device.name());
}

// Thin helpers that keep the algorithm readable: every device call is checked.
struct Ops {
  const Device& device;
  const rk_device_ops& o;
  explicit Ops(const Device& d) : device(d), o(d.ops()) {}

  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc) const {
    if (m == 0 || n == 0) return;
    device.check(o.gemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc), "gemm");
  }
  // op(B) [k, n] prepared once for the per-step GEMMs; packing is optional (device_abi.h).
  PreparedB pack(bool tb, int64_t k, int64_t n, const float* b, int64_t ldb) const {
    PreparedB p;
    p.b = b;
    p.trans = tb;
    p.ldb = ldb;
    const size_t bytes = o.packed_b_bytes && o.pack_b && o.gemm_packed_b ? o.packed_b_bytes(k, n) : 0;
    if (bytes == 0 || k == 0 || n == 0) return p;
    p.packed = DeviceBuffer(&device, bytes);
    device.check(o.pack_b(tb, k, n, b, ldb, p.packed.data()), "pack_b");
    return p;
  }
  void gemm_packed(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const PreparedB& b,
                   float beta, float* c, int64_t ldc) const {
    if (!b.is_packed()) return gemm(false, b.trans, m, n, k, a, lda, b.b, b.ldb, beta, c, ldc);
    if (m == 0 || n == 0) return;
    device.check(o.gemm_packed_b(false, m, n, k, 1.0f, a, lda, b.packed.data(), beta, c, ldc), "gemm_packed_b");
  }
  void fill(float* dst, float value, int64_t count) const {
    if (count > 0) device.check(o.fill(dst, value, count), "fill");
  }
  void copy(void* dst, const void* src, size_t bytes, rk_copy_kind kind) const {
    if (bytes > 0) device.check(o.copy(dst, src, bytes, kind), "copy");
  }
  void copy_2d(const float* src, int64_t src_pitch, float* dst, int64_t dst_pitch, int64_t rows, int64_t width) const {
    if (rows * width > 0) device.check(o.copy_2d(src, src_pitch, dst, dst_pitch, rows, width), "copy_2d");
  }
  void permute(const float* src, float* dst, int64_t n, int64_t t, int64_t w, const int32_t* len,
               bool reverse, bool to_time_major) const {
    if (n * t * w == 0) return;
    device.check(o.permute_steps(src, dst, n, t, w, len, reverse, to_time_major), "permute_steps");
  }
};

// The fields every timestep's pointwise arguments share, forward and backward.
template <typename Args>
Args cell_args(const RnnDesc& desc, int64_t batch, int64_t step) {
  Args a{};
  a.cell = desc.cell;
  a.activation = desc.activation;
  a.recurrent_activation = desc.recurrent_activation;
  a.batch = batch;
  a.hidden = desc.hidden;
  a.step = step;
  a.output_mode = desc.output_mode;
  a.masked_output = desc.masked_output;
  return a;
}

DeviceBuffer upload_lengths(const Ops& ops, const std::vector<int32_t>& lengths) {
  DeviceBuffer buffer(&ops.device, lengths.size() * sizeof(int32_t));
  ops.copy(buffer.data(), lengths.data(), buffer.bytes(), RK_HOST_TO_DEVICE);
  return buffer;
}

void init_state(const Ops& ops, float* dst, const Tensor* given, int64_t count) {
  if (given)
    ops.copy(dst, given->data(), count * sizeof(float), RK_DEVICE_TO_DEVICE);
  else
    ops.fill(dst, 0.0f, count);
}

// One input of a weight gradient: `values` [rows, width], and its gradient [m, width].
struct GradientPart {
  const float* values;
  int64_t width;
  float* gradient;
};

// [dP_0 | dP_1 | ... | dbias] = dgᵀ·[P_0 | P_1 | ... | 1] over `rows` rows, for the m gate
// columns of dg (ldg apart). As one GEMM, dg, the largest operand, is read once, where a GEMM
// per part and a column sum for the bias would each read it again; the parts are then copied
// side by side, which is done only while that copy is no wider than the passes over dg it
// saves (none for a lone part without bias; a wide input, D > G·H, takes a GEMM each).
// dbias may be null; with a bias, dg's rows are whole (ldg == m).
void weight_gradients(const Ops& ops, const float* dg, int64_t ldg, int64_t m, int64_t rows,
                      std::initializer_list<GradientPart> parts, float* dbias) {
  if (dbias && ldg != m) throw Error(ErrorCode::InvalidState, "weight_gradients: a bias needs whole rows of dg");
  int64_t width = dbias ? 1 : 0;
  for (const GradientPart& p : parts) width += p.width;
  const int64_t passes_saved = static_cast<int64_t>(parts.size()) - 1 + (dbias ? 1 : 0);
  if (passes_saved == 0 || width > passes_saved * m) {
    for (const GradientPart& p : parts)
      ops.gemm(true, false, m, p.width, rows, dg, ldg, p.values, p.width, 0.0f, p.gradient, p.width);
    if (dbias) ops.device.check(ops.o.sum_rows(dg, rows, m, dbias, 0), "sum_rows");
    return;
  }
  DeviceBuffer inputs = make_floats(ops.device, rows * width);
  int64_t column = 0;
  for (const GradientPart& p : parts) {
    ops.copy_2d(p.values, p.width, inputs.floats() + column, width, rows, p.width);
    column += p.width;
  }
  if (dbias) {
    DeviceBuffer ones = make_floats(ops.device, rows);
    ops.fill(ones.floats(), 1.0f, rows);
    ops.copy_2d(ones.floats(), 1, inputs.floats() + column, width, rows, 1);
  }
  DeviceBuffer product = make_floats(ops.device, m * width);
  ops.gemm(true, false, m, width, rows, dg, ldg, inputs.floats(), width, 0.0f, product.floats(), width);
  column = 0;
  for (const GradientPart& p : parts) {
    ops.copy_2d(product.floats() + column, width, p.gradient, p.width, m, p.width);
    column += p.width;
  }
  if (dbias) ops.copy_2d(product.floats() + column, width, dbias, 1, m, 1);
}

}  // namespace

int64_t RnnDesc::gates() const { return gate_count(cell); }

size_t RnnReserve::bytes() const {
  return device_lengths.bytes() + states_h.bytes() + states_c.bytes() + gates.bytes() +
         extra.bytes();
}

namespace {

void validate_params(const RnnDesc& desc, const RnnParams& p) {
  const int64_t gh = desc.gates() * desc.hidden;
  expect_shape(p.w, {gh, desc.input_size}, "weights.w");
  expect_shape(p.r, {gh, desc.hidden}, "weights.r");
  if (p.bias_w.has_value() != p.bias_r.has_value())
    throw TypeError("weights: bias_w and bias_r must be given together");
  if (p.bias_w) {
    expect_shape(*p.bias_w, {gh}, "weights.bias_w");
    expect_shape(*p.bias_r, {gh}, "weights.bias_r");
  }
  expect_same_device(p.r, p.w.device(), "weights.r");
  if (p.bias_w) {
    expect_same_device(*p.bias_w, p.w.device(), "weights.bias_w");
    expect_same_device(*p.bias_r, p.w.device(), "weights.bias_r");
  }
}

}  // namespace

RnnWeights::RnnWeights(const RnnDesc& desc, RnnParams params) : desc_(desc), params_(std::move(params)) {
  validate_params(desc_, params_);
  const Ops ops(device());
  const int64_t D = desc_.input_size, H = desc_.hidden, GH = desc_.gates() * H;
  const bool gru_before = desc_.cell == RK_CELL_GRU_RESET_BEFORE;
  const float* R = params_.r.data();
  input_t_ = ops.pack(true, D, GH, params_.w.data(), D);
  recurrent_t_ = ops.pack(true, H, gru_before ? 2 * H : GH, R, H);
  if (gru_before) candidate_t_ = ops.pack(true, H, H, R + 2 * H * H, H);
  const rk_device_ops& o = device().ops();
  const int64_t step_gates = gru_before ? 2 : desc_.gates();
  if (o.recurrent_forward && o.packed_recurrent_bytes(H, step_gates) > 0) {
    auto pack_rows = [&](const float* rows, int64_t gates) {
      DeviceBuffer packed(&device(), o.packed_recurrent_bytes(H, gates));
      device().check(o.pack_recurrent(rows, H, gates, packed.data()), "pack_recurrent");
      return packed;
    };
    fused_recurrent_ = pack_rows(R, step_gates);
    if (gru_before) fused_candidate_ = pack_rows(R + 2 * H * H, 1);
  }
}

void RnnWeights::pack_backward() const {
  std::call_once(backward_once_, [this] {
    const Ops ops(device());
    const int64_t D = desc_.input_size, H = desc_.hidden, GH = desc_.gates() * H;
    const bool gru_before = desc_.cell == RK_CELL_GRU_RESET_BEFORE;
    const float* R = params_.r.data();
    input_ = ops.pack(false, GH, D, params_.w.data(), D);
    recurrent_ = ops.pack(false, gru_before ? 2 * H : GH, H, R, H);
    if (gru_before) candidate_ = ops.pack(false, H, H, R + 2 * H * H, H);
  });
}

const PreparedB& RnnWeights::input() const {
  pack_backward();
  return input_;
}
const PreparedB& RnnWeights::recurrent() const {
  pack_backward();
  return recurrent_;
}
const PreparedB& RnnWeights::candidate() const {
  pack_backward();
  return candidate_;
}

size_t RnnWeights::bytes() const {
  return input_t_.packed.bytes() + recurrent_t_.packed.bytes() + candidate_t_.packed.bytes() +
         fused_recurrent_.bytes() + fused_candidate_.bytes() + input_.packed.bytes() + recurrent_.packed.bytes() +
         candidate_.packed.bytes();
}

namespace {

// Whether the device's fused recurrence can compute the input projection a block of steps
// at a time (device ABI version 5 on, and the input weights packed for it).
bool in_loop_projection(const RnnWeights& weights) {
  return weights.fused() && weights.device().ops().abi_version >= 5 && weights.input_t().is_packed();
}

// Steps per block of the input projection computed inside the recurrence: a block of about
// kProjectionBlockBytes stays in L2 until its steps read it, where the projection of every
// step at once went out to memory and came back (at (32,100,128,256) 13 MB for an LSTM); at
// least kMinProjectionRows rows, for the GEMM's sake. Narrow inputs too: their per-step
// GEMMs are shallow, but the one large GEMM, split among the threads by steps, left each
// thread of a recurrence split by rows reading half its projection from another core
// (Zen 2, 2 threads; figures in the stop-23 note).
// RNNKIT_CPU_PROJECTION_STEPS sets the block whatever the input (tests, measurements).
int64_t projection_block_steps(int64_t batch, int64_t gates_units, int64_t steps) {
  constexpr int64_t kProjectionBlockBytes = 256 * 1024, kMinProjectionRows = 48;
  static const int64_t forced = [] {
    const char* env = std::getenv("RNNKIT_CPU_PROJECTION_STEPS");
    return env ? std::atoll(env) : 0;
  }();
  if (batch <= 0 || gates_units <= 0) return steps;
  const int64_t by_bytes = kProjectionBlockBytes / (batch * gates_units * static_cast<int64_t>(sizeof(float)));
  const int64_t by_rows = (kMinProjectionRows + batch - 1) / batch;
  const int64_t block = forced > 0 ? forced : std::max({int64_t{1}, by_bytes, by_rows});
  return std::min(block, steps);
}

}  // namespace

RnnForwardResult rnn_forward(std::shared_ptr<const RnnWeights> weights, const Tensor& x,
                             const Tensor* h0, const Tensor* c0,
                             const std::vector<int32_t>& lengths_in, bool training) {
  const RnnDesc& desc = weights->desc();
  const RnnParams& params = weights->params();
  const Device& device = weights->device();
  const Ops ops(device);
  if (x.shape.size() != 3)
    throw RangeError("x must be rank 3 [batch, timesteps, features], got " + shape_string(x.shape));
  const int64_t N = x.shape[0], T = x.shape[1], D = x.shape[2], H = desc.hidden;
  const int64_t G = desc.gates(), GH = G * H;
  if (T == 0)
    throw RangeError("x must have at least 1 timestep (as in Keras), got shape " + shape_string(x.shape));
  if (D != desc.input_size)
    throw RangeError("x must have " + std::to_string(desc.input_size) +
                     " features (the layer's input size), got " + std::to_string(D));
  expect_same_device(x, device, "x");
  if (h0) expect_shape(*h0, {N, H}, "initialState[0] (h0)");
  if (c0) expect_shape(*c0, {N, H}, "initialState[1] (c0)");
  if (c0 && !desc.has_cell_state()) throw TypeError("initialState: this cell has no cell state");

  std::vector<int32_t> lengths = lengths_in;
  if (lengths.empty()) lengths.assign(N, static_cast<int32_t>(T));
  if (static_cast<int64_t>(lengths.size()) != N)
    throw RangeError("lengths must have one entry per sequence (" + std::to_string(N) + "), got " +
                     std::to_string(lengths.size()));
  for (size_t i = 0; i < lengths.size(); ++i)
    if (lengths[i] < 0 || lengths[i] > T)
      throw RangeError("lengths[" + std::to_string(i) + "] must be in [0, " + std::to_string(T) +
                       "], got " + std::to_string(lengths[i]));

  // Every buffer's size, checked before anything is allocated.
  const int64_t gates_count = element_count({T, N, GH}, "the gate buffer [timesteps, batch, gates·units]");
  const int64_t state_count = element_count({T + 1, N, H}, "the state buffer [timesteps + 1, batch, units]");
  const int64_t NH = N * H;

  auto reserve = std::make_shared<RnnReserve>();
  reserve->desc = desc;
  reserve->batch = N;
  reserve->steps = T;
  reserve->device_lengths = upload_lengths(ops, lengths);
  const int32_t* dev_len = reserve->device_lengths.ints();

  // The input projection, in time-major processing order: over all steps at once, or by the
  // fused recurrence a block of steps at a time (in_loop_projection), which reads x where it
  // is (device ABI version 6 on) unless a reversed pass has sequences of their own lengths,
  // or the batch has fewer than kMinRowsInPlace rows: read in place, the projection is a GEMM
  // per step, whose few rows then stream the input weights once a step (bench/'s scaling
  // table: the (1,100,128,256) LSTM doubled its time; figures in the stop-23 note).
  constexpr int64_t kMinRowsInPlace = 16;
  const int64_t block_steps = in_loop_projection(*weights) ? projection_block_steps(N, GH, T) : T;
  const bool reversed_lengths = desc.go_backwards && std::any_of(lengths.begin(), lengths.end(),
                                                                 [T](int32_t length) { return length != T; });
  const bool x_in_place =
      block_steps < T && N >= kMinRowsInPlace && device.ops().abi_version >= 6 && !reversed_lengths;
  DeviceBuffer x_tm;
  if (!x_in_place) {
    x_tm = make_floats(device, x.size());
    ops.permute(x.data(), x_tm.floats(), N, T, D, dev_len, desc.go_backwards, true);
  }
  DeviceBuffer xw = make_floats(device, block_steps * N * GH);  // <= gates_count
  if (block_steps == T) {
    ops.gemm_packed(T * N, GH, D, x_tm.floats(), D, weights->input_t(), 0.0f, xw.floats(), GH);
    x_tm.reset();
  }

  // Training keeps every step's state; inference ping-pongs between two slots.
  const int64_t state_slots = training ? T + 1 : 2;
  const bool lstm = desc.cell == RK_CELL_LSTM;
  const bool gru_before = desc.cell == RK_CELL_GRU_RESET_BEFORE;
  const bool gru_after = desc.cell == RK_CELL_GRU_RESET_AFTER;
  reserve->states_h = make_floats(device, state_slots * NH);  // <= state_count
  if (lstm) reserve->states_c = make_floats(device, state_slots * NH);
  if (training && (lstm || gru_after || gru_before)) reserve->gates = make_floats(device, gates_count);
  if (training && (gru_after || gru_before))
    reserve->extra = make_floats(device, state_count - NH);
  else if (gru_before)
    reserve->extra = make_floats(device, NH);  // scratch for r⊙h_prev

  init_state(ops, reserve->states_h.floats(), h0, N * H);
  if (lstm) init_state(ops, reserve->states_c.floats(), c0, N * H);

  const bool sequence = desc.output_mode == RK_OUTPUT_SEQUENCE;
  Tensor output = sequence ? make_tensor(device, {N, T, H}) : make_zeros(device, {N, H});
  DeviceBuffer hr = make_floats(device, N * GH);  // bounded by gates_count (T >= 1)

  auto slot = [&](const DeviceBuffer& b, int64_t t) {
    return b.floats() + (training ? t : t % 2) * N * H;
  };
  const float* bias_w = params.bias_w ? params.bias_w->data() : nullptr;
  const float* bias_r = params.bias_r ? params.bias_r->data() : nullptr;
  const PreparedB& r_packed = weights->recurrent_t();
  const PreparedB& rn_packed = weights->candidate_t();

  auto step_args = [&](int64_t t) {
    auto a = cell_args<rk_cell_forward_args>(desc, N, t);
    a.xw = xw.floats() + (t % block_steps) * N * GH;
    a.hr = hr.floats();
    a.bias_w = bias_w;
    a.bias_r = bias_r;
    a.h_prev = slot(reserve->states_h, t);
    a.h_next = slot(reserve->states_h, t + 1);
    if (lstm) {
      a.c_prev = slot(reserve->states_c, t);
      a.c_next = slot(reserve->states_c, t + 1);
    }
    a.gates = training && reserve->gates.data() ? reserve->gates.floats() + t * N * GH : nullptr;
    if (reserve->extra.data()) a.extra = reserve->extra.floats() + (training ? t * N * H : 0);
    a.lengths = dev_len;
    a.output = sequence ? output.data() + t * H : output.data();
    a.output_stride = T * H;
    return a;
  };

  if (weights->fused() && T > 0) {
    // The device runs the per-step loop below in one launch.
    rk_recurrent_forward_args f{};
    f.step = step_args(0);
    f.steps = T;
    f.state_slots = state_slots;
    f.gates_step = f.step.gates ? N * GH : 0;
    f.extra_step = training ? N * H : 0;
    f.output_step = sequence ? H : 0;
    f.recurrent = weights->fused_recurrent().data();
    f.candidate = weights->fused_candidate().data();
    if (block_steps < T) {
      f.x = x_in_place ? x.data() + (desc.go_backwards ? (T - 1) * D : 0) : x_tm.floats();
      if (x_in_place) {
        f.x_step_stride = desc.go_backwards ? -D : D;
        f.x_row_stride = T * D;
      }
      f.input_size = D;
      f.input = weights->input_t().packed.data();
      f.block_steps = block_steps;
    }
    device.check(ops.o.recurrent_forward(&f), "recurrent_forward");
  } else {
    for (int64_t t = 0; t < T; ++t) {
      rk_cell_forward_args a = step_args(t);
      if (gru_before) {
        ops.gemm_packed(N, 2 * H, H, a.h_prev, H, r_packed, 0.0f, hr.floats(), GH);
        a.phase = 0;
        device.check(ops.o.cell_forward(&a), "cell_forward");
        ops.gemm_packed(N, H, H, a.extra, H, rn_packed, 0.0f, hr.floats() + 2 * H, GH);
        a.phase = 1;
      } else {
        ops.gemm_packed(N, GH, H, a.h_prev, H, r_packed, 0.0f, hr.floats(), GH);
      }
      device.check(ops.o.cell_forward(&a), "cell_forward");
    }
  }

  RnnForwardResult result;
  result.output = std::move(output);
  result.h = make_tensor(device, {N, H});
  ops.copy(result.h.data(), slot(reserve->states_h, T), N * H * sizeof(float), RK_DEVICE_TO_DEVICE);
  if (lstm) {
    result.c = make_tensor(device, {N, H});
    ops.copy(result.c.data(), slot(reserve->states_c, T), N * H * sizeof(float), RK_DEVICE_TO_DEVICE);
  }
  if (training) {
    reserve->weights = std::move(weights);
    reserve->x = x;
    reserve->lengths = std::move(lengths);
    result.reserve = std::move(reserve);
  }
  return result;
}

RnnGradients rnn_backward(const RnnReserve& rs, const Tensor& d_output, const Tensor* dh_final,
                          const Tensor* dc_final) {
  const RnnDesc& desc = rs.desc;
  const RnnParams& params = rs.weights->params();
  const Device& device = rs.weights->device();
  const Ops ops(device);
  const int64_t N = rs.batch, T = rs.steps, D = desc.input_size, H = desc.hidden;
  const int64_t G = desc.gates(), GH = G * H;
  const bool sequence = desc.output_mode == RK_OUTPUT_SEQUENCE;
  const bool lstm = desc.cell == RK_CELL_LSTM;
  const bool gru_before = desc.cell == RK_CELL_GRU_RESET_BEFORE;
  const bool gru_after = desc.cell == RK_CELL_GRU_RESET_AFTER;

  expect_same_device(d_output, device, "dOutput");
  expect_shape(d_output, sequence ? Shape{N, T, H} : Shape{N, H}, "dOutput");
  if (dh_final) expect_shape(*dh_final, {N, H}, "dStates[0] (dh)");
  if (dc_final) expect_shape(*dc_final, {N, H}, "dStates[1] (dc)");
  if (dc_final && !lstm) throw TypeError("dStates: this cell has no cell state");

  // dgh differs from dgx only in the reset-after GRU's candidate block.
  const int64_t gates_count = element_count({T, N, GH}, "the gate gradients [timesteps, batch, gates·units]");
  DeviceBuffer dgx = make_floats(device, gates_count);
  DeviceBuffer dgh_own = gru_after ? make_floats(device, gates_count) : DeviceBuffer();
  float* dgh = gru_after ? dgh_own.floats() : dgx.floats();
  DeviceBuffer dh = make_floats(device, 2 * N * H);
  DeviceBuffer dc = lstm ? make_floats(device, 2 * N * H) : DeviceBuffer();
  DeviceBuffer d_rh = gru_before ? make_floats(device, N * H) : DeviceBuffer();
  init_state(ops, dh.floats(), dh_final, N * H);
  if (lstm) init_state(ops, dc.floats(), dc_final, N * H);

  // dh_prev += dgh·R per step; the classic GRU takes the n rows first, then the r,z rows.
  const PreparedB& r_packed = rs.weights->recurrent();
  const PreparedB& rn_packed = rs.weights->candidate();
  auto state = [&](const DeviceBuffer& b, int64_t t) { return b.floats() + t * N * H; };
  auto step_args = [&](int64_t t) {
    const int64_t cur = (T - 1 - t) % 2, next = 1 - cur;
    auto a = cell_args<rk_cell_backward_args>(desc, N, t);
    a.gates = rs.gates.data() ? rs.gates.floats() + t * N * GH : nullptr;
    a.extra = rs.extra.data() ? rs.extra.floats() + t * N * H : nullptr;
    a.h_prev = state(rs.states_h, t);
    a.h_cur = state(rs.states_h, t + 1);
    if (lstm) {
      a.c_prev = state(rs.states_c, t);
      a.c_cur = state(rs.states_c, t + 1);
      a.dc = dc.floats() + cur * N * H;
      a.dc_prev = dc.floats() + next * N * H;
    }
    a.dh = dh.floats() + cur * N * H;
    a.dh_prev = dh.floats() + next * N * H;
    a.d_output = sequence ? d_output.data() + t * H : d_output.data();
    a.d_output_stride = T * H;
    a.lengths = rs.device_lengths.ints();
    a.dgx = dgx.floats() + t * N * GH;
    a.dgh = dgh + t * N * GH;
    a.d_rh = d_rh.floats();
    return a;
  };
  // The fused backward reads pack_b's layout, so it needs the packed form.
  if (ops.o.recurrent_backward && rs.weights->fused() && r_packed.is_packed() && T > 0) {
    // The device runs the per-step loop below in one launch.
    rk_recurrent_backward_args f{};
    f.step = step_args(T - 1);
    f.steps = T;
    f.state_step = N * H;
    f.gates_step = N * GH;
    f.d_output_step = sequence ? H : 0;
    f.recurrent = r_packed.packed.data();
    f.candidate = rn_packed.packed.data();
    device.check(ops.o.recurrent_backward(&f), "recurrent_backward");
  } else {
    for (int64_t t = T - 1; t >= 0; --t) {
      rk_cell_backward_args a = step_args(t);
      a.phase = 0;
      device.check(ops.o.cell_backward(&a), "cell_backward");
      if (gru_before) {
        ops.gemm_packed(N, H, H, a.dgh + 2 * H, GH, rn_packed, 0.0f, d_rh.floats(), H);
        a.phase = 1;
        device.check(ops.o.cell_backward(&a), "cell_backward");
        ops.gemm_packed(N, H, 2 * H, a.dgh, GH, r_packed, 1.0f, a.dh_prev, H);
      } else {
        ops.gemm_packed(N, H, GH, a.dgh, GH, r_packed, 1.0f, a.dh_prev, H);
      }
    }
  }
  const int64_t final_slot = T % 2;

  RnnGradients g;
  g.dh0 = make_tensor(device, {N, H});
  ops.copy(g.dh0.data(), dh.floats() + final_slot * N * H, N * H * sizeof(float), RK_DEVICE_TO_DEVICE);
  if (lstm) {
    g.dc0 = make_tensor(device, {N, H});
    ops.copy(g.dc0.data(), dc.floats() + final_slot * N * H, N * H * sizeof(float), RK_DEVICE_TO_DEVICE);
  }

  // Weight gradients over all steps at once.
  const int64_t TN = T * N;
  DeviceBuffer x_tm = make_floats(device, rs.x.size());
  const int32_t* dev_len = rs.device_lengths.ints();
  ops.permute(rs.x.data(), x_tm.floats(), N, T, D, dev_len, desc.go_backwards, true);
  g.dw = make_tensor(device, {GH, D});
  g.dr = make_tensor(device, {GH, H});
  if (params.bias_w) {
    g.dbias_w = make_zeros(device, {GH});
    g.dbias_r = make_zeros(device, {GH});
  }
  if (TN == 0) {
    ops.fill(g.dw.data(), 0.0f, GH * D);
    ops.fill(g.dr.data(), 0.0f, GH * H);
  } else {
    const float* h = rs.states_h.floats();
    float* dbias_w = params.bias_w ? g.dbias_w.data() : nullptr;
    float* dbias_r = params.bias_w ? g.dbias_r.data() : nullptr;
    if (gru_after) {  // the candidate's recurrent side has gradients of its own
      weight_gradients(ops, dgx.floats(), GH, GH, TN, {{x_tm.floats(), D, g.dw.data()}}, dbias_w);
      weight_gradients(ops, dgh, GH, GH, TN, {{h, H, g.dr.data()}}, dbias_r);
    } else if (gru_before) {  // the candidate's rows multiply r⊙h
      weight_gradients(ops, dgx.floats(), GH, GH, TN, {{x_tm.floats(), D, g.dw.data()}}, dbias_w);
      weight_gradients(ops, dgh, GH, 2 * H, TN, {{h, H, g.dr.data()}}, nullptr);
      weight_gradients(ops, dgh + 2 * H, GH, H, TN, {{rs.extra.floats(), H, g.dr.data() + 2 * H * H}}, nullptr);
    } else {
      weight_gradients(ops, dgx.floats(), GH, GH, TN, {{x_tm.floats(), D, g.dw.data()}, {h, H, g.dr.data()}}, dbias_w);
    }
    if (dbias_w && dgh == dgx.floats())  // the same gradients on both sides
      ops.copy(dbias_r, dbias_w, GH * sizeof(float), RK_DEVICE_TO_DEVICE);
  }

  // dx in processing order, then back to the caller's [N,T,D] order.
  ops.gemm_packed(T * N, D, GH, dgx.floats(), GH, rs.weights->input(), 0.0f, x_tm.floats(), D);
  g.dx = make_tensor(device, {N, T, D});
  ops.permute(x_tm.floats(), g.dx.data(), N, T, D, dev_len, desc.go_backwards, false);
  return g;
}

}  // namespace rk
