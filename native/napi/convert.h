// Reading JavaScript arguments into core types, and core errors back into JavaScript
// TypeError / RangeError / Error.
#ifndef RNNKIT_NAPI_CONVERT_H
#define RNNKIT_NAPI_CONVERT_H

#include <napi.h>

#include <string>
#include <vector>

#include "../core/errors.h"
#include "../core/rnn.h"

namespace rk::napi {

// Runs `body`, rethrowing core errors as the matching JavaScript error.
template <typename F>
auto translate_errors(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const rk::TypeError& e) {
    throw Napi::TypeError::New(env, e.what());
  } catch (const rk::RangeError& e) {
    throw Napi::RangeError::New(env, e.what());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// A core error captured on a worker thread, raised later on the JavaScript thread.
struct CapturedError {
  enum class Kind { None, Type, Range, Other } kind = Kind::None;
  std::string message;

  template <typename F>
  void run(F&& body) {
    try {
      body();
    } catch (const rk::TypeError& e) {
      kind = Kind::Type, message = e.what();
    } catch (const rk::RangeError& e) {
      kind = Kind::Range, message = e.what();
    } catch (const std::exception& e) {
      kind = Kind::Other, message = e.what();
    }
  }
  Napi::Value to_js(Napi::Env env) const {
    switch (kind) {
      case Kind::Type: return Napi::TypeError::New(env, message).Value();
      case Kind::Range: return Napi::RangeError::New(env, message).Value();
      default: return Napi::Error::New(env, message).Value();
    }
  }
};

bool is_nullish(const Napi::Value& v);
double get_number(const Napi::Object& obj, const char* key, const std::string& where);
int32_t get_int(const Napi::Object& obj, const char* key, const std::string& where);
bool get_bool(const Napi::Object& obj, const char* key, const std::string& where);
std::string get_string(const Napi::Object& obj, const char* key, const std::string& where);
Napi::Object expect_object(const Napi::Value& v, const std::string& name);
Shape to_shape(const Napi::Value& v, const std::string& name);
Napi::Array from_shape(Napi::Env env, const Shape& shape);
std::vector<int32_t> to_lengths(const Napi::Value& v, const std::string& name);
std::vector<float> to_floats(const Napi::Value& v, const std::string& name);
Napi::Float32Array from_floats(Napi::Env env, const float* data, size_t count);
RnnDesc to_desc(const Napi::Value& v);
// An elementwise activation by its rnnkit name ('tanh', 'hardSigmoid', ...); TypeError naming `where`.
rk_activation parse_activation(const std::string& name, const std::string& where);

}  // namespace rk::napi

#endif
