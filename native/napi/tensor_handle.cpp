#include "tensor_handle.h"

#include "addon.h"
#include "backends.h"
#include "convert.h"

namespace rk::napi {

Napi::Function TensorHandle::define(Napi::Env env) {
  return DefineClass(env, "NativeTensor",
                     {
                         InstanceAccessor<&TensorHandle::shape>("shape"),
                         InstanceAccessor<&TensorHandle::device>("device"),
                         InstanceAccessor<&TensorHandle::disposed>("disposed"),
                         InstanceMethod<&TensorHandle::read>("read"),
                         InstanceMethod<&TensorHandle::dispose>("dispose"),
                     });
}

// new NativeTensor(values: Float32Array, shape: number[], backend: string)
TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
  Napi::Env env = info.Env();
  if (info.Length() == 1 && info[0].IsExternal()) {
    tensor_ = *info[0].As<Napi::External<Tensor>>().Data();
  } else {
    translate_errors(env, [&] {
      if (info.Length() < 3) throw rk::TypeError("NativeTensor(values, shape, backend) takes 3 arguments");
      const std::vector<float> values = to_floats(info[0], "values");
      Shape shape = to_shape(info[1], "shape");
      if (static_cast<int64_t>(values.size()) != element_count(shape))
        throw rk::RangeError("values: shape " + shape_string(shape) + " needs " +
                             std::to_string(element_count(shape)) + " values, got " +
                             std::to_string(values.size()));
      if (!info[2].IsString()) throw rk::TypeError("backend must be a string");
      const Device& device = device_for(info[2].As<Napi::String>().Utf8Value());
      tensor_ = make_tensor(device, std::move(shape));
      if (!values.empty())
        device.check(device.ops().copy(tensor_.data(), values.data(), values.size() * sizeof(float),
                                       RK_HOST_TO_DEVICE),
                     "copy");
    }, "rk.tensor");
  }
  accounted_ = ExternalMemory(env, tensor_.size() * static_cast<int64_t>(sizeof(float)));
}

TensorHandle::~TensorHandle() { release(); }

void TensorHandle::release() {
  tensor_.buffer.reset();
  accounted_.release();
}

Napi::Object TensorHandle::wrap(Napi::Env env, Tensor tensor) {
  Napi::External<Tensor> ext = Napi::External<Tensor>::New(env, &tensor);
  return Addon::of(env).tensor_constructor.New({ext});
}

bool TensorHandle::is_handle(Napi::Env env, const Napi::Value& value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(Addon::of(env).tensor_constructor.Value());
}

Tensor TensorHandle::unwrap(const Napi::Value& value, const std::string& name) {
  if (!is_handle(value.Env(), value)) throw rk::TypeError(name + " must be a Tensor");
  TensorHandle* handle = Unwrap(value.As<Napi::Object>());
  if (!handle->tensor_) throw rk::Error(ErrorCode::Disposed, name + ": the tensor has been disposed");
  return handle->tensor_;
}

Napi::Value TensorHandle::shape(const Napi::CallbackInfo& info) {
  return from_shape(info.Env(), tensor_.shape);
}

Napi::Value TensorHandle::device(const Napi::CallbackInfo& info) {
  if (!tensor_) return info.Env().Null();
  return Napi::String::New(info.Env(), tensor_.device().name());
}

Napi::Value TensorHandle::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_);
}

// Copies the values to a new Float32Array.
Napi::Value TensorHandle::read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    if (!tensor_) throw rk::Error(ErrorCode::Disposed, "the tensor has been disposed");
    Napi::Float32Array out = Napi::Float32Array::New(env, tensor_.size());
    if (tensor_.size() > 0)
      tensor_.device().check(tensor_.device().ops().copy(out.Data(), tensor_.data(),
                                                         tensor_.size() * sizeof(float), RK_DEVICE_TO_HOST),
                             "copy");
    return out;
  });
}

void TensorHandle::dispose(const Napi::CallbackInfo&) { release(); }

}  // namespace rk::napi
