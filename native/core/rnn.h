// The RNN algorithm, written once against the device interface.
//
// Canonical weight layout (cuDNN's, and PyTorch's): for G gates of H units,
//   w      [G·H, D]  input weights, gate blocks stacked by rows
//   r      [G·H, H]  recurrent weights
//   bias_w [G·H]     input-side bias      (absent when the layer has no bias)
//   bias_r [G·H]     recurrent-side bias
// Gate order: LSTM i,f,g,o; GRU r,z,n; SimpleRNN one block.
//
// Forward: permute x to time-major processing order (reversing valid steps for
// goBackwards), one GEMM for the input projection over all steps, then per step one
// recurrent GEMM and one fused pointwise launch (two of each for the classic GRU).
// Backward: per step the pointwise backward and one GEMM for dh_prev, then the weight
// gradients as GEMMs over all steps at once.
#ifndef RNNKIT_CORE_RNN_H
#define RNNKIT_CORE_RNN_H

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "tensor.h"

namespace rk {

struct RnnDesc {
  rk_cell_kind cell = RK_CELL_LSTM;
  rk_activation activation = RK_ACT_TANH;
  rk_activation recurrent_activation = RK_ACT_SIGMOID;
  int64_t input_size = 0;
  int64_t hidden = 0;
  bool go_backwards = false;
  rk_output_mode output_mode = RK_OUTPUT_SEQUENCE;
  rk_masked_output masked_output = RK_MASKED_ZEROS;

  int64_t gates() const;
  bool has_cell_state() const { return cell == RK_CELL_LSTM; }
};

struct RnnParams {
  Tensor w, r;
  std::optional<Tensor> bias_w, bias_r;  // both or neither
};

// op(B) [k, n], the right-hand operand of many GEMMs: the device's packed copy when it
// offers one (device_abi.h pack_b), else a view of the canonical weights (no second copy).
struct PreparedB {
  DeviceBuffer packed;      // empty when the device keeps no packed form
  const float* b = nullptr; // the canonical weights, for gemm when not packed
  bool trans = false;
  int64_t ldb = 0;
  bool is_packed() const { return packed.data() != nullptr; }
};

// Weights prepared for many passes: the canonical tensors plus the device's packed forms
// of the GEMM operands that read them, made once per weight change instead of once per
// call. Immutable; shared by the layer and by every reserve that used them.
class RnnWeights {
 public:
  // Validates the tensors against `desc` and packs the forward operands.
  RnnWeights(const RnnDesc& desc, RnnParams params);

  // The description the weights were prepared for (cell, sizes and output options).
  const RnnDesc& desc() const { return desc_; }
  const RnnParams& params() const { return params_; }
  const Device& device() const { return params_.w.device(); }

  // Forward: x·Wᵀ, and h·Rᵀ (classic GRU: the r,z rows; its n rows in candidate_t).
  const PreparedB& input_t() const { return input_t_; }
  const PreparedB& recurrent_t() const { return recurrent_t_; }
  const PreparedB& candidate_t() const { return candidate_t_; }
  // The device's fused forward recurrence, when it offers one (fused() tells).
  bool fused() const { return fused_recurrent_.data() != nullptr; }
  const DeviceBuffer& fused_recurrent() const { return fused_recurrent_; }
  const DeviceBuffer& fused_candidate() const { return fused_candidate_; }
  // Backward, packed on first use: dgx·W, and dgh·R (classic GRU: r,z rows; n rows apart).
  const PreparedB& input() const;
  const PreparedB& recurrent() const;
  const PreparedB& candidate() const;
  size_t bytes() const;
  // Whether any operand has a packed copy (the forward ones tell: backward packs the same
  // way): without one, weights changed in place need no new RnnWeights.
  bool has_packed() const { return input_t_.is_packed() || recurrent_t_.is_packed() || fused(); }

 private:
  void pack_backward() const;

  RnnDesc desc_;
  RnnParams params_;
  PreparedB input_t_, recurrent_t_, candidate_t_;
  DeviceBuffer fused_recurrent_, fused_candidate_;
  mutable std::once_flag backward_once_;
  mutable PreparedB input_, recurrent_, candidate_;
};

// Everything BPTT needs from a training forward pass, and nothing more.
struct RnnReserve {
  RnnDesc desc;
  std::shared_ptr<const RnnWeights> weights;
  Tensor x;                   // the caller's input, kept alive, not copied
  std::vector<int32_t> lengths;
  DeviceBuffer device_lengths;
  DeviceBuffer states_h;      // [T+1, N, H]; slot 0 is the initial state
  DeviceBuffer states_c;      // LSTM
  DeviceBuffer gates;         // [T, N, G·H] activated gates (LSTM, GRU)
  DeviceBuffer extra;         // [T, N, H] GRU: R_n·h+b_r (reset after) or r⊙h_prev (before)
  int64_t batch = 0, steps = 0;
  size_t bytes() const;
};

struct RnnForwardResult {
  Tensor output;  // [N,T,H] sequence or [N,H] last
  Tensor h, c;    // final states; c only for LSTM
  std::shared_ptr<RnnReserve> reserve;  // training only
};

struct RnnGradients {
  Tensor dx, dh0, dc0;
  Tensor dw, dr, dbias_w, dbias_r;  // canonical layout; biases only when the layer has them
};

// A forward pass of the layer `weights` were prepared for (their description).
RnnForwardResult rnn_forward(std::shared_ptr<const RnnWeights> weights, const Tensor& x,
                             const Tensor* h0, const Tensor* c0,
                             const std::vector<int32_t>& lengths, bool training);

RnnGradients rnn_backward(const RnnReserve& reserve, const Tensor& d_output, const Tensor* dh,
                          const Tensor* dc);

}  // namespace rk

#endif
