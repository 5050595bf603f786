// Keeps libuv's SIGCHLD handler safe for the Go runtime's threads, under Node
// (and Electron) only, without importing any libuv symbol.
//
// Go unblocks SIGCHLD on its own threads and requires every handler installed
// by non-Go code to use SA_ONSTACK; otherwise a handler can run on a
// goroutine's small stack and overwrite the stack next to it. libuv installs
// its SIGCHLD handler without SA_ONSTACK whenever Node's first child process of
// the moment starts, and removes it when the last one ends. Measured here with
// Node's child_process spawning beside ours (scripts/runtimes/sigchld-repro.cjs):
// 3 crashes in 20 runs at first, 1 in 20 on this machine today ("fatal error:
// fault", "traceback did not unwind completely"); none when the handler
// existed before Go started (Go adds SA_ONSTACK to handlers present at its
// start).
//
// So each Node environment with an open hub keeps one SIGCHLD watcher of its
// own: libuv then registers its handler once and keeps it while any watcher is
// active, and Start adds SA_ONSTACK to it. Left uncovered: a handler that libuv
// re-registers while no environment has a hub open (Go is then idle).
//
// The addon must load where libuv is absent or only pretended (Deno has no uv
// symbol at all: an import is "undefined symbol: uv_signal_init" for the whole
// host; Bun exports stubs that panic), so the four libuv functions and
// napi_get_uv_event_loop are looked up at run time (dlsym, RTLD_DEFAULT) and
// only when the host says it is Node: process.versions has neither `bun` nor
// `deno`. Neither installs any SIGCHLD handler for its child_process (Bun
// 1.4.5, Deno 2.9.6: SIG_DFL during and after a spawn, measured with
// childSignalState()), so there is nothing to pin; whatever SIGCHLD handler
// such a host has when a hub opens gets SA_ONSTACK added all the same.
#ifndef PAWWORK_SUPERVISOR_SIGCHLD_H
#define PAWWORK_SUPERVISOR_SIGCHLD_H

#include <napi.h>

#include <string>

namespace pws {

class ChildSignalPin {
 public:
  // On the environment's JS thread. Idempotent. Throws nothing: failing to
  // pin only leaves the risk described above, and State() says why.
  void Start(napi_env env);
  // In the environment's cleanup hook.
  void Stop();
  // What Start did, for tests and diagnostics: { host, pinned, reason?,
  // handler: "default"|"ignore"|"handler", onStack }.
  Napi::Object State(Napi::Env env) const;

 private:
  void* watcher_ = nullptr;  // a uv_signal_t, allocated at libuv's size
  std::string host_;         // "node", "bun", "deno", "" before Start
  std::string reason_;       // why there is no watcher, when there is none
};

}  // namespace pws

#endif
