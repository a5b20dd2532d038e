#include "normalization.h"

#include <string>

namespace rk {
namespace {

// Keras's backend epsilon, added to the weight sum of masked batch statistics.
constexpr double kMaskEpsilon = 1e-7;

// The op's entry, or RNNKIT_UNSUPPORTED naming the op and the device.
template <typename Entry>
Entry require(const Device& device, Entry entry, const char* op) {
  if (!entry)
    throw Error(ErrorCode::Unsupported,
                std::string(op) + " is not available on the " + device.name() + " device (its table lacks the entry)");
  return entry;
}

// Rows of x [..., C] (every axis but the last), checked.
int64_t rows_of(const Tensor& x, const char* what) {
  if (x.shape.size() < 2) throw RangeError(std::string(what) + " input must have a batch axis and a channel axis, got " + shape_string(x.shape));
  const int64_t C = x.shape.back();
  return C > 0 ? x.size() / C : 0;
}

void check_vector(const Tensor* t, const Tensor& x, int64_t C, const char* name) {
  if (!t) return;
  if (t->shape != Shape{C}) throw RangeError(std::string(name) + " must have shape [" + std::to_string(C) + "], got " + shape_string(t->shape));
  if (&t->device() != &x.device()) throw TypeError(std::string(name) + " and x are on different devices");
}

void check_same(const Tensor& a, const Tensor& b, const char* name) {
  if (a.shape != b.shape) throw RangeError(std::string(name) + " must have shape " + shape_string(b.shape) + ", got " + shape_string(a.shape));
  if (&a.device() != &b.device()) throw TypeError(std::string(name) + " and x are on different devices");
}

const float* data_or_null(const Tensor* t) { return t ? t->data() : nullptr; }

// Uploads per-row weights; checks their count. Returns an empty tensor for none.
Tensor upload_weights(const Device& device, const std::vector<float>& w, int64_t rows, double* count, double* denominator) {
  if (w.empty()) {
    *count = *denominator = static_cast<double>(rows);
    return Tensor{};
  }
  if (static_cast<int64_t>(w.size()) != rows)
    throw RangeError("the mask gives " + std::to_string(w.size()) + " row weights for " + std::to_string(rows) + " rows");
  double sum = 0.0;
  for (float v : w) sum += v;
  *count = sum;
  *denominator = sum + kMaskEpsilon;
  Tensor t = make_tensor(device, {rows});
  device.check(device.ops().copy(t.data(), w.data(), w.size() * sizeof(float), RK_HOST_TO_DEVICE), "copy");
  return t;
}

}  // namespace

LayerNormForward layer_norm_forward(const Tensor& x, const Tensor* gamma, const Tensor* beta, float epsilon,
                                    bool keep_statistics) {
  const int64_t rows = rows_of(x, "layer normalization"), C = x.shape.back();
  check_vector(gamma, x, C, "gamma");
  check_vector(beta, x, C, "beta");
  const Device& device = x.device();
  auto entry = require(device, device.ops().layer_norm_forward, "layer_norm_forward");
  LayerNormForward f;
  f.y = make_tensor(device, x.shape);
  if (keep_statistics) {
    f.mean = make_tensor(device, {rows});
    f.rstd = make_tensor(device, {rows});
  }
  if (rows == 0 || C == 0) return f;
  device.check(entry(x.data(), rows, C, data_or_null(gamma), data_or_null(beta), epsilon, f.y.data(),
                     keep_statistics ? f.mean.data() : nullptr, keep_statistics ? f.rstd.data() : nullptr),
               "layer_norm_forward");
  return f;
}

NormGradients layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor* gamma, const Tensor& mean,
                                  const Tensor& rstd) {
  const int64_t rows = rows_of(x, "layer normalization"), C = x.shape.back();
  check_same(dy, x, "dOutput");
  check_vector(gamma, x, C, "gamma");
  if (mean.shape != Shape{rows} || rstd.shape != Shape{rows}) throw RangeError("the saved statistics do not match x");
  const Device& device = x.device();
  auto entry = require(device, device.ops().layer_norm_backward, "layer_norm_backward");
  NormGradients g;
  g.dx = make_zeros(device, x.shape);
  g.dgamma = make_zeros(device, {C});
  g.dbeta = make_zeros(device, {C});
  if (rows == 0 || C == 0) return g;
  device.check(entry(x.data(), dy.data(), rows, C, data_or_null(gamma), mean.data(), rstd.data(), g.dx.data(),
                     g.dgamma.data(), g.dbeta.data()),
               "layer_norm_backward");
  return g;
}

Tensor batch_norm_inference(const Tensor& x, const Tensor* gamma, const Tensor* beta, const Tensor& moving_mean,
                            const Tensor& moving_variance, float epsilon) {
  const int64_t rows = rows_of(x, "batch normalization"), C = x.shape.back();
  check_vector(gamma, x, C, "gamma");
  check_vector(beta, x, C, "beta");
  check_vector(&moving_mean, x, C, "moving_mean");
  check_vector(&moving_variance, x, C, "moving_variance");
  const Device& device = x.device();
  auto entry = require(device, device.ops().batch_norm_forward, "batch_norm_forward");
  Tensor y = make_tensor(device, x.shape);
  if (rows == 0 || C == 0) return y;
  device.check(entry(x.data(), rows, C, moving_mean.data(), moving_variance.data(), data_or_null(gamma),
                     data_or_null(beta), epsilon, y.data()),
               "batch_norm_forward");
  return y;
}

BatchNormForward batch_norm_training(const Tensor& x, const Tensor* gamma, const Tensor* beta,
                                     const Tensor& moving_mean, const Tensor& moving_variance, float momentum,
                                     float epsilon, const std::vector<float>& row_weights) {
  const int64_t rows = rows_of(x, "batch normalization"), C = x.shape.back();
  check_vector(gamma, x, C, "gamma");
  check_vector(beta, x, C, "beta");
  check_vector(&moving_mean, x, C, "moving_mean");
  check_vector(&moving_variance, x, C, "moving_variance");
  if (rows == 0) throw RangeError("batch normalization in training needs at least one row (the batch is empty)");
  const Device& device = x.device();
  const rk_device_ops& o = device.ops();
  auto statistics = require(device, o.batch_norm_statistics, "batch_norm_statistics");
  auto forward = require(device, o.batch_norm_forward, "batch_norm_forward");
  double count = 0.0, denominator = 0.0;
  Tensor weights = upload_weights(device, row_weights, rows, &count, &denominator);
  BatchNormForward f;
  f.y = make_tensor(device, x.shape);
  f.mean = make_tensor(device, {C});
  f.variance = make_tensor(device, {C});
  if (C == 0) return f;
  device.check(statistics(x.data(), rows, C, weights ? weights.data() : nullptr, denominator, f.mean.data(),
                          f.variance.data()),
               "batch_norm_statistics");
  device.check(forward(x.data(), rows, C, f.mean.data(), f.variance.data(), data_or_null(gamma), data_or_null(beta),
                       epsilon, f.y.data()),
               "batch_norm_forward");
  const float keep = momentum, take = static_cast<float>(1.0 - static_cast<double>(momentum));
  device.check(o.axpby(keep, moving_mean.data(), take, f.mean.data(), moving_mean.data(), C), "axpby");
  device.check(o.axpby(keep, moving_variance.data(), take, f.variance.data(), moving_variance.data(), C), "axpby");
  return f;
}

NormGradients batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor* gamma, const Tensor& mean,
                                  const Tensor& variance, float epsilon, const std::vector<float>& row_weights) {
  const int64_t rows = rows_of(x, "batch normalization"), C = x.shape.back();
  check_same(dy, x, "dOutput");
  check_vector(gamma, x, C, "gamma");
  check_vector(&mean, x, C, "mean");
  check_vector(&variance, x, C, "variance");
  const Device& device = x.device();
  auto entry = require(device, device.ops().batch_norm_backward, "batch_norm_backward");
  double count = 0.0, denominator = 0.0;
  Tensor weights = upload_weights(device, row_weights, rows, &count, &denominator);
  NormGradients g;
  g.dx = make_zeros(device, x.shape);
  g.dgamma = make_zeros(device, {C});
  g.dbeta = make_zeros(device, {C});
  if (rows == 0 || C == 0) return g;
  device.check(entry(x.data(), dy.data(), rows, C, weights ? weights.data() : nullptr, count, denominator, mean.data(),
                     variance.data(), data_or_null(gamma), epsilon, g.dx.data(), g.dgamma.data(), g.dbeta.data()),
               "batch_norm_backward");
  return g;
}

}  // namespace rk
