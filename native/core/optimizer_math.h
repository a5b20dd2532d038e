// Keras's optimizer update rules for one weight element, shared by the CPU device and the
// CUDA kernels (compiled by nvcc as __host__ __device__, as the cell math), so that both
// devices run the same float expressions.
#ifndef RNNKIT_CORE_OPTIMIZER_MATH_H
#define RNNKIT_CORE_OPTIMIZER_MATH_H

#include <math.h>
#include <stdint.h>

#include "cell_math.h"
#include "device_abi.h"

namespace rk {

// SGD: v = momentum·v - lr·g; p += v (nesterov: p += momentum·v - lr·g).
RK_HD void sgd_update(const rk_optimizer_step_args& a, int64_t i) {
  if (a.momentum == 0.0f) {
    a.param[i] -= a.learning_rate * a.grad[i];
    return;
  }
  const float v = a.momentum * a.slot0[i] - a.learning_rate * a.grad[i];
  a.slot0[i] = v;
  a.param[i] += a.nesterov ? a.momentum * v - a.learning_rate * a.grad[i] : v;
}

// Adam's bias-corrected step size lr·√(1-β2^t)/(1-β1^t), once per step, in double.
inline float adam_step_size(const rk_optimizer_step_args& a) {
  const double t = static_cast<double>(a.iteration);
  return static_cast<float>(a.learning_rate * sqrt(1.0 - pow(a.beta2, t)) / (1.0 - pow(a.beta1, t)));
}

// Adam: m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²; p -= lr_t·m / (√v + ε).
RK_HD void adam_update(const rk_optimizer_step_args& a, float lr_t, int64_t i) {
  const float g = a.grad[i];
  const float m = a.slot0[i] = a.beta1 * a.slot0[i] + (1.0f - a.beta1) * g;
  const float v = a.slot1[i] = a.beta2 * a.slot1[i] + (1.0f - a.beta2) * g * g;
  a.param[i] -= lr_t * m / (sqrtf(v) + a.epsilon);
}

// RMSprop: ms = ρ·ms + (1-ρ)·g²; step = lr·g / (√ms + ε); with momentum:
// mom = momentum·mom + step; p -= mom.
RK_HD void rmsprop_update(const rk_optimizer_step_args& a, int64_t i) {
  const float g = a.grad[i];
  const float ms = a.slot0[i] = a.rho * a.slot0[i] + (1.0f - a.rho) * g * g;
  const float step = a.learning_rate * g / (sqrtf(ms) + a.epsilon);
  if (a.momentum > 0.0f) {
    a.slot1[i] = a.momentum * a.slot1[i] + step;
    a.param[i] -= a.slot1[i];
  } else {
    a.param[i] -= step;
  }
}

}  // namespace rk

#endif
