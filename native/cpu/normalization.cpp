// Layer and batch normalization on the CPU. Rows are split between the pool's threads for
// per-row work, columns for per-column sums, so every sum is added in one fixed order
// (row by row) whatever the thread count: the same bits on every run.
#include "normalization.h"

#include <cmath>
#include <vector>

#include "thread_pool.h"

namespace rk::cpu {
namespace {

template <typename Fn>
void for_rows(int64_t rows, Fn&& fn) {
  ThreadPool::instance().run([&](int index, int count) {
    const Range r = split_range(rows, 1, index, count);
    for (int64_t i = r.begin; i < r.end; ++i) fn(i);
  });
}

// fn(begin, end) on each thread's block of columns.
template <typename Fn>
void for_columns(int64_t cols, Fn&& fn) {
  ThreadPool::instance().run([&](int index, int count) {
    const Range c = split_range(cols, 16, index, count);
    if (c.begin < c.end) fn(c.begin, c.end);
  });
}

inline float rsqrt_of(double variance, float epsilon) {
  return static_cast<float>(1.0 / std::sqrt(variance + static_cast<double>(epsilon)));
}

}  // namespace

void layer_norm_forward(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                        float epsilon, float* y, float* mean, float* rstd) {
  for_rows(rows, [&](int64_t i) {
    const float* xr = x + i * cols;
    float* yr = y + i * cols;
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += xr[j];
    const double m = sum / static_cast<double>(cols);
    double sq = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      const double d = xr[j] - m;
      sq += d * d;
    }
    const float r = rsqrt_of(sq / static_cast<double>(cols), epsilon);
    const float mf = static_cast<float>(m);
    for (int64_t j = 0; j < cols; ++j) {
      float v = (xr[j] - mf) * r;
      if (gamma) v *= gamma[j];
      if (beta) v += beta[j];
      yr[j] = v;
    }
    if (mean) mean[i] = mf;
    if (rstd) rstd[i] = r;
  });
}

void layer_norm_backward(const float* x, const float* dy, int64_t rows, int64_t cols, const float* gamma,
                         const float* mean, const float* rstd, float* dx, float* d_gamma, float* d_beta) {
  for_rows(rows, [&](int64_t i) {
    const float* xr = x + i * cols;
    const float* dyr = dy + i * cols;
    const float m = mean[i], r = rstd[i];
    double a = 0.0, b = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      const double g = gamma ? static_cast<double>(dyr[j]) * gamma[j] : dyr[j];
      a += g;
      b += g * ((xr[j] - m) * r);
    }
    const float am = static_cast<float>(a / static_cast<double>(cols)), bm = static_cast<float>(b / static_cast<double>(cols));
    float* dxr = dx + i * cols;
    for (int64_t j = 0; j < cols; ++j) {
      const float g = gamma ? dyr[j] * gamma[j] : dyr[j];
      dxr[j] = r * (g - am - (xr[j] - m) * r * bm);
    }
  });
  for_columns(cols, [&](int64_t c0, int64_t c1) {
    std::vector<double> sg(c1 - c0, 0.0), sb(c1 - c0, 0.0);
    for (int64_t i = 0; i < rows; ++i) {
      const float m = mean[i], r = rstd[i];
      for (int64_t j = c0; j < c1; ++j) {
        const double d = dy[i * cols + j];
        sb[j - c0] += d;
        sg[j - c0] += d * ((x[i * cols + j] - m) * r);
      }
    }
    for (int64_t j = c0; j < c1; ++j) {
      d_gamma[j] = static_cast<float>(sg[j - c0]);
      d_beta[j] = static_cast<float>(sb[j - c0]);
    }
  });
}

void batch_norm_statistics(const float* x, int64_t rows, int64_t cols, const float* row_weight, double denominator,
                           float* mean, float* variance) {
  for_columns(cols, [&](int64_t c0, int64_t c1) {
    std::vector<double> s(c1 - c0, 0.0), q(c1 - c0, 0.0);
    for (int64_t i = 0; i < rows; ++i) {
      if (row_weight && row_weight[i] == 0.0f) continue;
      const double w = row_weight ? row_weight[i] : 1.0;
      for (int64_t j = c0; j < c1; ++j) s[j - c0] += w * x[i * cols + j];
    }
    for (int64_t j = c0; j < c1; ++j) s[j - c0] /= denominator;
    for (int64_t i = 0; i < rows; ++i) {
      if (row_weight && row_weight[i] == 0.0f) continue;
      const double w = row_weight ? row_weight[i] : 1.0;
      for (int64_t j = c0; j < c1; ++j) {
        const double d = x[i * cols + j] - s[j - c0];
        q[j - c0] += w * d * d;
      }
    }
    for (int64_t j = c0; j < c1; ++j) {
      mean[j] = static_cast<float>(s[j - c0]);
      variance[j] = static_cast<float>(q[j - c0] / denominator);
    }
  });
}

void batch_norm_forward(const float* x, int64_t rows, int64_t cols, const float* mean, const float* variance,
                        const float* gamma, const float* beta, float epsilon, float* y) {
  std::vector<float> scale(cols), shift(cols);
  for (int64_t j = 0; j < cols; ++j) {
    scale[j] = rsqrt_of(variance[j], epsilon) * (gamma ? gamma[j] : 1.0f);
    shift[j] = beta ? beta[j] : 0.0f;
  }
  for_rows(rows, [&](int64_t i) {
    const float* xr = x + i * cols;
    float* yr = y + i * cols;
    for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - mean[j]) * scale[j] + shift[j];
  });
}

void batch_norm_backward(const float* x, const float* dy, int64_t rows, int64_t cols, const float* row_weight,
                         double count, double denominator, const float* mean, const float* variance,
                         const float* gamma, float epsilon, float* dx, float* d_gamma, float* d_beta) {
  std::vector<float> r(cols);
  for (int64_t j = 0; j < cols; ++j) r[j] = rsqrt_of(variance[j], epsilon);
  for_columns(cols, [&](int64_t c0, int64_t c1) {
    std::vector<double> sg(c1 - c0, 0.0), sb(c1 - c0, 0.0);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = c0; j < c1; ++j) {
        const double d = dy[i * cols + j];
        sb[j - c0] += d;
        sg[j - c0] += d * ((x[i * cols + j] - mean[j]) * r[j]);
      }
    for (int64_t j = c0; j < c1; ++j) {
      d_gamma[j] = static_cast<float>(sg[j - c0]);
      d_beta[j] = static_cast<float>(sb[j - c0]);
    }
  });
  // dx = r·(γ·dy − w/S·A − w/S·x̂·B) + w·r²·B·mean·(S − W)/S², A = γ·Σdy, B = γ·Σdy·x̂.
  const double tail = (denominator - count) / (denominator * denominator);
  std::vector<float> a(cols), b(cols), t(cols);
  for (int64_t j = 0; j < cols; ++j) {
    const float g = gamma ? gamma[j] : 1.0f;
    a[j] = static_cast<float>(g * static_cast<double>(d_beta[j]) / denominator);
    b[j] = static_cast<float>(g * static_cast<double>(d_gamma[j]) / denominator);
    t[j] = static_cast<float>(static_cast<double>(r[j]) * r[j] * g * d_gamma[j] * mean[j] * tail);
  }
  for_rows(rows, [&](int64_t i) {
    const float w = row_weight ? row_weight[i] : 1.0f;
    const float* xr = x + i * cols;
    const float* dyr = dy + i * cols;
    float* dxr = dx + i * cols;
    for (int64_t j = 0; j < cols; ++j) {
      const float g = gamma ? gamma[j] : 1.0f;
      const float xh = (xr[j] - mean[j]) * r[j];
      dxr[j] = r[j] * (g * dyr[j] - w * (a[j] + xh * b[j])) + w * t[j];
    }
  });
}

}  // namespace rk::cpu
