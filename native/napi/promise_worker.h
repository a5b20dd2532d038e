// Runs a computation off the event loop (on a libuv thread, or on rnnkit's home thread) and
// settles a Promise with its result, so heavy native work never blocks the event loop.
// Work too small to be worth the trip runs on the calling thread instead.
#ifndef RNNKIT_NAPI_PROMISE_WORKER_H
#define RNNKIT_NAPI_PROMISE_WORKER_H

#include <napi.h>

#include <functional>
#include <utility>

#include "../cpu/home_thread.h"
#include "../cpu/thread_pool.h"
#include "addon.h"
#include "convert.h"

namespace rk::napi {

// A Promise and what settles it: the computation's result or error, and the conversion of
// the result to JavaScript. Settled on the JavaScript thread, once.
template <typename Result>
struct PendingResult {
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  PendingResult(Napi::Env env, const char* operation, ToJs to_js)
      : deferred(Napi::Promise::Deferred::New(env)), operation(operation), to_js(std::move(to_js)) {}

  template <typename Compute>
  void compute(const Compute& body) {
    error.run([&] { result = body(); }, operation);
  }

  // In an environment that is shutting down (a terminated worker thread, process.exit with
  // work in flight) no JavaScript can run and N-API calls fail: nothing may throw out of the
  // callback that settles, so a failure to settle is dropped. The result's native memory is
  // owned here until then, and freed either way.
  void settle(Napi::Env env) noexcept {
    try {
      Napi::HandleScope scope(env);
      if (error.set) {
        deferred.Reject(error.to_js(env));
        return;
      }
      Napi::Value value;
      CapturedError conversion;
      conversion.run([&] { value = to_js(env, result); }, operation);
      if (conversion.set)
        deferred.Reject(conversion.to_js(env));
      else
        deferred.Resolve(value);
    } catch (...) {
    }
    // What the conversion did not take is freed now, not when the holder is collected.
    result = Result{};
  }

  Napi::Promise::Deferred deferred;
  const char* operation;
  ToJs to_js;
  Result result{};
  CapturedError error;
};

// Runs a computation off the JavaScript thread (a libuv thread, or the home thread for large
// work) and settles a Promise with its result. Work below Addon::inline_work FLOPs runs on
// the calling thread instead: handing work to a libuv thread and back wakes two sleeping
// threads, which on a 2-core virtual machine took longer than such work itself (a
// streaming session's one-step forwards would mostly wait on it).
template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Compute = std::function<Result()>;
  using ToJs = typename PendingResult<Result>::ToJs;

  // Queues the work and returns the Promise it will settle, or runs it here for work below
  // the inline bound (`work` in FLOPs; negative: unknown, always queued). `operation` names
  // the work in errors (e.g. "out of memory in lstm forward").
  static Napi::Promise start(Napi::Env env, const char* operation, Compute compute, ToJs to_js, double work = -1) {
    const Addon& addon = Addon::of(env);
    if (work >= 0 && work < addon.inline_work && !addon.set_immediate.IsEmpty())
      return run_here(env, operation, compute, std::move(to_js));
    auto* worker = new PromiseWorker(env, operation, std::move(compute), std::move(to_js), work);  // deletes itself when complete
    Napi::Promise promise = worker->pending_.deferred.Promise();
    worker->Queue();
    return promise;
  }

 private:
  PromiseWorker(Napi::Env env, const char* operation, Compute compute, ToJs to_js, double work)
      : Napi::AsyncWorker(env), pending_(env, operation, std::move(to_js)), compute_(std::move(compute)), work_(work) {}

  // Calls of kHomeWork FLOPs or more run on the home thread (see home_thread.h) while no
  // other call holds it and the machine is quiet; the rest on the libuv thread that has
  // them. The hand-off wakes two more threads (tens of microseconds on a virtual machine):
  // more than a smaller call gains, and while the CPU pool is crowded (its threads do not
  // all get their cores) each wake-up is one more chance to land behind another process.
  static constexpr double kHomeWork = 5e7;
  void Execute() override {
    const std::function<void()> compute = [this] { pending_.compute(compute_); };
    const bool home = work_ >= kHomeWork && !cpu::ThreadPool::instance().crowded();
    if (!home || !cpu::HomeThread::instance().run(compute)) compute();
  }

  void OnWorkComplete(Napi::Env env, napi_status status) override {
    if (status != napi_cancelled) pending_.settle(env);
    Destroy();
  }

  // The Promise is still settled from a later turn of the event loop (setImmediate), as a
  // queued one would be: a loop of `await`s on small passes must not starve timers and I/O.
  static Napi::Promise run_here(Napi::Env env, const char* operation, const Compute& compute, ToJs to_js) {
    auto pending = std::make_shared<PendingResult<Result>>(env, operation, std::move(to_js));
    pending->compute(compute);
    Addon::of(env).settle_later([pending](Napi::Env settle_env) { pending->settle(settle_env); });
    return pending->deferred.Promise();
  }

  PendingResult<Result> pending_;
  Compute compute_;
  double work_;
};

}  // namespace rk::napi

#endif
