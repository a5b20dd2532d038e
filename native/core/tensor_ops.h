// Tensor operations the layers compose: gradient clipping (Keras semantics) and the
// few elementwise and reshaping ops that bidirectional layers need. Each returns new
// tensors and leaves its inputs unchanged.
#ifndef RNNKIT_CORE_TENSOR_OPS_H
#define RNNKIT_CORE_TENSOR_OPS_H

#include <cstdint>
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

// Moving data on one device (ABI v3 gather_rows / transpose_2d, or the core's fallbacks
// through copy and copy_2d when a device lacks them): nothing crosses to the host.
// dst row i = src row indices[i], rows of row_width floats; the caller checked the indices.
void device_gather_rows(const Device& device, const float* src, int64_t row_width, const std::vector<int64_t>& indices,
                        float* dst);
// dst[c·dst_pitch + r] = src[r·src_pitch + c] for r < rows, c < cols.
void device_transpose_2d(const Device& device, const float* src, int64_t rows, int64_t cols, int64_t src_pitch,
                         float* dst, int64_t dst_pitch);

// The samples (first-axis rows) of x at `indices`, in that order; RangeError for an index
// outside [0, N).
Tensor gather_rows(const Tensor& x, const std::vector<int64_t>& indices);
// Concatenates along the first axis; every other axis and the device must match.
Tensor concat_rows(const std::vector<Tensor>& parts);
// A copy of x on `device` (the same device: a copy there too). Between devices the values
// pass through host memory: that is what a move is.
Tensor copy_to_device(const Tensor& x, const Device& device);

// Shapes, merges and masks: the weightless layers Flatten, Reshape, RepeatVector, Masking,
// Concatenate, Add, Multiply and Average. Entries a device lacks (device_abi.h version 4)
// raise RNNKIT_UNSUPPORTED naming the entry and the device.

// A copy of x with another shape of the same element count (RangeError naming both).
Tensor reshape(const Tensor& x, const Shape& shape);
// Concatenates along `axis` (0 <= axis < rank); every other axis and the device must match.
Tensor concat_axis(const std::vector<Tensor>& parts, int64_t axis);
// Splits `axis` into pieces of the given sizes (concat_axis' gradient).
std::vector<Tensor> split_axis(const Tensor& x, int64_t axis, const std::vector<int64_t>& sizes);
// [N, C] -> [N, n, C], each row repeated n times.
Tensor repeat_rows(const Tensor& x, int64_t n);
// [N, n, C] -> [N, C], the n copies summed (repeat_rows' gradient).
Tensor sum_repeats(const Tensor& dy);

// Masking over [N, T, C]: a step is valid when some feature differs from mask_value; the
// output is x with the other steps zeroed, and `valid` has one 0/1 byte per step (N·T).
struct MaskedSteps {
  Tensor output;
  std::vector<uint8_t> valid;
};
MaskedSteps mask_steps(const Tensor& x, float mask_value);
// x [N, T, ...] with the steps whose `valid` byte (N·T of them) is 0 zeroed.
Tensor mask_rows(const Tensor& x, const std::vector<uint8_t>& valid);

// Elementwise merges of two or more tensors of one shape: the sum, the product, the mean.
enum class MergeKind { Add, Multiply, Average };
Tensor merge(MergeKind kind, const std::vector<Tensor>& inputs);
// One gradient per input for the output gradient dy.
std::vector<Tensor> merge_backward(MergeKind kind, const std::vector<Tensor>& inputs, const Tensor& dy);

}  // namespace rk

#endif
