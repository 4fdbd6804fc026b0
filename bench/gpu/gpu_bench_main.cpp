// webaccel-gpu-bench: the GPU benchmarks alone, in a binary lean enough to carry to a GPU machine
// (no DuckDB, libpq or HTTP server): only libhwy and wgpu-native (loaded at run time) beside libc.
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"

namespace webaccel::cli {
size_t default_threads() { return 1; }
}  // namespace webaccel::cli

int main(int argc, char** argv) {
  CLI::App app{"webaccel-gpu-bench: WebGPU benchmarks (docs/benchmarks.md)"};
  app.require_subcommand(1);
  webaccel::cli::add_gpu_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(webaccel::ErrorKind::kUsage);
  } catch (const webaccel::Error& e) {
    std::fprintf(stderr, "webaccel-gpu-bench: error: %s\n", e.what());
    return static_cast<int>(e.kind());
  }
  return 0;
}
