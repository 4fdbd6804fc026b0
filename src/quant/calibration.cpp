#include "quant/calibration.h"

#include <algorithm>
#include <fstream>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "cpu/quant_blocks.h"
#include "models/llama_vocab.h"
#include "quant/bit_allocation.h"
#include "quant/wq_quantize.h"

namespace webaccel::quant {

LogitComparison compare_logits(const float* ref, const float* x, size_t n_positions, size_t n_vocab) {
  LogitComparison c;
  for (size_t p = 0; p < n_positions; ++p) {
    const float* a = ref + p * n_vocab;
    const float* b = x + p * n_vocab;
    const double ma = *std::max_element(a, a + n_vocab), mb = *std::max_element(b, b + n_vocab);
    double za = 0, zb = 0;
    for (size_t i = 0; i < n_vocab; ++i) za += std::exp(a[i] - ma), zb += std::exp(b[i] - mb);
    const double la = std::log(za), lb = std::log(zb);
    double kl = 0;
    for (size_t i = 0; i < n_vocab; ++i) {
      const double lpa = a[i] - ma - la, lpb = b[i] - mb - lb;
      kl += std::exp(lpa) * (lpa - lpb);
    }
    c.mean_kld += kl;
    c.top1_agreement += (std::max_element(a, a + n_vocab) - a) == (std::max_element(b, b + n_vocab) - b);
  }
  c.mean_kld /= static_cast<double>(n_positions);
  c.top1_agreement /= static_cast<double>(n_positions);
  return c;
}

Calibration::Calibration(LlamaModel& model, const std::string& text, size_t max_tokens, ThreadPool& pool) {
  tok::BpeTokenizer tokenizer(bpe_vocab_from_gguf(model.gguf()));
  tokens_ = tokenizer.encode(text, false, false);
  if (tokens_.size() < 16) fail(ErrorKind::kInput, "calibration text gives only " + std::to_string(tokens_.size()) + " tokens (16+ needed)");
  if (tokens_.size() > max_tokens) tokens_.resize(max_tokens);
  LlamaSession session(model, tokens_.size(), pool);
  session.set_observer([&](const std::string& name, const float* x, size_t n_tokens, size_t n) {
    auto& acc = importance_[name];
    acc.resize(n, 0.0f);
    for (size_t t = 0; t < n_tokens; ++t) {
      for (size_t j = 0; j < n; ++j) acc[j] += x[t * n + j] * x[t * n + j];
    }
  });
  const auto logits = session.eval(tokens_, /*all_logits=*/true);
  baseline_logits_.assign(logits.begin(), logits.end());
  for (auto& [_, v] : importance_) {
    for (auto& x : v) x /= static_cast<float>(tokens_.size());
  }
}

uint64_t Calibration::fingerprint() const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the token ids
  for (int32_t t : tokens_) h = (h ^ static_cast<uint32_t>(t)) * 1099511628211ull;
  return h;
}

const float* Calibration::importance(const std::string& tensor) const {
  auto it = importance_.find(tensor);
  return it == importance_.end() ? nullptr : it->second.data();
}

double Calibration::kl_against_baseline(LlamaModel& model, ThreadPool& pool) const {
  LlamaSession session(model, tokens_.size(), pool);
  const auto logits = session.eval(tokens_, true);
  return compare_logits(baseline_logits_.data(), logits.data(), tokens_.size(), model.hparams().n_vocab).mean_kld;
}

void require_reachable(const LlamaModel& model, double budget) {
  double cheapest = 0, weights = 0;
  for (const auto& name : model.matrix_names()) {
    const auto& m = model.matrix_by_name(name);
    const auto formats = candidate_formats(m.cols);
    if (formats.empty()) fail(ErrorKind::kInput, "adaptive: tensor '" + name + "' rows fit no WQ group size");
    cheapest += static_cast<double>(m.rows * wq_row_bytes(formats.front(), m.cols));
    weights += static_cast<double>(m.rows * m.cols);
  }
  require_budget(cheapest, weights, budget);
}

AdaptivePlan plan_adaptive(LlamaModel& model, const Calibration& calib, double budget, ThreadPool& pool,
                           const std::string& sensitivity_cache) {
  const std::string cache_key = model.gguf().path() + "|" + std::to_string(calib.fingerprint()) + "|" +
                                std::string(ggml_type_name(kProbeFormat));
  nlohmann::json cache;
  if (!sensitivity_cache.empty()) {
    std::ifstream in(sensitivity_cache);
    if (in) {
      try {
        cache = nlohmann::json::parse(in);
      } catch (const nlohmann::json::exception&) {
        cache = nlohmann::json();
      }
      if (!cache.is_object() || cache.value("key", "") != cache_key) cache = nlohmann::json();
    }
  }
  const bool cached = cache.is_object() && cache.contains("kl");

  require_reachable(model, budget);
  std::vector<MatrixChoice> entries;
  for (const auto& name : model.matrix_names()) {
    const cpu::WeightMatrix original = model.matrix_by_name(name);
    std::vector<float> w(original.rows * original.cols);  // (rows, cols)
    for (size_t r = 0; r < original.rows; ++r) cpu::reference::dequantize_row(original.type, original.row(r), w.data() + r * original.cols, original.cols);
    const float* imp = calib.importance(name);
    MatrixChoice e = describe_matrix(name, w.data(), original.rows, original.cols, imp);
    if (cached && cache["kl"].contains(name)) {
      e.sensitivity = cache["kl"][name].get<double>();
    } else {
      // Sensitivity: this tensor alone at the probe format, measured on the calibration logits.
      const auto probe = quantize_matrix_wq(kProbeFormat, w.data(), e.rows, e.cols, imp, pool);
      model.replace_matrix(name, cpu::WeightMatrix{kProbeFormat, e.rows, e.cols, probe.data(), wq_row_bytes(kProbeFormat, e.cols)});
      e.sensitivity = std::max(calib.kl_against_baseline(model, pool), 0.0);
      model.replace_matrix(name, original);
    }
    entries.push_back(std::move(e));
  }
  if (!sensitivity_cache.empty() && !cached) {
    nlohmann::json out = {{"key", cache_key}};
    for (const auto& e : entries) out["kl"][e.name] = e.sensitivity;
    std::ofstream f(sensitivity_cache, std::ios::trunc);
    f << out.dump(1) << "\n";
  }
  AdaptivePlan plan;
  plan.report = allocate_bits(entries, budget);
  plan.report["loss"] = "mean KL-divergence of next-token distributions on the calibration text";
  for (const auto& e : entries) plan.types[e.name] = e.formats[e.choice];
  return plan;
}

}  // namespace webaccel::quant
