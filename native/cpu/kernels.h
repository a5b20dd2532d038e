// The CPU device's compute kernels for one instruction set: the pointwise cell steps and
// the GEMM inner block. kernels_<isa>.cpp each build a table from kernels_impl.h; isa.cpp
// picks one at run time.
#ifndef RNNKIT_CPU_KERNELS_H
#define RNNKIT_CPU_KERNELS_H

#include <cstdint>

#include "../core/compiler.h"
#include "../core/device_abi.h"

namespace rk::cpu {

// Packed GEMM operands. op(B) [k, n] is stored as panels of kPanel columns, each panel
// k rows deep and contiguous (row p of a panel: kPanel floats); the last panel is padded
// with zeros. A block of op(A) is stored as groups of `mr` rows, p-major within a group.
constexpr int64_t kPanel = 32;

struct Kernels {
  const char* name;
  int mr;  // rows per packed A group
  // Whether gemm_block groups in-place A rows freely (groups of mr - 1 where that leaves no
  // remainder of a few rows): gemm then reads blocks of few rows in place instead of packing.
  bool narrow_groups_in_place;
  // Pointwise step for units [unit_begin, unit_end) of every row.
  void (*cell_forward)(const rk_cell_forward_args& a, int64_t unit_begin, int64_t unit_end);
  void (*cell_backward)(const rk_cell_backward_args& a, int64_t unit_begin, int64_t unit_end);
  // C = (accumulate ? C : 0) + alpha · A·B for one A block (`rows` rows, kc deep; packed
  // by pack_a when lda == 0, else plain rows lda floats apart)
  // against `panels` consecutive B panels at `b`, panel_stride floats apart. Panel q writes
  // columns (q / group)·kPanel + (q % group)·group_stride of C, the valid ones being those
  // below `cols` counted in units of (q / group)·kPanel; group = 1 is plain column order.
  // reverse_depth sums the depth from kc - 1 down to 0: a recurrence alternates it from step
  // to step, so that the end of B it read last, still in L1, is what the next step reads first.
  void (*gemm_block)(int64_t rows, int64_t kc, const float* a, int64_t lda, const float* b, int64_t panel_stride,
                     int64_t panels, int64_t group, int64_t group_stride, int64_t cols, float alpha,
                     bool accumulate, float* c, int64_t ldc, bool reverse_depth);
};

const Kernels& generic_kernels();
const Kernels* avx2_kernels();    // null when this build has no AVX2 code
const Kernels* avx512_kernels();  // null when this build has no AVX-512 code
const Kernels* neon_kernels();    // null unless this build is for arm64

}  // namespace rk::cpu

#endif
