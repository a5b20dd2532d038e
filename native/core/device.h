// C++ view of a device: the C ABI table wrapped so that failures throw, plus RAII
// ownership of device memory.
#ifndef RNNKIT_CORE_DEVICE_H
#define RNNKIT_CORE_DEVICE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "device_abi.h"
#include "errors.h"

namespace rk {

class Device {
 public:
  explicit Device(const rk_device_ops* ops) : ops_(ops) {}
  const rk_device_ops& ops() const { return *ops_; }
  std::string name() const { return ops_->name; }

  // Throws DeviceError with the device's own reason when a call failed.
  void check(int status, const char* what) const {
    if (status != 0) throw DeviceError(std::string(what) + " failed on " + ops_->name + ": " + ops_->last_error());
  }

  // Device settings (device_abi.h set_option/get_option); a device without them knows no
  // name. An unknown name or a bad value is the caller's mistake: TypeError.
  void set_option(const std::string& name, const std::string& value) const {
    if (!ops_->set_option) throw TypeError("the " + this->name() + " device has no option '" + name + "'");
    check_option(ops_->set_option(name.c_str(), value.c_str()), "set_option");
  }
  std::string get_option(const std::string& name) const {
    if (!ops_->get_option) throw TypeError("the " + this->name() + " device has no option '" + name + "'");
    char value[1024];  // option values are short: a number, a name, a list of ISA names
    check_option(ops_->get_option(name.c_str(), value, sizeof value), "get_option");
    return value;
  }

 private:
  void check_option(int status, const char* what) const {
    if (status == RK_STATUS_INVALID_ARGUMENT) throw TypeError(ops_->last_error());
    check(status, what);
  }

  const rk_device_ops* ops_;
};

// Owns one device allocation of `count` floats (or bytes for raw use).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const Device* device, size_t bytes) : device_(device), bytes_(bytes) {
    if (bytes == 0) return;
    ptr_ = device->ops().alloc(bytes);
    // The device says why (no memory, or a limit); the N-API layer adds the operation.
    if (!ptr_)
      throw DeviceError("cannot allocate " + std::to_string(bytes) + " bytes on " + device->name() + ": " +
                            device->ops().last_error(),
                        ErrorCode::OutOfMemory);
  }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& other) noexcept { *this = std::move(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      device_ = std::exchange(other.device_, nullptr);
      ptr_ = std::exchange(other.ptr_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void reset() {
    if (ptr_) device_->ops().release(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  float* floats() const { return static_cast<float*>(ptr_); }
  int32_t* ints() const { return static_cast<int32_t*>(ptr_); }
  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  const Device* device() const { return device_; }

 private:
  const Device* device_ = nullptr;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// `count` floats; RangeError when their byte count would not fit in int64_t.
inline DeviceBuffer make_floats(const Device& device, size_t count) {
  if (count > static_cast<size_t>(INT64_MAX) / sizeof(float))
    throw RangeError("cannot allocate " + std::to_string(count) + " floats on " + device.name() +
                     ": the byte count is not representable");
  return DeviceBuffer(&device, count * sizeof(float));
}

}  // namespace rk

#endif
