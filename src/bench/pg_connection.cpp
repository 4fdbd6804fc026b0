#include "bench/pg_connection.h"

#include <cstdio>
#include <regex>

#include "core/error.h"

#ifdef WEBACCEL_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

namespace webaccel::bench {
namespace {

// Error messages name the server but never its password.
std::string redact(const std::string& url) {
  return std::regex_replace(url, std::regex("://([^:/@]+):[^@]*@"), "://$1:***@");
}

#ifdef WEBACCEL_HAVE_LIBPQ
class PgConnection final : public SqlConnection {
 public:
  PgConnection(std::string where, PGconn* conn) : where_(std::move(where)), conn_(conn) {}
  ~PgConnection() override { PQfinish(conn_); }

  SqlRows query(const std::string& sql, const std::vector<SqlValue>& params) override {
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      const SqlValue& v = params[i];
      if (std::holds_alternative<std::monostate>(v)) continue;
      if (auto* n = std::get_if<int64_t>(&v)) text[i] = std::to_string(*n);
      else if (auto* d = std::get_if<double>(&v)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", *d);
        text[i] = buf;
      } else if (auto* s = std::get_if<std::string>(&v)) text[i] = *s;
      else if (auto* b = std::get_if<bool>(&v)) text[i] = *b ? "true" : "false";
      values[i] = text[i].c_str();
    }
    PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                                 nullptr, nullptr, 0);
    const ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const std::string message = PQresultErrorMessage(res);
      PQclear(res);
      fail(ErrorKind::kFormat, where_ + ": " + message + " (in: " + sql.substr(0, 200) + ")");
    }
    SqlRows rows;
    const int n_cols = PQnfields(res), n_rows = PQntuples(res);
    for (int c = 0; c < n_cols; ++c) rows.columns.emplace_back(PQfname(res, c));
    for (int r = 0; r < n_rows; ++r) {
      auto& row = rows.rows.emplace_back();
      for (int c = 0; c < n_cols; ++c) {
        if (PQgetisnull(res, r, c)) row.emplace_back(std::nullopt);
        else row.emplace_back(std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c)));
      }
    }
    PQclear(res);
    return rows;
  }

  const std::string& location() const override { return where_; }
  bool is_postgres() const override { return true; }

 private:
  std::string where_;
  PGconn* conn_;
};

void ignore_notice(void*, const char*) {}  // "relation already exists" notices are not the user's concern
#endif

}  // namespace

bool is_postgres_url(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::unique_ptr<SqlConnection> open_postgres(const std::string& url) {
#ifdef WEBACCEL_HAVE_LIBPQ
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    fail(ErrorKind::kIo, redact(url) + ": cannot connect to PostgreSQL: " + message);
  }
  PQsetNoticeProcessor(conn, ignore_notice, nullptr);
  return std::make_unique<PgConnection>(redact(url), conn);
#else
  fail(ErrorKind::kUsage, redact(url) + ": this webaccel was built without libpq (apt-get install libpq-dev, then rebuild)");
#endif
}

}  // namespace webaccel::bench
