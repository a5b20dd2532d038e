// Bindings of losses (asynchronous: outputs can be large) and optimizer steps.
#include <algorithm>

#include "../core/training.h"
#include "addon.h"
#include "convert.h"
#include "promise_worker.h"
#include "tensor_handle.h"

namespace rk::napi {
namespace {

rk_loss to_loss(const Napi::Value& v) {
  const std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (name == "mse") return RK_LOSS_MSE;
  if (name == "mae") return RK_LOSS_MAE;
  if (name == "binaryCrossentropy") return RK_LOSS_BINARY_CROSSENTROPY;
  if (name == "categoricalCrossentropy") return RK_LOSS_CATEGORICAL_CROSSENTROPY;
  if (name == "sparseCategoricalCrossentropy") return RK_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
  throw rk::TypeError("loss: unknown loss '" + name + "'");
}

// lossCompute(kind, fromLogits, yPred, yTrue) -> Promise<{value, grad}>
Napi::Value loss_compute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    const rk_loss kind = to_loss(info[0]);
    const bool from_logits = info[1].ToBoolean();
    Tensor pred = TensorHandle::unwrap(info[2], "yPred");
    Tensor target = TensorHandle::unwrap(info[3], "yTrue");
    return PromiseWorker<LossResult>::start(
        env, "loss", [=]() { return rk::compute_loss(kind, from_logits, pred, target); },
        [](Napi::Env env, LossResult& r) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          o.Set("value", Napi::Number::New(env, r.value));
          o.Set("grad", TensorHandle::wrap(env, std::move(r.grad)));
          return o;
        });
  });
}

// countCorrect(kind, fromLogits, yPred, yTrue) -> {correct, total}
Napi::Value count_correct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    const AccuracyCount a = rk::count_correct(to_loss(info[0]), info[1].ToBoolean(), TensorHandle::unwrap(info[2], "yPred"),
                                              TensorHandle::unwrap(info[3], "yTrue"));
    Napi::Object o = Napi::Object::New(env);
    o.Set("correct", Napi::Number::New(env, static_cast<double>(a.correct)));
    o.Set("total", Napi::Number::New(env, static_cast<double>(a.total)));
    return o;
  });
}

// optimizerStep(config, param, grad, slot0?, slot1?) updates param and the slots in place.
Napi::Value optimizer_step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    Napi::Object c = expect_object(info[0], "optimizer");
    rk_optimizer_step_args a{};
    const std::string kind = get_string(c, "kind", "optimizer");
    a.kind = kind == "sgd" ? RK_OPT_SGD : kind == "adam" ? RK_OPT_ADAM : kind == "rmsprop" ? RK_OPT_RMSPROP : -1;
    if (a.kind < 0) throw rk::TypeError("optimizer.kind must be 'sgd', 'adam' or 'rmsprop'");
    a.nesterov = get_bool(c, "nesterov", "optimizer");
    a.iteration = get_int(c, "iteration", "optimizer");
    a.learning_rate = static_cast<float>(get_number(c, "learningRate", "optimizer"));
    a.momentum = static_cast<float>(get_number(c, "momentum", "optimizer"));
    a.beta1 = static_cast<float>(get_number(c, "beta1", "optimizer"));
    a.beta2 = static_cast<float>(get_number(c, "beta2", "optimizer"));
    a.rho = static_cast<float>(get_number(c, "rho", "optimizer"));
    a.epsilon = static_cast<float>(get_number(c, "epsilon", "optimizer"));
    Tensor param = TensorHandle::unwrap(info[1], "param");
    Tensor grad = TensorHandle::unwrap(info[2], "grad");
    Tensor s0, s1;
    if (!is_nullish(info[3])) s0 = TensorHandle::unwrap(info[3], "slot0");
    if (!is_nullish(info[4])) s1 = TensorHandle::unwrap(info[4], "slot1");
    rk::apply_optimizer_step(a, param, grad, s0 ? &s0 : nullptr, s1 ? &s1 : nullptr);
    return env.Undefined();
  });
}

// embeddingForward(table, ids) -> {output, lengths: Int32Array}; embeddingBackward(ids, dOut, tableShape) -> Tensor
Napi::Value embedding_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    EmbeddingResult r = rk::embedding_forward(TensorHandle::unwrap(info[0], "embeddings"), TensorHandle::unwrap(info[1], "ids"));
    Napi::Int32Array lengths = Napi::Int32Array::New(env, r.lengths.size());
    std::copy(r.lengths.begin(), r.lengths.end(), lengths.Data());
    Napi::Object o = Napi::Object::New(env);
    o.Set("output", TensorHandle::wrap(env, std::move(r.output)));
    o.Set("lengths", lengths);
    return o;
  });
}

Napi::Value embedding_backward(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    return TensorHandle::wrap(info.Env(), rk::embedding_backward(TensorHandle::unwrap(info[0], "ids"),
                                                                 TensorHandle::unwrap(info[1], "dOutput"),
                                                                 to_shape(info[2], "tableShape")));
  });
}

// dropout(x, rate, seed) -> {output, mask}
Napi::Value dropout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    if (!info[1].IsNumber() || !info[2].IsNumber()) throw rk::TypeError("dropout(x, rate, seed)");
    DropoutResult r = rk::dropout(TensorHandle::unwrap(info[0], "x"), info[1].As<Napi::Number>().FloatValue(),
                                  static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value()));
    Napi::Object o = Napi::Object::New(env);
    o.Set("output", TensorHandle::wrap(env, std::move(r.output)));
    o.Set("mask", TensorHandle::wrap(env, std::move(r.mask)));
    return o;
  });
}

}  // namespace

void register_training(Addon&, Napi::Env env, Napi::Object exports) {
  exports.Set("lossCompute", Napi::Function::New(env, loss_compute, "lossCompute"));
  exports.Set("countCorrect", Napi::Function::New(env, count_correct, "countCorrect"));
  exports.Set("optimizerStep", Napi::Function::New(env, optimizer_step, "optimizerStep"));
  exports.Set("embeddingForward", Napi::Function::New(env, embedding_forward, "embeddingForward"));
  exports.Set("embeddingBackward", Napi::Function::New(env, embedding_backward, "embeddingBackward"));
  exports.Set("dropout", Napi::Function::New(env, dropout, "dropout"));
}

}  // namespace rk::napi
