// Measures this CPU's FP32 FMA throughput: independent FMA chains in registers on every
// pool thread, so benchmarks can report their speed as a share of the machine's peak.
#ifndef RNNKIT_CPU_PEAK_PROBE_H
#define RNNKIT_CPU_PEAK_PROBE_H

#include <string>

namespace rk::cpu {

// GFLOP/s of `isa` ("avx512", "avx2" or "generic") on `threads` threads for about `seconds`.
double measure_fma_peak(const std::string& isa, int threads, double seconds);

}  // namespace rk::cpu

#endif
