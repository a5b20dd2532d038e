// Host memory of the CPU device. Large blocks are kept when released and handed out again
// for requests of the same size class, so the buffers of repeated passes (activations,
// gradients, scratch) cost no allocation and no page faults after the first pass.
#ifndef RNNKIT_CPU_HOST_ALLOCATOR_H
#define RNNKIT_CPU_HOST_ALLOCATOR_H

#include <cstddef>
#include <cstdint>

namespace rk::cpu {

void* host_alloc(size_t bytes);  // 64-byte aligned; null when out of memory
void host_release(void* ptr);

struct HostMemoryStats {
  uint64_t live_bytes, live_allocations;  // handed out and not yet released
  uint64_t cached_bytes;                  // released, kept for reuse
};
HostMemoryStats host_memory_stats();

}  // namespace rk::cpu

#endif
