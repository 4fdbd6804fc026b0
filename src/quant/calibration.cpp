#include "quant/calibration.h"

#include <algorithm>
#include <fstream>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "cpu/quant_blocks.h"
#include "models/llama_vocab.h"
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

namespace {

constexpr GgmlType kProbe = GgmlType::kWQ2_G64;

// Every WQ format whose group divides the row, cheapest first.
std::vector<GgmlType> candidates_for(size_t cols) {
  std::vector<GgmlType> out;
  for (int bits : {2, 3, 4, 8}) {
    for (int group : {128, 64, 32}) {
      if (cols % static_cast<size_t>(group) == 0) out.push_back(*wq_type(bits, group));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](GgmlType a, GgmlType b) { return wq_bits_per_weight(a) < wq_bits_per_weight(b); });
  return out;
}
constexpr size_t kErrorSampleRows = 96;

// Importance-weighted squared error of quantizing a sample of rows, scaled to the whole matrix.
double weighted_error(GgmlType type, const std::vector<float>& w, size_t rows, size_t cols, const float* imp) {
  const size_t step = std::max<size_t>(1, rows / kErrorSampleRows);
  std::vector<uint8_t> packed(wq_row_bytes(type, cols));
  std::vector<float> back(cols);
  double err = 0;
  size_t sampled = 0;
  for (size_t r = 0; r < rows; r += step, ++sampled) {
    quantize_row_wq(type, w.data() + r * cols, imp, packed.data(), cols);
    cpu::reference::dequantize_row(type, packed.data(), back.data(), cols);
    for (size_t j = 0; j < cols; ++j) {
      const double e = back[j] - w[r * cols + j];
      err += (imp ? imp[j] : 1.0f) * e * e;
    }
  }
  return err * static_cast<double>(rows) / static_cast<double>(sampled);
}

}  // namespace

void require_reachable(const LlamaModel& model, double budget) {
  double floor_bytes = 0, floor_weights = 0;
  for (const auto& name : model.matrix_names()) {
    const auto& m = model.matrix_by_name(name);
    const auto formats = candidates_for(m.cols);
    if (formats.empty()) fail(ErrorKind::kInput, "adaptive: tensor '" + name + "' rows fit no WQ group size");
    floor_bytes += static_cast<double>(m.rows * wq_row_bytes(formats.front(), m.cols));
    floor_weights += static_cast<double>(m.rows * m.cols);
  }
  if (floor_bytes > budget) {
    fail(ErrorKind::kInput, "the target is below what the formats can reach: the matrices need at least " +
                                std::to_string(8.0 * floor_bytes / floor_weights) + " bits per weight (" +
                                std::to_string(floor_bytes / (1 << 20)) + " MiB) in the cheapest formats");
  }
}

AdaptivePlan plan_adaptive(LlamaModel& model, const Calibration& calib, double budget, ThreadPool& pool,
                           const std::string& sensitivity_cache) {
  const std::string cache_key = model.gguf().path() + "|" + std::to_string(calib.fingerprint()) + "|" +
                                std::string(ggml_type_name(kProbe));
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
  struct Entry {
    std::string name;
    size_t rows, cols;
    double kl_probe = 0;
    std::vector<GgmlType> formats;
    std::vector<double> error, bytes;
    double probe_error = 1e-30;
    size_t choice = 0;
    double loss(size_t c) const { return kl_probe * error[c] / std::max(probe_error, 1e-30); }
  };
  std::vector<Entry> entries;
  for (const auto& name : model.matrix_names()) {
    const cpu::WeightMatrix original = model.matrix_by_name(name);
    std::vector<float> w(original.rows * original.cols);
    for (size_t r = 0; r < original.rows; ++r) cpu::reference::dequantize_row(original.type, original.row(r), w.data() + r * original.cols, original.cols);
    Entry e;
    e.name = name;
    e.rows = original.rows;
    e.cols = original.cols;
    e.formats = candidates_for(e.cols);
    if (e.cols % 64 != 0) fail(ErrorKind::kInput, "adaptive: tensor '" + name + "' rows are not a multiple of 64");
    const float* imp = calib.importance(name);
    for (GgmlType f : e.formats) {
      e.error.push_back(weighted_error(f, w, e.rows, e.cols, imp));
      e.bytes.push_back(static_cast<double>(e.rows * wq_row_bytes(f, e.cols)));
      if (f == kProbe) e.probe_error = e.error.back();
    }
    if (cached && cache["kl"].contains(name)) {
      e.kl_probe = cache["kl"][name].get<double>();
    } else {
      // Sensitivity: this tensor alone at the probe format, measured on the calibration logits.
      const auto probe = quantize_matrix_wq(kProbe, w.data(), e.rows, e.cols, imp, pool);
      model.replace_matrix(name, cpu::WeightMatrix{kProbe, e.rows, e.cols, probe.data(), wq_row_bytes(kProbe, e.cols)});
      e.kl_probe = std::max(calib.kl_against_baseline(model, pool), 0.0);
      model.replace_matrix(name, original);
    }
    entries.push_back(std::move(e));
  }

  if (!sensitivity_cache.empty() && !cached) {
    nlohmann::json out = {{"key", cache_key}};
    for (const auto& e : entries) out["kl"][e.name] = e.kl_probe;
    std::ofstream f(sensitivity_cache, std::ios::trunc);
    f << out.dump(1) << "\n";
  }
  double used = 0;
  for (const auto& e : entries) used += e.bytes[0];
  // Greedy: repeatedly take the upgrade with the largest loss reduction per extra byte that fits.
  for (;;) {
    double best_ratio = 0;
    size_t best_e = 0, best_c = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      for (size_t c = e.choice + 1; c < e.formats.size(); ++c) {
        const double extra = e.bytes[c] - e.bytes[e.choice];
        if (extra <= 0 || used + extra > budget) continue;
        const double ratio = (e.loss(e.choice) - e.loss(c)) / extra;
        if (ratio > best_ratio) best_ratio = ratio, best_e = i, best_c = c;
      }
    }
    if (best_ratio <= 0) break;
    used += entries[best_e].bytes[best_c] - entries[best_e].bytes[entries[best_e].choice];
    entries[best_e].choice = best_c;
  }

  AdaptivePlan plan;
  double predicted = 0;
  for (const auto& e : entries) {
    plan.types[e.name] = e.formats[e.choice];
    predicted += e.loss(e.choice);
    plan.report["tensors"][e.name] = {{"format", std::string(ggml_type_name(e.formats[e.choice]))},
                                      {"kl_at_probe", e.kl_probe},
                                      {"predicted_kl", e.loss(e.choice)}};
  }
  plan.report["probe_format"] = std::string(ggml_type_name(kProbe));
  plan.report["predicted_total_kl"] = predicted;
  plan.report["matrix_bytes"] = used;
  plan.report["matrix_budget_bytes"] = budget;
  return plan;
}

}  // namespace webaccel::quant
