// Dense layers: bias + activation over a [rows, cols] matrix, and its backward from the
// output. Elementwise activations use one thread per element (the shared activate() of
// cell_math.h); softmax uses one thread per row (its max, sum and scale need the whole
// row; a row per thread needs no block-wide reduction, which the emulation could not run,
// and dense outputs here are narrow).
#include "../core/cell_math.h"
#include "ops.h"

namespace rk::cuda {
namespace {

__global__ void bias_activation_kernel(float* y, int64_t rows, int64_t cols, const float* bias, int32_t activation) {
  RK_GRID_LOOP(i, rows * cols) {
    float v = y[i];
    if (bias) v += bias[static_cast<int64_t>(i) % cols];
    y[i] = activation == RK_ACT_LINEAR ? v : rk::activate(activation, v);
  }
}

// As the CPU device: subtract the row's max, sum the exponentials in double, scale by the
// float reciprocal of the sum.
__global__ void bias_softmax_kernel(float* y, int64_t rows, int64_t cols, const float* bias) {
  RK_GRID_LOOP(r, rows) {
    float* row = y + r * cols;
    if (bias)
      for (int64_t j = 0; j < cols; ++j) row[j] += bias[j];
    float max = row[0];
    for (int64_t j = 1; j < cols; ++j) max = fmaxf(max, row[j]);
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += (row[j] = expf(row[j] - max));
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < cols; ++j) row[j] *= inv;
  }
}

__global__ void activation_backward_kernel(const float* y, const float* dy, float* d_pre, size_t count,
                                           int32_t activation) {
  RK_GRID_LOOP(i, count) d_pre[i] = dy[i] * rk::activate_grad_from_output(activation, y[i]);
}

// Softmax's Jacobian-vector product per row: y ⊙ (dy - Σ y·dy).
__global__ void softmax_backward_kernel(const float* y, const float* dy, float* d_pre, int64_t rows, int64_t cols) {
  RK_GRID_LOOP(r, rows) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    double dot = 0.0;
    for (int64_t j = 0; j < cols; ++j) dot += static_cast<double>(yr[j]) * dyr[j];
    for (int64_t j = 0; j < cols; ++j) d_pre[r * cols + j] = yr[j] * (dyr[j] - static_cast<float>(dot));
  }
}

}  // namespace

int bias_activation(float* y, int64_t rows, int64_t cols, const float* bias, int32_t activation) {
  RK_REQUIRE_READY();
  if (rows <= 0 || cols <= 0) return 0;
  if (activation == RK_ACT_SOFTMAX)
    return launch("bias_activation (softmax)", bias_softmax_kernel, elements(rows), y, rows, cols, bias);
  return launch("bias_activation", bias_activation_kernel, elements(rows, cols), y, rows, cols, bias,
                activation);
}

int activation_backward(const float* y, const float* dy, float* d_pre, int64_t rows, int64_t cols, int32_t activation) {
  RK_REQUIRE_READY();
  if (rows <= 0 || cols <= 0) return 0;
  if (activation == RK_ACT_SOFTMAX)
    return launch("activation_backward (softmax)", softmax_backward_kernel, elements(rows), y, dy, d_pre,
                  rows, cols);
  return launch("activation_backward", activation_backward_kernel, elements(rows, cols), y, dy, d_pre,
                elements(rows, cols), activation);
}

}  // namespace rk::cuda
