// What the kernel takes, per request, to run a netlink socket's requests inside sendto(), learned
// from the socket's own sends and kept per kind of request: the message type and its create /
// replace / dump flags. Creating a veth costs hundreds of microseconds, adding an address or
// asking for one link a few: one estimate for both would, after a run of cheap requests, put a
// whole group of creations into one sendto(). A kind never seen has no estimate (0).
//
// An estimate can still be too low: requests the kernel refuses at once (a create whose name
// exists) cost it far less than those it carries out. So how many requests of a kind may share a
// call grows like a slow start: it doubles after each call that stayed within the budget and is
// halved after one that took more than twice the budget (a call a little over it is the
// estimates' ordinary spread, corrected by the estimates alone). A wrong estimate then costs one
// call of at most twice the requests of the last call that went well, not a call of 64.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace vmnet {

class SendCosts {
 public:
  // The kernel's work one sendto() may carry, by the estimates.
  static constexpr uint64_t kBudgetNs = 250000;
  // The most requests in one sendto().
  static constexpr size_t kMostPerCall = 64;

  // The kind of the netlink message whose header starts at `header` (16 bytes at least).
  static uint32_t KindOf(const uint8_t* header) {
    const uint32_t type = header[4] | (header[5] << 8);
    const uint32_t flags = header[6] | (header[7] << 8);
    // NLM_F_REPLACE/EXCL/CREATE/APPEND on a new-object request, ROOT/MATCH (a dump) on a get.
    return (type << 16) | (flags & 0x0f00);
  }

  struct Estimate {
    uint64_t ns;  // per request; 0 if the kind is unknown
    size_t most;  // how many requests one sendto() with this kind in it may carry for now
  };

  Estimate Get(uint32_t kind) {
    std::lock_guard<std::mutex> lock(mu_);
    const Entry* e = Find(kind);
    return e ? Estimate{e->ns, e->most} : Estimate{0, 1};
  }

  // A sendto() of `count` requests of the kinds `kinds` took `took_ns`, where `predicted_ns` was
  // expected from their estimates (0: the one request's kind was unknown). Each kind's estimate
  // moves a quarter of the way to what this send says of it, so one slow send (a lock held
  // elsewhere) does not hold the next ones back for long.
  void Learn(const uint32_t* kinds, size_t count, uint64_t predicted_ns, uint64_t took_ns) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool within = took_ns <= kBudgetNs;
    const bool far_over = took_ns > 2 * kBudgetNs;
    for (size_t i = 0; i < count; i++) {
      bool seen = false;
      for (size_t j = 0; j < i && !seen; j++) seen = kinds[j] == kinds[i];
      if (seen) continue;
      Entry* e = Find(kinds[i]);
      if (!e || predicted_ns == 0) {
        // Unknown until now: what this one request took.
        e = Fresh(kinds[i]);
        e->ns = std::max<uint64_t>(took_ns, 1);
      } else {
        // This kind's share of the send, scaled by how far the whole prediction was off.
        const double said =
            static_cast<double>(e->ns) * static_cast<double>(took_ns) / static_cast<double>(predicted_ns);
        e->ns = static_cast<uint64_t>((3.0 * static_cast<double>(e->ns) + said) / 4.0) + 1;
      }
      if (within) e->most = std::min(kMostPerCall, std::max(e->most, 2 * count));
      else if (far_over) e->most = std::max<size_t>(1, count / 2);
      e->used = ++clock_;
    }
  }

 private:
  struct Entry {
    uint32_t kind = 0;
    uint64_t ns = 0;
    size_t most = 1;
    uint64_t used = 0;  // 0: empty
  };

  Entry* Find(uint32_t kind) {
    for (Entry& e : entries_)
      if (e.used != 0 && e.kind == kind) return &e;
    return nullptr;
  }

  // The entry for a kind seen for the first time: a free one, or the one used longest ago.
  Entry* Fresh(uint32_t kind) {
    Entry* e = Find(kind);
    if (!e) {
      e = &entries_[0];
      for (Entry& c : entries_)
        if (c.used < e->used) e = &c;
      e->kind = kind;
    }
    e->most = 1;
    return e;
  }

  std::mutex mu_;
  std::array<Entry, 16> entries_{};
  uint64_t clock_ = 0;
};

}  // namespace vmnet
