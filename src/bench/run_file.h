// A run as a JSON file: written beside the database after every cell (unless
// DEPRECATE_JSON_OUTPUT=1), and the format peers' results are imported from.
//   {"format": "webaccel-bench-run", "format_version": 1, "run": {...}, "measurements": [{...}]}
#pragma once

#include <string>
#include <vector>

#include "bench/measurement.h"

namespace webaccel::bench {

struct RunFile {
  RunInfo run;
  std::vector<Measurement> measurements;
};

bool json_output_enabled();
// Writes PATH.partial then renames it, so a failure never leaves a file that looks complete;
// a device or pipe (/dev/stdout, /dev/null) is written in place, never replaced by a file.
void write_output_file(const std::string& path, const std::string& text);  // false when DEPRECATE_JSON_OUTPUT=1
void write_run_file(const std::string& path, const RunFile& f);  // atomically: PATH.partial, then rename
RunFile read_run_file(const std::string& path);  // Error naming the file and field

}  // namespace webaccel::bench
