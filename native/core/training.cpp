#include "training.h"

#include <string>
#include <vector>

namespace rk {

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
  LossResult r{0.0, make_tensor(pred.device(), pred.shape)};
  pred.device().check(pred.device().ops().loss(kind, from_logits, pred.data(), target.data(), rows, cols,
                                               r.grad.data(), &r.value),
                      "loss");
  return r;
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

namespace {

// The ids on the host, checked to be class indices of the table.
void check_ids(const Tensor& ids, int64_t vocab) {
  std::vector<float> host(ids.size());
  if (!host.empty())
    ids.device().check(ids.device().ops().copy(host.data(), ids.data(), host.size() * sizeof(float), RK_DEVICE_TO_HOST), "copy");
  for (size_t i = 0; i < host.size(); ++i)
    if (!(host[i] >= 0) || host[i] >= static_cast<float>(vocab) || host[i] != static_cast<float>(static_cast<int64_t>(host[i])))
      throw RangeError("ids[" + std::to_string(i) + "] must be an integer in [0, " + std::to_string(vocab) + "), got " +
                       std::to_string(host[i]));
}

}  // namespace

Tensor embedding_forward(const Tensor& table, const Tensor& ids) {
  if (table.shape.size() != 2) throw RangeError("embeddings must be rank 2 [inputDim, outputDim]");
  if (&table.device() != &ids.device()) throw TypeError("embeddings and ids are on different devices");
  check_ids(ids, table.shape[0]);
  Shape shape = ids.shape;
  shape.push_back(table.shape[1]);
  Tensor out = make_tensor(table.device(), shape);
  if (ids.size() > 0)
    table.device().check(table.device().ops().embedding_forward(table.data(), ids.data(), out.data(), ids.size(), table.shape[1]),
                         "embedding_forward");
  return out;
}

Tensor embedding_backward(const Tensor& ids, const Tensor& d_out, const Shape& table_shape) {
  if (table_shape.size() != 2) throw RangeError("tableShape must be [inputDim, outputDim]");
  check_ids(ids, table_shape[0]);
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
