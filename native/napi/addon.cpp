#include "addon.h"

#include "backends.h"
#include "convert.h"
#include "tensor_handle.h"

namespace rk::napi {
namespace {

Napi::Value backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto statuses = backend_statuses();
  Napi::Array out = Napi::Array::New(env, statuses.size());
  for (size_t i = 0; i < statuses.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", statuses[i].name);
    o.Set("available", statuses[i].available);
    if (!statuses[i].available) o.Set("reason", statuses[i].reason);
    out.Set(i, o);
  }
  return out;
}

// memory(backend) -> { bytes, allocations, cachedBytes } of that device.
Napi::Value memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    if (!info[0].IsString()) throw rk::TypeError("backend must be a string");
    const Device& device = device_for(info[0].As<Napi::String>().Utf8Value());
    uint64_t bytes = 0, allocations = 0, cached = 0;
    device.check(device.ops().memory_stats(&bytes, &allocations, &cached), "memory_stats");
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes)));
    o.Set("allocations", Napi::Number::New(env, static_cast<double>(allocations)));
    o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(cached)));
    return o;
  });
}

}  // namespace

Addon::Addon(Napi::Env env, Napi::Object exports) {
  Napi::Function tensor = TensorHandle::define(env);
  tensor_constructor = Napi::Persistent(tensor);
  exports.Set("NativeTensor", tensor);
  exports.Set("backends", Napi::Function::New(env, backends, "backends"));
  exports.Set("memory", Napi::Function::New(env, memory, "memory"));
  register_tensor_ops(*this, env, exports);
  register_rnn(*this, env, exports);
  register_cpu(*this, env, exports);
  register_dense(*this, env, exports);
  register_training(*this, env, exports);
  register_init(*this, env, exports);
}

}  // namespace rk::napi

using RnnkitAddon = rk::napi::Addon;
NODE_API_ADDON(RnnkitAddon)
