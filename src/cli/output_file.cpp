#include "cli/output_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace webaccel::cli {

void write_output_file(const std::string& path, const std::string& bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  const bool special = !ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status);
  const std::string target = special ? path : path + ".partial";
  {
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorKind::kIo, path + ": cannot open for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      if (!special) std::remove(target.c_str());
      fail(ErrorKind::kIo, path + ": write failed");
    }
  }
  if (!special && std::rename(target.c_str(), path.c_str()) != 0) fail(ErrorKind::kIo, path + ": cannot rename from " + target);
}

}  // namespace webaccel::cli
