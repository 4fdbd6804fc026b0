// What one benchmark cell measured and how, and the run it belongs to: the rows the store keeps.
#pragma once

#include <optional>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace webaccel::bench {

struct RunInfo {
  std::string run_id;
  std::string status = "running";  // running -> complete | failed; a dead 'running' run reads as incomplete
  std::string source = "webaccel bench";
  std::string started_at, finished_at;  // UTC, "YYYY-MM-DD HH:MM:SS"
  std::string git_commit, machine, os, cpu, gpu, browser, browser_version, command_line, webaccel_version;
  int cpu_cores = 0;
  long pid = 0;
  std::string process_start;  // /proc start time, so a reused pid is not mistaken for the run
  int cells_planned = 0;
};

// Quality of a quantized variant against the model file it was made from, measured by the eval
// code (src/quant/evaluate.h) on a held-out text: the guide's ultra_low_precision_results row.
struct QualityResult {
  int bits = 0;
  int group_size = 0;
  bool adaptive_precision = false;
  std::optional<double> memory_reduction_percent;  // vs fp16 weights, from the quantizer's byte count
  std::optional<double> accuracy_impact_percent;   // perplexity increase over the reference, percent
  std::optional<double> effective_bits_per_weight, perplexity, reference_perplexity, mean_kld, top1_agreement;
  std::optional<int> eval_tokens;
  std::string eval_text;
};

template <typename Q, typename F>
void for_each_field(Q& q, F&& f) requires std::is_same_v<std::remove_const_t<Q>, QualityResult> {
  f("bits", q.bits); f("group_size", q.group_size); f("adaptive_precision", q.adaptive_precision);
  f("memory_reduction_percent", q.memory_reduction_percent); f("accuracy_impact_percent", q.accuracy_impact_percent);
  f("effective_bits_per_weight", q.effective_bits_per_weight); f("perplexity", q.perplexity);
  f("reference_perplexity", q.reference_perplexity); f("mean_kld", q.mean_kld); f("top1_agreement", q.top1_agreement);
  f("eval_tokens", q.eval_tokens); f("eval_text", q.eval_text);
}

struct Measurement {
  // The guide's columns.
  std::string model_name, model_type, browser = "none", platform;
  std::optional<std::string> browser_version;
  std::optional<int> precision_bits, batch_size, sequence_length;
  std::optional<double> loading_time_ms, first_inference_time_ms, average_inference_time_ms, memory_usage_mb;
  // webaccel's additions (schema version 2).
  std::string engine = "webaccel", backend, host = "native", precision_name, model_file;
  std::optional<int> threads, decode_tokens, iterations;
  std::optional<double> weights_mb, tokens_per_second, prefill_tokens_per_second, decode_tokens_per_second,
      inference_time_stddev_ms, shader_compilation_ms;
  std::optional<QualityResult> quality;  // quantized variants only; stored in ultra_low_precision_results
  // How the cell was made beyond the backend (schema version 4): what ran it, on which adapter,
  // and whether it was measured at all ('skipped': the backend is absent here, the reason says why).
  std::string cell_status = "measured", skip_reason, cell_command, adapter, host_version, runtime_variant;
};

// Visits every field with its column name: JSON files and SQL rows use the same names.
template <typename R, typename F>
void for_each_field(R& r, F&& f) requires std::is_same_v<std::remove_const_t<R>, RunInfo> {
  f("run_id", r.run_id); f("status", r.status); f("source", r.source);
  f("started_at", r.started_at); f("finished_at", r.finished_at); f("git_commit", r.git_commit);
  f("machine", r.machine); f("os", r.os); f("cpu", r.cpu); f("cpu_cores", r.cpu_cores); f("gpu", r.gpu);
  f("browser", r.browser); f("browser_version", r.browser_version); f("command_line", r.command_line);
  f("webaccel_version", r.webaccel_version); f("pid", r.pid); f("process_start", r.process_start);
  f("cells_planned", r.cells_planned);
}

template <typename M, typename F>
void for_each_field(M& m, F&& f) requires std::is_same_v<std::remove_const_t<M>, Measurement> {
  f("model_name", m.model_name); f("model_type", m.model_type); f("browser", m.browser);
  f("browser_version", m.browser_version); f("platform", m.platform); f("precision_bits", m.precision_bits);
  f("batch_size", m.batch_size); f("sequence_length", m.sequence_length); f("loading_time_ms", m.loading_time_ms);
  f("first_inference_time_ms", m.first_inference_time_ms); f("average_inference_time_ms", m.average_inference_time_ms);
  f("memory_usage_mb", m.memory_usage_mb); f("engine", m.engine); f("backend", m.backend); f("host", m.host);
  f("precision_name", m.precision_name); f("model_file", m.model_file); f("threads", m.threads);
  f("decode_tokens", m.decode_tokens); f("iterations", m.iterations); f("weights_mb", m.weights_mb);
  f("tokens_per_second", m.tokens_per_second); f("prefill_tokens_per_second", m.prefill_tokens_per_second);
  f("decode_tokens_per_second", m.decode_tokens_per_second); f("inference_time_stddev_ms", m.inference_time_stddev_ms);
  f("shader_compilation_ms", m.shader_compilation_ms); f("cell_status", m.cell_status); f("skip_reason", m.skip_reason);
  f("cell_command", m.cell_command); f("adapter", m.adapter); f("host_version", m.host_version);
  f("runtime_variant", m.runtime_variant);
}

nlohmann::json to_json(const RunInfo& r);
nlohmann::json to_json(const Measurement& m);
RunInfo run_from_json(const nlohmann::json& j, const std::string& where);  // Error naming where + field
Measurement measurement_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace webaccel::bench
