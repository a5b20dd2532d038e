// Layer and batch normalization. Per-row work (layer norm) runs one thread per row and
// per-column sums (batch statistics, gamma/beta gradients) one thread per column walking
// the rows in order, as the CPU device adds them: no block-wide reductions, which the
// emulation could not run, and deterministic sums. Statistics accumulate in double.
#include "ops.h"

namespace rk::cuda {
namespace {

__device__ inline float rsqrt_of(double variance, float epsilon) {
  return static_cast<float>(1.0 / sqrt(variance + static_cast<double>(epsilon)));
}

__global__ void layer_norm_forward_kernel(const float* x, int64_t rows, int64_t cols, const float* gamma,
                                          const float* beta, float epsilon, float* y, float* mean, float* rstd) {
  RK_GRID_LOOP(i, rows) {
    const float* xr = x + static_cast<int64_t>(i) * cols;
    float* yr = y + static_cast<int64_t>(i) * cols;
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
  }
}

__global__ void layer_norm_dx_kernel(const float* x, const float* dy, int64_t rows, int64_t cols, const float* gamma,
                                     const float* mean, const float* rstd, float* dx) {
  RK_GRID_LOOP(i, rows) {
    const int64_t base = static_cast<int64_t>(i) * cols;
    const float m = mean[i], r = rstd[i];
    double a = 0.0, b = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      const double g = gamma ? static_cast<double>(dy[base + j]) * gamma[j] : dy[base + j];
      a += g;
      b += g * ((x[base + j] - m) * r);
    }
    const float am = static_cast<float>(a / static_cast<double>(cols));
    const float bm = static_cast<float>(b / static_cast<double>(cols));
    for (int64_t j = 0; j < cols; ++j) {
      const float g = gamma ? dy[base + j] * gamma[j] : dy[base + j];
      dx[base + j] = r * (g - am - (x[base + j] - m) * r * bm);
    }
  }
}

__global__ void layer_norm_params_kernel(const float* x, const float* dy, int64_t rows, int64_t cols,
                                         const float* mean, const float* rstd, float* d_gamma, float* d_beta) {
  RK_GRID_LOOP(j, cols) {
    double sg = 0.0, sb = 0.0;
    for (int64_t i = 0; i < rows; ++i) {
      const double d = dy[i * cols + j];
      sb += d;
      sg += d * ((x[i * cols + j] - mean[i]) * rstd[i]);
    }
    d_gamma[j] = static_cast<float>(sg);
    d_beta[j] = static_cast<float>(sb);
  }
}

__global__ void batch_norm_statistics_kernel(const float* x, int64_t rows, int64_t cols, const float* row_weight,
                                             double denominator, float* mean, float* variance) {
  RK_GRID_LOOP(j, cols) {
    double s = 0.0;
    for (int64_t i = 0; i < rows; ++i) {
      if (row_weight && row_weight[i] == 0.0f) continue;
      s += (row_weight ? static_cast<double>(row_weight[i]) : 1.0) * x[i * cols + j];
    }
    const double m = s / denominator;
    double q = 0.0;
    for (int64_t i = 0; i < rows; ++i) {
      if (row_weight && row_weight[i] == 0.0f) continue;
      const double d = x[i * cols + j] - m;
      q += (row_weight ? static_cast<double>(row_weight[i]) : 1.0) * d * d;
    }
    mean[j] = static_cast<float>(m);
    variance[j] = static_cast<float>(q / denominator);
  }
}

__global__ void batch_norm_forward_kernel(const float* x, int64_t rows, int64_t cols, const float* mean,
                                          const float* variance, const float* gamma, const float* beta, float epsilon,
                                          float* y) {
  RK_GRID_LOOP(i, rows * cols) {
    const int64_t j = static_cast<int64_t>(i) % cols;
    const float scale = rsqrt_of(variance[j], epsilon) * (gamma ? gamma[j] : 1.0f);
    y[i] = (x[i] - mean[j]) * scale + (beta ? beta[j] : 0.0f);
  }
}

__global__ void batch_norm_params_kernel(const float* x, const float* dy, int64_t rows, int64_t cols,
                                         const float* mean, const float* variance, float epsilon, float* d_gamma,
                                         float* d_beta) {
  RK_GRID_LOOP(j, cols) {
    const float r = rsqrt_of(variance[j], epsilon);
    double sg = 0.0, sb = 0.0;
    for (int64_t i = 0; i < rows; ++i) {
      const double d = dy[i * cols + j];
      sb += d;
      sg += d * ((x[i * cols + j] - mean[j]) * r);
    }
    d_gamma[j] = static_cast<float>(sg);
    d_beta[j] = static_cast<float>(sb);
  }
}

// dx = r·(γ·dy − w/S·A − w/S·x̂·B) + w·r²·B·mean·(S − W)/S², A = γ·Σdy, B = γ·Σdy·x̂:
// the same float operations as the CPU device.
__global__ void batch_norm_dx_kernel(const float* x, const float* dy, int64_t rows, int64_t cols,
                                     const float* row_weight, double count, double denominator, const float* mean,
                                     const float* variance, const float* gamma, float epsilon, const float* d_gamma,
                                     const float* d_beta, float* dx) {
  const double tail = (denominator - count) / (denominator * denominator);
  RK_GRID_LOOP(i, rows * cols) {
    const int64_t row = static_cast<int64_t>(i) / cols, j = static_cast<int64_t>(i) % cols;
    const float r = rsqrt_of(variance[j], epsilon);
    const float g = gamma ? gamma[j] : 1.0f;
    const float a = static_cast<float>(g * static_cast<double>(d_beta[j]) / denominator);
    const float b = static_cast<float>(g * static_cast<double>(d_gamma[j]) / denominator);
    const float t = static_cast<float>(static_cast<double>(r) * r * g * d_gamma[j] * mean[j] * tail);
    const float w = row_weight ? row_weight[row] : 1.0f;
    const float xh = (x[i] - mean[j]) * r;
    dx[i] = r * (g * dy[i] - w * (a + xh * b)) + w * t;
  }
}

}  // namespace

int layer_norm_forward(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                       float epsilon, float* y, float* mean, float* rstd) {
  RK_REQUIRE_READY();
  if (cols <= 0) return 0;
  return launch("layer_norm_forward", layer_norm_forward_kernel, elements(rows), x, rows, cols, gamma, beta, epsilon,
                y, mean, rstd);
}

int layer_norm_backward(const float* x, const float* dy, int64_t rows, int64_t cols, const float* gamma,
                        const float* mean, const float* rstd, float* dx, float* d_gamma, float* d_beta) {
  RK_REQUIRE_READY();
  if (cols <= 0) return 0;
  if (int st = launch("layer_norm_backward", layer_norm_dx_kernel, elements(rows), x, dy, rows, cols, gamma, mean,
                      rstd, dx))
    return st;
  return launch("layer_norm_backward (parameters)", layer_norm_params_kernel, elements(cols), x, dy, rows, cols, mean,
                rstd, d_gamma, d_beta);
}

int batch_norm_statistics(const float* x, int64_t rows, int64_t cols, const float* row_weight, double denominator,
                          float* mean, float* variance) {
  RK_REQUIRE_READY();
  return launch("batch_norm_statistics", batch_norm_statistics_kernel, elements(cols), x, rows, cols, row_weight,
                denominator, mean, variance);
}

int batch_norm_forward(const float* x, int64_t rows, int64_t cols, const float* mean, const float* variance,
                       const float* gamma, const float* beta, float epsilon, float* y) {
  RK_REQUIRE_READY();
  return launch("batch_norm_forward", batch_norm_forward_kernel, elements(rows, cols), x, rows, cols, mean, variance,
                gamma, beta, epsilon, y);
}

int batch_norm_backward(const float* x, const float* dy, int64_t rows, int64_t cols, const float* row_weight,
                        double count, double denominator, const float* mean, const float* variance, const float* gamma,
                        float epsilon, float* dx, float* d_gamma, float* d_beta) {
  RK_REQUIRE_READY();
  if (int st = launch("batch_norm_backward (parameters)", batch_norm_params_kernel, elements(cols), x, dy, rows, cols,
                      mean, variance, epsilon, d_gamma, d_beta))
    return st;
  return launch("batch_norm_backward", batch_norm_dx_kernel, elements(rows, cols), x, dy, rows, cols, row_weight,
                count, denominator, mean, variance, gamma, epsilon, static_cast<const float*>(d_gamma),
                static_cast<const float*>(d_beta), dx);
}

}  // namespace rk::cuda
