// Shared helpers for the addon: an owning fd, errno -> JS error, and netns entry.
// The addon is built without C++ exceptions: every failure becomes a pending JS exception or a
// rejected promise, never a C++ throw across the N-API boundary.
#pragma once

#include <napi.h>

#include <cerrno>
#include <string>
#include <unistd.h>

#include "background_priority.h"

namespace vmnet {

// Owns one file descriptor and closes it on every path out of a scope.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A failed system call, carried from wherever it happened (possibly a worker thread) to JS.
struct SysError {
  int errnum = 0;
  std::string syscall;
  std::string detail;  // e.g. the path or interface name involved
  bool failed() const { return errnum != 0; }
  static SysError from(const char* syscall, const std::string& detail = "", int errnum = errno) {
    return SysError{errnum, syscall, detail};
  }
};

// Builds a JS Error with the same shape Node uses for system errors: code (errno name), errno
// (number), syscall, and path when one was involved.
Napi::Error MakeSysError(Napi::Env env, const SysError& err);

inline void ThrowSysError(Napi::Env env, const SysError& err) {
  MakeSysError(env, err).ThrowAsJavaScriptException();
}

inline void ThrowTypeError(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
}

// Pool work whose promise resolves with nothing or rejects with the system error it recorded
// (closing fds, deleting a netns): subclasses write Run(), which runs on a libuv pool thread at
// the lowered priority (BackgroundPriority) and sets err_ on failure; settling is done here once.
class VoidPoolWorker : public Napi::AsyncWorker {
 public:
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  explicit VoidPoolWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  // On the pool thread: the kernel work. Record a failure in err_.
  virtual void Run() = 0;
  SysError err_;

 private:
  void Execute() final {
    BackgroundPriority background;
    Run();
  }
  void OnOK() final {
    if (err_.failed()) {
      deferred_.Reject(MakeSysError(Env(), err_).Value());
    } else {
      deferred_.Resolve(Env().Undefined());
    }
  }
  void OnError(const Napi::Error& e) final { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
};

// Enters the network namespace at `path` on the calling thread for the lifetime of the object
// and always returns to the original one. Used only around socket()/open()/ioctl(): a socket or
// TAP keeps the netns it was created in, so the thread need not stay there.
class NetnsEntry {
 public:
  // path may be empty: then nothing is entered and the object is a no-op.
  explicit NetnsEntry(const std::string& path);
  ~NetnsEntry();
  NetnsEntry(const NetnsEntry&) = delete;
  NetnsEntry& operator=(const NetnsEntry&) = delete;
  const SysError& error() const { return error_; }
  bool ok() const { return !error_.failed(); }

 private:
  UniqueFd original_;
  SysError error_;
  bool entered_ = false;
};

// Reads an int option of the JS object, or `fallback` when absent.
int32_t OptInt(const Napi::Object& obj, const char* key, int32_t fallback);
std::string OptString(const Napi::Object& obj, const char* key);
bool OptBool(const Napi::Object& obj, const char* key, bool fallback);

Napi::Object InitNetns(Napi::Env env, Napi::Object exports);
Napi::Object InitSocket(Napi::Env env, Napi::Object exports);
Napi::Object InitTap(Napi::Env env, Napi::Object exports);
Napi::Object InitCapture(Napi::Env env, Napi::Object exports);

}  // namespace vmnet
