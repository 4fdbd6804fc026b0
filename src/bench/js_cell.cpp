#include "bench/js_cell.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "bench/cell_inputs.h"
#include "bench/runner.h"
#include "bench/subprocess.h"
#include "bench/timings.h"
#include "core/error.h"

namespace webaccel::bench {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "webaccel-js-cell-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) fail(ErrorKind::kIo, "cannot create a temporary folder: " + std::string(std::strerror(errno)));
    path_ = tmpl;
  }
  ~TempDir() { std::error_code ec; fs::remove_all(path_, ec); }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// The URL path of a model file under the served source tree.
std::string model_url(const fs::path& root, const std::string& weights_path) {
  // Lexically, not canonically: a models/ link inside the tree is served like a folder.
  const fs::path full = fs::absolute(weights_path).lexically_normal();
  const fs::path rel = full.lexically_relative(fs::absolute(root).lexically_normal());
  if (rel.empty() || *rel.begin() == "..") {
    fail(ErrorKind::kUsage, weights_path + ": browsers load models over HTTP from the source tree (" + root.string() +
                                "), and this file is outside it");
  }
  return "/" + rel.generic_string() + (fs::is_directory(full) ? "/" : "");
}

std::optional<double> num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || !it->is_number() ? std::nullopt : std::optional<double>(it->get<double>());
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || !it->is_string() ? std::string() : it->get<std::string>();
}

}  // namespace

void run_js_cell(const Cell& c, Measurement& m) {
  const CellInput in = cell_input(c.model.arch, c.weights_path, c.sequence_length);
  if (!in.text_problem.empty()) fail(ErrorKind::kInternal, in.text_problem);
  const fs::path root = project_root();
  nlohmann::json spec = {
      {"host", c.backend.host}, {"backend", c.backend.backend}, {"threads", c.threads}, {"arch", c.model.arch},
      {"modelPath", fs::absolute(c.weights_path).string()}, {"text", in.text},
      {"nCtx", c.sequence_length + c.decode_tokens + 8}, {"decodeTokens", c.decode_tokens}, {"batch", c.batch_size},
      {"iterations", c.iterations}, {"timeoutMs", c.timeout.count() * 1000}};
  if (c.backend.in_browser()) spec["modelUrl"] = model_url(root, c.weights_path);
  TempDir tmp;
  std::ofstream(tmp / "spec.json") << spec.dump();
  const std::vector<std::string> argv = {"node", "--no-experimental-fetch", (root / "bench" / "cells" / "run_cell.mjs").string(),
                                         (tmp / "spec.json").string(), (tmp / "result.json").string()};
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  // The driver's own time limit is the cell's; this one only catches a driver that hangs.
  const ProcessResult r = run_process(argv, c.timeout + std::chrono::seconds(60), {"WEBACCEL_BIN=" + self});
  const std::string what = c.label() + " (bench/cells/run_cell.mjs)";
  if (r.timed_out) fail(ErrorKind::kIo, what + ": no result within " + std::to_string(c.timeout.count()) + " s (--cell-timeout)");
  if (r.exit_code != 0) {
    fail(ErrorKind::kIo, what + " exited " + std::to_string(r.exit_code) + ": " + r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0));
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(std::ifstream(tmp / "result.json"));
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kFormat, what + ": unreadable result: " + e.what());
  }
  m.cell_command = str(j, "command");
  if (m.cell_command.empty()) m.cell_command = quoted_command({"node", "--no-experimental-fetch", "bench/cells/run_cell.mjs", "SPEC", "RESULT"}) + " (web/node.mjs)";
  m.adapter = str(j, "adapter");
  m.host_version = str(j, "hostVersion");
  if (c.backend.in_browser() && !m.host_version.empty()) m.browser_version = m.host_version;
  if (str(j, "status") == "skipped") {
    m.cell_status = "skipped";
    m.skip_reason = str(j, "reason");
    if (m.skip_reason.empty()) m.skip_reason = "the driver gave no reason";
    return;
  }
  if (str(j, "status") != "measured") fail(ErrorKind::kFormat, what + ": status '" + str(j, "status") + "'");
  if (static_cast<int>(num(j, "promptTokens").value_or(0)) != c.sequence_length) {
    fail(ErrorKind::kInternal, what + ": the model saw " + std::to_string(static_cast<int>(num(j, "promptTokens").value_or(0))) + " input tokens, not " +
                                   std::to_string(c.sequence_length));
  }
  if (static_cast<int>(num(j, "threads").value_or(0)) != c.threads) {
    fail(ErrorKind::kInternal, what + ": ran with " + std::to_string(static_cast<int>(num(j, "threads").value_or(0))) + " threads, not " + std::to_string(c.threads) +
                                   (c.backend.in_browser() ? " (is the page cross-origin isolated?)" : ""));
  }
  m.runtime_variant = str(j, "variant");
  m.loading_time_ms = num(j, "loadMs");
  Timings t;
  t.first_ms = num(j, "firstMs").value_or(0);
  t.iteration_ms = j.value("iterationMs", std::vector<double>{});
  t.prefill_ms = num(j, "prefillMs").value_or(0);
  t.decode_ms = num(j, "decodeMs").value_or(0);
  if (t.iteration_ms.size() != static_cast<size_t>(c.iterations)) fail(ErrorKind::kFormat, what + ": wrong number of timed iterations");
  fill_stats(c, t, m);
  // Node runs the wasm in the driver's own process: its peak RSS is the host's. Browsers say what they expose.
  m.memory_usage_mb = c.backend.host == "node" ? r.peak_rss_mb : num(j, "memoryMb");
  if (j.contains("memoryNote")) m.cell_command += "; memory: " + str(j, "memoryNote");
}

}  // namespace webaccel::bench
