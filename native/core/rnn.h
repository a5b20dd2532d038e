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

// Everything BPTT needs from a training forward pass, and nothing more.
struct RnnReserve {
  RnnDesc desc;
  RnnParams params;
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

// Throws TypeError/RangeError naming the argument for any inconsistent input.
void validate_params(const RnnDesc& desc, const RnnParams& params);

RnnForwardResult rnn_forward(const RnnDesc& desc, const RnnParams& params, const Tensor& x,
                             const Tensor* h0, const Tensor* c0,
                             const std::vector<int32_t>& lengths, bool training);

RnnGradients rnn_backward(const RnnReserve& reserve, const Tensor& d_output, const Tensor* dh,
                          const Tensor* dc);

}  // namespace rk

#endif
