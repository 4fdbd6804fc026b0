#include "quant/bert_quantizer.h"

#include <cmath>
#include <map>

#include "core/error.h"
#include "cpu/quant_blocks.h"
#include "quant/bit_allocation.h"
#include "quant/wq_quantize.h"

namespace webaccel::quant {
namespace {

// Progressive-loading unit: "embeddings" (with its norm) or "layers.<i>" (Hugging Face's
// "encoder.layer.<i>." or llama.cpp's "blk.<i>." names).
std::string component_of(const std::string& name) {
  static const std::string kLayer = "encoder.layer.", kBlock = "blk.";
  if (name.starts_with(kBlock)) return "layers." + name.substr(kBlock.size(), name.find('.', kBlock.size()) - kBlock.size());
  const auto at = name.find(kLayer);
  if (at == std::string::npos) return "embeddings";
  const size_t begin = at + kLayer.size();
  return "layers." + name.substr(begin, name.find('.', begin) - begin);
}

int priority_of(const std::string& component) {
  return component == "embeddings" ? 0 : 1 + std::stoi(component.substr(std::string("layers.").size()));
}

std::vector<float> dequantize_matrix(const cpu::WeightMatrix& m) {
  std::vector<float> out(m.rows * m.cols);  // (rows, cols)
  for (size_t r = 0; r < m.rows; ++r) cpu::reference::dequantize_row(m.type, m.row(r), out.data() + r * m.cols, m.cols);
  return out;
}

GgmlType format_for(int bits, int group, const std::string& what) {
  const auto t = wq_type(bits, group);
  if (!t) {
    fail(ErrorKind::kUsage, what + ": " + std::to_string(bits) + "-bit with group size " + std::to_string(group) +
                                " is not a format (bits 2, 3, 4, 8; group 32, 64, 128; 192 = WK super-blocks, bits 2-4)");
  }
  return *t;
}

// Each matrix's sensitivity (1 - cosine with it alone at the probe format), then the greedy
// allocation of the byte budget; returns the plan's report and sets plan's formats.
nlohmann::json plan_adaptive(BertModel& model, const std::map<std::string, std::vector<float>>& floats,
                             const std::vector<std::string>& calibration, double budget, ThreadPool& pool,
                             std::map<std::string, GgmlType>& plan) {
  if (calibration.empty()) fail(ErrorKind::kUsage, "--adaptive needs --calibration TEXTFILE (its sentences)");
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
  auto report = allocate_bits(entries, budget);
  report["loss"] = "mean (1 - cosine) of sentence embeddings on the calibration sentences";
  for (const auto& e : entries) plan[e.name] = e.formats[e.choice];
  return report;
}

}  // namespace

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

QuantizedBert quantize_bert(BertModel& model, const QuantizeOptions& o, const std::vector<std::string>& calibration,
                            ThreadPool& pool) {
  const GgmlType uniform = format_for(o.bits, o.group, "--bits/--group-size");
  const std::string& source = model.weights().path();
  std::map<std::string, std::vector<float>> floats;  // (rows, cols) per matrix
  std::map<std::string, GgmlType> plan;
  for (const auto& name : model.matrix_names()) {
    const auto& m = model.matrix_by_name(name);
    if (!o.adaptive && m.cols % static_cast<size_t>(o.group) != 0) {
      fail(ErrorKind::kUsage, source + ": tensor '" + name + "' has rows of " + std::to_string(m.cols) +
                                  " weights, which the group size " + std::to_string(o.group) + " does not divide");
    }
    floats[name] = dequantize_matrix(m);
    plan[name] = uniform;
  }
  if (o.mixed) {
    for (const auto& [name, b] : resolve_mixed_config(*o.mixed, model.tensor_names(), false, o.mixed_source)) {
      if (!plan.count(name)) continue;  // biases and norms stay as stored
      if (b > 8) {
        plan.erase(name);  // 16/32 bits: keep the stored floats
      } else {
        plan[name] = format_for(b, o.group, o.mixed_source + ": '" + name + "'");
      }
    }
  }

  double total_weights = 0, fixed_bytes = 0;
  for (const auto& name : model.tensor_names()) {
    const auto& t = model.weights().tensor(name);
    total_weights += static_cast<double>(t.n_elements);
    if (!floats.count(name)) fixed_bytes += static_cast<double>(t.n_bytes);
  }
  QuantizedBert result;
  if (o.adaptive) {
    const double budget = (o.memory_budget_mib > 0 ? o.memory_budget_mib * 1024 * 1024 : o.target_bpw * total_weights / 8.0) - fixed_bytes;
    result.stats["plan"] = plan_adaptive(model, floats, calibration, budget, pool, plan);
    result.stats["target_bits_per_weight"] = o.target_bpw;
    result.stats["memory_budget_mib"] = o.memory_budget_mib;
  }

  double total_bytes = 0;
  for (const auto& name : model.tensor_names()) {
    const auto& t = model.weights().tensor(name);
    PackageTensor pt;
    pt.name = name;
    pt.shape.assign(t.shape.rbegin(), t.shape.rend());  // row-major -> GGUF order
    pt.component = component_of(name);
    pt.priority = priority_of(pt.component);
    if (const auto it = plan.find(name); it != plan.end()) {
      const auto& m = model.matrix_by_name(name);
      pt.type = it->second;
      pt.bytes = quantize_matrix_wq(pt.type, floats.at(name).data(), m.rows, m.cols, nullptr, pool);
    } else {
      pt.type = t.type;
      pt.bytes.assign(t.data, t.data + t.n_bytes);
    }
    total_bytes += static_cast<double>(pt.bytes.size());
    result.stats["bits_per_layer"][name] = {
        {"type", std::string(ggml_type_name(pt.type))},
        {"bits_per_weight", 8.0 * static_cast<double>(pt.bytes.size()) / static_cast<double>(t.n_elements)}};
    result.tensors.push_back(std::move(pt));
  }
  result.stats["source"] = source;
  result.stats["method"] = o.adaptive ? "adaptive" : o.mixed ? "mixed" : "uniform";
  result.stats["bits"] = o.bits;
  result.stats["group_size"] = o.group;
  result.stats["total_weights"] = total_weights;
  result.stats["total_bytes"] = total_bytes;
  result.stats["effective_bits_per_weight"] = 8.0 * total_bytes / total_weights;
  result.stats["memory_reduction_vs_fp16_percent"] = 100.0 * (1.0 - total_bytes / (2.0 * total_weights));
  return result;
}

QuantizedBert quantize_bert_in_memory(BertModel& model, const QuantizeOptions& o, const std::vector<std::string>& calibration,
                                      ThreadPool& pool) {
  auto q = quantize_bert(model, o, calibration, pool);
  for (const auto& t : q.tensors) {
    if (!wq_params(t.type) && !wk_bits(t.type)) continue;  // kept as stored
    const size_t rows = t.shape[1], cols = t.shape[0];
    model.replace_matrix(t.name, cpu::WeightMatrix{t.type, rows, cols, t.bytes.data(), wq_row_bytes(t.type, cols)});
  }
  return q;
}

}  // namespace webaccel::quant
