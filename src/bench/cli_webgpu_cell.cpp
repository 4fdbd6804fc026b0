#include "bench/cli_webgpu_cell.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "bench/cell_inputs.h"
#include "bench/runner.h"
#include "bench/subprocess.h"
#include "bench/timings.h"
#include "core/error.h"

namespace webaccel::bench {
namespace {

namespace fs = std::filesystem;

// One process's report: the inference it timed, the backend that ran, the whole process's wall time.
struct Sequence {
  double inference_ms = 0, prefill_ms = 0, decode_ms = 0, precompile_ms = 0;
  double wall_ms = 0;
  std::optional<double> peak_mb;
  std::string backend, notes;
};

class TempFile {
 public:
  explicit TempFile(const char* suffix) {
    std::string tmpl = (fs::temp_directory_path() / "webaccel-cell-XXXXXX").string() + suffix;
    const int fd = ::mkstemps(tmpl.data(), static_cast<int>(std::strlen(suffix)));
    if (fd < 0) fail(ErrorKind::kIo, "cannot create a temporary file in " + fs::temp_directory_path().string());
    ::close(fd);
    path_ = tmpl;
  }
  ~TempFile() { std::error_code ec; fs::remove(path_, ec); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string self_binary() { return fs::read_symlink("/proc/self/exe").string(); }

nlohmann::json read_json(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kFormat, what + ": its JSON output " + path + " is unreadable: " + e.what());
  }
}

ProcessResult run_cli(const std::vector<std::string>& argv, const Cell& c, const std::string& what) {
  ProcessResult r = run_process(argv, c.timeout);
  if (r.timed_out) fail(ErrorKind::kIo, what + ": no result within " + std::to_string(c.timeout.count()) + " s (--cell-timeout)");
  if (r.exit_code != 0) {
    fail(ErrorKind::kIo, what + " exited " + std::to_string(r.exit_code) + ": " + r.err.substr(r.err.size() > 1500 ? r.err.size() - 1500 : 0));
  }
  return r;
}

std::string join_notes(const nlohmann::json& notes) {
  std::string s;
  if (notes.is_array()) for (const auto& n : notes) s += (s.empty() ? "" : "; ") + n.get<std::string>();
  return s;
}

Sequence generate_once(const Cell& c, const CellInput& in, std::vector<std::string>& argv_out) {
  TempFile json(".json");
  std::string ids;
  for (int32_t id : in.ids) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  // -n decode+1: the first token comes from the prompt's logits, then `decode` single-token evals,
  // as the native runner times them.
  std::vector<std::string> argv = {self_binary(), "generate", "-m", c.weights_path, "--token-ids", ids,
                                   "-n", std::to_string(c.decode_tokens + 1), "--ignore-eos", "--temperature", "0", "-q",
                                   "-c", std::to_string(c.sequence_length + c.decode_tokens + 1),
                                   "-t", std::to_string(c.threads), "--backend", "webgpu", "--json", json.path()};
  const std::string what = "webaccel generate --backend webgpu (" + c.label() + ")";
  const ProcessResult r = run_cli(argv, c, what);
  const nlohmann::json j = read_json(json.path(), what);
  argv[5] = "<" + std::to_string(in.ids.size()) + " token ids>";
  argv.back() = "OUT.json";
  argv_out = argv;
  Sequence s;
  s.prefill_ms = j.value("prompt_seconds", 0.0) * 1000;
  s.decode_ms = j.value("decode_seconds", 0.0) * 1000;
  s.inference_ms = s.prefill_ms + s.decode_ms;
  s.precompile_ms = j.value("precompile_seconds", 0.0) * 1000;
  s.wall_ms = r.wall_ms;
  s.peak_mb = r.peak_rss_mb;
  s.backend = j.value("backend", "");
  s.notes = join_notes(j.value("backend_notes", nlohmann::json::array()));
  if (j.value("prompt_tokens", nlohmann::json::array()).size() != in.ids.size()) {
    fail(ErrorKind::kInternal, what + ": evaluated a different prompt than the " + std::to_string(in.ids.size()) + " token ids given");
  }
  return s;
}

Sequence embed_once(const Cell& c, const CellInput& in, std::vector<std::string>& argv_out) {
  TempFile texts(".txt"), json(".json");
  std::ofstream(texts.path()) << in.text << "\n";
  std::vector<std::string> argv = {self_binary(), "embed", "-m", c.weights_path, "-f", texts.path(),
                                   "-t", std::to_string(c.threads), "--backend", "webgpu", "-o", json.path()};
  const std::string what = "webaccel embed --backend webgpu (" + c.label() + ")";
  const ProcessResult r = run_cli(argv, c, what);
  std::smatch match;
  static const std::regex line(R"(embedded (\d+) texts \((\d+) tokens\) in ([0-9.]+) s)");
  if (!std::regex_search(r.err, match, line)) fail(ErrorKind::kFormat, what + ": no 'embedded ... in ... s' line on stderr");
  if (std::stoi(match[2]) != c.sequence_length) {
    fail(ErrorKind::kInternal, what + ": embedded " + match[2].str() + " tokens, expected " + std::to_string(c.sequence_length));
  }
  const nlohmann::json j = read_json(json.path(), what);
  argv[5] = "<one " + std::to_string(c.sequence_length) + "-token sentence>";
  argv.back() = "OUT.json";
  argv_out = argv;
  Sequence s;
  s.inference_ms = std::stod(match[3]) * 1000;
  s.wall_ms = r.wall_ms;
  s.peak_mb = r.peak_rss_mb;
  s.backend = j.value("backend", "");
  // embed prints its notes (the reason for a fallback) on stderr as "[webaccel] ..." lines.
  std::istringstream err(r.err);
  for (std::string l; std::getline(err, l);) {
    if (l.rfind("[webaccel] ", 0) == 0 && l.find("embedded ") == std::string::npos) s.notes += (s.notes.empty() ? "" : "; ") + l.substr(11);
  }
  return s;
}

// "webgpu (SwiftShader Device, vulkan, wgpu-native)" -> "SwiftShader Device, vulkan, wgpu-native"
std::string adapter_of(const std::string& backend) {
  const size_t open = backend.find('('), close = backend.rfind(')');
  return open == std::string::npos || close == std::string::npos ? backend : backend.substr(open + 1, close - open - 1);
}

// A binary built before the WebGPU CLI has no --backend on generate/embed.
bool cli_has_backend_flag(const std::string& subcommand) {
  const ProcessResult r = run_process({self_binary(), subcommand, "--help"}, std::chrono::seconds(30));
  return r.exit_code == 0 && r.out.find("--backend") != std::string::npos;
}

}  // namespace

void run_cli_webgpu_cell(const Cell& c, Measurement& m) {
  const std::string subcommand = c.model.arch == "llama" ? "generate" : "embed";
  if (!cli_has_backend_flag(subcommand)) {
    m.cell_status = "skipped";
    m.skip_reason = "this webaccel's `" + subcommand + "` has no --backend flag (built without the WebGPU CLI)";
    m.cell_command = quoted_command({self_binary(), subcommand, "--help"});
    return;
  }
  const CellInput in = cell_input(c.model.arch, c.weights_path, c.sequence_length);
  if (c.model.arch != "llama" && !in.text_problem.empty()) fail(ErrorKind::kInternal, in.text_problem);
  Timings t;
  std::vector<std::string> argv;
  for (int i = 0; i <= c.iterations; ++i) {
    double inference_ms = 0;
    for (int b = 0; b < c.batch_size; ++b) {
      const Sequence s = c.model.arch == "llama" ? generate_once(c, in, argv) : embed_once(c, in, argv);
      if (s.backend.rfind("webgpu", 0) != 0) {
        // The CLI fell back to the CPU: that is not a WebGPU figure.
        m.cell_status = "skipped";
        m.skip_reason = "the CLI ran on '" + (s.backend.empty() ? std::string("an unreported backend") : s.backend) + "'" +
                        (s.notes.empty() ? std::string() : ": " + s.notes);
        m.cell_command = quoted_command(argv);
        return;
      }
      if (i == 0 && b == 0) {
        m.loading_time_ms = std::max(0.0, s.wall_ms - s.inference_ms);  // process start, file, device, upload, pipelines
        if (s.precompile_ms > 0) m.shader_compilation_ms = s.precompile_ms;
        m.adapter = adapter_of(s.backend);
        m.runtime_variant = s.backend;
      }
      if (s.peak_mb) m.memory_usage_mb = std::max(m.memory_usage_mb.value_or(0.0), *s.peak_mb);
      inference_ms += s.inference_ms;
      if (i > 0) { t.prefill_ms += s.prefill_ms; t.decode_ms += s.decode_ms; }
    }
    if (i == 0) t.first_ms = inference_ms;
    else t.iteration_ms.push_back(inference_ms);
  }
  fill_stats(c, t, m);
  m.cell_command = quoted_command(argv) + "  (one process per sequence; load = its wall time minus the inference it reports)";
}

}  // namespace webaccel::bench
