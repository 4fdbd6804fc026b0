// Writing a command's output file: a regular file is written to FILE.partial and renamed, so an
// error never leaves a file that looks complete; a device or pipe (/dev/null, /dev/stdout) is
// written in place, never replaced.
#pragma once

#include <string>

namespace webaccel::cli {

void write_output_file(const std::string& path, const std::string& bytes);

}  // namespace webaccel::cli
