// Bindings of weight initialization (native/core/initializers.h).
//
//   initValues(array) -> Float32Array                        synchronous (rk.initialize)
//   initRun(arrays, backend, rnn | null) -> result            synchronous (small layers)
//   initStart(arrays, backend, rnn | null) -> { promise, wait, cancel }
//     result: { tensors: NativeTensor[], prepared?: NativeRnnWeights }
//
// initStart runs the job on a libuv thread (PromiseWorker). wait() blocks the calling
// JavaScript thread until the job is done (running it there if no worker has started it
// yet) and returns the result; the promise then resolves with null. Whichever comes first
// gets the tensors, so they are wrapped once. cancel() stops the work at its next check
// (the promise then rejects; nobody waits for it). With `rnn` the arrays are the layer's Keras
// arrays and the result holds the canonical tensors and their prepared form.
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>

#include "../core/householder_qr.h"
#include "../core/initializers.h"
#include "../core/layout.h"
#include "../core/rnn.h"
#include "addon.h"
#include "backends.h"
#include "convert.h"
#include "promise_worker.h"
#include "tensor_handle.h"

namespace rk::napi {
namespace {

InitDraw::Kind parse_kind(const std::string& name, const std::string& where) {
  using K = InitDraw::Kind;
  if (name == "zeros") return K::Zeros;
  if (name == "constant") return K::Constant;
  if (name == "uniform") return K::Uniform;
  if (name == "normal") return K::Normal;
  if (name == "truncatedNormal") return K::TruncatedNormal;
  if (name == "orthogonal") return K::Orthogonal;
  if (name == "identity") return K::Identity;
  throw rk::TypeError(where + ".kind: unknown draw '" + name + "'");
}

// { shape, parts: [{ kind, a, b, seed, shape }] }
InitArray to_init_array(const Napi::Value& v, const std::string& where) {
  Napi::Object o = expect_object(v, where);
  InitArray array;
  array.shape = to_shape(o.Get("shape"), where + ".shape");
  Napi::Value parts = o.Get("parts");
  if (!parts.IsArray()) throw rk::TypeError(where + ".parts must be an array");
  Napi::Array list = parts.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string w = where + ".parts[" + std::to_string(i) + "]";
    Napi::Object p = expect_object(list.Get(i), w);
    InitDraw d;
    d.kind = parse_kind(get_string(p, "kind", w), w);
    d.a = get_number(p, "a", w);
    d.b = get_number(p, "b", w);
    d.seed = get_number(p, "seed", w);
    d.shape = to_shape(p.Get("shape"), w + ".shape");
    array.parts.push_back(std::move(d));
  }
  validate(array);
  return array;
}

std::vector<InitArray> to_init_arrays(const Napi::Value& v) {
  if (!v.IsArray()) throw rk::TypeError("arrays must be an array");
  Napi::Array list = v.As<Napi::Array>();
  std::vector<InitArray> arrays;
  for (uint32_t i = 0; i < list.Length(); ++i) arrays.push_back(to_init_array(list.Get(i), "arrays[" + std::to_string(i) + "]"));
  return arrays;
}

struct InitResult {
  std::vector<Tensor> tensors;
  std::shared_ptr<const RnnWeights> prepared;
};

Tensor device_tensor(const Device& device, Shape shape, const float* values) {
  Tensor t = make_tensor(device, std::move(shape));
  if (t.size() > 0)
    device.check(device.ops().copy(t.data(), values, t.size() * sizeof(float), RK_HOST_TO_DEVICE), "copy");
  return t;
}

// One initialization: run once, by a worker or by a waiting JavaScript thread, whichever
// starts it first; its result is handed out once.
class InitJob {
 public:
  InitJob(std::vector<InitArray> arrays, const Device& device, std::optional<std::pair<RnnDesc, bool>> rnn)
      : arrays_(std::move(arrays)), device_(device), rnn_(std::move(rnn)) {}

  // Runs the job here unless it has started elsewhere, then waits for it to finish.
  // `spare_core`: this thread runs beside a live event loop (a libuv worker), so leave the
  // JavaScript thread a core; a blocked JavaScript thread lets the job use every core.
  void run_or_wait(bool spare_core) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (state_ == State::Queued) {
      state_ = State::Running;
      lock.unlock();
      std::exception_ptr error;
      InitResult result;
      try {
        result = compute(spare_core);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      result_ = std::move(result);
      error_ = error;
      state_ = State::Done;
      done_.notify_all();
      return;
    }
    done_.wait(lock, [&] { return state_ == State::Done; });
  }

  // The result is no longer wanted: the computation stops at its next check.
  void cancel() { stop_.store(true, std::memory_order_relaxed); }

  // After run_or_wait(): rethrows the job's error, if any.
  void rethrow() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_) std::rethrow_exception(error_);
  }

  // After run_or_wait(): rethrows the job's error; else the result, or nullopt when it was
  // already taken.
  std::optional<InitResult> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_) std::rethrow_exception(error_);
    if (taken_) return std::nullopt;
    taken_ = true;
    return std::move(result_);
  }

 private:
  InitResult compute(bool spare_core) const {
    std::vector<std::vector<float>> values;
    values.reserve(arrays_.size());
    for (const InitArray& a : arrays_) {
      values.emplace_back(static_cast<size_t>(element_count(a.shape)));
      generate(a, values.back().data(), &stop_, spare_core);
    }
    InitResult r;
    if (!rnn_) {
      for (size_t i = 0; i < arrays_.size(); ++i) r.tensors.push_back(device_tensor(device_, arrays_[i].shape, values[i].data()));
      return r;
    }
    const RnnDesc& desc = rnn_->first;
    check_stop(&stop_);
    HostWeights host = to_canonical(desc, rnn_->second, WeightFormat::Keras, values);
    values.clear();
    const int64_t gh = desc.gates() * desc.hidden;
    RnnParams params;
    params.w = device_tensor(device_, {gh, desc.input_size}, host.w.data());
    params.r = device_tensor(device_, {gh, desc.hidden}, host.r.data());
    if (!host.bias_w.empty()) {
      params.bias_w = device_tensor(device_, {gh}, host.bias_w.data());
      params.bias_r = device_tensor(device_, {gh}, host.bias_r.data());
    }
    r.tensors = {params.w, params.r};
    if (params.bias_w) r.tensors.push_back(*params.bias_w), r.tensors.push_back(*params.bias_r);
    r.prepared = std::make_shared<const RnnWeights>(desc, std::move(params));
    return r;
  }

  enum class State { Queued, Running, Done };
  const std::vector<InitArray> arrays_;
  const Device& device_;
  const std::optional<std::pair<RnnDesc, bool>> rnn_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable done_;
  State state_ = State::Queued;
  InitResult result_;
  std::exception_ptr error_;
  bool taken_ = false;
};

Napi::Value result_to_js(Napi::Env env, std::optional<InitResult> r) {
  if (!r) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  Napi::Array tensors = Napi::Array::New(env, r->tensors.size());
  for (uint32_t i = 0; i < r->tensors.size(); ++i) tensors.Set(i, TensorHandle::wrap(env, std::move(r->tensors[i])));
  o.Set("tensors", tensors);
  if (r->prepared) o.Set("prepared", wrap_rnn_weights(env, std::move(r->prepared)));
  return o;
}

std::shared_ptr<InitJob> make_job(const Napi::CallbackInfo& info) {
  std::vector<InitArray> arrays = to_init_arrays(info[0]);
  if (!info[1].IsString()) throw rk::TypeError("backend must be a string");
  const Device& device = device_for(info[1].As<Napi::String>().Utf8Value());
  std::optional<std::pair<RnnDesc, bool>> rnn;
  if (!is_nullish(info[2])) {
    Napi::Object o = expect_object(info[2], "rnn");
    rnn.emplace(to_desc(o.Get("desc")), get_bool(o, "useBias", "rnn"));
  }
  return std::make_shared<InitJob>(std::move(arrays), device, std::move(rnn));
}

// initValues({ shape, parts }) -> Float32Array
Napi::Value init_values(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    const InitArray array = to_init_array(info[0], "array");
    Napi::Float32Array out = Napi::Float32Array::New(env, static_cast<size_t>(element_count(array.shape)));
    generate(array, out.Data());
    return out;
  });
}

Napi::Value init_run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    std::shared_ptr<InitJob> job = make_job(info);
    job->run_or_wait(false);
    return result_to_js(env, job->take());
  });
}

Napi::Value init_start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    std::shared_ptr<InitJob> job = make_job(info);
    Napi::Object o = Napi::Object::New(env);
    o.Set("promise", PromiseWorker<bool>::start(
                         env, "weight initialization",
                         [job]() {
                           job->run_or_wait(true);
                           job->rethrow();
                           return true;
                         },
                         [job](Napi::Env env, bool&) { return result_to_js(env, job->take()); }));
    o.Set("wait", Napi::Function::New(
                      env,
                      [job](const Napi::CallbackInfo& info) -> Napi::Value {
                        return translate_errors(info.Env(), [&]() -> Napi::Value {
                          job->run_or_wait(false);
                          return result_to_js(info.Env(), job->take());
                        });
                      },
                      "wait"));
    o.Set("cancel", Napi::Function::New(
                        env, [job](const Napi::CallbackInfo&) { job->cancel(); }, "cancel"));
    return o;
  });
}

}  // namespace

void register_init(Addon&, Napi::Env env, Napi::Object exports) {
  exports.Set("initValues", Napi::Function::New(env, init_values, "initValues"));
  exports.Set("initRun", Napi::Function::New(env, init_run, "initRun"));
  exports.Set("initStart", Napi::Function::New(env, init_start, "initStart"));
}

}  // namespace rk::napi
