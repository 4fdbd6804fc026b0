#include "quant/bert_quantizer.h"

#include <cmath>
#include <map>

#include "core/error.h"
#include "cpu/quant_blocks.h"
#include "quant/bit_allocation.h"
#include "quant/wq_quantize.h"

namespace webaccel::quant {

std::vector<std::vector<float>> embed_all(const BertModel& model, const std::vector<std::string>& sentences, ThreadPool& pool) {
  std::vector<std::vector<float>> out;
  for (const auto& s : sentences) out.push_back(model.embed(s, pool));
  return out;
}

double mean_cosine(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  double total = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double dot = 0, na = 0, nb = 0;
    for (size_t j = 0; j < a[i].size(); ++j) dot += a[i][j] * b[i][j], na += a[i][j] * a[i][j], nb += b[i][j] * b[i][j];
    total += dot / std::sqrt(na * nb);
  }
  return total / static_cast<double>(a.size());
}

QuantizedBert quantize_bert_in_memory(BertModel& model, const QuantizeOptions& o,
                                      const std::vector<std::string>& calibration, ThreadPool& pool) {
  const auto uniform = wq_type(o.bits, o.group);
  if (!uniform) fail(ErrorKind::kUsage, "--bits/--group-size: not a WQ format");
  std::map<std::string, std::vector<float>> floats;  // (rows, cols) per matrix
  for (const auto& name : model.matrix_names()) {
    const auto& m = model.matrix_by_name(name);
    if (!o.adaptive && m.cols % static_cast<size_t>(o.group) != 0) {
      fail(ErrorKind::kUsage, "tensor '" + name + "' has rows of " + std::to_string(m.cols) + " weights, which the group size " +
                                  std::to_string(o.group) + " does not divide");
    }
    auto& f = floats[name];
    f.resize(m.rows * m.cols);
    for (size_t r = 0; r < m.rows; ++r) cpu::reference::dequantize_row(m.type, m.row(r), f.data() + r * m.cols, m.cols);
  }
  std::map<std::string, GgmlType> plan;
  for (const auto& [name, _] : floats) plan[name] = *uniform;
  QuantizedBert result;

  if (o.mixed) {
    std::vector<std::string> names;
    for (const auto& t : model.weights().tensors()) names.push_back(t.name);
    for (const auto& [name, b] : resolve_mixed_config(*o.mixed, names, false, o.mixed_source)) {
      if (plan.count(name) && b <= 8) {
        auto t = wq_type(b, o.group);
        if (!t) fail(ErrorKind::kUsage, o.mixed_source + ": '" + name + "': no " + std::to_string(b) + "-bit format");
        plan[name] = *t;
      }
    }
  }

  double total_weights = 0, fixed_bytes = 0;
  for (const auto& t : model.weights().tensors()) {
    total_weights += static_cast<double>(t.n_elements);
    if (!floats.count(t.name)) fixed_bytes += static_cast<double>(t.n_bytes);  // biases, norms, positions stay as stored
  }
  if (o.adaptive) {
    if (calibration.empty()) fail(ErrorKind::kUsage, "--adaptive needs calibration sentences");
    const double budget = (o.memory_budget_mib > 0 ? o.memory_budget_mib * 1024 * 1024 : o.target_bpw * total_weights / 8.0) - fixed_bytes;
    double cheapest = 0, weights = 0;
    for (const auto& [name, f] : floats) {
      const auto& m = model.matrix_by_name(name);
      cheapest += static_cast<double>(m.rows * wq_row_bytes(candidate_formats(m.cols).front(), m.cols));
      weights += static_cast<double>(f.size());
    }
    require_budget(cheapest, weights, budget);
    const auto baseline = embed_all(model, calibration, pool);
    std::vector<MatrixChoice> entries;
    for (const auto& [name, f] : floats) {
      const cpu::WeightMatrix original = model.matrix_by_name(name);
      MatrixChoice e = describe_matrix(name, f.data(), original.rows, original.cols, nullptr);
      const auto probe = quantize_matrix_wq(kProbeFormat, f.data(), e.rows, e.cols, nullptr, pool);
      model.replace_matrix(name, cpu::WeightMatrix{kProbeFormat, e.rows, e.cols, probe.data(), wq_row_bytes(kProbeFormat, e.cols)});
      e.sensitivity = std::max(1.0 - mean_cosine(baseline, embed_all(model, calibration, pool)), 0.0);
      model.replace_matrix(name, original);
      entries.push_back(std::move(e));
    }
    result.stats["plan"] = allocate_bits(entries, budget);
    result.stats["plan"]["loss"] = "mean (1 - cosine) of sentence embeddings on the calibration sentences";
    for (const auto& e : entries) plan[e.name] = e.formats[e.choice];
  }

  double total_bytes = fixed_bytes;
  for (const auto& [name, f] : floats) {
    const auto& m = model.matrix_by_name(name);
    const GgmlType type = plan.at(name);
    result.buffers.push_back(quantize_matrix_wq(type, f.data(), m.rows, m.cols, nullptr, pool));
    total_bytes += static_cast<double>(result.buffers.back().size());
    model.replace_matrix(name, cpu::WeightMatrix{type, m.rows, m.cols, result.buffers.back().data(), wq_row_bytes(type, m.cols)});
    result.stats["bits_per_layer"][name] = {{"type", std::string(ggml_type_name(type))}, {"bits_per_weight", wq_bits_per_weight(type)}};
  }
  result.stats["method"] = o.adaptive ? "adaptive" : o.mixed ? "mixed" : "uniform";
  result.stats["total_weights"] = total_weights;
  result.stats["total_bytes"] = total_bytes;
  result.stats["effective_bits_per_weight"] = 8.0 * total_bytes / total_weights;
  result.stats["memory_reduction_vs_fp16_percent"] = 100.0 * (1.0 - total_bytes / (2.0 * total_weights));
  return result;
}

}  // namespace webaccel::quant
