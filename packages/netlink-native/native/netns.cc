// Named network namespaces, made the way iproute2 makes them (a bind mount of a namespace file
// under /run/netns), so `ip netns` and every other tool sees ours and we see theirs.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <thread>

#include "background_priority.h"
#include "common.h"

namespace vmnet {
namespace {

// iproute2 makes the netns directory a shared mount point, so a namespace mounted later is seen
// in every mount namespace that shares it (e.g. a container runtime's). Same steps here.
SysError MakeDirShared(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return SysError::from("mkdir", dir);
  for (int attempt = 0; attempt < 2; attempt++) {
    if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return {};
    if (errno != EINVAL || attempt == 1) return SysError::from("mount", dir);
    // Not yet a mount point: bind it onto itself, then it can be made shared.
    if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
      return SysError::from("mount", dir);
    }
  }
  return {};
}

// Runs on a thread of its own so no libuv or JS thread ever changes namespace: unshare() there,
// bind-mount the new namespace onto the file, and let the thread end.
SysError CreateInFreshThread(const std::string& path) {
  SysError result;
  std::thread worker([&result, &path]() {
    if (::unshare(CLONE_NEWNET) != 0) {
      result = SysError::from("unshare", path);
      return;
    }
    if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
      result = SysError::from("mount", path);
    }
  });
  worker.join();
  return result;
}

class CreateWorker : public Napi::AsyncWorker {
 public:
  CreateWorker(Napi::Env env, std::string dir, std::string name)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), dir_(std::move(dir)),
        path_(dir_ + "/" + name) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    BackgroundPriority background;
    err_ = MakeDirShared(dir_);
    if (err_.failed()) return;
    UniqueFd file(::open(path_.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!file.valid()) {
      err_ = SysError::from("open", path_);
      return;
    }
    file.reset();
    err_ = CreateInFreshThread(path_);
    if (err_.failed()) ::unlink(path_.c_str());  // leave nothing half-made
  }
  void OnOK() override {
    if (err_.failed()) {
      deferred_.Reject(MakeSysError(Env(), err_).Value());
    } else {
      deferred_.Resolve(Napi::String::New(Env(), path_));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string dir_;
  std::string path_;
  SysError err_;
};

// netnsCreate(dir, name): Promise<path>
Napi::Value NetnsCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    ThrowTypeError(env, "netnsCreate(dir, name) expects two strings");
    return env.Undefined();
  }
  auto* worker = new CreateWorker(env, info[0].As<Napi::String>(), info[1].As<Napi::String>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// netnsDelete(path): Promise<void>. Unmounts (lazily, as iproute2 does) and removes the file,
// on the pool: the unmount can wait on the kernel. The namespace itself lives on while any
// process or socket still holds it.
class DeleteWorker : public VoidPoolWorker {
 public:
  DeleteWorker(Napi::Env env, std::string path) : VoidPoolWorker(env), path_(std::move(path)) {}

 private:
  void Run() override {
    if (::umount2(path_.c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
      err_ = SysError::from("umount2", path_);
      return;
    }
    if (::unlink(path_.c_str()) != 0) err_ = SysError::from("unlink", path_);
  }
  std::string path_;
};

Napi::Value NetnsDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowTypeError(env, "netnsDelete(path) expects a string");
    return env.Undefined();
  }
  auto* worker = new DeleteWorker(env, info[0].As<Napi::String>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// netnsIdentity(path): { dev, ino } of the namespace a file refers to. Two paths name the same
// namespace exactly when both match.
Napi::Value NetnsIdentity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowTypeError(env, "netnsIdentity(path) expects a string");
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    ThrowSysError(env, SysError::from("stat", path));
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("dev", Napi::Number::New(env, static_cast<double>(st.st_dev)));
  out.Set("ino", Napi::Number::New(env, static_cast<double>(st.st_ino)));
  return out;
}

}  // namespace

Napi::Object InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsCreate", Napi::Function::New(env, NetnsCreate));
  exports.Set("netnsDelete", Napi::Function::New(env, NetnsDelete));
  exports.Set("netnsIdentity", Napi::Function::New(env, NetnsIdentity));
  return exports;
}

}  // namespace vmnet
