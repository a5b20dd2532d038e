#include "layout.h"

#include <algorithm>


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

}  // namespace rk
