#include "bench/store.h"

#include <cstdlib>

#include "bench/host_facts.h"
#include "bench/pg_connection.h"
#include "bench/schema.h"
#include "core/error.h"

namespace webaccel::bench {
namespace {

std::chrono::milliseconds lock_timeout_from_env() {
  const char* s = std::getenv("WEBACCEL_DB_LOCK_TIMEOUT_S");
  if (!s || !*s) return std::chrono::seconds(120);
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (*end || v < 0) fail(ErrorKind::kUsage, std::string("WEBACCEL_DB_LOCK_TIMEOUT_S='") + s + "': expected whole seconds");
  return std::chrono::seconds(v);
}

template <typename R>
std::vector<SqlValue> values_of(const R& r, std::string& columns, std::string& placeholders) {
  std::vector<SqlValue> values;
  for_each_field(r, [&](const char* name, const auto& v) {
    using T = std::decay_t<decltype(v)>;
    if (!columns.empty()) { columns += ", "; placeholders += ", "; }
    columns += name;
    placeholders += "$" + std::to_string(values.size() + 1);
    if constexpr (std::is_same_v<T, std::string>) {
      values.emplace_back(v.empty() ? SqlValue{} : SqlValue{v});
    } else if constexpr (std::is_same_v<T, bool>) {
      values.emplace_back(v);
    } else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, long>) {
      values.emplace_back(static_cast<int64_t>(v));
    } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
      values.emplace_back(v ? SqlValue{*v} : SqlValue{});
    } else if constexpr (std::is_same_v<T, std::optional<int>>) {
      values.emplace_back(v ? SqlValue{static_cast<int64_t>(*v)} : SqlValue{});
    } else {
      static_assert(std::is_same_v<T, std::optional<double>>);
      values.emplace_back(v ? SqlValue{*v} : SqlValue{});
    }
  });
  return values;
}

}  // namespace

std::string resolve_db_location(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("BENCHMARK_DB_PATH");
  return env && *env ? env : "./benchmark_db.duckdb";
}

BenchStore::BenchStore(std::string location, OpenMode mode)
    : location_(std::move(location)), postgres_(is_postgres_url(location_)), lock_timeout_(lock_timeout_from_env()) {
  if (postgres_) {
    pg_ = open_postgres(location_);
    migrate(*pg_);
  } else if (mode == OpenMode::kReadOnly) {
    int version = 0;
    with_connection(OpenMode::kReadOnly, [&](SqlConnection& c) { version = read_schema_version(c); });
    if (version == 0) fail(ErrorKind::kFormat, location_ + ": an empty database, not a webaccel benchmark database");
    if (version > current_schema_version()) {
      fail(ErrorKind::kFormat, location_ + ": schema version " + std::to_string(version) + " is newer than this webaccel knows (" +
                                   std::to_string(current_schema_version()) + "); use a newer webaccel. The database was not modified.");
    }
    if (version < current_schema_version()) with_connection(OpenMode::kReadWrite, [](SqlConnection& c) { migrate(c); });
    return;
  } else {
    with_connection(OpenMode::kReadWrite, [](SqlConnection& c) { migrate(c); });
  }
  if (mode == OpenMode::kReadWrite) mark_dead_runs_incomplete();
}

BenchStore::~BenchStore() = default;

void BenchStore::with_connection(OpenMode mode, const std::function<void(SqlConnection&)>& body) {
  if (pg_) {
    body(*pg_);
    return;
  }
  auto c = open_duckdb(location_, mode, lock_timeout_);
  body(*c);
}

void BenchStore::begin_run(const RunInfo& run) {
  std::string columns, placeholders;
  const auto values = values_of(run, columns, placeholders);
  with_connection(OpenMode::kReadWrite, [&](SqlConnection& c) {
    c.query("INSERT INTO benchmark_runs (" + columns + ") VALUES (" + placeholders + ")", values);
  });
}

int64_t BenchStore::add_measurement(const std::string& run_id, const Measurement& m) {
  std::string columns = "run_id", placeholders = "$1";
  std::vector<SqlValue> values{run_id};
  std::string more_columns, more_placeholders;
  for (auto& v : values_of(m, more_columns, more_placeholders)) values.push_back(std::move(v));
  // Renumber the measurement's placeholders after $1 (the run id).
  for (size_t i = 2; i <= values.size(); ++i) placeholders += ", $" + std::to_string(i);
  columns += ", " + more_columns;
  int64_t id = 0;
  with_connection(OpenMode::kReadWrite, [&](SqlConnection& c) {
    in_transaction(c, [&] {
      const SqlRows r = c.query("INSERT INTO web_platform_performance (" + columns + ") VALUES (" + placeholders + ") RETURNING id", values);
      id = std::stoll(r.rows.at(0).at(0).value());
      if (m.quality) {
        std::string q_columns = "performance_id", q_placeholders = "$1", more_q, more_qp;
        std::vector<SqlValue> q_values{id};
        for (auto& v : values_of(*m.quality, more_q, more_qp)) q_values.push_back(std::move(v));
        for (size_t i = 2; i <= q_values.size(); ++i) q_placeholders += ", $" + std::to_string(i);
        c.query("INSERT INTO ultra_low_precision_results (" + q_columns + ", " + more_q + ") VALUES (" + q_placeholders + ")", q_values);
      }
    });
  });
  return id;
}

void BenchStore::finish_run(const std::string& run_id, const std::string& status) {
  with_connection(OpenMode::kReadWrite, [&](SqlConnection& c) {
    c.query("UPDATE benchmark_runs SET status = $1, finished_at = $2 WHERE run_id = $3", {status, utc_now(), run_id});
  });
}

bool BenchStore::has_run(const std::string& run_id) {
  return !read("SELECT run_id FROM benchmark_runs WHERE run_id = $1", {run_id}).rows.empty();
}

int BenchStore::mark_dead_runs_incomplete() {
  int marked = 0;
  with_connection(OpenMode::kReadWrite, [&](SqlConnection& c) {
    const SqlRows runs = c.query("SELECT run_id, machine, pid, process_start FROM benchmark_runs WHERE status = 'running'");
    for (const auto& r : runs.rows) {
      const std::string status = effective_status("running", r[1].value_or(""), r[2] ? std::stol(*r[2]) : 0, r[3].value_or(""));
      if (status != "incomplete") continue;
      c.query("UPDATE benchmark_runs SET status = 'incomplete' WHERE run_id = $1 AND status = 'running'", {r[0].value()});
      ++marked;
    }
  });
  return marked;
}

SqlRows BenchStore::read(const std::string& sql, const std::vector<SqlValue>& params) {
  SqlRows rows;
  with_connection(OpenMode::kReadOnly, [&](SqlConnection& c) { rows = c.query(sql, params); });
  return rows;
}

std::string effective_status(const std::string& status, const std::string& machine, long pid,
                             const std::string& process_start) {
  if (status != "running") return status;
  // Only this machine's processes can be checked; a fleet member's run stays 'running' until it reports.
  if (machine != machine_name()) return status;
  return process_alive(pid, process_start) ? status : "incomplete";
}

}  // namespace webaccel::bench
