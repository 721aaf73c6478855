#include "background_priority.h"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vmnet {
namespace {

constexpr int kCapSysNice = 23;
// The initial user namespace's inode number is fixed (PROC_USER_INIT_INO); capabilities held in
// any other user namespace do not let a thread raise its priority.
constexpr const char* kInitUserNs = "user:[4026531837]";

bool HasCapSysNiceInInitNs() {
  char link[64] = {0};
  ssize_t n = ::readlink("/proc/self/ns/user", link, sizeof(link) - 1);
  if (n <= 0 || std::strcmp(link, kInitUserNs) != 0) return false;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[kCapSysNice / 32].effective & (1u << (kCapSysNice % 32))) != 0;
}

// RLIMIT_NICE lets an unprivileged thread go back to a nice value n when 20 - n <= the limit.
bool RlimitAllowsNice(int nice) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NICE, &lim) != 0) return false;
  return lim.rlim_cur == RLIM_INFINITY || static_cast<rlim_t>(20 - nice) <= lim.rlim_cur;
}

std::atomic<int> g_capable{-1};  // -1 unknown, 0 no, 1 yes
// Set if a restore ever fails anyway: from then on nothing is lowered.
std::atomic<bool> g_disabled{false};

bool Capable() {
  int c = g_capable.load(std::memory_order_relaxed);
  if (c < 0) {
    c = HasCapSysNiceInInitNs() ? 1 : 0;
    g_capable.store(c, std::memory_order_relaxed);
  }
  return c == 1;
}

std::atomic<int> g_nice{-1};  // -1: not read yet

}  // namespace

int BackgroundNice() {
  int n = g_nice.load(std::memory_order_relaxed);
  if (n < 0) {
    n = kBackgroundNice;
    const char* env = std::getenv("VMNET_POOL_NICE");
    if (env != nullptr && *env != '\0') {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (end != nullptr && *end == '\0' && v >= 0 && v <= 19) n = static_cast<int>(v);
    }
    g_nice.store(n, std::memory_order_relaxed);
  }
  return n;
}

bool BackgroundPriorityEnabled() {
  return BackgroundNice() > 0 && Capable() && !g_disabled.load(std::memory_order_relaxed);
}

BackgroundPriority::BackgroundPriority() {
  int steps = BackgroundNice();
  if (steps == 0 || g_disabled.load(std::memory_order_relaxed)) return;
  tid_ = static_cast<int>(::syscall(SYS_gettid));
  errno = 0;
  int current = ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid_));
  if (current == -1 && errno != 0) return;
  if (!Capable() && !RlimitAllowsNice(current)) return;
  int target = current + steps > 19 ? 19 : current + steps;
  if (target <= current) return;
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid_), target) != 0) return;
  original_ = current;
  lowered_ = true;
}

BackgroundPriority::~BackgroundPriority() {
  if (!lowered_) return;
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid_), original_) != 0) g_disabled.store(true);
}

}  // namespace vmnet
