// Bindings of the dense layer's forward and backward passes (asynchronous).
#include "../core/dense.h"
#include "addon.h"
#include "convert.h"
#include "promise_worker.h"
#include "tensor_handle.h"

namespace rk::napi {
namespace {

// FLOPs of x·kernel (PromiseWorker runs small products inline); -1 for shapes the pass will refuse.
double product_flops(const Tensor& x, const Tensor& kernel) {
  if (kernel.shape.size() != 2) return -1;
  return 2.0 * static_cast<double>(x.size()) * static_cast<double>(kernel.shape[1]);
}

rk_activation dense_activation(const Napi::Value& v) {
  if (!v.IsString()) throw rk::TypeError("activation must be a string");
  const std::string name = v.As<Napi::String>().Utf8Value();
  if (name == "softmax") return RK_ACT_SOFTMAX;
  return parse_activation(name, "activation");
}

// denseForward(x, kernel, bias?, activation) -> Promise<Tensor>
Napi::Value dense_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    Tensor kernel = TensorHandle::unwrap(info[1], "kernel");
    std::optional<Tensor> bias;
    if (!is_nullish(info[2])) bias = TensorHandle::unwrap(info[2], "bias");
    const rk_activation activation = dense_activation(info[3]);
    return PromiseWorker<Tensor>::start(
        env, "dense forward", [=]() { return rk::dense_forward(x, kernel, bias ? &*bias : nullptr, activation); },
        [](Napi::Env env, Tensor& y) -> Napi::Value { return TensorHandle::wrap(env, std::move(y)); },
        product_flops(x, kernel));
  });
}

// denseBackward(x, kernel, hasBias, y, dy, activation) -> Promise<{dx, dkernel, dbias?}>
Napi::Value dense_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    Tensor kernel = TensorHandle::unwrap(info[1], "kernel");
    const bool has_bias = info[2].ToBoolean();
    Tensor y = TensorHandle::unwrap(info[3], "output");
    Tensor dy = TensorHandle::unwrap(info[4], "dOutput");
    const rk_activation activation = dense_activation(info[5]);
    return PromiseWorker<DenseGradients>::start(
        env, "dense backward", [=]() { return rk::dense_backward(x, kernel, has_bias, y, dy, activation); },
        [](Napi::Env env, DenseGradients& g) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          o.Set("dx", TensorHandle::wrap(env, std::move(g.dx)));
          o.Set("dkernel", TensorHandle::wrap(env, std::move(g.dkernel)));
          if (g.dbias) o.Set("dbias", TensorHandle::wrap(env, std::move(g.dbias)));
          return o;
        },
        2 * product_flops(x, kernel));
  });
}

}  // namespace

void register_dense(Addon&, Napi::Env env, Napi::Object exports) {
  exports.Set("denseForward", Napi::Function::New(env, dense_forward, "denseForward"));
  exports.Set("denseBackward", Napi::Function::New(env, dense_backward, "denseBackward"));
}

}  // namespace rk::napi
