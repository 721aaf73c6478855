// pcap-filter expressions compiled by the system's libpcap, loaded at run time with dlopen(), so
// neither building nor loading the addon needs libpcap: only compiling an expression does. Raw
// BPF needs no libpcap at all. The few prototypes and structures used are declared here (they are
// libpcap's stable ABI, unchanged since 0.8).
#include <dlfcn.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../common.h"
#include "capture.h"

namespace vmnet {
namespace {

struct PcapInsn {  // struct bpf_insn, identical in layout to the kernel's struct sock_filter
  uint16_t code;
  uint8_t jt;
  uint8_t jf;
  uint32_t k;
};
struct PcapProgram {  // struct bpf_program
  unsigned int bf_len;
  PcapInsn* bf_insns;
};
static_assert(sizeof(PcapInsn) == sizeof(sock_filter), "bpf_insn and sock_filter differ");
using pcap_t = void;
using OpenDeadFn = pcap_t* (*)(int linktype, int snaplen);
using CompileFn = int (*)(pcap_t*, PcapProgram*, const char*, int optimize, uint32_t netmask);
using FreeCodeFn = void (*)(PcapProgram*);
using GetErrFn = char* (*)(pcap_t*);
using CloseFn = void (*)(pcap_t*);
using CreateFn = pcap_t* (*)(const char* device, char* errbuf);
using SetIntFn = int (*)(pcap_t*, int);
using ActivateFn = int (*)(pcap_t*);
using DatalinkFn = int (*)(pcap_t*);
using StatusToStrFn = const char* (*)(int);
constexpr size_t kPcapErrbufSize = 256;  // PCAP_ERRBUF_SIZE

struct Libpcap {
  void* handle = nullptr;
  std::string loaded_from;
  OpenDeadFn open_dead = nullptr;
  CompileFn compile = nullptr;
  FreeCodeFn freecode = nullptr;
  GetErrFn geterr = nullptr;
  CloseFn close = nullptr;
  // For live handles (present since libpcap 1.0; optional, checked where used).
  CreateFn create = nullptr;
  SetIntFn set_snaplen = nullptr;
  SetIntFn set_buffer_size = nullptr;
  ActivateFn activate = nullptr;
  DatalinkFn datalink = nullptr;
  StatusToStrFn statustostr = nullptr;
};

// Older libpcaps keep compiler state in globals; one compile at a time.
std::mutex g_libpcap_mutex;
Libpcap g_libpcap;  // loaded once, kept for the life of the process (as dlopen'd libraries are)

const char* const kDefaultLibraries[] = {"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"};

// Loads libpcap from the first name that works. Returns an empty string or a full explanation.
std::string LoadLibpcap(const std::vector<std::string>& names, Libpcap& out) {
  std::string tried;
  std::string last_error;
  for (const std::string& name : names) {
    void* h = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* e = ::dlerror();
      last_error = e ? e : "unknown dlopen error";
      tried += (tried.empty() ? "" : ", ") + name;
      continue;
    }
    Libpcap lib;
    lib.handle = h;
    lib.loaded_from = name;
    lib.open_dead = reinterpret_cast<OpenDeadFn>(::dlsym(h, "pcap_open_dead"));
    lib.compile = reinterpret_cast<CompileFn>(::dlsym(h, "pcap_compile"));
    lib.freecode = reinterpret_cast<FreeCodeFn>(::dlsym(h, "pcap_freecode"));
    lib.geterr = reinterpret_cast<GetErrFn>(::dlsym(h, "pcap_geterr"));
    lib.close = reinterpret_cast<CloseFn>(::dlsym(h, "pcap_close"));
    lib.create = reinterpret_cast<CreateFn>(::dlsym(h, "pcap_create"));
    lib.set_snaplen = reinterpret_cast<SetIntFn>(::dlsym(h, "pcap_set_snaplen"));
    lib.set_buffer_size = reinterpret_cast<SetIntFn>(::dlsym(h, "pcap_set_buffer_size"));
    lib.activate = reinterpret_cast<ActivateFn>(::dlsym(h, "pcap_activate"));
    lib.datalink = reinterpret_cast<DatalinkFn>(::dlsym(h, "pcap_datalink"));
    lib.statustostr = reinterpret_cast<StatusToStrFn>(::dlsym(h, "pcap_statustostr"));
    if (!lib.open_dead || !lib.compile || !lib.freecode || !lib.geterr || !lib.close) {
      ::dlclose(h);
      last_error = name + " lacks pcap_open_dead/pcap_compile";
      tried += (tried.empty() ? "" : ", ") + name;
      continue;
    }
    out = lib;
    return "";
  }
  return "libpcap is needed to compile filter expressions but could not be loaded (tried " + tried +
         "; last error: " + last_error +
         "). Install it: apt-get install libpcap0.8 (Debian/Ubuntu), or pass raw BPF instead";
}

// libpcap's message on one line (it sometimes ends with a newline).
std::string OneLine(std::string msg) {
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.pop_back();
  for (char& c : msg) {
    if (c == '\n') c = ' ';
  }
  return msg;
}

// compileFilter(expression, dlt, snaplen, optimize, netmask, libraries?): Buffer of
// struct sock_filter (8 bytes each, host byte order).
Napi::Value CompileFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsBoolean() || !info[4].IsNumber()) {
    ThrowTypeError(env, "compileFilter(expression, dlt, snaplen, optimize, netmask, libraries?)");
    return env.Undefined();
  }
  std::string expression = info[0].As<Napi::String>();
  int dlt = info[1].As<Napi::Number>().Int32Value();
  // Read as a double: Int32Value() would wrap 2^40 to 0 and pass -1 through.
  double snaplen_value = info[2].As<Napi::Number>().DoubleValue();
  if (!(snaplen_value >= 1 && snaplen_value <= kMaxSnaplen) || snaplen_value != static_cast<int>(snaplen_value)) {
    Napi::RangeError e = Napi::RangeError::New(env, "snaplen must be an integer from 1 to " + std::to_string(kMaxSnaplen));
    e.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
    e.Set("field", Napi::String::New(env, "snaplen"));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int snaplen = static_cast<int>(snaplen_value);
  bool optimize = info[3].As<Napi::Boolean>().Value();
  uint32_t netmask = info[4].As<Napi::Number>().Uint32Value();
  bool custom_libraries = info.Length() > 5 && info[5].IsArray();

  std::lock_guard<std::mutex> lock(g_libpcap_mutex);
  Libpcap custom;
  Libpcap* lib = &g_libpcap;
  if (custom_libraries) {
    // Explicit names (tests, unusual installs): loaded for this call only when it is not the
    // already-loaded library.
    std::vector<std::string> names;
    Napi::Array arr = info[5].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) names.push_back(arr.Get(i).ToString().Utf8Value());
    std::string err = LoadLibpcap(names, custom);
    if (!err.empty()) {
      Napi::Error e = Napi::Error::New(env, err);
      e.Set("code", Napi::String::New(env, "ELIBPCAP"));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    lib = &custom;
  } else if (g_libpcap.handle == nullptr) {
    std::vector<std::string> names(std::begin(kDefaultLibraries), std::end(kDefaultLibraries));
    std::string err = LoadLibpcap(names, g_libpcap);
    if (!err.empty()) {
      Napi::Error e = Napi::Error::New(env, err);
      e.Set("code", Napi::String::New(env, "ELIBPCAP"));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }

  Napi::Value result = env.Undefined();
  pcap_t* p = lib->open_dead(dlt, snaplen);
  if (p == nullptr) {
    ThrowSysError(env, SysError{ENOMEM, "pcap_open_dead"});
  } else {
    PcapProgram prog{0, nullptr};
    if (lib->compile(p, &prog, expression.c_str(), optimize ? 1 : 0, netmask) != 0) {
      std::string msg = OneLine(lib->geterr(p));
      Napi::Error e = Napi::Error::New(env, msg);
      e.Set("code", Napi::String::New(env, "EFILTER"));
      e.ThrowAsJavaScriptException();
    } else {
      result = Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(prog.bf_insns),
                                           static_cast<size_t>(prog.bf_len) * sizeof(PcapInsn));
      lib->freecode(&prog);
    }
    lib->close(p);
  }
  if (custom_libraries && custom.handle) ::dlclose(custom.handle);
  return result;
}

// libpcapVersion(): which library file was loaded, or undefined before the first compile.
Napi::Value LibpcapLoadedFrom(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(g_libpcap_mutex);
  if (g_libpcap.handle == nullptr) return info.Env().Undefined();
  return Napi::String::New(info.Env(), g_libpcap.loaded_from);
}

// libpcap's activation statuses (pcap.h), as errno values.
SysError ActivationError(int status, const std::string& device, const std::string& detail) {
  constexpr int kNoSuchDevice = -5;  // PCAP_ERROR_NO_SUCH_DEVICE
  constexpr int kPermDenied = -8;    // PCAP_ERROR_PERM_DENIED
  constexpr int kIfaceNotUp = -9;    // PCAP_ERROR_IFACE_NOT_UP
  int errnum = status == kNoSuchDevice ? ENODEV : status == kPermDenied ? EPERM : status == kIfaceNotUp ? ENETDOWN : EIO;
  return SysError{errnum, "pcap_activate", device + (detail.empty() ? "" : ": " + detail)};
}

void CopyProgram(const PcapProgram& prog, std::vector<sock_filter>& out) {
  out.resize(prog.bf_len);
  if (prog.bf_len) std::memcpy(out.data(), prog.bf_insns, static_cast<size_t>(prog.bf_len) * sizeof(PcapInsn));
}

// Opens a live libpcap handle on `device` (in the calling thread's netns) and compiles there.
// `not_up` is set (and nothing else) when libpcap refuses because the interface is down.
FilterError CompileOnLiveHandle(Libpcap& lib, const std::string& device, int expected_dlt, uint32_t snaplen,
                                bool optimize, uint32_t netmask, const std::string& expression,
                                std::vector<sock_filter>& out, bool& not_up) {
  constexpr int kIfaceNotUp = -9;  // PCAP_ERROR_IFACE_NOT_UP
  FilterError result;
  not_up = false;
  char errbuf[kPcapErrbufSize] = {0};
  pcap_t* p = lib.create(device.c_str(), errbuf);
  if (p == nullptr) {
    result.kind = FilterError::Kind::kSystem;
    result.sys = SysError{ENODEV, "pcap_create", device + ": " + OneLine(errbuf)};
    return result;
  }
  lib.set_snaplen(p, static_cast<int>(snaplen));
  if (lib.set_buffer_size) lib.set_buffer_size(p, 1 << 16);  // it only lives to compile
  int status = lib.activate(p);
  if (status == kIfaceNotUp) {
    not_up = true;
    lib.close(p);
    return result;
  }
  if (status < 0) {
    result.kind = FilterError::Kind::kSystem;
    result.sys = ActivationError(status, device, OneLine(lib.geterr(p)));
    lib.close(p);
    return result;
  }
  int dlt = lib.datalink(p);
  if (dlt != expected_dlt) {
    result.kind = FilterError::Kind::kSystem;
    result.sys = SysError{EOPNOTSUPP, "pcap_datalink",
                          device + ": libpcap sees link type " + std::to_string(dlt) + ", the capture " +
                              std::to_string(expected_dlt)};
    lib.close(p);
    return result;
  }
  PcapProgram prog{0, nullptr};
  if (lib.compile(p, &prog, expression.c_str(), optimize ? 1 : 0, netmask) != 0) {
    result.kind = FilterError::Kind::kExpression;
    result.message = OneLine(lib.geterr(p));
  } else {
    CopyProgram(prog, out);
    lib.freecode(&prog);
  }
  lib.close(p);
  return result;
}

// Compiles on "lo" of a new, empty netns that only this thread is in, then returns the thread
// to the netns it was in (the scratch netns goes away with its last user).
FilterError CompileInScratchNetns(Libpcap& lib, int expected_dlt, uint32_t snaplen, bool optimize, uint32_t netmask,
                                  const std::string& expression, std::vector<sock_filter>& out) {
  FilterError result;
  UniqueFd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original.valid()) {
    result.kind = FilterError::Kind::kSystem;
    result.sys = SysError::from("open", "/proc/thread-self/ns/net");
    return result;
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    result.kind = FilterError::Kind::kSystem;
    result.sys = SysError::from("unshare", "CLONE_NEWNET (to compile a filter for an interface that is down)");
    return result;
  }
  {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, "lo", 3);
    if (!s.valid() || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0 ||
        (ifr.ifr_flags |= IFF_UP, ::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0)) {
      result.kind = FilterError::Kind::kSystem;
      result.sys = SysError::from("ioctl", "lo (scratch netns)");
    }
  }
  if (!result.failed()) {
    bool not_up = false;
    result = CompileOnLiveHandle(lib, "lo", expected_dlt, snaplen, optimize, netmask, expression, out, not_up);
    if (not_up) {
      result.kind = FilterError::Kind::kSystem;
      result.sys = SysError{ENETDOWN, "pcap_activate", "lo (scratch netns)"};
    }
  }
  if (::setns(original.get(), CLONE_NEWNET) != 0) {
    // Staying in the scratch netns would misdirect every later socket of this pool thread.
    std::fprintf(stderr, "vmnet: cannot return to the original network namespace: %s\n", strerror(errno));
    std::abort();
  }
  return result;
}

}  // namespace

FilterError CompileLiveFilter(const std::string& device, int expected_dlt, uint32_t snaplen, bool optimize,
                              uint32_t netmask, const std::string& expression, std::vector<sock_filter>& out) {
  FilterError result;
  std::lock_guard<std::mutex> lock(g_libpcap_mutex);
  if (g_libpcap.handle == nullptr) {
    std::vector<std::string> names(std::begin(kDefaultLibraries), std::end(kDefaultLibraries));
    std::string err = LoadLibpcap(names, g_libpcap);
    if (!err.empty()) {
      result.kind = FilterError::Kind::kLibpcap;
      result.message = err;
      return result;
    }
  }
  Libpcap& lib = g_libpcap;
  if (!lib.create || !lib.set_snaplen || !lib.activate || !lib.datalink) {
    result.kind = FilterError::Kind::kLibpcap;
    result.message = lib.loaded_from + " lacks pcap_create/pcap_activate (libpcap 1.0 or newer is needed)";
    return result;
  }
  bool not_up = false;
  result = CompileOnLiveHandle(lib, device, expected_dlt, snaplen, optimize, netmask, expression, out, not_up);
  if (!not_up) return result;
  // libpcap will not open a live handle on an interface that is down, but a capture may well
  // start before its link comes up (a tap before its VM). The code generated does not depend on
  // which interface of the link type it is: for Ethernet, compile on the loopback device of a
  // scratch netns made for the purpose (up there); raw IP has no VLAN or live-only code at all.
  if (expected_dlt == kDltRaw) {
    result = FilterError{};
    pcap_t* p = lib.open_dead(kDltRaw, static_cast<int>(snaplen));
    if (p == nullptr) {
      result.kind = FilterError::Kind::kSystem;
      result.sys = SysError{ENOMEM, "pcap_open_dead"};
      return result;
    }
    PcapProgram prog{0, nullptr};
    if (lib.compile(p, &prog, expression.c_str(), optimize ? 1 : 0, netmask) != 0) {
      result.kind = FilterError::Kind::kExpression;
      result.message = OneLine(lib.geterr(p));
    } else {
      CopyProgram(prog, out);
      lib.freecode(&prog);
    }
    lib.close(p);
    return result;
  }
  return CompileInScratchNetns(lib, expected_dlt, snaplen, optimize, netmask, expression, out);
}

void InitPcapCompile(Napi::Env env, Napi::Object target) {
  target.Set("compileFilter", Napi::Function::New(env, CompileFilter));
  target.Set("libpcapLoadedFrom", Napi::Function::New(env, LibpcapLoadedFrom));
}

}  // namespace vmnet
