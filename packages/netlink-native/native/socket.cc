// DatagramSocket: a non-blocking datagram socket (netlink, packet, UDP) opened inside any netns
// and driven by libuv. Receiving runs on the event loop (uv_poll) and hands JS every datagram
// ready in one batch; sending runs on libuv's thread pool, because a netlink sendmsg() makes the
// kernel process every request in it before returning (a batch of 1000 link creations would
// otherwise stall the event loop for a quarter of a second). Address and message formats are
// built in TypeScript; this class only moves bytes.
#include <linux/filter.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <cstring>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <ctime>
#include <memory>
#include <vector>

#include "background_priority.h"
#include "common.h"
#include "send_costs.h"

namespace vmnet {
namespace {

constexpr int kMaxDatagramsPerWake = 64;
// Room given to each receive: more than any netlink reply, UDP datagram or packet seen here.
constexpr size_t kMaxDatagramBytes = 256 << 10;

// socket() inside the netns at `path` (empty: the caller's), non-blocking and close-on-exec.
UniqueFd OpenSocketIn(int domain, int type, int protocol, const std::string& path, SysError* err) {
  NetnsEntry entry(path);
  if (!entry.ok()) {
    *err = entry.error();
    return UniqueFd();
  }
  UniqueFd fd(::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!fd.valid()) *err = SysError::from("socket", path);
  return fd;
}

// openSocket(domain, type, protocol, netnsPath): Promise<fd>. Entering a netns (setns) and
// leaving it again are done on a pool thread, never on the event loop.
class OpenSocketWorker : public Napi::AsyncWorker {
 public:
  OpenSocketWorker(Napi::Env env, int domain, int type, int protocol, std::string path)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), domain_(domain), type_(type),
        protocol_(protocol), path_(std::move(path)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    BackgroundPriority background;
    fd_ = OpenSocketIn(domain_, type_, protocol_, path_, &err_);
  }
  void OnOK() override {
    if (err_.failed()) {
      deferred_.Reject(MakeSysError(Env(), err_).Value());
    } else {
      deferred_.Resolve(Napi::Number::New(Env(), fd_.release()));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int domain_, type_, protocol_;
  std::string path_;
  UniqueFd fd_;
  SysError err_;
};

Napi::Value OpenSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsString()) {
    ThrowTypeError(env, "openSocket(domain, type, protocol, netnsPath)");
    return env.Undefined();
  }
  auto* worker = new OpenSocketWorker(env, info[0].As<Napi::Number>().Int32Value(),
                                      info[1].As<Napi::Number>().Int32Value(),
                                      info[2].As<Napi::Number>().Int32Value(), info[3].As<Napi::String>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}
constexpr size_t kMaxBytesPerWake = 4 << 20;
// Time one wake-up may spend receiving before it hands over what it has. A netlink dump's next
// chunk is built by the kernel inside recvfrom() (netlink_recvmsg calls netlink_dump), so reading
// a 2000-link dump's 64 datagrams in one wake-up held the event loop 20-90 ms; capped, the rest is
// read on the next wake-ups (uv_poll is level-triggered), with timers and other I/O in between.
constexpr uint64_t kMaxReceiveNsPerWake = 500 * 1000;

// Closing an AF_PACKET socket waits for an RCU grace period inside close() (packet_release calls
// synchronize_net): tens of milliseconds on a busy machine. closeAsync() does it on the pool.
class CloseFdWorker : public VoidPoolWorker {
 public:
  CloseFdWorker(Napi::Env env, int fd) : VoidPoolWorker(env), fd_(fd) {}

 private:
  void Run() override {
    if (::close(fd_) != 0) err_ = SysError::from("close");
  }
  int fd_;
};

// Where datagrams are read, back to back: grows to the largest batch seen and is reused. Not
// zero-filled (pages the kernel never writes stay untouched).
class ReceiveBuffer {
 public:
  uint8_t* data() { return bytes_.get(); }
  // Makes room for `size` bytes, keeping the first `used`.
  void Reserve(size_t used, size_t size) {
    if (size <= size_) return;
    size_t grown = size_ * 2 > size ? size_ * 2 : size;
    std::unique_ptr<uint8_t[]> bigger(new uint8_t[grown]);
    if (used > 0) std::memcpy(bigger.get(), bytes_.get(), used);
    bytes_ = std::move(bigger);
    size_ = grown;
  }

 private:
  std::unique_ptr<uint8_t[]> bytes_;
  size_t size_ = 0;
};

// One wake-up's datagrams: their lengths, where they came from (when asked), and the last error.
struct ReceivedBatch {
  size_t used = 0;
  std::vector<uint32_t> lengths;
  std::vector<std::pair<sockaddr_storage, socklen_t>> sources;
  SysError error;
};

// Reads the datagrams that are ready into `buf` (non-blocking), at most kMaxDatagramsPerWake and
// kMaxBytesPerWake, and stops after `max_ns` (0: no time limit) once it has one. Plain C++, so it
// runs on the event loop or on a pool thread alike.
void ReceiveReady(int fd, ReceiveBuffer& buf, bool want_sources, uint64_t max_ns, ReceivedBatch& out) {
  const uint64_t started = uv_hrtime();
  while (out.lengths.size() < kMaxDatagramsPerWake && out.used < kMaxBytesPerWake &&
         (out.lengths.empty() || max_ns == 0 || uv_hrtime() - started < max_ns)) {
    // One system call per datagram, straight into room for the largest one: no size peek
    // first (system calls are the receive side's main cost on a VM). MSG_TRUNC makes the kernel
    // return the datagram's real length, so one that did not fit is reported, never cut short.
    buf.Reserve(out.used, out.used + kMaxDatagramBytes);
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    ssize_t got = ::recvfrom(fd, buf.data() + out.used, kMaxDatagramBytes, MSG_DONTWAIT | MSG_TRUNC,
                             reinterpret_cast<sockaddr*>(&from), &from_len);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // ENOBUFS on netlink: the kernel dropped messages; the caller re-syncs. Report and go on
      // only if it was an overrun; anything else ends this wake-up.
      int saved = errno;
      out.error = SysError{saved, "recv"};
      if (saved != ENOBUFS) break;
      continue;
    }
    if (static_cast<size_t>(got) > kMaxDatagramBytes) {
      out.error = SysError{EMSGSIZE, "recv", "datagram larger than 256 KiB dropped"};
      continue;
    }
    if (want_sources) out.sources.emplace_back(from, from_len);
    out.used += static_cast<size_t>(got);
    out.lengths.push_back(static_cast<uint32_t>(got));
  }
}

class ReceiveWorker;

class DatagramSocket : public Napi::ObjectWrap<DatagramSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DatagramSocket",
                       {
                           InstanceMethod("bind", &DatagramSocket::Bind),
                           InstanceMethod("connect", &DatagramSocket::Connect),
                           InstanceMethod("localAddress", &DatagramSocket::LocalAddress),
                           InstanceMethod("setOption", &DatagramSocket::SetOption),
                           InstanceMethod("getOption", &DatagramSocket::GetOption),
                           InstanceMethod("attachFilter", &DatagramSocket::AttachFilter),
                           InstanceMethod("send", &DatagramSocket::Send),
                           InstanceMethod("start", &DatagramSocket::Start),
                           InstanceMethod("stop", &DatagramSocket::Stop),
                           InstanceMethod("ref", &DatagramSocket::RefLoop),
                           InstanceMethod("unref", &DatagramSocket::UnrefLoop),
                           InstanceMethod("close", &DatagramSocket::Close),
                           InstanceMethod("closeAsync", &DatagramSocket::CloseAsync),
                           InstanceMethod("receiveOnPool", &DatagramSocket::ReceiveOnPool),
                           InstanceMethod("linkIndexes", &DatagramSocket::LinkIndexes),
                           InstanceAccessor("fd", &DatagramSocket::Fd, nullptr),
                           InstanceAccessor("sendCalls", &DatagramSocket::SendCalls, nullptr),
                       });
  }

  // new DatagramSocket(domain, type, protocol, netnsPathOrFd, onDatagrams, wantSources?)
  // With a string, the socket is opened here, inside that netns (on the calling thread). With a
  // number, the socket is one openSocket() already opened on libuv's pool, and this object takes
  // ownership of it: that is how Rtnl.open keeps netns entry off the event loop.
  explicit DatagramSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DatagramSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
        !(info[3].IsString() || info[3].IsNumber()) || !info[4].IsFunction()) {
      ThrowTypeError(env, "DatagramSocket(domain, type, protocol, netnsPathOrFd, onDatagrams, wantSources?)");
      return;
    }
    want_sources_ = info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
    if (info[3].IsNumber()) {
      fd_.reset(info[3].As<Napi::Number>().Int32Value());
    } else {
      SysError err;
      fd_ = OpenSocketIn(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                         info[2].As<Napi::Number>().Int32Value(), info[3].As<Napi::String>(), &err);
      if (err.failed()) {
        ThrowSysError(env, err);
        return;
      }
    }
    on_datagrams_ = Napi::Persistent(info[4].As<Napi::Function>());
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "vmnet:DatagramSocket");
    // Asked of the socket itself (an fd handed over may not match the domain argument).
    int domain = 0;
    socklen_t domain_len = sizeof domain;
    netlink_ = getsockopt(fd_.get(), SOL_SOCKET, SO_DOMAIN, &domain, &domain_len) == 0 && domain == AF_NETLINK;
  }

  ~DatagramSocket() override { ClosePoll(); }

  // A pool job that used the fd is over (on the loop): a requested close waited for it.
  void SendDone(Napi::Env env) {
    inflight_--;
    ReleaseIfClosing(env);
  }
  int fd() const { return fd_.get(); }
  // Netlink messages carry their own lengths, so consecutive ones may share a datagram.
  bool netlink() const { return netlink_; }

 private:
  bool CheckOpen(Napi::Env env) {
    if (fd_.valid() && !close_requested_) return true;
    ThrowSysError(env, SysError{EBADF, "socket", "closed"});
    return false;
  }

  Napi::Value Bind(const Napi::CallbackInfo& info) { return AddressCall(info, "bind", ::bind); }
  Napi::Value Connect(const Napi::CallbackInfo& info) { return AddressCall(info, "connect", ::connect); }

  Napi::Value AddressCall(const Napi::CallbackInfo& info, const char* name,
                          int (*call)(int, const sockaddr*, socklen_t)) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsBuffer()) {
      ThrowTypeError(env, std::string(name) + "(address: Buffer)");
      return env.Undefined();
    }
    auto addr = info[0].As<Napi::Buffer<uint8_t>>();
    if (call(fd_.get(), reinterpret_cast<const sockaddr*>(addr.Data()), addr.Length()) != 0) {
      ThrowSysError(env, SysError::from(name));
    }
    return env.Undefined();
  }

  Napi::Value LocalAddress(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      ThrowSysError(env, SysError::from("getsockname"));
      return env.Undefined();
    }
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&ss), len);
  }

  // setOption(level, name, value: number | Buffer)
  Napi::Value SetOption(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber()) {
      ThrowTypeError(env, "setOption(level, name, value)");
      return env.Undefined();
    }
    int level = info[0].As<Napi::Number>().Int32Value();
    int name = info[1].As<Napi::Number>().Int32Value();
    int rc;
    if (info[2].IsBuffer()) {
      auto buf = info[2].As<Napi::Buffer<uint8_t>>();
      rc = ::setsockopt(fd_.get(), level, name, buf.Data(), buf.Length());
    } else if (info[2].IsNumber()) {
      int value = info[2].As<Napi::Number>().Int32Value();
      rc = ::setsockopt(fd_.get(), level, name, &value, sizeof(value));
    } else {
      ThrowTypeError(env, "setOption value must be a number or a Buffer");
      return env.Undefined();
    }
    if (rc != 0) ThrowSysError(env, SysError::from("setsockopt", "option " + std::to_string(name)));
    return env.Undefined();
  }

  // attachFilter(program): attaches a classic BPF program (struct sock_filter[], 8 bytes per
  // instruction, as tcpdump -ddd prints them) with SO_ATTACH_FILTER, so the kernel drops what
  // the program rejects before the socket is ever woken. setOption cannot do this: the option
  // takes a struct holding a pointer to the instructions.
  Napi::Value AttachFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsBuffer()) {
      ThrowTypeError(env, "attachFilter(program: Buffer)");
      return env.Undefined();
    }
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    size_t count = buf.Length() / sizeof(struct sock_filter);
    if (count == 0 || count > BPF_MAXINSNS || buf.Length() % sizeof(struct sock_filter) != 0) {
      ThrowTypeError(env, "attachFilter: the program must be 1-4096 instructions of 8 bytes");
      return env.Undefined();
    }
    // Copied: the kernel reads the instructions during the call only, but a Buffer's bytes need
    // not be aligned for struct sock_filter.
    std::vector<struct sock_filter> program(count);
    std::memcpy(program.data(), buf.Data(), count * sizeof(struct sock_filter));
    struct sock_fprog fprog = {static_cast<unsigned short>(count), program.data()};
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) != 0) {
      ThrowSysError(env, SysError::from("setsockopt", "SO_ATTACH_FILTER"));
    }
    return env.Undefined();
  }

  // getOption(level, name, length): Buffer
  Napi::Value GetOption(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
      ThrowTypeError(env, "getOption(level, name, length)");
      return env.Undefined();
    }
    std::vector<uint8_t> buf(info[2].As<Napi::Number>().Uint32Value());
    socklen_t len = buf.size();
    if (::getsockopt(fd_.get(), info[0].As<Napi::Number>().Int32Value(),
                     info[1].As<Napi::Number>().Int32Value(), buf.data(), &len) != 0) {
      ThrowSysError(env, SysError::from("getsockopt"));
      return env.Undefined();
    }
    return Napi::Buffer<uint8_t>::Copy(env, buf.data(), len);
  }

  Napi::Value Send(const Napi::CallbackInfo& info);

  // start(): deliver received datagrams to the callback until stop() or close().
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (poll_ == nullptr) {
      uv_loop_t* loop = nullptr;
      napi_get_uv_event_loop(env, &loop);
      poll_ = new uv_poll_t;
      int rc = uv_poll_init(loop, poll_, fd_.get());
      if (rc != 0) {
        delete poll_;
        poll_ = nullptr;
        ThrowSysError(env, SysError{-rc, "uv_poll_init"});
        return env.Undefined();
      }
      poll_->data = this;
      if (!loop_referenced_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
    if (!polling_) {
      // While a pool receive runs the socket is not watched; its completion starts the watch.
      int rc = pool_receiving_ ? 0 : uv_poll_start(poll_, UV_READABLE, OnReadable);
      if (rc != 0) {
        ThrowSysError(env, SysError{-rc, "uv_poll_start"});
        return env.Undefined();
      }
      polling_ = true;
      Ref();  // the JS object must outlive the poll
    }
    return env.Undefined();
  }

  // receiveOnPool(on): read wake-ups on libuv's pool instead of the event loop. For a netlink
  // dump the kernel builds the next chunk inside recvfrom() (netlink_recvmsg calls netlink_dump),
  // under locks other work on the machine may hold: a 2000-link dump read on the loop held it
  // 20-90 ms. The request engine turns this on while a dump is in flight. Not with sources.
  Napi::Value ReceiveOnPool(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsBoolean()) {
      ThrowTypeError(env, "receiveOnPool(on: boolean)");
      return env.Undefined();
    }
    bool on = info[0].As<Napi::Boolean>().Value();
    if (on && want_sources_) {
      ThrowTypeError(env, "receiveOnPool: not for a socket that reports sources");
      return env.Undefined();
    }
    receive_on_pool_ = on;
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopPoll();
    return info.Env().Undefined();
  }

  // ref()/unref(): whether this socket keeps the process alive (only while requests are pending
  // or a subscription is open; an idle handle must not hold Node open).
  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    loop_referenced_ = true;
    if (poll_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    loop_referenced_ = false;
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  // close(): the fd closes now, or, while a pool job still uses it, when the last one is done. The
  // promise settles once it is closed, so a caller that waits for it leaves no fd behind (an answer
  // can reach JS before the job that sent its request has finished on the loop).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ClosePoll();
    close_requested_ = true;
    // The callback closes over the JS objects that hold this socket: a strong reference to it
    // would keep that cycle (and this object) alive forever. Closed sockets deliver nothing.
    on_datagrams_.Reset();
    return WhenReleased(env);
  }

  // Like close(), but the close(2) itself runs on libuv's pool; the promise settles once the fd is
  // closed. With pool jobs still using it the last one closes it, as close() does.
  Napi::Value CloseAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ClosePoll();
    close_requested_ = true;
    on_datagrams_.Reset();
    if (inflight_ != 0 || !fd_.valid()) return WhenReleased(env);
    auto* worker = new CloseFdWorker(env, fd_.release());
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_.get()); }
  Napi::Value SendCalls(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(send_calls_.load(std::memory_order_relaxed)));
  }

  void StopPoll() {
    if (poll_ && polling_) {
      uv_poll_stop(poll_);
      polling_ = false;
      Unref();
    }
  }

  // After a close was asked for: closes the fd once no pool job uses it, and settles the promises of
  // the close calls that waited for that.
  void ReleaseIfClosing(Napi::Env env) {
    if (!close_requested_ || inflight_ != 0) return;
    fd_.reset();
    if (close_waiters_.empty()) return;
    std::vector<Napi::Promise::Deferred> waiters;
    waiters.swap(close_waiters_);
    for (auto& waiter : waiters) waiter.Resolve(env.Undefined());
  }

  // A promise settled when the fd is closed (at once when nothing holds it).
  Napi::Value WhenReleased(Napi::Env env) {
    ReleaseIfClosing(env);
    auto done = Napi::Promise::Deferred::New(env);
    if (inflight_ == 0) done.Resolve(env.Undefined());
    else close_waiters_.push_back(done);
    return done.Promise();
  }

  void ClosePoll() {
    StopPoll();
    if (poll_) {
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<DatagramSocket*>(handle->data);
    self->Drain(status);
  }

  // Reads every datagram that is ready (bounded per wake-up so one busy socket cannot starve the
  // loop) back to back into one buffer, and makes one JS call for the batch with the length of
  // each: two allocations per wake-up instead of one or two per datagram, which matters for the
  // garbage collector when a thousand acks arrive at once. Source addresses only on request.
  void Drain(int status) {
    if (pool_receiving_) return;  // the pool is reading this socket; it watches it again after
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Value error = env.Null();
    if (status < 0) {
      // libuv reports a socket error (POLLERR) as UV_EBADF and stops the poll. For netlink that
      // is usually ENOBUFS (the kernel dropped messages): read the real error, tell JS, and
      // keep receiving.
      int soerr = 0;
      socklen_t len = sizeof(soerr);
      if (fd_.valid() && ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0) {
        error = MakeSysError(env, SysError{soerr, "recv"}).Value();
      } else {
        error = MakeSysError(env, SysError{-status, "uv_poll"}).Value();
      }
      if (fd_.valid() && polling_ && uv_poll_start(poll_, UV_READABLE, OnReadable) == 0) status = 0;
    }
    if (status >= 0 && receive_on_pool_ && error.IsNull()) {
      StartPoolReceive();
      return;
    }
    ReceivedBatch batch;
    if (status >= 0 && fd_.valid()) ReceiveReady(fd_.get(), scratch_, want_sources_, kMaxReceiveNsPerWake, batch);
    Deliver(env, error, batch);
  }

  // Hands one wake-up's datagrams (and an error, if any) to JS in one call.
  void Deliver(Napi::Env env, Napi::Value error, ReceivedBatch& batch) {
    if (batch.error.failed()) error = MakeSysError(env, batch.error).Value();
    if ((batch.lengths.empty() && error.IsNull()) || on_datagrams_.IsEmpty()) return;
    Napi::Array sources = Napi::Array::New(env);
    for (size_t i = 0; i < batch.sources.size(); i++) {
      sources.Set(static_cast<uint32_t>(i),
                  Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&batch.sources[i].first),
                                              batch.sources[i].second));
    }
    auto data = Napi::Buffer<uint8_t>::Copy(env, scratch_.data(), batch.used);
    auto lens = Napi::Uint32Array::New(env, batch.lengths.size());
    for (size_t i = 0; i < batch.lengths.size(); i++) lens[i] = batch.lengths[i];
    on_datagrams_.MakeCallback(Value(), {error, data, lens, sources}, *async_context_);
  }

  void StartPoolReceive();
  Napi::Value LinkIndexes(const Napi::CallbackInfo& info);

 public:
  // Takes the socket's one reader's place for a pool thread (a pool receive, or a send that reads
  // after itself): the loop stops watching the socket until PoolReceiveDone. False when the socket
  // is not read on the pool or a pool receive is already running.
  bool ClaimPoolReceive();
  // Called on the loop when a pool receive is done: deliver, then watch the socket again.
  void PoolReceiveDone(Napi::Env env, ReceivedBatch& batch) {
    pool_receiving_ = false;
    inflight_--;
    if (close_requested_) {
      ReleaseIfClosing(env);
      return;
    }
    if (polling_ && poll_ && fd_.valid()) uv_poll_start(poll_, UV_READABLE, OnReadable);
    Napi::HandleScope scope(env);
    Deliver(env, env.Null(), batch);
  }
  ReceiveBuffer& scratch() { return scratch_; }
  // The kernel's time per request of this socket's sends, by kind (see SendWorker::SendGrouped).
  SendCosts& send_costs() { return send_costs_; }
  void CountSendCall() { send_calls_.fetch_add(1, std::memory_order_relaxed); }

 private:
  SendCosts send_costs_;
  std::atomic<uint64_t> send_calls_{0};
  bool netlink_ = false;

  UniqueFd fd_;
  Napi::FunctionReference on_datagrams_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  uv_poll_t* poll_ = nullptr;
  bool polling_ = false;
  bool loop_referenced_ = false;
  bool close_requested_ = false;
  std::vector<Napi::Promise::Deferred> close_waiters_;
  bool want_sources_ = false;
  int inflight_ = 0;
  // Where one wake-up's datagrams are read (on the loop, or by the one pool receive in flight:
  // the loop does not read while it runs).
  ReceiveBuffer scratch_;
  // receiveOnPool(true): wake-ups are read on the pool (see ReceiveOnPool).
  bool receive_on_pool_ = false;
  bool pool_receiving_ = false;

  friend class SendWorker;
  friend class ReceiveWorker;
  friend class LinkIndexesWorker;
};

// A send job: its sendto() calls on a pool thread. Holds the JS socket and the buffer alive until
// it is done.
class SendWorker : public Napi::AsyncWorker {
 public:
  // `read_after`: the caller asks for what the kernel queued during the send to be read on the
  // same pool thread right after it (see Send). Granted only when this socket is read on the pool
  // and no pool receive is running: the worker then holds the socket's one reader's place.
  // `segments`: the data is sent as consecutive sendto() calls of these lengths (with read_after,
  // each followed by reading what it queued; see Execute).
  SendWorker(Napi::Env env, DatagramSocket* socket, Napi::Object socket_obj, Napi::Buffer<uint8_t> data,
             std::vector<uint8_t> dest, bool read_after, std::vector<size_t> segments)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), socket_(socket),
        fd_(socket->fd()), data_ptr_(data.Data()), data_len_(data.Length()), dest_(std::move(dest)),
        buf_(socket->scratch()), segments_(std::move(segments)) {
    socket_ref_ = Napi::Persistent(socket_obj);
    data_ref_ = Napi::Persistent(data);
    socket_->inflight_++;
    read_after_ = read_after && socket_->ClaimPoolReceive();
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  ssize_t SendOnce(const uint8_t* data, size_t length) {
    const sockaddr* addr = dest_.empty() ? nullptr : reinterpret_cast<const sockaddr*>(dest_.data());
    socket_->CountSendCall();
    return ::sendto(fd_, data, length, MSG_NOSIGNAL, addr, dest_.size());
  }

  static uint64_t NowNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
  }

  // One sendto(), tried again on EINTR.
  ssize_t SendRetrying(const uint8_t* data, size_t length) {
    ssize_t sent;
    do {
      sent = SendOnce(data, length);
    } while (sent < 0 && errno == EINTR);
    return sent;
  }

  // Netlink segments without a read after each: consecutive segments go out together in one
  // sendto() while the kernel's work for them, judged by this socket's recent sends of the same
  // kinds of request, stays within kGroupBudgetNs. A sendto() per segment keeps a PREEMPT_NONE
  // kernel from holding the CPU for a whole batch of link creations (hundreds of microseconds
  // each) while an event loop woken on that CPU waits; for cheap requests (an address, a route:
  // microseconds) one system call and one wake-up of the loop per request cost more than the work.
  void SendGrouped() {
    static constexpr uint64_t kGroupBudgetNs = SendCosts::kBudgetNs;
    static constexpr size_t kMaxGroup = SendCosts::kMostPerCall;
    // A netlink sendto() longer than the send buffer fails whole (EMSGSIZE): a group stays below
    // it, so requests that fit alone never fail for sharing a sendto().
    int sndbuf = 0;
    socklen_t sndbuf_len = sizeof sndbuf;
    const size_t max_bytes = getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sndbuf_len) == 0 && sndbuf > 64
                                 ? static_cast<size_t>(sndbuf) - 64
                                 : 0;
    SendCosts& costs = socket_->send_costs();
    std::array<uint32_t, kMaxGroup> kinds;
    size_t at = 0;
    for (size_t i = 0; i < segments_.size() && at < data_len_;) {
      // The group: the next segment, then more while each one's kind is known, the sum of their
      // estimates stays within the budget and the group is no larger than any of its kinds may
      // join yet (see send_costs.h). A kind not seen yet goes alone, to learn it.
      size_t group = 0;
      size_t length = 0;
      uint64_t predicted = 0;
      size_t most = kMaxGroup;
      size_t offset = at;
      while (i + group < segments_.size() && group < kMaxGroup) {
        const size_t segment = std::min(segments_[i + group], data_len_ - offset);
        if (segment == 0) break;
        const uint32_t kind = segment >= 16 ? SendCosts::KindOf(data_ptr_ + offset) : 0;
        const SendCosts::Estimate cost = costs.Get(kind);
        most = std::min(most, cost.most);
        if (group > 0 && (cost.ns == 0 || predicted == 0 || predicted + cost.ns > kGroupBudgetNs ||
                          group >= most || length + segment > max_bytes))
          break;
        kinds[group++] = kind;
        length += segment;
        offset += segment;
        predicted += cost.ns;
      }
      if (group == 0) break;
      const uint64_t started = NowNs();
      ssize_t sent = SendRetrying(data_ptr_ + at, length);
      if (sent < 0 && group > 1) {
        // A failed netlink sendto() reached no request: send the group's segments one by one, so
        // the failure belongs to the request that caused it and those before it still go.
        size_t done = 0;
        for (size_t k = 0; k < group; k++) {
          sent = SendRetrying(data_ptr_ + at + done, std::min(segments_[i + k], data_len_ - at - done));
          if (sent < 0) break;
          done += static_cast<size_t>(sent);
        }
        if (sent >= 0) sent = static_cast<ssize_t>(done);
        else at += done;
      }
      if (sent < 0) {
        err_ = SysError::from("sendmsg");
        sent_before_error_ = at;
        break;
      }
      costs.Learn(kinds.data(), group, predicted, NowNs() - started);
      at += static_cast<size_t>(sent);
      i += group;
    }
    sent_ = err_.failed() ? -1 : static_cast<ssize_t>(at);
  }

  void Execute() override {
    BackgroundPriority background;
    if (segments_.empty()) segments_.assign(1, data_len_);
    // Other sockets' segments are datagrams of their own (UDP, packet): never joined. A netlink
    // send of one segment goes the same way, to add what it cost to the socket's estimates.
    if (socket_->netlink() && !read_after_) return SendGrouped();
    size_t at = 0;
    for (size_t length : segments_) {
      if (at + length > data_len_) length = data_len_ - at;
      ssize_t sent;
      do {
        sent = SendOnce(data_ptr_ + at, length);
      } while (sent < 0 && errno == EINTR);
      if (sent < 0) {
        err_ = SysError::from("sendmsg");
        sent_before_error_ = at;
        break;
      }
      at += static_cast<size_t>(sent);
      // A netlink sendto() returns to user space once the kernel has run its requests; a thread
      // the scheduler wants to run instead (the event loop woken on this CPU) gets the CPU there,
      // not only at the end of a whole batch (a PREEMPT_NONE kernel does not preempt kernel code).
      // The kernel answered every request inside sendto(): for a dump, its first chunk (all of
      // a small one) is queued. Reading it here, until nothing is left (each read lets the kernel
      // build a dump's next chunk), spares the round trip through the event loop that a wake-up
      // followed by a pool receive would cost, and ends the dump before the next segment's dump
      // starts (the kernel runs one dump per socket at a time, and refuses a second with EBUSY).
      if (read_after_) ReceiveReady(fd_, buf_, false, 0, batch_);
    }
    sent_ = err_.failed() ? -1 : static_cast<ssize_t>(at);
  }
  void OnOK() override {
    socket_->SendDone(Env());
    if (err_.failed()) {
      // Segments before the failed one were sent (and their requests run): say how many bytes.
      Napi::Error error = MakeSysError(Env(), err_);
      error.Set("bytesSent", Napi::Number::New(Env(), static_cast<double>(sent_before_error_)));
      deferred_.Reject(error.Value());
    } else {
      deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(sent_)));
    }
    if (read_after_) socket_->PoolReceiveDone(Env(), batch_);
  }
  void OnError(const Napi::Error& e) override {
    socket_->SendDone(Env());
    deferred_.Reject(e.Value());
    if (read_after_) {
      ReceivedBatch none;
      socket_->PoolReceiveDone(Env(), none);
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  DatagramSocket* socket_;
  Napi::ObjectReference socket_ref_;
  Napi::Reference<Napi::Buffer<uint8_t>> data_ref_;
  int fd_;
  const uint8_t* data_ptr_;
  size_t data_len_;
  std::vector<uint8_t> dest_;
  ssize_t sent_ = 0;
  size_t sent_before_error_ = 0;
  SysError err_;
  ReceiveBuffer& buf_;
  std::vector<size_t> segments_;
  bool read_after_ = false;
  ReceivedBatch batch_;
};

// One wake-up's receive on a pool thread (receiveOnPool). The socket is not watched meanwhile,
// so the loop never reads at the same time and datagrams reach JS in order.
class ReceiveWorker : public Napi::AsyncWorker {
 public:
  ReceiveWorker(Napi::Env env, DatagramSocket* socket, Napi::Object socket_obj)
      : Napi::AsyncWorker(env), socket_(socket), fd_(socket->fd()), buf_(socket->scratch()) {
    socket_ref_ = Napi::Persistent(socket_obj);
  }
  void Execute() override {
    BackgroundPriority background;
    ReceiveReady(fd_, buf_, false, 0, batch_);
  }
  void OnOK() override { socket_->PoolReceiveDone(Env(), batch_); }
  void OnError(const Napi::Error&) override {
    // Execute() never fails: nothing was read that could be lost.
    ReceivedBatch none;
    socket_->PoolReceiveDone(Env(), none);
  }

 private:
  DatagramSocket* socket_;
  Napi::ObjectReference socket_ref_;
  int fd_;
  ReceiveBuffer& buf_;
  ReceivedBatch batch_;
};

bool DatagramSocket::ClaimPoolReceive() {
  if (!receive_on_pool_ || pool_receiving_ || want_sources_ || !fd_.valid() || close_requested_) return false;
  if (poll_ && polling_) uv_poll_stop(poll_);  // still wanted: polling_ stays set
  pool_receiving_ = true;
  inflight_++;  // the fd stays open until the receive is done (see Close)
  return true;
}

void DatagramSocket::StartPoolReceive() {
  if (!ClaimPoolReceive()) return;
  auto* worker = new ReceiveWorker(Env(), this, Value());
  worker->Queue();
}

// linkIndexes(refs): the ifindex of each link, looked up on a pool thread by ioctl in the socket's
// netns (any socket resolves names through the generic device ioctls, a netlink one included): a
// name by SIOCGIFINDEX, an index checked by SIOCGIFNAME. The kernel looks both up in its hash
// tables without building a message or taking the RTNL lock, where a link dump builds a kilobyte
// per link (a thousand names: about 1 ms against 15-30 ms). Each answer is the index, 0 when there
// is no such link (ENODEV), or -1 for a name too long for the ioctl (an altname of 16 bytes or
// more: ask by RTM_GETLINK). Any other error rejects the call.
// One ref: a name, or (index > 0) an ifindex.
struct LinkRefArg {
  std::string name;
  int32_t index = 0;
};

class LinkIndexesWorker : public Napi::AsyncWorker {
 public:
  LinkIndexesWorker(Napi::Env env, DatagramSocket* socket, Napi::Object socket_obj, std::vector<LinkRefArg> refs)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), socket_(socket), fd_(socket->fd()),
        refs_(std::move(refs)) {
    socket_ref_ = Napi::Persistent(socket_obj);
    socket_->inflight_++;  // the fd stays open until the lookups are done (see Close)
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    BackgroundPriority background;
    out_.resize(refs_.size());
    for (size_t i = 0; i < refs_.size(); i++) {
      const LinkRefArg& ref = refs_[i];
      const bool by_name = ref.index == 0;
      ifreq ifr{};
      unsigned long request;
      if (by_name) {
        if (ref.name.empty() || ref.name.size() >= IFNAMSIZ) {
          out_[i] = -1;
          continue;
        }
        std::memcpy(ifr.ifr_name, ref.name.data(), ref.name.size());
        request = SIOCGIFINDEX;
      } else {
        ifr.ifr_ifindex = ref.index;
        request = SIOCGIFNAME;
      }
      int rc;
      do {
        rc = ::ioctl(fd_, request, &ifr);
      } while (rc != 0 && errno == EINTR);
      if (rc == 0) {
        out_[i] = by_name ? ifr.ifr_ifindex : ref.index;
      } else if (errno == ENODEV) {
        out_[i] = 0;
      } else {
        err_ = SysError::from(by_name ? "ioctl SIOCGIFINDEX" : "ioctl SIOCGIFNAME");
        return;
      }
    }
  }
  void OnOK() override {
    socket_->SendDone(Env());
    if (err_.failed()) {
      deferred_.Reject(MakeSysError(Env(), err_).Value());
      return;
    }
    auto result = Napi::Int32Array::New(Env(), out_.size());
    for (size_t i = 0; i < out_.size(); i++) result[i] = out_[i];
    deferred_.Resolve(result);
  }
  void OnError(const Napi::Error& e) override {
    socket_->SendDone(Env());
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  DatagramSocket* socket_;
  Napi::ObjectReference socket_ref_;
  int fd_;
  std::vector<LinkRefArg> refs_;
  std::vector<int32_t> out_;
  SysError err_;
};

// linkIndexes(refs: (string | number)[]): Promise<Int32Array> (see LinkIndexesWorker).
Napi::Value DatagramSocket::LinkIndexes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsArray()) {
    ThrowTypeError(env, "linkIndexes(refs: (string | number)[])");
    return env.Undefined();
  }
  auto refs = info[0].As<Napi::Array>();
  std::vector<LinkRefArg> args(refs.Length());
  for (uint32_t i = 0; i < args.size(); i++) {
    Napi::Value v = refs.Get(i);
    if (v.IsString()) {
      args[i].name = v.As<Napi::String>().Utf8Value();
    } else if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= 1 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int32_t>(d))) {
        ThrowTypeError(env, "linkIndexes: an index must be an integer from 1 to 2^31-1");
        return env.Undefined();
      }
      args[i].index = static_cast<int32_t>(d);
    } else {
      ThrowTypeError(env, "linkIndexes: each ref is a name or an index");
      return env.Undefined();
    }
  }
  auto* worker = new LinkIndexesWorker(env, this, info.This().As<Napi::Object>(), std::move(args));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// send(data: Buffer, dest?: Buffer, readAfter?: boolean, segments?: Uint32Array): Promise<bytesSent>.
// With readAfter, on a socket read on the pool (receiveOnPool) whose reader's place is free, the
// datagrams queued by the time sendto() returns are read on the same pool thread and delivered
// before the socket is watched again (the loop does not read meanwhile, so they reach JS in
// order). With segments, the data goes out as sendto() calls of those lengths (with readAfter,
// each followed by that read). On a netlink socket without readAfter, consecutive segments may
// share one sendto() while the kernel's time for them stays short (see SendGrouped). A failed
// sendto() rejects with an error whose `bytesSent` counts the bytes of the segments sent before it.
Napi::Value DatagramSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    ThrowTypeError(env, "send(data: Buffer, dest?: Buffer, readAfter?: boolean, segments?: Uint32Array)");
    return env.Undefined();
  }
  std::vector<uint8_t> dest;
  if (info.Length() > 1 && info[1].IsBuffer()) {
    auto d = info[1].As<Napi::Buffer<uint8_t>>();
    dest.assign(d.Data(), d.Data() + d.Length());
  }
  bool read_after = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  std::vector<size_t> segments;
  if (info.Length() > 3 && info[3].IsTypedArray()) {
    auto lengths = info[3].As<Napi::Uint32Array>();
    for (size_t i = 0; i < lengths.ElementLength(); i++) segments.push_back(lengths[i]);
  }
  auto* worker = new SendWorker(env, this, info.This().As<Napi::Object>(), info[0].As<Napi::Buffer<uint8_t>>(),
                                std::move(dest), read_after, std::move(segments));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

// poolWorkNice(): how many nice steps pool threads drop while doing kernel work (0: not done).
Napi::Value PoolWorkNice(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), BackgroundPriorityEnabled() ? BackgroundNice() : 0);
}

Napi::Object InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("DatagramSocket", DatagramSocket::Define(env));
  exports.Set("poolWorkNice", Napi::Function::New(env, PoolWorkNice));
  exports.Set("openSocket", Napi::Function::New(env, OpenSocket));
  return exports;
}

}  // namespace vmnet
