// Layers that act elementwise on x [..., C] without weights: Activation (the dense layers'
// activation entries with no bias) and SpatialDropout1D (the dropout entry's mask drawn
// per sample and channel, shared by every step).
#ifndef RNNKIT_CORE_POINTWISE_LAYERS_H
#define RNNKIT_CORE_POINTWISE_LAYERS_H

#include "tensor.h"

namespace rk {

// y = act(x); softmax over the last axis.
Tensor activation_forward(const Tensor& x, rk_activation activation);
// dx from the forward output y and dy.
Tensor activation_backward(const Tensor& y, const Tensor& dy, rk_activation activation);

struct SpatialDropoutResult {
  Tensor output;  // [N, T, C]
  Tensor mask;    // [N, C]: 0 or 1/(1 - rate), the dropout entry's draw for (seed, n·C + c)
};
// x [N, T, C]: channel c of sample n is dropped at every step or at none.
SpatialDropoutResult spatial_dropout(const Tensor& x, float rate, uint64_t seed);
// dx = dy · mask (broadcast over steps).
Tensor spatial_dropout_apply(const Tensor& x, const Tensor& mask);

}  // namespace rk

#endif
