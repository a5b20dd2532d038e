// A float32 tensor: a shared device buffer and a row-major shape. Shared ownership lets
// a saved forward pass (reserve space) keep its inputs alive after the caller lets go.
#ifndef RNNKIT_CORE_TENSOR_H
#define RNNKIT_CORE_TENSOR_H

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "device.h"

namespace rk {

using Shape = std::vector<int64_t>;

inline std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// The most elements a tensor or buffer may have: any product of its dimensions (and its
// byte count, with room for an 8-byte element) then fits in int64_t without overflow.
constexpr int64_t kMaxElements = std::numeric_limits<int64_t>::max() / 8;

// The product of `dims`, checked: RangeError naming `what` when a dimension is negative or
// the product of the non-zero dimensions passes kMaxElements. A zero dimension does not
// excuse the others (TensorFlow rejects [2^31-1, 2^31-1, 2^31-1, 0] too): then every
// partial product any caller forms from these dimensions is representable.
inline int64_t element_count(const Shape& dims, const char* what = "shape") {
  int64_t n = 1;
  bool zero = false;
  for (int64_t d : dims) {
    if (d < 0) throw RangeError(std::string(what) + " " + shape_string(dims) + " has a negative dimension");
    if (d == 0) {
      zero = true;
      continue;
    }
    if (n > kMaxElements / d)
      throw RangeError(std::string(what) + " " + shape_string(dims) +
                       " has too many elements: the product of its non-zero dimensions must be below 2^60");
    n *= d;
  }
  return zero ? 0 : n;
}

struct Tensor {
  std::shared_ptr<DeviceBuffer> buffer;
  Shape shape;

  int64_t size() const { return element_count(shape); }
  float* data() const { return buffer ? buffer->floats() : nullptr; }
  const Device& device() const { return *buffer->device(); }
  explicit operator bool() const { return static_cast<bool>(buffer); }
};

inline Tensor make_tensor(const Device& device, Shape shape) {
  const int64_t count = element_count(shape);
  return Tensor{std::make_shared<DeviceBuffer>(make_floats(device, static_cast<size_t>(count))), std::move(shape)};
}

inline Tensor make_zeros(const Device& device, Shape shape) {
  Tensor t = make_tensor(device, std::move(shape));
  if (t.size() > 0) device.check(device.ops().fill(t.data(), 0.0f, t.size()), "fill");
  return t;
}

inline Tensor copy_of(const Tensor& src) {
  Tensor t = make_tensor(src.device(), src.shape);
  if (t.size() > 0)
    src.device().check(src.device().ops().copy(t.data(), src.data(), t.size() * sizeof(float),
                                               RK_DEVICE_TO_DEVICE),
                       "copy");
  return t;
}

}  // namespace rk

#endif
