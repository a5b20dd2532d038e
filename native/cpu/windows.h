// The CPU device's convolution and pooling entries (device_abi.h, "Convolution and pooling
// over time"): the shared per-element math of core/window_math.h split over the pool, with
// im2col and col2im a row of channels at a time.
#ifndef RNNKIT_CPU_WINDOWS_H
#define RNNKIT_CPU_WINDOWS_H

#include "../core/device_abi.h"

namespace rk::cpu {

int window_gather_1d(const rk_window_1d* w, const float* x, float* cols);
int window_scatter_1d(const rk_window_1d* w, const float* cols, float* dx);
int pool_1d_forward(const rk_window_1d* w, int32_t kind, const float* x, float* y);
int pool_1d_backward(const rk_window_1d* w, int32_t kind, const float* x, const float* dy, float* dx);
int global_pool_1d_forward(int32_t kind, const float* x, const float* step_mask, int64_t batch, int64_t steps,
                           int64_t channels, float* y);
int global_pool_1d_backward(int32_t kind, const float* x, const float* step_mask, const float* dy, int64_t batch,
                            int64_t steps, int64_t channels, float* dx);

}  // namespace rk::cpu

#endif
