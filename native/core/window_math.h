// The per-element math of convolution and pooling over time (device_abi.h rk_window_1d),
// shared by the CPU device and the CUDA kernels (compiled by nvcc as __host__ __device__),
// so that the CPU tests check the index math the GPU runs. Every function computes one
// output value (or one column) from its inputs alone: no two callers write one value.
#ifndef RNNKIT_CORE_WINDOW_MATH_H
#define RNNKIT_CORE_WINDOW_MATH_H

#include <stdint.h>

#include "device_abi.h"

#ifdef __CUDACC__
#define RK_WM __host__ __device__ __forceinline__
#else
#define RK_WM static inline
#endif

namespace rk {

// The input step that output step o reads at window position j (outside [0, T): padding).
RK_WM int64_t window_step(const rk_window_1d& w, int64_t o, int64_t j) { return o * w.stride - w.pad_left + j * w.dilation; }

// im2col: element i of cols [N·out_steps, window·C].
RK_WM float window_gather_value(const rk_window_1d& w, const float* x, int64_t i) {
  const int64_t width = w.window * w.channels;
  const int64_t row = i / width, col = i % width;
  const int64_t n = row / w.out_steps, o = row % w.out_steps;
  const int64_t j = col / w.channels, c = col % w.channels;
  const int64_t t = window_step(w, o, j);
  return (t >= 0 && t < w.steps) ? x[(n * w.steps + t) * w.channels + c] : 0.0f;
}

// col2im: element i of dx [N, T, C], the sum of the cols entries that read it. Output step
// o reads t at position j when o·stride = t + pad_left − j·dilation.
RK_WM float window_scatter_value(const rk_window_1d& w, const float* cols, int64_t i) {
  const int64_t c = i % w.channels, nt = i / w.channels;
  const int64_t t = nt % w.steps, n = nt / w.steps;
  const int64_t width = w.window * w.channels;
  float sum = 0.0f;
  for (int64_t j = 0; j < w.window; ++j) {
    const int64_t s = t + w.pad_left - j * w.dilation;
    if (s < 0) break;  // later positions only lower s
    if (s % w.stride != 0) continue;
    const int64_t o = s / w.stride;
    if (o >= w.out_steps) continue;
    sum += cols[(n * w.out_steps + o) * width + j * w.channels + c];
  }
  return sum;
}

// The window of output step o clipped to the input: steps [*first, *last), dilation 1.
RK_WM void pool_range(const rk_window_1d& w, int64_t o, int64_t* first, int64_t* last) {
  int64_t a = o * w.stride - w.pad_left, b = a + w.window;
  *first = a < 0 ? 0 : a;
  *last = b > w.steps ? w.steps : b;
}

// The first maximum of x over steps [first, last) of channel c in sequence n (TF's argmax
// on ties); first when the range is empty.
RK_WM int64_t first_max_step(const float* x, int64_t steps, int64_t channels, int64_t n, int64_t c, int64_t first,
                             int64_t last, const float* step_mask) {
  int64_t best = -1;
  float value = 0.0f;
  for (int64_t t = first; t < last; ++t) {
    if (step_mask && step_mask[n * steps + t] == 0.0f) continue;
    const float v = x[(n * steps + t) * channels + c];
    if (best < 0 || v > value) best = t, value = v;
  }
  return best;
}

// Element i of y [N, out_steps, C].
RK_WM float pool_forward_value(const rk_window_1d& w, int32_t kind, const float* x, int64_t i) {
  const int64_t c = i % w.channels, no = i / w.channels;
  const int64_t o = no % w.out_steps, n = no / w.out_steps;
  int64_t first, last;
  pool_range(w, o, &first, &last);
  if (last <= first) return 0.0f;
  if (kind == RK_POOL_MAX) {
    const int64_t t = first_max_step(x, w.steps, w.channels, n, c, first, last, nullptr);
    return x[(n * w.steps + t) * w.channels + c];
  }
  float sum = 0.0f;
  for (int64_t t = first; t < last; ++t) sum += x[(n * w.steps + t) * w.channels + c];
  return sum / static_cast<float>(last - first);
}

// Element i of dx [N, T, C]: the dy of every window that routes to (max) or counts (average) it.
RK_WM float pool_backward_value(const rk_window_1d& w, int32_t kind, const float* x, const float* dy, int64_t i) {
  const int64_t c = i % w.channels, nt = i / w.channels;
  const int64_t t = nt % w.steps, n = nt / w.steps;
  // Windows o with o·stride − pad_left ≤ t < o·stride − pad_left + window.
  const int64_t hi_num = t + w.pad_left;
  int64_t o_hi = hi_num / w.stride;
  if (o_hi >= w.out_steps) o_hi = w.out_steps - 1;
  const int64_t lo_num = t + w.pad_left - w.window + 1;
  const int64_t o_lo = lo_num <= 0 ? 0 : (lo_num + w.stride - 1) / w.stride;
  float sum = 0.0f;
  for (int64_t o = o_lo; o <= o_hi; ++o) {
    int64_t first, last;
    pool_range(w, o, &first, &last);
    if (t < first || t >= last) continue;
    const float g = dy[(n * w.out_steps + o) * w.channels + c];
    if (kind == RK_POOL_MAX) {
      if (first_max_step(x, w.steps, w.channels, n, c, first, last, nullptr) == t) sum += g;
    } else {
      sum += g / static_cast<float>(last - first);
    }
  }
  return sum;
}

// y[n, c] over the steps the mask keeps (null: all); 0 when it keeps none.
RK_WM float global_pool_forward_value(int32_t kind, const float* x, const float* step_mask, int64_t steps,
                                      int64_t channels, int64_t n, int64_t c) {
  if (kind == RK_POOL_MAX) {
    const int64_t t = first_max_step(x, steps, channels, n, c, 0, steps, step_mask);
    return t < 0 ? 0.0f : x[(n * steps + t) * channels + c];
  }
  float sum = 0.0f;
  int64_t count = 0;
  for (int64_t t = 0; t < steps; ++t) {
    if (step_mask && step_mask[n * steps + t] == 0.0f) continue;
    sum += x[(n * steps + t) * channels + c];
    ++count;
  }
  return count ? sum / static_cast<float>(count) : 0.0f;
}

// Column (n, c) of dx [N, T, C] from dy[n, c]: every step of it written.
RK_WM void global_pool_backward_column(int32_t kind, const float* x, const float* step_mask, const float* dy,
                                       int64_t steps, int64_t channels, int64_t n, int64_t c, float* dx) {
  const float g = dy[n * channels + c];
  if (kind == RK_POOL_MAX) {
    const int64_t best = first_max_step(x, steps, channels, n, c, 0, steps, step_mask);
    for (int64_t t = 0; t < steps; ++t) dx[(n * steps + t) * channels + c] = t == best ? g : 0.0f;
    return;
  }
  int64_t count = 0;
  for (int64_t t = 0; t < steps; ++t) count += (!step_mask || step_mask[n * steps + t] != 0.0f) ? 1 : 0;
  const float share = count ? g / static_cast<float>(count) : 0.0f;
  for (int64_t t = 0; t < steps; ++t)
    dx[(n * steps + t) * channels + c] = (!step_mask || step_mask[n * steps + t] != 0.0f) ? share : 0.0f;
}

}  // namespace rk

#endif
