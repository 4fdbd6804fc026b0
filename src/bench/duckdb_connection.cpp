#include "bench/duckdb_connection.h"

#include <duckdb.h>
#include <sys/stat.h>

#include <random>
#include <thread>

#include "core/error.h"

namespace webaccel::bench {
namespace {

class DuckDbConnection final : public SqlConnection {
 public:
  DuckDbConnection(std::string path, duckdb_database db, duckdb_connection con)
      : path_(std::move(path)), db_(db), con_(con) {}
  ~DuckDbConnection() override {
    duckdb_disconnect(&con_);
    duckdb_close(&db_);
  }

  SqlRows query(const std::string& sql, const std::vector<SqlValue>& params) override {
    duckdb_result result;
    duckdb_state state;
    if (params.empty()) {
      state = duckdb_query(con_, sql.c_str(), &result);
    } else {
      duckdb_prepared_statement stmt;
      if (duckdb_prepare(con_, sql.c_str(), &stmt) == DuckDBError) {
        const std::string message = duckdb_prepare_error(stmt);
        duckdb_destroy_prepare(&stmt);
        fail(ErrorKind::kFormat, path_ + ": " + message + " (in: " + sql.substr(0, 200) + ")");
      }
      for (size_t i = 0; i < params.size(); ++i) bind(stmt, i + 1, params[i]);
      state = duckdb_execute_prepared(stmt, &result);
      duckdb_destroy_prepare(&stmt);
    }
    if (state == DuckDBError) {
      const std::string message = duckdb_result_error(&result);
      duckdb_destroy_result(&result);
      fail(ErrorKind::kFormat, path_ + ": " + message + " (in: " + sql.substr(0, 200) + ")");
    }
    SqlRows rows;
    const idx_t n_cols = duckdb_column_count(&result), n_rows = duckdb_row_count(&result);
    for (idx_t c = 0; c < n_cols; ++c) rows.columns.emplace_back(duckdb_column_name(&result, c));
    for (idx_t r = 0; r < n_rows; ++r) {
      auto& row = rows.rows.emplace_back();
      for (idx_t c = 0; c < n_cols; ++c) {
        if (duckdb_value_is_null(&result, c, r)) {
          row.emplace_back(std::nullopt);
          continue;
        }
        char* text = duckdb_value_varchar(&result, c, r);
        row.emplace_back(text ? std::string(text) : std::string());
        duckdb_free(text);
      }
    }
    duckdb_destroy_result(&result);
    return rows;
  }

  const std::string& location() const override { return path_; }
  bool is_postgres() const override { return false; }

 private:
  void bind(duckdb_prepared_statement stmt, idx_t i, const SqlValue& v) {
    duckdb_state s = DuckDBSuccess;
    if (std::holds_alternative<std::monostate>(v)) s = duckdb_bind_null(stmt, i);
    else if (auto* n = std::get_if<int64_t>(&v)) s = duckdb_bind_int64(stmt, i, *n);
    else if (auto* d = std::get_if<double>(&v)) s = duckdb_bind_double(stmt, i, *d);
    else if (auto* t = std::get_if<std::string>(&v)) s = duckdb_bind_varchar_length(stmt, i, t->data(), t->size());
    else if (auto* b = std::get_if<bool>(&v)) s = duckdb_bind_boolean(stmt, i, *b);
    if (s == DuckDBError) fail(ErrorKind::kInternal, path_ + ": cannot bind parameter $" + std::to_string(i));
  }

  std::string path_;
  duckdb_database db_;
  duckdb_connection con_;
};

bool is_lock_conflict(const std::string& message) { return message.find("Could not set lock") != std::string::npos; }

}  // namespace

std::unique_ptr<SqlConnection> open_duckdb(const std::string& path, OpenMode mode,
                                           std::chrono::milliseconds lock_timeout) {
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (mode == OpenMode::kReadOnly && !exists) fail(ErrorKind::kIo, path + ": no benchmark database here (run `webaccel bench` first)");
  if (exists && S_ISDIR(st.st_mode)) fail(ErrorKind::kIo, path + ": is a directory, not a database file");

  const auto deadline = std::chrono::steady_clock::now() + lock_timeout;
  std::minstd_rand jitter(std::random_device{}());
  auto delay = std::chrono::milliseconds(5);
  for (;;) {
    duckdb_config config;
    duckdb_create_config(&config);
    if (mode == OpenMode::kReadOnly) duckdb_set_config(config, "access_mode", "READ_ONLY");
    // Only this file is touched: no extension downloads from a benchmark run.
    duckdb_set_config(config, "autoinstall_known_extensions", "false");
    duckdb_database db;
    char* error = nullptr;
    const duckdb_state state = duckdb_open_ext(path.c_str(), &db, config, &error);
    duckdb_destroy_config(&config);
    if (state == DuckDBSuccess) {
      duckdb_connection con;
      if (duckdb_connect(db, &con) == DuckDBError) {
        duckdb_close(&db);
        fail(ErrorKind::kIo, path + ": cannot connect to the opened database");
      }
      return std::make_unique<DuckDbConnection>(path, db, con);
    }
    const std::string message = error ? error : "unknown error";
    duckdb_free(error);
    // A file another process is creating right now (absent or empty when we looked) may read as
    // locked or as not-yet-a-database for an instant: both are worth another try.
    struct stat now {};
    const bool being_created = (!exists || st.st_size == 0) && ::stat(path.c_str(), &now) == 0;
    if ((is_lock_conflict(message) || being_created) && std::chrono::steady_clock::now() < deadline) {
      // Another bench process is writing: wait a little (with jitter so writers do not march in step).
      std::this_thread::sleep_for(delay + std::chrono::milliseconds(jitter() % (delay.count() + 1)));
      delay = std::min(delay * 2, std::chrono::milliseconds(200));
      continue;
    }
    if (is_lock_conflict(message)) fail(ErrorKind::kIo, path + ": still locked by another process after " + std::to_string(lock_timeout.count() / 1000) + " s (" + message + ")");
    if (message.find("not a valid DuckDB database") != std::string::npos) fail(ErrorKind::kFormat, path + ": not a DuckDB database file; refusing to touch it");
    fail(message.find("IO Error") != std::string::npos ? ErrorKind::kIo : ErrorKind::kFormat, path + ": cannot open as a DuckDB database: " + message);
  }
}

}  // namespace webaccel::bench
