// Facts about this machine and process that every benchmark run records.
#pragma once

#include <optional>
#include <string>

#include "bench/measurement.h"

namespace webaccel::bench {

std::string machine_name();            // the hostname
std::string utc_now();                   // "YYYY-MM-DD HH:MM:SS"
std::string new_run_id();                // time, host and random bits: unique across a fleet
std::string process_start_time(long pid);  // empty if the process does not exist
bool process_alive(long pid, const std::string& start_time);

// Machine, OS, CPU, git commit of the binary's source tree, pid, command line; status 'running'.
RunInfo describe_this_run();

// Resets the kernel's peak-RSS mark for this process (false where /proc/self/clear_refs is not writable).
bool reset_peak_rss();
std::optional<double> peak_rss_mb();  // VmHWM since the last reset

}  // namespace webaccel::bench
