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
// JS batch buffers kept in circulation: every batch in flight plus the one being
// filled and one spare. A batch that finds none spare uses the binding's memory.
constexpr size_t kJsBuffers = kQueueLen + 2;
// An output record this large reaches JS as a view of its batch's JS buffer
// instead of a copy. A view keeps the whole batch alive as long as JS holds it, so
// smaller records, which a consumer may keep many of, are still copied.
constexpr uint32_t kViewMin = 32 * 1024;
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
      pump->TakeBuffer(batch.get());
    }
    int64_t n = api->hub_next(hub, batch->data, kBatchCap, kNextWaitMs);
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

void Pump::TakeBuffer(Batch* batch) {
  {
    std::lock_guard<std::mutex> lock(spare_mu_);
    if (!js_spare_.empty()) {
      batch->js = js_spare_.back().ref;
      batch->data = js_spare_.back().data;
      js_spare_.pop_back();
      return;
    }
    if (!spare_.empty()) {
      batch->heap = std::move(spare_.back());
      spare_.pop_back();
      batch->data = batch->heap.get();
      return;
    }
  }
  batch->heap.reset(new uint8_t[kBatchCap]);
  batch->data = batch->heap.get();
}

void Pump::GiveBuffer(std::unique_ptr<uint8_t[]> bytes) {
  std::lock_guard<std::mutex> lock(spare_mu_);
  // At most every batch in flight plus the one being filled: bounded memory.
  if (spare_.size() < kQueueLen + 2) spare_.push_back(std::move(bytes));
}

void Pump::Replenish(Napi::Env env) {
  // Never under someone else's pending exception (it is not ours to clear).
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(spare_mu_);
      if (js_live_ >= kJsBuffers) return;
    }
    // napi_create_buffer: memory of Node's own allocator, not initialized, inside
    // V8's sandbox where Electron has one (an external buffer would not be).
    napi_value buf;
    void* data = nullptr;
    napi_ref ref = nullptr;
    if (napi_create_buffer(env, static_cast<size_t>(kBatchCap), &data, &buf) != napi_ok ||
        napi_create_reference(env, buf, 1, &ref) != napi_ok) {
      // No memory now: batches use the binding's own buffers until a later try
      // (the allocation's own exception is dropped).
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
        napi_value ignored;
        napi_get_and_clear_last_exception(env, &ignored);
      }
      return;
    }
    std::lock_guard<std::mutex> lock(spare_mu_);
    js_spare_.push_back(JsSpare{ref, static_cast<uint8_t*>(data)});
    js_live_++;
  }
}

void Pump::Recycle(Napi::Env env, Batch* batch, bool large) {
  if (batch->js == nullptr) {
    GiveBuffer(std::move(batch->heap));
    // JS buffers are made once large output flows (a host that only runs
    // commands with little output never holds any).
    if (large) Replenish(env);
    return;
  }
  if (large) {
    // JS holds views of it: the memory is theirs now, freed with the last view.
    napi_delete_reference(env, batch->js);
    batch->js = nullptr;
    {
      std::lock_guard<std::mutex> lock(spare_mu_);
      js_live_--;
    }
    Replenish(env);
    return;
  }
  std::lock_guard<std::mutex> lock(spare_mu_);
  js_spare_.push_back(JsSpare{batch->js, batch->data});
  batch->js = nullptr;
}

void Pump::Deliver(Napi::Env env, Napi::Function, Pump* pump, Batch* raw) {
  std::unique_ptr<Batch> batch(raw);
  // A null env means Node is emptying the queue of a TSFN being finalized:
  // only the memory is left to free (the pump may be gone already; a JS
  // buffer's reference goes with its environment).
  if (static_cast<napi_env>(env) == nullptr) return;
  // Handed back even when onEvent throws: Dispatch rethrows only at its end.
  bool large = false;
  struct Back {
    Pump* pump;
    Napi::Env env;
    Batch* batch;
    bool* large;
    ~Back() { pump->Recycle(env, batch, *large); }
  } back{pump, env, batch.get(), &large};
  napi_value ab = nullptr;
  size_t ab_offset = 0;
  if (batch->js != nullptr) {
    Napi::HandleScope scope(env);
    napi_value buf;
    if (napi_get_reference_value(env, batch->js, &buf) == napi_ok && buf != nullptr) {
      Napi::Uint8Array u8(env, buf);
      ab = u8.ArrayBuffer();
      ab_offset = u8.ByteOffset();
    }
    pump->Dispatch(env, batch->data, static_cast<size_t>(batch->len), ab, ab_offset, &large);
    return;
  }
  pump->Dispatch(env, batch->data, static_cast<size_t>(batch->len), nullptr, 0, &large);
}

void Pump::Dispatch(Napi::Env env, const uint8_t* p, size_t len, napi_value ab, size_t ab_offset, bool* large) {
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
      Napi::Value payload;
      if (plen == 0) {
        payload = env.Undefined();
      } else if (output && it->second.transient) {
        payload = View(env, rec + kHeader, plen);
      } else if (output && plen >= kViewMin) {
        *large = true;
        // A view of the batch's JS buffer (the JS side makes it a Buffer), or a
        // copy out of the binding's own memory.
        payload = ab != nullptr
                      ? Napi::Value(Napi::Uint8Array::New(env, plen, Napi::ArrayBuffer(env, ab),
                                                          ab_offset + static_cast<size_t>(rec + kHeader - p)))
                      : Napi::Value(Napi::Buffer<uint8_t>::Copy(env, rec + kHeader, plen));
      } else {
        payload = Napi::Buffer<uint8_t>::Copy(env, rec + kHeader, plen);
      }
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
