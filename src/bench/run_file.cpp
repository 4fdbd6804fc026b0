#include "bench/run_file.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace webaccel::bench {

bool json_output_enabled() {
  const char* v = std::getenv("DEPRECATE_JSON_OUTPUT");
  if (!v || !*v || std::string(v) == "0") return true;
  if (std::string(v) == "1") return false;
  fail(ErrorKind::kUsage, std::string("DEPRECATE_JSON_OUTPUT='") + v + "': expected 0 or 1");
}

void write_run_file(const std::string& path, const RunFile& f) {
  nlohmann::json j;
  j["format"] = "webaccel-bench-run";
  j["format_version"] = 1;
  j["run"] = to_json(f.run);
  j["measurements"] = nlohmann::json::array();
  for (const auto& m : f.measurements) j["measurements"].push_back(to_json(m));
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) fail(ErrorKind::kIo, parent.string() + ": cannot create directory: " + ec.message());
  write_output_file(path, j.dump(1) + "\n");
}

void write_output_file(const std::string& path, const std::string& text) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  const bool special = !ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status);
  const std::string target = special ? path : path + ".partial";
  {
    std::ofstream out(target, std::ios::trunc);
    if (!out || !(out << text) || !out.flush()) fail(ErrorKind::kIo, target + ": write failed");
  }
  if (!special && std::rename(target.c_str(), path.c_str()) != 0) fail(ErrorKind::kIo, path + ": cannot rename from " + target);
}

RunFile read_run_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::kIo, path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    fail(ErrorKind::kFormat, path + ": not JSON: " + e.what());
  }
  if (!j.is_object() || j.value("format", "") != "webaccel-bench-run") {
    fail(ErrorKind::kFormat, path + ": field 'format' is not \"webaccel-bench-run\" (write it with bench/bench_native.py --json or webaccel bench)");
  }
  if (j.value("format_version", 0) != 1) fail(ErrorKind::kFormat, path + ": field 'format_version': only version 1 is known");
  if (!j.contains("run")) fail(ErrorKind::kFormat, path + ": field 'run' is missing");
  if (!j.contains("measurements") || !j["measurements"].is_array()) fail(ErrorKind::kFormat, path + ": field 'measurements' is missing or not an array");
  RunFile f;
  f.run = run_from_json(j["run"], path + ": run");
  for (size_t i = 0; i < j["measurements"].size(); ++i) {
    f.measurements.push_back(measurement_from_json(j["measurements"][i], path + ": measurements[" + std::to_string(i) + "]"));
  }
  return f;
}

}  // namespace webaccel::bench
