#include "bench/sql.h"

#include "core/error.h"

namespace webaccel::bench {

size_t SqlRows::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i) if (columns[i] == name) return i;
  fail(ErrorKind::kInternal, "query result has no column '" + name + "'");
}

}  // namespace webaccel::bench
