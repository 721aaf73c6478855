#include "common.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>

#include <cstdio>
#include <cstdlib>

namespace vmnet {

// errno -> its name ("ENOENT"). Our own table: strerrorname_np needs glibc 2.32.
const char* ErrnoName(int e) {
  switch (e) {
#define VMNET_ERRNO(n) \
  case n:              \
    return #n;
    VMNET_ERRNO(EPERM) VMNET_ERRNO(ENOENT) VMNET_ERRNO(ESRCH) VMNET_ERRNO(EINTR) VMNET_ERRNO(EIO)
    VMNET_ERRNO(ENXIO) VMNET_ERRNO(E2BIG) VMNET_ERRNO(EBADF) VMNET_ERRNO(EAGAIN) VMNET_ERRNO(ENOMEM)
    VMNET_ERRNO(EACCES) VMNET_ERRNO(EFAULT) VMNET_ERRNO(EBUSY) VMNET_ERRNO(EEXIST) VMNET_ERRNO(EXDEV)
    VMNET_ERRNO(ENODEV) VMNET_ERRNO(ENOTDIR) VMNET_ERRNO(EISDIR) VMNET_ERRNO(EINVAL) VMNET_ERRNO(ENFILE)
    VMNET_ERRNO(EMFILE) VMNET_ERRNO(ENOTTY) VMNET_ERRNO(EFBIG) VMNET_ERRNO(ENOSPC) VMNET_ERRNO(EROFS)
    VMNET_ERRNO(EPIPE) VMNET_ERRNO(ERANGE) VMNET_ERRNO(ENAMETOOLONG) VMNET_ERRNO(ENOSYS)
    VMNET_ERRNO(ENOTEMPTY) VMNET_ERRNO(ELOOP) VMNET_ERRNO(ENODATA) VMNET_ERRNO(ENOTSOCK)
    VMNET_ERRNO(EMSGSIZE) VMNET_ERRNO(EPROTONOSUPPORT) VMNET_ERRNO(EOPNOTSUPP) VMNET_ERRNO(EAFNOSUPPORT)
    VMNET_ERRNO(EADDRINUSE) VMNET_ERRNO(EADDRNOTAVAIL) VMNET_ERRNO(ENETDOWN) VMNET_ERRNO(ENETUNREACH)
    VMNET_ERRNO(ENOBUFS) VMNET_ERRNO(EISCONN) VMNET_ERRNO(ENOTCONN) VMNET_ERRNO(ETIMEDOUT)
    VMNET_ERRNO(ECONNREFUSED) VMNET_ERRNO(EALREADY) VMNET_ERRNO(EINPROGRESS) VMNET_ERRNO(EMEDIUMTYPE)
    VMNET_ERRNO(ENOMEDIUM) VMNET_ERRNO(EPROTO) VMNET_ERRNO(EBADMSG) VMNET_ERRNO(EOVERFLOW)
    VMNET_ERRNO(ERFKILL)
#undef VMNET_ERRNO
    default:
      return nullptr;
  }
}

Napi::Error MakeSysError(Napi::Env env, const SysError& err) {
  const char* name = ErrnoName(err.errnum);
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

// GCC 11+ headers make `new T[n]` call this libstdc++ function, which only GLIBCXX_3.4.29 (GCC 11)
// has; defined here (the addon's own copy binds locally: -Bsymbolic-functions), the addon loads
// with GCC 10's libstdc++ too. Built without exceptions: an impossible array size ends the process.
namespace std {
[[noreturn]] void __throw_bad_array_new_length() { std::abort(); }
}  // namespace std

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  vmnet::InitNetns(env, exports);
  vmnet::InitSocket(env, exports);
  vmnet::InitTap(env, exports);
  vmnet::InitCapture(env, exports);
  return exports;
}

NODE_API_MODULE(vmnet_netlink, Init)
