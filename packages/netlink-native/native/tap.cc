// TAP/TUN devices opened inside any netns. The device belongs to the netns its fd was attached in
// (TUNSETIFF), so we enter the netns only around open() + ioctl(). The fds are plain numbers that
// a child process can inherit (qemu -netdev tap,fd=N).
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include <cstring>
#include <vector>

#include "background_priority.h"
#include "common.h"

namespace vmnet {
namespace {

struct TapRequest {
  std::string name;
  std::string netns;
  bool tun = false;
  bool vnet_hdr = false;
  int queues = 1;
  bool persist = false;
  int owner = -1;
  int group = -1;
};

struct TapResult {
  std::string name;
  unsigned index = 0;
  std::vector<UniqueFd> fds;
  SysError error;
};

TapResult OpenTapIn(const TapRequest& req) {
  TapResult result;
  NetnsEntry entry(req.netns);
  if (!entry.ok()) {
    result.error = entry.error();
    return result;
  }
  ifreq ifr{};
  ifr.ifr_flags = static_cast<short>((req.tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI);
  if (req.vnet_hdr) ifr.ifr_flags |= IFF_VNET_HDR;
  if (req.queues > 1) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  std::strncpy(ifr.ifr_name, req.name.c_str(), IFNAMSIZ - 1);
  for (int q = 0; q < req.queues; q++) {
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd.valid()) {
      result.error = SysError::from("open", "/dev/net/tun");
      return result;
    }
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
      result.error = SysError::from("ioctl(TUNSETIFF)", req.name.empty() ? ifr.ifr_name : req.name);
      return result;
    }
    result.fds.push_back(std::move(fd));
  }
  result.name = ifr.ifr_name;
  int fd0 = result.fds[0].get();
  if (req.owner >= 0 && ::ioctl(fd0, TUNSETOWNER, static_cast<unsigned long>(req.owner)) != 0) {
    result.error = SysError::from("ioctl(TUNSETOWNER)", result.name);
    return result;
  }
  if (req.group >= 0 && ::ioctl(fd0, TUNSETGROUP, static_cast<unsigned long>(req.group)) != 0) {
    result.error = SysError::from("ioctl(TUNSETGROUP)", result.name);
    return result;
  }
  // Persist last: on any earlier failure the fds close and the kernel removes the device.
  if (req.persist && ::ioctl(fd0, TUNSETPERSIST, 1UL) != 0) {
    result.error = SysError::from("ioctl(TUNSETPERSIST)", result.name);
    return result;
  }
  // Still inside the netns: its ifindex, so callers need no netlink look-up.
  result.index = ::if_nametoindex(result.name.c_str());
  return result;
}

Napi::Object TapToJs(Napi::Env env, TapResult& result) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", Napi::String::New(env, result.name));
  out.Set("index", Napi::Number::New(env, result.index));
  Napi::Array fds = Napi::Array::New(env, result.fds.size());
  for (size_t i = 0; i < result.fds.size(); i++) fds.Set(i, Napi::Number::New(env, result.fds[i].release()));
  out.Set("fds", fds);
  return out;
}

// Opening runs on libuv's pool: entering the netns, open(), TUNSETIFF (which registers a netdev
// under the kernel's RTNL lock) and the look-up would otherwise hold the event loop for each tap.
// The pool thread returns to its own netns before Execute ends (NetnsEntry).
class OpenTapWorker : public Napi::AsyncWorker {
 public:
  OpenTapWorker(Napi::Env env, TapRequest req)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), req_(std::move(req)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    BackgroundPriority background;
    result_ = OpenTapIn(req_);
  }
  void OnOK() override {
    if (result_.error.failed()) {
      deferred_.Reject(MakeSysError(Env(), result_.error).Value());
    } else {
      deferred_.Resolve(TapToJs(Env(), result_));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  TapRequest req_;
  TapResult result_;
};

// openTap({ name?, netns?, tun?, vnetHdr?, queues?, persist?, owner?, group? }): Promise<{ name, index, fds }>
Napi::Value OpenTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    ThrowTypeError(env, "openTap(options) expects an object");
    return env.Undefined();
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  TapRequest req;
  req.name = OptString(opts, "name");
  req.netns = OptString(opts, "netns");
  req.tun = OptBool(opts, "tun", false);
  req.vnet_hdr = OptBool(opts, "vnetHdr", false);
  req.queues = OptInt(opts, "queues", 1);
  req.persist = OptBool(opts, "persist", false);
  req.owner = OptInt(opts, "owner", -1);
  req.group = OptInt(opts, "group", -1);
  if (req.queues < 1 || req.queues > 256 || req.name.size() >= IFNAMSIZ) {
    ThrowTypeError(env, "openTap: queues must be 1-256 and name at most 15 bytes");
    return env.Undefined();
  }
  auto* worker = new OpenTapWorker(env, std::move(req));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// setTapPersist(fd, persist): turn persistence on or off on an open TAP fd.
Napi::Value SetTapPersist(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBoolean()) {
    ThrowTypeError(env, "setTapPersist(fd, persist)");
    return env.Undefined();
  }
  unsigned long on = info[1].As<Napi::Boolean>().Value() ? 1UL : 0UL;
  if (::ioctl(info[0].As<Napi::Number>().Int32Value(), TUNSETPERSIST, on) != 0) {
    ThrowSysError(env, SysError::from("ioctl(TUNSETPERSIST)"));
  }
  return env.Undefined();
}

// closeFd(fd): close a descriptor this addon handed out.
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    ThrowTypeError(env, "closeFd(fd)");
    return env.Undefined();
  }
  if (::close(info[0].As<Napi::Number>().Int32Value()) != 0) ThrowSysError(env, SysError::from("close"));
  return env.Undefined();
}

// closeFds(fds): Promise<void>. Closing a TAP's last fd unregisters the device, and the kernel
// waits for an RCU grace period inside close() (about 24 ms here): done on the pool.
class CloseFdsWorker : public VoidPoolWorker {
 public:
  CloseFdsWorker(Napi::Env env, std::vector<int> fds) : VoidPoolWorker(env), fds_(std::move(fds)) {}

 private:
  void Run() override {
    for (int fd : fds_) {
      if (::close(fd) != 0 && !err_.failed()) err_ = SysError::from("close");
    }
  }
  std::vector<int> fds_;
};

Napi::Value CloseFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    ThrowTypeError(env, "closeFds(fds: number[])");
    return env.Undefined();
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<int> fds;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsNumber()) {
      ThrowTypeError(env, "closeFds(fds: number[])");
      return env.Undefined();
    }
    fds.push_back(v.As<Napi::Number>().Int32Value());
  }
  auto* worker = new CloseFdsWorker(env, std::move(fds));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

Napi::Object InitTap(Napi::Env env, Napi::Object exports) {
  exports.Set("openTap", Napi::Function::New(env, OpenTap));
  exports.Set("setTapPersist", Napi::Function::New(env, SetTapPersist));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("closeFds", Napi::Function::New(env, CloseFds));
  return exports;
}

}  // namespace vmnet
