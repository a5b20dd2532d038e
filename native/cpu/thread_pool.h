// A persistent pool of CPU worker threads. run() hands a body to `count` threads (the
// caller is one of them) and returns when all are done. Idle workers spin briefly before
// sleeping, so the per-timestep launches of an RNN cost microseconds, not a wake-up each.
#ifndef RNNKIT_CPU_THREAD_POOL_H
#define RNNKIT_CPU_THREAD_POOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace rk::cpu {

class ThreadPool {
 public:
  static ThreadPool& instance();

  // Threads a run() uses, the caller included.
  int threads() const { return threads_.load(std::memory_order_relaxed); }
  void set_threads(int count);
  static int hardware_threads();

  // Runs body(index, count) for index 0..count-1 with count = threads(). Concurrent callers
  // (two forward passes at once) do not wait for each other: the later one runs alone.
  template <typename F>
  void run(F&& body) {
    run_erased([](void* ctx, int index, int count) { (*static_cast<F*>(ctx))(index, count); }, &body);
  }

  // Inside run(), by thread `index`: waits until all `count` threads of the run arrive
  // (count 1: no wait).
  void barrier(int index, int count);

  ~ThreadPool();

 private:
  using Fn = void (*)(void*, int, int);
  ThreadPool();
  void run_erased(Fn fn, void* ctx);
  void worker(int index);
  void ensure_workers(int count);

  std::atomic<int> threads_{1};
  std::mutex run_mutex_;  // one run at a time
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> remaining_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stop_{false};
  // Barriers count arrivals per thread, each in its own cache line: arriving is a store to
  // a line only its owner writes, and waiting reads the others' lines (for two threads, one
  // cache-line transfer each way instead of a shared counter bouncing between cores).
  struct alignas(64) Arrivals {
    std::atomic<uint64_t> count{0};
  };
  std::unique_ptr<Arrivals[]> arrivals_;
  int arrivals_size_ = 0;
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  int count_ = 0;
};

// Splits [0, total) into `count` contiguous parts aligned to `grain`; part `index`.
struct Range {
  int64_t begin, end;
};
inline Range split_range(int64_t total, int64_t grain, int index, int count) {
  const int64_t units = (total + grain - 1) / grain;
  const int64_t b = units * index / count * grain, e = units * (index + 1) / count * grain;
  return {b < total ? b : total, e < total ? e : total};
}

}  // namespace rk::cpu

#endif
