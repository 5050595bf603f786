#include "sigchld.h"

#ifndef _WIN32
#include <dlfcn.h>
#include <signal.h>
// Types and sizes only: no libuv function is called through its own name, so
// the addon imports none (nm -D --undefined-only … | grep uv_ is empty).
#include <uv.h>
#endif

namespace pws {

#ifdef _WIN32

void ChildSignalPin::Start(napi_env) { host_ = "node"; reason_ = "not needed on Windows"; }
void ChildSignalPin::Stop() {}
Napi::Object ChildSignalPin::State(Napi::Env env) const {
  Napi::Object o = Napi::Object::New(env);
  o.Set("host", host_);
  o.Set("pinned", false);
  o.Set("reason", reason_);
  return o;
}

#else

namespace {

// The libuv and Node-API functions the pin needs, found in the host.
struct Uv {
  decltype(&napi_get_uv_event_loop) get_loop;
  decltype(&uv_signal_init) signal_init;
  decltype(&uv_signal_start) signal_start;
  decltype(&uv_unref) unref;
  decltype(&uv_close) close;
};

template <typename Fn>
bool Find(const char* name, Fn* out) {
  *out = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
  return *out != nullptr;
}

// Empty when every function is there; otherwise the first missing one.
std::string FindUv(Uv* uv) {
  if (!Find("napi_get_uv_event_loop", &uv->get_loop)) return "napi_get_uv_event_loop";
  if (!Find("uv_signal_init", &uv->signal_init)) return "uv_signal_init";
  if (!Find("uv_signal_start", &uv->signal_start)) return "uv_signal_start";
  if (!Find("uv_unref", &uv->unref)) return "uv_unref";
  if (!Find("uv_close", &uv->close)) return "uv_close";
  return "";
}

// "bun" or "deno" when process.versions names one; "node" otherwise (Node,
// Electron). Any failure to read it counts as "unknown": no libuv then.
std::string Host(Napi::Env env) {
  try {
    Napi::Value process = env.Global().Get("process");
    if (!process.IsObject()) return "unknown";
    Napi::Value versions = process.As<Napi::Object>().Get("versions");
    if (!versions.IsObject()) return "unknown";
    Napi::Object v = versions.As<Napi::Object>();
    if (v.Has("bun")) return "bun";
    if (v.Has("deno")) return "deno";
    if (v.Has("node")) return "node";
  } catch (const Napi::Error&) {
  }
  return "unknown";
}

void AddOnStack(int sig) {
  struct sigaction sa;
  if (sigaction(sig, nullptr, &sa) != 0) return;
  if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) return;
  if (sa.sa_flags & SA_ONSTACK) return;
  sa.sa_flags |= SA_ONSTACK;
  sigaction(sig, &sa, nullptr);
}

// libuv's handle, with the close function it must be freed through.
struct Watcher {
  uv_signal_t handle;
  decltype(&uv_close) close;
};

}  // namespace

void ChildSignalPin::Start(napi_env raw) {
  if (!host_.empty()) return;
  Napi::Env env(raw);
  host_ = Host(env);
  if (host_ != "node") {
    reason_ = host_ + " does not run child processes through libuv's SIGCHLD handler";
    AddOnStack(SIGCHLD);  // whatever handler it has, made safe for Go
    return;
  }
  Uv uv{};
  std::string missing = FindUv(&uv);
  if (!missing.empty()) {
    reason_ = "the host exports no " + missing;
    AddOnStack(SIGCHLD);
    return;
  }
  uv_loop_t* loop = nullptr;
  if (uv.get_loop(raw, &loop) != napi_ok || loop == nullptr) {
    reason_ = "napi_get_uv_event_loop failed";
    AddOnStack(SIGCHLD);
    return;
  }
  Watcher* w = new Watcher;
  w->close = uv.close;
  if (uv.signal_init(loop, &w->handle) != 0) {
    delete w;
    reason_ = "uv_signal_init failed";
    AddOnStack(SIGCHLD);
    return;
  }
  watcher_ = w;
  // Node's own child watcher does the work; this one only keeps the handler.
  if (uv.signal_start(&w->handle, [](uv_signal_t*, int) {}, SIGCHLD) == 0) {
    uv.unref(reinterpret_cast<uv_handle_t*>(&w->handle));  // never keeps Node alive
  } else {
    reason_ = "uv_signal_start failed";
  }
  // With our watcher active, libuv will not replace the handler, so this
  // read-modify-write cannot race with it.
  AddOnStack(SIGCHLD);
}

void ChildSignalPin::Stop() {
  if (watcher_ == nullptr) return;
  Watcher* w = static_cast<Watcher*>(watcher_);
  // handle is the first member: the handle's address is the Watcher's.
  w->close(reinterpret_cast<uv_handle_t*>(&w->handle), [](uv_handle_t* h) {
    delete reinterpret_cast<Watcher*>(h);
  });
  watcher_ = nullptr;
}

Napi::Object ChildSignalPin::State(Napi::Env env) const {
  Napi::Object o = Napi::Object::New(env);
  o.Set("host", host_);
  o.Set("pinned", watcher_ != nullptr && reason_.empty());
  if (!reason_.empty()) o.Set("reason", reason_);
  struct sigaction sa;
  if (sigaction(SIGCHLD, nullptr, &sa) == 0) {
    o.Set("handler", sa.sa_handler == SIG_DFL   ? "default"
                     : sa.sa_handler == SIG_IGN ? "ignore"
                                                : "handler");
    o.Set("onStack", (sa.sa_flags & SA_ONSTACK) != 0);
  }
  return o;
}

#endif

}  // namespace pws
