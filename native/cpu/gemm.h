// Single-precision GEMM for the CPU device, row-major: C[m,n] = alpha·op(A)·op(B) + beta·C.
// op(B) is packed into column panels (once, for a prepared operand; per call otherwise),
// blocks of op(A) into row groups, and the kernels of the active instruction set run the
// blocks on the thread pool, each thread on its own columns (or rows when there are few).
#ifndef RNNKIT_CPU_GEMM_H
#define RNNKIT_CPU_GEMM_H

#include <cstddef>
#include <cstdint>

namespace rk::cpu {

// Bytes of a packed op(B) of shape [k, n].
size_t packed_b_bytes(int64_t k, int64_t n);
// Packs op(B) [k, n] (B is [n, k] when trans_b) into `packed` (packed_b_bytes(k, n) bytes).
void pack_b(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, float* packed);

// A block of op(A) (rows [row0, row0+rows), depth [p0, p0+kc)) in groups of `mr` rows, the
// layout Kernels::gemm_block reads; `out` holds ceil(rows/mr)·mr·kc floats. The rows of a
// last, partial group past `rows` are left unwritten: the kernels never read them.
void pack_a(bool trans_a, const float* a, int64_t lda, int64_t row0, int64_t rows, int64_t p0, int64_t kc,
            int64_t mr, float* out);

// dst[c, r] = src[r, c] for a [rows, cols] src, in tiles that keep both sides in L1.
void transpose(const float* src, int64_t rows, int64_t cols, int64_t src_pitch, float* dst, int64_t dst_pitch);

void gemm_packed_b(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* packed_b, float beta, float* c, int64_t ldc);

// C[m, n] = A·B for B packed by pack_b, on the calling thread alone: for callers that are
// already one of several threads sharing a larger job. The same sums as gemm_packed_b.
// Only columns [col0, col1) of C when given (col0 a multiple of the panel width, kPanel).
void gemm_packed_b_here(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed_b, float* c,
                        int64_t ldc, int64_t col0 = 0, int64_t col1 = -1);

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace rk::cpu

#endif
