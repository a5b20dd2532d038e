#include "training.h"

#include <string>
#include <vector>

namespace rk {
namespace {

std::vector<float> host_values(const Tensor& t) {
  std::vector<float> host(t.size());
  if (!host.empty())
    t.device().check(t.device().ops().copy(host.data(), t.data(), host.size() * sizeof(float), RK_DEVICE_TO_HOST), "copy");
  return host;
}

// Checks that every value is an integer in [0, limit), naming `what` and the position.
void check_indices(const std::vector<float>& values, int64_t limit, const char* what) {
  for (size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (!(v >= 0) || v >= static_cast<float>(limit) || v != static_cast<float>(static_cast<int64_t>(v)))
      throw RangeError(std::string(what) + "[" + std::to_string(i) + "] must be an integer in [0, " + std::to_string(limit) +
                       "), got " + std::to_string(v));
  }
}

}  // namespace

LossResult compute_loss(rk_loss kind, bool from_logits, const Tensor& pred, const Tensor& target) {
  if (pred.shape.empty()) throw RangeError("yPred must have at least one axis");
  const bool sparse = kind == RK_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
  Shape expected = pred.shape;
  if (sparse) expected.pop_back();
  if (target.shape != expected)
    throw RangeError("yTrue must have shape " + shape_string(expected) + ", got " + shape_string(target.shape));
  if (&pred.device() != &target.device()) throw TypeError("yTrue and yPred are on different devices");
  const int64_t cols = pred.shape.back(), rows = cols > 0 ? pred.size() / cols : 0;
  if (rows == 0 || cols == 0) throw RangeError("yPred must not be empty");
  if (sparse) check_indices(host_values(target), cols, "yTrue");
  LossResult r{0.0, make_tensor(pred.device(), pred.shape)};
  pred.device().check(pred.device().ops().loss(kind, from_logits, pred.data(), target.data(), rows, cols,
                                               r.grad.data(), &r.value),
                      "loss");
  return r;
}

AccuracyCount count_correct(rk_loss kind, bool from_logits, const Tensor& pred, const Tensor& target) {
  const bool sparse = kind == RK_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
  const int64_t cols = pred.shape.empty() ? 0 : pred.shape.back(), rows = cols > 0 ? pred.size() / cols : 0;
  Shape expected = pred.shape;
  if (sparse) expected.pop_back();
  if (target.shape != expected)
    throw RangeError("yTrue must have shape " + shape_string(expected) + ", got " + shape_string(target.shape));
  const bool binary = kind == RK_LOSS_BINARY_CROSSENTROPY || cols == 1;
  int64_t correct = 0;
  if (rows > 0)
    pred.device().check(pred.device().ops().count_correct(pred.data(), target.data(), rows, cols, sparse, binary,
                                                         from_logits ? 0.0f : 0.5f, &correct),
                        "count_correct");
  return {correct, binary ? rows * cols : rows};
}

void apply_optimizer_step(rk_optimizer_step_args args, const Tensor& param, const Tensor& grad, const Tensor* slot0,
                          const Tensor* slot1) {
  if (grad.shape != param.shape)
    throw RangeError("gradient must have the weight's shape " + shape_string(param.shape) + ", got " +
                     shape_string(grad.shape));
  for (const Tensor* slot : {slot0, slot1})
    if (slot && slot->shape != param.shape) throw RangeError("optimizer state does not match the weight's shape");
  args.count = param.size();
  args.param = param.data();
  args.grad = grad.data();
  args.slot0 = slot0 ? slot0->data() : nullptr;
  args.slot1 = slot1 ? slot1->data() : nullptr;
  if (args.count > 0) param.device().check(param.device().ops().optimizer_step(&args), "optimizer_step");
}

EmbeddingResult embedding_forward(const Tensor& table, const Tensor& ids) {
  if (table.shape.size() != 2) throw RangeError("embeddings must be rank 2 [inputDim, outputDim]");
  if (&table.device() != &ids.device()) throw TypeError("embeddings and ids are on different devices");
  const std::vector<float> host = host_values(ids);
  check_indices(host, table.shape[0], "ids");
  EmbeddingResult r;
  // Right-padded sequences: each row's length is the position of its first 0 id.
  const int64_t steps = ids.shape.empty() ? 0 : ids.shape.back();
  const int64_t rows = steps > 0 ? ids.size() / steps : 0;
  for (int64_t n = 0; n < rows; ++n) {
    int64_t t = 0;
    while (t < steps && host[n * steps + t] != 0.0f) ++t;
    r.lengths.push_back(static_cast<int32_t>(t));
  }
  Shape shape = ids.shape;
  shape.push_back(table.shape[1]);
  r.output = make_tensor(table.device(), shape);
  if (ids.size() > 0)
    table.device().check(
        table.device().ops().embedding_forward(table.data(), ids.data(), r.output.data(), ids.size(), table.shape[1]),
        "embedding_forward");
  return r;
}

Tensor embedding_backward(const Tensor& ids, const Tensor& d_out, const Shape& table_shape) {
  if (table_shape.size() != 2) throw RangeError("tableShape must be [inputDim, outputDim]");
  check_indices(host_values(ids), table_shape[0], "ids");
  Shape expected = ids.shape;
  expected.push_back(table_shape[1]);
  if (d_out.shape != expected) throw RangeError("dOutput must have shape " + shape_string(expected) + ", got " + shape_string(d_out.shape));
  Tensor d_table = make_zeros(ids.device(), table_shape);
  if (ids.size() > 0)
    ids.device().check(ids.device().ops().embedding_backward(ids.data(), d_out.data(), d_table.data(), ids.size(), table_shape[1]),
                       "embedding_backward");
  return d_table;
}

DropoutResult dropout(const Tensor& x, float rate, uint64_t seed) {
  if (!(rate >= 0.0f && rate < 1.0f)) throw RangeError("rate must be in [0, 1)");
  DropoutResult r{make_tensor(x.device(), x.shape), make_tensor(x.device(), x.shape)};
  if (x.size() > 0)
    x.device().check(x.device().ops().dropout(x.data(), r.output.data(), r.mask.data(), x.size(), rate, seed), "dropout");
  return r;
}

}  // namespace rk
