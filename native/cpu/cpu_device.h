// The CPU device: the device interface implemented on host memory.
#ifndef RNNKIT_CPU_DEVICE_H
#define RNNKIT_CPU_DEVICE_H

#include "../core/device_abi.h"

namespace rk::cpu {

const rk_device_ops* device_ops();

}  // namespace rk::cpu

#endif
