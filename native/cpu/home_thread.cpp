#include "home_thread.h"

#include <system_error>
#include <utility>

namespace rk::cpu {

HomeThread& HomeThread::instance() {
  // Never destroyed, as the thread pool: at exit() a call may still be running on it.
  static HomeThread* home = new HomeThread();
  return *home;
}

bool HomeThread::run(const std::function<void()>& body) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (held_) {
    busy_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread([this] { loop(); });
    } catch (const std::system_error&) {
      return false;  // no thread to be had: the caller runs the call
    }
  }
  held_ = true;
  body_ = &body;
  done_ = false;
  lock.unlock();
  posted_.notify_one();
  lock.lock();
  finished_.wait(lock, [this] { return done_; });
  held_ = false;
  calls_.fetch_add(1, std::memory_order_relaxed);
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  return true;
}

void HomeThread::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    posted_.wait(lock, [this] { return body_ != nullptr; });
    const std::function<void()>& body = *std::exchange(body_, nullptr);
    lock.unlock();
    try {
      body();
    } catch (...) {
      error_ = std::current_exception();
    }
    lock.lock();
    done_ = true;
    finished_.notify_one();
  }
}

}  // namespace rk::cpu
