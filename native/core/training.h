// Losses and optimizer steps on a device: the pieces a training loop runs per batch.
#ifndef RNNKIT_CORE_TRAINING_H
#define RNNKIT_CORE_TRAINING_H

#include <vector>

#include "tensor.h"

namespace rk {

struct LossResult {
  double value;  // mean over samples
  Tensor grad;   // with respect to the prediction
};

// pred [..., C]; target of the same shape, or [...] class indices for the sparse loss.
LossResult compute_loss(rk_loss kind, bool from_logits, const Tensor& pred, const Tensor& target);

// Updates `param` in place (and the optimizer's slots) from `grad`; `args` carries the
// kind and hyper-parameters, the pointers are filled in here.
void apply_optimizer_step(rk_optimizer_step_args args, const Tensor& param, const Tensor& grad, const Tensor* slot0,
                          const Tensor* slot1);

// Correct predictions and how many were judged (Keras accuracy for `kind`; binary losses
// and one-column outputs threshold at 0.5, or 0 for logits).
struct AccuracyCount {
  int64_t correct, total;
};
AccuracyCount count_correct(rk_loss kind, bool from_logits, const Tensor& pred, const Tensor& target);

// table [vocab, dim]; ids [...] integral values in [0, vocab) (RangeError otherwise).
struct EmbeddingResult {
  Tensor output;                 // [..., dim]
  std::vector<int32_t> lengths;  // per row of ids: the position of its first 0 id
};
EmbeddingResult embedding_forward(const Tensor& table, const Tensor& ids);
Tensor embedding_backward(const Tensor& ids, const Tensor& d_out, const Shape& table_shape);

struct DropoutResult {
  Tensor output, mask;
};
DropoutResult dropout(const Tensor& x, float rate, uint64_t seed);

}  // namespace rk

#endif
