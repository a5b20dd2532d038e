#include "host_allocator.h"

#include <atomic>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "../core/compiler.h"

namespace rk::cpu {
namespace {

constexpr size_t kAlignment = 64;
// Below this, malloc's own bins are fast; above, it maps fresh pages every time.
constexpr size_t kCacheFrom = 64 * 1024;
// Released blocks kept at most; beyond it they go back to the system.
constexpr size_t kCacheLimit = size_t{1} << 30;

// Each block starts with a header (one alignment unit) that records its capacity and the
// size the caller asked for.
struct Header {
  size_t capacity, requested;
};
static_assert(sizeof(Header) <= kAlignment, "header fits its alignment unit");

// Capacities come in quarter-powers of two, so a cached block fits requests up to ~19% smaller.
size_t size_class(size_t bytes) {
  if (bytes <= kCacheFrom) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  size_t power = kCacheFrom;
  while (power * 2 < bytes) power *= 2;
  const size_t quarter = power / 4;
  return (bytes + quarter - 1) / quarter * quarter;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<unsigned char*>> free_blocks;  // by capacity
  size_t cached_bytes = 0;

  // Frees cached blocks until at most `target` bytes stay cached. Caller holds `mutex`.
  void trim_to(size_t target) {
    for (auto& [capacity, blocks] : free_blocks) {
      while (cached_bytes > target && !blocks.empty()) {
        rk::aligned_free(blocks.back());
        blocks.pop_back();
        cached_bytes -= capacity;
      }
      if (cached_bytes <= target) return;
    }
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: blocks may be released during exit
  return *c;
}

std::atomic<uint64_t> live_bytes{0};
std::atomic<uint64_t> live_allocations{0};
std::atomic<uint64_t> limit{kNoMemoryLimit};

// Room the cache may fill beside the live bytes under the limit.
size_t cache_room(uint64_t lim, uint64_t live) {
  if (lim == kNoMemoryLimit) return kCacheLimit;
  const uint64_t room = lim > live ? lim - live : 0;
  return room < kCacheLimit ? static_cast<size_t>(room) : kCacheLimit;
}

// Counts `bytes` as live unless that would pass the limit; the check and the count are one
// atomic step, so concurrent allocations cannot pass the limit together.
bool reserve(uint64_t bytes, HostAllocFailure* failure) {
  const uint64_t lim = limit.load();
  uint64_t in_use = live_bytes.load();
  do {
    if (lim != kNoMemoryLimit && (bytes > lim || in_use > lim - bytes)) {
      if (failure) *failure = HostAllocFailure{true, lim, in_use};
      return false;
    }
  } while (!live_bytes.compare_exchange_weak(in_use, in_use + bytes));
  return true;
}

}  // namespace

void* host_alloc(size_t bytes, HostAllocFailure* failure) {
  // No request this large can succeed, and rounding it up to a size class would overflow.
  if (bytes > (std::numeric_limits<size_t>::max() >> 2)) return nullptr;
  if (!reserve(bytes, failure)) return nullptr;
  const size_t capacity = size_class(bytes == 0 ? 1 : bytes);
  unsigned char* block = nullptr;
  if (capacity > kCacheFrom || limit.load() != kNoMemoryLimit) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(capacity);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      block = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= capacity;
    } else {
      // A fresh block: first give back cached ones it would not fit beside.
      const size_t room = cache_room(limit.load(), live_bytes.load());
      c.trim_to(room > capacity ? room - capacity : 0);
    }
  }
  if (!block) block = static_cast<unsigned char*>(rk::aligned_alloc(kAlignment, capacity + kAlignment));
  if (!block) {
    // The system is out of memory: return the whole cache to it and try once more.
    Cache& c = cache();
    {
      std::lock_guard<std::mutex> lock(c.mutex);
      c.trim_to(0);
    }
    block = static_cast<unsigned char*>(rk::aligned_alloc(kAlignment, capacity + kAlignment));
  }
  if (!block) {
    live_bytes -= bytes;
    if (failure) *failure = HostAllocFailure{false, limit.load(), live_bytes.load()};
    return nullptr;
  }
  *reinterpret_cast<Header*>(block) = Header{capacity, bytes};
  ++live_allocations;
  return block + kAlignment;
}

void host_release(void* ptr) {
  if (!ptr) return;
  unsigned char* block = static_cast<unsigned char*>(ptr) - kAlignment;
  const Header header = *reinterpret_cast<Header*>(block);
  live_bytes -= header.requested;
  --live_allocations;
  if (header.capacity > kCacheFrom) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.cached_bytes + header.capacity <= cache_room(limit.load(), live_bytes.load())) {
      c.free_blocks[header.capacity].push_back(block);
      c.cached_bytes += header.capacity;
      return;
    }
  }
  rk::aligned_free(block);
}

HostMemoryStats host_memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return {live_bytes.load(), live_allocations.load(), c.cached_bytes};
}

void set_host_memory_limit(uint64_t bytes) {
  limit = bytes;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.trim_to(cache_room(bytes, live_bytes.load()));
}

uint64_t host_memory_limit() { return limit.load(); }

}  // namespace rk::cpu
