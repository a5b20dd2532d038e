// Kernels for x86-64 CPUs with AVX2 and FMA: 8-float vectors, 3-row A groups.
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cmath>
#include <cstdint>

#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define RK_SIMD_AVX2
#include "simd.h"

namespace rk::cpu::avx2 {
namespace {

using V = Vec;
constexpr int64_t kMr = 3;
template <int R>
constexpr int kPanelsPerPass = R == 1 ? 2 : 1;

#include "kernels_impl_micro.inc"
constexpr auto& kRowsKernels = RowsTable<1, 2, 3>::table;
#include "kernels_impl_entry.inc"

}  // namespace
}  // namespace rk::cpu::avx2
#pragma GCC pop_options

namespace rk::cpu {
// Call only on a CPU that supports the instruction set (isa.cpp checks).
const Kernels* avx2_kernels() { return &avx2::make_kernels("avx2"); }
}  // namespace rk::cpu

#else
namespace rk::cpu {
const Kernels* avx2_kernels() { return nullptr; }
}  // namespace rk::cpu
#endif
