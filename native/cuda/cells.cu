// The pointwise forward and backward of every cell, one thread per (sequence n, unit j),
// calling the shared cell math of native/core (cell_step.h) with one lane: the CPU device
// runs the same functions, so the CPU tests test these numerics. Lengths masking, masked
// outputs (zeros / carry) and the last-output mode are in cell_step.h too.
//
// Only a GPU can check: the ulp of the device's expf/tanhf/expm1f (the CPU uses its own
// vector approximations; they agree to a few ulp) and nvcc's FMA contraction of the cell
// equations (the emulation is not contracted); both stay well inside 1e-5 relative.
#include "../core/cell_step.h"
#include "ops.h"

namespace rk::cuda {
namespace {

__global__ void cell_forward_kernel(rk_cell_forward_args a) {
  RK_GRID_LOOP(i, a.batch * a.hidden) {
    const int64_t n = static_cast<int64_t>(i) / a.hidden, j = static_cast<int64_t>(i) % a.hidden;
    rk::cell_forward_units<float>(a, n, j, 1);
  }
}

__global__ void cell_backward_kernel(rk_cell_backward_args a) {
  RK_GRID_LOOP(i, a.batch * a.hidden) {
    const int64_t n = static_cast<int64_t>(i) / a.hidden, j = static_cast<int64_t>(i) % a.hidden;
    rk::cell_backward_units<float>(a, n, j, 1);
  }
}

}  // namespace

int cell_forward(const rk_cell_forward_args* a) {
  RK_REQUIRE_READY();
  return launch("cell_forward", cell_forward_kernel, elements(a->batch, a->hidden), *a);
}

int cell_backward(const rk_cell_backward_args* a) {
  RK_REQUIRE_READY();
  return launch("cell_backward", cell_backward_kernel, elements(a->batch, a->hidden), *a);
}

}  // namespace rk::cuda
