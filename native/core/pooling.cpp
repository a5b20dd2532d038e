#include "pooling.h"

#include <string>

namespace rk {
namespace {

void check_input(const Tensor& x) {
  if (x.shape.size() != 3) throw RangeError("x must be rank 3 [batch, steps, channels], got " + shape_string(x.shape));
}

rk_window_1d window_of(const Tensor& x, const Pool1DSpec& spec) {
  check_input(x);
  if (spec.pool_size < 1 || spec.stride < 1) throw RangeError("poolSize and strides must be positive integers");
  if (spec.padding == Padding1D::Causal) throw RangeError("pooling takes padding 'valid' or 'same'");
  const WindowPlan plan = plan_window_1d(x.shape[1], spec.pool_size, spec.stride, 1, spec.padding);
  return {x.shape[0], x.shape[1], x.shape[2], plan.out_steps, spec.pool_size, spec.stride, 1, plan.pad_left};
}

void check_mask(const Tensor& x, const Tensor* mask) {
  if (!mask) return;
  const Shape want{x.shape[0], x.shape[1]};
  if (mask->shape != want) throw RangeError("mask must have shape " + shape_string(want) + ", got " + shape_string(mask->shape));
  if (&mask->device() != &x.device()) throw TypeError("x and mask are on different devices");
}

}  // namespace

Tensor pool1d_forward(const Tensor& x, const Pool1DSpec& spec) {
  const rk_window_1d w = window_of(x, spec);
  const Device& device = x.device();
  Tensor y = make_tensor(device, {w.batch, w.out_steps, w.channels});
  if (y.size() == 0) return y;
  require_entry(device, device.ops().pool_1d_forward, "pool_1d_forward");
  device.check(device.ops().pool_1d_forward(&w, spec.kind, x.data(), y.data()), "pool_1d_forward");
  return y;
}

Tensor pool1d_backward(const Tensor& x, const Tensor& dy, const Pool1DSpec& spec) {
  const rk_window_1d w = window_of(x, spec);
  const Shape out_shape{w.batch, w.out_steps, w.channels};
  if (dy.shape != out_shape) throw RangeError("dOutput must have shape " + shape_string(out_shape) + ", got " + shape_string(dy.shape));
  if (&dy.device() != &x.device()) throw TypeError("x and dOutput are on different devices");
  const Device& device = x.device();
  if (dy.size() == 0) return make_zeros(device, x.shape);
  require_entry(device, device.ops().pool_1d_backward, "pool_1d_backward");
  Tensor dx = make_tensor(device, x.shape);
  device.check(device.ops().pool_1d_backward(&w, spec.kind, x.data(), dy.data(), dx.data()), "pool_1d_backward");
  return dx;
}

Tensor global_pool1d_forward(const Tensor& x, rk_pool_kind kind, const Tensor* mask, bool keepdims) {
  check_input(x);
  check_mask(x, mask);
  const int64_t N = x.shape[0], T = x.shape[1], C = x.shape[2];
  const Device& device = x.device();
  Tensor y = keepdims ? make_tensor(device, {N, 1, C}) : make_tensor(device, {N, C});
  if (y.size() == 0) return y;
  if (T == 0) return make_zeros(device, y.shape);
  require_entry(device, device.ops().global_pool_1d_forward, "global_pool_1d_forward");
  device.check(device.ops().global_pool_1d_forward(kind, x.data(), mask ? mask->data() : nullptr, N, T, C, y.data()),
               "global_pool_1d_forward");
  return y;
}

Tensor global_pool1d_backward(const Tensor& x, const Tensor* mask, const Tensor& dy, rk_pool_kind kind) {
  check_input(x);
  check_mask(x, mask);
  const int64_t N = x.shape[0], T = x.shape[1], C = x.shape[2];
  if (!(dy.shape == Shape{N, C} || dy.shape == Shape{N, 1, C}))
    throw RangeError("dOutput must have shape [" + std::to_string(N) + "," + std::to_string(C) + "], got " +
                     shape_string(dy.shape));
  if (&dy.device() != &x.device()) throw TypeError("x and dOutput are on different devices");
  const Device& device = x.device();
  if (x.size() == 0) return make_zeros(device, x.shape);
  require_entry(device, device.ops().global_pool_1d_backward, "global_pool_1d_backward");
  Tensor dx = make_tensor(device, x.shape);
  device.check(device.ops().global_pool_1d_backward(kind, x.data(), mask ? mask->data() : nullptr, dy.data(), N, T, C,
                                                    dx.data()),
               "global_pool_1d_backward");
  return dx;
}

}  // namespace rk
