#include "gemm.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <vector>

#include "isa.h"
#include "thread_pool.h"

namespace rk::cpu {
namespace {

constexpr int64_t kKc = 384;  // depth of a packed A block: a group stays in L1 across panels
constexpr int64_t kMc = 96;   // rows of a packed A block (a multiple of every kMr)
constexpr int64_t kTransposedSlab = 10 * kMc;  // rows of Aᵀ packed at once (1.5 MB at kKc)
// Up to this many panels of B, a plain op(A) = A is read in place instead of packed: packing
// costs a pass over A that only a few panels would reuse (in a training step, the input and
// state gradients' GEMMs have n = D or H, and packed A was a tenth of their time). Kernels
// that group in-place rows freely also read A of one row block (kMc rows) in place: the
// fused recurrence's input projection, 16 or 64 rows at a time, then runs no 4-row group
// (AVX2 on Zen 2: LSTM (32,100,128,256) 2% faster on 1 and 2 threads, GRU 1-3%).
constexpr int64_t kInPlaceMaxPanels = 8;
// GEMMs below this many FLOPs per part stay on the calling thread: handing work off costs
// more (a few microseconds, more when a worker has to be woken) than it saves.
constexpr double kMinFlopsPerPart = 1 << 20;

int64_t panel_count(int64_t n) { return (n + kPanel - 1) / kPanel; }

void pack_b_panels(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, float* packed,
                   int64_t panel_begin, int64_t panel_end) {
  if (!trans_b) {
    // A row of B at a time, into every panel: a large B (a training step's gate gradients)
    // is read once in order, not once per panel with a page per row.
    for (int64_t p = 0; p < k; ++p) {
      const float* src = b + p * ldb;
      for (int64_t q = panel_begin; q < panel_end; ++q) {
        const int64_t col0 = q * kPanel, cols = std::min(kPanel, n - col0);
        float* row = packed + q * k * kPanel + p * kPanel;
        std::copy(src + col0, src + col0 + cols, row);
        std::fill(row + cols, row + kPanel, 0.0f);
      }
    }
    return;
  }
  for (int64_t q = panel_begin; q < panel_end; ++q) {
    float* dst = packed + q * k * kPanel;
    const int64_t col0 = q * kPanel, cols = std::min(kPanel, n - col0);
    for (int64_t p = 0; p < k; ++p) std::fill(dst + p * kPanel + cols, dst + (p + 1) * kPanel, 0.0f);
    for (int64_t c = 0; c < cols; ++c) {
      const float* src = b + (col0 + c) * ldb;
      for (int64_t p = 0; p < k; ++p) dst[p * kPanel + c] = src[p];
    }
  }
}

// op(A) = Aᵀ: read each row of A once, contiguously, scattering it over the groups (a
// group's width known at compile time: whole groups are then a few vector moves).
template <int64_t Mr>
void pack_transposed(const float* a, int64_t lda, int64_t row0, int64_t rows, int64_t p0, int64_t kc,
                     float* out) {
  const int64_t whole = rows / Mr, rest = rows % Mr;
  for (int64_t p = 0; p < kc; ++p) {
    const float* src = a + (p0 + p) * lda + row0;
    float* dst = out + p * Mr;
    for (int64_t g = 0; g < whole; ++g) std::memcpy(dst + g * Mr * kc, src + g * Mr, Mr * sizeof(float));
    if (rest) std::copy_n(src + whole * Mr, rest, dst + whole * Mr * kc);
  }
}

}  // namespace

void pack_a(bool trans_a, const float* a, int64_t lda, int64_t row0, int64_t rows, int64_t p0, int64_t kc,
            int64_t mr, float* out) {
  const int64_t groups = (rows + mr - 1) / mr;
  if (trans_a) {
    switch (mr) {
      case 4: return pack_transposed<4>(a, lda, row0, rows, p0, kc, out);
      case 6: return pack_transposed<6>(a, lda, row0, rows, p0, kc, out);
      case 12: return pack_transposed<12>(a, lda, row0, rows, p0, kc, out);
      default:
        for (int64_t p = 0; p < kc; ++p) {
          const float* src = a + (p0 + p) * lda + row0;
          for (int64_t g = 0; g < groups; ++g) {
            const int64_t valid = std::min(mr, rows - g * mr);
            std::copy_n(src + g * mr, valid, out + g * mr * kc + p * mr);
          }
        }
        return;
    }
  }
  for (int64_t g = 0; g < groups; ++g) {
    float* dst = out + g * mr * kc;
    const int64_t valid = std::min(mr, rows - g * mr);
    for (int64_t r = 0; r < valid; ++r) {
      const float* src = a + (row0 + g * mr + r) * lda + p0;
      for (int64_t p = 0; p < kc; ++p) dst[p * mr + r] = src[p];
    }
  }
}

void transpose(const float* src, int64_t rows, int64_t cols, int64_t src_pitch, float* dst, int64_t dst_pitch) {
  constexpr int64_t kTile = 16;
  copy_in_parts(rows, kTile, static_cast<double>(rows) * cols, [&](Range tiles) {
    for (int64_t r0 = tiles.begin; r0 < tiles.end; r0 += kTile)
      for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
        const int64_t r1 = std::min(rows, r0 + kTile), c1 = std::min(cols, c0 + kTile);
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t r = r0; r < r1; ++r) dst[c * dst_pitch + r] = src[r * src_pitch + c];
      }
  });
}

namespace {

// Allocator of 64-byte aligned floats: the GEMM kernels read packed B a vector at a time,
// and a vector split across cache lines costs the AVX2 kernel about a fifth of its speed.
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const CacheLineAllocator<U>&) const { return false; }
};
using AlignedFloats = std::vector<float, CacheLineAllocator<float>>;

std::vector<float>& thread_scratch() {
  thread_local std::vector<float> scratch;
  return scratch;
}

void scale_rows(float beta, float* c, int64_t ldc, int64_t rows, int64_t col0, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    float* row = c + i * ldc + col0;
    for (int64_t j = 0; j < cols; ++j) row[j] *= beta;
  }
}

// One thread's share: rows [row0, row1) × panels [q0, q1).
void gemm_part(const Kernels& kern, bool trans_a, int64_t row0, int64_t row1, int64_t q0, int64_t q1, int64_t n,
               int64_t k, float alpha, const float* a, int64_t lda, const float* packed_b, float beta, float* c,
               int64_t ldc) {
  if (row0 >= row1 || q0 >= q1) return;
  const int64_t col0 = q0 * kPanel, cols = std::min(n, q1 * kPanel) - col0;
  if (beta != 0.0f && beta != 1.0f) scale_rows(beta, c + row0 * ldc, ldc, row1 - row0, col0, cols);
  const int64_t mr = kern.mr;
  const int64_t kc_max = std::min(k, kKc);
  const bool in_place =
      !trans_a && (q1 - q0 <= kInPlaceMaxPanels || (kern.narrow_groups_in_place && row1 - row0 <= kMc));
  // Aᵀ is packed a slab of row blocks at a time: each row of A is then read in one long run
  // instead of a run of kMc floats per block, which the prefetchers did not follow (a
  // training step's weight gradients pack a large Aᵀ; the figures are in the issue notes).
  const int64_t slab = std::min(row1 - row0, trans_a ? kTransposedSlab : kMc);
  std::vector<float>& scratch = thread_scratch();
  const size_t need = in_place ? 0 : static_cast<size_t>((slab + mr) * kc_max);
  if (scratch.size() < need) scratch.resize(need);
  for (int64_t p0 = 0; p0 < k; p0 += kKc) {
    const int64_t kc = std::min(kKc, k - p0);
    const bool accumulate = p0 > 0 || beta != 0.0f;
    for (int64_t s0 = row0; s0 < row1; s0 += slab) {
      const int64_t slab_rows = std::min(slab, row1 - s0);
      if (!in_place) pack_a(trans_a, a, lda, s0, slab_rows, p0, kc, mr, scratch.data());
      for (int64_t i0 = s0; i0 < s0 + slab_rows; i0 += kMc) {
        const int64_t rows = std::min(kMc, s0 + slab_rows - i0);
        // kMc is a multiple of mr: a block's groups follow each other in the packed slab.
        const float* block_a = in_place ? a + i0 * lda + p0 : scratch.data() + (i0 - s0) * kc;
        kern.gemm_block(rows, kc, block_a, in_place ? lda : 0, packed_b + q0 * k * kPanel + p0 * kPanel, k * kPanel,
                        q1 - q0, 1, 0, cols, alpha, accumulate, c + i0 * ldc + col0, ldc, false);
      }
    }
  }
}

// Splits the work: by panels when there are enough for every thread (each thread then
// keeps its columns of B in its own cache), else by rows.
void run_gemm(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
              const float* packed_b, float beta, float* c, int64_t ldc) {
  const Kernels& kern = active_kernels();
  const int64_t panels = panel_count(n);
  ThreadPool& pool = ThreadPool::instance();
  const int parts = pool.parts_for(2.0 * static_cast<double>(m) * n * k, kMinFlopsPerPart);
  pool.run([&](int index, int count) {
    // Splitting by panels gives each thread its own columns of B (kept in its cache across
    // row blocks) but has every thread pack all of A: worth it unless A is the larger work.
    const bool many_rows = m >= 2 * kMc * count;
    const bool by_panels = panels >= 2 * count && (!many_rows || panels >= 8 * count);
    const Range q = by_panels ? split_range(panels, 1, index, count) : Range{0, panels};
    const Range r = by_panels ? Range{0, m} : split_range(m, kern.mr, index, count);
    gemm_part(kern, trans_a, r.begin, r.end, q.begin, q.end, n, k, alpha, a, lda, packed_b, beta, c, ldc);
  }, parts);
}

}  // namespace

size_t packed_b_bytes(int64_t k, int64_t n) { return static_cast<size_t>(panel_count(n) * kPanel * k) * sizeof(float); }

void pack_b(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, float* packed) {
  copy_in_parts(panel_count(n), 1, static_cast<double>(k) * n,
                [&](Range q) { pack_b_panels(trans_b, k, n, b, ldb, packed, q.begin, q.end); });
}

void gemm_packed_b(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* packed_b, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  run_gemm(trans_a, m, n, k, alpha, a, lda, packed_b, beta, c, ldc);
}

void gemm_packed_b_here(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed_b, float* c,
                        int64_t ldc, int64_t col0, int64_t col1) {
  if (col1 < 0 || col1 > n) col1 = n;
  if (m <= 0 || col0 >= col1) return;
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc + col0, c + i * ldc + col1, 0.0f);
    return;
  }
  gemm_part(active_kernels(), false, 0, m, col0 / kPanel, panel_count(col1), col1, k, 1.0f, a, lda, packed_b, 0.0f, c,
            ldc);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    gemm_packed_b(trans_a, m, n, 0, alpha, a, lda, nullptr, beta, c, ldc);
    return;
  }
  // C = Aᵀ·B with few columns: packing Aᵀ is a transposing pass over all of A that only a
  // few panels would reuse (a training step's weight gradients, dW = dGᵀ·X with n = D or H,
  // spent a tenth of their time there). Cᵀ = Bᵀ·A packs the larger A as B, in plain row
  // copies, and transposes the small C: the same sums in the same order, the same bits.
  if (trans_a && !trans_b && beta == 0.0f && m > n && panel_count(n) <= kInPlaceMaxPanels) {
    thread_local AlignedFloats transposed;
    if (transposed.size() < static_cast<size_t>(m * n)) transposed.resize(static_cast<size_t>(m * n));
    gemm(true, false, n, m, k, alpha, b, ldb, a, lda, 0.0f, transposed.data(), m);
    transpose(transposed.data(), n, m, m, c, ldc);
    return;
  }
  // Reused across calls: no allocation once the largest operand has been seen.
  thread_local AlignedFloats packed;
  const size_t need = packed_b_bytes(k, n) / sizeof(float);
  if (packed.size() < need) packed.resize(need);
  pack_b(trans_b, k, n, b, ldb, packed.data());
  run_gemm(trans_a, m, n, k, alpha, a, lda, packed.data(), beta, c, ldc);
}

}  // namespace rk::cpu
