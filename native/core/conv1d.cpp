#include "conv1d.h"

#include <algorithm>
#include <string>

namespace rk {
namespace {

void check(const Device& device, int status, const char* what) { device.check(status, what); }

struct Dims {
  int64_t N, T, C, K, F;
};

Dims check_shapes(const Tensor& x, const Tensor& kernel, const Conv1DSpec& spec) {
  if (x.shape.size() != 3) throw RangeError("x must be rank 3 [batch, steps, channels], got " + shape_string(x.shape));
  if (kernel.shape.size() != 3)
    throw RangeError("kernel must be rank 3 [kernelSize, channels, filters], got " + shape_string(kernel.shape));
  if (kernel.shape[1] != x.shape[2])
    throw RangeError("x must have " + std::to_string(kernel.shape[1]) + " channels in its last axis, got " +
                     shape_string(x.shape));
  if (kernel.shape[0] < 1 || kernel.shape[2] < 1) throw RangeError("kernel must not be empty, got " + shape_string(kernel.shape));
  if (&x.device() != &kernel.device()) throw TypeError("x and kernel are on different devices");
  if (spec.stride < 1 || spec.dilation < 1) throw RangeError("strides and dilationRate must be positive integers");
  return {x.shape[0], x.shape[1], x.shape[2], kernel.shape[0], kernel.shape[2]};
}

rk_window_1d window_of(const Dims& d, const WindowPlan& plan, const Conv1DSpec& spec) {
  return {d.N, d.T, d.C, plan.out_steps, d.K, spec.stride, spec.dilation, plan.pad_left};
}

// Whether im2col would copy x unchanged (a pointwise convolution): then x is the matrix.
bool is_pointwise(const rk_window_1d& w) { return w.window == 1 && w.stride == 1 && w.pad_left == 0 && w.out_steps == w.steps; }

// The im2col matrix is made for a few sequences at a time, so that its memory stays near
// kColsBudget floats (16 MB) however large the batch: the GEMMs still see thousands of rows.
constexpr int64_t kColsBudget = int64_t(1) << 22;

int64_t sequences_per_chunk(const rk_window_1d& w, int64_t kc) {
  const int64_t per_sequence = w.out_steps * kc;
  const int64_t n = per_sequence > 0 ? kColsBudget / per_sequence : w.batch;
  return n < 1 ? 1 : n > w.batch ? w.batch : n;
}

// The window of sequences [n0, n0 + count) of w.
rk_window_1d chunk_of(rk_window_1d w, int64_t count) {
  w.batch = count;
  return w;
}

}  // namespace

WindowPlan plan_window_1d(int64_t steps, int64_t window, int64_t stride, int64_t dilation, Padding1D padding) {
  if (steps < 0 || window < 1 || stride < 1 || dilation < 1) throw RangeError("window sizes must be positive integers");
  if (dilation > kMaxElements / window) throw RangeError("kernelSize · dilationRate is too large");
  const int64_t span = dilation * (window - 1) + 1;  // steps one window covers
  switch (padding) {
    case Padding1D::Valid:
      if (span > steps)
        throw RangeError("the input has " + std::to_string(steps) + " steps, fewer than one window needs (" +
                         std::to_string(span) + ") with padding 'valid'");
      return {(steps - span) / stride + 1, 0};
    case Padding1D::Same: {
      const int64_t out = (steps + stride - 1) / stride;
      const int64_t total = out > 0 ? (out - 1) * stride + span - steps : 0;
      return {out, total > 0 ? total / 2 : 0};
    }
    case Padding1D::Causal:
      return {(steps + stride - 1) / stride, span - 1};
  }
  throw RangeError("unknown padding");
}

Tensor conv1d_forward(const Tensor& x, const Tensor& kernel, const Tensor* bias, const Conv1DSpec& spec) {
  const Dims d = check_shapes(x, kernel, spec);
  if (bias && bias->shape != Shape{d.F})
    throw RangeError("bias must have shape [" + std::to_string(d.F) + "], got " + shape_string(bias->shape));
  if (bias && &bias->device() != &x.device()) throw TypeError("x and bias are on different devices");
  const WindowPlan plan = plan_window_1d(d.T, d.K, spec.stride, spec.dilation, spec.padding);
  const Device& device = x.device();
  const rk_device_ops& o = device.ops();
  Tensor y = make_tensor(device, {d.N, plan.out_steps, d.F});
  const int64_t M = d.N * plan.out_steps, KC = element_count({d.K, d.C}, "kernel");
  if (M == 0) return y;
  const rk_window_1d w = window_of(d, plan, spec);
  if (is_pointwise(w)) {
    check(device, o.gemm(false, false, M, d.F, KC, 1.0f, x.data(), KC, kernel.data(), d.F, 0.0f, y.data(), d.F), "gemm");
  } else {
    require_entry(device, o.window_gather_1d, "window_gather_1d");
    const int64_t chunk = sequences_per_chunk(w, KC);
    Tensor cols = make_tensor(device, {chunk * plan.out_steps, KC});
    // Stream order lets each chunk reuse cols after the previous chunk's GEMM.
    for (int64_t n0 = 0; n0 < d.N; n0 += chunk) {
      const int64_t count = std::min(chunk, d.N - n0), rows = count * plan.out_steps;
      const rk_window_1d part = chunk_of(w, count);
      check(device, o.window_gather_1d(&part, x.data() + n0 * d.T * d.C, cols.data()), "window_gather_1d");
      check(device, o.gemm(false, false, rows, d.F, KC, 1.0f, cols.data(), KC, kernel.data(), d.F, 0.0f,
                           y.data() + n0 * plan.out_steps * d.F, d.F),
            "gemm");
    }
  }
  check(device, o.bias_activation(y.data(), M, d.F, bias ? bias->data() : nullptr, spec.activation), "bias_activation");
  return y;
}

Conv1DGradients conv1d_backward(const Tensor& x, const Tensor& kernel, bool has_bias, const Tensor& y, const Tensor& dy,
                                const Conv1DSpec& spec) {
  const Dims d = check_shapes(x, kernel, spec);
  const WindowPlan plan = plan_window_1d(d.T, d.K, spec.stride, spec.dilation, spec.padding);
  const Shape out_shape{d.N, plan.out_steps, d.F};
  if (y.shape != out_shape) throw RangeError("output must have shape " + shape_string(out_shape) + ", got " + shape_string(y.shape));
  if (dy.shape != out_shape) throw RangeError("dOutput must have shape " + shape_string(out_shape) + ", got " + shape_string(dy.shape));
  if (&y.device() != &x.device() || &dy.device() != &x.device()) throw TypeError("x, output and dOutput are on different devices");
  const Device& device = x.device();
  const rk_device_ops& o = device.ops();
  Conv1DGradients g;
  g.dkernel = make_zeros(device, kernel.shape);
  if (has_bias) g.dbias = make_zeros(device, {d.F});
  const int64_t M = d.N * plan.out_steps, KC = element_count({d.K, d.C}, "kernel");
  if (M == 0) {
    g.dx = make_zeros(device, x.shape);
    return g;
  }
  const rk_window_1d w = window_of(d, plan, spec);
  const bool pointwise = is_pointwise(w);
  if (!pointwise) {
    require_entry(device, o.window_gather_1d, "window_gather_1d");
    require_entry(device, o.window_scatter_1d, "window_scatter_1d");
  }
  Tensor d_pre = make_tensor(device, out_shape);
  check(device, o.activation_backward(y.data(), dy.data(), d_pre.data(), M, d.F, spec.activation), "activation_backward");
  if (has_bias) check(device, o.sum_rows(d_pre.data(), M, d.F, g.dbias.data(), 0), "sum_rows");
  g.dx = make_tensor(device, x.shape);
  if (pointwise) {
    check(device, o.gemm(true, false, KC, d.F, M, 1.0f, x.data(), KC, d_pre.data(), d.F, 0.0f, g.dkernel.data(), d.F), "gemm");
    check(device, o.gemm(false, true, M, KC, d.F, 1.0f, d_pre.data(), d.F, kernel.data(), d.F, 0.0f, g.dx.data(), KC), "gemm");
    return g;
  }
  // Per chunk of sequences: cols made again from x (cheaper than keeping the whole matrix
  // between passes), dkernel += colsᵀ·d_pre, then cols reused for d_pre·kernelᵀ and
  // scattered back (col2im) into the chunk's dx.
  const int64_t chunk = sequences_per_chunk(w, KC);
  Tensor cols = make_tensor(device, {chunk * plan.out_steps, KC});
  for (int64_t n0 = 0; n0 < d.N; n0 += chunk) {
    const int64_t count = std::min(chunk, d.N - n0), rows = count * plan.out_steps;
    const rk_window_1d part = chunk_of(w, count);
    const float* d_part = d_pre.data() + n0 * plan.out_steps * d.F;
    check(device, o.window_gather_1d(&part, x.data() + n0 * d.T * d.C, cols.data()), "window_gather_1d");
    check(device, o.gemm(true, false, KC, d.F, rows, 1.0f, cols.data(), KC, d_part, d.F, n0 == 0 ? 0.0f : 1.0f,
                         g.dkernel.data(), d.F),
          "gemm");
    check(device, o.gemm(false, true, rows, KC, d.F, 1.0f, d_part, d.F, kernel.data(), d.F, 0.0f, cols.data(), KC), "gemm");
    if (d.T > 0) check(device, o.window_scatter_1d(&part, cols.data(), g.dx.data() + n0 * d.T * d.C), "window_scatter_1d");
  }
  return g;
}

}  // namespace rk
