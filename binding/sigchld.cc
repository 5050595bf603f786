#include "sigchld.h"

#ifndef _WIN32
#include <signal.h>
#endif

namespace pws {

#ifdef _WIN32

void ChildSignalPin::Start(napi_env) {}
void ChildSignalPin::Stop() {}

#else

namespace {

void AddOnStack(int sig) {
  struct sigaction sa;
  if (sigaction(sig, nullptr, &sa) != 0) return;
  if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) return;
  if (sa.sa_flags & SA_ONSTACK) return;
  sa.sa_flags |= SA_ONSTACK;
  sigaction(sig, &sa, nullptr);
}

}  // namespace

void ChildSignalPin::Start(napi_env env) {
  if (watcher_ != nullptr) return;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return;
  uv_signal_t* w = new uv_signal_t;
  if (uv_signal_init(loop, w) != 0) {
    delete w;
    return;
  }
  watcher_ = w;
  // Node's own child watcher does the work; this one only keeps the handler.
  if (uv_signal_start(w, [](uv_signal_t*, int) {}, SIGCHLD) == 0) {
    uv_unref(reinterpret_cast<uv_handle_t*>(w));  // never keeps Node alive
  }
  // With our watcher active, libuv will not replace the handler, so this
  // read-modify-write cannot race with it.
  AddOnStack(SIGCHLD);
}

void ChildSignalPin::Stop() {
  if (watcher_ == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(watcher_), [](uv_handle_t* h) {
    delete reinterpret_cast<uv_signal_t*>(h);
  });
  watcher_ = nullptr;
}

#endif

}  // namespace pws
