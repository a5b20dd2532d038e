// Inverted dropout with the CPU device's counter-based generator (native/cpu/training.cpp:
// SplitMix64 of (seed, index)): the mask of element i depends only on (seed, i), so both
// devices draw identical masks whatever the grid. Integer hashing and an exact conversion:
// bit-identical on a GPU too.
#include "ops.h"

namespace rk::cuda {
namespace {

// Must stay the same function as uniform_at in native/cpu/training.cpp.
__device__ __host__ inline double uniform_at(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

__global__ void dropout_kernel(const float* x, float* y, float* mask, size_t count, float rate, float keep,
                               uint64_t seed) {
  RK_GRID_LOOP(i, count) {
    mask[i] = uniform_at(seed, static_cast<uint64_t>(i)) < rate ? 0.0f : keep;
    y[i] = x[i] * mask[i];
  }
}

}  // namespace

int dropout(const float* x, float* y, float* mask, size_t count, float rate, uint64_t seed) {
  RK_REQUIRE_READY();
  return launch("dropout", dropout_kernel, count, x, y, mask, count, rate, 1.0f / (1.0f - rate), seed);
}

}  // namespace rk::cuda
