// GFLOP/s of the CPU device's GEMM kernels on the GEMMs an LSTM forward runs: the hoisted
// input GEMM [N·T, D]×[D, 4H] (gemm_packed_b) and the per-step recurrent GEMM [N, H]×[H, 4H]
// as recurrent.cpp runs it (h read in place, chunk-major panels, rows split over threads
// when N ≥ 8·threads), against rk::cpu::measure_fma_peak for the same ISA and threads.
// Operands are 64-byte aligned as rnnkit's allocator gives them, plus OFFSET bytes (the
// kernels' speed depends on it: plain gemm() packs B into a std::vector, 16-byte aligned).
// The output hash is equal across kernels that sum in the same order.
// Build after the addon (node-gyp build), from the repository root:
//   O=build/Release/obj.target/rnnkit/native/cpu
//   g++ -O2 -std=c++17 -I. bench/gemm-kernels.cpp $O/{gemm,isa,thread_pool,peak_probe}.o
//     $O/kernels_{avx2,avx512,generic,neon}.o -lpthread -o /tmp/gemm-kernels   (one line)
//   /tmp/gemm-kernels ISA THREADS [OFFSET]      e.g. /tmp/gemm-kernels avx2 1 16
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "native/cpu/gemm.h"
#include "native/cpu/isa.h"
#include "native/cpu/kernels.h"
#include "native/cpu/peak_probe.h"
#include "native/cpu/thread_pool.h"

using namespace rk::cpu;

namespace {

struct Free {
  void operator()(char* p) const { std::free(p); }
};

// n floats at 64-byte alignment + offset bytes, filled with values in [-0.5, 0.5).
struct Buffer {
  std::unique_ptr<char, Free> block;
  float* data = nullptr;
  size_t size = 0;
  Buffer(size_t n, size_t offset) : size(n) {
    block.reset(static_cast<char*>(std::aligned_alloc(64, (n * sizeof(float) + offset + 63) / 64 * 64)));
    data = reinterpret_cast<float*>(block.get() + offset);
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<float>(std::rand() % 1000) / 1000.0f - 0.5f;
  }
};

double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F>
double median_seconds(F f, int reps) {
  std::vector<double> t;
  f();
  for (int i = 0; i < reps; ++i) {
    const double s = seconds();
    f();
    t.push_back(seconds() - s);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const char* isa = argc > 1 ? argv[1] : "avx2";
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const size_t offset = argc > 3 ? static_cast<size_t>(std::atoi(argv[3])) : 0;
  set_isa(isa);
  ThreadPool::instance().set_threads(threads);
  const double peak = measure_fma_peak(isa, threads, 0.3);
  std::printf("isa %s, %d thread(s), operands 64-byte aligned + %zu bytes, FMA peak %.1f GFLOP/s\n", isa, threads,
              offset, peak);
  const int64_t shapes[][4] = {{32, 100, 128, 256}, {64, 50, 256, 512}, {16, 200, 32, 64}, {1, 100, 64, 128}};
  for (const auto& s : shapes) {
    const int64_t N = s[0], T = s[1], D = s[2], H = s[3], G = 4, GH = G * H;
    Buffer x(N * T * D, offset), w(D * GH, offset), y(N * T * GH, offset), h(N * H, offset), r(GH * H, offset);
    Buffer pw(packed_b_bytes(D, GH) / sizeof(float), offset);
    pack_b(false, D, GH, w.data, GH, pw.data);
    const double ti = median_seconds(
        [&] { gemm_packed_b(false, N * T, GH, D, 1.0f, x.data, D, pw.data, 0.0f, y.data, GH); }, 11);
    // Recurrent weights packed as recurrent.cpp's pack_recurrent: chunk c, gate g, unit j.
    const int64_t chunks = (H + kPanel - 1) / kPanel;
    Buffer pr(chunks * G * H * kPanel, offset), hr(N * GH, offset);
    for (int64_t c = 0; c < chunks; ++c)
      for (int64_t g = 0; g < G; ++g)
        for (int64_t j = 0; j < kPanel; ++j)
          for (int64_t p = 0; p < H; ++p) {
            const int64_t u = c * kPanel + j;
            pr.data[((c * G + g) * H + p) * kPanel + j] = u < H ? r.data[(g * H + u) * H + p] : 0.0f;
          }
    const Kernels& k = active_kernels();
    const bool by_rows = threads > 1 && N >= 8 * threads;
    auto step = [&](Range rows, Range ch, int64_t t) {
      if (rows.end <= rows.begin || ch.end <= ch.begin) return;
      const int64_t cols = std::min(H, ch.end * kPanel) - ch.begin * kPanel;
      k.gemm_block(rows.end - rows.begin, H, h.data + rows.begin * H, H, pr.data + ch.begin * G * H * kPanel,
                   H * kPanel, (ch.end - ch.begin) * G, G, H, cols, 1.0f, false,
                   hr.data + rows.begin * GH + ch.begin * kPanel, GH, t % 2 == 1);
    };
    const double tr = median_seconds(
        [&] {
          if (by_rows) {
            ThreadPool::instance().run([&](int index, int count) {
              for (int64_t t = 0; t < T; ++t) step(split_range(N, 1, index, count), Range{0, chunks}, t);
            }, threads);
            return;
          }
          // Split by units: a team that meets once per step, as recurrent.cpp's.
          ThreadPool::instance().run_team([&](int index, int count) {
            for (int64_t t = 0; t < T; ++t) {
              step(Range{0, N}, split_range(chunks, 1, index, count), t);
              count = ThreadPool::instance().meet(index, count);
              if (index >= count) return;
            }
          }, threads, 2.0 * N * T * H * GH);
        },
        11);
    uint64_t hash = 1469598103934665603ull;
    for (const Buffer* b : {&y, &hr})
      for (size_t i = 0; i < b->size; ++i) {
        uint32_t u;
        std::memcpy(&u, &b->data[i], sizeof u);
        hash = (hash ^ u) * 1099511628211ull;
      }
    const double fi = 2.0 * N * T * D * GH / ti / 1e9, fr = 2.0 * N * T * H * GH / tr / 1e9;
    std::printf("(%ld,%ld,%ld,%ld) input %7.3f ms %6.1f GFLOP/s %5.1f%% | recurrent ×%ld %7.3f ms %6.1f GFLOP/s %5.1f%% | hash %016lx\n",
                static_cast<long>(N), static_cast<long>(T), static_cast<long>(D), static_cast<long>(H), ti * 1e3, fi,
                100 * fi / peak, static_cast<long>(T), tr * 1e3, fr, 100 * fr / peak, static_cast<unsigned long>(hash));
  }
}
