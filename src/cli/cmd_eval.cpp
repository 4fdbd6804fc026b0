// `webaccel eval`: perplexity on a text, and mean KL-divergence and top-1 agreement against an
// unquantized reference, for GGUF files and webaccel packages alike.
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "format/package.h"
#include "models/bert_metadata.h"
#include "models/llama_vocab.h"
#include "quant/bert_quantizer.h"
#include "quant/evaluate.h"
#include "quant/sentences.h"

namespace webaccel::cli {
namespace {

struct EvalOptions {
  std::string model;
  // Encoders (BERT folders) only: quantize in memory, then compare with the unquantized model.
  quant::QuantizeOptions quant;
  bool quantize = false;
  std::string mixed;
  std::string calibration;
  std::string reference;
  std::string text;
  size_t ctx = 256;
  size_t max_windows = 0;
  size_t threads = default_threads();
  std::string json_path;
};

// The folder a BERT package was quantized from (its manifest's quantization.source), or "".
std::string recorded_source(const std::string& package_dir) {
  std::ifstream in(std::filesystem::path(package_dir) / "manifest.json");
  try {
    return nlohmann::json::parse(in).at("quantization").at("source").get<std::string>();
  } catch (const nlohmann::json::exception&) {
    return "";  // the package loader reports a broken manifest
  }
}

// Mean cosine against a reference: -r; for a package, by default the folder it was quantized
// from; for a folder, the model itself before in-memory quantization. A BERT GGUF file (llama.cpp's
// layout, any of its quantizations) is measured like a package: give the reference with -r.
void run_eval_encoder(const EvalOptions& o) {
  std::string ref_path = o.reference.empty() ? o.model : o.reference;
  if (is_package_dir(o.model) && o.reference.empty()) {
    ref_path = recorded_source(o.model);
    if (ref_path.empty() || !is_bert_model(ref_path) || is_package_dir(ref_path)) {
      fail(ErrorKind::kUsage, o.model + " is a package and the folder it was quantized from ('" + ref_path +
                                  "') is not here: give the unquantized model with -r (e.g. -r models/minilm)");
    }
  }
  if (!is_bert_model(ref_path)) fail(ErrorKind::kUsage, ref_path + ": -r for an encoder must be a BERT folder, package or GGUF file");
  const auto sentences = quant::read_sentences(o.text, 200);
  BertModel reference(ref_path), model(o.model);
  if (reference.config().n_embd != model.config().n_embd) fail(ErrorKind::kInput, ref_path + ": embedding size differs from " + o.model + "'s");
  ThreadPool pool(o.threads);
  const auto t0 = std::chrono::steady_clock::now();
  const auto ref = quant::embed_all(reference, sentences, pool);
  nlohmann::json j = {{"model", o.model}, {"reference", ref_path}, {"text", o.text},
                      {"sentences", sentences.size()}};
  quant::QuantizedBert q;
  if (o.quantize) {
    auto opts = o.quant;
    if (!o.mixed.empty()) opts.mixed = quant::load_mixed_config(o.mixed), opts.mixed_source = o.mixed;
    const auto calib = o.calibration.empty() ? std::vector<std::string>{} : quant::read_sentences(o.calibration, 32);
    q = quant::quantize_bert_in_memory(model, opts, calib, pool);
    j["quantization"] = q.stats;
  }
  const auto t1 = std::chrono::steady_clock::now();
  const auto got = quant::embed_all(model, sentences, pool);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  j["mean_cosine"] = quant::mean_cosine(ref, got);
  j["sentences_per_second"] = static_cast<double>(sentences.size()) / s;
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s\n", j.dump(1).c_str());
  if (!o.json_path.empty()) {
    std::ofstream f(o.json_path, std::ios::trunc);
    if (!(f << j.dump(1) << "\n")) fail(ErrorKind::kIo, o.json_path + ": write failed");
  }
}

void run_eval(const EvalOptions& o) {
  if (is_bert_model(o.model)) {
    run_eval_encoder(o);
    return;
  }
  if (o.quantize) fail(ErrorKind::kUsage, "--bits/--mixed/--adaptive apply to encoders; quantize a llama model with `webaccel quantize`");
  std::ifstream in(o.text, std::ios::binary);
  if (!in) fail(ErrorKind::kIo, o.text + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  auto file = open_model_file(o.model);
  LlamaModel model(file);
  std::unique_ptr<LlamaModel> reference;
  if (!o.reference.empty()) {
    reference = std::make_unique<LlamaModel>(open_model_file(o.reference));
    if (reference->hparams().n_vocab != model.hparams().n_vocab) {
      fail(ErrorKind::kInput, o.reference + ": vocabulary differs from " + o.model + "'s");
    }
  }
  tok::BpeTokenizer tokenizer(bpe_vocab_from_gguf(*file));
  auto tokens = tokenizer.encode(ss.str(), false, false);
  if (o.max_windows > 0 && tokens.size() > o.max_windows * o.ctx) tokens.resize(o.max_windows * o.ctx);
  ThreadPool pool(o.threads);
  const auto r = quant::evaluate_llama(model, reference.get(), tokens, o.ctx, pool);
  nlohmann::json j = {{"model", o.model}, {"reference", o.reference}, {"text", o.text}, {"ctx", r.ctx},
                      {"windows", r.windows}, {"scored_tokens", r.scored}, {"perplexity", r.perplexity},
                      {"seconds", r.seconds}};
  if (reference) j["mean_kld"] = r.mean_kld, j["top1_agreement"] = r.top1_agreement;
  std::printf("%s\n", j.dump(1).c_str());
  if (!o.json_path.empty()) {
    std::ofstream f(o.json_path, std::ios::trunc);
    if (!(f << j.dump(1) << "\n")) fail(ErrorKind::kIo, o.json_path + ": write failed");
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand("eval", "Perplexity, KL-divergence and top-1 agreement of a llama model on a text; mean cosine for encoders");
  cmd->add_option("-m,--model", o->model, "GGUF file (llama or BERT), BERT folder or webaccel package to evaluate")->required();
  cmd->add_option("-r,--reference", o->reference, "unquantized reference model (llama: KLD and top-1; BERT: cosine)");
  cmd->add_option("--text", o->text, "evaluation text file (for encoders: its sentences)")->required();
  cmd->add_option("--ctx", o->ctx, "window length in tokens; the second half of each window is scored")->capture_default_str();
  cmd->add_option("--max-windows", o->max_windows, "evaluate at most this many windows (0 = all)")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--json", o->json_path, "also write the result JSON here");
  auto* bits = cmd->add_option("--bits", o->quant.bits, "encoders: quantize in memory to 2, 3, 4 or 8 bits first")
                   ->check(CLI::IsMember({2, 3, 4, 8}));
  cmd->add_option("--group-size", o->quant.group, "encoders: group size 32, 64 or 128")->capture_default_str()
      ->check(CLI::IsMember({32, 64, 128, 192}));
  auto* mixed = cmd->add_option("--mixed", o->mixed, "encoders: per-tensor-pattern bits config (JSON)");
  auto* adaptive = cmd->add_flag("--adaptive", o->quant.adaptive, "encoders: allocate bits by measured sensitivity");
  cmd->add_option("--target-bpw", o->quant.target_bpw, "encoders, adaptive: average bits per weight");
  cmd->add_option("--calibration", o->calibration, "encoders, adaptive: calibration text (sentences)");
  cmd->callback([o, bits, mixed, adaptive] {
    o->quantize = bits->count() || mixed->count() || adaptive->count();
    run_eval(*o);
  });
}

}  // namespace webaccel::cli
