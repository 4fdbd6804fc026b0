// The benchmark database schema, versioned. Version 1 is the guide's schema as documented
// (web_platform_performance and its seven feature tables); later versions add what real runs need.
// Each open applies the missing migrations in one transaction; a database written by a newer
// webaccel, or one that is not ours, is an error and is left untouched.
#pragma once

#include <string>
#include <vector>

#include "bench/sql.h"

namespace webaccel::bench {

struct Migration {
  int version;
  std::string description;
  std::vector<std::string> statements;  // portable SQL: runs on DuckDB and PostgreSQL
};

const std::vector<Migration>& schema_migrations();
int current_schema_version();

// 0 for an empty database; Error(kFormat) for a database with other tables but no schema table.
int read_schema_version(SqlConnection& c);

// Brings the database to `target` (default: the newest this binary knows). Error(kFormat) naming
// the database if it is newer than the binary knows or not a webaccel benchmark database.
void migrate(SqlConnection& c, const std::vector<Migration>& migrations, int target);
inline void migrate(SqlConnection& c) { migrate(c, schema_migrations(), current_schema_version()); }

}  // namespace webaccel::bench
