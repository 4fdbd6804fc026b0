// The benchmark store: runs and measurements in DuckDB (a file, default ./benchmark_db.duckdb,
// BENCHMARK_DB_PATH overrides) or PostgreSQL (postgresql://...).
//
// DuckDB allows one writing process per file, so for a file the store holds no connection between
// operations: each write opens (waiting while another process holds the lock), commits one
// transaction and closes. Two bench processes can then share a database without losing rows.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "bench/duckdb_connection.h"
#include "bench/measurement.h"
#include "bench/sql.h"

namespace webaccel::bench {

// The --db flag if given, else BENCHMARK_DB_PATH, else ./benchmark_db.duckdb.
std::string resolve_db_location(const std::string& flag);

class BenchStore {
 public:
  // kReadWrite creates and migrates the database and marks dead runs of this machine incomplete;
  // kReadOnly requires an existing database (migrating it first if it is older than this binary).
  BenchStore(std::string location, OpenMode mode);
  ~BenchStore();

  const std::string& location() const { return location_; }

  void begin_run(const RunInfo& run);
  int64_t add_measurement(const std::string& run_id, const Measurement& m);  // returns the row id
  void finish_run(const std::string& run_id, const std::string& status);
  bool has_run(const std::string& run_id);
  int mark_dead_runs_incomplete();  // returns how many were marked

  SqlRows read(const std::string& sql, const std::vector<SqlValue>& params = {});

 private:
  void with_connection(OpenMode mode, const std::function<void(SqlConnection&)>& body);

  std::string location_;
  bool postgres_;
  std::chrono::milliseconds lock_timeout_;
  std::unique_ptr<SqlConnection> pg_;  // PostgreSQL handles concurrency itself: one connection is kept
};

// A run's status as a reader should see it: 'running' of a process that is gone reads 'incomplete'.
std::string effective_status(const std::string& status, const std::string& machine, long pid,
                             const std::string& process_start);

}  // namespace webaccel::bench
