// Kernels for arm64 CPUs with Advanced SIMD (NEON): 4-float vectors, 6-row A groups.
// Advanced SIMD is part of the arm64 baseline, so no target pragma is needed and every
// arm64 CPU runs this code.
#include "kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON) && (defined(__GNUC__) || defined(__clang__))
#include <cmath>
#include <cstdint>
#include <type_traits>

// GCC's first scheduling pass (on by default for arm64) hoists the six A loads of a depth
// step above the FMAs, which needs 34 of the 32 vector registers in the 6-row kernel and
// spills two accumulators to the stack on every step; without it the loop is 4 B loads,
// then a scalar A load and 4 FMAs (by element) per row, all 24 accumulators in registers.
#if !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-schedule-insns")
#endif
#define RK_SIMD_NEON
#include "simd.h"

namespace rk::cpu::neon {
namespace {

using V = Vec;
// 32 vector registers: 6 rows × 16 columns (half a panel) is 24 accumulators, 4 B vectors
// and the A value, 10 loads per 24 FMAs. 8 rows × 16 columns (32 accumulators) does not fit,
// 12 columns do not tile a 32-column panel, and 8 rows × 8 columns is 10 loads per 16 FMAs.
constexpr int64_t kMr = 6;
constexpr int kSliceVectors = 4;
// One or two rows take a whole panel per pass (8 or 16 accumulators, 8 B vectors).
template <int R>
constexpr int kSlicesPerPass = R <= 2 ? 2 : 1;
constexpr int64_t kPrefetchDepthAhead = 0;
constexpr bool kNarrowGroupsInPlace = false;
constexpr bool kSplitCellSteps = false;
// GCC leaves the loops over 4-vector slices rolled by its size limits, and the accumulators
// in memory; unrolled whole, each is a scalar it keeps in a register.
#define RK_UNROLL_REGISTERS _Pragma("GCC unroll 32")

#include "kernels_impl_micro.inc"
constexpr auto& kRowsKernels = RowsTable<1, 2, 3, 4, 5, 6>::table;
#include "kernels_impl_entry.inc"

}  // namespace
}  // namespace rk::cpu::neon
#if !defined(__clang__)
#pragma GCC pop_options
#endif

namespace rk::cpu {
const Kernels* neon_kernels() { return &neon::make_kernels("neon"); }
}  // namespace rk::cpu

#else
namespace rk::cpu {
const Kernels* neon_kernels() { return nullptr; }
}  // namespace rk::cpu
#endif
