// Shapes, merges and masks: repeating rows (RepeatVector) and its gradient, and the
// per-step mask of Masking. Grid-stride loops with one thread per destination value (per
// row for rows_differ), so there are no races.
#include "ops.h"

namespace rk::cuda {
namespace {

__global__ void repeat_rows_kernel(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst) {
  RK_GRID_LOOP(i, rows * repeats * width) {
    const int64_t c = static_cast<int64_t>(i) % width, r = static_cast<int64_t>(i) / (repeats * width);
    dst[i] = src[r * width + c];
  }
}

// The copies are added in order k = 0, 1, ... as the CPU device adds them.
__global__ void sum_repeats_kernel(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst) {
  RK_GRID_LOOP(i, rows * width) {
    const int64_t r = static_cast<int64_t>(i) / width, c = static_cast<int64_t>(i) % width;
    float sum = 0.0f;
    for (int64_t k = 0; k < repeats; ++k) sum += src[(r * repeats + k) * width + c];
    dst[i] = sum;
  }
}

__global__ void rows_differ_kernel(const float* x, int64_t rows, int64_t width, float value, uint8_t* valid) {
  RK_GRID_LOOP(r, rows) {
    const float* row = x + static_cast<int64_t>(r) * width;
    uint8_t differs = 0;
    for (int64_t c = 0; c < width && !differs; ++c) differs = !(row[c] == value);
    valid[r] = differs;
  }
}

__global__ void mask_rows_kernel(const float* src, int64_t rows, int64_t width, const uint8_t* valid, float* dst) {
  RK_GRID_LOOP(i, rows * width) {
    const int64_t r = static_cast<int64_t>(i) / width;
    dst[i] = valid[r] ? src[i] : 0.0f;
  }
}

}  // namespace

int repeat_rows(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst) {
  RK_REQUIRE_READY();
  return launch("repeat_rows", repeat_rows_kernel, elements(rows, repeats, width), src, rows, repeats, width, dst);
}

int sum_repeats(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst) {
  RK_REQUIRE_READY();
  return launch("sum_repeats", sum_repeats_kernel, elements(rows, width), src, rows, repeats, width, dst);
}

int rows_differ(const float* x, int64_t rows, int64_t width, float value, uint8_t* valid) {
  RK_REQUIRE_READY();
  return launch("rows_differ", rows_differ_kernel, elements(rows), x, rows, width, value, valid);
}

int mask_rows(const float* src, int64_t rows, int64_t width, const uint8_t* valid, float* dst) {
  RK_REQUIRE_READY();
  return launch("mask_rows", mask_rows_kernel, elements(rows, width), src, rows, width, valid, dst);
}

}  // namespace rk::cuda
