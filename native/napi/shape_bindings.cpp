// Bindings of the shape, merge and mask ops behind Flatten, Reshape, RepeatVector,
// Masking, Concatenate, Add, Multiply and Average. Each reads its arguments on the
// JavaScript thread and runs on a worker (PromiseWorker).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "../core/tensor_ops.h"
#include "addon.h"
#include "convert.h"
#include "promise_worker.h"
#include "tensor_handle.h"

namespace rk::napi {
namespace {

std::vector<Tensor> tensor_list(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) throw rk::TypeError(name + " must be an array of Tensors");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<Tensor> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(TensorHandle::unwrap(a.Get(i), name + "[" + std::to_string(i) + "]"));
  return out;
}

int64_t to_count(const Napi::Value& v, const std::string& name) {
  const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!v.IsNumber()) throw rk::TypeError(name + " must be a number");
  if (!(x >= 0) || std::floor(x) != x || x > 2147483647.0) throw rk::RangeError(name + " must be a non-negative integer");
  return static_cast<int64_t>(x);
}

MergeKind to_merge_kind(const Napi::Value& v) {
  const std::string kind = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (kind == "add") return MergeKind::Add;
  if (kind == "multiply") return MergeKind::Multiply;
  if (kind == "average") return MergeKind::Average;
  throw rk::TypeError("merge kind must be 'add', 'multiply' or 'average'");
}

std::vector<uint8_t> to_valid(const Napi::Value& v, const std::string& name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw rk::TypeError(name + " must be a Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return std::vector<uint8_t>(a.Data(), a.Data() + a.ElementLength());
}

Napi::Value wrap_one(Napi::Env env, Tensor& t) { return TensorHandle::wrap(env, std::move(t)); }

Napi::Value wrap_list(Napi::Env env, std::vector<Tensor>& tensors) {
  Napi::Array out = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) out.Set(i, TensorHandle::wrap(env, std::move(tensors[i])));
  return out;
}

// reshape(x, shape) -> Promise<Tensor>: a copy with the new shape.
Napi::Value reshape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    Shape shape = to_shape(info[1], "shape");
    return PromiseWorker<Tensor>::start(env, "reshape", [=]() { return rk::reshape(x, shape); }, wrap_one);
  });
}

// concatAxis(parts, axis) -> Promise<Tensor>
Napi::Value concat_axis(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    auto parts = tensor_list(info[0], "tensors");
    const int64_t axis = to_count(info[1], "axis");
    return PromiseWorker<Tensor>::start(env, "concatenate", [=]() { return rk::concat_axis(parts, axis); }, wrap_one);
  });
}

// splitAxis(x, axis, sizes) -> Promise<Tensor[]>
Napi::Value split_axis(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    const int64_t axis = to_count(info[1], "axis");
    Shape sizes = to_shape(info[2], "sizes");
    return PromiseWorker<std::vector<Tensor>>::start(
        env, "split", [=]() { return rk::split_axis(x, axis, sizes); }, wrap_list);
  });
}

// repeatRows(x [N, C], n) -> Promise<Tensor [N, n, C]>
Napi::Value repeat_rows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    const int64_t n = to_count(info[1], "n");
    return PromiseWorker<Tensor>::start(env, "repeatVector", [=]() { return rk::repeat_rows(x, n); }, wrap_one);
  });
}

// sumRepeats(dy [N, n, C]) -> Promise<Tensor [N, C]>
Napi::Value sum_repeats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor dy = TensorHandle::unwrap(info[0], "dOutput");
    return PromiseWorker<Tensor>::start(env, "repeatVector backward", [=]() { return rk::sum_repeats(dy); }, wrap_one);
  });
}

// maskSteps(x [N, T, C], maskValue) -> Promise<{ output, valid: Uint8Array (N·T) }>
Napi::Value mask_steps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    if (!info[1].IsNumber()) throw rk::TypeError("maskValue must be a number");
    const float value = info[1].As<Napi::Number>().FloatValue();
    return PromiseWorker<MaskedSteps>::start(
        env, "masking", [=]() { return rk::mask_steps(x, value); },
        [](Napi::Env env, MaskedSteps& r) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          Napi::Uint8Array valid = Napi::Uint8Array::New(env, r.valid.size());
          if (!r.valid.empty()) std::memcpy(valid.Data(), r.valid.data(), r.valid.size());
          o.Set("output", TensorHandle::wrap(env, std::move(r.output)));
          o.Set("valid", valid);
          return o;
        });
  });
}

// maskRows(x [N, T, ...], valid: Uint8Array (N·T)) -> Promise<Tensor>: x with invalid steps zeroed.
Napi::Value mask_rows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    auto valid = to_valid(info[1], "valid");
    return PromiseWorker<Tensor>::start(env, "masking backward", [=]() { return rk::mask_rows(x, valid); }, wrap_one);
  });
}

// merge(kind, inputs) -> Promise<Tensor>
Napi::Value merge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    const MergeKind kind = to_merge_kind(info[0]);
    auto inputs = tensor_list(info[1], "inputs");
    return PromiseWorker<Tensor>::start(env, "merge", [=]() { return rk::merge(kind, inputs); }, wrap_one);
  });
}

// mergeBackward(kind, inputs | count, dy) -> Promise<Tensor[]>, one gradient per input. Add
// and average need only dy and the number of inputs (which may be disposed by then).
Napi::Value merge_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    const MergeKind kind = to_merge_kind(info[0]);
    Tensor dy = TensorHandle::unwrap(info[2], "dOutput");
    std::vector<Tensor> inputs;
    if (info[1].IsNumber() && kind != MergeKind::Multiply)
      inputs.assign(static_cast<size_t>(std::max<int64_t>(1, to_count(info[1], "count"))), dy);  // stand-ins of dy's shape
    else
      inputs = tensor_list(info[1], "inputs");
    return PromiseWorker<std::vector<Tensor>>::start(
        env, "merge backward", [=]() { return rk::merge_backward(kind, inputs, dy); }, wrap_list);
  });
}

}  // namespace

void register_shapes(Addon&, Napi::Env env, Napi::Object exports) {
  exports.Set("reshape", Napi::Function::New(env, reshape, "reshape"));
  exports.Set("concatAxis", Napi::Function::New(env, concat_axis, "concatAxis"));
  exports.Set("splitAxis", Napi::Function::New(env, split_axis, "splitAxis"));
  exports.Set("repeatRows", Napi::Function::New(env, repeat_rows, "repeatRows"));
  exports.Set("sumRepeats", Napi::Function::New(env, sum_repeats, "sumRepeats"));
  exports.Set("maskSteps", Napi::Function::New(env, mask_steps, "maskSteps"));
  exports.Set("maskRows", Napi::Function::New(env, mask_rows, "maskRows"));
  exports.Set("merge", Napi::Function::New(env, merge, "merge"));
  exports.Set("mergeBackward", Napi::Function::New(env, merge_backward, "mergeBackward"));
}

}  // namespace rk::napi
