// Bindings of the CPU device's settings (threads, instruction set) through the device
// ABI's options, and of the FMA peak probe (a CPU benchmark, not a device setting).
#include <algorithm>
#include <string>

#include "../cpu/peak_probe.h"
#include "addon.h"
#include "backends.h"
#include "convert.h"

namespace rk::napi {
namespace {

Napi::Value set_num_threads(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    const double n = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1.0;
    if (!(n >= 1) || n != static_cast<int>(n) || n > 1024) throw rk::RangeError("threads must be an integer in [1, 1024]");
    cpu_device().set_option("threads", std::to_string(static_cast<int>(n)));
    return info.Env().Undefined();
  });
}

Napi::Value int_option(const Napi::CallbackInfo& info, const char* name) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), std::stoi(cpu_device().get_option(name)));
  });
}

Napi::Value get_num_threads(const Napi::CallbackInfo& info) { return int_option(info, "threads"); }

Napi::Value hardware_threads(const Napi::CallbackInfo& info) { return int_option(info, "hardware_threads"); }

Napi::Value set_isa(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString()) throw rk::TypeError("isa must be a string");
    cpu_device().set_option("isa", info[0].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  });
}

Napi::Value get_isa(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), cpu_device().get_option("isa"));
  });
}

Napi::Value supported_isas(const Napi::CallbackInfo& info) {
  return translate_errors(info.Env(), [&]() -> Napi::Value {
    const std::string list = cpu_device().get_option("supported_isas");  // comma-separated, best first
    Napi::Array out = Napi::Array::New(info.Env());
    for (size_t begin = 0, i = 0; begin <= list.size(); ++i) {
      const size_t end = std::min(list.find(',', begin), list.size());
      out.Set(i, list.substr(begin, end - begin));
      begin = end + 1;
    }
    return out;
  });
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
