// SqlConnection over libpq, for a fleet of machines writing to one PostgreSQL server.
#pragma once

#include <memory>
#include <string>

#include "bench/sql.h"

namespace webaccel::bench {

bool is_postgres_url(const std::string& location);  // postgresql://... or postgres://...

// Error(kIo) naming the server (password hidden) when the connection fails, or when this binary
// was built without libpq.
std::unique_ptr<SqlConnection> open_postgres(const std::string& url);

}  // namespace webaccel::bench
