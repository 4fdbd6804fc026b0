// Calibration on real text: per-column input statistics of every matrix (an importance matrix)
// and the unquantized model's logits, then the adaptive bit allocation that uses them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "format/ggml_types.h"
#include "models/llama.h"

namespace webaccel::quant {

class Calibration {
 public:
  Calibration(LlamaModel& model, const std::string& text, size_t max_tokens, ThreadPool& pool);

  const float* importance(const std::string& tensor) const;  // (cols) mean squared input; null if unseen
  size_t n_tokens() const { return tokens_.size(); }
  uint64_t fingerprint() const;  // of the calibration tokens, to key caches
  // Mean KL(reference || model) over the calibration positions, model as it is now.
  double kl_against_baseline(LlamaModel& model, ThreadPool& pool) const;

 private:
  std::vector<int32_t> tokens_;
  std::map<std::string, std::vector<float>> importance_;
  std::vector<float> baseline_logits_;  // (n_tokens, n_vocab)
};

struct AdaptivePlan {
  std::map<std::string, GgmlType> types;
  nlohmann::json report;  // per tensor: sensitivity, chosen format, predicted loss
};

// Chooses a WQ format per matrix so their bytes fit matrix_budget_bytes with the least predicted
// loss. Sensitivity of a tensor = measured KL when it alone is quantized to 2 bits (group 64);
// other formats scale it by their importance-weighted squared error relative to that probe.
// Error(kInput) when even the cheapest formats exceed matrix_budget_bytes.
void require_reachable(const LlamaModel& model, double matrix_budget_bytes);

// sensitivity_cache (optional): a JSON file of measured probe KLs, reused when it was made for the
// same model and calibration, written otherwise (the probes dominate the planning time).
AdaptivePlan plan_adaptive(LlamaModel& model, const Calibration& calib, double matrix_budget_bytes, ThreadPool& pool,
                           const std::string& sensitivity_cache = "");

// Mean over positions of KL(softmax(ref) || softmax(x)), and how often their argmax agree.
struct LogitComparison {
  double mean_kld = 0;
  double top1_agreement = 0;
};
LogitComparison compare_logits(const float* ref, const float* x, size_t n_positions, size_t n_vocab);

}  // namespace webaccel::quant
