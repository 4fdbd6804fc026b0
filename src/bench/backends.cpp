#include "bench/backends.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace webaccel::bench {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kBackends = {"cpu", "wasm", "webgpu"};
const std::vector<std::string> kHosts = {"native", "node", "chromium", "firefox"};

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

std::string BackendSpec::name() const {
  if (host == "native") return backend;
  return backend + "@" + host;
}

std::vector<std::string> known_backend_specs() {
  return {"cpu", "wasm@node", "wasm@chromium", "wasm@firefox", "webgpu", "webgpu@chromium", "webgpu@firefox"};
}

BackendSpec parse_backend_spec(const std::string& text) {
  const size_t at = text.find('@');
  BackendSpec s;
  s.backend = text.substr(0, at);
  const bool host_given = at != std::string::npos;
  if (host_given) s.host = text.substr(at + 1);
  else if (s.backend == "wasm") s.host = "node";
  const std::string known = " (known: " + join(known_backend_specs()) + ")";
  if (s.backend == "webnn") {
    fail(ErrorKind::kUsage, "--backends: backend 'webnn' is not available: no WebNN backend exists, and Debian's Chromium "
                            "has no WebNN implementation to run it on");
  }
  if (std::find(kBackends.begin(), kBackends.end(), s.backend) == kBackends.end()) {
    fail(ErrorKind::kUsage, "--backends: unknown backend '" + text + "'" + known);
  }
  if (std::find(kHosts.begin(), kHosts.end(), s.host) == kHosts.end()) {
    fail(ErrorKind::kUsage, "--backends: '" + text + "': unknown host '" + s.host + "' (hosts: " + join(kHosts) + ")");
  }
  if (s.backend == "cpu" && s.host != "native") {
    fail(ErrorKind::kUsage, "--backends: '" + text + "': the CPU outside the native binary is the wasm build: use wasm@" + s.host);
  }
  if (s.backend == "wasm" && s.host == "native") {
    fail(ErrorKind::kUsage, "--backends: '" + text + "': the wasm build runs in node, chromium or firefox (wasm@node, ...)");
  }
  if (s.backend == "webgpu" && s.host == "node") {
    fail(ErrorKind::kUsage, "--backends: '" + text + "': WebGPU is measured natively (webgpu) and in browsers "
                            "(webgpu@chromium, webgpu@firefox); the Node host runs the wasm build only");
  }
  return s;
}

std::string project_root() {
  if (const char* env = std::getenv("WEBACCEL_ROOT"); env && *env) return env;
  std::error_code ec;
  for (fs::path start : {fs::read_symlink("/proc/self/exe", ec).parent_path(), fs::current_path(ec)}) {
    for (fs::path p = start; !p.empty(); p = p.parent_path()) {
      if (fs::exists(p / "bench" / "cells" / "run_cell.mjs")) return p.string();
      if (p == p.root_path()) break;
    }
  }
  fail(ErrorKind::kUsage, "cannot find the webaccel source tree (bench/cells/run_cell.mjs) above the binary or the "
                          "working directory: set WEBACCEL_ROOT");
}

void require_host_available(const BackendSpec& spec) {
  if (spec.host == "native") return;
  const std::string what = "--backends " + spec.name() + ": ";
  if (!on_path("node")) fail(ErrorKind::kUsage, what + "node is not on PATH (apt-get install nodejs)");
  const fs::path root = project_root();
  if (!fs::exists(root / "web" / "dist" / "webaccel-st.js") || !fs::exists(root / "web" / "dist" / "webaccel-mt.js")) {
    fail(ErrorKind::kUsage, what + (root / "web" / "dist").string() + " has no wasm build (run make wasm)");
  }
  if (spec.host == "chromium") {
    if (::access("/usr/bin/chromium", X_OK) != 0) fail(ErrorKind::kUsage, what + "/usr/bin/chromium is missing (apt-get install chromium)");
    if (!fs::exists(root / "tests" / "browser" / "node_modules" / "playwright-core")) {
      fail(ErrorKind::kUsage, what + "playwright-core is not installed (npm ci in tests/browser)");
    }
  }
  if (spec.host == "firefox" && !on_path("firefox-esr")) {
    fail(ErrorKind::kUsage, what + "firefox-esr is not on PATH (apt-get install firefox-esr)");
  }
}

}  // namespace webaccel::bench
