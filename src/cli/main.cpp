// webaccel: run transformer models natively from the same core the browser build uses.
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"

namespace webaccel::cli {
size_t default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }
}  // namespace webaccel::cli

int main(int argc, char** argv) {
  CLI::App app{"webaccel: transformer inference for the browser and natively, from one C++ core"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "webaccel 0.1.0");
  webaccel::cli::add_generate_command(app);
  webaccel::cli::add_embed_command(app);
  webaccel::cli::add_info_command(app);
  webaccel::cli::add_quantize_command(app);
  webaccel::cli::add_convert_command(app);
  webaccel::cli::add_eval_command(app);
  webaccel::cli::add_bench_command(app);
  webaccel::cli::add_report_command(app);
  webaccel::cli::add_serve_command(app);
  webaccel::cli::add_gpu_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(webaccel::ErrorKind::kUsage);
  } catch (const webaccel::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "webaccel: error: %s\n", e.what());
    return static_cast<int>(e.kind());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "webaccel: error: out of memory\n");
    return static_cast<int>(webaccel::ErrorKind::kInternal);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "webaccel: internal error: %s\n", e.what());
    return static_cast<int>(webaccel::ErrorKind::kInternal);
  }
  return 0;
}
