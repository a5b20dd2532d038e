// Elementwise entries, one grid-stride loop each, written as the CPU device writes them so
// that both round the same way (nvcc may contract alpha·x + beta·y into an FMA: a GPU-only
// difference of at most an ulp).
#include "ops.h"

namespace rk::cuda {
namespace {

__global__ void fill_kernel(float* dst, float value, size_t count) {
  RK_GRID_LOOP(i, count) dst[i] = value;
}

__global__ void axpby_kernel(float alpha, const float* x, float beta, const float* y, float* out, size_t count) {
  RK_GRID_LOOP(i, count) out[i] = y ? alpha * x[i] + beta * y[i] : alpha * x[i];
}

__global__ void multiply_kernel(const float* x, const float* y, float* out, size_t count) {
  RK_GRID_LOOP(i, count) out[i] = x[i] * y[i];
}

__global__ void clamp_kernel(const float* x, float lo, float hi, float* out, size_t count) {
  RK_GRID_LOOP(i, count) out[i] = fminf(hi, fmaxf(lo, x[i]));
}

}  // namespace

int fill(float* dst, float value, size_t count) {
  RK_REQUIRE_READY();
  return launch("fill", fill_kernel, count, dst, value, count);
}

int axpby(float alpha, const float* x, float beta, const float* y, float* out, size_t count) {
  RK_REQUIRE_READY();
  return launch("axpby", axpby_kernel, count, alpha, x, beta, y, out, count);
}

int multiply(const float* x, const float* y, float* out, size_t count) {
  RK_REQUIRE_READY();
  return launch("multiply", multiply_kernel, count, x, y, out, count);
}

int clamp(const float* x, float lo, float hi, float* out, size_t count) {
  RK_REQUIRE_READY();
  return launch("clamp", clamp_kernel, count, x, lo, hi, out, count);
}

// A strided block copy is what cudaMemcpy2D does (pitches in bytes), queued on the stream.
int copy_2d(const float* src, int64_t src_pitch, float* dst, int64_t dst_pitch, int64_t rows, int64_t width) {
  RK_REQUIRE_READY();
  if (rows <= 0 || width <= 0) return 0;
  RK_CUDA_TRY(cudaMemcpy2DAsync(dst, dst_pitch * sizeof(float), src, src_pitch * sizeof(float), width * sizeof(float),
                                rows, cudaMemcpyDeviceToDevice, stream()),
              "copy_2d");
  return 0;
}

}  // namespace rk::cuda
