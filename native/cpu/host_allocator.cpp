#include "host_allocator.h"

#include <atomic>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <vector>

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
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: blocks may be released during exit
  return *c;
}

std::atomic<uint64_t> live_bytes{0};
std::atomic<uint64_t> live_allocations{0};

}  // namespace

void* host_alloc(size_t bytes) {
  // No request this large can succeed, and rounding it up to a size class would overflow.
  if (bytes > (std::numeric_limits<size_t>::max() >> 2)) return nullptr;
  const size_t capacity = size_class(bytes == 0 ? 1 : bytes);
  unsigned char* block = nullptr;
  if (capacity > kCacheFrom) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(capacity);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      block = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= capacity;
    }
  }
  if (!block) block = static_cast<unsigned char*>(std::aligned_alloc(kAlignment, capacity + kAlignment));
  if (!block) return nullptr;
  *reinterpret_cast<Header*>(block) = Header{capacity, bytes};
  live_bytes += bytes;
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
    if (c.cached_bytes + header.capacity <= kCacheLimit) {
      c.free_blocks[header.capacity].push_back(block);
      c.cached_bytes += header.capacity;
      return;
    }
  }
  std::free(block);
}

HostMemoryStats host_memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return {live_bytes.load(), live_allocations.load(), c.cached_bytes};
}

}  // namespace rk::cpu
