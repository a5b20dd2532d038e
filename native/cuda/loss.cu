// Losses (Keras's definitions, as the CPU device computes them) and accuracy counts. One
// thread per sample (row): the row's loss in double into a per-row buffer, its gradient
// into `grad`; the host then adds the row losses in row order, as the CPU does, so the
// mean is the same double up to the rounding of exp/log. Sparse labels that are not class
// indices raise a flag the host turns into the CPU device's error.
#include <string>
#include <vector>

#include "context.h"
#include "ops.h"

namespace rk::cuda {
namespace {

constexpr double kEpsilon = 1e-7;  // Keras clips probabilities to [eps, 1 - eps]

__device__ __host__ inline double clip_probability(double p) { return fmin(1.0 - kEpsilon, fmax(kEpsilon, p)); }

__device__ __host__ inline double log_sigmoid(double z) { return z >= 0 ? -log1p(exp(-z)) : z - log1p(exp(z)); }

// Where a bad sparse label goes: flag set, and one offending value to quote.
struct LabelError {
  int32_t flag;
  double value;
};

__global__ void loss_rows_kernel(int32_t kind, int32_t from_logits, const float* pred, const float* target, int64_t rows,
                                 int64_t cols, float* grad, double* row_loss, LabelError* bad) {
  RK_GRID_LOOP(r, rows) {
    const bool sparse = kind == RK_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    const float* p = pred + r * cols;
    const float* y = target + r * (sparse ? 1 : cols);
    float* g = grad + r * cols;
    const double scale = 1.0 / static_cast<double>(rows);
    double sum = 0.0;
    if (kind == RK_LOSS_MSE || kind == RK_LOSS_MAE) {
      for (int64_t j = 0; j < cols; ++j) {
        const double d = static_cast<double>(p[j]) - y[j];
        if (kind == RK_LOSS_MSE) {
          sum += d * d;
          g[j] = static_cast<float>(2.0 * d * scale / cols);
        } else {
          sum += fabs(d);
          g[j] = static_cast<float>((d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0) * scale / cols);
        }
      }
      row_loss[r] = sum / cols;
      continue;
    }
    if (kind == RK_LOSS_BINARY_CROSSENTROPY) {
      for (int64_t j = 0; j < cols; ++j) {
        const double t = y[j];
        if (from_logits) {
          const double z = p[j];
          sum += -(t * log_sigmoid(z) + (1.0 - t) * log_sigmoid(-z));
          g[j] = static_cast<float>((1.0 / (1.0 + exp(-z)) - t) * scale / cols);
        } else {
          const double q = clip_probability(p[j]);
          sum += -(t * log(q) + (1.0 - t) * log(1.0 - q));
          const bool clipped = p[j] <= kEpsilon || p[j] >= 1.0 - kEpsilon;  // zero gradient where clipped
          g[j] = clipped ? 0.0f : static_cast<float>((-t / q + (1.0 - t) / (1.0 - q)) * scale / cols);
        }
      }
      row_loss[r] = sum / cols;
      continue;
    }
    // Categorical: one distribution per row; the sparse target is a one-hot class index.
    int64_t label = -1;
    if (sparse) {
      const double c = y[0];
      if (!(c >= 0) || c >= cols || floor(c) != c) {
        bad->value = c;
        bad->flag = 1;
        row_loss[r] = 0.0;
        continue;
      }
      label = static_cast<int64_t>(c);
    }
    auto t_at = [&](int64_t j) -> double { return sparse ? (j == label ? 1.0 : 0.0) : static_cast<double>(y[j]); };
    if (from_logits) {
      double max = p[0];
      for (int64_t j = 1; j < cols; ++j) max = fmax(max, static_cast<double>(p[j]));
      double z = 0.0;
      for (int64_t j = 0; j < cols; ++j) z += exp(p[j] - max);
      const double log_z = log(z) + max;
      double mass = 0.0;
      for (int64_t j = 0; j < cols; ++j) mass += t_at(j);
      for (int64_t j = 0; j < cols; ++j) {
        sum += -t_at(j) * (p[j] - log_z);
        g[j] = static_cast<float>((mass * exp(p[j] - log_z) - t_at(j)) * scale);
      }
    } else {
      // Keras normalises the probabilities to sum 1, then clips them; the gradient goes
      // back through the normalisation: dL/dp_j = (dq_j - Σ_k dq_k q_k) / Σp.
      double total = 0.0;
      for (int64_t j = 0; j < cols; ++j) total += p[j];
      double dot = 0.0;
      for (int64_t j = 0; j < cols; ++j) {
        const double raw = p[j] / total;
        const double q = clip_probability(raw);
        sum += -t_at(j) * log(q);
        const double dq = (raw <= kEpsilon || raw >= 1.0 - kEpsilon) ? 0.0 : -t_at(j) / q;
        dot += dq * raw;
      }
      for (int64_t j = 0; j < cols; ++j) {
        const double raw = p[j] / total;
        const double dq = (raw <= kEpsilon || raw >= 1.0 - kEpsilon) ? 0.0 : -t_at(j) / clip_probability(raw);
        g[j] = static_cast<float>((dq - dot) / total * scale);
      }
    }
    row_loss[r] = sum;
  }
}

// The first maximum of a row, as std::max_element.
__device__ __host__ inline int64_t argmax(const float* v, int64_t cols) {
  int64_t best = 0;
  for (int64_t j = 1; j < cols; ++j)
    if (v[best] < v[j]) best = j;
  return best;
}

__global__ void count_binary_kernel(const float* pred, const float* target, size_t count, float threshold,
                                    unsigned long long* correct) {
  RK_GRID_LOOP(i, count) {
    if ((pred[i] > threshold) == (target[i] > 0.5f)) atomicAdd(correct, 1ull);
  }
}

__global__ void count_argmax_kernel(const float* pred, const float* target, int64_t rows, int64_t cols, int32_t sparse,
                                    unsigned long long* correct) {
  RK_GRID_LOOP(r, rows) {
    const int64_t label = sparse ? static_cast<int64_t>(target[r]) : argmax(target + r * cols, cols);
    if (argmax(pred + r * cols, cols) == label) atomicAdd(correct, 1ull);
  }
}

}  // namespace

int loss(int32_t kind, int32_t from_logits, const float* pred, const float* target, int64_t rows, int64_t cols,
         float* grad, double* host_loss) {
  RK_REQUIRE_READY();
  *host_loss = 0.0;
  if (rows <= 0 || cols <= 0) return 0;
  Scratch row_loss(context().allocator, static_cast<size_t>(rows) * sizeof(double));
  Scratch bad(context().allocator, sizeof(LabelError));
  if (!row_loss || !bad) return fail("loss: " + (row_loss ? bad.error() : row_loss.error()));
  RK_CUDA_TRY(cudaMemsetAsync(bad.as<void>(), 0, sizeof(LabelError), stream()), "loss");
  if (int s = launch("loss", loss_rows_kernel, elements(rows), kind, from_logits, pred, target, rows, cols,
                     grad, row_loss.as<double>(), bad.as<LabelError>()))
    return s;
  std::vector<double> host(rows);
  LabelError host_bad{};
  RK_CUDA_TRY(cudaMemcpyAsync(host.data(), row_loss.as<double>(), host.size() * sizeof(double), cudaMemcpyDeviceToHost,
                              stream()),
              "loss (copy)");
  RK_CUDA_TRY(cudaMemcpyAsync(&host_bad, bad.as<void>(), sizeof host_bad, cudaMemcpyDeviceToHost, stream()),
              "loss (copy)");
  RK_CUDA_TRY(cudaStreamSynchronize(stream()), "loss (synchronize)");
  if (host_bad.flag)
    return fail("labels must be class indices in [0, " + std::to_string(cols) + "), got " +
                std::to_string(host_bad.value));
  double total = 0.0;
  for (double v : host) total += v;
  *host_loss = total / static_cast<double>(rows);
  return 0;
}

int count_correct(const float* pred, const float* target, int64_t rows, int64_t cols, int32_t sparse, int32_t binary,
                  float threshold, int64_t* host_correct) {
  RK_REQUIRE_READY();
  *host_correct = 0;
  if (rows <= 0 || cols <= 0) return 0;
  Scratch counter(context().allocator, sizeof(unsigned long long));
  if (!counter) return fail("count_correct: " + counter.error());
  RK_CUDA_TRY(cudaMemsetAsync(counter.as<void>(), 0, sizeof(unsigned long long), stream()), "count_correct");
  int s = (binary || cols == 1)
              ? launch("count_correct", count_binary_kernel, elements(rows, cols), pred, target,
                       elements(rows, cols), threshold, counter.as<unsigned long long>())
              : launch("count_correct", count_argmax_kernel, elements(rows), pred, target, rows, cols, sparse,
                       counter.as<unsigned long long>());
  if (s) return s;
  unsigned long long host = 0;
  RK_CUDA_TRY(cudaMemcpyAsync(&host, counter.as<void>(), sizeof host, cudaMemcpyDeviceToHost, stream()),
              "count_correct (copy)");
  RK_CUDA_TRY(cudaStreamSynchronize(stream()), "count_correct (synchronize)");
  *host_correct = static_cast<int64_t>(host);
  return 0;
}

}  // namespace rk::cuda
