// SqlConnection over DuckDB's C API. DuckDB lets one process write a database file at a time, so
// opening retries with backoff while another process holds the lock, up to a deadline.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "bench/sql.h"

namespace webaccel::bench {

enum class OpenMode { kReadWrite, kReadOnly };

// Errors: kIo (missing, unreadable, lock held past the deadline), kFormat (not a DuckDB file).
std::unique_ptr<SqlConnection> open_duckdb(const std::string& path, OpenMode mode,
                                           std::chrono::milliseconds lock_timeout);

}  // namespace webaccel::bench
