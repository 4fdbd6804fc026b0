// Which backend runs a model: the CPU engine, the WebGPU device, or `auto` (the faster of the two
// on this device, from timings measured once and kept per adapter and model shape).
#pragma once

#include <optional>
#include <string>

namespace webaccel::gpu {

enum class Backend { kCpu, kWebGpu, kAuto };

Backend parse_backend(const std::string& name);  // "cpu" | "webgpu" | "auto"; kUsage error naming --backend
const char* backend_name(Backend b);

// Milliseconds per step measured on one device for one model shape, kept in a JSON file
// ($WEBACCEL_TIMINGS, else $XDG_CACHE_HOME or ~/.cache, /webaccel/backend-timings.json).
struct StepTimings {
  double cpu_ms = 0;
  double gpu_ms = 0;
};
std::optional<StepTimings> load_timings(const std::string& key);
void save_timings(const std::string& key, const StepTimings& t);  // best effort: a cache, not state

}  // namespace webaccel::gpu
