// Convolution and pooling over time: im2col, col2im, pooling and global pooling, one thread
// per output value (global pooling: per (sequence, channel) column) in grid-stride loops,
// on the per-element math shared with the CPU device (core/window_math.h). Every value is
// written by one thread, so there are no atomics and results do not depend on the grid.
#include "../core/window_math.h"
#include "ops.h"

namespace rk::cuda {
namespace {

// The window is passed by value: kernels take no host pointers.
__global__ void window_gather_kernel(rk_window_1d w, const float* x, float* cols, size_t count) {
  RK_GRID_LOOP(i, count) cols[i] = window_gather_value(w, x, static_cast<int64_t>(i));
}

__global__ void window_scatter_kernel(rk_window_1d w, const float* cols, float* dx, size_t count) {
  RK_GRID_LOOP(i, count) dx[i] = window_scatter_value(w, cols, static_cast<int64_t>(i));
}

__global__ void pool_forward_kernel(rk_window_1d w, int32_t kind, const float* x, float* y, size_t count) {
  RK_GRID_LOOP(i, count) y[i] = pool_forward_value(w, kind, x, static_cast<int64_t>(i));
}

__global__ void pool_backward_kernel(rk_window_1d w, int32_t kind, const float* x, const float* dy, float* dx,
                                     size_t count) {
  RK_GRID_LOOP(i, count) dx[i] = pool_backward_value(w, kind, x, dy, static_cast<int64_t>(i));
}

__global__ void global_pool_forward_kernel(int32_t kind, const float* x, const float* step_mask, int64_t steps,
                                           int64_t channels, float* y, size_t count) {
  RK_GRID_LOOP(i, count) {
    const int64_t k = static_cast<int64_t>(i);
    y[i] = global_pool_forward_value(kind, x, step_mask, steps, channels, k / channels, k % channels);
  }
}

__global__ void global_pool_backward_kernel(int32_t kind, const float* x, const float* step_mask, const float* dy,
                                            int64_t steps, int64_t channels, float* dx, size_t count) {
  RK_GRID_LOOP(i, count) {
    const int64_t k = static_cast<int64_t>(i);
    global_pool_backward_column(kind, x, step_mask, dy, steps, channels, k / channels, k % channels, dx);
  }
}

}  // namespace

int window_gather_1d(const rk_window_1d* w, const float* x, float* cols) {
  RK_REQUIRE_READY();
  const size_t count = elements(w->batch * w->out_steps, w->window, w->channels);
  return launch("window_gather_1d", window_gather_kernel, count, *w, x, cols, count);
}

int window_scatter_1d(const rk_window_1d* w, const float* cols, float* dx) {
  RK_REQUIRE_READY();
  const size_t count = elements(w->batch, w->steps, w->channels);
  return launch("window_scatter_1d", window_scatter_kernel, count, *w, cols, dx, count);
}

int pool_1d_forward(const rk_window_1d* w, int32_t kind, const float* x, float* y) {
  RK_REQUIRE_READY();
  const size_t count = elements(w->batch, w->out_steps, w->channels);
  return launch("pool_1d_forward", pool_forward_kernel, count, *w, kind, x, y, count);
}

int pool_1d_backward(const rk_window_1d* w, int32_t kind, const float* x, const float* dy, float* dx) {
  RK_REQUIRE_READY();
  const size_t count = elements(w->batch, w->steps, w->channels);
  return launch("pool_1d_backward", pool_backward_kernel, count, *w, kind, x, dy, dx, count);
}

int global_pool_1d_forward(int32_t kind, const float* x, const float* step_mask, int64_t batch, int64_t steps,
                           int64_t channels, float* y) {
  RK_REQUIRE_READY();
  const size_t count = elements(batch, channels);
  return launch("global_pool_1d_forward", global_pool_forward_kernel, count, kind, x, step_mask, steps, channels, y,
                count);
}

int global_pool_1d_backward(int32_t kind, const float* x, const float* step_mask, const float* dy, int64_t batch,
                            int64_t steps, int64_t channels, float* dx) {
  RK_REQUIRE_READY();
  const size_t count = elements(batch, channels);
  return launch("global_pool_1d_backward", global_pool_backward_kernel, count, kind, x, step_mask, dy, steps, channels,
                dx, count);
}

}  // namespace rk::cuda
