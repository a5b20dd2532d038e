#include "peak_probe.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "../core/compiler.h"
#include "../core/errors.h"
#include "isa.h"

#if RK_GNU_X86_64
// GCC 12 warns falsely about the AVX-512 intrinsics' undefined-value idiom.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define RK_PROBE_X86 1
#endif
#if defined(__aarch64__) && defined(__ARM_NEON) && (defined(__GNUC__) || defined(__clang__))
#include <arm_neon.h>
#define RK_PROBE_NEON 1
#endif

namespace rk::cpu {
namespace {

// Twelve independent accumulator chains: more than FMA latency × FMA ports on current cores.
constexpr int kChains = 12;
constexpr long kIterations = 1 << 20;

#ifdef RK_PROBE_X86
RK_TARGET("avx512f") float chains_avx512(long iterations) {
  __m512 acc[kChains];
  const __m512 mul = _mm512_set1_ps(0.9999f), add = _mm512_set1_ps(1e-4f);
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (long it = 0; it < iterations; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
}

RK_TARGET("avx2,fma") float chains_avx2(long iterations) {
  __m256 acc[kChains];
  const __m256 mul = _mm256_set1_ps(0.9999f), add = _mm256_set1_ps(1e-4f);
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  for (long it = 0; it < iterations; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
  __m256 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  return lanes[0];
}
#endif

#ifdef RK_PROBE_NEON
float chains_neon(long iterations) {
  float32x4_t acc[kChains];
  const float32x4_t mul = vdupq_n_f32(0.9999f), add = vdupq_n_f32(1e-4f);
  for (int i = 0; i < kChains; ++i) acc[i] = vdupq_n_f32(static_cast<float>(i));
  for (long it = 0; it < iterations; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = vfmaq_f32(add, acc[i], mul);
  float32x4_t sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = vaddq_f32(sum, acc[i]);
  return vaddvq_f32(sum);
}
#endif

float chains_generic(long iterations) {
  float acc[kChains][8];
  for (int i = 0; i < kChains; ++i)
    for (int l = 0; l < 8; ++l) acc[i][l] = static_cast<float>(i + l);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i)
      for (int l = 0; l < 8; ++l) acc[i][l] = acc[i][l] * 0.9999f + 1e-4f;
  float sum = 0.0f;
  for (auto& row : acc)
    for (float v : row) sum += v;
  return sum;
}

}  // namespace

double measure_fma_peak(const std::string& isa, int threads, double seconds) {
  bool supported = false;
  for (const auto& name : supported_isas()) supported = supported || name == isa;
  if (!supported) throw TypeError("isa '" + isa + "' is not supported by this CPU");
  if (threads < 1) throw RangeError("threads must be >= 1");
  int lanes = 8;
  float (*chains)(long) = chains_generic;
#ifdef RK_PROBE_X86
  if (isa == "avx512") chains = chains_avx512, lanes = 16;
  if (isa == "avx2") chains = chains_avx2;
#endif
#ifdef RK_PROBE_NEON
  if (isa == "neon") chains = chains_neon, lanes = 4;
#endif
  // Dedicated threads started together: the probe measures the cores, not the pool.
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> rates(threads, 0.0);
  std::vector<std::thread> workers;
  std::atomic<float> sink{0.0f};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      chains(kIterations / 16);  // warm up clocks
      const auto start = std::chrono::steady_clock::now();
      long done = 0;
      double elapsed = 0.0;
      do {
        sink = sink + chains(kIterations / 4);
        done += kIterations / 4;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      } while (elapsed < seconds);
      rates[t] = static_cast<double>(done) * kChains * lanes * 2.0 / elapsed / 1e9;
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  go = true;
  for (auto& w : workers) w.join();
  double total = 0.0;
  for (double r : rates) total += r;
  return total;
}

}  // namespace rk::cpu
