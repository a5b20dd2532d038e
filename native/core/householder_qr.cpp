#include "householder_qr.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

// Sums must not be fused into FMAs on some compilers and not on others (GCC keeps them apart
// under -std=c++17; clang needs this).
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

// The two GEMM-shaped loops are compiled for AVX-512 and AVX2 as well where the toolchain
// can dispatch at load time (x86-64 Linux); without FMA the results stay the same.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RK_QR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RK_QR_CLONES
#endif

namespace rk {
namespace {

constexpr int64_t kPanel = 32;   // columns per panel (reflectors per block)
constexpr int64_t kCols = 64;    // columns of a trailing block kept in L1 with its W rows

// Runs body(c_begin, c_end) over [0, w) split into blocks of kCols columns, on up to 8
// threads when there are `flops` enough to pay for starting them, leaving one core to the
// JavaScript thread. Columns are computed independently: the split never changes a result.
template <typename F>
void parallel_columns(int64_t w, double flops, F&& body) {
  const int64_t blocks = (w + kCols - 1) / kCols;
  const int64_t cores = static_cast<int64_t>(std::thread::hardware_concurrency());
  int64_t threads = std::min<int64_t>({cores - 1, 8, blocks, static_cast<int64_t>(flops / 2e7)});
  if (threads <= 1) return body(int64_t{0}, w);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads - 1));
  const auto part = [&](int64_t t) {
    body(std::min(w, blocks * t / threads * kCols), std::min(w, blocks * (t + 1) / threads * kCols));
  };
  try {
    for (int64_t t = 1; t < threads; ++t) pool.emplace_back(part, t);
  } catch (...) {
    for (auto& th : pool) th.join();
    throw;
  }
  part(0);
  for (auto& th : pool) th.join();
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

// W[p][c] = Σ_i V[i][p]·B[i][c] for p < nb, c < w: V is [L, nb], B is [L, w] with stride ldb,
// W is [nb, w]. Rows of B are taken four at a time, in order, so every sum runs over i.
RK_QR_CLONES
void vt_times_cols(const double* v, int64_t L, int64_t nb, const double* b, int64_t ldb, int64_t w, double* out,
                   int64_t c_begin, int64_t c_end) {
  for (int64_t p = 0; p < nb; ++p) std::fill(out + p * w + c_begin, out + p * w + c_end, 0.0);
  for (int64_t c0 = c_begin; c0 < c_end; c0 += kCols) {
    const int64_t cw = std::min(kCols, c_end - c0);
    int64_t i = 0;
    for (; i + 4 <= L; i += 4) {
      const double* b0 = b + i * ldb + c0;
      const double* b1 = b0 + ldb;
      const double* b2 = b1 + ldb;
      const double* b3 = b2 + ldb;
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

// B[i][c] -= Σ_p V[i][p]·W[p][c]: V is [L, nb], W is [nb, w], B is [L, w] with stride ldb.
// Four p at a time, in order.
RK_QR_CLONES
void sub_v_times_cols(const double* v, int64_t L, int64_t nb, const double* w_, int64_t w, double* b, int64_t ldb,
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
        const double* w1 = w0 + w;
        const double* w2 = w1 + w;
        const double* w3 = w2 + w;
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

void vt_times(const double* v, int64_t L, int64_t nb, const double* b, int64_t ldb, int64_t w, double* out) {
  parallel_columns(w, 2.0 * L * nb * w, [&](int64_t c0, int64_t c1) { vt_times_cols(v, L, nb, b, ldb, w, out, c0, c1); });
}

void sub_v_times(const double* v, int64_t L, int64_t nb, const double* w_, int64_t w, double* b, int64_t ldb) {
  parallel_columns(w, 2.0 * L * nb * w, [&](int64_t c0, int64_t c1) { sub_v_times_cols(v, L, nb, w_, w, b, ldb, c0, c1); });
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

void householder_q(double* a, int64_t m, int64_t k) {
  std::vector<Panel> panels;
  panels.reserve(static_cast<size_t>((k + kPanel - 1) / kPanel));
  std::vector<double> diag(static_cast<size_t>(k)), pt, w, w2;
  for (int64_t j0 = 0; j0 < k; j0 += kPanel) {
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
      vt_times(p.v.data(), p.L, p.nb, a2, k, cols, w.data());
      tri_times(p.t, p.nb, true, w.data(), cols, w2.data());
      sub_v_times(p.v.data(), p.L, p.nb, w2.data(), cols, a2, k);
    }
  }
  // Q = H_0···H_{k-1}·I[:, :k], block by block from the last; the block for columns j0..
  // touches only rows and columns from j0 on.
  std::fill(a, a + m * k, 0.0);
  for (int64_t j = 0; j < k; ++j) a[j * k + j] = 1.0;
  for (auto it = panels.rbegin(); it != panels.rend(); ++it) {
    const Panel& p = *it;
    const int64_t cols = k - p.j0;
    w.resize(static_cast<size_t>(p.nb * cols));
    w2.resize(w.size());
    double* q2 = a + p.j0 * k + p.j0;
    vt_times(p.v.data(), p.L, p.nb, q2, k, cols, w.data());
    tri_times(p.t, p.nb, false, w.data(), cols, w2.data());
    sub_v_times(p.v.data(), p.L, p.nb, w2.data(), cols, q2, k);
  }
  // diag(R) >= 0: flip the columns of Q whose R entry is negative.
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < k; ++j)
      if (diag[j] < 0) a[i * k + j] = -a[i * k + j];
}

}  // namespace rk
