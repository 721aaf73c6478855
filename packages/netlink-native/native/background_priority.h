// Kernel work done for JS on libuv's pool (a netlink sendmsg of a thousand requests, a TAP's
// register/unregister, a netns create/delete) runs in the kernel for the pool thread's whole time
// slice and competes with the event-loop thread for the same two or so cores. While a pool thread
// does that work it runs at a lower CPU priority (nice +kBackgroundNice for that thread only), so
// the scheduler gives the core to the event loop whenever it is ready to run: the kernel work
// still gets every core the loop does not use, so a batch finishes as fast on an idle machine.
#pragma once

namespace vmnet {

// How much lower (nice steps) pool threads run while doing kernel work: 10 unless the
// environment variable VMNET_POOL_NICE (read once) says 0-19; 0 turns it off.
constexpr int kBackgroundNice = 10;
int BackgroundNice();

// RAII: lowers the calling thread's priority (by BackgroundNice()) for the scope and restores it after. Only done when
// the process may raise a thread's priority back (CAP_SYS_NICE in the initial user namespace, or
// an RLIMIT_NICE that allows it), decided once: a pool thread must never stay lowered, since
// file-system work and other addons share it.
class BackgroundPriority {
 public:
  BackgroundPriority();
  ~BackgroundPriority();
  BackgroundPriority(const BackgroundPriority&) = delete;
  BackgroundPriority& operator=(const BackgroundPriority&) = delete;

 private:
  int tid_ = 0;
  int original_ = 0;
  bool lowered_ = false;
};

// Whether BackgroundPriority lowers threads in this process (for tests and diagnostics).
bool BackgroundPriorityEnabled();

}  // namespace vmnet
