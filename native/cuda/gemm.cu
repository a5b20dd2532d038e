// GEMMs through cuBLAS. Our matrices are row-major and cuBLAS is column-major: a row-major
// C[m,n] is the column-major Cᵀ[n,m], and Cᵀ = op(B)ᵀ·op(A)ᵀ, so cuBLAS is called with the
// operands swapped (B first, A second), the same transpose flags, and m and n swapped.
#include <climits>

#include "context.h"
#include "ops.h"

namespace rk::cuda {
namespace {

bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

// C = beta·C over a [m, n] block of pitch ldc (an empty product); with beta = 0, C is not
// read, as in cuBLAS.
__global__ void scale_kernel(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
  RK_GRID_LOOP(i, m * n) {
    float& v = c[static_cast<int64_t>(i) / n * ldc + static_cast<int64_t>(i) % n];
    v = beta == 0.0f ? 0.0f : beta * v;
  }
}

}  // namespace

int gemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
         const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  RK_REQUIRE_READY();
  if (!fits_int(m) || !fits_int(n) || !fits_int(k) || !fits_int(lda) || !fits_int(ldb) || !fits_int(ldc))
    return fail("gemm: a dimension or leading dimension is negative or above 2^31-1 (cuBLAS takes int)");
  if (m == 0 || n == 0) return 0;
  // k = 0: cuBLAS would refuse the leading dimensions a row-major caller may pass for an
  // empty operand (0 < max(1, k)); the result is just beta·C.
  if (k == 0) return launch("gemm (k = 0)", scale_kernel, elements(m, n), m, n, beta, c, ldc);
  Context& ctx = context();
  const CublasApi& api = ctx.cublas->api();
  std::lock_guard<std::mutex> lock(ctx.blas_mutex);
  const cublasStatus_t st =
      api.sgemm(ctx.blas.get(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b, static_cast<int>(ldb), a,
                static_cast<int>(lda), &beta, c, static_cast<int>(ldc));
  if (st != CUBLAS_STATUS_SUCCESS) return fail("gemm: cublasSgemm_v2 failed: " + ctx.cublas->status_text(st));
  return 0;
}

}  // namespace rk::cuda
