#include "layout.h"

#include <algorithm>

#include "tensor_ops.h"


namespace rk {
namespace {

// canonical gate g is stored as gate order[g] of the format.
std::vector<int> gate_order(rk_cell_kind cell, WeightFormat format) {
  const bool gru = cell == RK_CELL_GRU_RESET_AFTER || cell == RK_CELL_GRU_RESET_BEFORE;
  switch (format) {
    case WeightFormat::Keras:
      if (cell == RK_CELL_LSTM) return {0, 1, 2, 3};
      if (gru) return {1, 0, 2};
      return {0};
    case WeightFormat::PyTorch:
      if (cell == RK_CELL_LSTM) return {0, 1, 2, 3};
      if (gru) return {0, 1, 2};
      return {0};
    case WeightFormat::Onnx:
      if (cell == RK_CELL_LSTM) return {0, 2, 3, 1};
      if (gru) return {1, 0, 2};
      return {0};
  }
  return {};
}

bool keras_split_bias(const RnnDesc& desc) { return desc.cell == RK_CELL_GRU_RESET_AFTER; }

// Rows of a [G·H, cols] gate-stacked matrix, reordered from `order` to canonical.
std::vector<float> gates_to_canonical(const std::vector<float>& src, int64_t H, int64_t cols,
                                      const std::vector<int>& order) {
  std::vector<float> dst(src.size());
  for (size_t g = 0; g < order.size(); ++g)
    for (int64_t i = 0; i < H * cols; ++i) dst[g * H * cols + i] = src[order[g] * H * cols + i];
  return dst;
}

std::vector<float> gates_from_canonical(const std::vector<float>& src, int64_t H, int64_t cols,
                                        const std::vector<int>& order) {
  std::vector<float> dst(src.size());
  for (size_t g = 0; g < order.size(); ++g)
    for (int64_t i = 0; i < H * cols; ++i) dst[order[g] * H * cols + i] = src[g * H * cols + i];
  return dst;
}

// dst[j·ldd + i] = src[i·lds + j] for i < rows, j < cols, in tiles that keep both sides in
// L1; full tiles have fixed trip counts so that the compiler unrolls them.
void transpose_block(const float* src, int64_t lds, int64_t rows, int64_t cols, float* dst, int64_t ldd) {
  constexpr int64_t kTile = 16;
  for (int64_t i0 = 0; i0 < rows; i0 += kTile)
    for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const float* s = src + i0 * lds + j0;
      float* d = dst + j0 * ldd + i0;
      if (i0 + kTile <= rows && j0 + kTile <= cols) {
        for (int64_t j = 0; j < kTile; ++j)
          for (int64_t i = 0; i < kTile; ++i) d[j * ldd + i] = s[i * lds + j];
      } else {
        for (int64_t j = 0; j < std::min(kTile, cols - j0); ++j)
          for (int64_t i = 0; i < std::min(kTile, rows - i0); ++i) d[j * ldd + i] = s[i * lds + j];
      }
    }
}

// A format's [cols, G·H] matrix (gate blocks in `order`) to the canonical [G·H, cols] one.
std::vector<float> transposed_to_canonical(const std::vector<float>& src, int64_t H, int64_t cols,
                                           const std::vector<int>& order) {
  const int64_t GH = static_cast<int64_t>(order.size()) * H;
  std::vector<float> dst(src.size());
  for (size_t g = 0; g < order.size(); ++g)
    transpose_block(src.data() + order[g] * H, GH, cols, H, dst.data() + g * H * cols, cols);
  return dst;
}

// The canonical [G·H, cols] matrix to a format's [cols, G·H] one.
std::vector<float> canonical_to_transposed(const std::vector<float>& src, int64_t H, int64_t cols,
                                           const std::vector<int>& order) {
  const int64_t GH = static_cast<int64_t>(order.size()) * H;
  std::vector<float> dst(src.size());
  for (size_t g = 0; g < order.size(); ++g)
    transpose_block(src.data() + g * H * cols, cols, H, cols, dst.data() + order[g] * H, GH);
  return dst;
}

std::vector<float> slice(const std::vector<float>& v, size_t begin, size_t count) {
  return std::vector<float>(v.begin() + begin, v.begin() + begin + count);
}

std::vector<float> concat(std::vector<float> a, const std::vector<float>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

WeightFormat parse_weight_format(const std::string& name) {
  if (name == "keras") return WeightFormat::Keras;
  if (name == "pytorch") return WeightFormat::PyTorch;
  if (name == "onnx") return WeightFormat::Onnx;
  throw TypeError("format must be 'keras', 'pytorch' or 'onnx', got '" + name + "'");
}

std::vector<FormatArray> format_arrays(const RnnDesc& desc, bool use_bias, WeightFormat format) {
  const int64_t D = desc.input_size, H = desc.hidden, GH = desc.gates() * H;
  std::vector<FormatArray> arrays;
  switch (format) {
    case WeightFormat::Keras:
      arrays = {{"kernel", {D, GH}}, {"recurrentKernel", {H, GH}}};
      if (use_bias) arrays.push_back({"bias", keras_split_bias(desc) ? Shape{2, GH} : Shape{GH}});
      break;
    case WeightFormat::PyTorch:
      arrays = {{"weight_ih", {GH, D}}, {"weight_hh", {GH, H}}};
      if (use_bias) {
        arrays.push_back({"bias_ih", {GH}});
        arrays.push_back({"bias_hh", {GH}});
      }
      break;
    case WeightFormat::Onnx:
      arrays = {{"W", {GH, D}}, {"R", {GH, H}}};
      if (use_bias) arrays.push_back({"B", {2 * GH}});
      break;
  }
  return arrays;
}

HostWeights to_canonical(const RnnDesc& desc, bool use_bias, WeightFormat format,
                         const std::vector<std::vector<float>>& arrays) {
  const auto expected = format_arrays(desc, use_bias, format);
  if (arrays.size() != expected.size())
    throw RangeError("weights: expected " + std::to_string(expected.size()) + " arrays, got " +
                     std::to_string(arrays.size()));
  for (size_t i = 0; i < arrays.size(); ++i)
    if (static_cast<int64_t>(arrays[i].size()) != element_count(expected[i].shape))
      throw RangeError("weights: " + expected[i].name + " must have shape " +
                       shape_string(expected[i].shape) + " (" +
                       std::to_string(element_count(expected[i].shape)) + " values), got " +
                       std::to_string(arrays[i].size()) + " values");

  const int64_t D = desc.input_size, H = desc.hidden, GH = desc.gates() * H;
  const auto order = gate_order(desc.cell, format);
  HostWeights out;
  switch (format) {
    case WeightFormat::Keras: {
      out.w = transposed_to_canonical(arrays[0], H, D, order);
      out.r = transposed_to_canonical(arrays[1], H, H, order);
      if (use_bias) {
        if (keras_split_bias(desc)) {
          out.bias_w = gates_to_canonical(slice(arrays[2], 0, GH), H, 1, order);
          out.bias_r = gates_to_canonical(slice(arrays[2], GH, GH), H, 1, order);
        } else {
          out.bias_w.assign(GH, 0.0f);
          out.bias_r = gates_to_canonical(arrays[2], H, 1, order);
        }
      }
      break;
    }
    case WeightFormat::PyTorch:
    case WeightFormat::Onnx: {
      out.w = gates_to_canonical(arrays[0], H, D, order);
      out.r = gates_to_canonical(arrays[1], H, H, order);
      if (use_bias) {
        const bool onnx = format == WeightFormat::Onnx;
        out.bias_w = gates_to_canonical(onnx ? slice(arrays[2], 0, GH) : arrays[2], H, 1, order);
        out.bias_r = gates_to_canonical(onnx ? slice(arrays[2], GH, GH) : arrays[3], H, 1, order);
      }
      break;
    }
  }
  return out;
}

std::vector<std::vector<float>> from_canonical(const RnnDesc& desc, WeightFormat format,
                                               const HostWeights& in) {
  const int64_t D = desc.input_size, H = desc.hidden, GH = desc.gates() * H;
  const auto order = gate_order(desc.cell, format);
  const bool use_bias = !in.bias_w.empty();
  std::vector<std::vector<float>> out;
  switch (format) {
    case WeightFormat::Keras: {
      out.push_back(canonical_to_transposed(in.w, H, D, order));
      out.push_back(canonical_to_transposed(in.r, H, H, order));
      if (use_bias) {
        const auto bw = gates_from_canonical(in.bias_w, H, 1, order);
        const auto br = gates_from_canonical(in.bias_r, H, 1, order);
        if (keras_split_bias(desc)) {
          out.push_back(concat(bw, br));
        } else {
          std::vector<float> sum(GH);
          for (int64_t i = 0; i < GH; ++i) sum[i] = bw[i] + br[i];
          out.push_back(std::move(sum));
        }
      }
      break;
    }
    case WeightFormat::PyTorch:
    case WeightFormat::Onnx: {
      out.push_back(gates_from_canonical(in.w, H, D, order));
      out.push_back(gates_from_canonical(in.r, H, H, order));
      if (use_bias) {
        auto bw = gates_from_canonical(in.bias_w, H, 1, order);
        auto br = gates_from_canonical(in.bias_r, H, 1, order);
        if (format == WeightFormat::Onnx) {
          out.push_back(concat(std::move(bw), br));
        } else {
          out.push_back(std::move(bw));
          out.push_back(std::move(br));
        }
      }
      break;
    }
  }
  return out;
}

namespace {

// Copies canonical gate blocks of `block` floats to their place in `order` (gates_from_canonical).
void gates_from_canonical_on_device(const Device& device, const float* src, int64_t block,
                                    const std::vector<int>& order, float* dst) {
  for (size_t g = 0; g < order.size(); ++g)
    device.check(device.ops().copy(dst + order[g] * block, src + g * block, block * sizeof(float), RK_DEVICE_TO_DEVICE),
                 "copy");
}

}  // namespace

std::vector<Tensor> from_canonical_on_device(const RnnDesc& desc, WeightFormat format,
                                             const std::vector<Tensor>& canonical, bool gradients) {
  if (canonical.size() != 2 && canonical.size() != 4) throw RangeError("canonical must hold 2 or 4 tensors");
  const Device& device = canonical[0].device();
  for (const Tensor& t : canonical)
    if (&t.device() != &device) throw TypeError("canonical: tensors are on different devices");
  const int64_t D = desc.input_size, H = desc.hidden, G = desc.gates(), GH = G * H;
  const bool use_bias = canonical.size() == 4;
  const int64_t sizes[] = {GH * D, GH * H, GH, GH};
  for (size_t i = 0; i < canonical.size(); ++i)
    if (canonical[i].size() != sizes[i]) throw RangeError("canonical tensors do not match the layer's sizes");
  const auto order = gate_order(desc.cell, format);
  const auto shapes = format_arrays(desc, use_bias, format);
  std::vector<Tensor> out;
  for (const FormatArray& a : shapes) out.push_back(make_tensor(device, a.shape));
  if (format == WeightFormat::Keras) {
    for (int64_t g = 0; g < G; ++g) {
      device_transpose_2d(device, canonical[0].data() + g * H * D, H, D, D, out[0].data() + order[g] * H, GH);
      device_transpose_2d(device, canonical[1].data() + g * H * H, H, H, H, out[1].data() + order[g] * H, GH);
    }
  } else {
    gates_from_canonical_on_device(device, canonical[0].data(), H * D, order, out[0].data());
    gates_from_canonical_on_device(device, canonical[1].data(), H * H, order, out[1].data());
  }
  if (!use_bias || GH == 0) return out;
  const float* bias_w = canonical[2].data();
  const float* bias_r = canonical[3].data();
  if (format == WeightFormat::PyTorch) {
    gates_from_canonical_on_device(device, bias_w, H, order, out[2].data());
    gates_from_canonical_on_device(device, bias_r, H, order, out[3].data());
  } else if (format == WeightFormat::Onnx || keras_split_bias(desc)) {
    gates_from_canonical_on_device(device, bias_w, H, order, out[2].data());
    gates_from_canonical_on_device(device, bias_r, H, order, out[2].data() + GH);
  } else {
    // One Keras bias: the sum of the two (weights) or bias_r's gradient alone.
    gates_from_canonical_on_device(device, bias_r, H, order, out[2].data());
    if (!gradients) {
      Tensor bw = make_tensor(device, {GH});
      gates_from_canonical_on_device(device, bias_w, H, order, bw.data());
      device.check(device.ops().axpby(1.0f, bw.data(), 1.0f, out[2].data(), out[2].data(), GH), "axpby");
    }
  }
  return out;
}

}  // namespace rk
