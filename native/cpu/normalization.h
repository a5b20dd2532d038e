// The CPU device's normalization kernels (device_abi.h, "Normalization"), on the pool.
#ifndef RNNKIT_CPU_NORMALIZATION_H
#define RNNKIT_CPU_NORMALIZATION_H

#include <cstdint>

namespace rk::cpu {

void layer_norm_forward(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                        float epsilon, float* y, float* mean, float* rstd);
void layer_norm_backward(const float* x, const float* dy, int64_t rows, int64_t cols, const float* gamma,
                         const float* mean, const float* rstd, float* dx, float* d_gamma, float* d_beta);
void batch_norm_statistics(const float* x, int64_t rows, int64_t cols, const float* row_weight, double denominator,
                           float* mean, float* variance);
void batch_norm_forward(const float* x, int64_t rows, int64_t cols, const float* mean, const float* variance,
                        const float* gamma, const float* beta, float epsilon, float* y);
void batch_norm_backward(const float* x, const float* dy, int64_t rows, int64_t cols, const float* row_weight,
                         double count, double denominator, const float* mean, const float* variance,
                         const float* gamma, float epsilon, float* dx, float* d_gamma, float* d_beta);

}  // namespace rk::cpu

#endif
