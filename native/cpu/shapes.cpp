#include "shapes.h"

#include <cstring>

namespace rk::cpu {

int repeat_rows(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst) {
  const size_t bytes = static_cast<size_t>(width) * sizeof(float);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < repeats; ++k) std::memcpy(dst + (r * repeats + k) * width, src + r * width, bytes);
  return 0;
}

// The copies are added in order k = 0, 1, ... as the CUDA kernel adds them.
int sum_repeats(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    float* out = dst + r * width;
    for (int64_t c = 0; c < width; ++c) out[c] = 0.0f;
    for (int64_t k = 0; k < repeats; ++k) {
      const float* in = src + (r * repeats + k) * width;
      for (int64_t c = 0; c < width; ++c) out[c] += in[c];
    }
  }
  return 0;
}

int rows_differ(const float* x, int64_t rows, int64_t width, float value, uint8_t* valid) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * width;
    uint8_t differs = 0;
    for (int64_t c = 0; c < width && !differs; ++c) differs = !(row[c] == value);
    valid[r] = differs;
  }
  return 0;
}

int mask_rows(const float* src, int64_t rows, int64_t width, const uint8_t* valid, float* dst) {
  const size_t bytes = static_cast<size_t>(width) * sizeof(float);
  for (int64_t r = 0; r < rows; ++r) {
    if (valid[r]) {
      if (dst != src) std::memcpy(dst + r * width, src + r * width, bytes);
    } else {
      for (int64_t c = 0; c < width; ++c) dst[r * width + c] = 0.0f;
    }
  }
  return 0;
}

}  // namespace rk::cpu
