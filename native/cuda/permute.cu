// Reordering steps: batch-major [N,T,W] <-> time-major processing order [T,N,W], with each
// sequence's valid steps reversed for goBackwards. One thread per float; each writes its
// own destination element, so there are no races.
#include "ops.h"

namespace rk::cuda {
namespace {

// The source step of processing step t: reversed within the sequence's valid steps.
__device__ __host__ inline int64_t source_step(const int32_t* lengths, int64_t n, int64_t t, int64_t steps,
                                               int32_t reverse) {
  const int64_t len = lengths ? lengths[n] : steps;
  return (reverse && t < len) ? len - 1 - t : t;
}

__global__ void permute_steps_kernel(const float* src, float* dst, int64_t batch, int64_t steps, int64_t width,
                                     const int32_t* lengths, int32_t reverse, int32_t to_time_major) {
  RK_GRID_LOOP(i, batch * steps * width) {
    // i walks the time-major layout: (t, n, w).
    const int64_t w = static_cast<int64_t>(i) % width, tn = static_cast<int64_t>(i) / width;
    const int64_t n = tn % batch, t = tn / batch;
    const int64_t s = source_step(lengths, n, t, steps, reverse);
    const int64_t tm = i, bm = (n * steps + s) * width + w;
    float* out = to_time_major ? dst + tm : dst + bm;
    // The ABI's contract: padded steps are written as zeros, never copied (a NaN left there
    // must not reach the weight-gradient GEMMs over all steps).
    *out = (lengths && t >= lengths[n]) ? 0.0f : (to_time_major ? src[bm] : src[tm]);
  }
}

__global__ void reverse_valid_steps_kernel(const float* src, float* dst, int64_t batch, int64_t steps, int64_t width,
                                           const int32_t* lengths) {
  RK_GRID_LOOP(i, batch * steps * width) {
    const int64_t w = static_cast<int64_t>(i) % width, nt = static_cast<int64_t>(i) / width;
    const int64_t t = nt % steps, n = nt / steps;
    dst[i] = src[(n * steps + source_step(lengths, n, t, steps, 1)) * width + w];
  }
}

}  // namespace

int permute_steps(const float* src, float* dst, int64_t batch, int64_t steps, int64_t width, const int32_t* lengths,
                  int32_t reverse, int32_t to_time_major) {
  RK_REQUIRE_READY();
  return launch("permute_steps", permute_steps_kernel, elements(batch, steps, width), src, dst, batch,
                steps, width, lengths, reverse, to_time_major);
}

int reverse_valid_steps(const float* src, float* dst, int64_t batch, int64_t steps, int64_t width,
                        const int32_t* lengths) {
  RK_REQUIRE_READY();
  return launch("reverse_valid_steps", reverse_valid_steps_kernel, elements(batch, steps, width), src,
                dst, batch, steps, width, lengths);
}

}  // namespace rk::cuda
