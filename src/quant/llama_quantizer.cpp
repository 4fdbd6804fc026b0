#include "quant/llama_quantizer.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "cpu/quant_blocks.h"
#include "format/package.h"
#include "models/llama.h"
#include "models/llama_vocab.h"
#include "quant/calibration.h"
#include "quant/wq_quantize.h"

namespace webaccel::quant {
namespace {

struct MatrixInfo {
  std::string name;
  size_t rows, cols;
};

std::vector<float> dequantize_matrix(const cpu::WeightMatrix& m) {
  std::vector<float> out(m.rows * m.cols);  // (rows, cols)
  for (size_t r = 0; r < m.rows; ++r) cpu::reference::dequantize_row(m.type, m.row(r), out.data() + r * m.cols, m.cols);
  return out;
}

std::string component_of(const std::string& name) {
  if (name == "token_embd.weight") return "embeddings";
  if (name.starts_with("blk.")) return "layers." + name.substr(4, name.find('.', 4) - 4);
  return "head";
}

int priority_of(const std::string& name) {
  if (name.starts_with("blk.")) return 1 + std::stoi(name.substr(4, name.find('.', 4) - 4));
  return 0;  // embeddings and head first: nothing runs without them
}

GgmlType checked_type(int bits, int group, const std::string& what) {
  auto t = wq_type(bits, group);
  if (!t) fail(ErrorKind::kUsage, what + ": " + std::to_string(bits) + "-bit with group size " + std::to_string(group) +
                                      " is not a format (bits 2, 3, 4, 8; group 32, 64, 128)");
  return *t;
}

}  // namespace

nlohmann::json quantize_llama(const std::string& in_path, const std::string& out_dir, const QuantizeOptions& o,
                              ThreadPool& pool) {
  const GgmlType uniform = checked_type(o.bits, o.group, "--bits/--group-size");
  auto file = open_model_file(in_path);
  LlamaModel model(file);
  std::vector<MatrixInfo> matrices;
  for (const auto& name : model.matrix_names()) {
    const auto& m = model.matrix_by_name(name);
    if (!o.adaptive && m.cols % static_cast<size_t>(o.group) != 0) {
      fail(ErrorKind::kUsage, in_path + ": tensor '" + name + "' has rows of " + std::to_string(m.cols) +
                                  " weights, which the group size " + std::to_string(o.group) + " does not divide");
    }
    matrices.push_back({name, m.rows, m.cols});
  }

  double total_weights_all = 0, fixed_bytes = 0;
  for (const auto& t : file->tensors()) {
    total_weights_all += static_cast<double>(t.n_elements);
    if (t.shape.size() == 1) fixed_bytes += 4.0 * static_cast<double>(t.n_elements);  // norms stay f32
  }
  const double matrix_budget =
      (o.memory_budget_mib > 0 ? o.memory_budget_mib * 1024 * 1024 : o.target_bpw * total_weights_all / 8.0) - fixed_bytes;
  if (o.adaptive) require_reachable(model, matrix_budget);

  // Calibration: importance (mean squared input per column) for every matrix.
  std::optional<Calibration> calib;
  if (!o.calibration_text.empty()) calib.emplace(model, o.calibration_text, o.calibration_tokens, pool);

  std::map<std::string, GgmlType> plan;
  for (const auto& m : matrices) plan[m.name] = uniform;
  nlohmann::json plan_json;
  if (o.mixed) {
    const auto bits = resolve_mixed_config(*o.mixed, [&] {
      std::vector<std::string> names;
      for (const auto& t : file->tensors()) names.push_back(t.name);
      return names;
    }(), model.output_tied(), o.mixed_source);
    for (const auto& [name, b] : bits) {
      if (plan.count(name) && b <= 8) plan[name] = checked_type(b, o.group, o.mixed_source + ": '" + name + "'");
    }
  }
  if (o.adaptive) {
    if (!calib) fail(ErrorKind::kUsage, "--adaptive needs --calibration TEXTFILE");
    auto planned = plan_adaptive(model, *calib, matrix_budget, pool, o.sensitivity_cache);
    plan = planned.types;
    plan_json = planned.report;
  }

  // Quantize every matrix to its planned type; keep every other tensor as it is.
  std::vector<PackageTensor> out;
  nlohmann::json per_tensor = nlohmann::json::object();
  double total_bytes = 0, total_weights = 0;
  for (const auto& t : file->tensors()) {
    PackageTensor pt;
    pt.name = t.name;
    pt.shape = t.shape;
    pt.component = component_of(t.name);
    pt.priority = priority_of(t.name);
    if (plan.count(t.name)) {
      const auto& m = model.matrix_by_name(t.name);
      const auto floats = dequantize_matrix(m);
      const float* imp = calib ? calib->importance(t.name) : nullptr;
      pt.type = plan.at(t.name);
      pt.bytes = quantize_matrix_wq(pt.type, floats.data(), m.rows, m.cols, imp, pool);
    } else {
      pt.type = t.type;
      pt.bytes.assign(t.data, t.data + t.n_bytes);
    }
    total_bytes += static_cast<double>(pt.bytes.size());
    total_weights += static_cast<double>(t.n_elements);
    per_tensor[t.name] = {{"type", std::string(ggml_type_name(pt.type))},
                          {"bits_per_weight", 8.0 * static_cast<double>(pt.bytes.size()) / static_cast<double>(t.n_elements)}};
    out.push_back(std::move(pt));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.priority < b.priority; });

  nlohmann::json stats = {
      {"source", in_path},
      {"method", o.adaptive ? "adaptive" : o.mixed ? "mixed" : "uniform"},
      {"bits", o.bits},
      {"group_size", o.group},
      {"total_weights", total_weights},
      {"total_bytes", total_bytes},
      {"effective_bits_per_weight", 8.0 * total_bytes / total_weights},
      {"memory_reduction_vs_fp16_percent", 100.0 * (1.0 - total_bytes / (2.0 * total_weights))},
      {"bits_per_layer", per_tensor},
  };
  if (o.adaptive) {
    stats["target_bits_per_weight"] = o.target_bpw;
    stats["memory_budget_mib"] = o.memory_budget_mib;
    stats["plan"] = plan_json;
  }
  if (calib) stats["calibration_tokens"] = calib->n_tokens();
  write_package(out_dir, file->metadata(), out, stats);
  return stats;
}

}  // namespace webaccel::quant
