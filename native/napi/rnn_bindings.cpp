// Bindings of the RNN algorithm (forward and BPTT, asynchronous) and of the weight
// layout conversions.
#include <algorithm>
#include <memory>

#include "../core/layout.h"
#include "../core/rnn.h"
#include "addon.h"
#include "convert.h"
#include "external_memory.h"
#include "promise_worker.h"
#include "tensor_handle.h"

namespace rk::napi {
namespace {

// The saved activations of a training forward pass, as a JavaScript handle.
class ReserveHandle : public Napi::ObjectWrap<ReserveHandle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeReserve",
                       {InstanceAccessor<&ReserveHandle::bytes>("bytes"),
                        InstanceAccessor<&ReserveHandle::disposed>("disposed"),
                        InstanceMethod<&ReserveHandle::dispose>("dispose")});
  }
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<RnnReserve> reserve) {
    Napi::External<std::shared_ptr<RnnReserve>> ext =
        Napi::External<std::shared_ptr<RnnReserve>>::New(env, &reserve);
    return Addon::of(env).reserve_constructor.New({ext});
  }
  static std::shared_ptr<RnnReserve> unwrap(const Napi::Value& v) {
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(Addon::of(v.Env()).reserve_constructor.Value()))
      throw rk::TypeError("reserve must be the reserve of a training forward pass");
    ReserveHandle* handle = Unwrap(v.As<Napi::Object>());
    if (!handle->reserve_)
      throw rk::Error(ErrorCode::Disposed, "the forward pass has been disposed; run forward with training: true again");
    return handle->reserve_;
  }

  explicit ReserveHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ReserveHandle>(info) {
    if (info.Length() != 1 || !info[0].IsExternal())
      throw Napi::TypeError::New(info.Env(), "NativeReserve cannot be constructed from JavaScript");
    reserve_ = *info[0].As<Napi::External<std::shared_ptr<RnnReserve>>>().Data();
    accounted_ = ExternalMemory(info.Env(), static_cast<int64_t>(reserve_->bytes()));
  }
  ~ReserveHandle() override { release(); }

 private:
  Napi::Value bytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), reserve_ ? static_cast<double>(reserve_->bytes()) : 0.0);
  }
  Napi::Value disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !reserve_); }
  void dispose(const Napi::CallbackInfo&) { release(); }
  void release() {
    reserve_.reset();
    accounted_.release();
  }

  std::shared_ptr<RnnReserve> reserve_;
  ExternalMemory accounted_;
};

// Prepared weights (canonical tensors plus packed GEMM operands), as a JavaScript handle.
class WeightsHandle : public Napi::ObjectWrap<WeightsHandle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeRnnWeights",
                       {InstanceAccessor<&WeightsHandle::bytes>("bytes"), InstanceAccessor<&WeightsHandle::packed>("packed"),
                        InstanceMethod<&WeightsHandle::dispose>("dispose")});
  }
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<const RnnWeights> weights) {
    auto ext = Napi::External<std::shared_ptr<const RnnWeights>>::New(env, &weights);
    return Addon::of(env).weights_constructor.New({ext});
  }
  static std::shared_ptr<const RnnWeights> unwrap(const Napi::Value& v) {
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(Addon::of(v.Env()).weights_constructor.Value()))
      throw rk::TypeError("weights must be prepared by rnnPrepare");
    WeightsHandle* handle = Unwrap(v.As<Napi::Object>());
    if (!handle->weights_) throw rk::Error(ErrorCode::Disposed, "the layer's weights have been disposed");
    return handle->weights_;
  }
  explicit WeightsHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WeightsHandle>(info) {
    if (info.Length() != 1 || !info[0].IsExternal())
      throw Napi::TypeError::New(info.Env(), "NativeRnnWeights cannot be constructed from JavaScript");
    weights_ = *info[0].As<Napi::External<std::shared_ptr<const RnnWeights>>>().Data();
    accounted_ = ExternalMemory(info.Env(), static_cast<int64_t>(weights_->bytes()));
  }
  ~WeightsHandle() override { release(); }

 private:
  Napi::Value bytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), weights_ ? static_cast<double>(weights_->bytes()) : 0.0);
  }
  // Whether the device keeps packed copies of the weights: only then must an in-place
  // weight update (an optimizer step) prepare them again.
  Napi::Value packed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), weights_ && weights_->has_packed());
  }
  // Reserves of earlier passes keep their own share until they are disposed.
  void dispose(const Napi::CallbackInfo&) { release(); }
  void release() {
    weights_.reset();
    accounted_.release();
  }
  std::shared_ptr<const RnnWeights> weights_;
  ExternalMemory accounted_;
};

// FLOPs of a forward pass over `batch` sequences of `steps` steps: the input and recurrent
// products (PromiseWorker runs small passes inline; a backward pass is about twice this).
double forward_flops(const RnnDesc& desc, int64_t batch, int64_t steps) {
  return 2.0 * static_cast<double>(batch) * static_cast<double>(steps) * static_cast<double>(desc.gates()) *
         static_cast<double>(desc.hidden) * static_cast<double>(desc.input_size + desc.hidden);
}

const Tensor* optional_tensor(const Napi::Value& v, const std::string& name, Tensor& storage) {
  if (is_nullish(v)) return nullptr;
  storage = TensorHandle::unwrap(v, name);
  return &storage;
}

RnnParams to_params(const Napi::Value& v) {
  if (!v.IsArray()) throw rk::TypeError("weights must be an array of Tensors [w, r, biasW?, biasR?]");
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() != 2 && a.Length() != 4)
    throw rk::RangeError("weights must hold 2 (no bias) or 4 tensors, got " + std::to_string(a.Length()));
  RnnParams p;
  p.w = TensorHandle::unwrap(a.Get(0u), "weights.w");
  p.r = TensorHandle::unwrap(a.Get(1u), "weights.r");
  if (a.Length() == 4) {
    p.bias_w = TensorHandle::unwrap(a.Get(2u), "weights.bias_w");
    p.bias_r = TensorHandle::unwrap(a.Get(3u), "weights.bias_r");
  }
  return p;
}

void set_optional(Napi::Env env, Napi::Object o, const char* key, Tensor& t) {
  if (t) o.Set(key, TensorHandle::wrap(env, std::move(t)));
}

// rnnPrepare(desc, [w, r, biasW?, biasR?]) -> NativeRnnWeights
Napi::Value rnn_prepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    const RnnDesc desc = to_desc(info[0]);
    return WeightsHandle::wrap(env, std::make_shared<const RnnWeights>(desc, to_params(info[1])));
  });
}

// rnnForward(prepared, x, h0?, c0?, lengths?, training) -> Promise<[output, h, c | null, reserve | null]>
// The layer's description is the one its weights were prepared with: parsing it from an
// object on every call showed in profiles of one-step forwards (figures in the issue notes).
Napi::Value rnn_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    std::shared_ptr<const RnnWeights> weights = WeightsHandle::unwrap(info[0]);
    Tensor x = TensorHandle::unwrap(info[1], "x");
    Tensor h0_storage, c0_storage;
    const Tensor* h0 = optional_tensor(info[2], "initialState[0]", h0_storage);
    const Tensor* c0 = optional_tensor(info[3], "initialState[1]", c0_storage);
    std::vector<int32_t> lengths = to_lengths(info[4], "lengths");
    if (!info[5].IsBoolean()) throw rk::TypeError("training must be a boolean");
    const bool training = info[5].As<Napi::Boolean>().Value();
    auto h0_copy = h0 ? std::make_optional(*h0) : std::nullopt;
    auto c0_copy = c0 ? std::make_optional(*c0) : std::nullopt;
    return PromiseWorker<RnnForwardResult>::start(
        env, "recurrent forward",
        [=]() {
          return rk::rnn_forward(weights, x, h0_copy ? &*h0_copy : nullptr,
                                 c0_copy ? &*c0_copy : nullptr, lengths, training);
        },
        [](Napi::Env env, RnnForwardResult& r) -> Napi::Value {
          // An array: setting named properties on a new object took the runtime's slow path.
          Napi::Array out = Napi::Array::New(env, 4);
          out.Set(0u, TensorHandle::wrap(env, std::move(r.output)));
          out.Set(1u, TensorHandle::wrap(env, std::move(r.h)));
          out.Set(2u, r.c ? Napi::Value(TensorHandle::wrap(env, std::move(r.c))) : env.Null());
          out.Set(3u, r.reserve ? Napi::Value(ReserveHandle::wrap(env, std::move(r.reserve))) : env.Null());
          return out;
        },
        x.shape.size() == 3 ? forward_flops(weights->desc(), x.shape[0], x.shape[1]) : -1);
  });
}

// rnnBackward(reserve, dOutput, dh?, dc?) -> Promise<{dx, dh0, dc0?, dw, dr, dbiasW?, dbiasR?}>
Napi::Value rnn_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    std::shared_ptr<RnnReserve> reserve = ReserveHandle::unwrap(info[0]);
    Tensor d_output = TensorHandle::unwrap(info[1], "dOutput");
    Tensor dh_storage, dc_storage;
    const Tensor* dh = optional_tensor(info[2], "dStates[0]", dh_storage);
    const Tensor* dc = optional_tensor(info[3], "dStates[1]", dc_storage);
    auto dh_copy = dh ? std::make_optional(*dh) : std::nullopt;
    auto dc_copy = dc ? std::make_optional(*dc) : std::nullopt;
    return PromiseWorker<RnnGradients>::start(
        env, "recurrent backward",
        [=]() {
          return rk::rnn_backward(*reserve, d_output, dh_copy ? &*dh_copy : nullptr,
                                  dc_copy ? &*dc_copy : nullptr);
        },
        [](Napi::Env env, RnnGradients& g) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          set_optional(env, o, "dx", g.dx);
          set_optional(env, o, "dh0", g.dh0);
          set_optional(env, o, "dc0", g.dc0);
          set_optional(env, o, "dw", g.dw);
          set_optional(env, o, "dr", g.dr);
          set_optional(env, o, "dbiasW", g.dbias_w);
          set_optional(env, o, "dbiasR", g.dbias_r);
          return o;
        },
        2 * forward_flops(reserve->desc, reserve->batch, reserve->steps));
  });
}

std::vector<std::vector<float>> to_float_arrays(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) throw rk::TypeError(name + " must be an array of Float32Arrays");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::vector<float>> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(to_floats(a.Get(i), name + "[" + std::to_string(i) + "]"));
  return out;
}

Napi::Array from_float_arrays(Napi::Env env, const std::vector<std::vector<float>>& arrays) {
  Napi::Array out = Napi::Array::New(env, arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) out.Set(i, from_floats(env, arrays[i].data(), arrays[i].size()));
  return out;
}

// weightFormatArrays(desc, useBias, format) -> [{name, shape}]
Napi::Value weight_format_arrays(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    const RnnDesc desc = to_desc(info[0]);
    const auto arrays = format_arrays(desc, info[1].ToBoolean(), parse_weight_format(info[2].ToString()));
    Napi::Array out = Napi::Array::New(env, arrays.size());
    for (size_t i = 0; i < arrays.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", arrays[i].name);
      o.Set("shape", from_shape(env, arrays[i].shape));
      out.Set(i, o);
    }
    return out;
  });
}

// weightsToCanonical(desc, useBias, format, arrays) -> [w, r, biasW?, biasR?]
Napi::Value weights_to_canonical(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    const RnnDesc desc = to_desc(info[0]);
    const HostWeights w = to_canonical(desc, info[1].ToBoolean(), parse_weight_format(info[2].ToString()),
                                       to_float_arrays(info[3], "weights"));
    std::vector<std::vector<float>> out = {w.w, w.r};
    if (!w.bias_w.empty()) {
      out.push_back(w.bias_w);
      out.push_back(w.bias_r);
    }
    return from_float_arrays(env, out);
  });
}

// weightsFromCanonical(desc, format, [w, r, biasW?, biasR?]) -> the format's arrays
Napi::Value weights_from_canonical(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    const RnnDesc desc = to_desc(info[0]);
    auto arrays = to_float_arrays(info[2], "canonical");
    if (arrays.size() != 2 && arrays.size() != 4) throw rk::RangeError("canonical must hold 2 or 4 arrays");
    const int64_t gh = desc.gates() * desc.hidden;
    HostWeights w{arrays[0], arrays[1], {}, {}};
    if (arrays.size() == 4) w.bias_w = arrays[2], w.bias_r = arrays[3];
    if (static_cast<int64_t>(w.w.size()) != gh * desc.input_size || static_cast<int64_t>(w.r.size()) != gh * desc.hidden ||
        (arrays.size() == 4 && (static_cast<int64_t>(w.bias_w.size()) != gh || static_cast<int64_t>(w.bias_r.size()) != gh)))
      throw rk::RangeError("canonical arrays do not match the layer's sizes");
    return from_float_arrays(env, from_canonical(desc, parse_weight_format(info[1].ToString()), w));
  });
}

// canonicalToFormat(desc, format, [w, r, biasW?, biasR?], gradients) -> the format's tensors,
// made on the tensors' device (nothing crosses to the host). For gradients, a single Keras
// bias receives the recurrent-side bias gradient (the two canonical biases are one variable
// there), not their sum.
Napi::Value canonical_to_format(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    const RnnDesc desc = to_desc(info[0]);
    const WeightFormat format = parse_weight_format(info[1].ToString());
    if (!info[2].IsArray()) throw rk::TypeError("canonical must be an array of Tensors");
    Napi::Array in = info[2].As<Napi::Array>();
    if (in.Length() != 2 && in.Length() != 4) throw rk::RangeError("canonical must hold 2 or 4 tensors");
    std::vector<Tensor> tensors;
    for (uint32_t i = 0; i < in.Length(); ++i) tensors.push_back(TensorHandle::unwrap(in.Get(i), "canonical[" + std::to_string(i) + "]"));
    auto arrays = from_canonical_on_device(desc, format, tensors, info[3].ToBoolean());
    Napi::Array out = Napi::Array::New(env, arrays.size());
    for (size_t i = 0; i < arrays.size(); ++i) out.Set(i, TensorHandle::wrap(env, std::move(arrays[i])));
    return out;
  });
}

}  // namespace

Napi::Object wrap_rnn_weights(Napi::Env env, std::shared_ptr<const RnnWeights> weights) {
  return WeightsHandle::wrap(env, std::move(weights));
}

void register_rnn(Addon& addon, Napi::Env env, Napi::Object exports) {
  addon.reserve_constructor = Napi::Persistent(ReserveHandle::define(env));
  addon.weights_constructor = Napi::Persistent(WeightsHandle::define(env));
  exports.Set("rnnPrepare", Napi::Function::New(env, rnn_prepare, "rnnPrepare"));
  exports.Set("rnnForward", Napi::Function::New(env, rnn_forward, "rnnForward"));
  exports.Set("rnnBackward", Napi::Function::New(env, rnn_backward, "rnnBackward"));
  exports.Set("weightFormatArrays", Napi::Function::New(env, weight_format_arrays, "weightFormatArrays"));
  exports.Set("weightsToCanonical", Napi::Function::New(env, weights_to_canonical, "weightsToCanonical"));
  exports.Set("canonicalToFormat", Napi::Function::New(env, canonical_to_format, "canonicalToFormat"));
  exports.Set("weightsFromCanonical", Napi::Function::New(env, weights_from_canonical, "weightsFromCanonical"));
}

}  // namespace rk::napi
