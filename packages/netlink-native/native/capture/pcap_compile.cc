// pcap-filter expressions compiled by the system's libpcap, loaded at run time with dlopen(), so
// neither building nor loading the addon needs libpcap: only compiling an expression does. Raw
// BPF needs no libpcap at all. The few prototypes and structures used are declared here (they are
// libpcap's stable ABI, unchanged since 0.8).
#include <dlfcn.h>

#include <cstdint>
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

struct Libpcap {
  void* handle = nullptr;
  std::string loaded_from;
  OpenDeadFn open_dead = nullptr;
  CompileFn compile = nullptr;
  FreeCodeFn freecode = nullptr;
  GetErrFn geterr = nullptr;
  CloseFn close = nullptr;
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
  int snaplen = info[2].As<Napi::Number>().Int32Value();
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
      std::string msg = lib->geterr(p);
      // libpcap sometimes ends its message with a newline; errors are one line.
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.pop_back();
      for (char& c : msg) {
        if (c == '\n') c = ' ';
      }
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

}  // namespace

void InitPcapCompile(Napi::Env env, Napi::Object target) {
  target.Set("compileFilter", Napi::Function::New(env, CompileFilter));
  target.Set("libpcapLoadedFrom", Napi::Function::New(env, LibpcapLoadedFrom));
}

}  // namespace vmnet
