#include "bench/variants.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "format/package.h"
#include "models/llama.h"
#include "models/llama_vocab.h"
#include "quant/evaluate.h"
#include "quant/llama_quantizer.h"

namespace webaccel::bench {
namespace {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kIo, path + ": cannot open");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr const char* kGpl3 = "/usr/share/common-licenses/GPL-3";

}  // namespace

std::string default_eval_text_path() { return kGpl3; }

PrecisionRequest parse_precision(const std::string& name, const ModelSpec& model, const PrecisionInfo& stored) {
  if (name == "stored" || name == stored.name) return {name, 0, 0};
  std::smatch m;
  if (!std::regex_match(name, m, std::regex("wq([2348])(?:_g(32|64|128))?"))) {
    fail(ErrorKind::kUsage, "--precisions: '" + name + "' for " + model.name + ": expected stored (" + stored.name +
                                ") or wq2, wq3, wq4, wq8 with an optional _g32/_g64/_g128 group size");
  }
  if (model.arch != "llama") {
    fail(ErrorKind::kUsage, "--precisions: " + model.name + " is stored as " + stored.name + "; '" + name +
                                "' needs the quantizer, which handles llama GGUFs only so far");
  }
  return {name, std::stoi(m[1]), m[2].matched ? std::stoi(m[2]) : 64};
}

Variant prepare_variant(const ModelSpec& model, const PrecisionRequest& p, const std::string& package_dir, int threads) {
  if (p.bits == 0) return {model.path, inspect_precision(model), std::nullopt};
  const std::string dir = package_dir + "/" + model.name + "-wq" + std::to_string(p.bits) + "-g" + std::to_string(p.group);
  const std::string stats_path = dir + ".stats.json";
  if (!fs::exists(stats_path) || !is_package_dir(dir)) {
    std::error_code ec;
    fs::create_directories(package_dir, ec);
    if (ec) fail(ErrorKind::kIo, package_dir + ": cannot create directory: " + ec.message());
    quant::QuantizeOptions q;
    q.bits = p.bits;
    q.group = p.group;
    ThreadPool pool(static_cast<size_t>(threads));
    const auto stats = quant::quantize_llama(model.path, dir, q, pool);
    std::ofstream(stats_path + ".partial") << stats.dump(1) << "\n";
    fs::rename(stats_path + ".partial", stats_path);
  }
  nlohmann::json stats;
  try {
    stats = nlohmann::json::parse(read_file(stats_path));
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kFormat, stats_path + ": " + e.what() + " (delete it to quantize again)");
  }
  ModelSpec packaged = model;
  packaged.path = dir;
  Variant v{dir, inspect_precision(packaged), QualityResult{}};
  v.info.name = p.name;  // the request names the variant; the dominant stored type may be e.g. WQ2_G64
  v.info.bits = p.bits;
  v.quality->bits = p.bits;
  v.quality->group_size = p.group;
  v.quality->memory_reduction_percent = stats.value("memory_reduction_vs_fp16_percent", 0.0);
  v.quality->effective_bits_per_weight = stats.value("effective_bits_per_weight", 0.0);
  return v;
}

void measure_quality(const ModelSpec& model, Variant& v, const std::string& eval_text_path, size_t windows, int threads) {
  if (!v.quality) return;
  std::string text = read_file(eval_text_path);
  if (eval_text_path == kGpl3) {
    // Skip the calibration quarter exactly as bench/quant/make_texts.py cuts it.
    const size_t cut = text.find("\n\n", text.size() / 4);
    if (cut != std::string::npos) text = text.substr(cut + 2);
  }
  const auto reference_file = open_model_file(model.path);
  LlamaModel reference(reference_file);
  LlamaModel quantized(open_model_file(v.path));
  const tok::BpeTokenizer tokenizer(bpe_vocab_from_gguf(*reference_file));
  const size_t ctx = 128;
  auto tokens = tokenizer.encode(text, false, false);
  if (tokens.size() > windows * ctx) tokens.resize(windows * ctx);
  if (tokens.size() < ctx) fail(ErrorKind::kInput, eval_text_path + ": fewer than " + std::to_string(ctx) + " tokens to evaluate on");
  ThreadPool pool(static_cast<size_t>(threads));
  const auto q = quant::evaluate_llama(quantized, &reference, tokens, ctx, pool);
  const auto r = quant::evaluate_llama(reference, nullptr, tokens, ctx, pool);
  v.quality->perplexity = q.perplexity;
  v.quality->reference_perplexity = r.perplexity;
  v.quality->accuracy_impact_percent = (q.perplexity / r.perplexity - 1.0) * 100.0;
  v.quality->mean_kld = q.mean_kld;
  v.quality->top1_agreement = q.top1_agreement;
  v.quality->eval_tokens = static_cast<int>(q.scored);
  v.quality->eval_text = eval_text_path;
}

}  // namespace webaccel::bench
