#include "training.h"

#include <string>

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

}  // namespace rk
