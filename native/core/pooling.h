// Pooling over time on channels-last sequences [N, T, C] (Keras MaxPooling1D,
// AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D) and their backward passes,
// written once against the device ABI (pool_1d_*, global_pool_1d_*).
#ifndef RNNKIT_CORE_POOLING_H
#define RNNKIT_CORE_POOLING_H

#include "conv1d.h"

namespace rk {

struct Pool1DSpec {
  rk_pool_kind kind = RK_POOL_MAX;
  int64_t pool_size = 2;
  int64_t stride = 2;
  Padding1D padding = Padding1D::Valid;  // valid or same
};

// [N, T, C] -> [N, out_steps, C].
Tensor pool1d_forward(const Tensor& x, const Pool1DSpec& spec);
// The input gradient for dy [N, out_steps, C]; max recomputes each window's maximum from x.
Tensor pool1d_backward(const Tensor& x, const Tensor& dy, const Pool1DSpec& spec);

// [N, T, C] -> [N, C] ([N, 1, C] with keepdims) over the steps where `mask` [N, T] (0/1 as
// floats, on x's device; null: every step) is set; a sequence without one gives zeros.
Tensor global_pool1d_forward(const Tensor& x, rk_pool_kind kind, const Tensor* mask, bool keepdims);
// dy has N·C values ([N, C] or [N, 1, C]).
Tensor global_pool1d_backward(const Tensor& x, const Tensor* mask, const Tensor& dy, rk_pool_kind kind);

}  // namespace rk

#endif
