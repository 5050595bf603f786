// One supervised child process as seen from JS (exported as `Child`). JS holds
// only the integer handle; the pump owns the child's onEvent callback.
#ifndef PAWWORK_SUPERVISOR_CHILD_H
#define PAWWORK_SUPERVISOR_CHILD_H

#include <napi.h>

#include <cstdint>

namespace pws {

class NativeChild : public Napi::ObjectWrap<NativeChild> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NativeChild(const Napi::CallbackInfo& info);

 private:
  Napi::Value Pid(const Napi::CallbackInfo& info);
  Napi::Value Handle(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value CloseStdin(const Napi::CallbackInfo& info);
  Napi::Value SetFlow(const Napi::CallbackInfo& info);
  Napi::Value Signal(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Resize(const Napi::CallbackInfo& info);
  Napi::Value Foreground(const Napi::CallbackInfo& info);
  Napi::Value SignalForeground(const Napi::CallbackInfo& info);
  void Ref(const Napi::CallbackInfo& info);
  void Unref(const Napi::CallbackInfo& info);

  int64_t handle_ = 0;
  int64_t pid_ = 0;
};

}  // namespace pws

#endif
