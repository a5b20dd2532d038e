#include "training.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "../core/optimizer_math.h"
#include "thread_pool.h"

namespace rk::cpu {
namespace {

// Keras clips probabilities to [eps, 1 - eps] before taking logs.
constexpr double kEpsilon = 1e-7;

double clip_probability(double p) { return std::min(1.0 - kEpsilon, std::max(kEpsilon, p)); }

// log(sigmoid(z)) without overflow.
double log_sigmoid(double z) { return z >= 0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z)); }

// One sample (row): its loss and, scaled by `scale`, the gradient of that loss.
double row_loss(int32_t kind, bool from_logits, const float* p, const float* y, int64_t cols, double scale, float* g) {
  double sum = 0.0;
  switch (kind) {
    case RK_LOSS_MSE:
      for (int64_t j = 0; j < cols; ++j) {
        const double d = static_cast<double>(p[j]) - y[j];
        sum += d * d;
        g[j] = static_cast<float>(2.0 * d * scale / cols);
      }
      return sum / cols;
    case RK_LOSS_MAE:
      for (int64_t j = 0; j < cols; ++j) {
        const double d = static_cast<double>(p[j]) - y[j];
        sum += std::fabs(d);
        g[j] = static_cast<float>((d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0) * scale / cols);
      }
      return sum / cols;
    case RK_LOSS_BINARY_CROSSENTROPY:
      for (int64_t j = 0; j < cols; ++j) {
        const double t = y[j];
        if (from_logits) {
          const double z = p[j];
          sum += -(t * log_sigmoid(z) + (1.0 - t) * log_sigmoid(-z));
          g[j] = static_cast<float>((1.0 / (1.0 + std::exp(-z)) - t) * scale / cols);
        } else {
          const double q = clip_probability(p[j]);
          sum += -(t * std::log(q) + (1.0 - t) * std::log(1.0 - q));
          // Zero where the clip is active, as the gradient of Keras's clipped expression.
          const bool clipped = p[j] <= kEpsilon || p[j] >= 1.0 - kEpsilon;
          g[j] = clipped ? 0.0f : static_cast<float>((-t / q + (1.0 - t) / (1.0 - q)) * scale / cols);
        }
      }
      return sum / cols;
    default: {  // categorical, sparse or not: one distribution per row
      std::vector<double> target(cols, 0.0);
      if (kind == RK_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) {
        const double c = y[0];
        if (!(c >= 0) || c >= cols || std::floor(c) != c)
          throw RangeError("labels must be class indices in [0, " + std::to_string(cols) + "), got " + std::to_string(c));
        target[static_cast<int64_t>(c)] = 1.0;
      } else {
        for (int64_t j = 0; j < cols; ++j) target[j] = y[j];
      }
      if (from_logits) {
        double max = p[0];
        for (int64_t j = 1; j < cols; ++j) max = std::max(max, static_cast<double>(p[j]));
        double z = 0.0;
        for (int64_t j = 0; j < cols; ++j) z += std::exp(p[j] - max);
        const double log_z = std::log(z) + max;
        double mass = 0.0;
        for (int64_t j = 0; j < cols; ++j) mass += target[j];
        for (int64_t j = 0; j < cols; ++j) {
          sum += -target[j] * (p[j] - log_z);
          g[j] = static_cast<float>((mass * std::exp(p[j] - log_z) - target[j]) * scale);
        }
      } else {
        // Keras normalises the probabilities to sum 1, then clips them.
        double total = 0.0;
        for (int64_t j = 0; j < cols; ++j) total += p[j];
        double dot = 0.0;  // Σ t_j / q_j · q_j/total terms for the normalisation's gradient
        std::vector<double> dq(cols);
        for (int64_t j = 0; j < cols; ++j) {
          const double raw = p[j] / total;
          const double q = clip_probability(raw);
          sum += -target[j] * std::log(q);
          dq[j] = (raw <= kEpsilon || raw >= 1.0 - kEpsilon) ? 0.0 : -target[j] / q;
          dot += dq[j] * raw;
        }
        // q = p / Σp: ∂L/∂p_j = (dq_j - Σ_k dq_k q_k) / Σp
        for (int64_t j = 0; j < cols; ++j) g[j] = static_cast<float>((dq[j] - dot) / total * scale);
      }
      return sum;
    }
  }
}

}  // namespace

double loss(int32_t kind, bool from_logits, const float* pred, const float* target, int64_t rows, int64_t cols,
            float* grad) {
  const bool sparse = kind == RK_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
  const double scale = 1.0 / static_cast<double>(rows);
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r)
    total += row_loss(kind, from_logits, pred + r * cols, target + r * (sparse ? 1 : cols), cols, scale, grad + r * cols);
  return total * scale;
}

void optimizer_step(const rk_optimizer_step_args& a) {
  const float lr_t = a.kind == RK_OPT_ADAM ? adam_step_size(a) : 0.0f;
  ThreadPool::instance().run([&](int index, int count) {
    const Range r = split_range(a.count, 16, index, count);
    switch (a.kind) {
      case RK_OPT_SGD:
        for (int64_t i = r.begin; i < r.end; ++i) sgd_update(a, i);
        break;
      case RK_OPT_ADAM:
        for (int64_t i = r.begin; i < r.end; ++i) adam_update(a, lr_t, i);
        break;
      default:
        for (int64_t i = r.begin; i < r.end; ++i) rmsprop_update(a, i);
        break;
    }
  });
}

int64_t count_correct(const float* pred, const float* target, int64_t rows, int64_t cols, bool sparse, bool binary,
                      float threshold) {
  int64_t correct = 0;
  if (binary || cols == 1) {
    for (int64_t i = 0; i < rows * cols; ++i) correct += (pred[i] > threshold) == (target[i] > 0.5f);
    return correct;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = pred + r * cols;
    const int64_t best = std::max_element(p, p + cols) - p;
    int64_t label = 0;
    if (sparse) {
      label = static_cast<int64_t>(target[r]);
    } else {
      const float* t = target + r * cols;
      label = std::max_element(t, t + cols) - t;
    }
    correct += best == label;
  }
  return correct;
}

void embedding_forward(const float* table, const float* ids, float* out, int64_t rows, int64_t dim) {
  ThreadPool::instance().run([&](int index, int count) {
    const Range r = split_range(rows, 1, index, count);
    for (int64_t i = r.begin; i < r.end; ++i) {
      const float* src = table + static_cast<int64_t>(ids[i]) * dim;
      std::copy(src, src + dim, out + i * dim);
    }
  });
}

// Serial: two rows with the same id add into the same table row.
void embedding_backward(const float* ids, const float* d_out, float* d_table, int64_t rows, int64_t dim) {
  for (int64_t i = 0; i < rows; ++i) {
    float* dst = d_table + static_cast<int64_t>(ids[i]) * dim;
    const float* src = d_out + i * dim;
    for (int64_t j = 0; j < dim; ++j) dst[j] += src[j];
  }
}

namespace {
// SplitMix64 of (seed, index): a uniform double in [0, 1), the same on every device.
double uniform_at(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}
}  // namespace

void dropout(const float* x, float* y, float* mask, size_t count, float rate, uint64_t seed) {
  const float keep = 1.0f / (1.0f - rate);
  ThreadPool::instance().run([&](int index, int threads) {
    const Range r = split_range(static_cast<int64_t>(count), 1024, index, threads);
    for (int64_t i = r.begin; i < r.end; ++i) {
      mask[i] = uniform_at(seed, static_cast<uint64_t>(i)) < rate ? 0.0f : keep;
      y[i] = x[i] * mask[i];
    }
  });
}

}  // namespace rk::cpu
