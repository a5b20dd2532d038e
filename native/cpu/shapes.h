// The CPU device's entries for shapes, merges and masks (device_abi.h, version 4): plain
// loops; each is one pass over memory, so threads would buy little.
#ifndef RNNKIT_CPU_SHAPES_H
#define RNNKIT_CPU_SHAPES_H

#include <cstdint>

namespace rk::cpu {

int repeat_rows(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst);
int sum_repeats(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst);
int rows_differ(const float* x, int64_t rows, int64_t width, float value, uint8_t* valid);
int mask_rows(const float* src, int64_t rows, int64_t width, const uint8_t* valid, float* dst);

}  // namespace rk::cpu

#endif
