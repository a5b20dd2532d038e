// Reading JavaScript arguments into core types, and core errors back into JavaScript
// TypeError / RangeError / Error.
#ifndef RNNKIT_NAPI_CONVERT_H
#define RNNKIT_NAPI_CONVERT_H

#include <napi.h>

#include <new>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "../core/rnn.h"

namespace rk::napi {

// A JavaScript error of the given kind carrying an rnnkit code.
enum class ErrorKind { Type, Range, Other };
Napi::Error make_error(Napi::Env env, ErrorKind kind, ErrorCode code, const std::string& message);

// A core error captured on a worker thread (or on the JavaScript thread), raised as the
// matching JavaScript error with its code. Anything else thrown by native code becomes a
// coded Error too: std::bad_alloc is RNNKIT_OUT_OF_MEMORY naming `operation`, as is a
// device allocation that failed (no memory, or the limit of rk.setMemoryLimit).
struct CapturedError {
  bool set = false;
  ErrorKind kind = ErrorKind::Other;
  ErrorCode code = ErrorCode::Device;
  std::string message;

  template <typename F>
  void run(F&& body, const char* operation = "a native call") {
    try {
      body();
    } catch (const Napi::Error&) {
      throw;
    } catch (const rk::TypeError& e) {
      capture(ErrorKind::Type, e.code, e.what());
    } catch (const rk::RangeError& e) {
      capture(ErrorKind::Range, e.code, e.what());
    } catch (const rk::Error& e) {
      if (e.code == ErrorCode::OutOfMemory)
        capture(ErrorKind::Other, e.code, std::string("out of memory in ") + operation + ": " + e.what());
      else
        capture(ErrorKind::Other, e.code, e.what());
    } catch (const std::bad_alloc&) {
      capture(ErrorKind::Other, ErrorCode::OutOfMemory, std::string("out of memory in ") + operation);
    } catch (const std::length_error& e) {
      capture(ErrorKind::Range, ErrorCode::OutOfMemory, std::string(operation) + ": size too large (" + e.what() + ")");
    } catch (const std::exception& e) {
      capture(ErrorKind::Other, ErrorCode::Device, std::string(operation) + " failed: " + e.what());
    }
  }
  void capture(ErrorKind k, ErrorCode c, std::string m) {
    set = true, kind = k, code = c, message = std::move(m);
  }
  Napi::Value to_js(Napi::Env env) const { return make_error(env, kind, code, message).Value(); }
};

// Runs `body` on the JavaScript thread, rethrowing core errors as coded JavaScript errors
// (`operation` names the call in out-of-memory errors).
template <typename F>
auto translate_errors(Napi::Env env, F&& body, const char* operation = "a native call") -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    CapturedError error;
    error.run([] { throw; }, operation);  // classifies the exception being handled
    throw make_error(env, error.kind, error.code, error.message);
  }
}

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
