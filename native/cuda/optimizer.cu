// Optimizer steps, Keras's update rules (native/core/optimizer_math.h, shared with the CPU
// device), one thread per weight; Adam's step size is computed once on the host in double.
// nvcc may contract products and sums into FMAs: GPU-only ulp differences.
#include "../core/optimizer_math.h"
#include "ops.h"

namespace rk::cuda {
namespace {

__global__ void sgd_kernel(rk_optimizer_step_args a) {
  RK_GRID_LOOP(i, a.count) sgd_update(a, static_cast<int64_t>(i));
}

__global__ void adam_kernel(rk_optimizer_step_args a, float lr_t) {
  RK_GRID_LOOP(i, a.count) adam_update(a, lr_t, static_cast<int64_t>(i));
}

__global__ void rmsprop_kernel(rk_optimizer_step_args a) {
  RK_GRID_LOOP(i, a.count) rmsprop_update(a, static_cast<int64_t>(i));
}

}  // namespace

int optimizer_step(const rk_optimizer_step_args* a) {
  RK_REQUIRE_READY();
  const size_t count = elements(a->count);
  switch (a->kind) {
    case RK_OPT_SGD: return launch("optimizer_step (sgd)", sgd_kernel, count, *a);
    case RK_OPT_ADAM: return launch("optimizer_step (adam)", adam_kernel, count, *a, adam_step_size(*a));
    default: return launch("optimizer_step (rmsprop)", rmsprop_kernel, count, *a);
  }
}

}  // namespace rk::cuda
