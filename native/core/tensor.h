// A float32 tensor: a shared device buffer and a row-major shape. Shared ownership lets
// a saved forward pass (reserve space) keep its inputs alive after the caller lets go.
#ifndef RNNKIT_CORE_TENSOR_H
#define RNNKIT_CORE_TENSOR_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "device.h"

namespace rk {

using Shape = std::vector<int64_t>;

inline int64_t element_count(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

inline std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
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
  return Tensor{std::make_shared<DeviceBuffer>(&device, static_cast<size_t>(count) * sizeof(float)),
                std::move(shape)};
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
