// Runs a computation on a libuv worker thread and settles a Promise with its result,
// so heavy native work never blocks the event loop.
#ifndef RNNKIT_NAPI_PROMISE_WORKER_H
#define RNNKIT_NAPI_PROMISE_WORKER_H

#include <napi.h>

#include <functional>
#include <utility>

#include "convert.h"

namespace rk::napi {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Compute = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  // Queues the work and returns the Promise it will settle. `operation` names the work in
  // errors (e.g. "out of memory in lstm forward").
  static Napi::Promise start(Napi::Env env, const char* operation, Compute compute, ToJs to_js) {
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
        settle(env);
      } catch (...) {
      }
    }
    Destroy();
  }

  void settle(Napi::Env env) {
    if (error_.set) {
      deferred_.Reject(error_.to_js(env));
      return;
    }
    Napi::Value value;
    CapturedError conversion;
    conversion.run([&] { value = to_js_(env, result_); }, operation_);
    if (conversion.set)
      deferred_.Reject(conversion.to_js(env));
    else
      deferred_.Resolve(value);
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
