// Bindings of Conv1D and the pooling layers' forward and backward passes (asynchronous).
#include "../core/conv1d.h"
#include "../core/pooling.h"

#include <optional>
#include <string>

#include "addon.h"
#include "convert.h"
#include "promise_worker.h"
#include "tensor_handle.h"

namespace rk::napi {
namespace {

Padding1D parse_padding(const std::string& name, bool causal_allowed) {
  if (name == "valid") return Padding1D::Valid;
  if (name == "same") return Padding1D::Same;
  if (name == "causal" && causal_allowed) return Padding1D::Causal;
  throw rk::TypeError("padding must be 'valid', 'same'" + std::string(causal_allowed ? " or 'causal'" : "") + ", got '" +
                      name + "'");
}

rk_pool_kind parse_pool_kind(const Napi::Value& v) {
  const std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (name == "max") return RK_POOL_MAX;
  if (name == "average") return RK_POOL_AVERAGE;
  throw rk::TypeError("pool kind must be 'max' or 'average'");
}

int64_t positive(const Napi::Object& o, const char* key, const char* where) {
  const int32_t v = get_int(o, key, where);
  if (v < 1) throw rk::RangeError(std::string(where) + "." + key + " must be a positive integer");
  return v;
}

// { strides, dilationRate, padding, activation }
Conv1DSpec conv_spec(const Napi::Value& v) {
  const Napi::Object o = expect_object(v, "spec");
  Conv1DSpec s;
  s.stride = positive(o, "strides", "spec");
  s.dilation = positive(o, "dilationRate", "spec");
  s.padding = parse_padding(get_string(o, "padding", "spec"), true);
  const std::string activation = get_string(o, "activation", "spec");
  s.activation = activation == "softmax" ? RK_ACT_SOFTMAX : parse_activation(activation, "activation");
  return s;
}

// { kind, poolSize, strides, padding }
Pool1DSpec pool_spec(const Napi::Value& v) {
  const Napi::Object o = expect_object(v, "spec");
  Pool1DSpec s;
  s.kind = parse_pool_kind(o.Get("kind"));
  s.pool_size = positive(o, "poolSize", "spec");
  s.stride = positive(o, "strides", "spec");
  s.padding = parse_padding(get_string(o, "padding", "spec"), false);
  return s;
}

std::optional<Tensor> optional_tensor(const Napi::Value& v, const char* name) {
  if (is_nullish(v)) return std::nullopt;
  return TensorHandle::unwrap(v, name);
}

Napi::Value wrap_tensor(Napi::Env env, Tensor& t) { return TensorHandle::wrap(env, std::move(t)); }

// conv1dForward(x, kernel, bias?, spec) -> Promise<Tensor>
Napi::Value conv1d_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    Tensor kernel = TensorHandle::unwrap(info[1], "kernel");
    const std::optional<Tensor> bias = optional_tensor(info[2], "bias");
    const Conv1DSpec spec = conv_spec(info[3]);
    return PromiseWorker<Tensor>::start(
        env, "conv1d forward", [=]() { return rk::conv1d_forward(x, kernel, bias ? &*bias : nullptr, spec); }, wrap_tensor);
  });
}

// conv1dBackward(x, kernel, hasBias, y, dy, spec) -> Promise<{dx, dkernel, dbias?}>
Napi::Value conv1d_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    Tensor kernel = TensorHandle::unwrap(info[1], "kernel");
    const bool has_bias = info[2].ToBoolean();
    Tensor y = TensorHandle::unwrap(info[3], "output");
    Tensor dy = TensorHandle::unwrap(info[4], "dOutput");
    const Conv1DSpec spec = conv_spec(info[5]);
    return PromiseWorker<Conv1DGradients>::start(
        env, "conv1d backward", [=]() { return rk::conv1d_backward(x, kernel, has_bias, y, dy, spec); },
        [](Napi::Env env, Conv1DGradients& g) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          o.Set("dx", TensorHandle::wrap(env, std::move(g.dx)));
          o.Set("dkernel", TensorHandle::wrap(env, std::move(g.dkernel)));
          if (g.dbias) o.Set("dbias", TensorHandle::wrap(env, std::move(g.dbias)));
          return o;
        });
  });
}

// pool1dForward(x, spec) -> Promise<Tensor>
Napi::Value pool1d_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    const Pool1DSpec spec = pool_spec(info[1]);
    return PromiseWorker<Tensor>::start(env, "pool1d forward", [=]() { return rk::pool1d_forward(x, spec); }, wrap_tensor);
  });
}

// pool1dBackward(x, dy, spec) -> Promise<Tensor>
Napi::Value pool1d_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    Tensor dy = TensorHandle::unwrap(info[1], "dOutput");
    const Pool1DSpec spec = pool_spec(info[2]);
    return PromiseWorker<Tensor>::start(
        env, "pool1d backward", [=]() { return rk::pool1d_backward(x, dy, spec); }, wrap_tensor);
  });
}

// globalPool1dForward(x, kind, mask?, keepdims) -> Promise<Tensor>
Napi::Value global_pool1d_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    const rk_pool_kind kind = parse_pool_kind(info[1]);
    const std::optional<Tensor> mask = optional_tensor(info[2], "mask");
    const bool keepdims = info[3].ToBoolean();
    return PromiseWorker<Tensor>::start(
        env, "global pool1d forward",
        [=]() { return rk::global_pool1d_forward(x, kind, mask ? &*mask : nullptr, keepdims); }, wrap_tensor);
  });
}

// globalPool1dBackward(x, mask?, dy, kind) -> Promise<Tensor>
Napi::Value global_pool1d_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    const std::optional<Tensor> mask = optional_tensor(info[1], "mask");
    Tensor dy = TensorHandle::unwrap(info[2], "dOutput");
    const rk_pool_kind kind = parse_pool_kind(info[3]);
    return PromiseWorker<Tensor>::start(
        env, "global pool1d backward",
        [=]() { return rk::global_pool1d_backward(x, mask ? &*mask : nullptr, dy, kind); }, wrap_tensor);
  });
}

}  // namespace

void register_conv(Addon&, Napi::Env env, Napi::Object exports) {
  exports.Set("conv1dForward", Napi::Function::New(env, conv1d_forward, "conv1dForward"));
  exports.Set("conv1dBackward", Napi::Function::New(env, conv1d_backward, "conv1dBackward"));
  exports.Set("pool1dForward", Napi::Function::New(env, pool1d_forward, "pool1dForward"));
  exports.Set("pool1dBackward", Napi::Function::New(env, pool1d_backward, "pool1dBackward"));
  exports.Set("globalPool1dForward", Napi::Function::New(env, global_pool1d_forward, "globalPool1dForward"));
  exports.Set("globalPool1dBackward", Napi::Function::New(env, global_pool1d_backward, "globalPool1dBackward"));
}

}  // namespace rk::napi
