// Tensor operations the layers compose: gradient clipping (Keras semantics) and the
// few elementwise and reshaping ops that bidirectional layers need. Each returns new
// tensors and leaves its inputs unchanged.
#ifndef RNNKIT_CORE_TENSOR_OPS_H
#define RNNKIT_CORE_TENSOR_OPS_H

#include <vector>

#include "tensor.h"

namespace rk {

// Elementwise clamp to [-clip_value, clip_value].
std::vector<Tensor> clip_by_value(const std::vector<Tensor>& grads, double clip_value);
// Each tensor on its own: g · c / max(‖g‖, c)  (Keras clipnorm).
std::vector<Tensor> clip_by_norm(const std::vector<Tensor>& grads, double clip_norm);
// All tensors as one vector: g · c / max(‖all‖, c); also returns ‖all‖.
std::vector<Tensor> clip_by_global_norm(const std::vector<Tensor>& grads, double clip_norm,
                                        double* global_norm);
double global_norm(const std::vector<Tensor>& tensors);

Tensor add(const Tensor& a, const Tensor& b);
Tensor multiply(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, float factor);
// Concatenates along the last axis; every other axis must match.
Tensor concat_last(const std::vector<Tensor>& parts);
// Splits the last axis into pieces of the given widths.
std::vector<Tensor> split_last(const Tensor& x, const std::vector<int64_t>& widths);
// [N,T,W]: sequence n's first lengths[n] steps reversed, the rest unchanged.
Tensor reverse_sequences(const Tensor& x, const std::vector<int32_t>& lengths);

}  // namespace rk

#endif
