// A persistent pool of CPU worker threads, built for a machine it does not have to itself.
// Work comes in two forms:
//  - run(): independent parts, each claimed by whichever thread gets to it first. The caller
//    claims parts too and never waits for a worker that has not started one, so a worker
//    that is asleep or not being scheduled costs nothing but its own part.
//  - run_team(): parts that meet at barriers (a recurrence, step by step), so all of them
//    must run at once. The team is the workers that join within a short window; a meeting
//    that waits far longer than the work between meetings took (a member lost its core)
//    ends the team there, the caller finishes alone, and the pool runs teams of one for a
//    while before trying again (25 ms, doubling while stalls keep coming, up to 2 s).
// Idle workers spin briefly (the runs of one forward pass follow each other within
// microseconds), then yield, then sleep.
#ifndef RNNKIT_CPU_THREAD_POOL_H
#define RNNKIT_CPU_THREAD_POOL_H

#include <atomic>
#include <chrono>
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

  // The most threads a run uses, the caller included.
  int threads() const { return threads_.load(std::memory_order_relaxed); }
  void set_threads(int count);
  static int hardware_threads();

  // How many parts `work` is worth splitting into when each part should have at least
  // `min_per_part` of it: 1 (run on the caller, no hand-off) up to max_parts().
  int parts_for(double work, double min_per_part) const;
  // The most parts worth cutting independent work into: threads(), or kCrowdedParts times
  // that while the pool is crowded (some thread recently did not get its core), so that
  // the threads that do run can claim the parts of one that does not.
  int max_parts() const;
  static constexpr int kCrowdedParts = 4;
  // Whether some thread recently did not get its core (a stall, or a straggler part).
  bool crowded() const;

  // Runs body(part, parts) once for every part in [0, parts), parts = threads() by default.
  // Concurrent callers (two forward passes at once) do not wait for each other: the later
  // one runs its parts alone.
  template <typename F>
  void run(F&& body, int parts = 0) {
    run_erased(&call<F>, &body, parts > 0 ? parts : threads(), -1);
  }

  // Runs body(index, team) on `team` threads at once, team <= max_threads. Inside, meet()
  // is the barrier between the members. `flops`, the work's size, bounds how long the
  // caller waits for sleeping workers to join rather than starting alone.
  template <typename F>
  void run_team(F&& body, int max_threads, double flops) {
    run_erased(&call<F>, &body, max_threads, flops);
  }

  // A barrier of a run_team() body for member `index` of `team`. Returns the team that goes
  // on: the same, or 1 once a member has been seen not to get its core. Members at or above
  // the returned size must leave the body at once (the caller, index 0, always stays and
  // takes over all the work).
  int meet(int index, int team);

  // Teams ended so far because a member lost its core.
  uint64_t stalled_teams() const { return stalled_teams_.load(std::memory_order_relaxed); }
  // Times so far the pool found itself crowded (a stalled team, or a caller left waiting
  // on a part another thread claimed).
  uint64_t crowded_periods() const { return crowded_periods_.load(std::memory_order_relaxed); }

  ~ThreadPool();

 private:
  using Fn = void (*)(void*, int, int);
  using Clock = std::chrono::steady_clock;
  template <typename F>
  static void call(void* ctx, int index, int count) {
    (*static_cast<F*>(ctx))(index, count);
  }
  ThreadPool();
  // team_flops < 0: independent parts.
  void run_erased(Fn fn, void* ctx, int parts, double team_flops);
  void run_as_team(int max_threads, double flops);
  void run_in_parts(int parts);
  int claim_parts();  // runs parts of the current run until none is left unclaimed; returns how many
  int form_team(int max_threads, std::chrono::microseconds window);
  void join_team();
  void worker();
  void ensure_workers(int count);
  void note_crowded();
  void publish();
  void close_and_wait();

  std::atomic<int> threads_{1};
  std::mutex run_mutex_;  // one run at a time
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stop_{false};

  // The run in progress. Its fields are written before open_ is set to its generation and
  // read only by workers that entered it (active_) while it was open.
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  int parts_ = 0;
  bool team_mode_ = false;
  std::atomic<uint64_t> open_{0};
  std::atomic<int> active_{0};
  std::atomic<int> next_part_{0};
  std::atomic<Clock::rep> last_claim_{0};  // when the latest part was claimed
  // Team formation: members joined so far (the caller is member 0), or, once sealed,
  // kSealed + the team's size.
  static constexpr int kSealed = 1 << 20;
  std::atomic<int> team_{0};

  // Barriers count arrivals per member, each in its own cache line: arriving is a store to
  // a line only its owner writes, and waiting reads the others' lines (for two threads, one
  // cache-line transfer each way instead of a shared counter bouncing between cores).
  struct alignas(64) Arrivals {
    std::atomic<uint64_t> count{0};
    Clock::time_point last_meet{};  // the owner's own, for telling work from waiting
  };
  std::unique_ptr<Arrivals[]> arrivals_;
  int arrivals_size_ = 0;
  std::atomic<bool> stall_seen_{false};
  std::atomic<uint64_t> shrink_at_{0};  // the meeting at which the team ends, 0: none
  std::atomic<int64_t> crowded_until_ns_{0};
  std::atomic<int64_t> crowded_ns_{0};  // the length of the last crowded period
  std::atomic<uint64_t> stalled_teams_{0};
  std::atomic<uint64_t> crowded_periods_{0};
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

// Runs body(range) over [0, total) cut into ranges aligned to `grain`, as many as a memory
// pass over `floats` floats is worth (copies, permutes, transposes, packing): below 64K
// floats a part, a hand-off costs more than it saves and the caller does it all.
template <typename F>
void copy_in_parts(int64_t total, int64_t grain, double floats, F&& body) {
  constexpr double kMinFloatsPerPart = 1 << 16;
  ThreadPool& pool = ThreadPool::instance();
  pool.run([&](int index, int count) {
    const Range r = split_range(total, grain, index, count);
    if (r.begin < r.end) body(r);
  }, pool.parts_for(floats, kMinFloatsPerPart));
}

}  // namespace rk::cpu

#endif
