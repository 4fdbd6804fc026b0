// Turns a llama GGUF into a webaccel package of WQ weights: uniform, mixed (per-tensor config) or
// adaptive (bits allocated by measured sensitivity to meet a bits-per-weight or memory target).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "quant/mixed_config.h"

namespace webaccel::quant {

struct QuantizeOptions {
  int bits = 4;
  int group = 64;
  std::optional<MixedConfig> mixed;
  std::string mixed_source;            // the config's file name, for errors
  bool adaptive = false;
  double target_bpw = 0.0;             // adaptive: average bits per weight over every weight
  double memory_budget_mib = 0.0;      // adaptive: total weight bytes
  std::string calibration_text;        // importance statistics and sensitivity
  size_t calibration_tokens = 128;
  std::string sensitivity_cache;       // adaptive: reuse measured sensitivities across runs
};

// Writes the package to out_dir (atomically) and returns its statistics: effective bits per weight,
// memory reduction vs fp16, bits per tensor and, when adaptive, the plan with predicted losses.
nlohmann::json quantize_llama(const std::string& in_path, const std::string& out_dir, const QuantizeOptions& options,
                              ThreadPool& pool);

}  // namespace webaccel::quant
