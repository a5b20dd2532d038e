// Kernels for x86-64 CPUs with AVX2 and FMA: 8-float vectors, 6-row A groups.
#include "kernels.h"

#if RK_GNU_X86_64
#include <cmath>
#include <cstdint>
#include <type_traits>

// Clang has no `#pragma GCC target`: it gives every function of the region the attribute
// instead (the intrinsics' header is read first, with its own attributes).
#if defined(__clang__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define RK_SIMD_AVX2
#include "simd.h"

namespace rk::cpu::avx2 {
namespace {

using V = Vec;
// 16 ymm registers: 6 rows × 16 columns (half a panel) is 12 accumulators, 2 B vectors
// and a broadcast, as BLIS's Haswell kernel: 8 loads per 12 FMAs. 3 rows × a whole panel
// (12 accumulators, 4 B vectors) did not fit: GCC re-read 2 B vectors from memory for
// every row, 11 loads per 12 FMAs, and lost a quarter of its speed when B was not 64-byte
// aligned (gemm()'s per-call packing), where this kernel loses a few percent.
constexpr int64_t kMr = 6;
constexpr int kSliceVectors = 2;
template <int R>
constexpr int kSlicesPerPass = R == 1 ? 4 : R <= 3 ? 2 : 1;
// A slice is half a panel: the kernel reads every other cache line of B, from L2 (the
// recurrent weights, a block of panels), and the hardware did not fetch that stride ahead
// in time: prefetching 8 depth steps ahead took 2-4% off the recurrent GEMM (Zen 4).
// AVX-512 reads whole panels and gained nothing from it.
constexpr int64_t kPrefetchDepthAhead = 8;
// Rows read in place run in groups of 5 where that leaves no remainder (32 rows: 6+6+5+5+5+5
// instead of 5×6+2): a group of 2 or 4 has 8 accumulators, too few to cover FMA latency on
// Zen 2, where 5 rows (10) nearly do. Same sums; the recurrent GEMM of a (32,100,128,256)
// LSTM took 8.55 instead of 9.07 ms on 2 threads (Zen 2). AVX-512 not measured: off there.
constexpr bool kNarrowGroupsInPlace = true;
// An LSTM or GRU step is one long chain of dependent operations per run of units (the
// gates' exp and division, then c or the candidate's argument, then its tanh and h): the
// core had little else in its window while it waited. The last tanh and h run in a second
// pass over each 256 units of a row (Zen 2; measured with a driver outside bench/, the
// figures are in the stop-22 note).
constexpr bool kSplitCellSteps = true;
// Unrolled whole, the accumulators stay in registers through the stores; GCC otherwise
// spilled all 12 to the stack around the depth loop.
#define RK_UNROLL_REGISTERS _Pragma("GCC unroll 32")
// The depth loop by 4: Zen 2 predicts the exit of a loop of up to about 64 turns and
// mispredicts that of a longer one, once per call (same sums). bench/gemm-kernels.cpp: the
// input GEMM of a (32,100,128,256) LSTM 8.88 -> 8.67-8.74 ms.
#define RK_UNROLL_DEPTH _Pragma("GCC unroll 4")

#include "kernels_impl_micro.inc"
constexpr auto& kRowsKernels = RowsTable<1, 2, 3, 4, 5, 6>::table;
#include "kernels_impl_entry.inc"

}  // namespace
}  // namespace rk::cpu::avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace rk::cpu {
// Call only on a CPU that supports the instruction set (isa.cpp checks).
const Kernels* avx2_kernels() { return &avx2::make_kernels("avx2"); }
}  // namespace rk::cpu

#else
namespace rk::cpu {
const Kernels* avx2_kernels() { return nullptr; }
}  // namespace rk::cpu
#endif
