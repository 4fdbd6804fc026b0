#include "quant/bit_allocation.h"

#include <algorithm>

#include "core/error.h"
#include "cpu/quant_blocks.h"
#include "quant/wq_quantize.h"

namespace webaccel::quant {

namespace {
constexpr size_t kErrorSampleRows = 96;
}

double MatrixChoice::loss(size_t c) const { return sensitivity * error[c] / std::max(probe_error, 1e-30); }

std::vector<GgmlType> candidate_formats(size_t cols) {
  std::vector<GgmlType> out;
  for (int bits : {2, 3, 4, 8}) {
    for (int group : {128, 64, 32}) {
      if (cols % static_cast<size_t>(group) == 0) out.push_back(*wq_type(bits, group));
    }
    if (bits <= 4 && cols % kWkSuperBlock == 0) out.push_back(*wq_type(bits, static_cast<int>(kWkSuperBlock)));
  }
  std::stable_sort(out.begin(), out.end(), [](GgmlType a, GgmlType b) { return wq_bits_per_weight(a) < wq_bits_per_weight(b); });
  return out;
}

double sampled_error(GgmlType type, const float* w, size_t rows, size_t cols, const float* imp) {
  const size_t step = std::max<size_t>(1, rows / kErrorSampleRows);
  std::vector<uint8_t> packed(wq_row_bytes(type, cols));
  std::vector<float> back(cols);
  double err = 0;
  size_t sampled = 0;
  for (size_t r = 0; r < rows; r += step, ++sampled) {
    quantize_row_wq(type, w + r * cols, imp, packed.data(), cols);
    cpu::reference::dequantize_row(type, packed.data(), back.data(), cols);
    for (size_t j = 0; j < cols; ++j) {
      const double e = back[j] - w[r * cols + j];
      err += (imp ? imp[j] : 1.0f) * e * e;
    }
  }
  return err * static_cast<double>(rows) / static_cast<double>(sampled);
}

MatrixChoice describe_matrix(const std::string& name, const float* w, size_t rows, size_t cols, const float* imp) {
  MatrixChoice m;
  m.name = name;
  m.rows = rows;
  m.cols = cols;
  m.formats = candidate_formats(cols);
  if (cols % 64 != 0) fail(ErrorKind::kInput, "adaptive: tensor '" + name + "' rows are not a multiple of 64");
  for (GgmlType f : m.formats) {
    m.error.push_back(sampled_error(f, w, rows, cols, imp));
    m.bytes.push_back(static_cast<double>(rows * wq_row_bytes(f, cols)));
    if (f == kProbeFormat) m.probe_error = m.error.back();
  }
  return m;
}

void require_budget(double cheapest_bytes, double n_weights, double budget) {
  if (cheapest_bytes > budget) {
    fail(ErrorKind::kInput, "the target is below what the formats can reach: the matrices need at least " +
                                std::to_string(8.0 * cheapest_bytes / n_weights) + " bits per weight (" +
                                std::to_string(cheapest_bytes / (1 << 20)) + " MiB) in the cheapest formats");
  }
}

nlohmann::json allocate_bits(std::vector<MatrixChoice>& entries, double budget) {
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
  nlohmann::json report;
  double predicted = 0;
  for (const auto& e : entries) {
    predicted += e.loss(e.choice);
    report["tensors"][e.name] = {{"format", std::string(ggml_type_name(e.formats[e.choice]))},
                                 {"sensitivity_at_probe", e.sensitivity},
                                 {"predicted_loss", e.loss(e.choice)}};
  }
  report["probe_format"] = std::string(ggml_type_name(kProbeFormat));
  report["predicted_total_loss"] = predicted;
  report["matrix_bytes"] = used;
  report["matrix_budget_bytes"] = budget;
  return report;
}

}  // namespace webaccel::quant
