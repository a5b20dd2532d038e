// Runs a computation on a libuv worker thread and settles a Promise with its result,
// so heavy native work never blocks the event loop. Work too small to be worth the trip
// runs on the calling thread instead (see inline_work_limit).
#ifndef RNNKIT_NAPI_PROMISE_WORKER_H
#define RNNKIT_NAPI_PROMISE_WORKER_H

#include <napi.h>

#include <cstdlib>
#include <functional>
#include <utility>

#include "addon.h"
#include "convert.h"

namespace rk::napi {

// Work below this many FLOPs runs on the calling thread (run_here). Handing work to a libuv
// thread and back wakes two sleeping threads, which on a 2-core virtual machine took longer
// than such work itself, and it is what a streaming session's one-step forwards would mostly
// wait on. 2 MFLOP is tens of microseconds of compute, a block the event loop does not notice.
// RNNKIT_INLINE_WORK sets the bound (0: everything is queued).
inline double inline_work_limit() {
  static const double limit = [] {
    const char* env = std::getenv("RNNKIT_INLINE_WORK");
    if (!env || !*env) return 2e6;
    char* end = nullptr;
    const double value = std::strtod(env, &end);
    return end && *end == '\0' && value >= 0 ? value : 2e6;
  }();
  return limit;
}

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Compute = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  // Queues the work and returns the Promise it will settle, or, for work below
  // inline_work_limit() FLOPs (negative: unknown, always queued), runs it here (run_here).
  // `operation` names the work in errors (e.g. "out of memory in lstm forward").
  static Napi::Promise start(Napi::Env env, const char* operation, Compute compute, ToJs to_js, double work = -1) {
    if (work >= 0 && work < inline_work_limit() && !Addon::of(env).set_immediate.IsEmpty())
      return run_here(env, operation, compute, std::move(to_js));
    auto* worker = new PromiseWorker(env, operation, std::move(compute), std::move(to_js));  // deletes itself when complete
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 private:
  PromiseWorker(Napi::Env env, const char* operation, Compute compute, ToJs to_js)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), operation_(operation),
        compute_(std::move(compute)), to_js_(std::move(to_js)) {}

  void Execute() override {
    error_.run([&] { result_ = compute_(); }, operation_);
  }

  // In an environment that is shutting down (a terminated worker thread, process.exit with
  // work in flight) no JavaScript can run and N-API calls fail: nothing may throw out of a
  // completion callback there, so a failure to settle is dropped. The result's native memory
  // is owned by result_ and freed with this worker either way.
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    if (status != napi_cancelled) {
      try {
        Napi::HandleScope scope(env);
        settle(env, deferred_, error_, result_, to_js_, operation_);
      } catch (...) {
      }
    }
    Destroy();
  }

  // The Promise is still settled from a later turn of the event loop (setImmediate), as a
  // queued one would be: a loop of `await`s on small passes must not starve timers and I/O.
  static Napi::Promise run_here(Napi::Env env, const char* operation, const Compute& compute, ToJs to_js) {
    struct Outcome {
      Napi::Promise::Deferred deferred;
      Result result{};
      CapturedError error;
      ToJs to_js;
      const char* operation;
    };
    auto outcome = std::make_shared<Outcome>(Outcome{Napi::Promise::Deferred::New(env), Result{}, {}, std::move(to_js), operation});
    outcome->error.run([&] { outcome->result = compute(); }, operation);
    Napi::Function settle_later = Napi::Function::New(env, [outcome](const Napi::CallbackInfo& info) {
      try {  // as OnWorkComplete: nothing may throw out of it while the environment shuts down
        settle(info.Env(), outcome->deferred, outcome->error, outcome->result, outcome->to_js, outcome->operation);
      } catch (...) {
      }
    });
    Addon::of(env).set_immediate.Call({settle_later});
    return outcome->deferred.Promise();
  }

  static void settle(Napi::Env env, Napi::Promise::Deferred& deferred, const CapturedError& error, Result& result,
                     const ToJs& to_js, const char* operation) {
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
  }

  Napi::Promise::Deferred deferred_;
  const char* operation_;
  Compute compute_;
  ToJs to_js_;
  Result result_{};
  CapturedError error_;
};

}  // namespace rk::napi

#endif
