// Runs a helper process for a benchmark cell (the CLI on another backend, a Node or browser
// driver) with a time limit, capturing its output and its peak resident memory.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace webaccel::bench {

struct ProcessResult {
  int exit_code = -1;       // the signal number + 128 when killed
  bool timed_out = false;
  std::string out, err;
  std::optional<double> peak_rss_mb;  // of the process and the children it waited for (wait4)
  double wall_ms = 0;
};

// argv[0] is looked up on PATH; env entries ("NAME=value") are added to this process's
// environment. On timeout the whole process group (browsers and their children) is killed.
ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                          const std::vector<std::string>& env = {});

// The command as a shell would take it back: for the record of how a cell was made.
std::string quoted_command(const std::vector<std::string>& argv);

}  // namespace webaccel::bench
