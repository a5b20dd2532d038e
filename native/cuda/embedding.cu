// Embeddings: a gather (one thread per output float) and its backward, a scatter-add with
// atomics, since two rows may name the same id. On a GPU the order of those atomic adds
// is not fixed, so with repeated ids d_table may differ from the CPU's serial sum by
// rounding (only a GPU can show it; the emulation adds in row order, as the CPU does).
#include "ops.h"

namespace rk::cuda {
namespace {

__global__ void embedding_forward_kernel(const float* table, const float* ids, float* out, int64_t rows, int64_t dim) {
  RK_GRID_LOOP(i, rows * dim) {
    const int64_t r = static_cast<int64_t>(i) / dim, j = static_cast<int64_t>(i) % dim;
    out[i] = table[static_cast<int64_t>(ids[r]) * dim + j];
  }
}

__global__ void embedding_backward_kernel(const float* ids, const float* d_out, float* d_table, int64_t rows,
                                          int64_t dim) {
  RK_GRID_LOOP(i, rows * dim) {
    const int64_t r = static_cast<int64_t>(i) / dim, j = static_cast<int64_t>(i) % dim;
    atomicAdd(d_table + static_cast<int64_t>(ids[r]) * dim + j, d_out[i]);
  }
}

}  // namespace

int embedding_forward(const float* table, const float* ids, float* out, int64_t rows, int64_t dim) {
  RK_REQUIRE_READY();
  return launch("embedding_forward", embedding_forward_kernel, elements(rows, dim), table, ids, out, rows,
                dim);
}

int embedding_backward(const float* ids, const float* d_out, float* d_table, int64_t rows, int64_t dim) {
  RK_REQUIRE_READY();
  return launch("embedding_backward", embedding_backward_kernel, elements(rows, dim), ids, d_out, d_table,
                rows, dim);
}

}  // namespace rk::cuda
