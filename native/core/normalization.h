// Layer and batch normalization over the last axis of x [..., C] (Keras semantics), and
// their backward passes, written once against the device ABI ("Normalization" entries).
#ifndef RNNKIT_CORE_NORMALIZATION_H
#define RNNKIT_CORE_NORMALIZATION_H

#include <vector>

#include "tensor.h"

namespace rk {

// gamma and beta: [C] or null (scale / center off).
struct LayerNormForward {
  Tensor y;
  Tensor mean, rstd;  // [rows] per row of x, kept only with keep_statistics
};
LayerNormForward layer_norm_forward(const Tensor& x, const Tensor* gamma, const Tensor* beta, float epsilon,
                                    bool keep_statistics);

struct NormGradients {
  Tensor dx, dgamma, dbeta;  // dgamma, dbeta: [C], always computed
};
NormGradients layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor* gamma, const Tensor& mean,
                                  const Tensor& rstd);

// Inference: normalized with the moving statistics.
Tensor batch_norm_inference(const Tensor& x, const Tensor* gamma, const Tensor* beta, const Tensor& moving_mean,
                            const Tensor& moving_variance, float epsilon);

struct BatchNormForward {
  Tensor y;
  Tensor mean, variance;  // the batch statistics [C] the output was normalized with
};
// Training: normalized with the batch statistics over every row of x (weighted by
// `row_weights`, one 0/1 per row of x, or empty: all rows), and the moving statistics
// updated in place: moving = moving·momentum + batch·(1 − momentum) (biased variance).
BatchNormForward batch_norm_training(const Tensor& x, const Tensor* gamma, const Tensor* beta,
                                     const Tensor& moving_mean, const Tensor& moving_variance, float momentum,
                                     float epsilon, const std::vector<float>& row_weights);
// The backward of batch_norm_training, through the batch statistics.
NormGradients batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor* gamma, const Tensor& mean,
                                  const Tensor& variance, float epsilon, const std::vector<float>& row_weights);

}  // namespace rk

#endif
