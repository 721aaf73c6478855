// The capture socket: AF_PACKET in any netns with a TPACKET_V3 receive ring.
//
// Order matters so that no packet slips past the filter: the socket is made with protocol 0
// (it receives nothing yet), a filter that accepts nothing is attached, the ring is set up and
// the socket bound; only then is the real filter swapped in, and anything the ring holds from
// before (nothing, normally) is handed back to the kernel unread.
#include <arpa/inet.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "capture.h"

namespace vmnet {
namespace {

SysError SetFilter(int fd, const std::vector<sock_filter>& insns) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(insns.size());
  prog.filter = const_cast<sock_filter*>(insns.data());
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
    return SysError::from("setsockopt", "SO_ATTACH_FILTER");
  }
  return {};
}

const std::vector<sock_filter>& DropAll() {
  static const std::vector<sock_filter> prog = {BPF_STMT(BPF_RET | BPF_K, 0)};
  return prog;
}

int IfIndex(int fd, const std::string& name, SysError& err) {
  ifreq ifr{};
  if (name.size() >= IFNAMSIZ) {
    err = SysError{ENODEV, "ioctl", name};
    return -1;
  }
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
    err = SysError::from("ioctl", name);
    return -1;
  }
  return ifr.ifr_ifindex;
}

}  // namespace

SysError PacketRing::Open(const RingOptions& o, PacketRing& out, FilterError& filter_error) {
  // The ring geometry below is computed in 32 bits: bounded inputs keep it from wrapping (a
  // snap length near 2^31 once made the block size 0 and the loop doubling it endless).
  if (o.snaplen == 0 || o.snaplen > kMaxSnaplen) return SysError{EINVAL, "capture", "snaplen"};
  if (o.block_count == 0 || o.block_size < 4096 || o.block_size > (1u << 30) ||
      (o.block_size & (o.block_size - 1)) != 0 || static_cast<uint64_t>(o.block_size) * o.block_count > (1ull << 32)) {
    return SysError{EINVAL, "capture", "ring geometry"};
  }
  PacketRing r;
  {
    NetnsEntry entry(o.netns);
    if (!entry.ok()) return entry.error();
    r.fd_.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  }
  if (!r.fd_.valid()) return SysError::from("socket", "AF_PACKET");
  int fd = r.fd_.get();

  SysError err;
  if (!o.iface.empty()) {
    r.ifindex_ = IfIndex(fd, o.iface, err);
    if (err.failed()) return err;
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, o.iface.data(), o.iface.size());
    if (::ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) return SysError::from("ioctl", o.iface);
    switch (ifr.ifr_hwaddr.sa_family) {
      case ARPHRD_ETHER:
      case ARPHRD_LOOPBACK:
        r.linktype_ = kLinktypeEthernet;
        break;
      case ARPHRD_NONE:  // tun: raw IP packets
        r.linktype_ = kLinktypeRaw;
        break;
      default:
        return SysError{EOPNOTSUPP, "capture", o.iface + " (link type " +
                                                   std::to_string(ifr.ifr_hwaddr.sa_family) +
                                                   " is neither Ethernet nor raw IP)"};
    }
    if (ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK) r.lo_ifindex_ = r.ifindex_;
  } else {
    SysError ignored;
    r.lo_ifindex_ = IfIndex(fd, "lo", ignored);
  }

  std::vector<sock_filter> prog = o.filter;
  if (!o.filter_expression.empty()) {
    // For the framing this ring really delivers, and with libpcap's live-Linux code generation.
    // Every interface at once ("any"): each keeps its own framing (Ethernet for what the ring
    // is labelled), so the loopback device, always present, stands in for them.
    prog.clear();
    NetnsEntry entry(o.netns);
    if (!entry.ok()) return entry.error();
    filter_error = CompileLiveFilter(o.iface.empty() ? std::string("lo") : o.iface,
                                     r.linktype_ == kLinktypeRaw ? kDltRaw : kDltEthernet, o.snaplen,
                                     o.filter_optimize, o.filter_netmask, o.filter_expression, prog);
    if (filter_error.failed()) {
      if (filter_error.kind == FilterError::Kind::kSystem) return filter_error.sys;
      return SysError{EINVAL, "pcap_compile", o.filter_expression};
    }
  }

  err = SetFilter(fd, DropAll());
  if (err.failed()) return err;

  int version = TPACKET_V3;
  if (::setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) != 0) {
    return SysError::from("setsockopt", "PACKET_VERSION");
  }
  if (o.ignore_outgoing) {
    int one = 1;
    if (::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0) {
      return SysError::from("setsockopt", "PACKET_IGNORE_OUTGOING");
    }
  }
  // A block must hold at least one whole packet of the snap length with its headers.
  uint32_t block_size = o.block_size;
  uint32_t need = o.snaplen + 256;
  while (block_size < need) block_size <<= 1;
  const uint32_t frame_size = 1 << 11;
  tpacket_req3 req{};
  req.tp_block_size = block_size;
  req.tp_block_nr = o.block_count;
  req.tp_frame_size = frame_size;
  req.tp_frame_nr = static_cast<unsigned int>((static_cast<uint64_t>(block_size) * o.block_count) / frame_size);
  req.tp_retire_blk_tov = o.retire_ms;
  req.tp_sizeof_priv = 0;
  req.tp_feature_req_word = 0;
  if (::setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0) {
    return SysError::from("setsockopt", "PACKET_RX_RING");
  }
  size_t size = static_cast<size_t>(block_size) * o.block_count;
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) return SysError::from("mmap", "packet ring");
  r.ring_ = MappedRegion(addr, size);
  r.block_size_ = block_size;
  r.block_count_ = o.block_count;

  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = r.ifindex_;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
    return SysError::from("bind", o.iface.empty() ? "all interfaces" : o.iface);
  }
  int soerr = 0;
  socklen_t len = sizeof(soerr);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0 && soerr != ENETDOWN) {
    return SysError{soerr, "bind", o.iface};
  }

  if (o.promisc) {
    packet_mreq mr{};
    mr.mr_ifindex = r.ifindex_;
    mr.mr_type = PACKET_MR_PROMISC;
    if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0) {
      return SysError::from("setsockopt", "PACKET_ADD_MEMBERSHIP");
    }
  }

  // The real filter; with no filter given, one that accepts everything cut to the snap length,
  // so the kernel copies no more than will be written.
  if (prog.empty()) prog.push_back(BPF_STMT(BPF_RET | BPF_K, o.snaplen));
  err = SetFilter(fd, prog);
  if (err.failed()) return err;
  // Drain: hand back anything that reached the ring before the real filter was in place.
  for (uint32_t i = 0; i < r.block_count_; i++) {
    tpacket_block_desc* b = r.block(i);
    if (__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) {
      __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    }
  }
  KernelStats discard;
  r.ReadStats(discard);  // start the counters at zero
  out = std::move(r);
  return {};
}

bool PacketRing::BoundInterfaceExists() const {
  if (ifindex_ == 0 || !fd_.valid()) return true;
  sockaddr_ll sll{};
  socklen_t len = sizeof(sll);
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sll), &len) != 0) return true;
  return sll.sll_ifindex == ifindex_;
}

SysError PacketRing::AttachDropAll() { return SetFilter(fd_.get(), DropAll()); }

SysError PacketRing::ReadStats(KernelStats& stats) {
  tpacket_stats_v3 st{};
  socklen_t len = sizeof(st);
  if (::getsockopt(fd_.get(), SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
    return SysError::from("getsockopt", "PACKET_STATISTICS");
  }
  stats.packets += st.tp_packets;
  stats.drops += st.tp_drops;
  stats.freezes += st.tp_freeze_q_cnt;
  return {};
}

std::string PacketRing::InterfaceName(int ifindex) const {
  ifreq ifr{};
  ifr.ifr_ifindex = ifindex;
  if (::ioctl(fd_.get(), SIOCGIFNAME, &ifr) != 0) return "if" + std::to_string(ifindex);
  return std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
}

}  // namespace vmnet
