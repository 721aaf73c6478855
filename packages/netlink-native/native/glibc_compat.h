// Force-included into every translation unit (binding.gyp: -include). Keeps the addon loadable
// on older glibc (Debian 11 / Ubuntu 20.04: 2.31; RHEL 8: 2.28), which prebuilt binaries made on
// a newer system would otherwise refuse ("version `GLIBC_2.34' not found"):
//  - dlopen & co and pthread_once moved into libc in 2.34 under a new version; the old versions
//    are still there, so references are bound to those (.symver).
//  - stat()/fstat() became real symbols (stat64@GLIBC_2.33); older glibc has none by that name,
//    so those two calls go straight to the kernel (same struct stat layout on x86_64/aarch64).
// Check: objdump -T build/Release/*.node | grep -E 'GLIBC_2\.(29|3[0-9])'  (prints nothing)
#pragma once

#include <features.h>  // defines __GLIBC__ (nothing else is included yet)

#if defined(__linux__) && defined(__GLIBC__)
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define VMNET_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define VMNET_GLIBC_BASE "GLIBC_2.17"
#endif

#ifdef VMNET_GLIBC_BASE
__asm__(".symver dlopen,dlopen@" VMNET_GLIBC_BASE);
__asm__(".symver dlsym,dlsym@" VMNET_GLIBC_BASE);
__asm__(".symver dlclose,dlclose@" VMNET_GLIBC_BASE);
__asm__(".symver dlerror,dlerror@" VMNET_GLIBC_BASE);
__asm__(".symver pthread_once,pthread_once@" VMNET_GLIBC_BASE);
#endif

static inline int vmnet_stat(const char* path, struct stat* st) {
  return static_cast<int>(::syscall(SYS_newfstatat, AT_FDCWD, path, st, 0));
}
static inline int vmnet_fstat(int fd, struct stat* st) { return static_cast<int>(::syscall(SYS_fstat, fd, st)); }
#define stat(path, st) vmnet_stat((path), (st))
#define fstat(fd, st) vmnet_fstat((fd), (st))
#endif
