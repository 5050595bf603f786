// Module init. The Go library is loaded on first use (abiVersion, descendants,
// processState, signalTree, containment, configure or new Child), so requiring the
// addon costs nothing until then; `constants` are the numbers of pws.h as this addon was compiled with them.
#include <napi.h>

#include <string>
#include <vector>

#include "child.h"
#include "pump.h"
#include "loader.h"
#include "pws.h"
#include "util.h"

namespace pws {
namespace {

Napi::Value AbiVersion(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Load(info.Env()).abi_version());
}

Napi::Value Descendants(const Napi::CallbackInfo& info) {
  static const char kUsage[] = "descendants(pid: number)";
  Napi::Env env = info.Env();
  int64_t pid = IntArg(info, 0, "pid", -kSafeMax, kSafeMax, kUsage);
  const Api& api = Load(env);
  std::vector<uint8_t> buf(4096);
  // The tree may grow between two calls, hence a few tries with headroom.
  for (int tries = 0; tries < 8; tries++) {
    int64_t n = api.descendants(pid, buf.data(), static_cast<int64_t>(buf.size()));
    if (n >= 0) {
      Napi::Value pids = ParseJson(env, buf.data(), static_cast<size_t>(n));
      if (pids.IsArray()) return pids;
      break;
    }
    size_t needed = static_cast<size_t>(-n);
    if (needed <= buf.size()) break;  // not a size request: a contract breach
    buf.resize(needed + needed / 4);
  }
  throw Napi::Error::New(env, "pawwork-supervisor: pws_descendants(" +
                                  std::to_string(pid) + ") failed");
}

constexpr double kInitPid = 1;  // the smallest pid of a process

Napi::Value ProcessState(const Napi::CallbackInfo& info) {
  static const char kUsage[] = "processState(pid: number)";
  Napi::Env env = info.Env();
  int64_t pid = IntArg(info, 0, "pid", kInitPid, kInt32Max, kUsage);
  switch (Load(env).process_state(pid)) {
    case PWS_PROC_GONE:
      return Napi::String::New(env, "gone");
    case PWS_PROC_ALIVE:
      return Napi::String::New(env, "alive");
    case PWS_PROC_ZOMBIE:
      return Napi::String::New(env, "zombie");
  }
  throw Napi::Error::New(env, "pawwork-supervisor: pws_process_state(" +
                                  std::to_string(pid) + ") failed");
}

// The pids pws_signal_tree can list in its buffer (pws.h: 12 bytes each); the
// signals go out to the whole tree whatever the buffer holds.
constexpr size_t kSignalTreeCap = 12 * 65536;

Napi::Value SignalTree(const Napi::CallbackInfo& info) {
  static const char kUsage[] = "signalTree(pid: number, sig: number)";
  Napi::Env env = info.Env();
  // Never init (pid 1): the core refuses it, and so does the call's shape.
  int64_t pid = IntArg(info, 0, "pid", kInitPid + 1, kInt32Max, kUsage);
  int64_t sig = IntArg(info, 1, "sig", 0, PWS_SIG_MAX, kUsage);
  std::vector<uint8_t> buf(kSignalTreeCap);
  int64_t n = Load(env).signal_tree(pid, static_cast<int32_t>(sig), buf.data(),
                                    static_cast<int64_t>(buf.size()));
  if (n < 0) {
    // PWS_EINVAL: the core refuses pids whose tree is never ours to signal.
    Napi::Error err = Napi::RangeError::New(
        env, std::string("Usage: ") + kUsage + ": pid " + std::to_string(pid) +
                 " is refused (the host itself, or beyond any process)");
    err.Set("code", "ERR_OUT_OF_RANGE");
    throw err;
  }
  return ParseJson(env, buf.data(), static_cast<size_t>(n));
}

Napi::Value Containment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Api& api = Load(env);
  std::vector<uint8_t> buf(1024);
  for (int tries = 0; tries < 4; tries++) {
    int64_t n = api.containment(buf.data(), static_cast<int64_t>(buf.size()));
    if (n >= 0) return ParseJson(env, buf.data(), static_cast<size_t>(n));
    buf.resize(static_cast<size_t>(-n) + 256);
  }
  throw Napi::Error::New(env, "pawwork-supervisor: pws_containment failed");
}

Napi::Value Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "configure(json: string)");
  }
  std::string v = info[0].As<Napi::String>().Utf8Value();
  if (Load(env).configure(reinterpret_cast<const uint8_t*>(v.data()), static_cast<int64_t>(v.size())) != 0) {
    throw Napi::TypeError::New(env, "pawwork-supervisor: configure: invalid settings " + v);
  }
  return env.Undefined();
}

// setLibraryPath(path): the Go library lib/addon.ts's resolver found, before any
// call that loads it. Throws if a library from another path is already loaded.
Napi::Value SetLibraryPathJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "setLibraryPath(path: string)");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (!SetLibraryPath(path)) {
    Napi::Error err = Napi::Error::New(
        env, "pawwork-supervisor: a native library from another path is already loaded; not " + path);
    err.Set("code", "ERR_PAWWORK_SUPERVISOR_LOAD");
    throw err;
  }
  return env.Undefined();
}

// The SIGCHLD pin's state in this environment (binding/sigchld.h): tests read it.
Napi::Value ChildSignalState(const Napi::CallbackInfo& info) {
  return Pump::Of(info.Env()).ChildSignalState(info.Env());
}

// transientOutput(handle): the child's stdout and stderr chunks reach its onEvent
// as Uint8Array views valid only during that call (Process.run's collector copies
// each into its buffer at once), instead of a Buffer of their own each.
Napi::Value TransientOutput(const Napi::CallbackInfo& info) {
  static const char kUsage[] = "transientOutput(handle: number)";
  int64_t handle = IntArg(info, 0, "handle", 0, kSafeMax, kUsage);
  Pump::Of(info.Env()).SetTransient(handle);
  return info.Env().Undefined();
}

// Every number of pws.h, by its name without the PWS_ prefix. lib/addon.ts checks
// the ones it uses once, at load, so that a facade and an addon built from
// different headers refuse to run together instead of misreading each other.
Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
#define PWS_EXPORT(name) c.Set(#name, Napi::Number::New(env, static_cast<double>(PWS_##name)))
  PWS_EXPORT(ABI_VERSION);
  PWS_EXPORT(EBADHANDLE);
  PWS_EXPORT(ECLOSED);
  PWS_EXPORT(EINVAL);
  PWS_EXPORT(EV_STDOUT);
  PWS_EXPORT(EV_STDERR);
  PWS_EXPORT(EV_STDIN_ACK);
  PWS_EXPORT(EV_EXIT);
  PWS_EXPORT(EV_STDOUT_END);
  PWS_EXPORT(EV_STDERR_END);
  PWS_EXPORT(EV_CLOSE);
  PWS_EXPORT(STREAM_STDOUT);
  PWS_EXPORT(STREAM_STDERR);
  PWS_EXPORT(PROC_GONE);
  PWS_EXPORT(PROC_ALIVE);
  PWS_EXPORT(PROC_ZOMBIE);
  PWS_EXPORT(REASON_ABORT);
  PWS_EXPORT(REASON_TIMEOUT);
  PWS_EXPORT(REASON_STOP);
  PWS_EXPORT(REASON_HOST);
  PWS_EXPORT(SIG_MAX);
  PWS_EXPORT(MS_MAX);
  PWS_EXPORT(DEFAULT_GRACE_MS);
  PWS_EXPORT(DEFAULT_DRAIN_IDLE_MS);
  PWS_EXPORT(DEFAULT_DRAIN_MAX_MS);
  PWS_EXPORT(HUB_CLOSE_BOUND_MS);
  PWS_EXPORT(HELLO_WAIT_MS);
  PWS_EXPORT(RECORD_HEADER_SIZE);
  PWS_EXPORT(BATCH_MIN);
  PWS_EXPORT(TERM_SIZE_MAX);
#undef PWS_EXPORT
  c.Freeze();
  return c;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Before any other call: a runtime lacking a function we import gets a typed
  // error naming it, not a crash at its first call (making the error needs
  // napi_create_error and napi_throw, which every runtime measured has).
  std::string missing = MissingNodeApi();
  if (!missing.empty()) {
    Napi::Error err = Napi::Error::New(
        env, "pawwork-supervisor: this runtime lacks the Node-API function " + missing +
                 " that the native addon needs");
    err.Set("code", "ERR_PAWWORK_SUPERVISOR_RUNTIME");
    err.Set("missing", missing);
    throw err;
  }
  Pump::Install(env);
  exports.Set("Child", NativeChild::Define(env));
  exports.Set("abiVersion", Napi::Function::New<AbiVersion>(env, "abiVersion"));
  exports.Set("descendants", Napi::Function::New<Descendants>(env, "descendants"));
  exports.Set("processState", Napi::Function::New<ProcessState>(env, "processState"));
  exports.Set("signalTree", Napi::Function::New<SignalTree>(env, "signalTree"));
  exports.Set("containment", Napi::Function::New<Containment>(env, "containment"));
  exports.Set("configure", Napi::Function::New<Configure>(env, "configure"));
  exports.Set("setLibraryPath", Napi::Function::New<SetLibraryPathJs>(env, "setLibraryPath"));
  exports.Set("transientOutput", Napi::Function::New<TransientOutput>(env, "transientOutput"));
  exports.Set("childSignalState", Napi::Function::New<ChildSignalState>(env, "childSignalState"));
  exports.Set("constants", Constants(env));
  return exports;
}

}  // namespace pws

namespace {
// NODE_API_MODULE wants an unqualified name.
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return pws::Init(env, exports);
}
}  // namespace

NODE_API_MODULE(pawwork_supervisor, Init)
