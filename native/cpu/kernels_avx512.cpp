// Kernels for x86-64 CPUs with AVX-512F: 16-float vectors, 12-row A groups.
#include "kernels.h"

#if RK_GNU_X86_64
#include <cmath>
#include <cstdint>
#include <type_traits>

// GCC 12 warns falsely about the AVX-512 intrinsics' undefined-value idiom.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
// Clang has no `#pragma GCC target`: it gives every function of the region the attribute
// instead (the intrinsics' header is read first, with its own attributes).
#if defined(__clang__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma")
#endif
#define RK_SIMD_AVX512
#include "simd.h"

namespace rk::cpu::avx512 {
namespace {

using V = Vec;
constexpr int64_t kMr = 12;
constexpr int kSliceVectors = 2;  // whole panels: 32 registers hold 12 rows × 2 vectors
template <int R>
constexpr int kSlicesPerPass = R == 1 ? 8 : R <= 3 ? 4 : R == 4 ? 3 : R <= 6 ? 2 : 1;
constexpr int64_t kPrefetchDepthAhead = 0;
constexpr bool kNarrowGroupsInPlace = false;
constexpr bool kSplitCellSteps = false;

#include "kernels_impl_micro.inc"
constexpr auto& kRowsKernels = RowsTable<1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12>::table;
#include "kernels_impl_entry.inc"

}  // namespace
}  // namespace rk::cpu::avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace rk::cpu {
// Call only on a CPU that supports the instruction set (isa.cpp checks).
const Kernels* avx512_kernels() { return &avx512::make_kernels("avx512"); }
}  // namespace rk::cpu

#else
namespace rk::cpu {
const Kernels* avx512_kernels() { return nullptr; }
}  // namespace rk::cpu
#endif
