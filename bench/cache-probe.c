/*
 * Cache read probe: how fast THREADS threads each read a buffer of their own, BYTES bytes,
 * over and over. At N = 1 a recurrence's step reads every recurrent weight once and does
 * 2 FLOPs per float it reads, so the rate at which the cache holding the weights delivers
 * them bounds the step, whatever the arithmetic (bench/targets.js says so for the N = 1 rows).
 * Usage: cache-probe THREADS BYTES [SECONDS]  ->  prints "GB/s CPU-SECONDS": the rate of all
 * threads together (the best of three runs) and the probe's own CPU time. The reader keeps
 * 12 independent sums, so that the adds never hold the loads back.
 * Built by bench/peak.js with `cc -O2 -pthread` (no -march: AVX2 is chosen at run time).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe.h"

#define SUMS 12

typedef float (*reader_fn)(const float *p, long floats, long passes);

typedef float v4 __attribute__((vector_size(16)));
static float read_generic(const float *p, long floats, long passes) {
  v4 s[SUMS] = {{0}};
  for (long r = 0; r < passes; r++)
    for (long i = 0; i + 4 * SUMS <= floats; i += 4 * SUMS)
      for (int k = 0; k < SUMS; k++) {
        v4 x;
        memcpy(&x, p + i + 4 * k, sizeof x);
        s[k] += x;
      }
  float total = 0;
  for (int k = 0; k < SUMS; k++) total += s[k][0];
  return total;
}

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2"))) static float read_avx2(const float *p, long floats, long passes) {
  __m256 s[SUMS];
  for (int k = 0; k < SUMS; k++) s[k] = _mm256_setzero_ps();
  for (long r = 0; r < passes; r++)
    for (long i = 0; i + 8 * SUMS <= floats; i += 8 * SUMS)
#pragma GCC unroll 12
      for (int k = 0; k < SUMS; k++) s[k] = _mm256_add_ps(s[k], _mm256_load_ps(p + i + 8 * k));
  __m256 t = s[0];
  for (int k = 1; k < SUMS; k++) t = _mm256_add_ps(t, s[k]);
  return _mm256_cvtss_f32(t);
}
#endif

static reader_fn reader = read_generic;
static long floats, passes;
static pthread_barrier_t barrier;
static volatile float sink;

static double elapsed[256];

/* Each thread times its own reading: the slowest sets the rate of all of them together. */
static void *worker(void *arg) {
  double *my_elapsed = arg;
  float *p = aligned_alloc(64, (size_t)floats * sizeof(float));
  if (!p) abort();
  for (long i = 0; i < floats; i++) p[i] = (float)(i % 1000) * 1e-3f;
  sink = reader(p, floats, 2); /* into this core's cache */
  pthread_barrier_wait(&barrier);
  double t0 = now();
  sink = reader(p, floats, passes);
  *my_elapsed = now() - t0;
  pthread_barrier_wait(&barrier);
  free(p);
  return NULL;
}

/* GB/s of `threads` threads reading `passes` times each. */
static double run(int threads) {
  pthread_t tid[256];
  pthread_barrier_init(&barrier, NULL, threads + 1);
  for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, worker, &elapsed[i]);
  pthread_barrier_wait(&barrier);
  pthread_barrier_wait(&barrier);
  double slowest = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(tid[i], NULL);
    if (elapsed[i] > slowest) slowest = elapsed[i];
  }
  pthread_barrier_destroy(&barrier);
  return (double)threads * passes * floats * sizeof(float) / slowest / 1e9;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  long bytes = argc > 2 ? atol(argv[2]) : 128 * 1024;
  double seconds = argc > 3 ? atof(argv[3]) : 0.6;
  if (threads < 1 || threads > 256 || bytes < 4096 || bytes > (1L << 30)) return 2;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) reader = read_avx2;
#endif
  floats = bytes / sizeof(float) / 96 * 96;
  /* Calibrated on one thread, for about `seconds` over the three runs. */
  passes = 64;
  run(1);
  double per = elapsed[0] / passes;
  passes = rounds_for(seconds, per);
  double best = best_of_three(run, threads);
  printf("%.1f %.3f\n", best, own_cpu_seconds());
  return 0;
}
