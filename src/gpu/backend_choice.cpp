#include "gpu/backend_choice.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace webaccel::gpu {

Backend parse_backend(const std::string& name) {
  if (name == "cpu") return Backend::kCpu;
  if (name == "webgpu") return Backend::kWebGpu;
  if (name == "auto") return Backend::kAuto;
  fail(ErrorKind::kUsage, "--backend: '" + name + "' is not one of cpu, webgpu, auto");
}

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::kCpu: return "cpu";
    case Backend::kWebGpu: return "webgpu";
    case Backend::kAuto: return "auto";
  }
  return "?";
}

namespace {

std::filesystem::path timings_path() {
  if (const char* p = std::getenv("WEBACCEL_TIMINGS")) return p;
  if (const char* x = std::getenv("XDG_CACHE_HOME")) return std::filesystem::path(x) / "webaccel" / "backend-timings.json";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/tmp") / ".cache" / "webaccel" / "backend-timings.json";
}

nlohmann::json read_all() {
  std::ifstream in(timings_path());
  if (!in) return nlohmann::json::object();
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json::object();  // a damaged cache is re-measured, not fatal
}

}  // namespace

std::optional<StepTimings> load_timings(const std::string& key) {
  const auto j = read_all();
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return std::nullopt;
  const double cpu = it->value("cpu_ms", 0.0), gpu = it->value("gpu_ms", 0.0);
  if (!(cpu > 0) || !(gpu > 0)) return std::nullopt;
  return StepTimings{cpu, gpu};
}

void save_timings(const std::string& key, const StepTimings& t) {
  std::error_code ec;
  const auto path = timings_path();
  std::filesystem::create_directories(path.parent_path(), ec);
  auto j = read_all();
  j[key] = {{"cpu_ms", t.cpu_ms}, {"gpu_ms", t.gpu_ms}};
  const auto tmp = path.string() + ".partial";
  {
    std::ofstream out(tmp);
    if (!out) return;
    out << j.dump(1) << "\n";
    if (!out) return;
  }
  std::filesystem::rename(tmp, path, ec);  // whole file or nothing: concurrent runs never see half a file
}

}  // namespace webaccel::gpu
