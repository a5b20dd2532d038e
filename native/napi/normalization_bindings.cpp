// Bindings of the normalization layers and the weightless elementwise layers (Activation,
// SpatialDropout1D): each pass runs on a libuv worker and settles a Promise.
#include <cmath>
#include <optional>

#include "../core/normalization.h"
#include "../core/pointwise_layers.h"
#include "addon.h"
#include "convert.h"
#include "promise_worker.h"
#include "tensor_handle.h"

namespace rk::napi {
namespace {

std::optional<Tensor> optional_tensor(const Napi::Value& v, const char* name) {
  if (is_nullish(v)) return std::nullopt;
  return TensorHandle::unwrap(v, name);
}

const Tensor* ptr(const std::optional<Tensor>& t) { return t ? &*t : nullptr; }

float finite_number(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw rk::TypeError(std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw rk::RangeError(std::string(name) + " must be finite");
  return static_cast<float>(d);
}

float positive_number(const Napi::Value& v, const char* name) {
  const float f = finite_number(v, name);
  if (!(f > 0.0f)) throw rk::RangeError(std::string(name) + " must be positive");
  return f;
}

// Per-row weights of the batch statistics (a mask), or none.
std::vector<float> row_weights(const Napi::Value& v) {
  if (is_nullish(v)) return {};
  return to_floats(v, "rowWeights");
}

rk_activation layer_activation(const Napi::Value& v) {
  if (!v.IsString()) throw rk::TypeError("activation must be a string");
  const std::string name = v.As<Napi::String>().Utf8Value();
  if (name == "softmax") return RK_ACT_SOFTMAX;
  return parse_activation(name, "activation");
}

Napi::Object gradients_to_js(Napi::Env env, NormGradients& g) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("dx", TensorHandle::wrap(env, std::move(g.dx)));
  o.Set("dgamma", TensorHandle::wrap(env, std::move(g.dgamma)));
  o.Set("dbeta", TensorHandle::wrap(env, std::move(g.dbeta)));
  return o;
}

// layerNormForward(x, gamma?, beta?, epsilon, keepStatistics) -> Promise<{y, mean?, rstd?}>
Napi::Value layer_norm_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    auto gamma = optional_tensor(info[1], "gamma");
    auto beta = optional_tensor(info[2], "beta");
    const float epsilon = positive_number(info[3], "epsilon");
    const bool keep = info[4].ToBoolean();
    return PromiseWorker<LayerNormForward>::start(
        env, "layer normalization forward",
        [=]() { return rk::layer_norm_forward(x, ptr(gamma), ptr(beta), epsilon, keep); },
        [](Napi::Env env, LayerNormForward& f) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          o.Set("y", TensorHandle::wrap(env, std::move(f.y)));
          if (f.mean) o.Set("mean", TensorHandle::wrap(env, std::move(f.mean)));
          if (f.rstd) o.Set("rstd", TensorHandle::wrap(env, std::move(f.rstd)));
          return o;
        });
  });
}

// layerNormBackward(x, dy, gamma?, mean, rstd) -> Promise<{dx, dgamma, dbeta}>
Napi::Value layer_norm_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    Tensor dy = TensorHandle::unwrap(info[1], "dOutput");
    auto gamma = optional_tensor(info[2], "gamma");
    Tensor mean = TensorHandle::unwrap(info[3], "mean");
    Tensor rstd = TensorHandle::unwrap(info[4], "rstd");
    return PromiseWorker<NormGradients>::start(
        env, "layer normalization backward", [=]() { return rk::layer_norm_backward(x, dy, ptr(gamma), mean, rstd); },
        gradients_to_js);
  });
}

// batchNormForward(x, gamma?, beta?, movingMean, movingVariance, epsilon, training, momentum,
//                  rowWeights?) -> Promise<{y, mean?, variance?}>
Napi::Value batch_norm_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    auto gamma = optional_tensor(info[1], "gamma");
    auto beta = optional_tensor(info[2], "beta");
    Tensor moving_mean = TensorHandle::unwrap(info[3], "movingMean");
    Tensor moving_variance = TensorHandle::unwrap(info[4], "movingVariance");
    const float epsilon = positive_number(info[5], "epsilon");
    const bool training = info[6].ToBoolean();
    const float momentum = finite_number(info[7], "momentum");
    std::vector<float> weights = row_weights(info[8]);
    if (!training) {
      return PromiseWorker<Tensor>::start(
          env, "batch normalization forward",
          [=]() { return rk::batch_norm_inference(x, ptr(gamma), ptr(beta), moving_mean, moving_variance, epsilon); },
          [](Napi::Env env, Tensor& y) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("y", TensorHandle::wrap(env, std::move(y)));
            return o;
          });
    }
    return PromiseWorker<BatchNormForward>::start(
        env, "batch normalization forward",
        [=]() {
          return rk::batch_norm_training(x, ptr(gamma), ptr(beta), moving_mean, moving_variance, momentum, epsilon,
                                         weights);
        },
        [](Napi::Env env, BatchNormForward& f) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          o.Set("y", TensorHandle::wrap(env, std::move(f.y)));
          o.Set("mean", TensorHandle::wrap(env, std::move(f.mean)));
          o.Set("variance", TensorHandle::wrap(env, std::move(f.variance)));
          return o;
        });
  });
}

// batchNormBackward(x, dy, gamma?, mean, variance, epsilon, rowWeights?) -> Promise<{dx, dgamma, dbeta}>
Napi::Value batch_norm_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    Tensor dy = TensorHandle::unwrap(info[1], "dOutput");
    auto gamma = optional_tensor(info[2], "gamma");
    Tensor mean = TensorHandle::unwrap(info[3], "mean");
    Tensor variance = TensorHandle::unwrap(info[4], "variance");
    const float epsilon = positive_number(info[5], "epsilon");
    std::vector<float> weights = row_weights(info[6]);
    return PromiseWorker<NormGradients>::start(
        env, "batch normalization backward",
        [=]() { return rk::batch_norm_backward(x, dy, ptr(gamma), mean, variance, epsilon, weights); },
        gradients_to_js);
  });
}

// activationForward(x, activation) -> Promise<Tensor>
Napi::Value activation_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    const rk_activation activation = layer_activation(info[1]);
    return PromiseWorker<Tensor>::start(
        env, "activation forward", [=]() { return rk::activation_forward(x, activation); },
        [](Napi::Env env, Tensor& y) -> Napi::Value { return TensorHandle::wrap(env, std::move(y)); });
  });
}

// activationBackward(y, dy, activation) -> Promise<Tensor>
Napi::Value activation_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor y = TensorHandle::unwrap(info[0], "output");
    Tensor dy = TensorHandle::unwrap(info[1], "dOutput");
    const rk_activation activation = layer_activation(info[2]);
    return PromiseWorker<Tensor>::start(
        env, "activation backward", [=]() { return rk::activation_backward(y, dy, activation); },
        [](Napi::Env env, Tensor& dx) -> Napi::Value { return TensorHandle::wrap(env, std::move(dx)); });
  });
}

// spatialDropout(x, rate, seed) -> Promise<{output, mask}>
Napi::Value spatial_dropout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "x");
    const float rate = finite_number(info[1], "rate");
    if (!info[2].IsNumber()) throw rk::TypeError("seed must be a number");
    const double seed = info[2].As<Napi::Number>().DoubleValue();
    if (!(seed >= 0 && seed <= 9007199254740992.0) || seed != std::floor(seed))
      throw rk::RangeError("seed must be an integer in [0, 2^53]");
    const uint64_t s = static_cast<uint64_t>(seed);
    return PromiseWorker<SpatialDropoutResult>::start(
        env, "spatial dropout", [=]() { return rk::spatial_dropout(x, rate, s); },
        [](Napi::Env env, SpatialDropoutResult& r) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          o.Set("output", TensorHandle::wrap(env, std::move(r.output)));
          o.Set("mask", TensorHandle::wrap(env, std::move(r.mask)));
          return o;
        });
  });
}

// spatialDropoutApply(x, mask) -> Promise<Tensor>: x · mask broadcast over steps (the backward).
Napi::Value spatial_dropout_apply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Tensor x = TensorHandle::unwrap(info[0], "dOutput");
    Tensor mask = TensorHandle::unwrap(info[1], "mask");
    return PromiseWorker<Tensor>::start(
        env, "spatial dropout backward", [=]() { return rk::spatial_dropout_apply(x, mask); },
        [](Napi::Env env, Tensor& y) -> Napi::Value { return TensorHandle::wrap(env, std::move(y)); });
  });
}

}  // namespace

void register_normalization(Addon&, Napi::Env env, Napi::Object exports) {
  exports.Set("layerNormForward", Napi::Function::New(env, layer_norm_forward, "layerNormForward"));
  exports.Set("layerNormBackward", Napi::Function::New(env, layer_norm_backward, "layerNormBackward"));
  exports.Set("batchNormForward", Napi::Function::New(env, batch_norm_forward, "batchNormForward"));
  exports.Set("batchNormBackward", Napi::Function::New(env, batch_norm_backward, "batchNormBackward"));
  exports.Set("activationForward", Napi::Function::New(env, activation_forward, "activationForward"));
  exports.Set("activationBackward", Napi::Function::New(env, activation_backward, "activationBackward"));
  exports.Set("spatialDropout", Napi::Function::New(env, spatial_dropout, "spatialDropout"));
  exports.Set("spatialDropoutApply", Napi::Function::New(env, spatial_dropout_apply, "spatialDropoutApply"));
}

}  // namespace rk::napi
