// One function per subcommand: each adds its options to the app and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

namespace webaccel::cli {

void add_generate_command(CLI::App& app);
void add_embed_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_gpu_bench_command(CLI::App& app);

size_t default_threads();

}  // namespace webaccel::cli
