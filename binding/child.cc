#include "child.h"

#include <algorithm>
#include <string>
#include <vector>

#include "pump.h"
#include "loader.h"
#include "util.h"

namespace pws {
namespace {

constexpr int64_t kErrCap = 4096;

// pws_spawn's error is JSON {"code","message","syscall","path"?,"errno"?};
// its fields become the Error's, like Node's own spawn errors.
[[noreturn]] void ThrowSpawnError(Napi::Env env, const uint8_t* text,
                                  size_t n) {
  Napi::Object fields;
  try {
    Napi::Value parsed = ParseJson(env, text, n);
    if (parsed.IsObject()) fields = parsed.As<Napi::Object>();
  } catch (const Napi::Error&) {
    // Cut at kErrCap or not JSON: the raw text still says what happened.
  }
  std::string message = "pawwork-supervisor: spawn failed: " +
                        std::string(reinterpret_cast<const char*>(text), n);
  if (!fields.IsEmpty() && fields.Get("message").IsString()) {
    message = fields.Get("message").As<Napi::String>().Utf8Value();
  }
  Napi::Error err = Napi::Error::New(env, message);
  if (!fields.IsEmpty()) {
    for (const char* key : {"code", "syscall", "path"}) {
      Napi::Value v = fields.Get(key);
      if (v.IsString()) err.Set(key, v);
    }
    Napi::Value errno_value = fields.Get("errno");
    if (errno_value.IsNumber()) err.Set("errno", errno_value);
  }
  throw err;
}

}  // namespace

Napi::Function NativeChild::Define(Napi::Env env) {
  return DefineClass(
      env, "Child",
      {
          InstanceAccessor<&NativeChild::Pid>("pid"),
          InstanceAccessor<&NativeChild::Handle>("handle"),
          InstanceMethod<&NativeChild::Write>("write"),
          InstanceMethod<&NativeChild::CloseStdin>("closeStdin"),
          InstanceMethod<&NativeChild::SetFlow>("setFlow"),
          InstanceMethod<&NativeChild::Signal>("signal"),
          InstanceMethod<&NativeChild::Cancel>("cancel"),
          InstanceMethod<&NativeChild::Resize>("resize"),
          InstanceMethod<&NativeChild::Foreground>("foreground"),
          InstanceMethod<&NativeChild::SignalForeground>("signalForeground"),
          InstanceMethod<&NativeChild::Ref>("ref"),
          InstanceMethod<&NativeChild::Unref>("unref"),
      });
}

NativeChild::NativeChild(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<NativeChild>(info) {
  static const char kUsage[] = "new Child(request: Buffer, onEvent: Function)";
  Napi::Env env = info.Env();
  CheckBytes(info, 0, kUsage);
  if (!info[1].IsFunction()) ThrowUsage(env, kUsage);
  Napi::Uint8Array request = info[0].As<Napi::Uint8Array>();

  Pump& pump = Pump::Of(env);
  int64_t hub = pump.Open(env);
  uint8_t err[kErrCap];
  int64_t pid = 0;
  int64_t handle =
      pump.api().spawn(hub, request.Data(), request.ByteLength(), err,
                      kErrCap, &pid);
  if (handle <= 0) {
    ThrowSpawnError(env, err, static_cast<size_t>(std::min(-handle, kErrCap)));
  }
  handle_ = handle;
  pid_ = pid;
  pump.Add(env, handle, info[1].As<Napi::Function>());
}

Napi::Value NativeChild::Pid(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(pid_));
}

Napi::Value NativeChild::Handle(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(handle_));
}

// The results below are pws.h's codes, returned as numbers: what a code means
// for the caller (e.g. PWS_EBADHANDLE after exit) is the facade's decision.

Napi::Value NativeChild::Write(const Napi::CallbackInfo& info) {
  static const char kUsage[] =
      "child.write(data: Buffer|Uint8Array, seq: number)";
  CheckBytes(info, 0, kUsage);
  int64_t seq = IntArg(info, 1, "seq", -kSafeMax, kSafeMax, kUsage);
  Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
  int32_t r = Load(info.Env()).write(handle_, data.Data(), data.ByteLength(), seq);
  return Napi::Number::New(info.Env(), r);
}

Napi::Value NativeChild::CloseStdin(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Load(info.Env()).close_stdin(handle_));
}

Napi::Value NativeChild::SetFlow(const Napi::CallbackInfo& info) {
  static const char kUsage[] = "child.setFlow(stream: number, paused: boolean)";
  int64_t stream = IntArg(info, 0, "stream", kInt32Min, kInt32Max, kUsage);
  bool paused = BoolArg(info, 1, kUsage);
  int32_t r = Load(info.Env()).flow(handle_, static_cast<int32_t>(stream),
                                    paused ? 1 : 0);
  return Napi::Number::New(info.Env(), r);
}

Napi::Value NativeChild::Signal(const Napi::CallbackInfo& info) {
  static const char kUsage[] = "child.signal(sig: number, tree: boolean)";
  int64_t sig = IntArg(info, 0, "sig", kInt32Min, kInt32Max, kUsage);
  bool tree = BoolArg(info, 1, kUsage);
  int32_t r = Load(info.Env()).signal(handle_, static_cast<int32_t>(sig),
                                      tree ? 1 : 0);
  return Napi::Number::New(info.Env(), r);
}

Napi::Value NativeChild::Cancel(const Napi::CallbackInfo& info) {
  static const char kUsage[] =
      "child.cancel(reason: number, sig: number, graceMs: number)";
  int64_t reason = IntArg(info, 0, "reason", kInt32Min, kInt32Max, kUsage);
  int64_t sig = IntArg(info, 1, "sig", kInt32Min, kInt32Max, kUsage);
  int64_t grace = IntArg(info, 2, "graceMs", -kSafeMax, kSafeMax, kUsage);
  int32_t r = Load(info.Env()).cancel(handle_, static_cast<int32_t>(reason),
                                      static_cast<int32_t>(sig), grace);
  return Napi::Number::New(info.Env(), r);
}

Napi::Value NativeChild::Resize(const Napi::CallbackInfo& info) {
  static const char kUsage[] = "child.resize(rows: number, cols: number)";
  int64_t rows = IntArg(info, 0, "rows", kInt32Min, kInt32Max, kUsage);
  int64_t cols = IntArg(info, 1, "cols", kInt32Min, kInt32Max, kUsage);
  int32_t r = Load(info.Env()).resize(handle_, static_cast<int32_t>(rows),
                                      static_cast<int32_t>(cols));
  return Napi::Number::New(info.Env(), r);
}

namespace {

// Calls a pws.h function that writes JSON into a buffer (bytes written, or
// -(needed) when it does not fit, or a PWS_E* code): the parsed JSON, or the
// code as a number.
template <typename Call>
Napi::Value JsonCall(Napi::Env env, Call call) {
  std::vector<uint8_t> buf(4096);
  for (int tries = 0; tries < 4; tries++) {
    int64_t n = call(buf.data(), static_cast<int64_t>(buf.size()));
    if (n >= 0) return ParseJson(env, buf.data(), static_cast<size_t>(n));
    if (n >= PWS_EINVAL) return Napi::Number::New(env, static_cast<double>(n));
    buf.resize(static_cast<size_t>(-n));
  }
  return Napi::Number::New(env, PWS_EINVAL);
}

}  // namespace

Napi::Value NativeChild::Foreground(const Napi::CallbackInfo& info) {
  const Api& api = Load(info.Env());
  int64_t h = handle_;
  return JsonCall(info.Env(), [&](uint8_t* b, int64_t cap) {
    return api.foreground(h, b, cap);
  });
}

Napi::Value NativeChild::SignalForeground(const Napi::CallbackInfo& info) {
  static const char kUsage[] = "child.signalForeground(sig: number)";
  int64_t sig = IntArg(info, 0, "sig", kInt32Min, kInt32Max, kUsage);
  const Api& api = Load(info.Env());
  int64_t h = handle_;
  // A retry for a longer buffer would signal again: one call, with room for
  // every pid a group can hold in practice (12 bytes each).
  std::vector<uint8_t> buf(12 * 65536);
  int64_t n = api.signal_foreground(h, static_cast<int32_t>(sig), buf.data(),
                                    static_cast<int64_t>(buf.size()));
  if (n < 0) return Napi::Number::New(info.Env(), static_cast<double>(n));
  return ParseJson(info.Env(), buf.data(), static_cast<size_t>(n));
}

void NativeChild::Ref(const Napi::CallbackInfo& info) {
  Pump::Of(info.Env()).SetRef(info.Env(), handle_, true);
}

void NativeChild::Unref(const Napi::CallbackInfo& info) {
  Pump::Of(info.Env()).SetRef(info.Env(), handle_, false);
}

}  // namespace pws
