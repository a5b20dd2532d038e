/*
 * FP32 FMA peak probe, the bench's fallback when the addon has no rk.measureFmaPeak.
 * Usage: fma-probe THREADS [SECONDS [ISA]]  ->  prints "GFLOP/s ISA CPU-SECONDS" for THREADS threads, each
 * running independent FMA chains (12 accumulators, more than latency x ports on current
 * x86 and arm64 cores, so the FMA pipes never wait) on the widest vector unit the CPU has.
 * Built by bench/peak.js with `cc -O2 -pthread` (no -march: the ISA is chosen at run time).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe.h"

#define INNER 4096

/* Each kernel runs `iters` x INNER rounds of CHAINS independent FMAs and returns a value
 * the compiler cannot discard. The chains are named variables, not an array, so that they
 * stay in registers (an array of accumulators is kept in memory at -O2, and the probe then
 * measures store forwarding, not the FMA pipes). */
typedef float (*kernel_fn)(long iters);

#define CHAINS 12
#define DECLARE(T, init) T c0 = init(0), c1 = init(1), c2 = init(2), c3 = init(3), c4 = init(4), \
  c5 = init(5), c6 = init(6), c7 = init(7), c8 = init(8), c9 = init(9), c10 = init(10), c11 = init(11)
#define ROUND(F) c0 = F(c0); c1 = F(c1); c2 = F(c2); c3 = F(c3); c4 = F(c4); c5 = F(c5); \
  c6 = F(c6); c7 = F(c7); c8 = F(c8); c9 = F(c9); c10 = F(c10); c11 = F(c11)
#define SUM(R) (R(c0) + R(c1) + R(c2) + R(c3) + R(c4) + R(c5) + R(c6) + R(c7) + R(c8) + R(c9) + R(c10) + R(c11))

#if defined(__x86_64__)
#include <immintrin.h>

#define I512(i) _mm512_set1_ps((float)(i))
#define F512(c) _mm512_fmadd_ps(c, a, b)
#define R512(c) _mm512_reduce_add_ps(c)
__attribute__((target("avx512f"))) static float kernel_avx512(long iters) {
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  DECLARE(__m512, I512);
  for (long it = 0; it < iters * INNER; it++) {
    ROUND(F512);
  }
  return SUM(R512);
}

#define I256(i) _mm256_set1_ps((float)(i))
#define F256(c) _mm256_fmadd_ps(c, a, b)
#define R256(c) _mm256_cvtss_f32(c)
__attribute__((target("avx2,fma"))) static float kernel_avx2(long iters) {
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  DECLARE(__m256, I256);
  for (long it = 0; it < iters * INNER; it++) {
    ROUND(F256);
  }
  return SUM(R256);
}
#endif

/* Portable: 4-lane vectors; compilers contract a*b+c into FMA where the target has it. */
typedef float v4 __attribute__((vector_size(16)));
#define IV4(i) ((v4){(float)(i), (float)(i), (float)(i), (float)(i)})
#define FV4(c) ((c) * a + b)
#define RV4(c) ((c)[0])
static float kernel_generic(long iters) {
  const v4 a = IV4(0.999999f), b = IV4(1e-7f);
  DECLARE(v4, IV4);
  for (long it = 0; it < iters * INNER; it++) {
    ROUND(FV4);
  }
  return SUM(RV4);
}

static kernel_fn kernel;
static int lanes;
static long iters;
static pthread_barrier_t barrier;
static volatile float sink;

static const char *isa_name = "generic";

/* The widest kernel the CPU runs, or the one asked for ("avx512", "avx2", "generic") when
 * the CPU has it: the bench reports the peak of each ISA, since on CPUs with full-width
 * AVX-512 units it is twice the AVX2 peak. */
static int pick_kernel(const char *want) {
  int any = !want || !*want || !strcmp(want, "auto");
  kernel = kernel_generic;
  lanes = 4;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if ((any || !strcmp(want, "avx512")) && __builtin_cpu_supports("avx512f")) {
    kernel = kernel_avx512;
    lanes = 16;
    isa_name = "avx512";
    return 0;
  }
  if ((any || !strcmp(want, "avx2")) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    kernel = kernel_avx2;
    lanes = 8;
    isa_name = "avx2";
    return 0;
  }
#endif
  return any || !strcmp(want, "generic") ? 0 : 1;
}

static void *worker(void *arg) {
  (void)arg;
  pthread_barrier_wait(&barrier);
  sink = kernel(iters);
  pthread_barrier_wait(&barrier);
  return NULL;
}

/* GFLOP/s of `threads` threads running `iters` rounds each. */
static double run(int threads) {
  pthread_t tid[256];
  pthread_barrier_init(&barrier, NULL, threads + 1);
  for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, worker, NULL);
  pthread_barrier_wait(&barrier);
  double t0 = now();
  pthread_barrier_wait(&barrier);
  double dt = now() - t0;
  for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
  pthread_barrier_destroy(&barrier);
  return (double)threads * iters * INNER * CHAINS * lanes * 2 / dt / 1e9;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  double seconds = argc > 2 ? atof(argv[2]) : 0.3;
  if (threads < 1 || threads > 256) return 2;
  if (pick_kernel(argc > 3 ? argv[3] : NULL)) {
    fprintf(stderr, "this CPU has no %s\n", argv[3]);
    return 3;
  }
  /* Calibrate the round count on one thread. */
  iters = 16;
  double t0 = now();
  sink = kernel(iters);
  iters = rounds_for(seconds, (now() - t0) / iters);
  double best = best_of_three(run, threads);
  printf("%.2f %s %.3f\n", best, isa_name, own_cpu_seconds());
  return 0;
}
