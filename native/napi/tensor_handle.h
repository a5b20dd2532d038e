// The JavaScript handle of a native tensor. Owns a share of the device buffer; dispose()
// drops it at once, garbage collection drops it otherwise.
#ifndef RNNKIT_NAPI_TENSOR_HANDLE_H
#define RNNKIT_NAPI_TENSOR_HANDLE_H

#include <napi.h>

#include "../core/tensor.h"
#include "external_memory.h"

namespace rk::napi {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  // A new JavaScript handle owning `tensor`.
  static Napi::Object wrap(Napi::Env env, Tensor tensor);
  // The tensor behind a handle; throws TypeError naming `name` if `value` is not a
  // tensor, Error if it was disposed.
  static Tensor unwrap(const Napi::Value& value, const std::string& name);
  static bool is_handle(Napi::Env env, const Napi::Value& value);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

 private:
  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value read(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  void release();

  Tensor tensor_;
  ExternalMemory accounted_;
};

}  // namespace rk::napi

#endif
