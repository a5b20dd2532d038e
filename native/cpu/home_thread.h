// One persistent thread that runs whole calls (a layer's forward pass, a training step) in
// place of whichever libuv thread picked them up. libuv hands consecutive calls to any of
// its threads, each last run on some core of its own: a call would often start on a core
// that holds none of its weights, or on the very core of the pool worker it is about to
// need. The home thread keeps one history with the scheduler, which wakes it on the core it
// last ran on while that core is free.
#ifndef RNNKIT_CPU_HOME_THREAD_H
#define RNNKIT_CPU_HOME_THREAD_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace rk::cpu {

class HomeThread {
 public:
  static HomeThread& instance();

  // Runs body on the home thread, the caller blocked until it is done, and returns true; or
  // returns false at once, body not run, while another call holds the home thread (the
  // caller then runs it itself, so concurrent calls still run at once). body's exceptions
  // are rethrown here.
  bool run(const std::function<void()>& body);

  // Calls run on the home thread so far, and calls that found it held by another.
  uint64_t calls() const { return calls_.load(std::memory_order_relaxed); }
  uint64_t busy() const { return busy_.load(std::memory_order_relaxed); }

 private:
  HomeThread() = default;
  void loop();

  std::mutex mutex_;
  std::condition_variable posted_, finished_;
  bool held_ = false;
  const std::function<void()>* body_ = nullptr;
  bool done_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // started by the first call
  std::atomic<uint64_t> calls_{0}, busy_{0};
};

}  // namespace rk::cpu

#endif
