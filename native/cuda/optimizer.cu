// Optimizer steps, Keras's update rules, one thread per weight, in the CPU device's float
// expressions (Adam's bias-corrected learning rate is computed once on the host in double,
// as the CPU does). nvcc may contract products and sums into FMAs: GPU-only ulp differences.
#include <cmath>

#include "ops.h"

namespace rk::cuda {
namespace {

__global__ void sgd_kernel(rk_optimizer_step_args a) {
  RK_GRID_LOOP(i, a.count) {
    if (a.momentum == 0.0f) {
      a.param[i] -= a.learning_rate * a.grad[i];
      continue;
    }
    // v = momentum·v - lr·g; p += v (nesterov: p += momentum·v - lr·g).
    const float v = a.momentum * a.slot0[i] - a.learning_rate * a.grad[i];
    a.slot0[i] = v;
    a.param[i] += a.nesterov ? a.momentum * v - a.learning_rate * a.grad[i] : v;
  }
}

__global__ void adam_kernel(rk_optimizer_step_args a, float lr_t) {
  RK_GRID_LOOP(i, a.count) {
    const float g = a.grad[i];
    const float m = a.slot0[i] = a.beta1 * a.slot0[i] + (1.0f - a.beta1) * g;
    const float v = a.slot1[i] = a.beta2 * a.slot1[i] + (1.0f - a.beta2) * g * g;
    a.param[i] -= lr_t * m / (sqrtf(v) + a.epsilon);
  }
}

__global__ void rmsprop_kernel(rk_optimizer_step_args a) {
  RK_GRID_LOOP(i, a.count) {
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
}

}  // namespace

int optimizer_step(const rk_optimizer_step_args* a) {
  RK_REQUIRE_READY();
  const size_t count = elements(a->count);
  switch (a->kind) {
    case RK_OPT_SGD: return launch("optimizer_step (sgd)", sgd_kernel, count, *a);
    case RK_OPT_ADAM: {
      const double t = static_cast<double>(a->iteration);
      const float lr_t = static_cast<float>(a->learning_rate * std::sqrt(1.0 - std::pow(a->beta2, t)) /
                                            (1.0 - std::pow(a->beta1, t)));
      return launch("optimizer_step (adam)", adam_kernel, count, *a, lr_t);
    }
    default: return launch("optimizer_step (rmsprop)", rmsprop_kernel, count, *a);
  }
}

}  // namespace rk::cuda
