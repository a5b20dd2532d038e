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

// ---- Shapes, merges and masks ----

namespace {

// A version 4 entry, or RNNKIT_UNSUPPORTED: the core does not route around a missing one.
template <typename Entry>
Entry require_entry(const Device& device, Entry entry, const char* name, const char* what) {
  if (!entry)
    throw Error(ErrorCode::Unsupported, std::string(what) + " is not supported on the " + device.name() +
                                            " device: it lacks the device entry '" + name + "'");
  return entry;
}

// The product of shape[begin, end): bounded, since the shape's element count is.
int64_t span(const Shape& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) n *= shape[i];
  return n;
}

void require_same_device(const std::vector<Tensor>& parts, const char* what) {
  for (const Tensor& p : parts)
    if (&p.device() != &parts.front().device())
      throw TypeError(std::string(what) + ": tensors are on different devices (" + parts.front().device().name() +
                      " and " + p.device().name() + ")");
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  const int64_t count = element_count(shape, "reshape: the target shape");
  if (count != x.size())
    throw RangeError("reshape: cannot reshape " + shape_string(x.shape) + " (" + std::to_string(x.size()) +
                     " values) into " + shape_string(shape) + " (" + std::to_string(count) + " values)");
  Tensor out = make_tensor(x.device(), shape);
  if (count > 0)
    x.device().check(x.device().ops().copy(out.data(), x.data(), static_cast<size_t>(count) * sizeof(float),
                                           RK_DEVICE_TO_DEVICE),
                     "copy");
  return out;
}

Tensor concat_axis(const std::vector<Tensor>& parts, int64_t axis) {
  if (parts.empty()) throw RangeError("concatenate: at least one tensor is required");
  require_same_device(parts, "concatenate");
  const Shape& first = parts.front().shape;
  const int64_t rank = static_cast<int64_t>(first.size());
  if (axis < 0 || axis >= rank)
    throw RangeError("concatenate: axis " + std::to_string(axis) + " is outside [0, " + std::to_string(rank) +
                     ") for shape " + shape_string(first));
  Shape shape = first;
  shape[axis] = 0;
  for (const Tensor& p : parts) {
    bool same = p.shape.size() == first.size();
    for (int64_t i = 0; same && i < rank; ++i) same = i == axis || p.shape[i] == first[i];
    if (!same)
      throw RangeError("concatenate: shapes " + shape_string(first) + " and " + shape_string(p.shape) +
                       " differ outside axis " + std::to_string(axis));
    shape[axis] += p.shape[axis];
  }
  Tensor out = make_tensor(parts.front().device(), shape);
  // Each part is a [outer, width] block of the output's [outer, total] rows.
  const int64_t outer = span(first, 0, static_cast<size_t>(axis));
  const int64_t inner = span(first, static_cast<size_t>(axis) + 1, first.size());
  const int64_t total = shape[axis] * inner;
  const Device& device = out.device();
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    const int64_t width = p.shape[axis] * inner;
    if (outer > 0 && width > 0)
      device.check(device.ops().copy_2d(p.data(), width, out.data() + offset, total, outer, width), "copy_2d");
    offset += width;
  }
  return out;
}

std::vector<Tensor> split_axis(const Tensor& x, int64_t axis, const std::vector<int64_t>& sizes) {
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  if (axis < 0 || axis >= rank)
    throw RangeError("split: axis " + std::to_string(axis) + " is outside [0, " + std::to_string(rank) +
                     ") for shape " + shape_string(x.shape));
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0 || s > x.shape[axis]) throw RangeError("split: sizes must be in [0, " + std::to_string(x.shape[axis]) + "]");
    sum += s;
  }
  if (sum != x.shape[axis])
    throw RangeError("split: sizes must sum to axis " + std::to_string(axis) + " of " + shape_string(x.shape) +
                     ", got " + std::to_string(sum));
  const int64_t outer = span(x.shape, 0, static_cast<size_t>(axis));
  const int64_t inner = span(x.shape, static_cast<size_t>(axis) + 1, x.shape.size());
  const int64_t total = x.shape[axis] * inner;
  const Device& device = x.device();
  std::vector<Tensor> out;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    Shape shape = x.shape;
    shape[axis] = s;
    Tensor part = make_tensor(device, shape);
    const int64_t width = s * inner;
    if (outer > 0 && width > 0)
      device.check(device.ops().copy_2d(x.data() + offset, total, part.data(), width, outer, width), "copy_2d");
    offset += width;
    out.push_back(std::move(part));
  }
  return out;
}

Tensor repeat_rows(const Tensor& x, int64_t n) {
  if (x.shape.size() != 2) throw RangeError("repeatVector: the input must be rank 2 [batch, features], got " + shape_string(x.shape));
  if (n < 1) throw RangeError("repeatVector: n must be a positive integer, got " + std::to_string(n));
  const Device& device = x.device();
  Tensor out = make_tensor(device, {x.shape[0], n, x.shape[1]});
  if (out.size() > 0)
    device.check(require_entry(device, device.ops().repeat_rows, "repeat_rows", "repeatVector")(
                     x.data(), x.shape[0], n, x.shape[1], out.data()),
                 "repeat_rows");
  return out;
}

Tensor sum_repeats(const Tensor& dy) {
  if (dy.shape.size() != 3) throw RangeError("repeatVector backward: dOutput must be rank 3, got " + shape_string(dy.shape));
  const Device& device = dy.device();
  const int64_t rows = dy.shape[0], repeats = dy.shape[1], width = dy.shape[2];
  if (repeats == 0) return make_zeros(device, {rows, width});
  Tensor out = make_tensor(device, {rows, width});
  if (out.size() > 0)
    device.check(require_entry(device, device.ops().sum_repeats, "sum_repeats", "repeatVector backward")(
                     dy.data(), rows, repeats, width, out.data()),
                 "sum_repeats");
  return out;
}

MaskedSteps mask_steps(const Tensor& x, float mask_value) {
  if (x.shape.size() != 3) throw RangeError("masking: the input must be rank 3 [batch, timesteps, features], got " + shape_string(x.shape));
  const Device& device = x.device();
  const int64_t rows = x.shape[0] * x.shape[1], width = x.shape[2];
  const auto differ = require_entry(device, device.ops().rows_differ, "rows_differ", "masking");
  const auto zero = require_entry(device, device.ops().mask_rows, "mask_rows", "masking");
  MaskedSteps result{make_tensor(device, x.shape), std::vector<uint8_t>(static_cast<size_t>(rows))};
  if (rows == 0) return result;
  DeviceBuffer valid(&device, static_cast<size_t>(rows));
  device.check(differ(x.data(), rows, width, mask_value, static_cast<uint8_t*>(valid.data())), "rows_differ");
  if (width > 0)
    device.check(zero(x.data(), rows, width, static_cast<const uint8_t*>(valid.data()), result.output.data()),
                 "mask_rows");
  // Synchronises: the bytes are on the host when copy returns.
  device.check(device.ops().copy(result.valid.data(), valid.data(), result.valid.size(), RK_DEVICE_TO_HOST), "copy");
  return result;
}

Tensor mask_rows(const Tensor& x, const std::vector<uint8_t>& valid) {
  if (x.shape.size() < 2) throw RangeError("mask: the tensor must be at least rank 2 [batch, timesteps, ...], got " + shape_string(x.shape));
  const int64_t rows = x.shape[0] * x.shape[1];
  if (static_cast<int64_t>(valid.size()) != rows)
    throw RangeError("mask: expected " + std::to_string(rows) + " steps for " + shape_string(x.shape) + ", got " +
                     std::to_string(valid.size()));
  const Device& device = x.device();
  const auto zero = require_entry(device, device.ops().mask_rows, "mask_rows", "masking backward");
  Tensor out = make_tensor(device, x.shape);
  if (out.size() == 0) return out;
  DeviceBuffer dev_valid(&device, valid.size());
  device.check(device.ops().copy(dev_valid.data(), valid.data(), valid.size(), RK_HOST_TO_DEVICE), "copy");
  device.check(zero(x.data(), rows, x.size() / rows, static_cast<const uint8_t*>(dev_valid.data()), out.data()),
               "mask_rows");
  return out;
}

namespace {

const char* merge_name(MergeKind kind) {
  return kind == MergeKind::Add ? "add" : kind == MergeKind::Multiply ? "multiply" : "average";
}

void require_mergeable(MergeKind kind, const std::vector<Tensor>& inputs) {
  if (inputs.empty()) throw RangeError(std::string(merge_name(kind)) + ": at least one tensor is required");
  for (const Tensor& t : inputs) require_same_shape(inputs.front(), t, merge_name(kind));
}

}  // namespace

Tensor merge(MergeKind kind, const std::vector<Tensor>& inputs) {
  require_mergeable(kind, inputs);
  const Tensor& first = inputs.front();
  if (inputs.size() == 1) return copy_of(first);
  const Device& device = first.device();
  const rk_device_ops& o = device.ops();
  Tensor out = make_tensor(device, first.shape);
  const size_t n = static_cast<size_t>(out.size());
  if (n == 0) return out;
  // In input order, accumulating into out (elementwise, so out may be an operand).
  if (kind == MergeKind::Multiply) {
    device.check(o.multiply(first.data(), inputs[1].data(), out.data(), n), "multiply");
    for (size_t i = 2; i < inputs.size(); ++i) device.check(o.multiply(out.data(), inputs[i].data(), out.data(), n), "multiply");
    return out;
  }
  device.check(o.axpby(1.0f, first.data(), 1.0f, inputs[1].data(), out.data(), n), "axpby");
  for (size_t i = 2; i < inputs.size(); ++i) device.check(o.axpby(1.0f, out.data(), 1.0f, inputs[i].data(), out.data(), n), "axpby");
  if (kind == MergeKind::Average)
    device.check(o.axpby(1.0f / static_cast<float>(inputs.size()), out.data(), 0.0f, nullptr, out.data(), n), "axpby");
  return out;
}

std::vector<Tensor> merge_backward(MergeKind kind, const std::vector<Tensor>& inputs, const Tensor& dy) {
  require_mergeable(kind, inputs);
  require_same_shape(inputs.front(), dy, (std::string(merge_name(kind)) + " backward").c_str());
  const Device& device = dy.device();
  std::vector<Tensor> grads;
  const size_t n = static_cast<size_t>(dy.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (kind == MergeKind::Add) {
      grads.push_back(copy_of(dy));
    } else if (kind == MergeKind::Average) {
      grads.push_back(scaled_copy(dy, 1.0f / static_cast<float>(inputs.size())));
    } else {
      // dy times the product of the other inputs (no division: inputs may be zero).
      Tensor g = copy_of(dy);
      for (size_t j = 0; j < inputs.size() && n > 0; ++j)
        if (j != i) device.check(device.ops().multiply(g.data(), inputs[j].data(), g.data(), n), "multiply");
      grads.push_back(std::move(g));
    }
  }
  return grads;
}

}  // namespace rk
