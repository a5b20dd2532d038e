// Device memory of the CUDA device: a stream-ordered caching allocator.
//
// Every entry runs on the device's one stream, so a block released while kernels that use
// it are still queued may be handed out again at once: the next user's work is queued after
// them on the same stream. Released blocks are kept by size class and reused, so repeated
// passes cost no cudaMalloc (which synchronises the device). When cudaMalloc fails, the
// cache is given back (after a synchronisation) and the allocation tried once more.
#ifndef RNNKIT_CUDA_ALLOCATOR_H
#define RNNKIT_CUDA_ALLOCATOR_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime.h"

namespace rk::cuda {

// One cudaMalloc'd block, freed with its owner.
struct CudaFree {
  void operator()(void* p) const { cudaFree(p); }
};
using DeviceBlock = std::unique_ptr<void, CudaFree>;

class CachingAllocator {
 public:
  // null on failure, with *error saying why.
  void* allocate(size_t bytes, std::string* error);
  void release(void* ptr);
  void stats(uint64_t* live_bytes, uint64_t* live_allocations, uint64_t* cached_bytes);
  // Frees the cache (the device is synchronised first: cached blocks may still be in use
  // by queued work).
  void trim();
  // The size class of a request: 512-byte steps up to 1 MiB, then 1/8 of a power of two
  // (at most 12.5% unused), so that a block fits many nearby sizes.
  static size_t size_class(size_t bytes);

 private:
  void trim_locked();
  std::mutex mutex_;
  std::unordered_map<void*, std::pair<DeviceBlock, size_t>> live_;  // ptr -> (block, class bytes)
  std::multimap<size_t, DeviceBlock> cached_;                       // class bytes -> free blocks
  uint64_t live_bytes_ = 0, cached_bytes_ = 0;
};

// A temporary device buffer of an entry (partial sums, flags), back to the cache when the
// entry returns; reusing it at once is safe because all work is on the one stream.
class Scratch {
 public:
  Scratch(CachingAllocator& allocator, size_t bytes) : allocator_(allocator) { ptr_ = allocator.allocate(bytes, &error_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { allocator_.release(ptr_); }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  explicit operator bool() const { return ptr_ != nullptr; }
  const std::string& error() const { return error_; }

 private:
  CachingAllocator& allocator_;
  void* ptr_ = nullptr;
  std::string error_;
};

}  // namespace rk::cuda

#endif
