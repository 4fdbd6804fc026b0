// `webaccel bench`: models x backends x precisions x batch and sequence sizes, each cell measured
// with the engine and stored (DuckDB file or PostgreSQL) with the run that made it.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>

#include "bench/backends.h"
#include "bench/host_facts.h"
#include "bench/models.h"
#include "bench/run_file.h"
#include "bench/runner.h"
#include "bench/store.h"
#include "bench/variants.h"
#include "cli/commands.h"
#include "core/error.h"

namespace webaccel::cli {
namespace {

struct BenchOptions {
  std::string models = "all";
  std::string backends = "cpu";
  std::string precisions = "stored";
  std::vector<int> batch_sizes{1};
  std::vector<int> seq_lens{32};
  int decode_tokens = 16;
  int iterations = 3;
  std::vector<int> threads{static_cast<int>(default_threads())};
  int cell_timeout_s = 600;
  std::string db;
  std::string json_dir = "benchmark_results";
  std::string models_dir;
  std::vector<std::string> imports;
  std::string package_dir = "benchmark_results/packages";
  std::string eval_text = bench::default_eval_text_path();
  size_t eval_windows = 4;
  bool progress = true;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::vector<bench::Cell> plan_cells(const BenchOptions& o) {
  std::vector<std::string> models = split_list(o.models);
  if (models.empty()) fail(ErrorKind::kUsage, "--models: empty list");
  if (models == std::vector<std::string>{"all"}) models = bench::known_model_names();
  std::vector<bench::BackendSpec> backends;
  for (const auto& b : split_list(o.backends)) backends.push_back(bench::parse_backend_spec(b));
  if (backends.empty()) fail(ErrorKind::kUsage, "--backends: empty list");
  const std::vector<std::string> precisions = split_list(o.precisions);
  if (precisions.empty()) fail(ErrorKind::kUsage, "--precisions: empty list");

  std::vector<bench::Cell> cells;
  for (const auto& name : models) {
    const bench::ModelSpec model = bench::find_model(name, o.models_dir);
    const bench::PrecisionInfo stored = bench::inspect_precision(model);
    for (const auto& p : precisions) {
      const bench::PrecisionRequest request = bench::parse_precision(p, model, stored);
      for (const auto& backend : backends) {
        if (request.bits && backend.host != "native") {
          fail(ErrorKind::kUsage, "--precisions " + p + " with --backends " + backend.name() +
                                      ": the JS API loads GGUF and safetensors files, not webaccel packages (measure it on cpu or webgpu)");
        }
        for (int batch : o.batch_sizes) {
          for (int seq : o.seq_lens) {
            for (int threads : o.threads) {
              bench::Cell c;
              c.model = model;
              c.backend = backend;
              c.request = request;
              c.precision = stored;
              if (request.bits) c.precision.name = request.name;
              c.weights_path = model.path;
              c.batch_size = batch;
              c.sequence_length = seq;
              c.decode_tokens = model.arch == "llama" ? o.decode_tokens : 0;
              c.iterations = o.iterations;
              c.threads = threads;
              c.timeout = std::chrono::seconds(o.cell_timeout_s);
              cells.push_back(c);
            }
          }
        }
      }
    }
  }
  for (const auto& b : backends) bench::require_host_available(b);  // after the cheaper checks of every flag
  return cells;
}

class Progress {
 public:
  Progress(size_t total, bool enabled) : total_(total), enabled_(enabled), tty_(::isatty(STDERR_FILENO)) {}
  void start(size_t i, const std::string& label) {
    if (enabled_) draw(i, label + " ...", false);
  }
  void done(size_t i, const std::string& label, const bench::Measurement& m) {
    if (m.cell_status == "skipped") {
      // Always shown: a backend that could not run must never look like a pass.
      if (tty_ && enabled_) std::fputc('\n', stderr);
      std::fprintf(stderr, "[bench] %zu/%zu %s  SKIPPED: %s\n", i + 1, total_, label.c_str(), m.skip_reason.c_str());
      return;
    }
    if (!enabled_) return;
    char figures[96];
    std::snprintf(figures, sizeof figures, "  %.1f ms/inference, %.1f tokens/s", m.average_inference_time_ms.value_or(0),
                  m.tokens_per_second.value_or(0));
    draw(i + 1, label + figures, true);
  }

 private:
  void draw(size_t n, const std::string& text, bool final_for_cell) {
    const size_t width = 24, filled = total_ ? n * width / total_ : width;
    const std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
    // On a terminal the bar redraws in place; in a log each finished cell is one line.
    if (tty_) std::fprintf(stderr, "\r\033[K[bench] [%s] %zu/%zu %s%s", bar.c_str(), n, total_, text.c_str(),
                           final_for_cell && n == total_ ? "\n" : "");
    else if (final_for_cell) std::fprintf(stderr, "[bench] [%s] %zu/%zu %s\n", bar.c_str(), n, total_, text.c_str());
    std::fflush(stderr);
  }
  size_t total_;
  bool enabled_, tty_;
};

void import_run_file(bench::BenchStore& store, const std::string& path) {
  bench::RunFile f = bench::read_run_file(path);
  if (store.has_run(f.run.run_id)) {
    std::fprintf(stderr, "[bench] %s: run %s is already in %s; nothing imported\n", path.c_str(), f.run.run_id.c_str(),
                 store.location().c_str());
    return;
  }
  const std::string final_status = f.run.status == "running" ? "incomplete" : f.run.status;
  // Imported as 'running' by this process, so an import killed halfway reads as incomplete too.
  bench::RunInfo run = f.run;
  const bench::RunInfo here = bench::describe_this_run();
  run.status = "running";
  run.source = "import:" + path;
  run.pid = here.pid;
  run.process_start = here.process_start;
  run.machine = run.machine.empty() ? here.machine : run.machine;
  store.begin_run(run);
  for (const auto& m : f.measurements) store.add_measurement(run.run_id, m);
  store.finish_run(run.run_id, final_status);
  std::fprintf(stderr, "[bench] imported %zu measurements of run %s from %s into %s\n", f.measurements.size(),
               run.run_id.c_str(), path.c_str(), store.location().c_str());
}

void run_bench(const BenchOptions& o) {
  const std::string location = bench::resolve_db_location(o.db);
  if (!o.imports.empty()) {
    bench::BenchStore store(location, bench::OpenMode::kReadWrite);
    for (const auto& path : o.imports) import_run_file(store, path);
    return;
  }
  const bool json = bench::json_output_enabled();
  const std::vector<bench::Cell> cells = plan_cells(o);  // every flag is checked before the database is touched

  bench::BenchStore store(location, bench::OpenMode::kReadWrite);
  bench::RunFile file;
  file.run = bench::describe_this_run();
  file.run.cells_planned = static_cast<int>(cells.size());
  const std::string json_path = o.json_dir + "/" + file.run.run_id + ".json";
  store.begin_run(file.run);
  if (json) bench::write_run_file(json_path, file);
  std::fprintf(stderr, "[bench] run %s: %zu cells -> %s\n", file.run.run_id.c_str(), cells.size(), location.c_str());

  Progress progress(cells.size(), o.progress);
  size_t skipped = 0;
  std::map<std::string, bench::Variant> variants;  // quantized and evaluated once, measured in every cell
  try {
    for (size_t i = 0; i < cells.size(); ++i) {
      bench::Cell cell = cells[i];
      const std::string label = cell.label();
      const std::string key = cell.model.name + "/" + cell.request.name;
      if (!variants.count(key)) {
        if (cell.request.bits) progress.start(i, label + " (quantizing and evaluating)");
        bench::Variant v = bench::prepare_variant(cell.model, cell.request, o.package_dir, cell.threads);
        bench::measure_quality(cell.model, v, o.eval_text, o.eval_windows, cell.threads);
        variants.emplace(key, std::move(v));
      }
      const bench::Variant& v = variants.at(key);
      cell.precision = v.info;
      cell.weights_path = v.path;
      progress.start(i, label);
      bench::Measurement m = bench::run_cell(cell);
      skipped += m.cell_status == "skipped";
      if (m.cell_status == "measured") m.quality = v.quality;
      store.add_measurement(file.run.run_id, m);
      file.measurements.push_back(m);
      if (json) bench::write_run_file(json_path, file);
      progress.done(i, label, m);
    }
  } catch (...) {
    // A cell that cannot run fails the run; the cells already stored stay, under a 'failed' run.
    store.finish_run(file.run.run_id, "failed");
    throw;
  }
  store.finish_run(file.run.run_id, "complete");
  file.run.status = "complete";
  file.run.finished_at = bench::utc_now();
  if (json) bench::write_run_file(json_path, file);
  std::fprintf(stderr, "[bench] run %s complete: %zu cells measured, %zu skipped (backend absent here, reason stored), in %s%s\n",
               file.run.run_id.c_str(), cells.size() - skipped, skipped, location.c_str(), json ? (" and " + json_path).c_str() : "");
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  const char* models_env = std::getenv("WEBACCEL_MODELS_DIR");
  o->models_dir = models_env && *models_env ? models_env : "models";
  auto* cmd = app.add_subcommand("bench", "Measure models x backends x precisions x sizes and store each cell in the benchmark database");
  cmd->add_option("--models", o->models, "comma-separated: smollm2, minilm, or all")->capture_default_str();
  cmd->add_option("--backends", o->backends,
                  "comma-separated: cpu (native, in-process), wasm@node (or wasm), wasm@chromium, wasm@firefox, "
                  "webgpu (the CLI's --backend webgpu), webgpu@chromium, webgpu@firefox; a WebGPU cell whose device is absent "
                  "is stored as skipped with the reason")->capture_default_str();
  cmd->add_option("--precisions", o->precisions, "comma-separated: stored (as the model file holds them), wq2, wq3, wq4, wq8 [_g32|_g64|_g128] (llama models: quantized, then measured)")->capture_default_str();
  cmd->add_option("--package-dir", o->package_dir, "where quantized variants are kept and reused")->capture_default_str();
  cmd->add_option("--eval-text", o->eval_text, "held-out text for the quality of quantized variants")->capture_default_str();
  cmd->add_option("--eval-windows", o->eval_windows, "128-token windows of it to evaluate")->capture_default_str()->check(CLI::Range(1, 10000));
  cmd->add_option("--batch-sizes", o->batch_sizes, "sequences per inference")->delimiter(',')->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--seq-lens", o->seq_lens, "input tokens per sequence")->delimiter(',')->capture_default_str()->check(CLI::Range(1, 8192));
  cmd->add_option("--decode-tokens", o->decode_tokens, "tokens generated per sequence (text-generation models)")->capture_default_str()->check(CLI::Range(0, 4096));
  cmd->add_option("--iterations", o->iterations, "timed inferences per cell after the first")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("-t,--threads", o->threads, "threads, comma-separated for several cells (browsers: >1 needs cross-origin isolation, which the bench's server sets)")
      ->delimiter(',')->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--cell-timeout", o->cell_timeout_s, "seconds a cell run by another process (CLI, Node, browser) may take")
      ->capture_default_str()->check(CLI::Range(1, 86400));
  cmd->add_option("--db,--db-path", o->db, "database file or postgresql:// URL (default: $BENCHMARK_DB_PATH, else ./benchmark_db.duckdb)");
  cmd->add_option("--json-dir", o->json_dir, "where each run's JSON goes (DEPRECATE_JSON_OUTPUT=1 turns it off)")->capture_default_str();
  cmd->add_option("--models-dir", o->models_dir, "folder holding smollm2/ and minilm/ (default: $WEBACCEL_MODELS_DIR, else models)");
  cmd->add_option("--import", o->imports, "store the runs of these JSON files (webaccel-bench-run format, e.g. from bench/bench_native.py --json) instead of measuring");
  cmd->add_flag("!--no-progress", o->progress, "no progress bar");
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace webaccel::cli
