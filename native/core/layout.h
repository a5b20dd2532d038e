// Converting weights between the canonical layout (see rnn.h) and the layouts of
// Keras/TensorFlow.js, PyTorch and ONNX. Host-side: weights move rarely.
//
//   format   arrays (in this order)                            gate order
//   keras    kernel [D,G·H], recurrentKernel [H,G·H], bias      LSTM i,f,c,o  GRU z,r,h
//            bias: [G·H]; reset-after GRU [2,G·H] (input, recurrent)
//   pytorch  weight_ih [G·H,D], weight_hh [G·H,H], bias_ih, bias_hh   LSTM i,f,g,o  GRU r,z,n
//   onnx     W [G·H,D], R [G·H,H], B [2·G·H] (one direction)   LSTM i,o,f,c  GRU z,r,h
//
// A single Keras bias becomes the recurrent-side bias with a zero input-side bias;
// exporting to a single bias sums the two.
#ifndef RNNKIT_CORE_LAYOUT_H
#define RNNKIT_CORE_LAYOUT_H

#include <string>
#include <vector>

#include "rnn.h"
#include "tensor.h"

namespace rk {

enum class WeightFormat { Keras, PyTorch, Onnx };

WeightFormat parse_weight_format(const std::string& name);

struct HostWeights {
  std::vector<float> w, r, bias_w, bias_r;  // canonical; biases empty when absent
};

struct FormatArray {
  std::string name;
  Shape shape;
};

// The arrays a format holds for a layer, with their shapes.
std::vector<FormatArray> format_arrays(const RnnDesc& desc, bool use_bias, WeightFormat format);

// `arrays` in the order and shapes of format_arrays(); throws RangeError naming the array.
HostWeights to_canonical(const RnnDesc& desc, bool use_bias, WeightFormat format,
                         const std::vector<std::vector<float>>& arrays);
std::vector<std::vector<float>> from_canonical(const RnnDesc& desc, WeightFormat format,
                                               const HostWeights& weights);

// from_canonical on the device of `canonical` ([w, r] or [w, r, bias_w, bias_r]), in the
// shapes of format_arrays(). With `gradients`, a single Keras bias takes bias_r's gradient
// alone (the two canonical biases are one variable there), not the sum.
std::vector<Tensor> from_canonical_on_device(const RnnDesc& desc, WeightFormat format,
                                             const std::vector<Tensor>& canonical, bool gradients);

}  // namespace rk

#endif
