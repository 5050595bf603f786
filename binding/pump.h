// The pump: per-environment state that moves a Go hub's event records into JS —
// one Go hub, one thread blocked in pws_hub_next, one thread-safe function and
// the table of this environment's children. Each JavaScript environment
// (main thread or worker) has its own, kept as the addon's instance data.
#ifndef PAWWORK_SUPERVISOR_PUMP_H
#define PAWWORK_SUPERVISOR_PUMP_H

#include <napi.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#include <unordered_map>

#include "loader.h"
#include "sigchld.h"

namespace pws {

class Pump {
 public:
  // Gives the environment its pump; called once per environment at module init.
  static void Install(Napi::Env env);
  static Pump& Of(Napi::Env env);

  // The Go hub id; on first use loads the library, opens the hub and starts
  // the pump. Throws the load error, or an EAGAIN Error (syscall
  // "pthread_create") when the pump thread cannot be had; the next call retries.
  int64_t Open(Napi::Env env);
  const Api& api() const { return *api_; }
  // What the SIGCHLD pin did in this environment (binding/sigchld.h).
  Napi::Object ChildSignalState(Napi::Env env) const { return sigchld_.State(env); }

  // Registers a freshly spawned child; it is ref'd until its EXIT event.
  void Add(Napi::Env env, int64_t handle, Napi::Function on_event);
  // Whether the child keeps the event loop alive; a no-op after its EXIT.
  void SetRef(Napi::Env env, int64_t handle, bool ref);
  // From now on the child's output reaches onEvent as transient views (see
  // Dispatch): for a consumer inside the library that copies each at once.
  void SetTransient(int64_t handle);

 private:
  struct Batch {
    std::unique_ptr<uint8_t[]> bytes;
    int64_t len = 0;
  };
  struct Entry {
    Napi::FunctionReference on_event;
    bool ref;
    bool transient = false;
  };
  static void Deliver(Napi::Env env, Napi::Function, Pump* pump, Batch* batch);
  using Tsfn = Napi::TypedThreadSafeFunction<Pump, Batch, &Pump::Deliver>;

  static void Run(Pump* pump, const Api* api, int64_t hub, Tsfn tsfn);
  // Batch buffers are reused: a fresh 256 KiB buffer per batch costs page faults
  // on every byte (it is above malloc's mmap threshold), measured as the largest
  // single cost of streaming. Any thread.
  std::unique_ptr<uint8_t[]> TakeBuffer();
  void GiveBuffer(std::unique_ptr<uint8_t[]> bytes);
  static void Cleanup(void* arg);
  void Dispatch(Napi::Env env, const uint8_t* p, size_t len);
  // A Uint8Array over this environment's scratch buffer holding a copy of
  // [p, p+len): valid until the next output event (JS thread).
  Napi::Value View(Napi::Env env, const uint8_t* p, size_t len);
  // Drops a child after its EXIT: pws_forget, and its ref.
  void Forget(Napi::Env env, int64_t handle);
  void Hold(Napi::Env env);
  void Drop(Napi::Env env);

  const Api* api_ = nullptr;
  int64_t id_ = 0;  // the Go hub's id; 0 until Open
  bool hooked_ = false;  // the cleanup hook is registered
  ChildSignalPin sigchld_;
  Tsfn tsfn_;
  std::thread thread_;  // Run: the pump itself
  // Touched only on this environment's JS thread (the pump sees only the hub
  // id and the TSFN), so it needs no lock.
  std::unordered_map<int64_t, Entry> children_;
  size_t refs_ = 0;  // children holding the event loop open
  // The transient views' memory: one ArrayBuffer per environment, reused, so
  // that a transient consumer leaves no garbage chunk per record behind.
  Napi::Reference<Napi::ArrayBuffer> scratch_;
  uint8_t* scratch_data_ = nullptr;
  std::mutex spare_mu_;
  std::vector<std::unique_ptr<uint8_t[]>> spare_;  // guarded by spare_mu_
};

}  // namespace pws

#endif
