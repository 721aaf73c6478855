// Packet capture: an AF_PACKET socket with a TPACKET_V3 ring read on a native thread, writing
// pcap/pcapng files there and handing batches to JS. Pieces:
//   packet_ring.cc   the socket and the mmap'd ring (RAII), filter swap, statistics
//   capture_file.cc  buffered pcap and pcapng writers
//   pcap_compile.cc  filter expressions through a run-time loaded libpcap
//   session.cc       the JS-facing CaptureSession: ring thread, batches, stop, exit cleanup
#pragma once

#include <linux/filter.h>
#include <linux/if_packet.h>
#include <sys/mman.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../common.h"

namespace vmnet {

// File link types (LINKTYPE_*), as written in pcap/pcapng headers.
constexpr uint16_t kLinktypeEthernet = 1;
constexpr uint16_t kLinktypeRaw = 101;
// libpcap's DLT_* for the same link types (what a filter is compiled for).
constexpr int kDltEthernet = 1;
constexpr int kDltRaw = 12;
// Largest snap length (libpcap's MAXIMUM_SNAPLEN): keeps every ring size computation in range.
constexpr uint32_t kMaxSnaplen = 262144;

// Why a filter could not be made: a bad expression (libpcap's message), no usable libpcap, or a
// system error while opening libpcap's live handle.
struct FilterError {
  enum class Kind { kNone, kExpression, kLibpcap, kSystem };
  Kind kind = Kind::kNone;
  std::string message;
  SysError sys;
  bool failed() const { return kind != Kind::kNone; }
};

// Compiles `expression` as libpcap does for a live capture on `device` of the calling thread's
// netns (libpcap opens, and closes, its own handle on it). `expected_dlt` is the capture's link
// type; a different one from libpcap is an error rather than a filter for the wrong framing.
FilterError CompileLiveFilter(const std::string& device, int expected_dlt, uint32_t snaplen, bool optimize,
                              uint32_t netmask, const std::string& expression, std::vector<sock_filter>& out);

// An mmap'd region, unmapped on every path out.
class MappedRegion {
 public:
  MappedRegion() = default;
  MappedRegion(void* addr, size_t size) : addr_(addr), size_(size) {}
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  MappedRegion(MappedRegion&& o) noexcept : addr_(o.addr_), size_(o.size_) {
    o.addr_ = nullptr;
    o.size_ = 0;
  }
  MappedRegion& operator=(MappedRegion&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = o.addr_;
      size_ = o.size_;
      o.addr_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  ~MappedRegion() { reset(); }
  void reset() {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
  }
  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return size_; }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

struct RingOptions {
  std::string netns;      // path, or empty for the caller's netns
  std::string iface;      // empty: every interface of the netns
  bool promisc = false;
  std::vector<sock_filter> filter;  // empty: accept all, truncated to snaplen
  std::string filter_expression;    // compiled at open for the link's real type (overrides filter)
  bool filter_optimize = true;
  uint32_t filter_netmask = 0;
  uint32_t snaplen = 1600;
  uint32_t block_size = 1 << 20;
  uint32_t block_count = 32;
  uint32_t retire_ms = 20;
  bool ignore_outgoing = false;
};

// Kernel statistics, accumulated (reading PACKET_STATISTICS resets the kernel's counters).
struct KernelStats {
  uint64_t packets = 0;  // passed the filter (including the dropped ones)
  uint64_t drops = 0;    // no room in the ring
  uint64_t freezes = 0;  // times the ring was full (queue frozen)
};

// The socket and its ring. Opened fully (filter attached, bound) or not at all.
class PacketRing {
 public:
  // A filter expression that cannot be compiled fails with `filter_error` set.
  static SysError Open(const RingOptions& opts, PacketRing& out, FilterError& filter_error);
  // The interface the socket is bound to still exists (0: not bound to one, always true).
  // After the interface is unregistered the kernel unbinds the socket (ifindex -1).
  bool BoundInterfaceExists() const;

  int fd() const { return fd_.get(); }
  int ifindex() const { return ifindex_; }       // 0 when capturing every interface
  uint16_t linktype() const { return linktype_; }
  int loopback_ifindex() const { return lo_ifindex_; }
  uint32_t block_count() const { return block_count_; }
  tpacket_block_desc* block(uint32_t i) const {
    return reinterpret_cast<tpacket_block_desc*>(ring_.data() + static_cast<size_t>(i) * block_size_);
  }
  // Replaces the filter with one that accepts nothing (stop: no new packets enter the ring).
  SysError AttachDropAll();
  // Adds the kernel's counters since the last read to `stats`.
  SysError ReadStats(KernelStats& stats);
  // The name of an interface of the ring's netns (for pcapng interface blocks).
  std::string InterfaceName(int ifindex) const;

 private:
  UniqueFd fd_;
  MappedRegion ring_;
  int ifindex_ = 0;
  int lo_ifindex_ = -1;
  uint16_t linktype_ = kLinktypeEthernet;
  uint32_t block_size_ = 0;
  uint32_t block_count_ = 0;
};

// One packet as the writers see it.
struct PacketView {
  const uint8_t* head;   // the first `head_len` bytes of the frame
  uint32_t head_len;
  const uint8_t* tag;    // optional 4 bytes inserted after `head` (a VLAN tag), or nullptr
  const uint8_t* tail;   // the rest
  uint32_t tail_len;
  uint32_t caplen;       // head_len + (tag ? 4 : 0) + tail_len
  uint32_t origlen;
  uint32_t sec;
  uint32_t nsec;
  int ifindex;
};

struct InterfaceInfo {
  std::string name;
  uint16_t linktype;
  uint32_t snaplen;
  std::string filter;  // the expression, when one was given (pcapng if_filter)
};

struct FinalStats {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  bool have_kernel = false;  // counters of the socket apply to this interface
  KernelStats kernel;
  uint64_t delivered = 0;
};

enum class FileFormat { kNone = 0, kPcap = 1, kPcapng = 2 };

// Buffered pcap/pcapng writer over an fd. Writes whole buffers with write(2); errors are sticky.
class CaptureFile {
 public:
  CaptureFile() = default;
  CaptureFile(const CaptureFile&) = delete;
  CaptureFile& operator=(const CaptureFile&) = delete;

  // Creates the file with mode 0600 and writes its header. Never follows a symbolic link;
  // `overwrite` replaces an existing regular file only (truncated once nothing else can fail).
  SysError Create(const std::string& path, FileFormat format, bool overwrite, size_t buffer_size);
  // pcap: the file's single link type; pcapng: one Interface Description Block per interface.
  // Returns the pcapng interface id.
  uint32_t AddInterface(int ifindex, const InterfaceInfo& info);
  bool HasInterface(int ifindex) const;
  void Write(const PacketView& p);
  // pcapng: one Interface Statistics Block per interface. Then flush.
  void WriteStatistics(const std::vector<std::pair<int, FinalStats>>& per_interface);
  SysError Flush();
  SysError Close();  // flush and close; the path stays
  void Discard();    // close and unlink (setup failed: nothing left behind)
  const SysError& error() const { return error_; }
  bool open() const { return fd_.valid(); }
  uint64_t bytes_written() const { return written_ + pos_; }
  FileFormat format() const { return format_; }

 private:
  uint8_t* Reserve(size_t n);
  void Put(const void* data, size_t n);
  void PutU16(uint16_t v) { Put(&v, 2); }
  void PutU32(uint32_t v) { Put(&v, 4); }
  void PutU64(uint64_t v) { Put(&v, 8); }
  void PutOption(uint16_t code, const void* data, uint16_t len);
  void ReleaseBuffer();

  UniqueFd fd_;
  std::string path_;
  bool created_ = false;  // this capture made the file (so a failed start may remove it)
  FileFormat format_ = FileFormat::kNone;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  uint64_t written_ = 0;
  SysError error_;
  std::vector<std::pair<int, uint32_t>> interfaces_;  // ifindex -> pcapng interface id
  uint32_t snaplen_ = 0;
};

void InitPcapCompile(Napi::Env env, Napi::Object target);
void InitCaptureSession(Napi::Env env, Napi::Object target);

}  // namespace vmnet
