#include "householder_qr.h"

#include "compiler.h"
#include "errors.h"
#include "x86_features.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <thread>
#include <vector>

// a·b + c must round twice everywhere: never fused into an FMA (which the AVX-512 variant or
// another compiler would otherwise do, changing the values from one machine to the next).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#elif defined(_MSC_VER)
#pragma fp_contract(off)
#endif

// Vector types only cross always-inlined functions: no ABI is involved.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#elif defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#endif

// On x86-64 the two GEMM-shaped loops also come as AVX2 and AVX-512 variants with register
// tiles, picked at run time. Without FMA and with the same order of every sum, all variants
// give the same bits.
#if RK_GNU_X86_64
#define RK_QR_X86 1
#define RK_QR_INLINE RK_ALWAYS_INLINE
#endif

namespace rk {
namespace {

constexpr int64_t kPanel = 32;   // columns per panel (reflectors per block)
constexpr int64_t kCols = 64;    // columns of a block, kept in cache with its rows of W

// Runs body(c_begin, c_end) over [0, w) split into blocks of kCols columns, on up to 8
// threads (one a core, less one with `spare_core`) when there are `flops` enough to pay for
// starting them. Columns are computed independently: the split never changes a result.
// A caller that blocks the JavaScript thread anyway uses every core (2048x2048: 0.72 s
// instead of 0.98 s on 2 cores); work beside a live event loop leaves it one (event-loop
// delay p99 1.3 ms instead of 4.5 ms while an LSTM-1024 initializes on 2 cores).
template <typename F>
void parallel_columns(int64_t w, double flops, bool spare_core, F&& body) {
  const int64_t blocks = (w + kCols - 1) / kCols;
  const int64_t cores = static_cast<int64_t>(std::thread::hardware_concurrency()) - (spare_core ? 1 : 0);
  int64_t threads = std::min<int64_t>({cores, 8, blocks, static_cast<int64_t>(flops / 2e7)});
  if (threads <= 1) return body(int64_t{0}, w);
  // An exception must not leave a thread's body (that would terminate the process): each
  // part keeps its own, and the first is rethrown once all threads are joined.
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  const auto part = [&](int64_t t) {
    try {
      body(std::min(w, blocks * t / threads * kCols), std::min(w, blocks * (t + 1) / threads * kCols));
    } catch (...) {
      errors[static_cast<size_t>(t)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  try {
    pool.reserve(static_cast<size_t>(threads - 1));
    for (int64_t t = 1; t < threads; ++t) pool.emplace_back(part, t);
  } catch (...) {
    for (auto& th : pool) th.join();
    throw;
  }
  part(0);
  for (auto& th : pool) th.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Σ x[i]·y[i] in eight interleaved partial sums, combined in a fixed order.
double dot(const double* x, const double* y, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += x[i + l] * y[i + l];
  for (int l = 0; i < n; ++i, ++l) acc[l] += x[i] * y[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Generic loops: four rows of B (vt) or four p (sub) per pass over a row segment, each sum
// in order. The compiler vectorizes the column loops.

// W[p][c] = Σ_i V[i][p]·B[i][c] for p < nb, c in [c_begin, c_end): V is [L, nb], B is
// [L, w] with stride ldb, W is [nb, w]. Every sum runs over i in order.
void vt_generic(const double* v, int64_t L, int64_t nb, const double* b, int64_t ldb, int64_t w, double* out,
                int64_t c_begin, int64_t c_end) {
  for (int64_t p = 0; p < nb; ++p) std::fill(out + p * w + c_begin, out + p * w + c_end, 0.0);
  for (int64_t c0 = c_begin; c0 < c_end; c0 += kCols) {
    const int64_t cw = std::min(kCols, c_end - c0);
    int64_t i = 0;
    for (; i + 4 <= L; i += 4) {
      const double* b0 = b + i * ldb + c0;
      const double *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
      const double* vi = v + i * nb;
      for (int64_t p = 0; p < nb; ++p) {
        const double v0 = vi[p], v1 = vi[nb + p], v2 = vi[2 * nb + p], v3 = vi[3 * nb + p];
        double* o = out + p * w + c0;
        for (int64_t c = 0; c < cw; ++c) o[c] = (((o[c] + v0 * b0[c]) + v1 * b1[c]) + v2 * b2[c]) + v3 * b3[c];
      }
    }
    for (; i < L; ++i) {
      const double* bi = b + i * ldb + c0;
      for (int64_t p = 0; p < nb; ++p) {
        const double vp = v[i * nb + p];
        double* o = out + p * w + c0;
        for (int64_t c = 0; c < cw; ++c) o[c] = o[c] + vp * bi[c];
      }
    }
  }
}

// B[i][c] -= Σ_p V[i][p]·W[p][c] for c in [c_begin, c_end): V is [L, nb], W is [nb, w], B
// is [L, w] with stride ldb. Every sum runs over p in order.
void sub_generic(const double* v, int64_t L, int64_t nb, const double* w_, int64_t w, double* b, int64_t ldb,
                 int64_t c_begin, int64_t c_end) {
  for (int64_t c0 = c_begin; c0 < c_end; c0 += kCols) {
    const int64_t cw = std::min(kCols, c_end - c0);
    for (int64_t i = 0; i < L; ++i) {
      double* bi = b + i * ldb + c0;
      const double* vi = v + i * nb;
      int64_t p = 0;
      for (; p + 4 <= nb; p += 4) {
        const double v0 = vi[p], v1 = vi[p + 1], v2 = vi[p + 2], v3 = vi[p + 3];
        const double* w0 = w_ + p * w + c0;
        const double *w1 = w0 + w, *w2 = w1 + w, *w3 = w2 + w;
        for (int64_t c = 0; c < cw; ++c) bi[c] = (((bi[c] - v0 * w0[c]) - v1 * w1[c]) - v2 * w2[c]) - v3 * w3[c];
      }
      for (; p < nb; ++p) {
        const double vp = vi[p];
        const double* wp = w_ + p * w + c0;
        for (int64_t c = 0; c < cw; ++c) bi[c] = bi[c] - vp * wp[c];
      }
    }
  }
}

#ifdef RK_QR_X86
// Register tiles of kTileR rows by two vectors of VW doubles: the accumulators stay in
// registers while the depth loop runs, instead of a load and a store per multiply-add.
// (The tile width differs between AVX2 and AVX-512; each element's sum does not.)
constexpr int kTileR = 4;
constexpr int64_t kDepth = 256;  // rows of B per packed block of vt

template <int VW>
struct Vec {
  typedef double type __attribute__((vector_size(8 * VW)));
  static RK_QR_INLINE type load(const double* p) {
    type v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static RK_QR_INLINE void store(double* p, type v) { std::memcpy(p, &v, sizeof v); }
};

// W[p0+r][c..c+2VW) += Σ_{i in [i0, i1)} V[i][p0+r]·B[i][0..2VW), r < 4, in order of i;
// row i of B at b + 2VW·i (packed).
template <int VW>
RK_QR_INLINE void vt_tile(const double* v, int64_t nb, int64_t p0, const double* b, int64_t i0, int64_t i1,
                          double* out, int64_t w, int64_t c) {
  using X = Vec<VW>;
  typename X::type acc[kTileR][2];
  for (int r = 0; r < kTileR; ++r)
    for (int h = 0; h < 2; ++h) acc[r][h] = X::load(out + (p0 + r) * w + c + VW * h);
  for (int64_t i = i0; i < i1; ++i) {
    const typename X::type b0 = X::load(b + i * 2 * VW), b1 = X::load(b + i * 2 * VW + VW);
    const double* vi = v + i * nb + p0;
    for (int r = 0; r < kTileR; ++r) {
      acc[r][0] = acc[r][0] + vi[r] * b0;
      acc[r][1] = acc[r][1] + vi[r] * b1;
    }
  }
  for (int r = 0; r < kTileR; ++r)
    for (int h = 0; h < 2; ++h) X::store(out + (p0 + r) * w + c + VW * h, acc[r][h]);
}

// W[p][c] += Σ_{i in [i0, i1)} V[i][p]·B[i][c] for a partial tile, in the same order.
RK_QR_INLINE void vt_edge(const double* v, int64_t nb, int64_t p0, int64_t rows, const double* b, int64_t ldb,
                          int64_t i0, int64_t i1, double* out, int64_t w, int64_t c, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    double* o = out + (p0 + r) * w + c;
    for (int64_t i = i0; i < i1; ++i) {
      const double vr = v[i * nb + p0 + r];
      const double* bi = b + i * ldb + c;
      for (int64_t cc = 0; cc < cols; ++cc) o[cc] = o[cc] + vr * bi[cc];
    }
  }
}

// vt_generic's result by tiles. Blocks of B are packed tile by tile, so that a tile streams
// contiguous memory instead of one row per page.
template <int VW>
RK_QR_INLINE void vt_tiled(const double* v, int64_t L, int64_t nb, const double* b, int64_t ldb, int64_t w,
                           double* out, int64_t c_begin, int64_t c_end) {
  constexpr int64_t tc = 2 * VW;
  for (int64_t p = 0; p < nb; ++p) std::fill(out + p * w + c_begin, out + p * w + c_end, 0.0);
  std::vector<double> packed(static_cast<size_t>(kDepth * kCols));
  const int64_t p_tiled = nb / kTileR * kTileR;
  for (int64_t c0 = c_begin; c0 < c_end; c0 += kCols) {
    const int64_t c1 = std::min(c0 + kCols, c_end);
    const int64_t tiles = (c1 - c0) / tc, tiled = c0 + tiles * tc;
    for (int64_t i0 = 0; i0 < L; i0 += kDepth) {
      const int64_t i1 = std::min(i0 + kDepth, L);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t t = 0; t < tiles; ++t)
          std::memcpy(&packed[static_cast<size_t>((t * kDepth + i - i0) * tc)], b + i * ldb + c0 + t * tc,
                      tc * sizeof(double));
      for (int64_t p0 = 0; p0 < p_tiled; p0 += kTileR)
        for (int64_t t = 0; t < tiles; ++t)
          vt_tile<VW>(v, nb, p0, packed.data() + (t * kDepth - i0) * tc, i0, i1, out, w, c0 + t * tc);
      if (p_tiled < nb) vt_edge(v, nb, p_tiled, nb - p_tiled, b, ldb, i0, i1, out, w, c0, tiled - c0);
      if (tiled < c1) vt_edge(v, nb, 0, nb, b, ldb, i0, i1, out, w, tiled, c1 - tiled);
    }
  }
}

// B[i+r][c..c+2VW) -= Σ_p V[i+r][p]·W[p][c..c+2VW), r < 4, in order of p.
template <int VW>
RK_QR_INLINE void sub_tile(const double* v, int64_t nb, int64_t i, const double* w_, int64_t w, double* b, int64_t ldb,
                           int64_t c) {
  using X = Vec<VW>;
  typename X::type acc[kTileR][2];
  for (int r = 0; r < kTileR; ++r)
    for (int h = 0; h < 2; ++h) acc[r][h] = X::load(b + (i + r) * ldb + c + VW * h);
  for (int64_t p = 0; p < nb; ++p) {
    const typename X::type w0 = X::load(w_ + p * w + c), w1 = X::load(w_ + p * w + c + VW);
    for (int r = 0; r < kTileR; ++r) {
      const double vr = v[(i + r) * nb + p];
      acc[r][0] = acc[r][0] - vr * w0;
      acc[r][1] = acc[r][1] - vr * w1;
    }
  }
  for (int r = 0; r < kTileR; ++r)
    for (int h = 0; h < 2; ++h) X::store(b + (i + r) * ldb + c + VW * h, acc[r][h]);
}

// The same for a partial tile, in the same order.
RK_QR_INLINE void sub_edge(const double* v, int64_t nb, int64_t i, int64_t rows, const double* w_, int64_t w, double* b,
                           int64_t ldb, int64_t c, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    double* bi = b + (i + r) * ldb + c;
    for (int64_t p = 0; p < nb; ++p) {
      const double vr = v[(i + r) * nb + p];
      const double* wp = w_ + p * w + c;
      for (int64_t cc = 0; cc < cols; ++cc) bi[cc] = bi[cc] - vr * wp[cc];
    }
  }
}

// sub_generic's result by tiles.
template <int VW>
RK_QR_INLINE void sub_tiled(const double* v, int64_t L, int64_t nb, const double* w_, int64_t w, double* b,
                            int64_t ldb, int64_t c_begin, int64_t c_end) {
  constexpr int64_t tc = 2 * VW;
  for (int64_t c0 = c_begin; c0 < c_end; c0 += kCols) {
    const int64_t c1 = std::min(c0 + kCols, c_end);
    for (int64_t i = 0; i < L; i += kTileR) {
      const int64_t rows = std::min<int64_t>(kTileR, L - i);
      int64_t c = c0;
      if (rows == kTileR)
        for (; c + tc <= c1; c += tc) sub_tile<VW>(v, nb, i, w_, w, b, ldb, c);
      if (c < c1) sub_edge(v, nb, i, rows, w_, w, b, ldb, c, c1 - c);
    }
  }
}

RK_TARGET("avx2") void vt_avx2(const double* v, int64_t L, int64_t nb, const double* b, int64_t ldb,
                                             int64_t w, double* out, int64_t c0, int64_t c1) {
  vt_tiled<4>(v, L, nb, b, ldb, w, out, c0, c1);
}
RK_TARGET("avx512f") void vt_avx512(const double* v, int64_t L, int64_t nb, const double* b,
                                                  int64_t ldb, int64_t w, double* out, int64_t c0, int64_t c1) {
  vt_tiled<8>(v, L, nb, b, ldb, w, out, c0, c1);
}
RK_TARGET("avx2") void sub_avx2(const double* v, int64_t L, int64_t nb, const double* w_, int64_t w,
                                              double* b, int64_t ldb, int64_t c0, int64_t c1) {
  sub_tiled<4>(v, L, nb, w_, w, b, ldb, c0, c1);
}
RK_TARGET("avx512f") void sub_avx512(const double* v, int64_t L, int64_t nb, const double* w_,
                                                   int64_t w, double* b, int64_t ldb, int64_t c0, int64_t c1) {
  sub_tiled<8>(v, L, nb, w_, w, b, ldb, c0, c1);
}

// 2: AVX-512F, 1: AVX2, 0: neither.
int x86_level() {
  static const int level = x86_features().avx512f ? 2 : x86_features().avx2 ? 1 : 0;
  return level;
}
#endif

void vt_times_cols(const double* v, int64_t L, int64_t nb, const double* b, int64_t ldb, int64_t w, double* out,
                   int64_t c0, int64_t c1) {
#ifdef RK_QR_X86
  if (x86_level() == 2) return vt_avx512(v, L, nb, b, ldb, w, out, c0, c1);
  if (x86_level() == 1) return vt_avx2(v, L, nb, b, ldb, w, out, c0, c1);
#endif
  vt_generic(v, L, nb, b, ldb, w, out, c0, c1);
}

void sub_v_times_cols(const double* v, int64_t L, int64_t nb, const double* w_, int64_t w, double* b, int64_t ldb,
                      int64_t c0, int64_t c1) {
#ifdef RK_QR_X86
  if (x86_level() == 2) return sub_avx512(v, L, nb, w_, w, b, ldb, c0, c1);
  if (x86_level() == 1) return sub_avx2(v, L, nb, w_, w, b, ldb, c0, c1);
#endif
  sub_generic(v, L, nb, w_, w, b, ldb, c0, c1);
}

void vt_times(const double* v, int64_t L, int64_t nb, const double* b, int64_t ldb, int64_t w, double* out,
              bool spare_core) {
  parallel_columns(w, 2.0 * L * nb * w, spare_core, [&](int64_t c0, int64_t c1) { vt_times_cols(v, L, nb, b, ldb, w, out, c0, c1); });
}

void sub_v_times(const double* v, int64_t L, int64_t nb, const double* w_, int64_t w, double* b, int64_t ldb,
                 bool spare_core) {
  parallel_columns(w, 2.0 * L * nb * w, spare_core, [&](int64_t c0, int64_t c1) { sub_v_times_cols(v, L, nb, w_, w, b, ldb, c0, c1); });
}

// One panel's reflectors: V [L, nb] (unit lower trapezoidal) and T [nb, nb] (upper
// triangular) with H_0·H_1···H_{nb-1} = I - V·T·Vᵀ.
struct Panel {
  int64_t j0 = 0, nb = 0, L = 0;
  std::vector<double> v, t;
};

// Factors columns [j0, j0+nb) of A (rows j0..m-1), keeping V and T; diag gets R's diagonal.
void factor_panel(double* a, int64_t m, int64_t k, Panel& panel, double* diag, std::vector<double>& pt) {
  const int64_t j0 = panel.j0, nb = panel.nb, L = m - j0;
  panel.L = L;
  // The panel's columns, each contiguous: pt[jj][i] = A[j0+i][j0+jj].
  pt.assign(static_cast<size_t>(nb * L), 0.0);
  for (int64_t i = 0; i < L; ++i)
    for (int64_t jj = 0; jj < nb; ++jj) pt[jj * L + i] = a[(j0 + i) * k + j0 + jj];
  std::vector<double> tau(static_cast<size_t>(nb));
  for (int64_t jj = 0; jj < nb; ++jj) {
    double* x = pt.data() + jj * L + jj;  // length L - jj
    const int64_t n = L - jj;
    const double alpha = x[0];
    const double tail = n > 1 ? dot(x + 1, x + 1, n - 1) : 0.0;
    if (tail == 0.0) {
      tau[jj] = 0.0;  // already upper triangular here: H = I
      diag[j0 + jj] = alpha;
      continue;
    }
    const double norm = std::sqrt(alpha * alpha + tail);
    const double beta = alpha >= 0 ? -norm : norm;
    tau[jj] = (beta - alpha) / beta;
    const double scale = 1.0 / (alpha - beta);
    for (int64_t i = 1; i < n; ++i) x[i] *= scale;
    x[0] = beta;
    diag[j0 + jj] = beta;
    // The panel's later columns: y -= tau·v·(vᵀy), v = (1, x[1:]).
    for (int64_t c = jj + 1; c < nb; ++c) {
      double* y = pt.data() + c * L + jj;
      const double s = tau[jj] * (y[0] + dot(x + 1, y + 1, n - 1));
      y[0] -= s;
      for (int64_t i = 1; i < n; ++i) y[i] -= s * x[i];
    }
  }
  // V row-major [L, nb], with its unit diagonal and zeros above.
  panel.v.assign(static_cast<size_t>(L * nb), 0.0);
  for (int64_t i = 0; i < L; ++i)
    for (int64_t jj = 0; jj < nb && jj <= i; ++jj) panel.v[i * nb + jj] = i == jj ? 1.0 : pt[jj * L + i];
  // T: T[jj][jj] = tau_jj, T[0:jj, jj] = -tau_jj·T[0:jj, 0:jj]·(V[:, 0:jj]ᵀ v_jj).
  panel.t.assign(static_cast<size_t>(nb * nb), 0.0);
  std::vector<double> s(static_cast<size_t>(nb));
  for (int64_t jj = 0; jj < nb; ++jj) {
    const double* vj = pt.data() + jj * L;  // v_jj[r] = vj[r] for r > jj, 1 at jj
    for (int64_t l = 0; l < jj; ++l) {
      const double* vl = pt.data() + l * L;
      s[l] = vl[jj] + dot(vl + jj + 1, vj + jj + 1, L - jj - 1);
    }
    for (int64_t i = 0; i < jj; ++i) {
      double acc = 0.0;
      for (int64_t l = i; l < jj; ++l) acc += panel.t[i * nb + l] * s[l];
      panel.t[i * nb + jj] = -tau[jj] * acc;
    }
    panel.t[jj * nb + jj] = tau[jj];
  }
}

// W2 = op(T)·W for upper triangular T [nb, nb] (transposed when `trans`), W [nb, w].
void tri_times(const std::vector<double>& t, int64_t nb, bool trans, const double* w, int64_t cols, double* out) {
  std::fill(out, out + nb * cols, 0.0);
  for (int64_t p = 0; p < nb; ++p) {
    double* o = out + p * cols;
    const int64_t q0 = trans ? 0 : p, q1 = trans ? p + 1 : nb;
    for (int64_t q = q0; q < q1; ++q) {
      const double tq = trans ? t[q * nb + p] : t[p * nb + q];
      const double* wq = w + q * cols;
      for (int64_t c = 0; c < cols; ++c) o[c] = o[c] + tq * wq[c];
    }
  }
}

}  // namespace

void check_stop(const std::atomic<bool>* stop) {
  if (stop && stop->load(std::memory_order_relaxed))
    throw Error(ErrorCode::InvalidState, "weight initialization cancelled");
}

void householder_q(double* a, int64_t m, int64_t k, const std::atomic<bool>* stop, bool spare_core) {
  std::vector<Panel> panels;
  panels.reserve(static_cast<size_t>((k + kPanel - 1) / kPanel));
  std::vector<double> diag(static_cast<size_t>(k)), pt, w, w2;
  for (int64_t j0 = 0; j0 < k; j0 += kPanel) {
    check_stop(stop);
    panels.emplace_back();
    Panel& p = panels.back();
    p.j0 = j0;
    p.nb = std::min(kPanel, k - j0);
    factor_panel(a, m, k, p, diag.data(), pt);
    // Trailing columns: A2 = (I - V·T·Vᵀ)ᵀ·A2 = A2 - V·(Tᵀ·(Vᵀ·A2)).
    const int64_t c0 = j0 + p.nb, cols = k - c0;
    if (cols > 0) {
      w.resize(static_cast<size_t>(p.nb * cols));
      w2.resize(w.size());
      double* a2 = a + j0 * k + c0;
      vt_times(p.v.data(), p.L, p.nb, a2, k, cols, w.data(), spare_core);
      tri_times(p.t, p.nb, true, w.data(), cols, w2.data());
      sub_v_times(p.v.data(), p.L, p.nb, w2.data(), cols, a2, k, spare_core);
    }
  }
  // Q = H_0···H_{k-1}·I[:, :k], block by block from the last; the block for columns j0..
  // touches only rows and columns from j0 on.
  std::fill(a, a + m * k, 0.0);
  for (int64_t j = 0; j < k; ++j) a[j * k + j] = 1.0;
  for (auto it = panels.rbegin(); it != panels.rend(); ++it) {
    check_stop(stop);
    const Panel& p = *it;
    const int64_t cols = k - p.j0;
    w.resize(static_cast<size_t>(p.nb * cols));
    w2.resize(w.size());
    double* q2 = a + p.j0 * k + p.j0;
    vt_times(p.v.data(), p.L, p.nb, q2, k, cols, w.data(), spare_core);
    tri_times(p.t, p.nb, false, w.data(), cols, w2.data());
    sub_v_times(p.v.data(), p.L, p.nb, w2.data(), cols, q2, k, spare_core);
  }
  // diag(R) >= 0: flip the columns of Q whose R entry is negative.
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < k; ++j)
      if (diag[j] < 0) a[i * k + j] = -a[i * k + j];
}

}  // namespace rk
