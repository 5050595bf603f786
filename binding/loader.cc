// The addon does not link against the Go library: it loads it at run time so that
// the same scheme works on Windows (an MSVC-built addon loading a mingw-built DLL)
// and so that asynchronous signals can be blocked while the Go runtime starts.
#include "loader.h"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <vector>

#ifdef _WIN32
#include <windows.h>
// After windows.h: the delay-load structures (mingw-w64 and MSVC alike).
#include <delayimp.h>
#else
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#endif

namespace pws {
namespace {

#if defined(_WIN32)
const char kLibName[] = "pawwork_supervisor.dll";
#elif defined(__APPLE__)
const char kLibName[] = "libpawwork_supervisor.dylib";
#else
const char kLibName[] = "libpawwork_supervisor.so";
#endif

// Written under load_mu until loaded is set (release) or failed; read-only after.
std::mutex load_mu;
Api api;
std::atomic<bool> loaded{false};
bool failed = false;  // for good: every later call throws failure
std::string failure;
std::string library_path;  // handed down by lib/addon.ts (SetLibraryPath)

// Threads the Go runtime makes when it loads (go/core/threads.go reserves
// GOMAXPROCS ≤ 4, + 4 blocking slots + 3 spares; its own sysmon, template and
// start-up threads come on top: 15 measured with GOMAXPROCS 2), plus the
// environment's pump thread, plus a margin. A Go runtime that cannot create a
// thread aborts the process, so the load goes ahead only if these can be had.
constexpr int kThreadsToLoad = 22;
// A probe thread only waits: a small stack will do.
constexpr size_t kProbeStack = 64 * 1024;

struct Candidate {
  std::string path;    // UTF-8; empty if it could not even be worked out
  std::string origin;  // where the path came from
  std::string error;   // why it failed
};

#ifdef _WIN32

std::wstring Widen(const std::string& s) {
  if (s.empty()) return std::wstring();
  int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), (int)s.size(), nullptr, 0);
  std::wstring w(n, L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), (int)s.size(), &w[0], n);
  return w;
}

std::string Narrow(const std::wstring& w) {
  if (w.empty()) return std::string();
  int n = WideCharToMultiByte(CP_UTF8, 0, w.data(), (int)w.size(), nullptr, 0,
                              nullptr, nullptr);
  std::string s(n, '\0');
  WideCharToMultiByte(CP_UTF8, 0, w.data(), (int)w.size(), &s[0], n, nullptr,
                      nullptr);
  return s;
}

std::string LastError() {
  DWORD code = GetLastError();
  wchar_t* text = nullptr;
  DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER |
                               FORMAT_MESSAGE_FROM_SYSTEM |
                               FORMAT_MESSAGE_IGNORE_INSERTS,
                           nullptr, code, 0, reinterpret_cast<LPWSTR>(&text), 0,
                           nullptr);
  std::wstring msg = n ? std::wstring(text, n) : std::wstring();
  if (text) LocalFree(text);
  while (!msg.empty() && (msg.back() == L'\r' || msg.back() == L'\n' ||
                          msg.back() == L' ' || msg.back() == L'.')) {
    msg.pop_back();
  }
  return Narrow(msg) + " (error " + std::to_string(code) + ")";
}

void* Open(const std::string& path, std::string* why) {
  // The exact path lib/addon.ts handed down, as UTF-16 (any code page, any
  // character). LOAD_WITH_ALTERED_SEARCH_PATH: the DLL's own dependencies are
  // looked for in its directory, not the process's; it wants an absolute path
  // with backslashes only (forward slashes make its search undefined).
  std::wstring wide = Widen(path);
  for (wchar_t& c : wide) {
    if (c == L'/') c = L'\\';
  }
  HMODULE lib = LoadLibraryExW(wide.c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH);
  if (!lib) {
    *why = LastError();
    // Some system messages name the file as an insert ("Bad EXE format for %1").
    size_t at = why->find("%1");
    if (at != std::string::npos) why->replace(at, 2, path);
  }
  return reinterpret_cast<void*>(lib);
}

void* Symbol(void* lib, const char* name, std::string* why) {
  FARPROC f = GetProcAddress(reinterpret_cast<HMODULE>(lib), name);
  if (!f) *why = std::string("missing ") + name + ": " + LastError();
  return reinterpret_cast<void*>(f);
}

#else  // POSIX

std::string DlError() {
  const char* e = dlerror();
  return e ? e : "unknown dlerror";
}

void* Open(const std::string& path, std::string* why) {
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) *why = DlError();
  return lib;
}

void* Symbol(void* lib, const char* name, std::string* why) {
  dlerror();
  void* f = dlsym(lib, name);
  if (!f) *why = std::string("missing ") + name + ": " + DlError();
  return f;
}

#endif

// The loader calls through pws.h's typedefs: each must be its function's declared
// type (which go/capi's build checks against the Go side's //export).
#define PWS_SAME_TYPE(fn) \
  static_assert(std::is_same<decltype(&fn), fn##_fn>::value, #fn "_fn differs from " #fn)
PWS_SAME_TYPE(pws_abi_version);
PWS_SAME_TYPE(pws_hub_open);
PWS_SAME_TYPE(pws_hub_close);
PWS_SAME_TYPE(pws_hub_next);
PWS_SAME_TYPE(pws_spawn);
PWS_SAME_TYPE(pws_write);
PWS_SAME_TYPE(pws_close_stdin);
PWS_SAME_TYPE(pws_flow);
PWS_SAME_TYPE(pws_signal);
PWS_SAME_TYPE(pws_cancel);
PWS_SAME_TYPE(pws_forget);
PWS_SAME_TYPE(pws_descendants);
PWS_SAME_TYPE(pws_process_state);
PWS_SAME_TYPE(pws_signal_tree);
PWS_SAME_TYPE(pws_containment);
PWS_SAME_TYPE(pws_configure);
PWS_SAME_TYPE(pws_resize);
PWS_SAME_TYPE(pws_foreground);
PWS_SAME_TYPE(pws_signal_foreground);
#undef PWS_SAME_TYPE

template <typename Fn>
bool Resolve(void* lib, const char* name, Fn* out, std::string* why) {
  void* f = Symbol(lib, name, why);
  *out = reinterpret_cast<Fn>(f);
  return f != nullptr;
}

// A library that fails any check is not closed: a Go runtime cannot be
// unloaded (c-shared libraries are NODELETE), so closing would be a lie.
// The Go runtime's threads inherit the signal mask of the thread that starts
// it, hence the block around the load and the first call.
bool TryLoad(const std::string& path, std::string* why) {
  AsyncSignalsBlocked blocked;
  void* lib = Open(path, why);
  if (!lib) return false;
  Api a;
  if (!Resolve(lib, "pws_abi_version", &a.abi_version, why) ||
      !Resolve(lib, "pws_hub_open", &a.hub_open, why) ||
      !Resolve(lib, "pws_hub_close", &a.hub_close, why) ||
      !Resolve(lib, "pws_hub_next", &a.hub_next, why) ||
      !Resolve(lib, "pws_spawn", &a.spawn, why) ||
      !Resolve(lib, "pws_write", &a.write, why) ||
      !Resolve(lib, "pws_close_stdin", &a.close_stdin, why) ||
      !Resolve(lib, "pws_flow", &a.flow, why) ||
      !Resolve(lib, "pws_signal", &a.signal, why) ||
      !Resolve(lib, "pws_cancel", &a.cancel, why) ||
      !Resolve(lib, "pws_forget", &a.forget, why) ||
      !Resolve(lib, "pws_descendants", &a.descendants, why) ||
      !Resolve(lib, "pws_process_state", &a.process_state, why) ||
      !Resolve(lib, "pws_signal_tree", &a.signal_tree, why) ||
      !Resolve(lib, "pws_containment", &a.containment, why) ||
      !Resolve(lib, "pws_configure", &a.configure, why) ||
      !Resolve(lib, "pws_resize", &a.resize, why) ||
      !Resolve(lib, "pws_foreground", &a.foreground, why) ||
      !Resolve(lib, "pws_signal_foreground", &a.signal_foreground, why)) {
    return false;
  }
  // The first call waits for the Go runtime to finish starting, so it too
  // must run with signals blocked.
  int32_t version = a.abi_version();
  if (version != PWS_ABI_VERSION) {
    *why = "ABI version " + std::to_string(version) + ", this addon needs " +
           std::to_string(PWS_ABI_VERSION);
    return false;
  }
  api = a;
  return true;
}

#ifdef _WIN32
bool ProbeThreads(int, int* err) {
  *err = 0;
  return true;  // no per-user thread limit to run into
}
#else
struct Probe {
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
};

void* ProbeThread(void* arg) {
  Probe* p = static_cast<Probe*>(arg);
  std::unique_lock<std::mutex> lock(p->mu);
  p->cv.wait(lock, [p] { return p->go; });
  return nullptr;
}

// Whether n more threads of this user can exist at once now (RLIMIT_NPROC
// counts every thread and process of the user): makes them, then lets them go.
bool ProbeThreads(int n, int* err) {
  Probe p;
  std::vector<pthread_t> threads;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kProbeStack);
  *err = 0;
  for (int i = 0; i < n && *err == 0; i++) {
    pthread_t t;
    *err = pthread_create(&t, &attr, ProbeThread, &p);
    if (*err == 0) threads.push_back(t);
  }
  pthread_attr_destroy(&attr);
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.go = true;
  }
  p.cv.notify_all();
  for (pthread_t t : threads) pthread_join(t, nullptr);
  return *err == 0;
}
#endif

void LoadOnce() {
  Candidate c{library_path, "handed down by lib/addon.ts", ""};
  if (c.path.empty()) {
    c.error = "no path was handed down (lib/addon.ts's resolver calls setLibraryPath first)";
  } else if (TryLoad(c.path, &c.error)) {
    loaded.store(true, std::memory_order_release);
    return;
  }
  failure = std::string("pawwork-supervisor: cannot load the native library ") +
            kLibName + "; tried:\n  " +
            (c.path.empty() ? std::string("(none)") : c.path + " (" + c.origin + ")") +
            ": " + c.error;
  failed = true;
}

// Every Node-API function the addon imports (test/runtimes-resolver.test.ts keeps
// this list equal to `nm -D --undefined-only` of the built addon).
const char* const kNodeApi[] = {
    "napi_add_env_cleanup_hook", "napi_add_finalizer", "napi_async_destroy",
    "napi_call_function", "napi_call_threadsafe_function",
    "napi_close_callback_scope", "napi_close_escapable_handle_scope",
    "napi_close_handle_scope", "napi_coerce_to_string", "napi_create_arraybuffer",
    "napi_create_buffer_copy",
    "napi_create_double", "napi_create_error", "napi_create_function",
    "napi_create_object", "napi_create_range_error", "napi_create_reference",
    "napi_create_string_utf8", "napi_create_threadsafe_function",
    "napi_create_type_error", "napi_create_typedarray", "napi_define_class", "napi_define_properties",
    "napi_delete_reference", "napi_escape_handle", "napi_fatal_error",
    "napi_get_and_clear_last_exception", "napi_get_arraybuffer_info",
    "napi_get_boolean", "napi_get_cb_info",
    "napi_get_global", "napi_get_instance_data", "napi_get_last_error_info",
    "napi_get_named_property", "napi_get_new_target", "napi_get_property",
    "napi_get_reference_value", "napi_get_typedarray_info", "napi_get_undefined",
    "napi_get_value_bool", "napi_get_value_double", "napi_get_value_string_utf8",
    "napi_has_named_property", "napi_has_property", "napi_is_array",
    "napi_is_exception_pending", "napi_is_typedarray", "napi_object_freeze",
    "napi_open_escapable_handle_scope", "napi_open_handle_scope",
    "napi_ref_threadsafe_function", "napi_release_threadsafe_function",
    "napi_remove_wrap", "napi_set_instance_data", "napi_set_named_property",
    "napi_throw", "napi_typeof", "napi_unref_threadsafe_function", "napi_unwrap",
    "napi_wrap",
};

#ifdef _WIN32

// The module that exports Node-API in this process. The addon imports Node-API
// from "node.exe" through a delay-load import library (make win32-addon), and
// the hook below hands the loader this module instead of letting it look for a
// file named node.exe: the host's own executable when it exports Node-API
// (node.exe under any name, electron.exe, bun.exe, deno.exe), else a loaded
// node.dll or libnode.dll (embedders that build Node as a DLL).
HMODULE NodeApiHost() {
  static const HMODULE host = [] {
    HMODULE exe = GetModuleHandleW(nullptr);
    if (exe != nullptr && GetProcAddress(exe, "napi_module_register") != nullptr) return exe;
    for (const wchar_t* name : {L"node.dll", L"libnode.dll"}) {
      HMODULE m = GetModuleHandleW(name);
      if (m != nullptr && GetProcAddress(m, "napi_module_register") != nullptr) return m;
    }
    return exe;
  }();
  return host;
}

#ifdef PWS_DELAY_LOAD_HOOK
FARPROC WINAPI NodeApiDelayHook(unsigned event, PDelayLoadInfo info) {
  if (event == dliNotePreLoadLibrary && info != nullptr && info->szDll != nullptr &&
      _stricmp(info->szDll, "node.exe") == 0) {
    return reinterpret_cast<FARPROC>(NodeApiHost());
  }
  return nullptr;  // everything else: the default behaviour
}
#endif

#endif

}  // namespace

#if defined(_WIN32) && defined(PWS_DELAY_LOAD_HOOK)
}  // namespace pws
// The delay-load helper calls these (one definition each in the whole addon).
// A Node-API function the host lacks would fail inside the helper, at its first
// call: MissingNodeApi checks every one at init instead, so none is left to fail.
// Only in the mingw-w64 build (make win32-addon defines PWS_DELAY_LOAD_HOOK):
// node-gyp's MSVC build links its own win_delay_load_hook.cc, which defines the
// notify hook the same way (the host executable for "node.exe").
extern "C" {
PfnDliHook __pfnDliNotifyHook2 = pws::NodeApiDelayHook;
PfnDliHook __pfnDliFailureHook2 = nullptr;
}
namespace pws {
#endif

std::string MissingNodeApi() {
#ifdef _WIN32
  // Delay-loaded, so nothing was resolved yet: look each one up where the hook
  // will resolve it from.
  HMODULE host = NodeApiHost();
  for (const char* name : kNodeApi) {
    if (host == nullptr || GetProcAddress(host, name) == nullptr) return name;
  }
  return "";
#else
  for (const char* name : kNodeApi) {
    if (dlsym(RTLD_DEFAULT, name) == nullptr) return name;
  }
  return "";
#endif
}

#ifdef _WIN32
AsyncSignalsBlocked::AsyncSignalsBlocked() {}
AsyncSignalsBlocked::~AsyncSignalsBlocked() {}
#else
AsyncSignalsBlocked::AsyncSignalsBlocked() {
  sigset_t all;
  sigfillset(&all);
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT}) {
    sigdelset(&all, s);
  }
  pthread_sigmask(SIG_BLOCK, &all, &old_);
}
AsyncSignalsBlocked::~AsyncSignalsBlocked() {
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}
#endif

bool SetLibraryPath(const std::string& path) {
  std::lock_guard<std::mutex> lock(load_mu);
  if (loaded.load(std::memory_order_relaxed) || failed) return library_path == path;
  library_path = path;
  return true;
}

const Api& Load(Napi::Env env) {
  if (loaded.load(std::memory_order_acquire)) return api;
  int probe_err = 0;
  {
    std::lock_guard<std::mutex> lock(load_mu);
    if (!loaded.load(std::memory_order_relaxed) && !failed &&
        ProbeThreads(kThreadsToLoad, &probe_err)) {
      LoadOnce();
    }
  }
  if (loaded.load(std::memory_order_acquire)) return api;
  if (probe_err != 0) {
    // Not remembered: once threads can be had again, a later call loads.
    Napi::Error err = Napi::Error::New(
        env, std::string("pawwork-supervisor: not loading the native library: ") +
                 std::to_string(kThreadsToLoad) +
                 " threads for it cannot be had (pthread_create: " +
                 std::strerror(probe_err) +
                 "); the user's process limit (ulimit -u) is reached. "
                 "Try again once fewer processes run.");
    err.Set("code", probe_err == EAGAIN   ? "EAGAIN"
                    : probe_err == ENOMEM ? "ENOMEM"
                                          : "EPERM");
    err.Set("errno", Napi::Number::New(env, probe_err));
    err.Set("syscall", "pthread_create");
    throw err;
  }
  Napi::Error err = Napi::Error::New(env, failure);
  err.Set("code", "ERR_PAWWORK_SUPERVISOR_LOAD");
  throw err;
}

}  // namespace pws
