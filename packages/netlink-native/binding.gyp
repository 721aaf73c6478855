{
  "targets": [
    {
      "target_name": "vmnet_netlink",
      "sources": ["native/common.cc", "native/background_priority.cc", "native/netns.cc", "native/socket.cc", "native/tap.cc", "native/capture/pcap_compile.cc", "native/capture/packet_ring.cc", "native/capture/capture_file.cc", "native/capture/session.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-include", "<(module_root_dir)/native/glibc_compat.h", "-std=c++17", "-fno-exceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "cflags_cc!": ["-fno-rtti"],
      "ldflags": ["-Wl,-Bsymbolic-functions"]
    }
  ]
}
