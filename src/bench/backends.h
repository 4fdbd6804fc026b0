// Where a benchmark cell runs: a backend (cpu, wasm, webgpu) on a host (native, node, chromium,
// firefox), written backend@host on the command line ("wasm" alone is wasm@node, "webgpu" alone
// is the native CLI's WebGPU device).
#pragma once

#include <string>
#include <vector>

namespace webaccel::bench {

struct BackendSpec {
  std::string backend = "cpu";   // cpu | wasm | webgpu
  std::string host = "native";   // native | node | chromium | firefox
  std::string name() const;      // "cpu", "wasm@node", "webgpu", "webgpu@chromium"
  bool in_browser() const { return host == "chromium" || host == "firefox"; }
};

// Error(kUsage) naming the item and listing what is known, or why a combination cannot run.
BackendSpec parse_backend_spec(const std::string& text);
std::vector<std::string> known_backend_specs();

// The source tree holding web/dist and bench/cells: $WEBACCEL_ROOT, else the first folder above
// the binary or the working directory that has bench/cells/run_cell.mjs. Error(kUsage) if none.
std::string project_root();

// Error(kUsage) when something the host needs is missing here (node, the wasm build, the browser,
// playwright-core), naming it and how to get it. WebGPU itself is probed when the cell runs.
void require_host_available(const BackendSpec& spec);

}  // namespace webaccel::bench
