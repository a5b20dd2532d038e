#include "dense.h"

#include <string>

namespace rk {
namespace {

// Rows of x flattened over every axis but the last, checked against the kernel.
int64_t rows_of(const Tensor& x, const Tensor& kernel) {
  if (kernel.shape.size() != 2) throw RangeError("kernel must be rank 2 [features, units], got " + shape_string(kernel.shape));
  if (x.shape.empty() || x.shape.back() != kernel.shape[0])
    throw RangeError("x must have " + std::to_string(kernel.shape[0]) + " features in its last axis, got " +
                     shape_string(x.shape));
  if (&x.device() != &kernel.device()) throw TypeError("x and kernel are on different devices");
  return x.shape.back() > 0 ? x.size() / x.shape.back() : 0;
}

void check(const Device& device, int status, const char* what) { device.check(status, what); }

}  // namespace

Tensor dense_forward(const Tensor& x, const Tensor& kernel, const Tensor* bias, rk_activation activation) {
  const int64_t M = rows_of(x, kernel), D = kernel.shape[0], U = kernel.shape[1];
  if (bias && bias->shape != Shape{U})
    throw RangeError("bias must have shape [" + std::to_string(U) + "], got " + shape_string(bias->shape));
  const Device& device = x.device();
  Shape out_shape = x.shape;
  out_shape.back() = U;
  Tensor y = make_tensor(device, out_shape);
  if (M == 0 || U == 0) return y;
  check(device, device.ops().gemm(false, false, M, U, D, 1.0f, x.data(), D, kernel.data(), U, 0.0f, y.data(), U), "gemm");
  check(device, device.ops().bias_activation(y.data(), M, U, bias ? bias->data() : nullptr, activation),
        "bias_activation");
  return y;
}

DenseGradients dense_backward(const Tensor& x, const Tensor& kernel, bool has_bias, const Tensor& y,
                              const Tensor& dy, rk_activation activation) {
  const int64_t M = rows_of(x, kernel), D = kernel.shape[0], U = kernel.shape[1];
  if (dy.shape != y.shape) throw RangeError("dOutput must have shape " + shape_string(y.shape) + ", got " + shape_string(dy.shape));
  const Device& device = x.device();
  const rk_device_ops& o = device.ops();
  DenseGradients g;
  g.dx = make_zeros(device, x.shape);
  g.dkernel = make_zeros(device, {D, U});
  if (has_bias) g.dbias = make_zeros(device, {U});
  if (M == 0 || U == 0) return g;
  Tensor d_pre = make_tensor(device, y.shape);
  check(device, o.activation_backward(y.data(), dy.data(), d_pre.data(), M, U, activation), "activation_backward");
  check(device, o.gemm(false, true, M, D, U, 1.0f, d_pre.data(), U, kernel.data(), U, 0.0f, g.dx.data(), D), "gemm");
  check(device, o.gemm(true, false, D, U, M, 1.0f, x.data(), D, d_pre.data(), U, 0.0f, g.dkernel.data(), U), "gemm");
  if (has_bias) check(device, o.sum_rows(d_pre.data(), M, U, g.dbias.data(), 0), "sum_rows");
  return g;
}

}  // namespace rk
