#include "gpu/wgpu_api.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace webaccel::gpu {
namespace {

constexpr const char* kLibName = "libwgpu_native.so";

std::vector<std::string> candidate_paths() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("WEBACCEL_WGPU_LIB"); env && *env) return {env};
#ifdef WEBACCEL_WGPU_SOURCE_LIB
  paths.push_back(WEBACCEL_WGPU_SOURCE_LIB);
#endif
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto dir = exe.parent_path();
    paths.push_back((dir / kLibName).string());
    paths.push_back((dir / ".." / "deps" / "wgpu" / "lib" / kLibName).string());        // build/<preset>/webaccel
    paths.push_back((dir / ".." / ".." / "deps" / "wgpu" / "lib" / kLibName).string());  // build/<preset>/tests/...
  }
  paths.push_back(kLibName);  // the system's search path (LD_LIBRARY_PATH, ld.so.cache)
  return paths;
}

WgpuApi* load(std::string* why) {
  std::string tried;
  void* handle = nullptr;
  std::string loaded;
  for (const auto& path : candidate_paths()) {
    const bool is_file = path.find('/') != std::string::npos;
    if (is_file && !std::filesystem::exists(path)) {
      tried += (tried.empty() ? "" : "; ") + path + ": no such file";
      continue;
    }
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) {
      loaded = path;
      break;
    }
    tried += (tried.empty() ? "" : "; ") + std::string(dlerror());
  }
  if (!handle) {
    *why = "cannot load libwgpu_native.so (run scripts/fetch-wgpu or set WEBACCEL_WGPU_LIB): " + tried;
    return nullptr;
  }
  auto* api = new WgpuApi();  // lives for the process, as the library does
  api->path = loaded;
#define WEBACCEL_WGPU_RESOLVE(name)                                                 \
  api->name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name));            \
  if (!api->name) {                                                                  \
    *why = loaded + ": missing symbol " #name " (wgpu-native too old or too new?)";  \
    delete api;                                                                      \
    return nullptr;                                                                  \
  }
  WEBACCEL_WGPU_FUNCTIONS(WEBACCEL_WGPU_RESOLVE)
#undef WEBACCEL_WGPU_RESOLVE
  return api;
}

}  // namespace

const WgpuApi* load_wgpu(std::string* why) {
  static std::once_flag once;
  static WgpuApi* api = nullptr;
  static std::string error;
  std::call_once(once, [] { api = load(&error); });
  if (!api && why) *why = error;
  return api;
}

}  // namespace webaccel::gpu
