// Reductions. sum_rows: one thread per column adds its rows in order (the CPU's order, so
// the results are the same floats). sum_squares: deterministic whatever the device: a
// fixed grid of kPartials threads, each adding its strided elements in double, then the
// partial sums added on the host in index order: the same count gives the same bits on
// every run and every GPU. No shared memory or shuffles (DESIGN principle 3).
#include <vector>

#include "context.h"
#include "ops.h"

namespace rk::cuda {
namespace {

constexpr unsigned kPartialBlocks = 64;
constexpr size_t kPartials = kPartialBlocks * kThreads;

__global__ void sum_rows_kernel(const float* x, int64_t rows, int64_t cols, float* out, int32_t accumulate) {
  RK_GRID_LOOP(c, cols) {
    float sum = accumulate ? out[c] : 0.0f;
    for (int64_t r = 0; r < rows; ++r) sum += x[r * cols + c];
    out[c] = sum;
  }
}

__global__ void sum_squares_partials_kernel(const float* x, size_t count, double* partials) {
  const size_t t = RK_GRID_START;
  double sum = 0.0;
  for (size_t i = t; i < count; i += RK_GRID_STRIDE) sum += static_cast<double>(x[i]) * x[i];
  partials[t] = sum;
}

}  // namespace

int sum_rows(const float* x, int64_t rows, int64_t cols, float* out, int32_t accumulate) {
  RK_REQUIRE_READY();
  return launch("sum_rows", sum_rows_kernel, elements(cols), x, rows, cols, out, accumulate);
}

int sum_squares(const float* x, size_t count, double* host_result) {
  RK_REQUIRE_READY();
  *host_result = 0.0;
  if (count == 0) return 0;
  Scratch partials(context().allocator, kPartials * sizeof(double));
  if (!partials) return fail("sum_squares: " + partials.error());
#ifdef __CUDACC__
  sum_squares_partials_kernel<<<kPartialBlocks, kThreads, 0, stream()>>>(x, count, partials.as<double>());
  RK_CUDA_TRY(cudaGetLastError(), "sum_squares");
#else
  rk_emulation::launch(sum_squares_partials_kernel, dim3(kPartialBlocks), dim3(kThreads), stream(), x, count,
                       partials.as<double>());
#endif
  std::vector<double> host(kPartials);
  RK_CUDA_TRY(cudaMemcpyAsync(host.data(), partials.as<double>(), kPartials * sizeof(double), cudaMemcpyDeviceToHost,
                              stream()),
              "sum_squares (copy)");
  RK_CUDA_TRY(cudaStreamSynchronize(stream()), "sum_squares (synchronize)");
  double sum = 0.0;
  for (double p : host) sum += p;
  *host_result = sum;
  return 0;
}

}  // namespace rk::cuda
