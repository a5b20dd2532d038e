// The fused forward recurrence of the CPU device: all timesteps in one pool launch. Each
// thread owns a range of 32-unit chunks; R is packed chunk by chunk with all gates of a
// chunk together, so a thread's slice of R stays in its own cache across timesteps, its
// GEMM output feeds its own pointwise step directly, and threads meet once per step.
#ifndef RNNKIT_CPU_RECURRENT_H
#define RNNKIT_CPU_RECURRENT_H

#include <cstddef>
#include <cstdint>

#include "../core/device_abi.h"

namespace rk::cpu {

size_t packed_recurrent_bytes(int64_t hidden, int64_t gates);
void pack_recurrent(const float* r, int64_t hidden, int64_t gates, float* packed);
void recurrent_forward(const rk_recurrent_forward_args& args);

}  // namespace rk::cpu

#endif
