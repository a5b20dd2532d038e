#include "pointwise_layers.h"

#include <string>
#include <vector>

#include "tensor_ops.h"

namespace rk {
namespace {

int64_t last_axis(const Tensor& x) {
  if (x.shape.empty()) throw RangeError("x must have at least one axis, got a scalar");
  return x.shape.back();
}

void check_sequence(const Tensor& x) {
  if (x.shape.size() != 3) throw RangeError("x must have shape [batch, timesteps, channels], got " + shape_string(x.shape));
}

}  // namespace

Tensor activation_forward(const Tensor& x, rk_activation activation) {
  const int64_t C = last_axis(x);
  Tensor y = copy_of(x);
  if (y.size() == 0 || activation == RK_ACT_LINEAR) return y;
  x.device().check(x.device().ops().bias_activation(y.data(), y.size() / C, C, nullptr, activation), "bias_activation");
  return y;
}

Tensor activation_backward(const Tensor& y, const Tensor& dy, rk_activation activation) {
  const int64_t C = last_axis(y);
  if (dy.shape != y.shape) throw RangeError("dOutput must have shape " + shape_string(y.shape) + ", got " + shape_string(dy.shape));
  if (&dy.device() != &y.device()) throw TypeError("dOutput and the output are on different devices");
  if (activation == RK_ACT_LINEAR) return copy_of(dy);
  Tensor dx = make_tensor(y.device(), y.shape);
  if (dx.size() == 0) return dx;
  y.device().check(y.device().ops().activation_backward(y.data(), dy.data(), dx.data(), y.size() / C, C, activation),
                   "activation_backward");
  return dx;
}

SpatialDropoutResult spatial_dropout(const Tensor& x, float rate, uint64_t seed) {
  check_sequence(x);
  if (!(rate >= 0.0f && rate < 1.0f)) throw RangeError("rate must be in [0, 1), got " + std::to_string(rate));
  const Device& device = x.device();
  const int64_t N = x.shape[0], C = x.shape[2];
  SpatialDropoutResult r;
  r.mask = make_tensor(device, {N, C});
  if (r.mask.size() > 0) {
    // The dropout entry draws the mask; its output (ones times the mask) is not needed.
    Tensor ones = make_tensor(device, {N, C});
    device.check(device.ops().fill(ones.data(), 1.0f, ones.size()), "fill");
    device.check(device.ops().dropout(ones.data(), ones.data(), r.mask.data(), r.mask.size(), rate, seed), "dropout");
  }
  r.output = spatial_dropout_apply(x, r.mask);
  return r;
}

Tensor spatial_dropout_apply(const Tensor& x, const Tensor& mask) {
  check_sequence(x);
  const int64_t N = x.shape[0], T = x.shape[1], C = x.shape[2];
  if (mask.shape != Shape{N, C}) throw RangeError("the mask must have shape [" + std::to_string(N) + "," + std::to_string(C) + "], got " + shape_string(mask.shape));
  if (&mask.device() != &x.device()) throw TypeError("the mask and x are on different devices");
  const Device& device = x.device();
  Tensor y = make_tensor(device, x.shape);
  if (y.size() == 0) return y;
  // The mask row of each sample repeated for its steps, then one elementwise product.
  std::vector<int64_t> rows(static_cast<size_t>(N * T));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) rows[n * T + t] = n;
  Tensor full = make_tensor(device, x.shape);
  device_gather_rows(device, mask.data(), C, rows, full.data());
  device.check(device.ops().multiply(x.data(), full.data(), y.data(), y.size()), "multiply");
  return y;
}

}  // namespace rk
