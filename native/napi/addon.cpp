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

}  // namespace

Addon::Addon(Napi::Env env, Napi::Object exports) {
  Napi::Function tensor = TensorHandle::define(env);
  tensor_constructor = Napi::Persistent(tensor);
  exports.Set("NativeTensor", tensor);
  exports.Set("backends", Napi::Function::New(env, backends, "backends"));
  register_tensor_ops(*this, env, exports);
  register_rnn(*this, env, exports);
}

}  // namespace rk::napi

using RnnkitAddon = rk::napi::Addon;
NODE_API_ADDON(RnnkitAddon)
