#include "allocator.h"

#include <iterator>

namespace rk::cuda {

size_t CachingAllocator::size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  constexpr size_t kSmallStep = 512, kSmallLimit = size_t(1) << 20;
  if (bytes <= kSmallLimit) return (bytes + kSmallStep - 1) / kSmallStep * kSmallStep;
  size_t power = kSmallLimit;
  while (power <= bytes / 2) power *= 2;  // the largest power of two <= bytes
  const size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes, std::string* error) {
  const size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  DeviceBlock block;
  // The most recently released block of the class (its memory is likeliest in cache).
  const auto range = cached_.equal_range(cls);
  if (range.first != range.second) {
    const auto hit = std::prev(range.second);
    block = std::move(hit->second);
    cached_.erase(hit);
    cached_bytes_ -= cls;
  } else {
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, cls);
    if (e != cudaSuccess && !cached_.empty()) {
      cudaGetLastError();  // clear the sticky-free error before retrying
      trim_locked();
      e = cudaMalloc(&p, cls);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      *error = "the CUDA device is out of memory (" + std::to_string(bytes) + " bytes requested, " +
               std::to_string(live_bytes_) + " bytes in use): " + cudaGetErrorString(e);
      return nullptr;
    }
    block.reset(p);
  }
  void* p = block.get();
  live_.emplace(p, std::make_pair(std::move(block), cls));
  live_bytes_ += cls;
  return p;
}

void CachingAllocator::release(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  if (it == live_.end()) return;  // not ours: ignore rather than corrupt the cache
  const size_t cls = it->second.second;
  cached_.emplace(cls, std::move(it->second.first));
  live_.erase(it);
  live_bytes_ -= cls;
  cached_bytes_ += cls;
}

void CachingAllocator::stats(uint64_t* live_bytes, uint64_t* live_allocations, uint64_t* cached_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  *live_bytes = live_bytes_;
  *live_allocations = live_.size();
  *cached_bytes = cached_bytes_;
}

void CachingAllocator::trim() {
  std::lock_guard<std::mutex> lock(mutex_);
  trim_locked();
}

void CachingAllocator::trim_locked() {
  cudaStreamSynchronize(stream());
  cached_.clear();  // each DeviceBlock cudaFree's itself
  cached_bytes_ = 0;
}

}  // namespace rk::cuda
