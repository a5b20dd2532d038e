#include "backends.h"

#include "../cpu/cpu_device.h"

namespace rk::napi {
namespace {

const Device& cpu() {
  static const Device device(rk::cpu::device_ops());
  return device;
}

const char* kCudaMissing =
    "the CUDA device plugin is not part of this build (it is built by CMakeLists.txt when nvcc is "
    "present; not implemented yet)";

}  // namespace

std::vector<BackendStatus> backend_statuses() {
  return {{"cpu", true, ""}, {"cuda", false, kCudaMissing}};
}

const Device& device_for(const std::string& name) {
  if (name == "cpu") return cpu();
  if (name == "cuda") throw DeviceError(std::string("backend 'cuda' is unavailable: ") + kCudaMissing);
  throw TypeError("backend must be 'cpu' or 'cuda', got '" + name + "'");
}

}  // namespace rk::napi
