// The device registry: the devices this addon can run on. It owns the CPU device and the
// CUDA device plugin, loaded on first use (see backends.cpp for where it is looked for).
#ifndef RNNKIT_NAPI_BACKENDS_H
#define RNNKIT_NAPI_BACKENDS_H

#include <string>
#include <vector>

#include "../core/device.h"

namespace rk::napi {

struct BackendStatus {
  std::string name;
  bool available;
  // Why an unavailable backend cannot run; for an available one, a note from its plugin
  // (e.g. that it is emulated), or empty.
  std::string reason;
};

// Every backend, loading the CUDA plugin if it was not loaded yet.
std::vector<BackendStatus> backend_statuses();
// The device for a backend name; TypeError for an unknown name, Error (RNNKIT_UNSUPPORTED)
// with the reason when it is unavailable.
const Device& device_for(const std::string& name);
// The CPU device, without touching any plugin.
const Device& cpu_device();

}  // namespace rk::napi

#endif
