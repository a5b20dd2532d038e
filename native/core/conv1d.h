// Keras Conv1D over channels-last sequences: y = act(conv(x, K) + b), x [N, T, C],
// K [kernel, C, filters] (the Keras kernel layout), b [filters]; and its backward pass.
// One algorithm for every device: im2col (window_gather_1d), a GEMM with the kernel seen as
// [kernel·C, filters], bias and activation as dense layers do; backward by GEMMs, col2im
// (window_scatter_1d) and sum_rows.
#ifndef RNNKIT_CORE_CONV1D_H
#define RNNKIT_CORE_CONV1D_H

#include <string>

#include "tensor.h"

namespace rk {

enum class Padding1D { Valid, Same, Causal };

// Where the windows of a length-`steps` input fall (TensorFlow's rules): `valid` has no
// padding, `same` gives ceil(steps / stride) outputs with the padding split as TF splits it
// (the extra step on the right), `causal` pads dilation·(window − 1) steps on the left.
struct WindowPlan {
  int64_t out_steps;
  int64_t pad_left;
};
// RangeError when a valid window does not fit in the input.
WindowPlan plan_window_1d(int64_t steps, int64_t window, int64_t stride, int64_t dilation, Padding1D padding);

struct Conv1DSpec {
  int64_t stride = 1;
  int64_t dilation = 1;
  Padding1D padding = Padding1D::Valid;
  rk_activation activation = RK_ACT_LINEAR;
};

Tensor conv1d_forward(const Tensor& x, const Tensor& kernel, const Tensor* bias, const Conv1DSpec& spec);

struct Conv1DGradients {
  Tensor dx, dkernel, dbias;  // dbias only with a bias
};

// `y` is the forward output; the activation's derivative is taken from it.
Conv1DGradients conv1d_backward(const Tensor& x, const Tensor& kernel, bool has_bias, const Tensor& y, const Tensor& dy,
                                const Conv1DSpec& spec);

// Throws RNNKIT_UNSUPPORTED naming the entry and the device when `entry` is null (an
// optional ABI entry the device does not offer).
template <typename Entry>
void require_entry(const Device& device, Entry* entry, const char* name) {
  if (!entry) throw Error(ErrorCode::Unsupported, std::string(name) + " is not supported by the " + device.name() + " device");
}

}  // namespace rk

#endif
