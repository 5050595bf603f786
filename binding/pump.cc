#include "pump.h"

#include <cerrno>
#include <cstring>
#include <system_error>
#include <optional>
#include <string>

namespace pws {
namespace {

// Room for a whole chunk of the core's largest read (256 KiB) and its header, or
// several smaller ones (the binding's choice; pws_hub_next takes any buffer of
// PWS_BATCH_MIN bytes or more).
constexpr int64_t kBatchCap = 256 * 1024 + PWS_RECORD_HEADER_SIZE;
static_assert(kBatchCap >= PWS_BATCH_MIN, "pws_hub_next refuses a batch this small");
// Batches in flight to JS. A full queue blocks the pump, which stops Go's pipe
// readers, which blocks the children: backpressure with bounded memory.
constexpr size_t kQueueLen = 8;
constexpr size_t kHeader = PWS_RECORD_HEADER_SIZE;
// How long one pws_hub_next waits before the pump asks again (it also notices a
// closed hub then at the latest).
constexpr int32_t kNextWaitMs = 1000;

}  // namespace

void Pump::Install(Napi::Env env) { env.SetInstanceData(new Pump()); }

Pump& Pump::Of(Napi::Env env) { return *env.GetInstanceData<Pump>(); }

int64_t Pump::Open(Napi::Env env) {
  if (id_ != 0) return id_;
  if (!hooked_) {
    // Added before the TSFN exists so that Node's own hook for the TSFN,
    // added after, runs first (hooks run last in, first out): a pump blocked
    // in BlockingCall is already released when Cleanup joins it.
    napi_add_env_cleanup_hook(env, Cleanup, this);
    hooked_ = true;
  }
  sigchld_.Start(env);  // before Go runs anything for this environment
  const Api& api = Load(env);
  int64_t id = api.hub_open();
  if (id <= 0) {
    throw Napi::Error::New(
        env, "pawwork-supervisor: pws_hub_open failed (" + std::to_string(id) + ")");
  }
  try {
    tsfn_ = Tsfn::New(env, "pawwork-supervisor", kQueueLen, 1, this);
  } catch (...) {
    api.hub_close(id);
    throw;
  }
  // An idle hub must not keep Node alive; children ref it while they run.
  tsfn_.Unref(env);
  api_ = &api;
  try {
    AsyncSignalsBlocked blocked;  // inherited by the pump, which lives inside Go
    thread_ = std::thread(Run, this, api_, id, tsfn_);
  } catch (const std::system_error& e) {
    // No thread to be had (the user's process limit): refuse this spawn as
    // child_process would, with EAGAIN; the next spawn tries again.
    tsfn_.Release();
    tsfn_ = Tsfn();
    api.hub_close(id);
    Napi::Error err = Napi::Error::New(
        env, std::string("pawwork-supervisor: cannot start the event thread: ") + e.what());
    err.Set("code", e.code().value() == EAGAIN ? "EAGAIN" : "ENOMEM");
    err.Set("errno", Napi::Number::New(env, e.code().value()));
    err.Set("syscall", "pthread_create");
    throw err;
  }
  id_ = id;
  return id_;
}

// A dedicated thread, not the libuv pool: it spends its life blocked in Go.
void Pump::Run(Pump* pump, const Api* api, int64_t hub, Tsfn tsfn) {
  bool deliver = true;
  std::unique_ptr<Batch> batch;
  for (;;) {
    if (!batch) {
      batch.reset(new Batch);
      batch->bytes = pump->TakeBuffer();
    }
    int64_t n = api->hub_next(hub, batch->bytes.get(), kBatchCap, kNextWaitMs);
    if (n == 0) continue;
    if (n < 0) break;  // PWS_ECLOSED: closed and drained
    // Once JS is gone, keep taking events so that Go's readers never block
    // on a host that will not read; hub_close then finishes promptly.
    if (!deliver) continue;
    batch->len = n;
    if (tsfn.BlockingCall(batch.get()) == napi_ok) {
      batch.release();  // the TSFN callback owns it now
    } else {
      deliver = false;  // napi_closing: the environment is being torn down
    }
  }
}

std::unique_ptr<uint8_t[]> Pump::TakeBuffer() {
  {
    std::lock_guard<std::mutex> lock(spare_mu_);
    if (!spare_.empty()) {
      std::unique_ptr<uint8_t[]> b = std::move(spare_.back());
      spare_.pop_back();
      return b;
    }
  }
  return std::unique_ptr<uint8_t[]>(new uint8_t[kBatchCap]);
}

void Pump::GiveBuffer(std::unique_ptr<uint8_t[]> bytes) {
  std::lock_guard<std::mutex> lock(spare_mu_);
  // At most every batch in flight plus the one being filled: bounded memory.
  if (spare_.size() < kQueueLen + 2) spare_.push_back(std::move(bytes));
}

void Pump::Deliver(Napi::Env env, Napi::Function, Pump* pump, Batch* raw) {
  std::unique_ptr<Batch> batch(raw);
  // A null env means Node is emptying the queue of a TSFN being finalized:
  // only the memory is left to free (the pump may be gone already).
  if (static_cast<napi_env>(env) == nullptr) return;
  // Handed back even when onEvent throws: Dispatch rethrows only at its end.
  struct Recycle {
    Pump* pump;
    Batch* batch;
    ~Recycle() { pump->GiveBuffer(std::move(batch->bytes)); }
  } recycle{pump, batch.get()};
  pump->Dispatch(env, batch->bytes.get(), static_cast<size_t>(batch->len));
}

void Pump::Dispatch(Napi::Env env, const uint8_t* p, size_t len) {
  // A throwing onEvent must not cost other children their events (an EXIT
  // lost would leave its ref held forever), so the batch is finished first
  // and the first exception rethrown afterwards for N-API to report.
  std::optional<Napi::Error> thrown;
  size_t off = 0;
  while (len - off >= kHeader) {
    const uint8_t* rec = p + off;
    pws_record_header h;  // not aligned in the batch: copied out
    std::memcpy(&h, rec, sizeof h);
    const uint32_t type = h.type, plen = h.payload_len;
    const int64_t handle = h.handle, aux = h.aux;
    if (plen > len - off - kHeader) break;  // torn record: never read past the batch
    off += kHeader + plen;

    auto it = children_.find(handle);
    if (it == children_.end()) continue;  // forgotten: nobody listens
    try {
      Napi::HandleScope scope(env);
      // Copied out first: onEvent may spawn, which may rehash the table.
      Napi::Function on_event = it->second.on_event.Value();
      const bool output = type == PWS_EV_STDOUT || type == PWS_EV_STDERR;
      Napi::Value payload =
          plen == 0                          ? env.Undefined()
          : output && it->second.transient   ? View(env, rec + kHeader, plen)
                                             : Napi::Buffer<uint8_t>::Copy(env, rec + kHeader, plen);
      on_event.Call({Napi::Number::New(env, type),
                     Napi::Number::New(env, static_cast<double>(aux)), payload});
    } catch (Napi::Error& e) {
      if (!thrown) thrown.emplace(std::move(e));
    }
    if (type == PWS_EV_EXIT) Forget(env, handle);
  }
  if (thrown) throw std::move(*thrown);
}

Napi::Value Pump::View(Napi::Env env, const uint8_t* p, size_t len) {
  if (scratch_.IsEmpty()) {
    // V8's own memory, not an external buffer: Electron's sandbox allows it.
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, static_cast<size_t>(kBatchCap));
    scratch_data_ = static_cast<uint8_t*>(ab.Data());
    scratch_ = Napi::Persistent(ab);
  }
  std::memcpy(scratch_data_, p, len);  // len <= a batch: a record never exceeds one
  return Napi::Uint8Array::New(env, len, scratch_.Value(), 0);
}

void Pump::SetTransient(int64_t handle) {
  auto it = children_.find(handle);
  if (it != children_.end()) it->second.transient = true;
}

// A child's EXIT is its last event: its handle and its ref go with it.
void Pump::Forget(Napi::Env env, int64_t handle) {
  auto it = children_.find(handle);
  if (it == children_.end()) return;
  bool ref = it->second.ref;
  children_.erase(it);
  api_->forget(handle);
  if (ref) Drop(env);
}

void Pump::Add(Napi::Env env, int64_t handle, Napi::Function on_event) {
  children_.emplace(handle, Entry{Napi::Persistent(on_event), true});
  Hold(env);
}

void Pump::SetRef(Napi::Env env, int64_t handle, bool ref) {
  auto it = children_.find(handle);
  if (it == children_.end() || it->second.ref == ref) return;
  it->second.ref = ref;
  if (ref) {
    Hold(env);
  } else {
    Drop(env);
  }
}

void Pump::Hold(Napi::Env env) {
  if (refs_++ == 0) tsfn_.Ref(env);
}

void Pump::Drop(Napi::Env env) {
  if (--refs_ == 0) tsfn_.Unref(env);
}

// Runs on the environment's thread as it is torn down (worker terminated or
// process exiting): no more JS will run here.
void Pump::Cleanup(void* arg) {
  Pump* pump = static_cast<Pump*>(arg);
  if (pump->id_ != 0) {
    pump->tsfn_.Abort();  // a pump blocked in BlockingCall gets napi_closing
    // Kills this environment's children; hub_next returns ECLOSED once drained.
    pump->api_->hub_close(pump->id_);
    pump->thread_.join();
    for (auto& kv : pump->children_) pump->api_->forget(kv.first);
    pump->children_.clear();
  }
  pump->scratch_.Reset();
  pump->scratch_data_ = nullptr;
  pump->sigchld_.Stop();
}

}  // namespace pws
