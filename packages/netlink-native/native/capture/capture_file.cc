// pcap and pcapng writers. Both write host byte order (readers detect it from the magic), pcap
// with microsecond timestamps (what every reader takes), pcapng with nanoseconds (if_tsresol 9).
// Records go into one large buffer that is written with write(2) when full, so the ring thread
// makes a system call per megabyte, not per packet.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstring>

#include "capture.h"

namespace vmnet {
namespace {

constexpr uint32_t kPcapMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kShbType = 0x0A0D0D0A;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint32_t kIdbType = 1;
constexpr uint32_t kIsbType = 5;
constexpr uint32_t kEpbType = 6;
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kShbHardware = 2;
constexpr uint16_t kShbOs = 3;
constexpr uint16_t kShbUserAppl = 4;
constexpr uint16_t kIfName = 2;
constexpr uint16_t kIfTsresol = 9;
constexpr uint16_t kIfFilter = 11;
constexpr uint16_t kIsbStartTime = 2;
constexpr uint16_t kIsbEndTime = 3;
constexpr uint16_t kIsbFilterAccept = 6;
constexpr uint16_t kIsbOsDrop = 7;
constexpr uint16_t kIsbUsrDeliv = 8;

size_t Pad4(size_t n) { return (n + 3) & ~static_cast<size_t>(3); }
// Bytes an option takes (empty options are left out).
size_t OptSize(size_t len) { return len == 0 ? 0 : 4 + Pad4(len); }

}  // namespace

SysError CaptureFile::Create(const std::string& path, FileFormat format, bool overwrite, size_t buffer_size) {
  // O_NOFOLLOW: a symbolic link at `path` is refused (ELOOP), dangling or not, so a capture never
  // writes through a link to somewhere else (e.g. a link planted in a shared directory).
  const int base = O_WRONLY | O_CLOEXEC | O_NOFOLLOW;
  fd_.reset(::open(path.c_str(), base | O_CREAT | O_EXCL, 0600));
  created_ = fd_.valid();
  if (!fd_.valid() && errno == EEXIST && overwrite) {
    // Replace: open what is there without truncating it yet, so that a failure below leaves
    // the user's file as it was (it is truncated only once it is known to be ours to write).
    fd_.reset(::open(path.c_str(), base | O_NONBLOCK));
    // ENXIO: a FIFO without a reader, a socket, a device without its driver: not regular files.
    if (!fd_.valid() && errno == ENXIO) return SysError{EINVAL, "open", path};
  }
  if (!fd_.valid()) return SysError::from("open", path);
  path_ = path;
  if (!created_) {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) {
      SysError err = SysError::from("fstat", path);
      fd_.reset();
      return err;
    }
    if (!S_ISREG(st.st_mode)) {  // a device or FIFO is not a capture file to truncate and chmod
      fd_.reset();
      return SysError{EINVAL, "open", path};
    }
    // Blocking writes again (O_NONBLOCK only kept open() from waiting on a FIFO).
    int fl = ::fcntl(fd_.get(), F_GETFL);
    if (fl >= 0) ::fcntl(fd_.get(), F_SETFL, fl & ~O_NONBLOCK);
  }
  // An overwritten file keeps its old mode; captures may hold secrets, so make it 0600 too.
  if (::fchmod(fd_.get(), 0600) != 0) {
    SysError err = SysError::from("fchmod", path);
    Discard();  // removes the file only if this call created it
    return err;
  }
  if (!created_ && ::ftruncate(fd_.get(), 0) != 0) {
    SysError err = SysError::from("ftruncate", path);
    Discard();
    return err;
  }
  format_ = format;
  buf_.resize(std::max<size_t>(buffer_size, 1 << 16));
  pos_ = 0;
  if (format_ == FileFormat::kPcapng) {
    utsname u{};
    std::string os;
    std::string hw;
    if (::uname(&u) == 0) {
      os = std::string(u.sysname) + " " + u.release;
      hw = u.machine;
    }
    static const char kAppl[] = "vmnet capture (@vmnet/netlink-native)";
    size_t opts = OptSize(sizeof(kAppl) - 1) + OptSize(os.size()) + OptSize(hw.size()) + 4;
    uint32_t total = static_cast<uint32_t>(28 + opts);
    PutU32(kShbType);
    PutU32(total);
    PutU32(kByteOrderMagic);
    PutU16(1);
    PutU16(0);
    PutU64(UINT64_MAX);  // section length unknown
    PutOption(kShbHardware, hw.data(), static_cast<uint16_t>(hw.size()));
    PutOption(kShbOs, os.data(), static_cast<uint16_t>(os.size()));
    PutOption(kShbUserAppl, kAppl, sizeof(kAppl) - 1);
    PutOption(kOptEnd, nullptr, 0);
    PutU32(total);
  }
  return {};
}

uint8_t* CaptureFile::Reserve(size_t n) {
  if (pos_ + n > buf_.size()) {
    Flush();
    if (n > buf_.size()) buf_.resize(n);
  }
  uint8_t* p = buf_.data() + pos_;
  pos_ += n;
  return p;
}

void CaptureFile::Put(const void* data, size_t n) {
  std::memcpy(Reserve(n), data, n);
}

void CaptureFile::PutOption(uint16_t code, const void* data, uint16_t len) {
  if (code != kOptEnd && len == 0) return;
  PutU16(code);
  PutU16(len);
  if (len == 0) return;
  uint8_t* p = Reserve(Pad4(len));
  std::memcpy(p, data, len);
  std::memset(p + len, 0, Pad4(len) - len);
}

bool CaptureFile::HasInterface(int ifindex) const {
  for (const auto& [ix, id] : interfaces_) {
    if (ix == ifindex) return true;
  }
  return false;
}

uint32_t CaptureFile::AddInterface(int ifindex, const InterfaceInfo& info) {
  for (const auto& [ix, id] : interfaces_) {
    if (ix == ifindex) return id;
  }
  uint32_t id = static_cast<uint32_t>(interfaces_.size());
  interfaces_.emplace_back(ifindex, id);
  if (format_ == FileFormat::kPcap) {
    if (id == 0) {  // one global header: the first interface decides the link type
      snaplen_ = info.snaplen;
      PutU32(kPcapMagicMicro);
      PutU16(2);
      PutU16(4);
      PutU32(0);  // thiszone
      PutU32(0);  // sigfigs
      PutU32(info.snaplen);
      PutU32(info.linktype);
    }
    return 0;
  }
  std::string filter;
  if (!info.filter.empty()) filter = std::string(1, '\0') + info.filter;  // 0: a libpcap expression
  uint8_t tsresol = 9;
  if (filter.size() > 65000) filter.resize(65000);
  size_t opts = OptSize(info.name.size()) + OptSize(1) + OptSize(filter.size()) + 4;
  uint32_t total = static_cast<uint32_t>(20 + opts);
  PutU32(kIdbType);
  PutU32(total);
  PutU16(info.linktype);
  PutU16(0);
  PutU32(info.snaplen);
  PutOption(kIfName, info.name.data(), static_cast<uint16_t>(info.name.size()));
  PutOption(kIfTsresol, &tsresol, 1);
  PutOption(kIfFilter, filter.data(), static_cast<uint16_t>(filter.size()));
  PutOption(kOptEnd, nullptr, 0);
  PutU32(total);
  return id;
}

void CaptureFile::Write(const PacketView& p) {
  if (format_ == FileFormat::kPcap) {
    uint8_t* out = Reserve(16 + p.caplen);
    uint32_t hdr[4] = {p.sec, p.nsec / 1000, p.caplen, p.origlen};
    std::memcpy(out, hdr, 16);
    out += 16;
    std::memcpy(out, p.head, p.head_len);
    out += p.head_len;
    if (p.tag) {
      std::memcpy(out, p.tag, 4);
      out += 4;
    }
    std::memcpy(out, p.tail, p.tail_len);
    return;
  }
  uint32_t id = 0;
  if (interfaces_.size() > 1) {
    for (const auto& [ix, iid] : interfaces_) {
      if (ix == p.ifindex) id = iid;
    }
  }
  size_t padded = Pad4(p.caplen);
  uint32_t total = static_cast<uint32_t>(32 + padded);
  uint8_t* out = Reserve(total);
  uint64_t ts = static_cast<uint64_t>(p.sec) * 1000000000ull + p.nsec;
  uint32_t hdr[7] = {kEpbType, total, id, static_cast<uint32_t>(ts >> 32), static_cast<uint32_t>(ts),
                     p.caplen, p.origlen};
  std::memcpy(out, hdr, 28);
  out += 28;
  std::memcpy(out, p.head, p.head_len);
  out += p.head_len;
  if (p.tag) {
    std::memcpy(out, p.tag, 4);
    out += 4;
  }
  std::memcpy(out, p.tail, p.tail_len);
  out += p.tail_len;
  std::memset(out, 0, padded - p.caplen);
  out += padded - p.caplen;
  std::memcpy(out, &total, 4);
}

void CaptureFile::WriteStatistics(const std::vector<std::pair<int, FinalStats>>& per_interface) {
  if (format_ != FileFormat::kPcapng) return;
  for (const auto& [ifindex, st] : per_interface) {
    if (!HasInterface(ifindex)) continue;
    uint32_t id = AddInterface(ifindex, InterfaceInfo{});
    size_t opts = 12 + 12 + 12 + 4 + (st.have_kernel ? 24 : 0);
    uint32_t total = static_cast<uint32_t>(24 + opts);
    PutU32(kIsbType);
    PutU32(total);
    PutU32(id);
    PutU32(static_cast<uint32_t>(st.end_ns >> 32));
    PutU32(static_cast<uint32_t>(st.end_ns));
    uint32_t start[2] = {static_cast<uint32_t>(st.start_ns >> 32), static_cast<uint32_t>(st.start_ns)};
    uint32_t end[2] = {static_cast<uint32_t>(st.end_ns >> 32), static_cast<uint32_t>(st.end_ns)};
    PutOption(kIsbStartTime, start, 8);
    PutOption(kIsbEndTime, end, 8);
    if (st.have_kernel) {
      PutOption(kIsbFilterAccept, &st.kernel.packets, 8);
      PutOption(kIsbOsDrop, &st.kernel.drops, 8);
    }
    PutOption(kIsbUsrDeliv, &st.delivered, 8);
    PutOption(kOptEnd, nullptr, 0);
    PutU32(total);
  }
}

SysError CaptureFile::Flush() {
  if (error_.failed()) {
    pos_ = 0;
    return error_;
  }
  size_t off = 0;
  while (off < pos_ && fd_.valid()) {
    ssize_t n = ::write(fd_.get(), buf_.data() + off, pos_ - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = SysError::from("write", path_);
      break;
    }
    off += static_cast<size_t>(n);
  }
  written_ += off;
  pos_ = 0;
  return error_;
}

SysError CaptureFile::Close() {
  Flush();
  if (fd_.valid() && ::close(fd_.release()) != 0 && !error_.failed()) error_ = SysError::from("close", path_);
  ReleaseBuffer();
  return error_;
}

void CaptureFile::Discard() {
  fd_.reset();
  // Only a file this capture created is removed: an existing file it was to overwrite stays.
  if (created_ && !path_.empty()) ::unlink(path_.c_str());
  created_ = false;
  ReleaseBuffer();
}

void CaptureFile::ReleaseBuffer() {
  // The buffer is megabytes: a closed file must not keep it for as long as its session lives.
  std::vector<uint8_t>().swap(buf_);
  pos_ = 0;
}

}  // namespace vmnet
