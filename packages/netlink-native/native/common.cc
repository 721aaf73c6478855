#include "common.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>

#include <cstdio>
#include <cstdlib>

namespace vmnet {

Napi::Error MakeSysError(Napi::Env env, const SysError& err) {
  const char* name = strerrorname_np(err.errnum);
  std::string code = name ? name : "E" + std::to_string(err.errnum);
  std::string msg = err.syscall + " " + code + " (" + strerror(err.errnum) + ")";
  if (!err.detail.empty()) msg += ": " + err.detail;
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err.errnum));
  e.Set("syscall", Napi::String::New(env, err.syscall));
  if (!err.detail.empty()) e.Set("path", Napi::String::New(env, err.detail));
  return e;
}

NetnsEntry::NetnsEntry(const std::string& path) {
  if (path.empty()) return;
  original_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original_.valid()) {
    error_ = SysError::from("open", "/proc/thread-self/ns/net");
    return;
  }
  UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target.valid()) {
    error_ = SysError::from("open", path);
    return;
  }
  if (::setns(target.get(), CLONE_NEWNET) != 0) {
    error_ = SysError::from("setns", path);
    return;
  }
  entered_ = true;
}

NetnsEntry::~NetnsEntry() {
  if (!entered_) return;
  if (::setns(original_.get(), CLONE_NEWNET) != 0) {
    // Staying in a foreign netns would silently misdirect every later socket of this thread
    // (the event loop's own). There is no safe way forward.
    std::fprintf(stderr, "vmnet: cannot return to the original network namespace: %s\n", strerror(errno));
    std::abort();
  }
}

int32_t OptInt(const Napi::Object& obj, const char* key, int32_t fallback) {
  Napi::Value v = obj.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

std::string OptString(const Napi::Object& obj, const char* key) {
  Napi::Value v = obj.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

bool OptBool(const Napi::Object& obj, const char* key, bool fallback) {
  Napi::Value v = obj.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

}  // namespace vmnet

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  vmnet::InitNetns(env, exports);
  vmnet::InitSocket(env, exports);
  vmnet::InitTap(env, exports);
  vmnet::InitCapture(env, exports);
  return exports;
}

NODE_API_MODULE(vmnet_netlink, Init)
