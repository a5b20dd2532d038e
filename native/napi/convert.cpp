#include "convert.h"

#include <cmath>
#include <cstring>

namespace rk::napi {

rk_activation parse_activation(const std::string& name, const std::string& where) {
  static const std::pair<const char*, rk_activation> kNames[] = {
      {"tanh", RK_ACT_TANH},         {"sigmoid", RK_ACT_SIGMOID}, {"hardSigmoid", RK_ACT_HARD_SIGMOID},
      {"relu", RK_ACT_RELU},         {"linear", RK_ACT_LINEAR},   {"elu", RK_ACT_ELU},
      {"selu", RK_ACT_SELU},         {"softsign", RK_ACT_SOFTSIGN}, {"softplus", RK_ACT_SOFTPLUS},
  };
  for (const auto& [n, act] : kNames)
    if (name == n) return act;
  throw TypeError(where + ": unknown activation '" + name + "'");
}

namespace {

rk_cell_kind to_cell(const std::string& name) {
  if (name == "simpleRNN") return RK_CELL_RNN;
  if (name == "lstm") return RK_CELL_LSTM;
  if (name == "gruResetAfter") return RK_CELL_GRU_RESET_AFTER;
  if (name == "gruResetBefore") return RK_CELL_GRU_RESET_BEFORE;
  throw TypeError("desc.cell: unknown cell '" + name + "'");
}

}  // namespace

Napi::Error make_error(Napi::Env env, ErrorKind kind, ErrorCode code, const std::string& message) {
  Napi::Error error = kind == ErrorKind::Type    ? Napi::TypeError::New(env, message)
                      : kind == ErrorKind::Range ? Napi::RangeError::New(env, message)
                                                 : Napi::Error::New(env, message);
  error.Value().DefineProperty(Napi::PropertyDescriptor::Value(
      "code", Napi::String::New(env, error_code_name(code)), napi_enumerable));
  return error;
}

bool is_nullish(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }

double get_number(const Napi::Object& obj, const char* key, const std::string& where) {
  Napi::Value v = obj.Get(key);
  if (!v.IsNumber()) throw TypeError(where + "." + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int32_t get_int(const Napi::Object& obj, const char* key, const std::string& where) {
  const double d = get_number(obj, key, where);
  if (!std::isfinite(d) || std::floor(d) != d || d < 0 || d > 2147483647.0)
    throw RangeError(where + "." + key + " must be a non-negative integer");
  return static_cast<int32_t>(d);
}

bool get_bool(const Napi::Object& obj, const char* key, const std::string& where) {
  Napi::Value v = obj.Get(key);
  if (!v.IsBoolean()) throw TypeError(where + "." + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string get_string(const Napi::Object& obj, const char* key, const std::string& where) {
  Napi::Value v = obj.Get(key);
  if (!v.IsString()) throw TypeError(where + "." + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Object expect_object(const Napi::Value& v, const std::string& name) {
  if (!v.IsObject()) throw TypeError(name + " must be an object");
  return v.As<Napi::Object>();
}

Shape to_shape(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) throw TypeError(name + " must be an array of non-negative integers");
  Napi::Array a = v.As<Napi::Array>();
  Shape shape;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value d = a.Get(i);
    const double x = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1.0;
    if (!(x >= 0) || std::floor(x) != x || x > 2147483647.0)
      throw RangeError(name + "[" + std::to_string(i) + "] must be a non-negative integer");
    shape.push_back(static_cast<int64_t>(x));
  }
  return shape;
}

Napi::Array from_shape(Napi::Env env, const Shape& shape) {
  Napi::Array a = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) a.Set(i, Napi::Number::New(env, static_cast<double>(shape[i])));
  return a;
}

std::vector<int32_t> to_lengths(const Napi::Value& v, const std::string& name) {
  if (is_nullish(v)) return {};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw TypeError(name + " must be an Int32Array");
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<float> to_floats(const Napi::Value& v, const std::string& name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw TypeError(name + " must be a Float32Array");
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

Napi::Float32Array from_floats(Napi::Env env, const float* data, size_t count) {
  Napi::Float32Array a = Napi::Float32Array::New(env, count);
  if (count) std::memcpy(a.Data(), data, count * sizeof(float));
  return a;
}

RnnDesc to_desc(const Napi::Value& v) {
  Napi::Object o = expect_object(v, "desc");
  RnnDesc d;
  d.cell = to_cell(get_string(o, "cell", "desc"));
  d.activation = parse_activation(get_string(o, "activation", "desc"), "activation");
  d.recurrent_activation =
      parse_activation(get_string(o, "recurrentActivation", "desc"), "recurrentActivation");
  d.input_size = get_int(o, "inputSize", "desc");
  d.hidden = get_int(o, "units", "desc");
  if (d.hidden < 1) throw RangeError("units must be a positive integer");
  d.go_backwards = get_bool(o, "goBackwards", "desc");
  d.output_mode = get_bool(o, "returnSequences", "desc") ? RK_OUTPUT_SEQUENCE : RK_OUTPUT_LAST;
  const std::string masked = get_string(o, "maskedOutput", "desc");
  if (masked != "zeros" && masked != "carry")
    throw TypeError("maskedOutput must be 'zeros' or 'carry', got '" + masked + "'");
  d.masked_output = masked == "carry" ? RK_MASKED_CARRY : RK_MASKED_ZEROS;
  return d;
}

}  // namespace rk::napi
