// Compiler portability: the GCC/Clang extensions rnnkit uses, behind small macros, so that
// MSVC (the Windows prebuild of .github/workflows/prebuilds.yml) compiles the same sources.
// With g++ and clang++ each macro expands to exactly the attribute or builtin the code spelled
// out before, so their output does not change; with MSVC an attribute that only tunes code
// generation (flatten, target, prefetch) expands to nothing, and the code that needs GCC's
// vector extensions or target attributes (the AVX2/AVX-512 kernels, householder_qr.cpp's
// register tiles) stays behind RK_GNU_X86_64, so MSVC builds the portable kernels.
// `#pragma GCC ...` lines stay in #if blocks of RK_GNU (MSVC warns on pragmas it does not know).
#ifndef RNNKIT_CORE_COMPILER_H
#define RNNKIT_CORE_COMPILER_H

#include <cstddef>
#include <cstdlib>

#if defined(__GNUC__) || defined(__clang__)
#define RK_GNU 1
#else
#define RK_GNU 0
#endif

// GCC/Clang on x86-64: target attributes, CPUID (x86_features.h) and vector types available.
#if RK_GNU && defined(__x86_64__)
#define RK_GNU_X86_64 1
#else
#define RK_GNU_X86_64 0
#endif

#if RK_GNU
#define RK_FLATTEN __attribute__((flatten))
#define RK_NOINLINE __attribute__((noinline))
#define RK_ALWAYS_INLINE inline __attribute__((always_inline))
#define RK_TARGET(isa) __attribute__((target(isa)))
#define RK_PREFETCH(address, rw, locality) __builtin_prefetch(address, rw, locality)
#define RK_EXPORT __attribute__((visibility("default")))
#else
#define RK_FLATTEN
#define RK_NOINLINE __declspec(noinline)
#define RK_ALWAYS_INLINE __forceinline
#define RK_TARGET(isa)
#define RK_PREFETCH(address, rw, locality) ((void)(address))
#define RK_EXPORT __declspec(dllexport)
#endif

namespace rk {

// Memory aligned to `alignment` (a power of two; `bytes` a multiple of it), freed with
// aligned_free: MSVC has no std::aligned_alloc (its _aligned_malloc needs _aligned_free).
inline void* aligned_alloc(size_t alignment, size_t bytes) {
#if defined(_MSC_VER)
  return _aligned_malloc(bytes, alignment);
#else
  return std::aligned_alloc(alignment, bytes);
#endif
}

inline void aligned_free(void* p) {
#if defined(_MSC_VER)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

}  // namespace rk

#endif  // RNNKIT_CORE_COMPILER_H
