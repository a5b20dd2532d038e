#include "windows.h"

#include "../core/window_math.h"
#include "thread_pool.h"

namespace rk::cpu {
namespace {

// body(i) for i < count, in contiguous parts on the pool's threads (each i written once).
template <typename Body>
void for_each_index(int64_t count, Body&& body) {
  if (count <= 0) return;
  ThreadPool::instance().run([&](int index, int threads) {
    const Range r = split_range(count, 64, index, threads);
    for (int64_t i = r.begin; i < r.end; ++i) body(i);
  });
}

}  // namespace

int window_gather_1d(const rk_window_1d* w, const float* x, float* cols) {
  for_each_index(w->batch * w->out_steps * w->window * w->channels,
                 [&](int64_t i) { cols[i] = window_gather_value(*w, x, i); });
  return 0;
}

int window_scatter_1d(const rk_window_1d* w, const float* cols, float* dx) {
  for_each_index(w->batch * w->steps * w->channels, [&](int64_t i) { dx[i] = window_scatter_value(*w, cols, i); });
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
