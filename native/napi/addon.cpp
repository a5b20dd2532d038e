#include "addon.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>

#include "../cpu/host_allocator.h"
#include "backends.h"
#include "convert.h"
#include "tensor_handle.h"

namespace rk::napi {
namespace {

// RNNKIT_INLINE_WORK: a number of FLOPs, 0 or more (0: every pass is queued). Throws
// RangeError naming the variable.
double inline_work_from_env(double fallback) {
  const char* text = std::getenv("RNNKIT_INLINE_WORK");
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value >= 0) || !std::isfinite(value))
    throw rk::RangeError(std::string("RNNKIT_INLINE_WORK must be a number of FLOPs, 0 or more (0: queue every pass), got '") +
                         text + "'");
  return value;
}

// Limits cross to JavaScript as numbers, so they stay within its exact integers.
constexpr double kMaxLimit = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

// RNNKIT_MEMORY_LIMIT: a whole number of bytes, or a number with a K, M, G or T suffix in
// powers of 1024, optionally followed by B or iB ("512M", "1.5G", "2GiB"); empty or "none"
// sets no limit. Returns kNoMemoryLimit for none; throws RangeError naming the variable.
uint64_t parse_memory_limit(const std::string& text) {
  static const std::regex pattern(R"(^\s*([0-9]+(\.[0-9]+)?)\s*([kmgt]?)(i?b)?\s*$)", std::regex::icase);
  static const std::regex none(R"(^\s*(none)?\s*$)", std::regex::icase);
  if (std::regex_match(text, none)) return cpu::kNoMemoryLimit;
  std::smatch m;
  const auto bad = [&](const char* why) {
    return rk::RangeError("RNNKIT_MEMORY_LIMIT must be a positive number of bytes, optionally with a K, M, G or T "
                          "suffix (e.g. 536870912, 512M, 2G), or 'none'; " + std::string(why) + ", got '" +
                          text.substr(0, 40) + "'");
  };
  if (!std::regex_match(text, m, pattern)) throw bad("it is not such a number");
  const std::string suffix = m[3].str();
  if (suffix.empty() && m[2].matched) throw bad("a number of bytes must be whole");
  const int power = suffix.empty() ? 0 : static_cast<int>(std::string("kmgt").find(std::tolower(suffix[0]))) + 1;
  const double bytes = std::floor(std::stod(m[1].str()) * std::pow(1024.0, power));
  if (!(bytes >= 1)) throw bad("it must be at least 1 byte");
  if (bytes > kMaxLimit) throw bad("it must be at most 2^53 - 1 bytes");
  return static_cast<uint64_t>(bytes);
}

// The variable is read once per process, when the first environment (main thread or
// worker) loads the addon: the limit is process-wide like the allocator it bounds, so a
// worker loading later does not undo a limit set with setMemoryLimit. A bad value fails
// every load, so a misconfigured service stops at start-up instead of running unbounded.
void apply_memory_limit_from_env() {
  static const std::optional<std::string> error = []() -> std::optional<std::string> {
    const char* text = std::getenv("RNNKIT_MEMORY_LIMIT");
    if (!text) return std::nullopt;
    try {
      cpu::set_host_memory_limit(parse_memory_limit(text));
      return std::nullopt;
    } catch (const rk::Error& e) {
      return std::string(e.what());
    }
  }();
  if (error) throw rk::RangeError(*error);
}

// setMemoryLimit(bytes: number | null): the limit of the CPU device's host memory.
Napi::Value set_memory_limit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    if (is_nullish(info[0])) {
      cpu::set_host_memory_limit(cpu::kNoMemoryLimit);
      return env.Undefined();
    }
    if (!info[0].IsNumber()) throw rk::TypeError("bytes must be a number or null");
    const double bytes = info[0].As<Napi::Number>().DoubleValue();
    if (!(bytes >= 1) || std::floor(bytes) != bytes || bytes > kMaxLimit)
      throw rk::RangeError("bytes must be a positive integer (at most 2^53 - 1) or null");
    cpu::set_host_memory_limit(static_cast<uint64_t>(bytes));
    return env.Undefined();
  });
}

// getMemoryLimit() -> number | null
Napi::Value get_memory_limit(const Napi::CallbackInfo& info) {
  const uint64_t limit = cpu::host_memory_limit();
  if (limit == cpu::kNoMemoryLimit) return info.Env().Null();
  return Napi::Number::New(info.Env(), static_cast<double>(limit));
}

Napi::Value backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto statuses = backend_statuses();
  Napi::Array out = Napi::Array::New(env, statuses.size());
  for (size_t i = 0; i < statuses.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", statuses[i].name);
    o.Set("available", statuses[i].available);
    if (!statuses[i].reason.empty()) o.Set("reason", statuses[i].reason);
    out.Set(i, o);
  }
  return out;
}

// memory(backend) -> { bytes, allocations, cachedBytes } of that device.
Napi::Value memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate_errors(env, [&]() -> Napi::Value {
    if (!info[0].IsString()) throw rk::TypeError("backend must be a string");
    const Device& device = device_for(info[0].As<Napi::String>().Utf8Value());
    uint64_t bytes = 0, allocations = 0, cached = 0;
    device.check(device.ops().memory_stats(&bytes, &allocations, &cached), "memory_stats");
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes)));
    o.Set("allocations", Napi::Number::New(env, static_cast<double>(allocations)));
    o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(cached)));
    return o;
  });
}

}  // namespace

Addon::Addon(Napi::Env env, Napi::Object exports) {
  translate_errors(env, apply_memory_limit_from_env);
  translate_errors(env, [this] { inline_work = inline_work_from_env(inline_work); });
  Napi::Function tensor = TensorHandle::define(env);
  tensor_constructor = Napi::Persistent(tensor);
  exports.Set("NativeTensor", tensor);
  const Napi::Value set_immediate_fn = env.Global().Get("setImmediate");
  if (set_immediate_fn.IsFunction()) set_immediate = Napi::Persistent(set_immediate_fn.As<Napi::Function>());
  settle_queued_ = Napi::Persistent(Napi::Function::New(env, [this](const Napi::CallbackInfo& info) {
    std::vector<std::function<void(Napi::Env)>> due;
    due.swap(queued_);
    for (auto& settle : due) settle(info.Env());
  }));
  exports.Set("backends", Napi::Function::New(env, backends, "backends"));
  exports.Set("memory", Napi::Function::New(env, memory, "memory"));
  exports.Set("setMemoryLimit", Napi::Function::New(env, set_memory_limit, "setMemoryLimit"));
  exports.Set("getMemoryLimit", Napi::Function::New(env, get_memory_limit, "getMemoryLimit"));
  register_tensor_ops(*this, env, exports);
  register_rnn(*this, env, exports);
  register_cpu(*this, env, exports);
  register_dense(*this, env, exports);
  register_conv(*this, env, exports);
  register_training(*this, env, exports);
  register_init(*this, env, exports);
  register_shapes(*this, env, exports);
  register_normalization(*this, env, exports);
}

void Addon::settle_later(std::function<void(Napi::Env)> settle) {
  queued_.push_back(std::move(settle));
  if (queued_.size() > 1) return;  // the turn that settles the first settles this one too
  try {
    set_immediate.Call({settle_queued_.Value()});
  } catch (...) {
    queued_.clear();  // nothing will settle it; the caller's error says why
    throw;
  }
}

}  // namespace rk::napi

using RnnkitAddon = rk::napi::Addon;
NODE_API_ADDON(RnnkitAddon)
