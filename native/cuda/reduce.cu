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

namespace {

// Queues the fixed grid of double partial sums of x² into partials[kPartials].
int queue_partials(const float* x, size_t count, double* partials) {
#ifdef __CUDACC__
  sum_squares_partials_kernel<<<kPartialBlocks, kThreads, 0, stream()>>>(x, count, partials);
  RK_CUDA_TRY(cudaGetLastError(), "sum_squares");
#else
  rk_emulation::launch(sum_squares_partials_kernel, dim3(kPartialBlocks), dim3(kThreads), stream(), x, count, partials);
#endif
  return 0;
}

// The partials of `tensors` tensors back on the host, summed in a fixed order (tensor by
// tensor, partial by partial): one copy and one synchronisation whatever their number.
int sum_partials(const double* partials, size_t tensors, double* host_result) {
  std::vector<double> host(tensors * kPartials);
  RK_CUDA_TRY(cudaMemcpyAsync(host.data(), partials, host.size() * sizeof(double), cudaMemcpyDeviceToHost, stream()),
              "sum_squares (copy)");
  RK_CUDA_TRY(cudaStreamSynchronize(stream()), "sum_squares (synchronize)");
  double sum = 0.0;
  for (double p : host) sum += p;
  *host_result = sum;
  return 0;
}

}  // namespace

int sum_squares(const float* x, size_t count, double* host_result) {
  RK_REQUIRE_READY();
  *host_result = 0.0;
  if (count == 0) return 0;
  Scratch partials(context().allocator, kPartials * sizeof(double));
  if (!partials) return fail("sum_squares: " + partials.error());
  if (int st = queue_partials(x, count, partials.as<double>())) return st;
  return sum_partials(partials.as<double>(), 1, host_result);
}

// The global norm of a clip: every tensor's partials queued, then one copy and one sync.
int sum_squares_many(const float* const* xs, const size_t* counts, int32_t n, double* host_result) {
  RK_REQUIRE_READY();
  *host_result = 0.0;
  if (n <= 0) return 0;
  Scratch partials(context().allocator, static_cast<size_t>(n) * kPartials * sizeof(double));
  if (!partials) return fail("sum_squares_many: " + partials.error());
  double* p = partials.as<double>();
  for (int32_t i = 0; i < n; ++i) {
    double* slice = p + static_cast<size_t>(i) * kPartials;
    if (counts[i] == 0) {
      RK_CUDA_TRY(cudaMemsetAsync(slice, 0, kPartials * sizeof(double), stream()), "sum_squares_many (clear)");
      continue;
    }
    if (int st = queue_partials(xs[i], counts[i], slice)) return st;
  }
  return sum_partials(p, static_cast<size_t>(n), host_result);
}

}  // namespace rk::cuda
