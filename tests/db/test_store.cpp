// The benchmark store against a real DuckDB file: schema creation, migration from version 1 with
// rows kept, a newer schema and foreign files refused untouched, runs and measurements round-trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "bench/duckdb_connection.h"
#include "bench/host_facts.h"
#include "bench/run_file.h"
#include "bench/schema.h"
#include "bench/store.h"
#include "core/error.h"

namespace webaccel::bench {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("webaccel_store_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string file_bytes(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static std::unique_ptr<SqlConnection> open_rw(const std::string& p) {
    return open_duckdb(p, OpenMode::kReadWrite, std::chrono::seconds(5));
  }
  static Measurement sample(const std::string& model) {
    Measurement m;
    m.model_name = model;
    m.model_type = "text-embedding";
    m.platform = "cpu";
    m.backend = "cpu";
    m.precision_name = "f32";
    m.precision_bits = 32;
    m.batch_size = 1;
    m.sequence_length = 8;
    m.average_inference_time_ms = 3.5;
    m.threads = 2;
    return m;
  }
  template <typename F>
  static void expect_error(ErrorKind kind, const std::string& needle, F&& f) {
    try {
      f();
      ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }

  fs::path dir_;
};

TEST_F(StoreTest, CreatesTheGuideSchemaAtTheCurrentVersion) {
  BenchStore store(path("db.duckdb"), OpenMode::kReadWrite);
  auto c = open_rw(path("db.duckdb"));
  EXPECT_EQ(read_schema_version(*c), current_schema_version());
  for (const char* table : {"web_platform_performance", "ultra_low_precision_results", "progressive_loading_stats",
                            "mobile_device_optimizations", "browser_cpu_detection", "model_sharding_stats",
                            "auto_tuning_stats", "cross_origin_sharing_stats", "benchmark_runs"}) {
    EXPECT_EQ(c->query("SELECT count(*) FROM " + std::string(table)).rows.at(0).at(0), "0") << table;
  }
  // The feature tables keep the guide's foreign key to web_platform_performance.
  EXPECT_THROW(c->exec("INSERT INTO ultra_low_precision_results (performance_id, bits) VALUES (12345, 2)"), Error);
}

TEST_F(StoreTest, MigratesVersionOneAndKeepsItsRows) {
  {
    auto c = open_rw(path("old.duckdb"));
    migrate(*c, schema_migrations(), 1);
    EXPECT_EQ(read_schema_version(*c), 1);
    c->exec("INSERT INTO web_platform_performance (model_name, model_type, browser, platform, average_inference_time_ms) "
            "VALUES ('bert', 'text-embedding', 'chrome', 'webgpu', 12.5)");
  }
  BenchStore store(path("old.duckdb"), OpenMode::kReadOnly);  // a reader migrates an older database first
  const SqlRows r = store.read("SELECT model_name, average_inference_time_ms, engine FROM web_platform_performance");
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][0], "bert");
  EXPECT_EQ(r.rows[0][1], "12.5");
  EXPECT_FALSE(r.rows[0][2].has_value());  // a column of version 2, NULL for the old row
  auto c = open_rw(path("old.duckdb"));
  EXPECT_EQ(read_schema_version(*c), current_schema_version());
}

TEST_F(StoreTest, RefusesANewerSchemaWithoutTouchingIt) {
  { BenchStore store(path("new.duckdb"), OpenMode::kReadWrite); }
  {
    auto c = open_rw(path("new.duckdb"));
    c->exec("INSERT INTO webaccel_schema_version (version, description) VALUES (999, 'from the future')");
  }
  const std::string before = file_bytes(path("new.duckdb"));
  expect_error(ErrorKind::kFormat, "schema version 999 is newer", [&] { BenchStore s(path("new.duckdb"), OpenMode::kReadWrite); });
  expect_error(ErrorKind::kFormat, "schema version 999 is newer", [&] { BenchStore s(path("new.duckdb"), OpenMode::kReadOnly); });
  EXPECT_EQ(file_bytes(path("new.duckdb")), before);
}

TEST_F(StoreTest, RefusesAForeignFileWithoutTouchingIt) {
  const std::string p = path("notes.duckdb");
  std::ofstream(p) << "these are someone's notes, not a database\n";
  const std::string before = file_bytes(p);
  expect_error(ErrorKind::kFormat, "not a DuckDB database file", [&] { BenchStore s(p, OpenMode::kReadWrite); });
  EXPECT_EQ(file_bytes(p), before);
  EXPECT_FALSE(fs::exists(p + ".wal"));
}

TEST_F(StoreTest, RefusesAnotherApplicationsDuckDbDatabase) {
  { open_rw(path("other.duckdb"))->exec("CREATE TABLE invoices (id INTEGER, amount REAL)"); }
  expect_error(ErrorKind::kFormat, "not a webaccel benchmark database", [&] { BenchStore s(path("other.duckdb"), OpenMode::kReadWrite); });
  auto c = open_rw(path("other.duckdb"));
  EXPECT_EQ(c->query("SELECT count(*) FROM invoices").rows.at(0).at(0), "0");  // still there, still empty
}

TEST_F(StoreTest, MissingOrUnreadablePathsAreIoErrors) {
  expect_error(ErrorKind::kIo, "no benchmark database here", [&] { BenchStore s(path("absent.duckdb"), OpenMode::kReadOnly); });
  EXPECT_FALSE(fs::exists(path("absent.duckdb")));  // a reader never creates a database
  expect_error(ErrorKind::kIo, "is a directory", [&] { BenchStore s(dir_.string(), OpenMode::kReadWrite); });
  expect_error(ErrorKind::kIo, "cannot open", [&] { BenchStore s(path("no/such/dir/db.duckdb"), OpenMode::kReadWrite); });
}

TEST_F(StoreTest, RunsAndMeasurementsRoundTrip) {
  BenchStore store(path("db.duckdb"), OpenMode::kReadWrite);
  RunInfo run;
  run.run_id = "run-1";
  run.machine = "elsewhere";  // not this machine: its liveness cannot be checked, so it stays 'running'
  run.pid = 1;
  store.begin_run(run);
  const int64_t a = store.add_measurement("run-1", sample("minilm"));
  Measurement quantized = sample("smollm2");
  quantized.quality = QualityResult{};
  quantized.quality->bits = 3;
  quantized.quality->memory_reduction_percent = 79.5;
  const int64_t b = store.add_measurement("run-1", quantized);
  EXPECT_NE(a, b);
  EXPECT_EQ(store.mark_dead_runs_incomplete(), 0);
  store.finish_run("run-1", "complete");
  const SqlRows r = store.read("SELECT r.status, count(*) FROM benchmark_runs r JOIN web_platform_performance p "
                               "ON p.run_id = r.run_id GROUP BY r.status");
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][0], "complete");
  EXPECT_EQ(r.rows[0][1], "2");
  // The quality row lands in the guide's table, tied to its measurement by the foreign key.
  const SqlRows u = store.read("SELECT performance_id, bits, memory_reduction_percent FROM ultra_low_precision_results");
  ASSERT_EQ(u.rows.size(), 1u);
  EXPECT_EQ(u.rows[0][0], std::to_string(b));
  EXPECT_EQ(u.rows[0][1], "3");
  EXPECT_EQ(u.rows[0][2], "79.5");
}

TEST_F(StoreTest, ADeadRunOfThisMachineIsMarkedIncomplete) {
  {
    BenchStore store(path("db.duckdb"), OpenMode::kReadWrite);
    RunInfo run = describe_this_run();
    run.pid = 999999999;  // no such process
    store.begin_run(run);
  }
  BenchStore store(path("db.duckdb"), OpenMode::kReadWrite);  // opening for writing settles dead runs
  EXPECT_EQ(store.read("SELECT status FROM benchmark_runs").rows.at(0).at(0), "incomplete");
}

TEST_F(StoreTest, RunFilesRoundTripAndNameBadFields) {
  RunFile f;
  f.run.run_id = "r";
  f.run.status = "complete";
  f.measurements.push_back(sample("minilm"));
  f.measurements[0].quality = QualityResult{};
  f.measurements[0].quality->top1_agreement = 0.75;
  write_run_file(path("r.json"), f);
  const RunFile g = read_run_file(path("r.json"));
  EXPECT_EQ(g.run.run_id, "r");
  ASSERT_EQ(g.measurements.size(), 1u);
  EXPECT_EQ(g.measurements[0].average_inference_time_ms, 3.5);
  ASSERT_TRUE(g.measurements[0].quality.has_value());
  EXPECT_EQ(g.measurements[0].quality->top1_agreement, 0.75);
  std::ofstream(path("bad.json")) << R"({"format": "webaccel-bench-run", "format_version": 1, "run": {"run_id": "x"},
                                        "measurements": [{"model_name": "m", "model_type": "t", "platform": "cpu", "engine": "e", "threads": "two"}]})";
  expect_error(ErrorKind::kFormat, "measurements[0]: field 'threads'", [&] { read_run_file(path("bad.json")); });
}

}  // namespace
}  // namespace webaccel::bench
