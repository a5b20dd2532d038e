/*
 * Core-to-core latency probe: two threads hand a counter back and forth through one cache
 * line and the probe prints the mean round trip in ns. On a virtual machine the host may run
 * the two virtual cores on neighbouring or on distant physical cores, and every
 * implementation whose threads meet once per timestep slows down with the distance.
 * Usage: latency-probe [ROUND_TRIPS]. Built by bench/c-probe.js with `cc -O2 -pthread`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(64) atomic_long turn;
static long trips;

static void *answer(void *arg) {
  (void)arg;
  for (long i = 0; i < trips; i++) {
    while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 1) {
    }
    atomic_store_explicit(&turn, 2 * i + 2, memory_order_release);
  }
  return NULL;
}

int main(int argc, char **argv) {
  trips = argc > 1 ? atol(argv[1]) : 20000;
  if (trips <= 0) return 1;
  pthread_t other;
  if (pthread_create(&other, NULL, answer, NULL)) return 1;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < trips; i++) {
    atomic_store_explicit(&turn, 2 * i + 1, memory_order_release);
    while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 2) {
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  pthread_join(other, NULL);
  printf("%.0f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / trips);
  return 0;
}
