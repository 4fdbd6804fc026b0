#include "bench/schema.h"

#include <algorithm>

#include "core/error.h"

namespace webaccel::bench {
namespace {

// Ids come from sequences: DuckDB's INTEGER PRIMARY KEY does not auto-increment, and
// nextval() is spelled the same in PostgreSQL.
std::string feature_table(const std::string& name, const std::string& columns) {
  return "CREATE TABLE " + name + " (id INTEGER PRIMARY KEY DEFAULT nextval('" + name + "_id_seq'), performance_id INTEGER, " +
         columns + ", FOREIGN KEY (performance_id) REFERENCES web_platform_performance(id))";
}

std::vector<std::string> guide_schema() {
  std::vector<std::string> s;
  for (const char* t : {"web_platform_performance", "ultra_low_precision_results", "progressive_loading_stats",
                        "mobile_device_optimizations", "browser_cpu_detection", "model_sharding_stats",
                        "auto_tuning_stats", "cross_origin_sharing_stats"}) {
    s.push_back(std::string("CREATE SEQUENCE ") + t + "_id_seq");
  }
  s.push_back(
      "CREATE TABLE web_platform_performance (id INTEGER PRIMARY KEY DEFAULT nextval('web_platform_performance_id_seq'), "
      "model_name TEXT NOT NULL, model_type TEXT NOT NULL, browser TEXT NOT NULL, browser_version TEXT, "
      "platform TEXT NOT NULL, precision_bits INTEGER, batch_size INTEGER, sequence_length INTEGER, "
      "loading_time_ms REAL, first_inference_time_ms REAL, average_inference_time_ms REAL, memory_usage_mb REAL, "
      "timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP)");
  s.push_back(feature_table("ultra_low_precision_results",
                            "bits INTEGER NOT NULL, adaptive_precision BOOLEAN, memory_reduction_percent REAL, "
                            "accuracy_impact_percent REAL"));
  s.push_back(feature_table("progressive_loading_stats",
                            "component_count INTEGER, prioritized_components TEXT, total_components_mb REAL, peak_memory_mb REAL"));
  s.push_back(feature_table("mobile_device_optimizations",
                            "device_type TEXT, battery_state FLOAT, power_consumption_mw FLOAT, temperature_celsius FLOAT, "
                            "throttling_detected BOOLEAN, optimization_level INTEGER"));
  s.push_back(feature_table("browser_cpu_detection",
                            "detected_cores INTEGER, effective_cores INTEGER, thread_pool_size INTEGER, scheduler_type TEXT, "
                            "background_processing BOOLEAN, worker_distribution JSON"));
  s.push_back(feature_table("model_sharding_stats",
                            "model_size_gb FLOAT, shard_count INTEGER, shards_per_tab JSON, communication_overhead_ms FLOAT, "
                            "load_balancing_strategy TEXT, network_topology TEXT, recovery_mechanism TEXT"));
  s.push_back(feature_table("auto_tuning_stats",
                            "parameter_space JSON, optimization_metric TEXT, search_algorithm TEXT, exploration_iterations INTEGER, "
                            "best_configuration JSON, improvement_over_default FLOAT, convergence_time_ms FLOAT"));
  s.push_back(feature_table("cross_origin_sharing_stats",
                            "sharing_protocol TEXT, origin_domain TEXT, target_domain TEXT, permission_level TEXT, "
                            "encryption_method TEXT, verification_time_ms FLOAT, shared_tensor_count INTEGER, sharing_overhead_ms FLOAT"));
  return s;
}

std::vector<std::string> run_provenance() {
  std::vector<std::string> s;
  // One row per bench invocation (or imported peer run): who measured, where, with what, and whether it finished.
  s.push_back(
      "CREATE TABLE benchmark_runs (run_id TEXT PRIMARY KEY, status TEXT NOT NULL, source TEXT NOT NULL, "
      "started_at TIMESTAMP, finished_at TIMESTAMP, git_commit TEXT, machine TEXT, os TEXT, cpu TEXT, cpu_cores INTEGER, "
      "gpu TEXT, browser TEXT, browser_version TEXT, command_line TEXT, webaccel_version TEXT, "
      "pid INTEGER, process_start TEXT, cells_planned INTEGER)");
  // Columns each measurement needs beyond the guide's: ALTER keeps rows written at version 1.
  for (const char* column : {"run_id TEXT", "engine TEXT", "backend TEXT", "host TEXT", "threads INTEGER",
                             "precision_name TEXT", "weights_mb REAL", "tokens_per_second REAL",
                             "prefill_tokens_per_second REAL", "decode_tokens_per_second REAL", "decode_tokens INTEGER",
                             "iterations INTEGER", "inference_time_stddev_ms REAL", "shader_compilation_ms REAL",
                             "model_file TEXT"}) {
    s.push_back(std::string("ALTER TABLE web_platform_performance ADD COLUMN ") + column);
  }
  return s;
}

std::vector<std::string> quality_columns() {
  std::vector<std::string> s;
  // What the eval code measures beside the guide's two summary figures, so they can be checked.
  for (const char* column : {"group_size INTEGER", "effective_bits_per_weight REAL", "perplexity REAL",
                             "reference_perplexity REAL", "mean_kld REAL", "top1_agreement REAL", "eval_tokens INTEGER",
                             "eval_text TEXT"}) {
    s.push_back(std::string("ALTER TABLE ultra_low_precision_results ADD COLUMN ") + column);
  }
  return s;
}

std::vector<std::string> cell_provenance() {
  std::vector<std::string> s;
  // Cells run by other hosts (Node, browsers) and backends (wasm, WebGPU): what made each, and
  // cells that could not run here, kept with the reason instead of a figure.
  for (const char* column : {"cell_status TEXT", "skip_reason TEXT", "cell_command TEXT", "adapter TEXT",
                             "host_version TEXT", "runtime_variant TEXT"}) {
    s.push_back(std::string("ALTER TABLE web_platform_performance ADD COLUMN ") + column);
  }
  return s;
}

}  // namespace

const std::vector<Migration>& schema_migrations() {
  static const std::vector<Migration> migrations = {
      {1, "the guide's schema: web_platform_performance and seven feature tables", guide_schema()},
      {2, "run provenance (benchmark_runs) and per-measurement engine, backend, threads, throughput", run_provenance()},
      {3, "quantized variants' measured quality (perplexity, KLD, top-1) in ultra_low_precision_results", quality_columns()},
      {4, "per-cell provenance (command, adapter, host version, runtime variant) and skipped cells with their reason", cell_provenance()},
  };
  return migrations;
}

int current_schema_version() { return schema_migrations().back().version; }

int read_schema_version(SqlConnection& c) {
  const SqlRows tables = c.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()");
  const bool has_version_table = std::any_of(tables.rows.begin(), tables.rows.end(),
                                             [](const auto& r) { return r[0] == "webaccel_schema_version"; });
  if (!has_version_table) {
    if (!tables.rows.empty()) {
      fail(ErrorKind::kFormat, c.location() + ": a database with " + std::to_string(tables.rows.size()) +
                                   " tables (e.g. '" + tables.rows[0][0].value_or("") +
                                   "') but no webaccel_schema_version table: not a webaccel benchmark database; refusing to touch it");
    }
    return 0;
  }
  const SqlRows v = c.query("SELECT max(version) FROM webaccel_schema_version");
  if (v.rows.empty() || !v.rows[0][0]) fail(ErrorKind::kFormat, c.location() + ": webaccel_schema_version is empty");
  return std::stoi(*v.rows[0][0]);
}

void migrate(SqlConnection& c, const std::vector<Migration>& migrations, int target) {
  in_transaction(c, [&] {
    // Two fleet machines starting at once must not both create the schema.
    if (c.is_postgres()) c.exec("SELECT pg_advisory_xact_lock(6060606)");
    const int have = read_schema_version(c);
    const int newest = migrations.empty() ? 0 : migrations.back().version;
    if (have > newest) {
      fail(ErrorKind::kFormat, c.location() + ": schema version " + std::to_string(have) + " is newer than this webaccel knows (" +
                                   std::to_string(newest) + "); use a newer webaccel. The database was not modified.");
    }
    if (have == 0) c.exec("CREATE TABLE webaccel_schema_version (version INTEGER NOT NULL, description TEXT, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)");
    for (const Migration& m : migrations) {
      if (m.version <= have || m.version > target) continue;
      for (const std::string& statement : m.statements) c.exec(statement);
      c.query("INSERT INTO webaccel_schema_version (version, description) VALUES ($1, $2)",
              {static_cast<int64_t>(m.version), m.description});
    }
  });
}

}  // namespace webaccel::bench
