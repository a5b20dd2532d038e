// Bindings of the CPU device's settings: threads, instruction set, and the FMA peak probe.
#include "../cpu/isa.h"
#include "../cpu/peak_probe.h"
#include "../cpu/thread_pool.h"
#include "addon.h"
#include "convert.h"

namespace rk::napi {
namespace {

Napi::Value set_num_threads(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    const double n = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1.0;
    if (!(n >= 1) || n != static_cast<int>(n) || n > 1024) throw rk::RangeError("threads must be an integer in [1, 1024]");
    cpu::ThreadPool::instance().set_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

Napi::Value get_num_threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cpu::ThreadPool::instance().threads());
}

Napi::Value hardware_threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cpu::ThreadPool::hardware_threads());
}

Napi::Value set_isa(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString()) throw rk::TypeError("isa must be a string");
    cpu::set_isa(info[0].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  });
}

Napi::Value get_isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), cpu::isa_name()); }

Napi::Value supported_isas(const Napi::CallbackInfo& info) {
  const auto names = cpu::supported_isas();
  Napi::Array out = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); ++i) out.Set(i, names[i]);
  return out;
}

// measureFmaPeak(isa, threads, seconds) -> GFLOP/s
Napi::Value measure_fma_peak(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber())
      throw rk::TypeError("measureFmaPeak(isa: string, threads: number, seconds: number)");
    const double seconds = info[2].As<Napi::Number>().DoubleValue();
    if (!(seconds > 0) || seconds > 10) throw rk::RangeError("seconds must be in (0, 10]");
    return Napi::Number::New(info.Env(), cpu::measure_fma_peak(info[0].As<Napi::String>().Utf8Value(),
                                                               info[1].As<Napi::Number>().Int32Value(), seconds));
  });
}

}  // namespace

void register_cpu(Addon&, Napi::Env env, Napi::Object exports) {
  exports.Set("setNumThreads", Napi::Function::New(env, set_num_threads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, get_num_threads, "getNumThreads"));
  exports.Set("hardwareThreads", Napi::Function::New(env, hardware_threads, "hardwareThreads"));
  exports.Set("setIsa", Napi::Function::New(env, set_isa, "setIsa"));
  exports.Set("getIsa", Napi::Function::New(env, get_isa, "getIsa"));
  exports.Set("supportedIsas", Napi::Function::New(env, supported_isas, "supportedIsas"));
  exports.Set("measureFmaPeak", Napi::Function::New(env, measure_fma_peak, "measureFmaPeak"));
}

}  // namespace rk::napi
