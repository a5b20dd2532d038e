// Bindings of gradient clipping and the elementwise / reshaping tensor ops.
#include <cmath>

#include "../core/tensor_ops.h"
#include "addon.h"
#include "backends.h"
#include "convert.h"
#include "tensor_handle.h"

namespace rk::napi {
namespace {

std::vector<Tensor> to_tensors(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) throw rk::TypeError(name + " must be an array of Tensors");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<Tensor> out;
  for (uint32_t i = 0; i < a.Length(); ++i)
    out.push_back(TensorHandle::unwrap(a.Get(i), name + "[" + std::to_string(i) + "]"));
  return out;
}

Napi::Array wrap_all(Napi::Env env, std::vector<Tensor> tensors) {
  Napi::Array out = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) out.Set(i, TensorHandle::wrap(env, std::move(tensors[i])));
  return out;
}

// The bound as given (double): the core keeps it exact where float could not.
double to_clip(const Napi::Value& v, const std::string& name) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!v.IsNumber()) throw rk::TypeError(name + " must be a number");
  if (!(d > 0) || !std::isfinite(d)) throw rk::RangeError(name + " must be a finite number > 0, got " + std::to_string(d));
  return d;
}

Napi::Value clip_by_value(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    auto grads = to_tensors(info[0], "grads");
    return wrap_all(info.Env(), rk::clip_by_value(grads, to_clip(info[1], "clipValue")));
  });
}

Napi::Value clip_by_norm(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    auto grads = to_tensors(info[0], "grads");
    return wrap_all(info.Env(), rk::clip_by_norm(grads, to_clip(info[1], "clipNorm")));
  });
}

Napi::Value clip_by_global_norm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    auto grads = to_tensors(info[0], "grads");
    double norm = 0.0;
    auto clipped = rk::clip_by_global_norm(grads, to_clip(info[1], "clipNorm"), &norm);
    Napi::Object out = Napi::Object::New(env);
    out.Set("grads", wrap_all(env, std::move(clipped)));
    out.Set("norm", Napi::Number::New(env, norm));
    return out;
  });
}

Napi::Value global_norm(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), rk::global_norm(to_tensors(info[0], "tensors")));
  });
}

Napi::Value add(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    return TensorHandle::wrap(info.Env(), rk::add(TensorHandle::unwrap(info[0], "a"), TensorHandle::unwrap(info[1], "b")));
  });
}

Napi::Value multiply(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    return TensorHandle::wrap(info.Env(),
                              rk::multiply(TensorHandle::unwrap(info[0], "a"), TensorHandle::unwrap(info[1], "b")));
  });
}

Napi::Value scale(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    if (!info[1].IsNumber()) throw rk::TypeError("factor must be a number");
    return TensorHandle::wrap(info.Env(), rk::scale(TensorHandle::unwrap(info[0], "a"),
                                                    info[1].As<Napi::Number>().FloatValue()));
  });
}

Napi::Value concat_last(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    return TensorHandle::wrap(info.Env(), rk::concat_last(to_tensors(info[0], "tensors")));
  });
}

Napi::Value split_last(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    return wrap_all(info.Env(), rk::split_last(x, to_shape(info[1], "widths")));
  });
}

Napi::Value reverse_sequences(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    return TensorHandle::wrap(info.Env(), rk::reverse_sequences(x, to_lengths(info[1], "lengths")));
  });
}

// gatherRows(x, indices: Int32Array) -> the samples of x at indices, on x's device.
Napi::Value gather_rows(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw rk::TypeError("indices must be an Int32Array");
    Napi::Int32Array a = info[1].As<Napi::Int32Array>();
    const std::vector<int64_t> indices(a.Data(), a.Data() + a.ElementLength());
    return TensorHandle::wrap(info.Env(), rk::gather_rows(x, indices));
  });
}

Napi::Value concat_rows(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    return TensorHandle::wrap(info.Env(), rk::concat_rows(to_tensors(info[0], "tensors")));
  });
}

// toDevice(x, backend) -> a copy of x on that backend.
Napi::Value to_device(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    if (!info[1].IsString()) throw rk::TypeError("device must be a string");
    return TensorHandle::wrap(info.Env(), rk::copy_to_device(x, device_for(info[1].As<Napi::String>().Utf8Value())));
  });
}

// deviceOption(backend, name) -> the device's option as text (e.g. cuda's "host_copies").
Napi::Value device_option(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString() || !info[1].IsString()) throw rk::TypeError("deviceOption(backend, name) takes two strings");
    const Device& device = device_for(info[0].As<Napi::String>().Utf8Value());
    return Napi::String::New(info.Env(), device.get_option(info[1].As<Napi::String>().Utf8Value()));
  });
}

// setDeviceOption(backend, name, value): e.g. cuda's "math" ("fp32" | "tf32").
Napi::Value set_device_option(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString() || !info[1].IsString() || !info[2].IsString())
      throw rk::TypeError("setDeviceOption(backend, name, value) takes three strings");
    const Device& device = device_for(info[0].As<Napi::String>().Utf8Value());
    device.set_option(info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  });
}

}  // namespace

void register_tensor_ops(Addon&, Napi::Env env, Napi::Object exports) {
  exports.Set("clipByValue", Napi::Function::New(env, clip_by_value, "clipByValue"));
  exports.Set("clipByNorm", Napi::Function::New(env, clip_by_norm, "clipByNorm"));
  exports.Set("clipByGlobalNorm", Napi::Function::New(env, clip_by_global_norm, "clipByGlobalNorm"));
  exports.Set("globalNorm", Napi::Function::New(env, global_norm, "globalNorm"));
  exports.Set("add", Napi::Function::New(env, add, "add"));
  exports.Set("multiply", Napi::Function::New(env, multiply, "multiply"));
  exports.Set("scale", Napi::Function::New(env, scale, "scale"));
  exports.Set("concatLast", Napi::Function::New(env, concat_last, "concatLast"));
  exports.Set("splitLast", Napi::Function::New(env, split_last, "splitLast"));
  exports.Set("reverseSequences", Napi::Function::New(env, reverse_sequences, "reverseSequences"));
  exports.Set("gatherRows", Napi::Function::New(env, gather_rows, "gatherRows"));
  exports.Set("concatRows", Napi::Function::New(env, concat_rows, "concatRows"));
  exports.Set("toDevice", Napi::Function::New(env, to_device, "toDevice"));
  exports.Set("deviceOption", Napi::Function::New(env, device_option, "deviceOption"));
  exports.Set("setDeviceOption", Napi::Function::New(env, set_device_option, "setDeviceOption"));
}

}  // namespace rk::napi
