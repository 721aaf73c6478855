// Loads an addon binary with dlopen (lazy binding: the napi_* symbols it imports from node are
// never called) and prints the N-API version it was built for. Cross-compiled for arm64 and run
// under qemu-user, it proves the arm64 prebuild is a loadable module for that architecture.
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char** argv) {
  void* h = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
  if (!h) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
  int (*version)(void) = (int (*)(void))dlsym(h, "node_api_module_get_api_version_v1");
  void* reg = dlsym(h, "napi_register_module_v1");
  printf("{\"napiVersion\": %d, \"registers\": %s}\n", version ? version() : -1, reg ? "true" : "false");
  return 0;
}
