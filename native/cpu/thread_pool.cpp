#include "thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RK_PAUSE() _mm_pause()
#else
#define RK_PAUSE() std::this_thread::yield()
#endif

namespace rk::cpu {
namespace {
// About a millisecond of busy-waiting before an idle worker sleeps: the gap between the
// launches of consecutive timesteps is microseconds. (Yielding instead of pausing was
// measured to turn those gaps into scheduler round trips of ~50 µs.)
constexpr int kSpinsBeforeSleep = 1 << 15;

void backoff(int) { RK_PAUSE(); }
}  // namespace

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

int ThreadPool::hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

ThreadPool::ThreadPool() {
  int count = hardware_threads();
  if (const char* env = std::getenv("RNNKIT_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) count = n;
  }
  threads_ = count;
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::set_threads(int count) {
  std::lock_guard<std::mutex> lock(run_mutex_);
  threads_ = std::max(1, count);
}

void ThreadPool::ensure_workers(int count) {
  while (static_cast<int>(workers_.size()) < count - 1) {
    const int index = static_cast<int>(workers_.size()) + 1;
    workers_.emplace_back([this, index] { worker(index); });
  }
}

void ThreadPool::run_erased(Fn fn, void* ctx) {
  const int count = threads();
  std::unique_lock<std::mutex> lock(run_mutex_, std::try_to_lock);
  if (count <= 1 || !lock.owns_lock()) {
    fn(ctx, 0, 1);
    return;
  }
  ensure_workers(count);
  fn_ = fn;
  ctx_ = ctx;
  count_ = count;
  remaining_.store(count - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> guard(sleep_mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  if (sleeping_.load(std::memory_order_acquire) > 0) wake_.notify_all();
  fn(ctx, 0, count);
  for (int spin = 0; remaining_.load(std::memory_order_acquire) != 0; ++spin) backoff(spin);
}

void ThreadPool::barrier(int count) {
  if (count <= 1) return;
  const uint32_t phase = barrier_phase_.load(std::memory_order_acquire);
  if (barrier_arrived_.fetch_add(1, std::memory_order_acq_rel) == count - 1) {
    barrier_arrived_.store(0, std::memory_order_relaxed);
    barrier_phase_.fetch_add(1, std::memory_order_release);
    return;
  }
  while (barrier_phase_.load(std::memory_order_acquire) == phase) RK_PAUSE();
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinsBeforeSleep && !stop_.load(std::memory_order_relaxed); ++spin) {
      backoff(spin);
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(sleep_mutex_);
      sleeping_.fetch_add(1, std::memory_order_acq_rel);
      wake_.wait(lock, [&] { return stop_.load() || generation_.load(std::memory_order_acquire) != seen; });
      sleeping_.fetch_sub(1, std::memory_order_acq_rel);
      if (stop_) return;
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (index < count_) {
      fn_(ctx_, index, count_);
      remaining_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
}

}  // namespace rk::cpu
