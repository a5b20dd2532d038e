// Moving rows and blocks on the device: gathering rows by index (batch slicing, shuffled
// batches) and a pitched 2-D transpose (Keras-layout weights and gradients). One thread per
// destination float, so there are no races.
#include "context.h"
#include "ops.h"

namespace rk::cuda {
namespace {

__global__ void gather_rows_kernel(const float* src, int64_t row_width, const int64_t* indices, int64_t count,
                                   float* dst) {
  RK_GRID_LOOP(i, count * row_width) {
    const int64_t row = static_cast<int64_t>(i) / row_width, col = static_cast<int64_t>(i) % row_width;
    dst[i] = src[indices[row] * row_width + col];
  }
}

// Walks the destination (c, r) so that writes coalesce; reads are strided.
__global__ void transpose_2d_kernel(const float* src, int64_t rows, int64_t cols, int64_t src_pitch, float* dst,
                                    int64_t dst_pitch) {
  RK_GRID_LOOP(i, rows * cols) {
    const int64_t c = static_cast<int64_t>(i) / rows, r = static_cast<int64_t>(i) % rows;
    dst[c * dst_pitch + r] = src[r * src_pitch + c];
  }
}

}  // namespace

int gather_rows(const float* src, int64_t row_width, const int64_t* host_indices, int64_t count, float* dst) {
  RK_REQUIRE_READY();
  if (count <= 0 || row_width <= 0) return 0;
  const size_t bytes = static_cast<size_t>(count) * sizeof(int64_t);
  Scratch indices(context().allocator, bytes);
  if (!indices) return fail("gather_rows: " + indices.error());
  // Indices, not data: the one upload. Synchronised so that the caller may reuse its array
  // (pageable memory) once this returns, as `copy` promises.
  RK_CUDA_TRY(cudaMemcpyAsync(indices.as<int64_t>(), host_indices, bytes, cudaMemcpyHostToDevice, stream()),
              "gather_rows (indices)");
  RK_CUDA_TRY(cudaStreamSynchronize(stream()), "gather_rows (indices)");
  return launch("gather_rows", gather_rows_kernel, elements(count, row_width), src, row_width,
                static_cast<const int64_t*>(indices.as<int64_t>()), count, dst);
}

int transpose_2d(const float* src, int64_t rows, int64_t cols, int64_t src_pitch, float* dst, int64_t dst_pitch) {
  RK_REQUIRE_READY();
  return launch("transpose_2d", transpose_2d_kernel, elements(rows, cols), src, rows, cols, src_pitch, dst,
                dst_pitch);
}

}  // namespace rk::cuda
