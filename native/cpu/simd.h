// SIMD lane types of the CPU device, one per instruction set, with the operators and
// activations the shared cell templates need. Included only by the kernel translation
// unit of its instruction set (kernels_<isa>.cpp), after that unit's target pragma (x86;
// arm64's Advanced SIMD is baseline and needs none); everything lives in that instruction
// set's namespace. The activations' polynomials below the lane types are shared by all.
#ifndef RNNKIT_CPU_SIMD_H
#define RNNKIT_CPU_SIMD_H

#if defined(RK_SIMD_NEON)
#include <arm_neon.h>
#else
#include <immintrin.h>
#endif

#include "../core/cell_step.h"

#if defined(RK_SIMD_AVX512)
#define RK_SIMD_NS avx512
#elif defined(RK_SIMD_AVX2)
#define RK_SIMD_NS avx2
#elif defined(RK_SIMD_NEON)
#define RK_SIMD_NS neon
#else
#error "define RK_SIMD_AVX512, RK_SIMD_AVX2 or RK_SIMD_NEON before including simd.h"
#endif

namespace rk::cpu::RK_SIMD_NS {

#if defined(RK_SIMD_AVX512)
struct Vec {
  static constexpr int width = 16;
  __m512 v;
  Vec() = default;
  Vec(__m512 x) : v(x) {}
  Vec(float x) : v(_mm512_set1_ps(x)) {}
};
using Mask = __mmask16;
inline Vec operator+(Vec a, Vec b) { return _mm512_add_ps(a.v, b.v); }
inline Vec operator-(Vec a, Vec b) { return _mm512_sub_ps(a.v, b.v); }
inline Vec operator*(Vec a, Vec b) { return _mm512_mul_ps(a.v, b.v); }
inline Vec operator/(Vec a, Vec b) { return _mm512_div_ps(a.v, b.v); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a.v, b.v, c.v); }
inline Vec vmin(Vec a, Vec b) { return _mm512_min_ps(a.v, b.v); }
inline Vec vmax(Vec a, Vec b) { return _mm512_max_ps(a.v, b.v); }
inline Vec vround(Vec a) { return _mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline Mask greater(Vec a, Vec b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ); }
inline Mask less(Vec a, Vec b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ); }
inline Mask both(Mask a, Mask b) { return a & b; }
inline Vec select(Mask m, Vec yes, Vec no) { return _mm512_mask_blend_ps(m, no.v, yes.v); }
// 2^n for integral-valued n.
inline Vec pow2(Vec n) {
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n.v), _mm512_set1_epi32(127)), 23);
  return _mm512_castsi512_ps(bits);
}
inline Vec load_lanes(const float* p, int lanes) {
  if (lanes == 16) return _mm512_loadu_ps(p);
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << lanes) - 1), p);
}
inline void store_lanes(float* p, Vec x, int lanes) {
  if (lanes == 16)
    _mm512_storeu_ps(p, x.v);
  else
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << lanes) - 1), x.v);
}
#elif defined(RK_SIMD_NEON)
struct Vec {
  static constexpr int width = 4;
  float32x4_t v;
  Vec() = default;
  Vec(float32x4_t x) : v(x) {}
  Vec(float x) : v(vdupq_n_f32(x)) {}
};
using Mask = uint32x4_t;
inline Vec operator+(Vec a, Vec b) { return vaddq_f32(a.v, b.v); }
inline Vec operator-(Vec a, Vec b) { return vsubq_f32(a.v, b.v); }
inline Vec operator*(Vec a, Vec b) { return vmulq_f32(a.v, b.v); }
inline Vec operator/(Vec a, Vec b) { return vdivq_f32(a.v, b.v); }
inline Vec fma(Vec a, Vec b, Vec c) { return vfmaq_f32(c.v, a.v, b.v); }
inline Vec vmin(Vec a, Vec b) { return vminq_f32(a.v, b.v); }
inline Vec vmax(Vec a, Vec b) { return vmaxq_f32(a.v, b.v); }
inline Vec vround(Vec a) { return vrndnq_f32(a.v); }  // to nearest, ties to even, as x86's
inline Mask greater(Vec a, Vec b) { return vcgtq_f32(a.v, b.v); }
inline Mask less(Vec a, Vec b) { return vcltq_f32(a.v, b.v); }
inline Mask both(Mask a, Mask b) { return vandq_u32(a, b); }
inline Vec select(Mask m, Vec yes, Vec no) { return vbslq_f32(m, yes.v, no.v); }
inline Vec pow2(Vec n) {
  const int32x4_t bits = vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n.v), vdupq_n_s32(127)), 23);
  return vreinterpretq_f32_s32(bits);
}
// Partial runs lane by lane: NEON has no masked loads or stores, and a whole vector may
// reach past the end of the tensor. No call to memcpy: a call in the GEMM's store loop
// would make GCC keep the accumulators in memory.
inline Vec load_lanes(const float* p, int lanes) {
  if (lanes == 4) return vld1q_f32(p);
  float32x4_t v = vdupq_n_f32(0.0f);
  v = vld1q_lane_f32(p, v, 0);
  if (lanes > 1) v = vld1q_lane_f32(p + 1, v, 1);
  if (lanes > 2) v = vld1q_lane_f32(p + 2, v, 2);
  return v;
}
inline void store_lanes(float* p, Vec x, int lanes) {
  if (lanes == 4) {
    vst1q_f32(p, x.v);
    return;
  }
  vst1q_lane_f32(p, x.v, 0);
  if (lanes > 1) vst1q_lane_f32(p + 1, x.v, 1);
  if (lanes > 2) vst1q_lane_f32(p + 2, x.v, 2);
}
#else  // RK_SIMD_AVX2
struct Vec {
  static constexpr int width = 8;
  __m256 v;
  Vec() = default;
  Vec(__m256 x) : v(x) {}
  Vec(float x) : v(_mm256_set1_ps(x)) {}
};
using Mask = __m256;
inline Vec operator+(Vec a, Vec b) { return _mm256_add_ps(a.v, b.v); }
inline Vec operator-(Vec a, Vec b) { return _mm256_sub_ps(a.v, b.v); }
inline Vec operator*(Vec a, Vec b) { return _mm256_mul_ps(a.v, b.v); }
inline Vec operator/(Vec a, Vec b) { return _mm256_div_ps(a.v, b.v); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a.v, b.v, c.v); }
inline Vec vmin(Vec a, Vec b) { return _mm256_min_ps(a.v, b.v); }
inline Vec vmax(Vec a, Vec b) { return _mm256_max_ps(a.v, b.v); }
inline Vec vround(Vec a) { return _mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline Mask greater(Vec a, Vec b) { return _mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ); }
inline Mask less(Vec a, Vec b) { return _mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ); }
inline Mask both(Mask a, Mask b) { return _mm256_and_ps(a, b); }
inline Vec select(Mask m, Vec yes, Vec no) { return _mm256_blendv_ps(no.v, yes.v, m); }
inline Vec pow2(Vec n) {
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n.v), _mm256_set1_epi32(127)), 23);
  return _mm256_castsi256_ps(bits);
}
inline __m256i lane_mask(int lanes) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline Vec load_lanes(const float* p, int lanes) {
  if (lanes == 8) return _mm256_loadu_ps(p);
  return _mm256_maskload_ps(p, lane_mask(lanes));
}
inline void store_lanes(float* p, Vec x, int lanes) {
  if (lanes == 8)
    _mm256_storeu_ps(p, x.v);
  else
    _mm256_maskstore_ps(p, lane_mask(lanes), x.v);
}
#endif

// e^x as Cephes' expf: x = n·ln2 + r, a degree-6 polynomial for e^r (about 1 ulp).
inline Vec vexp(Vec x) {
  x = vmin(vmax(x, Vec(-87.3365448f)), Vec(88.3762626f));
  const Vec n = vround(x * Vec(1.44269504088896341f));
  Vec r = x - n * Vec(0.693359375f);
  r = r - n * Vec(-2.12194440e-4f);
  Vec p(1.9875691500E-4f);
  p = fma(p, r, Vec(1.3981999507E-3f));
  p = fma(p, r, Vec(8.3334519073E-3f));
  p = fma(p, r, Vec(4.1665795894E-2f));
  p = fma(p, r, Vec(1.6666665459E-1f));
  p = fma(p, r, Vec(5.0000001201E-1f));
  p = fma(p, r * r, r + Vec(1.0f));
  return p * pow2(n);
}

inline Vec vsigmoid(Vec x) { return Vec(1.0f) / (Vec(1.0f) + vexp(Vec(0.0f) - x)); }

// tanh as the odd rational minimax p(x)/q(x) of degrees 13/6 that Eigen (TensorFlow's CPU
// kernels) and ONNX Runtime's MLAS use, clamped where tanh rounds to ±1: no exp and no
// select, and full relative accuracy near 0 (max error 4.6 ulp, 2.7e-7, near |x| = 5.2).
inline Vec vtanh(Vec x) {
  x = vmin(vmax(x, Vec(-7.90531110763549805f)), Vec(7.90531110763549805f));
  const Vec x2 = x * x;
  Vec p(-2.76076847742355e-16f);
  p = fma(p, x2, Vec(2.00018790482477e-13f));
  p = fma(p, x2, Vec(-8.60467152213735e-11f));
  p = fma(p, x2, Vec(5.12229709037114e-08f));
  p = fma(p, x2, Vec(1.48572235717979e-05f));
  p = fma(p, x2, Vec(6.37261928875436e-04f));
  p = fma(p, x2, Vec(4.89352455891786e-03f));
  Vec q(1.19825839466702e-06f);
  q = fma(q, x2, Vec(1.18534705686654e-04f));
  q = fma(q, x2, Vec(2.26843463243900e-03f));
  q = fma(q, x2, Vec(4.89352518554385e-03f));
  return (p * x) / q;
}

// Activations without a SIMD form here fall back to the scalar ones, lane by lane.
template <typename F>
inline Vec per_lane(Vec x, F f) {
  alignas(64) float lanes[Vec::width];
  store_lanes(lanes, x, Vec::width);
  for (float& v : lanes) v = f(v);
  return load_lanes(lanes, Vec::width);
}

inline Vec activate(int32_t kind, Vec x) {
  switch (kind) {
    case RK_ACT_TANH: return vtanh(x);
    case RK_ACT_SIGMOID: return vsigmoid(x);
    case RK_ACT_HARD_SIGMOID: return vmin(Vec(1.0f), vmax(Vec(0.0f), fma(Vec(0.2f), x, Vec(0.5f))));
    case RK_ACT_RELU: return vmax(Vec(0.0f), x);
    case RK_ACT_LINEAR: return x;
    default: return per_lane(x, [kind](float v) { return rk::activate(kind, v); });
  }
}

inline Vec activate_grad_from_output(int32_t kind, Vec y) {
  const Vec zero(0.0f), one(1.0f);
  switch (kind) {
    case RK_ACT_TANH: return one - y * y;
    case RK_ACT_SIGMOID: return y * (one - y);
    case RK_ACT_HARD_SIGMOID: return select(both(greater(y, zero), less(y, one)), Vec(0.2f), zero);
    case RK_ACT_RELU: return select(greater(y, zero), one, zero);
    case RK_ACT_LINEAR: return one;
    default: return per_lane(y, [kind](float v) { return rk::activate_grad_from_output(kind, v); });
  }
}

}  // namespace rk::cpu::RK_SIMD_NS

namespace rk {
template <>
struct Lanes<cpu::RK_SIMD_NS::Vec> {
  using Vec = cpu::RK_SIMD_NS::Vec;
  static constexpr int width = Vec::width;
  static inline Vec load(const float* p, int lanes) { return cpu::RK_SIMD_NS::load_lanes(p, lanes); }
  static inline void store(float* p, Vec v, int lanes) { cpu::RK_SIMD_NS::store_lanes(p, v, lanes); }
  static inline Vec splat(float x) { return Vec(x); }
};
}  // namespace rk

#endif
