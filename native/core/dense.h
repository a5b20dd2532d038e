// A dense (fully connected) layer over the last axis: y = act(x·K + b), x [..., D],
// K [D, U] (the Keras kernel layout), b [U]; and its backward pass from the output.
#ifndef RNNKIT_CORE_DENSE_H
#define RNNKIT_CORE_DENSE_H

#include "tensor.h"

namespace rk {

Tensor dense_forward(const Tensor& x, const Tensor& kernel, const Tensor* bias, rk_activation activation);

struct DenseGradients {
  Tensor dx, dkernel, dbias;  // dbias only with a bias
};

// `y` is the forward output; the activation's derivative is taken from it.
DenseGradients dense_backward(const Tensor& x, const Tensor& kernel, bool has_bias, const Tensor& y,
                              const Tensor& dy, rk_activation activation);

}  // namespace rk

#endif
