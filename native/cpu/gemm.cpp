#include "gemm.h"

#include <algorithm>

namespace rk::cpu {
namespace {

constexpr int64_t kBlockK = 256;
constexpr int64_t kBlockN = 512;

void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f)
      std::fill(row, row + n, 0.0f);
    else if (beta != 1.0f)
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

// C += alpha·A·B: rows of C accumulate scaled rows of B (unit stride, vectorizes),
// blocked so that a panel of B stays in cache.
void gemm_nn(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
             const float* b, int64_t ldb, float* c, int64_t ldc) {
  for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
    const int64_t nb = std::min(kBlockN, n - j0);
    for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
      const int64_t pb = std::min(kBlockK, k - p0);
      for (int64_t i = 0; i < m; ++i) {
        float* __restrict crow = c + i * ldc + j0;
        for (int64_t p = p0; p < p0 + pb; ++p) {
          const float s = alpha * a[i * lda + p];
          const float* __restrict brow = b + p * ldb + j0;
#pragma omp simd
          for (int64_t j = 0; j < nb; ++j) crow[j] += s * brow[j];
        }
      }
    }
  }
}

// C += alpha·A·Bᵀ: each element a dot product of two contiguous rows.
void gemm_nt(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
             const float* b, int64_t ldb, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    const float* __restrict arow = a + i * lda;
    for (int64_t j = 0; j < n; ++j) {
      const float* __restrict brow = b + j * ldb;
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int64_t p = 0; p < k; ++p) sum += arow[p] * brow[p];
      c[i * ldc + j] += alpha * sum;
    }
  }
}

// C += alpha·Aᵀ·B: for each p, row p of A scatters scaled rows of B into C.
void gemm_tn(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
             const float* b, int64_t ldb, float* c, int64_t ldc) {
  for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
    const int64_t nb = std::min(kBlockN, n - j0);
    for (int64_t p = 0; p < k; ++p) {
      const float* __restrict brow = b + p * ldb + j0;
      const float* arow = a + p * lda;
      for (int64_t i = 0; i < m; ++i) {
        const float s = alpha * arow[i];
        float* __restrict crow = c + i * ldc + j0;
#pragma omp simd
        for (int64_t j = 0; j < nb; ++j) crow[j] += s * brow[j];
      }
    }
  }
}

void gemm_tt(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
             const float* b, int64_t ldb, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int64_t p = 0; p < k; ++p) sum += a[p * lda + i] * b[j * ldb + p];
      c[i * ldc + j] += alpha * sum;
    }
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  scale_c(m, n, beta, c, ldc);
  if (k == 0 || alpha == 0.0f) return;
  if (!trans_a && !trans_b) gemm_nn(m, n, k, alpha, a, lda, b, ldb, c, ldc);
  else if (!trans_a && trans_b) gemm_nt(m, n, k, alpha, a, lda, b, ldb, c, ldc);
  else if (trans_a && !trans_b) gemm_tn(m, n, k, alpha, a, lda, b, ldb, c, ldc);
  else gemm_tt(m, n, k, alpha, a, lda, b, ldb, c, ldc);
}

}  // namespace rk::cpu
