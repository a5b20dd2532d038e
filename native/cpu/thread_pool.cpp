#include "thread_pool.h"

#include <algorithm>
#include <chrono>
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

// Waiting threads spin (cheap, microsecond hand-offs between timesteps) for a while, then
// yield their core (another process may need it: spinning on an oversubscribed machine
// starves the very thread being waited for), and idle workers finally sleep.
constexpr auto kSpinFor = std::chrono::microseconds(200);
constexpr auto kIdleSleepAfter = std::chrono::milliseconds(2);

class Backoff {
 public:
  // Returns false once `limit` has passed since construction.
  template <typename Duration>
  bool wait(Duration limit) {
    if ((++spins_ & 255) == 0) {
      const auto elapsed = std::chrono::steady_clock::now() - start_;
      if (elapsed > limit) return false;
      yielding_ = elapsed > kSpinFor;
    }
    if (yielding_)
      std::this_thread::yield();
    else
      RK_PAUSE();
    return true;
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  uint32_t spins_ = 0;
  bool yielding_ = false;
};

constexpr auto kForever = std::chrono::hours(24 * 365);

}  // namespace

ThreadPool& ThreadPool::instance() {
  // Never destroyed: at exit() a libuv thread may still be running a pass on the pool, and
  // joining the workers under it would hang or free what it uses. The OS ends the threads.
  static ThreadPool* pool = new ThreadPool();
  return *pool;
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
  if (arrivals_size_ < count) {
    arrivals_ = std::make_unique<Arrivals[]>(count);
    arrivals_size_ = count;
  }
  for (int i = 0; i < count; ++i) arrivals_[i].count.store(0, std::memory_order_relaxed);
  fn_ = fn;
  ctx_ = ctx;
  count_ = count;
  // Every worker acknowledges every run, also those beyond `count` (after a thread-count
  // change), so that none can still be reading this run's fields when the next one starts.
  remaining_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> guard(sleep_mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  if (sleeping_.load(std::memory_order_acquire) > 0) wake_.notify_all();
  fn(ctx, 0, count);
  for (Backoff b; remaining_.load(std::memory_order_acquire) != 0;) b.wait(kForever);
}

void ThreadPool::barrier(int index, int count) {
  if (count <= 1) return;
  const uint64_t arrived = arrivals_[index].count.load(std::memory_order_relaxed) + 1;
  arrivals_[index].count.store(arrived, std::memory_order_release);
  for (int other = 0; other < count; ++other) {
    if (other == index) continue;
    for (Backoff b; arrivals_[other].count.load(std::memory_order_acquire) < arrived;) b.wait(kForever);
  }
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (Backoff b; gen == seen && !stop_.load(std::memory_order_relaxed) && b.wait(kIdleSleepAfter);)
      gen = generation_.load(std::memory_order_acquire);
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(sleep_mutex_);
      sleeping_.fetch_add(1, std::memory_order_acq_rel);
      wake_.wait(lock, [&] { return stop_.load() || generation_.load(std::memory_order_acquire) != seen; });
      sleeping_.fetch_sub(1, std::memory_order_acq_rel);
      if (stop_) return;
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (index < count_) fn_(ctx_, index, count_);
    remaining_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace rk::cpu
