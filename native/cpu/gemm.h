// Single-precision GEMM for the CPU device, row-major:
// C[m,n] = alpha·op(A)·op(B) + beta·C.
#ifndef RNNKIT_CPU_GEMM_H
#define RNNKIT_CPU_GEMM_H

#include <cstdint>

namespace rk::cpu {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace rk::cpu

#endif
