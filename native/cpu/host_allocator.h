// Host memory of the CPU device. Large blocks are kept when released and handed out again
// for requests of the same size class, so the buffers of repeated passes (activations,
// gradients, scratch) cost no allocation and no page faults after the first pass.
// The allocator is process-wide: every worker_thread's tensors come from it and count in it.
#ifndef RNNKIT_CPU_HOST_ALLOCATOR_H
#define RNNKIT_CPU_HOST_ALLOCATOR_H

#include <cstddef>
#include <cstdint>

namespace rk::cpu {

// Why host_alloc returned null.
struct HostAllocFailure {
  bool over_limit = false;  // else the system had no memory
  uint64_t limit = 0, in_use = 0;
};

// 64-byte aligned; null when out of memory or when the bytes in use would pass the limit
// (then *failure, if given, says which).
void* host_alloc(size_t bytes, HostAllocFailure* failure = nullptr);
void host_release(void* ptr);

struct HostMemoryStats {
  uint64_t live_bytes, live_allocations;  // handed out and not yet released
  uint64_t cached_bytes;                  // released, kept for reuse
};
HostMemoryStats host_memory_stats();

// The most bytes live allocations may hold together (what live_bytes counts). Cached free
// blocks do not count, but while a limit is set the cache only keeps what fits beside the
// bytes in use (it is trimmed as they grow), so the memory held from the system stays near
// the limit. Lowering the limit below the bytes in use frees nothing; later allocations fail
// until enough is released.
constexpr uint64_t kNoMemoryLimit = UINT64_MAX;
void set_host_memory_limit(uint64_t bytes);  // kNoMemoryLimit: none
uint64_t host_memory_limit();

}  // namespace rk::cpu

#endif
