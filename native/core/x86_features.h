// The x86-64 features the kernels are chosen by: the instructions (CPUID) and the operating
// system saving their registers (XGETBV), as GCC's __builtin_cpu_supports reports them. Read
// here rather than through __builtin_cpu_supports, which needs the compiler runtime's
// __cpu_model: libgcc has it, the compiler-rt that zig links into the musl build does not.
#ifndef RNNKIT_CORE_X86_FEATURES_H
#define RNNKIT_CORE_X86_FEATURES_H

#include "compiler.h"

#if RK_GNU_X86_64
#include <cpuid.h>

namespace rk {

struct X86Features {
  bool avx2 = false, fma = false, avx512f = false, avx512dq = false, avx512vl = false;
};

inline X86Features read_x86_features() {
  X86Features f;
  unsigned a, b, c, d;
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(1, 0, a, b, c, d);
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12);
  if (!osxsave || !avx) return f;  // XGETBV exists only with OSXSAVE
  unsigned xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 0x6u) != 0x6u) return f;  // XMM and YMM state
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = b & (1u << 5);
  f.fma = fma;
  if ((xcr0_lo & 0xe6u) == 0xe6u) {  // and opmask, ZMM0-15 upper halves, ZMM16-31
    f.avx512f = b & (1u << 16);
    f.avx512dq = b & (1u << 17);
    f.avx512vl = b & (1u << 31);
  }
  return f;
}

// Read once per process.
inline const X86Features& x86_features() {
  static const X86Features f = read_x86_features();
  return f;
}

}  // namespace rk

#endif
#endif
