// `webaccel eval`: perplexity on a text, and mean KL-divergence and top-1 agreement against an
// unquantized reference, for GGUF files and webaccel packages alike.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "format/package.h"
#include "models/llama_vocab.h"
#include "quant/evaluate.h"

namespace webaccel::cli {
namespace {

struct EvalOptions {
  std::string model;
  std::string reference;
  std::string text;
  size_t ctx = 256;
  size_t max_windows = 0;
  size_t threads = default_threads();
  std::string json_path;
};

void run_eval(const EvalOptions& o) {
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
  auto* cmd = app.add_subcommand("eval", "Perplexity, KL-divergence and top-1 agreement of a llama model on a text");
  cmd->add_option("-m,--model", o->model, "GGUF file or webaccel package to evaluate")->required();
  cmd->add_option("-r,--reference", o->reference, "unquantized reference model (for KLD and top-1)");
  cmd->add_option("--text", o->text, "evaluation text file")->required();
  cmd->add_option("--ctx", o->ctx, "window length in tokens; the second half of each window is scored")->capture_default_str();
  cmd->add_option("--max-windows", o->max_windows, "evaluate at most this many windows (0 = all)")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--json", o->json_path, "also write the result JSON here");
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace webaccel::cli
