#include "thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#include <immintrin.h>
#define RK_PAUSE() _mm_pause()
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define RK_PAUSE() asm volatile("yield")
#else
#define RK_PAUSE() std::this_thread::yield()
#endif

namespace rk::cpu {
namespace {

using Clock = std::chrono::steady_clock;

// Waiting threads spin (a hand-off between runs or steps takes microseconds) for a while,
// then yield their core (another process may need it, and on an oversubscribed machine
// spinning starves the very thread being waited for); idle workers finally sleep.
constexpr auto kSpinFor = std::chrono::microseconds(50);
constexpr auto kIdleSleepAfter = std::chrono::microseconds(500);
// How long a team waits for its members: awake workers join within a microsecond or two,
// sleeping ones need the kernel to wake them (tens of microseconds), which is worth a
// quarter of the time the work would take alone at kSoloFlopsPerUs, at most kJoinAsleep.
constexpr auto kJoinAwake = std::chrono::microseconds(30);
constexpr auto kJoinAsleep = std::chrono::microseconds(300);
constexpr double kSoloFlopsPerUs = 50e3;
// A meeting that waits this long, and several times longer than the work since the last
// one took, means a member is not running: it lost its core to another thread.
constexpr auto kMinStall = std::chrono::microseconds(100);
constexpr int kStallOverWork = 4;
// Independent parts: a wait for the others' parts over a quarter of the caller's own work
// time (and over kMinStall) is a straggler that lost its core.
constexpr int kStragglerShare = 4;
// After a stall, teams are of one for a while before the pool tries more again: 25 ms after
// a lone stall (a thread of this very process, or a passing job, took the core), twice as
// long each time the pool stalls again soon after trying, up to 2 s (a busy machine).
constexpr int64_t kCrowdedMinNs = 25'000'000;
constexpr int64_t kCrowdedMaxNs = 2'000'000'000;

class Backoff {
 public:
  // Returns false once `limit` has passed since construction.
  template <typename Duration>
  bool wait(Duration limit) {
    if ((++spins_ & 63) == 0) {
      const auto elapsed = Clock::now() - start_;
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
  Clock::time_point start_ = Clock::now();
  uint32_t spins_ = 0;
  bool yielding_ = false;
};

constexpr auto kForever = std::chrono::hours(24 * 365);

// For tests: every team ends at this meeting of its run, as if a member had stalled, so that
// the hand-over of a member's work to the caller is checked on every path.
uint64_t forced_shrink_meeting() {
  static const uint64_t meeting = [] {
    const char* env = std::getenv("RNNKIT_CPU_TEAM_ENDS_AT");
    return env ? std::strtoull(env, nullptr, 10) : 0;
  }();
  return meeting;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

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

int ThreadPool::parts_for(double work, double min_per_part) const {
  const double parts = min_per_part > 0 ? work / min_per_part : threads();
  return static_cast<int>(std::clamp(parts, 1.0, static_cast<double>(max_parts())));
}

int ThreadPool::max_parts() const { return crowded() ? kCrowdedParts * threads() : threads(); }

void ThreadPool::ensure_workers(int count) {
  while (static_cast<int>(workers_.size()) < count - 1) {
    workers_.emplace_back([this] { worker(); });
  }
  if (arrivals_size_ < count) {
    arrivals_ = std::make_unique<Arrivals[]>(count);
    arrivals_size_ = count;
  }
}

bool ThreadPool::crowded() const { return now_ns() < crowded_until_ns_.load(std::memory_order_relaxed); }

void ThreadPool::note_crowded() {
  const int64_t now = now_ns(), period = crowded_ns_.load(std::memory_order_relaxed);
  const bool again_soon = now - crowded_until_ns_.load(std::memory_order_relaxed) < 2 * period;
  const int64_t next = again_soon ? std::min(2 * period, kCrowdedMaxNs) : kCrowdedMinNs;
  crowded_ns_.store(next, std::memory_order_relaxed);
  crowded_until_ns_.store(now + next, std::memory_order_relaxed);
  crowded_periods_.fetch_add(1, std::memory_order_relaxed);
}

void ThreadPool::run_erased(Fn fn, void* ctx, int parts, double team_flops) {
  const bool team = team_flops >= 0;
  const int threads = this->threads();
  std::unique_lock<std::mutex> lock(run_mutex_, std::try_to_lock);
  if (threads <= 1 || parts <= 1 || !lock.owns_lock() || (team && crowded())) {
    if (team) {
      fn(ctx, 0, 1);
    } else {
      for (int p = 0; p < parts; ++p) fn(ctx, p, parts);
    }
    return;
  }
  ensure_workers(threads);
  fn_ = fn;
  ctx_ = ctx;
  team_mode_ = team;
  if (team)
    run_as_team(std::min(parts, threads), team_flops);
  else
    run_in_parts(parts);
}

void ThreadPool::run_as_team(int max_threads, double flops) {
  parts_ = max_threads;
  team_.store(1, std::memory_order_relaxed);
  for (int i = 0; i < max_threads; ++i) arrivals_[i].count.store(0, std::memory_order_relaxed);
  stall_seen_.store(false, std::memory_order_relaxed);
  shrink_at_.store(0, std::memory_order_relaxed);
  const bool asleep = sleeping_.load(std::memory_order_acquire) > 0;
  const auto worth = std::chrono::microseconds(static_cast<int64_t>(flops / kSoloFlopsPerUs / 4));
  publish();
  const int size = form_team(max_threads, asleep ? std::clamp(worth, kJoinAwake, kJoinAsleep) : kJoinAwake);
  arrivals_[0].last_meet = Clock::now();
  fn_(ctx_, 0, size);
  close_and_wait();
}

void ThreadPool::run_in_parts(int parts) {
  parts_ = parts;
  next_part_.store(0, std::memory_order_relaxed);
  const auto start = Clock::now();
  publish();
  const int mine = claim_parts();
  const auto done = Clock::now();
  close_and_wait();
  if (mine == 0) return;
  // The part another thread claimed last may keep the caller waiting up to a part's time:
  // that is the parts' grain, not a stall. Waiting past it, as long as a good share of the
  // caller's own work took, means a worker is not getting its core.
  const auto part_time = (done - start) / mine;
  const auto due = std::max(done, Clock::time_point(Clock::duration(last_claim_.load(std::memory_order_relaxed))) + part_time);
  const auto late = Clock::now() - due;
  if (late > kMinStall && late * kStragglerShare > done - start) note_crowded();
}

int ThreadPool::claim_parts() {
  int claimed = 0;
  for (int p; (p = next_part_.fetch_add(1, std::memory_order_relaxed)) < parts_; ++claimed) {
    last_claim_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    fn_(ctx_, p, parts_);
  }
  return claimed;
}

void ThreadPool::publish() {
  const uint64_t gen = generation_.load(std::memory_order_relaxed) + 1;
  open_.store(gen, std::memory_order_seq_cst);
  {
    std::lock_guard<std::mutex> guard(sleep_mutex_);
    generation_.store(gen, std::memory_order_release);
  }
  if (sleeping_.load(std::memory_order_acquire) > 0) wake_.notify_all();
}

void ThreadPool::close_and_wait() {
  // A worker that enters after this sees the run closed and touches none of its fields.
  open_.store(0, std::memory_order_seq_cst);
  for (Backoff b; active_.load(std::memory_order_seq_cst) != 0;) b.wait(kForever);
}

int ThreadPool::form_team(int max_threads, std::chrono::microseconds window) {
  const auto deadline = Clock::now() + window;
  int size = team_.load(std::memory_order_acquire);
  for (Backoff b; size < max_threads && Clock::now() < deadline; size = team_.load(std::memory_order_acquire))
    b.wait(kForever);
  while (!team_.compare_exchange_weak(size, kSealed + size, std::memory_order_acq_rel)) {
  }
  return size;
}

void ThreadPool::join_team() {
  int slot = team_.load(std::memory_order_acquire);
  do {
    if (slot >= parts_) return;  // sealed (kSealed + size) or full
  } while (!team_.compare_exchange_weak(slot, slot + 1, std::memory_order_acq_rel));
  int sealed;
  for (Backoff b; (sealed = team_.load(std::memory_order_acquire)) < kSealed;) b.wait(kForever);
  arrivals_[slot].last_meet = Clock::now();
  fn_(ctx_, slot, sealed - kSealed);
}

int ThreadPool::meet(int index, int team) {
  if (team <= 1) return team;
  Arrivals& mine = arrivals_[index];
  const auto arrived_at = Clock::now();
  const uint64_t meeting = mine.count.load(std::memory_order_relaxed) + 1;
  // The caller decides, before it arrives, whether the team ends at this meeting; the
  // others read the decision once the meeting is complete (the caller's arrival, which
  // they have then seen, was stored after it).
  if (index == 0 && stall_seen_.load(std::memory_order_relaxed)) {
    shrink_at_.store(meeting, std::memory_order_relaxed);
    stalled_teams_.fetch_add(1, std::memory_order_relaxed);
    note_crowded();
  } else if (index == 0 && meeting == forced_shrink_meeting()) {
    shrink_at_.store(meeting, std::memory_order_relaxed);
  }
  mine.count.store(meeting, std::memory_order_release);
  for (int other = 0; other < team; ++other) {
    if (other == index) continue;
    for (Backoff b; arrivals_[other].count.load(std::memory_order_acquire) < meeting;) b.wait(kForever);
  }
  const auto left_at = Clock::now();
  const auto waited = left_at - arrived_at, worked = arrived_at - mine.last_meet;
  if (waited > kMinStall && waited > kStallOverWork * worked) stall_seen_.store(true, std::memory_order_relaxed);
  mine.last_meet = left_at;
  return shrink_at_.load(std::memory_order_relaxed) == meeting ? 1 : team;
}

void ThreadPool::worker() {
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
    // Entering before checking that the run is open, against the caller closing it before
    // checking that nobody is inside: one of the two sees the other (both sequentially
    // consistent).
    active_.fetch_add(1, std::memory_order_seq_cst);
    if (open_.load(std::memory_order_seq_cst) == gen) {
      if (team_mode_)
        join_team();
      else
        claim_parts();
    }
    active_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace rk::cpu
