// kernel_source: the embedded WGSL, or a replacement file from $WEBACCEL_WGSL_DIR (native builds),
// so kernel variants can be timed on a GPU machine without rebuilding the engine.
#include "gpu/kernel_sources.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>

namespace webaccel::gpu {

std::string_view kernel_source(std::string_view family) {
#ifndef __EMSCRIPTEN__
  static const char* dir = std::getenv("WEBACCEL_WGSL_DIR");
  if (dir && *dir) {
    static std::mutex mutex;
    static std::map<std::string, std::string, std::less<>> replaced;  // read once; views stay valid
    std::lock_guard lock(mutex);
    if (auto it = replaced.find(family); it != replaced.end()) return it->second;
    std::ifstream in(std::string(dir) + "/" + std::string(family) + ".wgsl", std::ios::binary);
    if (in) {
      std::ostringstream text;
      text << in.rdbuf();
      return replaced.emplace(std::string(family), text.str()).first->second;
    }
  }
#endif
  return embedded_kernel_source(family);
}

}  // namespace webaccel::gpu
