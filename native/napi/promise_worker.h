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

  // Queues the work and returns the Promise it will settle.
  static Napi::Promise start(Napi::Env env, Compute compute, ToJs to_js) {
    auto* worker = new PromiseWorker(env, std::move(compute), std::move(to_js));  // owned by libuv
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 private:
  PromiseWorker(Napi::Env env, Compute compute, ToJs to_js)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        compute_(std::move(compute)), to_js_(std::move(to_js)) {}

  void Execute() override {
    error_.run([&] { result_ = compute_(); });
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (error_.kind != CapturedError::Kind::None) {
      deferred_.Reject(error_.to_js(env));
      return;
    }
    try {
      deferred_.Resolve(to_js_(env, result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  Napi::Promise::Deferred deferred_;
  Compute compute_;
  ToJs to_js_;
  Result result_{};
  CapturedError error_;
};

}  // namespace rk::napi

#endif
