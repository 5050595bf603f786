// Keeps libuv's SIGCHLD handler safe for the Go runtime's threads.
//
// Go unblocks SIGCHLD on its own threads and requires every handler installed
// by non-Go code to use SA_ONSTACK; otherwise a handler can run on a
// goroutine's small stack and overwrite the stack next to it. libuv installs
// its SIGCHLD handler without SA_ONSTACK whenever Node's first child process of
// the moment starts, and removes it when the last one ends. Measured here with
// Node's child_process spawning beside ours: 3 crashes ("traceback did not
// unwind completely", a corrupted goroutine stack) in 20 runs; none in 20 when
// the handler existed before Go started (Go adds SA_ONSTACK to handlers present
// at its start).
//
// So each environment with an open hub keeps one SIGCHLD watcher of its own:
// libuv then registers its handler once and keeps it while any watcher is
// active, and Start adds SA_ONSTACK to it. Left uncovered: a handler that libuv
// re-registers while no environment has a hub open (Go is then idle).
#ifndef PAWWORK_SUPERVISOR_SIGCHLD_H
#define PAWWORK_SUPERVISOR_SIGCHLD_H

#include <node_api.h>
#include <uv.h>

namespace pws {

class ChildSignalPin {
 public:
  // On the environment's JS thread. Idempotent. Throws nothing: failing to
  // pin only leaves the risk described above.
  void Start(napi_env env);
  // In the environment's cleanup hook.
  void Stop();

 private:
#ifndef _WIN32
  uv_signal_t* watcher_ = nullptr;
#endif
};

}  // namespace pws

#endif
