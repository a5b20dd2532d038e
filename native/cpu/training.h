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

}  // namespace rk::cpu

#endif
