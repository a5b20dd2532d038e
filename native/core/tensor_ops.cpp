#include "tensor_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace rk {
namespace {

void require_same_shape(const Tensor& a, const Tensor& b, const char* what) {
  if (a.shape != b.shape)
    throw RangeError(std::string(what) + ": shapes must match, got " + shape_string(a.shape) +
                     " and " + shape_string(b.shape));
  if (&a.device() != &b.device()) throw TypeError(std::string(what) + ": tensors are on different devices");
}

Tensor scaled_copy(const Tensor& g, float factor) {
  Tensor out = make_tensor(g.device(), g.shape);
  if (g.size() > 0)
    g.device().check(g.device().ops().axpby(factor, g.data(), 0.0f, nullptr, out.data(), g.size()),
                     "axpby");
  return out;
}

double squared_norm(const Tensor& t) {
  double sum = 0.0;
  if (t.size() > 0) t.device().check(t.device().ops().sum_squares(t.data(), t.size(), &sum), "sum_squares");
  return sum;
}

// Keras's c / max(‖g‖, c), in double: a clip norm past float's range (1e39) or below it
// (1e-50, with zero gradients: 0/0) stays exact, and the factor is exactly 1 when no clipping
// is needed.
float clip_factor(double norm, double clip) {
  return norm <= clip ? 1.0f : static_cast<float>(clip / norm);
}

}  // namespace

std::vector<Tensor> clip_by_value(const std::vector<Tensor>& grads, double clip_value_in) {
  // A bound past float's range clamps nothing (casting it would be undefined behaviour).
  const float clip_value = clip_value_in >= static_cast<double>(std::numeric_limits<float>::max())
                               ? std::numeric_limits<float>::infinity()
                               : static_cast<float>(clip_value_in);
  std::vector<Tensor> out;
  for (const Tensor& g : grads) {
    Tensor c = make_tensor(g.device(), g.shape);
    if (g.size() > 0)
      g.device().check(g.device().ops().clamp(g.data(), -clip_value, clip_value, c.data(), g.size()),
                       "clamp");
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Tensor> clip_by_norm(const std::vector<Tensor>& grads, double clip_norm) {
  std::vector<Tensor> out;
  for (const Tensor& g : grads) out.push_back(scaled_copy(g, clip_factor(std::sqrt(squared_norm(g)), clip_norm)));
  return out;
}

double global_norm(const std::vector<Tensor>& tensors) {
  if (tensors.empty()) return 0.0;
  const Device& device = tensors.front().device();
  for (const Tensor& t : tensors)
    if (&t.device() != &device)
      throw TypeError("global norm: tensors are on different devices (" + device.name() + " and " +
                      t.device().name() + ")");
  double sum = 0.0;
  if (!device.ops().sum_squares_many) {
    for (const Tensor& t : tensors) sum += squared_norm(t);
    return std::sqrt(sum);
  }
  // One device reduction: one synchronisation per clip, not one per tensor.
  std::vector<const float*> xs;
  std::vector<size_t> counts;
  for (const Tensor& t : tensors)
    if (t.size() > 0) {
      xs.push_back(t.data());
      counts.push_back(t.size());
    }
  if (xs.size() > static_cast<size_t>(INT32_MAX)) throw RangeError("global norm: too many tensors");
  if (!xs.empty())
    device.check(device.ops().sum_squares_many(xs.data(), counts.data(), static_cast<int32_t>(xs.size()), &sum),
                 "sum_squares_many");
  return std::sqrt(sum);
}

std::vector<Tensor> clip_by_global_norm(const std::vector<Tensor>& grads, double clip_norm,
                                        double* norm_out) {
  const double norm = global_norm(grads);
  const float factor = clip_factor(norm, clip_norm);
  std::vector<Tensor> out;
  for (const Tensor& g : grads) out.push_back(scaled_copy(g, factor));
  if (norm_out) *norm_out = norm;
  return out;
}

Tensor add(const Tensor& a, const Tensor& b) {
  require_same_shape(a, b, "add");
  Tensor out = make_tensor(a.device(), a.shape);
  if (a.size() > 0)
    a.device().check(a.device().ops().axpby(1.0f, a.data(), 1.0f, b.data(), out.data(), a.size()), "axpby");
  return out;
}

Tensor multiply(const Tensor& a, const Tensor& b) {
  require_same_shape(a, b, "multiply");
  Tensor out = make_tensor(a.device(), a.shape);
  if (a.size() > 0)
    a.device().check(a.device().ops().multiply(a.data(), b.data(), out.data(), a.size()), "multiply");
  return out;
}

Tensor scale(const Tensor& a, float factor) { return scaled_copy(a, factor); }

Tensor concat_last(const std::vector<Tensor>& parts) {
  if (parts.empty()) throw RangeError("concat: at least one tensor is required");
  const Tensor& first = parts.front();
  if (first.shape.empty()) throw RangeError("concat: tensors must have rank >= 1");
  Shape shape = first.shape;
  const int64_t rows = first.size() / std::max<int64_t>(first.shape.back(), 1);
  int64_t width = 0;
  for (const Tensor& p : parts) {
    Shape lead(p.shape.begin(), p.shape.end() - (p.shape.empty() ? 0 : 1));
    Shape first_lead(first.shape.begin(), first.shape.end() - 1);
    if (p.shape.empty() || lead != first_lead)
      throw RangeError("concat: all but the last axis must match, got " + shape_string(first.shape) +
                       " and " + shape_string(p.shape));
    width += p.shape.back();
  }
  shape.back() = width;
  Tensor out = make_tensor(first.device(), shape);
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    const int64_t w = p.shape.back();
    if (rows > 0 && w > 0)
      first.device().check(first.device().ops().copy_2d(p.data(), w, out.data() + offset, width, rows, w),
                           "copy_2d");
    offset += w;
  }
  return out;
}

std::vector<Tensor> split_last(const Tensor& x, const std::vector<int64_t>& widths) {
  if (x.shape.empty()) throw RangeError("split: tensor must have rank >= 1");
  int64_t total = 0;
  for (int64_t w : widths) {
    if (w < 0) throw RangeError("split: widths must be non-negative");
    total += w;
  }
  if (total != x.shape.back())
    throw RangeError("split: widths must sum to the last axis (" + std::to_string(x.shape.back()) +
                     "), got " + std::to_string(total));
  const int64_t rows = total > 0 ? x.size() / total : 0;
  std::vector<Tensor> out;
  int64_t offset = 0;
  for (int64_t w : widths) {
    Shape shape = x.shape;
    shape.back() = w;
    Tensor part = make_tensor(x.device(), shape);
    if (rows > 0 && w > 0)
      x.device().check(x.device().ops().copy_2d(x.data() + offset, total, part.data(), w, rows, w), "copy_2d");
    offset += w;
    out.push_back(std::move(part));
  }
  return out;
}

Tensor reverse_sequences(const Tensor& x, const std::vector<int32_t>& lengths_in) {
  if (x.shape.size() != 3) throw RangeError("reverseSequences: x must be rank 3 [batch, timesteps, width]");
  const int64_t N = x.shape[0], T = x.shape[1], W = x.shape[2];
  std::vector<int32_t> lengths = lengths_in;
  if (lengths.empty()) lengths.assign(N, static_cast<int32_t>(T));
  if (static_cast<int64_t>(lengths.size()) != N)
    throw RangeError("lengths must have one entry per sequence (" + std::to_string(N) + ")");
  for (int32_t l : lengths)
    if (l < 0 || l > T) throw RangeError("lengths must be in [0, " + std::to_string(T) + "]");
  const Device& device = x.device();
  Tensor out = make_tensor(device, x.shape);
  if (out.size() == 0) return out;
  DeviceBuffer dev_len(&device, lengths.size() * sizeof(int32_t));
  device.check(device.ops().copy(dev_len.data(), lengths.data(), dev_len.bytes(), RK_HOST_TO_DEVICE), "copy");
  device.check(device.ops().reverse_valid_steps(x.data(), out.data(), N, T, W, dev_len.ints()),
               "reverse_valid_steps");
  return out;
}

void device_gather_rows(const Device& device, const float* src, int64_t row_width, const std::vector<int64_t>& indices,
                        float* dst) {
  const int64_t count = static_cast<int64_t>(indices.size());
  if (count == 0 || row_width == 0) return;
  const rk_device_ops& o = device.ops();
  if (o.gather_rows) {
    device.check(o.gather_rows(src, row_width, indices.data(), count, dst), "gather_rows");
    return;
  }
  // Runs of consecutive indices (a plain slice) are one copy each.
  for (int64_t i = 0; i < count;) {
    int64_t j = i + 1;
    while (j < count && indices[j] == indices[j - 1] + 1) ++j;
    device.check(o.copy(dst + i * row_width, src + indices[i] * row_width,
                        static_cast<size_t>((j - i) * row_width) * sizeof(float), RK_DEVICE_TO_DEVICE),
                 "copy");
    i = j;
  }
}

void device_transpose_2d(const Device& device, const float* src, int64_t rows, int64_t cols, int64_t src_pitch,
                         float* dst, int64_t dst_pitch) {
  if (rows <= 0 || cols <= 0) return;
  const rk_device_ops& o = device.ops();
  if (o.transpose_2d) {
    device.check(o.transpose_2d(src, rows, cols, src_pitch, dst, dst_pitch), "transpose_2d");
    return;
  }
  // Source row r becomes destination column r: `cols` rows of width 1, pitched.
  for (int64_t r = 0; r < rows; ++r)
    device.check(o.copy_2d(src + r * src_pitch, 1, dst + r, dst_pitch, cols, 1), "copy_2d");
}

Tensor gather_rows(const Tensor& x, const std::vector<int64_t>& indices) {
  if (x.shape.empty()) throw RangeError("gather rows: x must have a first axis");
  const int64_t n = x.shape[0];
  for (size_t i = 0; i < indices.size(); ++i)
    if (indices[i] < 0 || indices[i] >= n)
      throw RangeError("gather rows: indices[" + std::to_string(i) + "] = " + std::to_string(indices[i]) +
                       " is outside [0, " + std::to_string(n) + ")");
  Shape shape = x.shape;
  shape[0] = static_cast<int64_t>(indices.size());
  Tensor out = make_tensor(x.device(), shape);
  const int64_t width = n == 0 ? 0 : x.size() / n;
  if (out.size() > 0) device_gather_rows(x.device(), x.data(), width, indices, out.data());
  return out;
}

Tensor concat_rows(const std::vector<Tensor>& parts) {
  if (parts.empty()) throw RangeError("concat rows: no tensors");
  const Tensor& first = parts.front();
  if (first.shape.empty()) throw RangeError("concat rows: tensors must have a first axis");
  Shape shape = first.shape;
  shape[0] = 0;
  for (const Tensor& p : parts) {
    if (&p.device() != &first.device()) throw TypeError("concat rows: tensors are on different devices");
    if (p.shape.size() != first.shape.size() || !std::equal(p.shape.begin() + 1, p.shape.end(), first.shape.begin() + 1))
      throw RangeError("concat rows: shapes " + shape_string(first.shape) + " and " + shape_string(p.shape) +
                       " differ past the first axis");
    shape[0] += p.shape[0];
  }
  Tensor out = make_tensor(first.device(), shape);
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    if (p.size() > 0)
      first.device().check(first.device().ops().copy(out.data() + offset, p.data(), p.size() * sizeof(float),
                                                      RK_DEVICE_TO_DEVICE),
                           "copy");
    offset += p.size();
  }
  return out;
}

Tensor copy_to_device(const Tensor& x, const Device& device) {
  if (&x.device() == &device) return copy_of(x);
  Tensor out = make_tensor(device, x.shape);
  if (x.size() == 0) return out;
  std::vector<float> host(static_cast<size_t>(x.size()));
  x.device().check(x.device().ops().copy(host.data(), x.data(), host.size() * sizeof(float), RK_DEVICE_TO_HOST), "copy");
  device.check(device.ops().copy(out.data(), host.data(), host.size() * sizeof(float), RK_HOST_TO_DEVICE), "copy");
  return out;
}

}  // namespace rk
