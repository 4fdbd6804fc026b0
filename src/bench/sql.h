// A minimal SQL connection interface, so the benchmark store runs the same statements on DuckDB
// (embedded file) and PostgreSQL (a fleet's server).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace webaccel::bench {

using SqlValue = std::variant<std::monostate, int64_t, double, std::string, bool>;
using SqlCell = std::optional<std::string>;  // values come back as text; nullopt is SQL NULL

struct SqlRows {
  std::vector<std::string> columns;
  std::vector<std::vector<SqlCell>> rows;

  size_t column(const std::string& name) const;  // Error naming the column if absent
};

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  // Runs one statement; parameters are $1, $2, ... in both dialects.
  virtual SqlRows query(const std::string& sql, const std::vector<SqlValue>& params = {}) = 0;
  virtual void exec(const std::string& sql) { query(sql); }
  virtual const std::string& location() const = 0;  // file path or URL, for error messages
  virtual bool is_postgres() const = 0;
};

// Runs body inside BEGIN/COMMIT; rolls back and rethrows on any exception.
template <typename F>
auto in_transaction(SqlConnection& c, F&& body) {
  c.exec("BEGIN TRANSACTION");
  try {
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      c.exec("COMMIT");
    } else {
      auto result = body();
      c.exec("COMMIT");
      return result;
    }
  } catch (...) {
    try { c.exec("ROLLBACK"); } catch (...) {}  // the original error is the one worth reporting
    throw;
  }
}

}  // namespace webaccel::bench
