/*
 * What the bench's probes (fma-probe.c, cache-probe.c) share: the clock, how many rounds fill
 * the time asked, the best of three runs, and the process's own CPU time, which the bench
 * tells apart from other processes' load.
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

/* Rounds per run for about `seconds` over three runs, from one round's time. */
static long rounds_for(double seconds, double per_round) {
  return (long)(seconds / 3 / (per_round > 0 ? per_round : 1e-6)) + 1;
}

/* The best of three runs of `run` at `threads` (the first often pays for frequency ramp-up;
 * a probe disturbed by other work can only read low). */
static double best_of_three(double (*run)(int), int threads) {
  double best = 0;
  for (int r = 0; r < 3; r++) {
    double g = run(threads);
    if (g > best) best = g;
  }
  return best;
}

#endif
