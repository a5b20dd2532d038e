/*
 * What the bench's probes (fma-probe.c, cache-probe.c) share: the clock, and the process's
 * own CPU time, which the bench tells apart from other processes' load.
 */
#ifndef RNNKIT_BENCH_PROBE_H
#define RNNKIT_BENCH_PROBE_H

#include <sys/resource.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double own_cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

#endif
