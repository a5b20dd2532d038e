// The devices this addon can run on, and which one new tensors go to.
#ifndef RNNKIT_NAPI_BACKENDS_H
#define RNNKIT_NAPI_BACKENDS_H

#include <string>
#include <vector>

#include "../core/device.h"

namespace rk::napi {

struct BackendStatus {
  std::string name;
  bool available;
  std::string reason;  // why not, when unavailable
};

std::vector<BackendStatus> backend_statuses();
// The device for a backend name; throws Error with the reason when it is unavailable.
const Device& device_for(const std::string& name);

}  // namespace rk::napi

#endif
