// Helpers shared by the exported functions. Misuse throws a TypeError
// (ERR_INVALID_ARG_TYPE) or RangeError (ERR_OUT_OF_RANGE) naming the call's shape.
#ifndef PAWWORK_SUPERVISOR_UTIL_H
#define PAWWORK_SUPERVISOR_UTIL_H

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace pws {

[[noreturn]] inline void ThrowUsage(Napi::Env env, const char* usage) {
  Napi::Error err = Napi::TypeError::New(env, std::string("Usage: ") + usage);
  err.Set("code", "ERR_INVALID_ARG_TYPE");
  throw err;
}

// A Buffer or any other Uint8Array.
inline bool IsBytes(Napi::Value v) {
  return v.IsTypedArray() &&
         v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}

inline void CheckBytes(const Napi::CallbackInfo& info, size_t i,
                       const char* usage) {
  if (!IsBytes(info[i])) ThrowUsage(info.Env(), usage);
}

inline bool BoolArg(const Napi::CallbackInfo& info, size_t i,
                    const char* usage) {
  if (!info[i].IsBoolean()) ThrowUsage(info.Env(), usage);
  return info[i].As<Napi::Boolean>().Value();
}

// An integer number within [lo, hi]; a fraction, NaN or a value out of range
// would otherwise be truncated into some other valid-looking integer.
inline int64_t IntArg(const Napi::CallbackInfo& info, size_t i,
                      const char* name, double lo, double hi,
                      const char* usage) {
  if (!info[i].IsNumber()) ThrowUsage(info.Env(), usage);
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || std::trunc(d) != d) {
    Napi::Error err = Napi::RangeError::New(
        info.Env(), std::string("Usage: ") + usage + ": " + name +
                        " must be an integer, got " +
                        info[i].ToString().Utf8Value());
    err.Set("code", "ERR_OUT_OF_RANGE");
    throw err;
  }
  return static_cast<int64_t>(d);
}

// Parses JSON produced by the Go core (throws the SyntaxError if it is not).
inline Napi::Value ParseJson(Napi::Env env, const uint8_t* p, size_t n) {
  Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
  return json.Get("parse").As<Napi::Function>().Call(
      json, {Napi::String::New(env, reinterpret_cast<const char*>(p), n)});
}

constexpr double kInt32Min = -2147483648.0;
constexpr double kInt32Max = 2147483647.0;
constexpr double kSafeMax = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

}  // namespace pws

#endif
