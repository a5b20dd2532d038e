// Per-context state of the addon (it is context-aware, so it loads in worker_threads).
#ifndef RNNKIT_NAPI_ADDON_H
#define RNNKIT_NAPI_ADDON_H

#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

namespace rk {
class RnnWeights;
}

namespace rk::napi {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  static Addon& of(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

  Napi::FunctionReference tensor_constructor;
  Napi::FunctionReference reserve_constructor;
  Napi::FunctionReference weights_constructor;
  // The global setImmediate as the addon found it at load: passes settled through it (see
  // promise_worker.h) still settle when a test later swaps in fake timers.
  Napi::FunctionReference set_immediate;
  // Passes below this many FLOPs run on the JavaScript thread (RNNKIT_INLINE_WORK, read at load).
  double inline_work = 2e6;

  // Settles `settle` from a later turn of the event loop (setImmediate). Those queued before
  // that turn settle together, in order, through one function made at load: making a
  // function for each pass cost more than a small pass's bookkeeping.
  void settle_later(std::function<void(Napi::Env)> settle);

 private:
  Napi::FunctionReference settle_queued_;
  std::vector<std::function<void(Napi::Env)>> queued_;
};

// Registration of each group of bindings (one file each).
void register_tensor_ops(Addon& addon, Napi::Env env, Napi::Object exports);
void register_rnn(Addon& addon, Napi::Env env, Napi::Object exports);
void register_cpu(Addon& addon, Napi::Env env, Napi::Object exports);
void register_dense(Addon& addon, Napi::Env env, Napi::Object exports);
void register_conv(Addon& addon, Napi::Env env, Napi::Object exports);
void register_training(Addon& addon, Napi::Env env, Napi::Object exports);
void register_init(Addon& addon, Napi::Env env, Napi::Object exports);
void register_shapes(Addon& addon, Napi::Env env, Napi::Object exports);
void register_normalization(Addon& addon, Napi::Env env, Napi::Object exports);

// A JavaScript handle (NativeRnnWeights) owning prepared weights (rnn_bindings.cpp).
Napi::Object wrap_rnn_weights(Napi::Env env, std::shared_ptr<const RnnWeights> weights);

}  // namespace rk::napi

#endif
