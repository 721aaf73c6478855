// CaptureSession: one capture, from JS's point of view. start() opens the socket, ring and file
// on a pool thread (AsyncWorker) and then starts the ring thread, which reads blocks, writes the
// file and gathers live batches. JS gets two kinds of events through one ThreadSafeFunction:
// "batch" (a buffer of packets and an index of them) and "end" (final statistics, or an error).
// stop() only asks: the ring thread stops taking packets, hands every packet already in the ring
// to the file, writes the statistics block, closes the file and reports "end".
#include <linux/if_ether.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "capture.h"

namespace vmnet {
namespace {

uint64_t NowRealtimeNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
uint64_t NowMonotonicMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000ull + static_cast<uint64_t>(ts.tv_nsec) / 1000000ull;
}

void ThrowRangeError(Napi::Env env, const char* field, const std::string& reason) {
  Napi::RangeError e = Napi::RangeError::New(env, std::string(field) + ": " + reason);
  e.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  e.Set("field", Napi::String::New(env, field));
  e.ThrowAsJavaScriptException();
}

// An integer option within [min, max], read as a double so that nothing wraps on the way.
bool OptBounded(Napi::Env env, const Napi::Object& o, const char* key, uint32_t fallback, uint32_t min, uint32_t max,
                uint32_t& out) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) {
    out = fallback;
    return true;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    ThrowRangeError(env, key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return false;
  }
  out = static_cast<uint32_t>(d);
  return true;
}

// Per packet in a live batch: offset, caplen, origlen, seconds, nanoseconds, ifindex (u32 each).
constexpr size_t kIndexFields = 6;

struct LiveBatch {
  std::vector<uint8_t> data;
  std::vector<uint32_t> index;
};

enum class EndReason { kStopped, kPackets, kBytes, kSeconds, kError };
const char* ReasonName(EndReason r) {
  switch (r) {
    case EndReason::kStopped: return "stopped";
    case EndReason::kPackets: return "packets";
    case EndReason::kBytes: return "bytes";
    case EndReason::kSeconds: return "seconds";
    case EndReason::kError: return "error";
  }
  return "stopped";
}

struct EndEvent {
  EndReason reason = EndReason::kStopped;
  SysError error;
  KernelStats kernel;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t live_drops = 0;
  uint64_t file_bytes = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
};

// What the ThreadSafeFunction carries: exactly one of the two.
struct Event {
  std::unique_ptr<LiveBatch> batch;
  std::unique_ptr<EndEvent> end;
};

class CaptureSession;
// Every running session, for process exit: process.exit() does not run environment cleanup
// hooks, so an atexit() handler stops and joins the ring threads (flushing and closing files).
std::mutex g_sessions_mutex;
std::vector<CaptureSession*> g_sessions;
std::once_flag g_atexit_once;
void StopAllAtExit();

void CallJs(Napi::Env env, Napi::Function callback, CaptureSession* session, Event* event);
using Tsfn = Napi::TypedThreadSafeFunction<CaptureSession, Event, CallJs>;

class CaptureSession : public Napi::ObjectWrap<CaptureSession> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CaptureSession",
                       {
                           InstanceMethod("start", &CaptureSession::Start),
                           InstanceMethod("stop", &CaptureSession::Stop),
                           InstanceMethod("stats", &CaptureSession::Stats),
                       });
  }

  // new CaptureSession(options, onEvent(kind, a, b))
  explicit CaptureSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CaptureSession>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      ThrowTypeError(env, "CaptureSession(options, onEvent)");
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    ring_opts_.netns = OptString(o, "netns");
    ring_opts_.iface = OptString(o, "iface");
    ring_opts_.promisc = OptBool(o, "promisc", false);
    // Sizes are read as doubles and range-checked before narrowing (Int32Value() wraps).
    uint32_t snaplen = 0, block_size = 0, block_count = 0, retire_ms = 0;
    if (!OptBounded(env, o, "snaplen", 1600, 1, kMaxSnaplen, snaplen) ||
        !OptBounded(env, o, "blockSize", 1 << 20, 4096, 1u << 30, block_size) ||
        !OptBounded(env, o, "blockCount", 32, 1, 1u << 20, block_count) ||
        !OptBounded(env, o, "retireMs", 20, 1, 60000, retire_ms)) {
      return;
    }
    ring_opts_.snaplen = snaplen;
    ring_opts_.block_size = block_size;
    ring_opts_.block_count = block_count;
    ring_opts_.retire_ms = retire_ms;
    ring_opts_.ignore_outgoing = OptBool(o, "ignoreOutgoing", false);
    if ((ring_opts_.block_size & (ring_opts_.block_size - 1)) != 0) {
      ThrowRangeError(env, "blockSize", "must be a power of two");
      return;
    }
    ring_opts_.filter_expression = OptString(o, "filterExpression");
    ring_opts_.filter_optimize = OptBool(o, "filterOptimize", true);
    ring_opts_.filter_netmask = static_cast<uint32_t>(o.Get("filterNetmask").IsNumber()
                                                          ? o.Get("filterNetmask").As<Napi::Number>().Uint32Value()
                                                          : 0);
    Napi::Value filter = o.Get("filter");
    if (filter.IsBuffer()) {
      auto buf = filter.As<Napi::Buffer<uint8_t>>();
      if (buf.Length() % sizeof(sock_filter) != 0 || buf.Length() == 0 ||
          buf.Length() / sizeof(sock_filter) > BPF_MAXINSNS) {
        ThrowTypeError(env, "filter must be 1-4096 BPF instructions of 8 bytes");
        return;
      }
      ring_opts_.filter.resize(buf.Length() / sizeof(sock_filter));
      std::memcpy(ring_opts_.filter.data(), buf.Data(), buf.Length());
    }
    filter_text_ = OptString(o, "filterText");
    path_ = OptString(o, "file");
    std::string format = OptString(o, "format");
    format_ = path_.empty() ? FileFormat::kNone : format == "pcap" ? FileFormat::kPcap : FileFormat::kPcapng;
    overwrite_ = OptBool(o, "overwrite", false);
    file_buffer_ = static_cast<size_t>(OptInt(o, "fileBuffer", 4 << 20));
    Napi::Value v = o.Get("limitPackets");
    if (v.IsNumber()) limit_packets_ = static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
    v = o.Get("limitBytes");
    if (v.IsNumber()) limit_bytes_ = static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
    v = o.Get("limitMs");
    if (v.IsNumber()) limit_ms_ = static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
    live_ = OptBool(o, "live", false);
    live_batch_bytes_ = static_cast<size_t>(OptInt(o, "liveBatchBytes", 1 << 20));
    live_max_pending_ = static_cast<size_t>(OptInt(o, "liveMaxPending", 64 << 20));
    on_event_ = Napi::Persistent(info[1].As<Napi::Function>());
  }

  ~CaptureSession() override { StopAndJoin(); }

  // Stops the ring thread and waits for it (process or environment exit). Idempotent.
  void StopAndJoin() {
    exiting_.store(true);
    RequestStop();
    JoinThread();
  }

  // Called by the start worker on a pool thread: everything that can fail, in an order that
  // leaves nothing behind. The file is made last: an overwritten file is only truncated once
  // nothing else can fail.
  SysError OpenAll(FilterError& filter_error) {
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_.valid()) return SysError::from("eventfd");
    SysError err = PacketRing::Open(ring_opts_, ring_, filter_error);
    if (err.failed()) {
      wake_.reset();
      return err;
    }
    if (format_ != FileFormat::kNone) {
      err = file_.Create(path_, format_, overwrite_, file_buffer_);
      if (err.failed()) {
        ring_ = PacketRing();
        wake_.reset();
        return err;
      }
    }
    return {};
  }

  // A failed start: nothing may keep this object (or its callback's closure) alive.
  void ReleaseAfterFailedStart() { on_event_.Reset(); }

  void Launch(Napi::Env env) {
    tsfn_ = Tsfn::New(env, on_event_.Value(), "vmnet:capture", 0, 1, this);
    Ref();  // alive until the "end" event
    cleanup_ = env.AddCleanupHook(OnEnvExit, this);
    have_cleanup_ = true;
    running_ = true;
    {
      std::lock_guard<std::mutex> lock(g_sessions_mutex);
      g_sessions.push_back(this);
    }
    std::call_once(g_atexit_once, []() { std::atexit(StopAllAtExit); });
    thread_ = std::thread([this]() { Run(); });
  }

  void OnEnd(Napi::Env env, Napi::Function callback, EndEvent& e) {
    JoinThread();  // it has posted its last event and is returning
    running_ = false;
    if (have_cleanup_) {
      cleanup_.Remove(env);
      have_cleanup_ = false;
    }
    Napi::Object s = Napi::Object::New(env);
    s.Set("reason", ReasonName(e.reason));
    s.Set("packets", Napi::Number::New(env, static_cast<double>(e.packets)));
    s.Set("bytes", Napi::Number::New(env, static_cast<double>(e.bytes)));
    s.Set("received", Napi::Number::New(env, static_cast<double>(e.kernel.packets)));
    s.Set("drops", Napi::Number::New(env, static_cast<double>(e.kernel.drops)));
    s.Set("freezes", Napi::Number::New(env, static_cast<double>(e.kernel.freezes)));
    s.Set("liveDrops", Napi::Number::New(env, static_cast<double>(e.live_drops)));
    s.Set("fileBytes", Napi::Number::New(env, static_cast<double>(e.file_bytes)));
    s.Set("startNs", Napi::BigInt::New(env, e.start_ns));
    s.Set("endNs", Napi::BigInt::New(env, e.end_ns));
    Napi::Value err = e.error.failed() ? MakeSysError(env, e.error).Value() : env.Null();
    // The session is over: give back what it held, so a finished capture costs nothing even
    // while its JS object waits for the garbage collector (the eventfd, and the callback whose
    // closure refers back to this object: a strong reference that kept it from ever being collected).
    wake_.reset();
    batch_.reset();
    per_interface_.clear();
    per_interface_.shrink_to_fit();
    callback.Call(Value(), {Napi::String::New(env, "end"), s, err});
    on_event_.Reset();
    Unref();  // the thread has released the ThreadSafeFunction: the loop may exit
  }


 private:
  Napi::Value Start(const Napi::CallbackInfo& info);

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    RequestStop();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object s = Napi::Object::New(env);
    s.Set("packets", Napi::Number::New(env, static_cast<double>(packets_.load())));
    s.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes_.load())));
    s.Set("received", Napi::Number::New(env, static_cast<double>(kernel_packets_.load())));
    s.Set("drops", Napi::Number::New(env, static_cast<double>(kernel_drops_.load())));
    s.Set("liveDrops", Napi::Number::New(env, static_cast<double>(live_drops_.load())));
    return s;
  }

  void RequestStop() {
    stop_requested_.store(true);
    if (wake_.valid()) {
      uint64_t one = 1;
      ssize_t n = ::write(wake_.get(), &one, sizeof(one));
      (void)n;
    }
  }

  void JoinThread() {
    std::lock_guard<std::mutex> lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> glock(g_sessions_mutex);
    for (auto it = g_sessions.begin(); it != g_sessions.end(); ++it) {
      if (*it == this) {
        g_sessions.erase(it);
        break;
      }
    }
  }

  // ---- the ring thread ----

  void Run() {
    ::prctl(PR_SET_NAME, "vmnet-capture", 0, 0, 0);
    auto end = std::make_unique<EndEvent>();
    end->start_ns = NowRealtimeNs();
    start_ns_ = end->start_ns;
    if (file_.open()) {
      int ifindex = ring_.ifindex();
      if (ifindex != 0 || format_ == FileFormat::kPcap) {
        file_.AddInterface(ifindex, InterfaceInfo{ring_opts_.iface.empty() ? std::string("any") : ring_opts_.iface,
                                                  ring_.linktype(), ring_opts_.snaplen, filter_text_});
      }
    }
    if (live_) NewBatch();
    const uint64_t deadline = limit_ms_ ? NowMonotonicMs() + limit_ms_ : 0;
    uint64_t last_stats = NowMonotonicMs();
    uint64_t last_flush = last_stats;
    EndReason reason = EndReason::kStopped;

    pollfd fds[2] = {{ring_.fd(), POLLIN | POLLERR, 0}, {wake_.get(), POLLIN, 0}};
    for (;;) {
      bool any = DrainRing();
      if (live_ && !batch_->index.empty()) PostBatch();
      uint64_t now = NowMonotonicMs();
      if (now - last_stats >= 1000) {
        ring_.ReadStats(kernel_);
        PublishKernel();
        last_stats = now;
        CheckInterface();
      }
      if (file_.open() && (!any || now - last_flush >= 1000)) {
        // Idle or a second gone: put what we have on disk, so readers follow along.
        file_.Flush();
        last_flush = now;
      }
      if (file_.error().failed()) {
        error_ = file_.error();
      }
      if (error_.failed()) {
        reason = EndReason::kError;
        break;
      }
      if (limit_reason_ != EndReason::kStopped) {
        reason = limit_reason_;
        break;
      }
      if (stop_requested_.load()) break;
      int timeout = 250;
      if (deadline) {
        if (now >= deadline) {
          reason = EndReason::kSeconds;
          break;
        }
        timeout = static_cast<int>(std::min<uint64_t>(250, deadline - now));
      }
      if (any) continue;  // more may be ready: look again before sleeping
      int n = ::poll(fds, 2, timeout);
      if (n < 0 && errno != EINTR) {
        error_ = SysError::from("poll");
        reason = EndReason::kError;
        break;
      }
      if (n > 0 && (fds[0].revents & POLLERR)) {
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        ::getsockopt(ring_.fd(), SOL_SOCKET, SO_ERROR, &soerr, &len);
        // ENETDOWN: the link went down (it may come back) or was deleted (it never will).
        if (soerr != 0 && soerr != ENETDOWN) {
          error_ = SysError{soerr, "poll", ring_opts_.iface};
          reason = EndReason::kError;
          break;
        }
      }
      // Idle or told of an error: is the interface still there? (A link deleted while down
      // sends no error at all.)
      if (n == 0 || (n > 0 && (fds[0].revents & POLLERR))) CheckInterface();
    }
    Finish(*end, reason);
    end->end_ns = NowRealtimeNs();
    if (file_.open()) {
      std::vector<std::pair<int, FinalStats>> per;
      for (const auto& [ifindex, count] : per_interface_) {
        FinalStats st;
        st.start_ns = end->start_ns;
        st.end_ns = end->end_ns;
        st.have_kernel = ring_.ifindex() != 0;
        st.kernel = kernel_;
        st.delivered = count;
        per.emplace_back(ifindex, st);
      }
      if (per.empty() && ring_.ifindex() != 0) {
        FinalStats st;
        st.start_ns = end->start_ns;
        st.end_ns = end->end_ns;
        st.have_kernel = true;
        st.kernel = kernel_;
        per.emplace_back(ring_.ifindex(), st);
      }
      file_.WriteStatistics(per);
      SysError ferr = file_.Close();
      if (ferr.failed() && !end->error.failed()) {
        end->error = ferr;
        end->reason = EndReason::kError;
      }
      end->file_bytes = file_.bytes_written();
    }
    ring_ = PacketRing();  // closes the socket: promiscuity and the ring go with it
    // At exit nobody is listening and the event loop may be gone: post nothing.
    if (exiting_.load()) return;
    Event* ev = new Event{};
    ev->end = std::move(end);
    if (tsfn_.BlockingCall(ev) != napi_ok) delete ev;  // the environment is going away
    tsfn_.Release();
  }

  // The kernel unbinds the socket when its interface is unregistered: such a capture can never
  // see another packet, so it ends with ENXIO rather than waiting forever.
  void CheckInterface() {
    if (error_.failed() || ring_.BoundInterfaceExists()) return;
    error_ = SysError{ENXIO, "capture", ring_opts_.iface};
  }

  // After the loop: no new packets, then every packet already in the ring, then counters.
  void Finish(EndEvent& end, EndReason reason) {
    end.reason = reason;
    end.error = error_;
    SysError e = ring_.AttachDropAll();
    if (!e.failed()) {
      ring_.ReadStats(kernel_);
      const uint64_t expected = kernel_.packets - kernel_.drops;
      // A partly filled block is handed to us when its retire timer fires.
      const uint64_t give_up = NowMonotonicMs() + (exiting_.load() ? 50 : 3 * ring_opts_.retire_ms + 500);
      while (seen_ < expected && NowMonotonicMs() < give_up) {
        if (!DrainRing()) {
          pollfd p{ring_.fd(), POLLIN, 0};
          ::poll(&p, 1, 5);
        }
      }
      ring_.ReadStats(kernel_);
    }
    if (live_ && !batch_->index.empty()) PostBatch();
    PublishKernel();
    end.kernel = kernel_;
    end.packets = packets_.load();
    end.bytes = bytes_.load();
    end.live_drops = live_drops_.load();
  }

  void PublishKernel() {
    kernel_packets_.store(kernel_.packets);
    kernel_drops_.store(kernel_.drops);
  }

  // Processes every block the kernel has handed over, in ring order. True if any was.
  bool DrainRing() {
    bool any = false;
    for (;;) {
      tpacket_block_desc* b = ring_.block(current_block_);
      if ((__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
      ProcessBlock(b);
      __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      current_block_ = (current_block_ + 1) % ring_.block_count();
      any = true;
    }
    return any;
  }

  void ProcessBlock(tpacket_block_desc* b) {
    const uint32_t count = b->hdr.bh1.num_pkts;
    auto* hdr = reinterpret_cast<tpacket3_hdr*>(reinterpret_cast<uint8_t*>(b) + b->hdr.bh1.offset_to_first_pkt);
    const int bound = ring_.ifindex();
    const int lo = ring_.loopback_ifindex();
    const uint32_t snaplen = ring_opts_.snaplen;
    uint64_t packets = packets_.load(std::memory_order_relaxed);
    uint64_t bytes = bytes_.load(std::memory_order_relaxed);
    for (uint32_t i = 0; i < count; i++) {
      tpacket3_hdr* h = hdr;
      hdr = reinterpret_cast<tpacket3_hdr*>(reinterpret_cast<uint8_t*>(hdr) + hdr->tp_next_offset);
      seen_++;
      if (!writing_) continue;
      const auto* sll = reinterpret_cast<const sockaddr_ll*>(reinterpret_cast<const uint8_t*>(h) +
                                                              TPACKET_ALIGN(sizeof(tpacket3_hdr)));
      const int ifindex = bound != 0 ? bound : sll->sll_ifindex;
      // Loopback shows every packet twice (going out and coming in): keep the incoming copy.
      if (ifindex == lo && sll->sll_pkttype == PACKET_OUTGOING) continue;
      const uint8_t* frame = reinterpret_cast<const uint8_t*>(h) + h->tp_mac;
      PacketView p{};
      p.sec = h->tp_sec;
      p.nsec = h->tp_nsec;
      p.ifindex = ifindex;
      p.origlen = h->tp_len;
      uint8_t tag[4];
      if ((h->tp_status & TP_STATUS_VLAN_VALID) && ring_.linktype() == kLinktypeEthernet && h->tp_snaplen >= 12) {
        // The kernel took the 802.1Q tag out of the frame (into skb metadata); put it back where
        // it was, after the two MAC addresses.
        uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid : ETH_P_8021Q;
        uint16_t tci = h->hv1.tp_vlan_tci;
        tag[0] = static_cast<uint8_t>(tpid >> 8);
        tag[1] = static_cast<uint8_t>(tpid);
        tag[2] = static_cast<uint8_t>(tci >> 8);
        tag[3] = static_cast<uint8_t>(tci);
        p.head = frame;
        p.head_len = 12;
        p.tag = tag;
        p.tail = frame + 12;
        p.tail_len = h->tp_snaplen - 12;
        p.origlen += 4;
        if (p.head_len + 4 + p.tail_len > snaplen) {
          uint32_t over = p.head_len + 4 + p.tail_len - snaplen;
          p.tail_len = over >= p.tail_len ? 0 : p.tail_len - over;
        }
        p.caplen = p.head_len + 4 + p.tail_len;
      } else {
        p.head = frame;
        p.head_len = std::min(h->tp_snaplen, snaplen);
        p.tag = nullptr;
        p.tail = nullptr;
        p.tail_len = 0;
        p.caplen = p.head_len;
      }
      if (file_.open()) {
        if (bound == 0 && format_ == FileFormat::kPcapng && !file_.HasInterface(ifindex)) {
          file_.AddInterface(ifindex, InterfaceInfo{ring_.InterfaceName(ifindex), ring_.linktype(), snaplen,
                                                    filter_text_});
        }
        file_.Write(p);
      }
      if (live_) AppendLive(p);
      CountInterface(ifindex);
      packets++;
      bytes += p.caplen;
      if ((limit_packets_ && packets >= limit_packets_) || (limit_bytes_ && bytes >= limit_bytes_)) {
        writing_ = false;
        limit_reason_ = (limit_packets_ && packets >= limit_packets_) ? EndReason::kPackets : EndReason::kBytes;
      }
    }
    packets_.store(packets, std::memory_order_relaxed);
    bytes_.store(bytes, std::memory_order_relaxed);
  }

  void CountInterface(int ifindex) {
    for (auto& [ix, n] : per_interface_) {
      if (ix == ifindex) {
        n++;
        return;
      }
    }
    per_interface_.emplace_back(ifindex, 1);
  }

  void NewBatch() {
    batch_ = std::make_unique<LiveBatch>();
    batch_->data.reserve(live_batch_bytes_ + 65536);
  }

  void AppendLive(const PacketView& p) {
    LiveBatch& b = *batch_;
    size_t off = b.data.size();
    b.data.resize(off + p.caplen);
    uint8_t* out = b.data.data() + off;
    std::memcpy(out, p.head, p.head_len);
    if (p.tag) std::memcpy(out + p.head_len, p.tag, 4);
    if (p.tail_len) std::memcpy(out + p.head_len + (p.tag ? 4 : 0), p.tail, p.tail_len);
    uint32_t idx[kIndexFields] = {static_cast<uint32_t>(off), p.caplen, p.origlen, p.sec, p.nsec,
                                  static_cast<uint32_t>(p.ifindex)};
    b.index.insert(b.index.end(), idx, idx + kIndexFields);
    if (b.data.size() >= live_batch_bytes_) PostBatch();
  }

  // Hands the batch to JS, unless JS is this far behind: then it is dropped and counted, so a
  // slow consumer never stalls the ring (or the file).
  void PostBatch() {
    size_t size = batch_->data.size();
    if (exiting_.load()) {
      batch_->data.clear();
      batch_->index.clear();
      return;
    }
    if (live_pending_.load() + size > live_max_pending_) {
      live_drops_.fetch_add(batch_->index.size() / kIndexFields);
      batch_->data.clear();
      batch_->index.clear();
      return;
    }
    live_pending_.fetch_add(size);
    Event* ev = new Event{};
    ev->batch = std::move(batch_);
    if (tsfn_.NonBlockingCall(ev) != napi_ok) {
      live_pending_.fetch_sub(size);
      delete ev;
    }
    NewBatch();
  }

 public:
  void OnBatch(Napi::Env env, Napi::Function callback, std::unique_ptr<LiveBatch> batch) {
    live_pending_.fetch_sub(batch->data.size());
    auto* data = new std::vector<uint8_t>(std::move(batch->data));
    Napi::Value buf;
    if (data->empty()) {
      delete data;
      buf = Napi::Buffer<uint8_t>::New(env, 0);
    } else {
      buf = Napi::Buffer<uint8_t>::New(env, data->data(), data->size(),
                                       [](Napi::Env, uint8_t*, std::vector<uint8_t>* d) { delete d; }, data);
    }
    auto index = Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(batch->index.data()),
                                              batch->index.size() * sizeof(uint32_t));
    callback.Call(Value(), {Napi::String::New(env, "batch"), buf, index});
  }

 private:
  RingOptions ring_opts_;
  std::string filter_text_;
  std::string path_;
  FileFormat format_ = FileFormat::kNone;
  bool overwrite_ = false;
  size_t file_buffer_ = 4 << 20;
  uint64_t limit_packets_ = 0;
  uint64_t limit_bytes_ = 0;
  uint64_t limit_ms_ = 0;
  bool live_ = false;
  size_t live_batch_bytes_ = 1 << 20;
  size_t live_max_pending_ = 64 << 20;
  Napi::FunctionReference on_event_;

  PacketRing ring_;
  CaptureFile file_;
  UniqueFd wake_;
  Tsfn tsfn_;
  std::thread thread_;
  // Process exit: the ring thread must stop (flushing and closing the file) and be joined.
  static void OnEnvExit(CaptureSession* self) { self->StopAndJoin(); }
  Napi::Env::CleanupHook<void (*)(CaptureSession*), CaptureSession> cleanup_;
  bool have_cleanup_ = false;
  bool running_ = false;
  bool started_ = false;
  std::mutex join_mutex_;

  // Ring thread state.
  uint32_t current_block_ = 0;
  uint64_t seen_ = 0;
  bool writing_ = true;
  EndReason limit_reason_ = EndReason::kStopped;
  KernelStats kernel_;
  SysError error_;
  uint64_t start_ns_ = 0;
  std::vector<std::pair<int, uint64_t>> per_interface_;
  std::unique_ptr<LiveBatch> batch_;

  // Shared between threads.
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> exiting_{false};
  std::atomic<uint64_t> packets_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> kernel_packets_{0};
  std::atomic<uint64_t> kernel_drops_{0};
  std::atomic<uint64_t> live_drops_{0};
  std::atomic<size_t> live_pending_{0};

  friend class StartWorker;
};

void CallJs(Napi::Env env, Napi::Function callback, CaptureSession* session, Event* event) {
  std::unique_ptr<Event> owned(event);
  if (env == nullptr || owned == nullptr) return;  // the environment is being torn down
  Napi::HandleScope scope(env);
  if (owned->batch) {
    session->OnBatch(env, callback, std::move(owned->batch));
  } else if (owned->end) {
    session->OnEnd(env, callback, *owned->end);
  }
}

void StopAllAtExit() {
  std::vector<CaptureSession*> running;
  {
    std::lock_guard<std::mutex> lock(g_sessions_mutex);
    running = g_sessions;
  }
  for (CaptureSession* s : running) s->StopAndJoin();
}

class StartWorker : public Napi::AsyncWorker {
 public:
  StartWorker(Napi::Env env, CaptureSession* session, Napi::Object self)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), session_(session) {
    self_ = Napi::Persistent(self);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    err_ = session_->OpenAll(filter_error_);
    if (!err_.failed()) {
      // Read before the ring thread exists: afterwards the ring belongs to it (it closes and
      // resets it when the capture ends, possibly before OnOK runs).
      linktype_ = session_->ring_.linktype();
      ifindex_ = session_->ring_.ifindex();
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_.failed()) {
      session_->ReleaseAfterFailedStart();
      if (filter_error_.kind == FilterError::Kind::kExpression || filter_error_.kind == FilterError::Kind::kLibpcap) {
        Napi::Error e = Napi::Error::New(env, filter_error_.message);
        e.Set("code", Napi::String::New(
                          env, filter_error_.kind == FilterError::Kind::kExpression ? "EFILTER" : "ELIBPCAP"));
        deferred_.Reject(e.Value());
        return;
      }
      deferred_.Reject(MakeSysError(env, err_).Value());
      return;
    }
    session_->Launch(env);
    Napi::Object info = Napi::Object::New(env);
    info.Set("linktype", Napi::Number::New(env, linktype_));
    info.Set("ifindex", Napi::Number::New(env, ifindex_));
    deferred_.Resolve(info);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  CaptureSession* session_;
  Napi::ObjectReference self_;
  SysError err_;
  FilterError filter_error_;
  uint16_t linktype_ = kLinktypeEthernet;
  int ifindex_ = 0;
};

// start(): Promise<{ linktype, ifindex }>
Napi::Value CaptureSession::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (started_) {
    ThrowSysError(env, SysError{EALREADY, "capture", "already started"});
    return env.Undefined();
  }
  started_ = true;
  auto* worker = new StartWorker(env, this, info.This().As<Napi::Object>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void InitCaptureSession(Napi::Env env, Napi::Object target) {
  target.Set("CaptureSession", CaptureSession::Define(env));
}

Napi::Object InitCapture(Napi::Env env, Napi::Object exports) {
  InitPcapCompile(env, exports);
  InitCaptureSession(env, exports);
  return exports;
}

}  // namespace vmnet
