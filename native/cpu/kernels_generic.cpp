// Portable kernels for any CPU (arm64 included): one unit per lane, plain loops the
// compiler may vectorize for the baseline instruction set.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "../core/cell_step.h"
#include "kernels.h"

namespace rk::cpu::generic {
namespace {

using V = float;
constexpr int64_t kMr = 4;
constexpr int kSliceVectors = static_cast<int>(kPanel);  // whole panels
template <int R>
constexpr int kSlicesPerPass = 1;
constexpr int64_t kPrefetchDepthAhead = 0;
constexpr bool kNarrowGroupsInPlace = false;
constexpr bool kSplitCellSteps = false;
static inline float fma(float a, float b, float c) { return a * b + c; }

#include "kernels_impl_micro.inc"
constexpr auto& kRowsKernels = RowsTable<1, 2, 3, 4>::table;
#include "kernels_impl_entry.inc"

}  // namespace
}  // namespace rk::cpu::generic

namespace rk::cpu {
const Kernels& generic_kernels() { return generic::make_kernels("generic"); }
}  // namespace rk::cpu
