// `webaccel quantize`: a llama GGUF or a BERT (sentence-transformers) folder -> a webaccel package
// of 2/3/4/8-bit WQ/WK weights, with the statistics the guide's API returns (memory reduction,
// effective bits, bits per layer) as JSON.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "models/bert_metadata.h"
#include "quant/bert_package.h"
#include "quant/llama_quantizer.h"
#include "quant/sentences.h"

namespace webaccel::cli {
namespace {

struct QuantizeCliOptions {
  std::string model;
  std::string out;
  std::string mixed;
  std::string calibration;
  std::string stats_path;
  quant::QuantizeOptions q;
  size_t threads = default_threads();
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kIo, path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void run_quantize(QuantizeCliOptions o) {
  if (o.q.adaptive && o.q.target_bpw <= 0 && o.q.memory_budget_mib <= 0) {
    fail(ErrorKind::kUsage, "--adaptive needs --target-bpw X or --memory-budget MIB");
  }
  if (!o.q.adaptive && (o.q.target_bpw > 0 || o.q.memory_budget_mib > 0)) {
    fail(ErrorKind::kUsage, "--target-bpw and --memory-budget only apply with --adaptive");
  }
  if (!o.mixed.empty()) {
    o.q.mixed = quant::load_mixed_config(o.mixed);
    o.q.mixed_source = o.mixed;
  }
  ThreadPool pool(o.threads);
  nlohmann::json stats;
  if (is_bert_model(o.model)) {
    if (!o.q.sensitivity_cache.empty()) fail(ErrorKind::kUsage, "--sensitivity-cache applies to llama models, not BERT encoders");
    // Encoders calibrate on sentences: the adaptive loss is 1 - cosine of their embeddings.
    const auto sentences = o.calibration.empty() ? std::vector<std::string>{} : quant::read_sentences(o.calibration, 32);
    stats = quant::quantize_bert_package(o.model, o.out, o.q, sentences, pool);
  } else {
    if (!o.calibration.empty()) o.q.calibration_text = read_text(o.calibration);
    stats = quant::quantize_llama(o.model, o.out, o.q, pool);
  }
  const std::string text = stats.dump(1) + "\n";
  if (!o.stats_path.empty()) {
    std::ofstream f(o.stats_path, std::ios::trunc);
    if (!(f << text)) fail(ErrorKind::kIo, o.stats_path + ": write failed");
  }
  std::fprintf(stderr, "[webaccel] %s -> %s: %s, %.3f bits per weight, %.1f%% smaller than fp16\n", o.model.c_str(),
               o.out.c_str(), stats["method"].get<std::string>().c_str(), stats["effective_bits_per_weight"].get<double>(),
               stats["memory_reduction_vs_fp16_percent"].get<double>());
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeCliOptions>();
  auto* cmd = app.add_subcommand("quantize", "Quantize a llama GGUF or a BERT folder to a webaccel package (2/3/4/8-bit, mixed, adaptive)");
  cmd->add_option("-m,--model", o->model, "input GGUF file, BERT (sentence-transformers) folder, or package")->required();
  cmd->add_option("-o,--output", o->out, "output package folder (written atomically)")->required();
  cmd->add_option("--bits", o->q.bits, "bits per weight: 2, 3, 4 or 8 (default for tensors no config names)")
      ->capture_default_str()->check(CLI::IsMember({2, 3, 4, 8}));
  cmd->add_option("--group-size", o->q.group, "weights per scale/min group: 32, 64 or 128; 192 = WK super-blocks (16-weight sub-blocks, 4-bit scales; bits 2-4)")
      ->capture_default_str()->check(CLI::IsMember({32, 64, 128, 192}));
  cmd->add_option("--mixed", o->mixed, "per-tensor-pattern bits config (JSON, the guide's shape)");
  cmd->add_flag("--adaptive", o->q.adaptive, "allocate bits by measured sensitivity");
  cmd->add_option("--target-bpw", o->q.target_bpw, "adaptive: average bits per weight over all weights");
  cmd->add_option("--memory-budget", o->q.memory_budget_mib, "adaptive: total weight MiB");
  cmd->add_option("--calibration", o->calibration, "calibration text file (importance statistics, sensitivity)");
  cmd->add_option("--calibration-tokens", o->q.calibration_tokens, "tokens of calibration text to use")->capture_default_str();
  cmd->add_option("--sensitivity-cache", o->q.sensitivity_cache, "adaptive: JSON file of measured sensitivities to reuse/write");
  cmd->add_option("--stats", o->stats_path, "also write the statistics JSON here");
  cmd->add_option("-t,--threads", o->threads, "threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->callback([o] { run_quantize(*o); });
}

}  // namespace webaccel::cli
