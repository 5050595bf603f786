// Finds and loads the Go core (libpawwork_supervisor) once per process.
#ifndef PAWWORK_SUPERVISOR_LOADER_H
#define PAWWORK_SUPERVISOR_LOADER_H

#include <napi.h>

#include <string>

#ifndef _WIN32
#include <signal.h>
#endif

#include "pws.h"

namespace pws {

// Every function of pws.h, resolved from the loaded library.
struct Api {
  pws_abi_version_fn abi_version;
  pws_hub_open_fn hub_open;
  pws_hub_close_fn hub_close;
  pws_hub_next_fn hub_next;
  pws_spawn_fn spawn;
  pws_write_fn write;
  pws_close_stdin_fn close_stdin;
  pws_flow_fn flow;
  pws_signal_fn signal;
  pws_cancel_fn cancel;
  pws_forget_fn forget;
  pws_descendants_fn descendants;
  pws_process_state_fn process_state;
  pws_signal_tree_fn signal_tree;
  pws_containment_fn containment;
  pws_configure_fn configure;
  pws_resize_fn resize;
  pws_foreground_fn foreground;
  pws_signal_foreground_fn signal_foreground;
};

// The library's exact path, found by lib/addon.ts's resolver: the loader never
// looks for the library itself (no dladdr guess). Before the first Load; returns
// false (and changes nothing) when a library is already loaded or failed from
// another path.
bool SetLibraryPath(const std::string& path);

// The first Node-API function the addon imports that the host does not export,
// or "" (always "" on Windows). A host that loads addons lazily (RTLD_LAZY: Node,
// Deno) would otherwise die at the first call of a missing one; the module's init
// checks this first and throws ERR_PAWWORK_SUPERVISOR_RUNTIME instead.
std::string MissingNodeApi();

// Returns the library, loading it on the first call from any thread or worker.
// On failure throws an Error with code ERR_PAWWORK_SUPERVISOR_LOAD whose message
// names the path handed down and why it failed; the failure is remembered,
// so later calls throw the
// same message without trying again. Before loading, checks that the threads
// the Go runtime makes at load can be had (a runtime that cannot make one
// aborts the process): if not, throws an Error with code EAGAIN, errno and
// syscall "pthread_create", loads nothing, and the next call checks again.
const Api& Load(Napi::Env env);

// Blocks asynchronous signals on the calling thread for its lifetime; threads
// created meanwhile inherit the mask. For threads that live inside Go: the Go
// runtime requires SA_ONSTACK handlers and libuv installs its own (SIGCHLD,
// ...) without it, so such signals must always land on a Node thread.
// Synchronous faults stay deliverable. A no-op on Windows.
class AsyncSignalsBlocked {
 public:
  AsyncSignalsBlocked();
  ~AsyncSignalsBlocked();
  AsyncSignalsBlocked(const AsyncSignalsBlocked&) = delete;
  AsyncSignalsBlocked& operator=(const AsyncSignalsBlocked&) = delete;

#ifndef _WIN32
 private:
  sigset_t old_;
#endif
};

}  // namespace pws

#endif
