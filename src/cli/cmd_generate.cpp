// `webaccel generate`: text generation with a llama-architecture GGUF, streamed to stdout.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output_file.h"
#include "core/error.h"
#include "cpu/kernels.h"
#include "format/package.h"
#include "gpu/llama_runner.h"
#include "models/llama.h"
#include "models/llama_vocab.h"
#include "runtime/chat_template.h"
#include "runtime/sampler.h"

namespace webaccel::cli {
namespace {

struct GenerateOptions {
  std::string model = "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
  std::string prompt;
  std::string token_ids;
  int n_predict = 64;
  SamplerConfig sampler{0.7f, 40, 0.95f, 42};
  bool chat = true;
  bool ignore_eos = false;
  bool quiet = false;
  size_t threads = default_threads();
  size_t ctx_size = 2048;
  std::string json_path;
  std::string logits_path;
  std::string backend = "cpu";
  std::string kv_cache = "auto";
  bool lazy_pipelines = false;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<int32_t> parse_token_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    for (char& c : item) if (c == ',') c = ' ';
    std::istringstream parts(item);
    long long v;
    while (parts >> v) ids.push_back(static_cast<int32_t>(v));
    if (!parts.eof()) fail(ErrorKind::kUsage, "--token-ids: '" + item + "' is not a list of integers");
  }
  return ids;
}

void run_generate(const GenerateOptions& o) {
  if (o.prompt.empty() && o.token_ids.empty()) fail(ErrorKind::kInput, "the prompt is empty (give --prompt TEXT)");
  if (o.n_predict < 0) fail(ErrorKind::kUsage, "-n must be >= 0");
  Sampler sampler(o.sampler);

  auto gguf = open_model_file(o.model);
  LlamaModel model(gguf);
  tok::BpeTokenizer tokenizer(bpe_vocab_from_gguf(*gguf));

  std::string prompt_text = o.prompt;
  std::optional<ChatFormat> chat;
  if (o.chat && o.token_ids.empty() && gguf->has("tokenizer.chat_template")) {
    chat = chat_format_from_template(gguf->get_string("tokenizer.chat_template"));
    if (chat) prompt_text = chat->format_user_turn(o.prompt);
  }
  std::vector<int32_t> prompt = o.token_ids.empty()
                                    ? tokenizer.encode(prompt_text, tokenizer.add_bos_default(), /*parse_special=*/true)
                                    : parse_token_ids(o.token_ids);
  if (prompt.empty()) fail(ErrorKind::kInput, "the prompt is empty after tokenization");
  if (prompt.size() + static_cast<size_t>(o.n_predict) > o.ctx_size) {
    fail(ErrorKind::kInput, "the prompt (" + std::to_string(prompt.size()) + " tokens) plus -n " + std::to_string(o.n_predict) +
                                " does not fit the context of " + std::to_string(o.ctx_size) + " tokens (--ctx-size)");
  }
  const int32_t end_of_turn = chat ? tokenizer.find(chat->end_of_turn).value_or(-1) : -1;

  ThreadPool pool(o.threads);
  const KvCacheType kv_cache = o.kv_cache == "f32" ? KvCacheType::kF32 : o.kv_cache == "f16" ? KvCacheType::kF16 : KvCacheType::kAuto;
  gpu::LlamaRunner session(model, o.ctx_size, pool, {gpu::parse_backend(o.backend), !o.lazy_pipelines, kv_cache});
  for (const auto& note : session.notes()) std::fprintf(stderr, "[webaccel] %s\n", note.c_str());
  const size_t notes_before = session.notes().size();

  const auto t_prompt = Clock::now();
  auto logits = session.eval(prompt);
  const double prompt_s = seconds_since(t_prompt);
  if (!o.logits_path.empty()) {
    write_output_file(o.logits_path, std::string(reinterpret_cast<const char*>(logits.data()), logits.size_bytes()));
  }

  std::vector<int32_t> generated;
  const auto t_decode = Clock::now();
  for (int i = 0; i < o.n_predict; ++i) {
    const int32_t next = sampler.sample(logits);
    generated.push_back(next);
    const bool stop = !o.ignore_eos && (next == tokenizer.eos_id() || next == end_of_turn);
    if (!o.quiet && !stop) {
      const auto& bytes = tokenizer.token_bytes(next);
      std::fwrite(bytes.data(), 1, bytes.size(), stdout);
      std::fflush(stdout);
    }
    if (stop || i + 1 == o.n_predict) break;
    logits = session.eval(std::span<const int32_t>(&generated.back(), 1));
  }
  for (size_t i = notes_before; i < session.notes().size(); ++i) std::fprintf(stderr, "[webaccel] %s\n", session.notes()[i].c_str());
  const double decode_s = seconds_since(t_decode);
  if (!o.quiet) std::fputc('\n', stdout);
  // The first generated token comes from the prompt's logits: decode rate counts the evals after it.
  const size_t decode_evals = generated.empty() ? 0 : generated.size() - 1;
  const double prompt_tps = static_cast<double>(prompt.size()) / prompt_s;
  const double decode_tps = decode_evals ? static_cast<double>(decode_evals) / decode_s : 0.0;
  std::fprintf(stderr, "\n[webaccel] prompt: %zu tokens in %.3f s (%.1f tokens/s) | generated: %zu tokens, %.1f tokens/s | %zu threads, KV cache %.1f MiB | backend %s\n",
               prompt.size(), prompt_s, prompt_tps, generated.size(), decode_tps, pool.size(),
               static_cast<double>(session.kv_cache_bytes()) / (1 << 20), session.backend_description().c_str());

  if (!o.json_path.empty()) {
    nlohmann::json j;
    j["model"] = o.model;
    j["prompt_tokens"] = prompt;
    j["generated_tokens"] = generated;
    j["generated_text"] = tokenizer.decode(generated);
    j["prompt_seconds"] = prompt_s;
    j["decode_seconds"] = decode_s;
    j["prompt_tokens_per_second"] = prompt_tps;
    j["decode_tokens_per_second"] = decode_tps;
    j["threads"] = pool.size();
    j["backend"] = session.backend_description();
    j["cpu_simd"] = cpu::simd_target_name();  // the CPU kernels' target (WEBACCEL_CPU_SIMD caps it)
    j["backend_notes"] = session.notes();
    j["load_seconds"] = session.load_seconds();
    j["precompile_seconds"] = session.precompile_seconds();
    write_output_file(o.json_path, j.dump(1) + "\n");
  }
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  auto* cmd = app.add_subcommand("generate", "Generate text with a llama-architecture GGUF model (streams to stdout)");
  cmd->add_option("-m,--model", o->model, "GGUF file")->capture_default_str();
  cmd->add_option("-p,--prompt", o->prompt, "prompt text (with --chat, the user's message)");
  cmd->add_option("--token-ids", o->token_ids, "prompt as token ids (space or comma separated), bypassing the tokenizer");
  cmd->add_option("-n,--n-predict", o->n_predict, "tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", o->sampler.temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", o->sampler.top_k, "0 = off")->capture_default_str();
  cmd->add_option("--top-p", o->sampler.top_p, "1 = off")->capture_default_str();
  cmd->add_option("--seed", o->sampler.seed, "sampling seed")->capture_default_str();
  cmd->add_flag("--chat,!--no-chat", o->chat, "wrap the prompt in the model's chat template (default on)");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "keep generating after end-of-sequence tokens");
  cmd->add_flag("-q,--quiet", o->quiet, "do not stream the text");
  cmd->add_option("-t,--threads", o->threads, "threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("-c,--ctx-size", o->ctx_size, "context size in tokens")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--json", o->json_path, "write tokens, text and timings as JSON to this file");
  cmd->add_option("--backend", o->backend, "cpu, webgpu (falls back to the CPU when WebGPU is absent or lost), or auto (the faster, measured once per device)")
      ->capture_default_str();
  cmd->add_option("--kv-cache", o->kv_cache, "CPU KV cache type: f16, f32, or auto (f32 when every weight matrix is F32, else f16)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "f16", "f32"}));
  cmd->add_flag("--lazy-pipelines", o->lazy_pipelines, "WebGPU: create pipelines at first use instead of precompiling them at load");
  cmd->add_option("--dump-logits", o->logits_path, "write the prompt's last-position logits (float32) to this file");
  cmd->callback([o] { run_generate(*o); });
}

}  // namespace webaccel::cli
