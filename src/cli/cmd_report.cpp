// `webaccel report`: the guide's reports (web_platform, ultra_low_precision, browser_comparison,
// shader_compilation, memory_efficiency) from the benchmark database as HTML, Markdown, CSV, JSON or SVG.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "bench/report.h"
#include "bench/report_render.h"
#include "bench/run_file.h"
#include "bench/store.h"
#include "cli/commands.h"
#include "core/error.h"

namespace webaccel::cli {
namespace {

struct ReportOptions {
  std::string report = "web_platform";
  std::string format = "html";
  std::string output;
  std::string db;
};

void check_choice(const std::string& flag, const std::string& value, const std::vector<std::string>& known) {
  if (std::find(known.begin(), known.end(), value) != known.end()) return;
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  fail(ErrorKind::kUsage, flag + ": unknown value '" + value + "' (known: " + list + ")");
}

void run_report(const ReportOptions& o) {
  // Flags are checked before the database is opened, so a typo never waits on a lock.
  check_choice("--report", o.report, bench::report_names());
  check_choice("--format", o.format, bench::report_formats());
  if (o.format == "chart" && o.output.size() >= 4 && o.output.substr(o.output.size() - 4) == ".png") {
    fail(ErrorKind::kUsage, "--output " + o.output + ": --format chart writes SVG; name the file .svg");
  }
  bench::BenchStore store(bench::resolve_db_location(o.db), bench::OpenMode::kReadOnly);
  const std::string text = bench::render_report(bench::build_report(store, o.report), o.format);
  if (o.output.empty() || o.output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  bench::write_output_file(o.output, text);
  std::fprintf(stderr, "[report] %s (%s) written to %s\n", o.report.c_str(), o.format.c_str(), o.output.c_str());
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", "Write a report from the benchmark database (HTML with SVG charts, Markdown, CSV, JSON, SVG)");
  cmd->add_option("--report", o->report, "web_platform | ultra_low_precision | browser_comparison | shader_compilation | memory_efficiency")->capture_default_str();
  cmd->add_option("--format", o->format, "html | markdown | csv | json | chart (SVG)")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "output file (default: stdout)");
  cmd->add_option("--db,--db-path", o->db, "database file or postgresql:// URL (default: $BENCHMARK_DB_PATH, else ./benchmark_db.duckdb)");
  cmd->callback([o] { run_report(*o); });
}

}  // namespace webaccel::cli
