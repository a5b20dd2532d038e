#include "windows.h"

#include <cstring>

#include "../core/window_math.h"
#include "thread_pool.h"

namespace rk::cpu {
namespace {

// body(i) for i < count, in contiguous parts of `grain` on the pool's threads (each i
// written once).
template <typename Body>
void for_each_index(int64_t count, Body&& body, int64_t grain = 64) {
  if (count <= 0) return;
  ThreadPool::instance().run([&](int index, int threads) {
    const Range r = split_range(count, grain, index, threads);
    for (int64_t i = r.begin; i < r.end; ++i) body(i);
  });
}

}  // namespace

// im2col and col2im a row of C channels at a time (the device's per-element math gives the
// same values: copies, and sums over the window positions in the same order).
int window_gather_1d(const rk_window_1d* w, const float* x, float* cols) {
  const int64_t C = w->channels, width = w->window * C;
  for_each_index(
      w->batch * w->out_steps,
      [&](int64_t row) {
        const int64_t n = row / w->out_steps, o = row % w->out_steps;
        float* dst = cols + row * width;
        for (int64_t j = 0; j < w->window; ++j) {
          const int64_t t = window_step(*w, o, j);
          if (t >= 0 && t < w->steps)
            std::memcpy(dst + j * C, x + (n * w->steps + t) * C, C * sizeof(float));
          else
            std::memset(dst + j * C, 0, C * sizeof(float));
        }
      },
      1);
  return 0;
}

int window_scatter_1d(const rk_window_1d* w, const float* cols, float* dx) {
  const int64_t C = w->channels, width = w->window * C;
  for_each_index(
      w->batch * w->steps,
      [&](int64_t row) {
        const int64_t n = row / w->steps, t = row % w->steps;
        float* dst = dx + row * C;
        std::memset(dst, 0, C * sizeof(float));
        for (int64_t j = 0; j < w->window; ++j) {
          const int64_t s = t + w->pad_left - j * w->dilation;
          if (s < 0) break;
          if (s % w->stride != 0 || s / w->stride >= w->out_steps) continue;
          const float* src = cols + (n * w->out_steps + s / w->stride) * width + j * C;
          for (int64_t c = 0; c < C; ++c) dst[c] += src[c];
        }
      },
      1);
  return 0;
}

int pool_1d_forward(const rk_window_1d* w, int32_t kind, const float* x, float* y) {
  for_each_index(w->batch * w->out_steps * w->channels, [&](int64_t i) { y[i] = pool_forward_value(*w, kind, x, i); });
  return 0;
}

int pool_1d_backward(const rk_window_1d* w, int32_t kind, const float* x, const float* dy, float* dx) {
  for_each_index(w->batch * w->steps * w->channels, [&](int64_t i) { dx[i] = pool_backward_value(*w, kind, x, dy, i); });
  return 0;
}

int global_pool_1d_forward(int32_t kind, const float* x, const float* step_mask, int64_t batch, int64_t steps,
                           int64_t channels, float* y) {
  for_each_index(batch * channels, [&](int64_t i) {
    y[i] = global_pool_forward_value(kind, x, step_mask, steps, channels, i / channels, i % channels);
  });
  return 0;
}

int global_pool_1d_backward(int32_t kind, const float* x, const float* step_mask, const float* dy, int64_t batch,
                            int64_t steps, int64_t channels, float* dx) {
  for_each_index(batch * channels, [&](int64_t i) {
    global_pool_backward_column(kind, x, step_mask, dy, steps, channels, i / channels, i % channels, dx);
  });
  return 0;
}

}  // namespace rk::cpu
