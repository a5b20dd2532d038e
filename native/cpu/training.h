// The CPU device's training kernels: losses with their gradients, and optimizer steps.
#ifndef RNNKIT_CPU_TRAINING_H
#define RNNKIT_CPU_TRAINING_H

#include <cstdint>

#include "../core/device_abi.h"

namespace rk::cpu {

// Throws RangeError for a sparse target that is not a class index.
double loss(int32_t kind, bool from_logits, const float* pred, const float* target, int64_t rows, int64_t cols,
            float* grad);
void optimizer_step(const rk_optimizer_step_args& args);
int64_t count_correct(const float* pred, const float* target, int64_t rows, int64_t cols, bool sparse, bool binary,
                      float threshold);
void embedding_forward(const float* table, const float* ids, float* out, int64_t rows, int64_t dim);
void embedding_backward(const float* ids, const float* d_out, float* d_table, int64_t rows, int64_t dim);
void dropout(const float* x, float* y, float* mask, size_t count, float rate, uint64_t seed);

}  // namespace rk::cpu

#endif
