#include "wasm/engine.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "cpu/kernels.h"
#include "models/llama_vocab.h"

namespace webaccel::wasm {

std::string take_complete_utf8(std::string& bytes) {
  size_t cut = bytes.size();
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  for (size_t back = 1; back <= 4 && back <= bytes.size(); ++back) {
    const auto c = static_cast<unsigned char>(bytes[bytes.size() - back]);
    if ((c & 0xC0) == 0x80) continue;
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (need > back) cut = bytes.size() - back;
    break;
  }
  std::string out = bytes.substr(0, cut);
  bytes.erase(0, cut);
  return out;
}

LlamaEngine::LlamaEngine(MappedFile gguf, size_t threads, size_t n_ctx)
    : gguf_(std::make_shared<const GgufFile>(std::move(gguf))),
      model_(gguf_),
      tokenizer_(bpe_vocab_from_gguf(*gguf_)),
      pool_(threads),
      session_(model_, n_ctx, pool_) {
  if (gguf_->has("tokenizer.chat_template")) chat_ = chat_format_from_template(gguf_->get_string("tokenizer.chat_template"));
  if (chat_) end_of_turn_ = tokenizer_.find(chat_->end_of_turn).value_or(-1);
}

std::vector<int32_t> LlamaEngine::start(const std::string& prompt, const GenerateOptions& o) {
  if (prompt.empty()) fail(ErrorKind::kInput, "generate: the prompt is empty");
  if (o.max_tokens < 0) fail(ErrorKind::kInput, "generate: maxTokens must be >= 0");
  if (o.seed < 0) fail(ErrorKind::kInput, "generate: seed must be >= 0");
  sampler_.emplace(SamplerConfig{o.temperature, o.top_k, o.top_p, static_cast<uint64_t>(o.seed)});
  const std::string text = o.chat && chat_ ? chat_->format_user_turn(prompt) : prompt;
  const auto ids = tokenizer_.encode(text, tokenizer_.add_bos_default(), /*parse_special=*/true);
  if (ids.empty()) fail(ErrorKind::kInput, "generate: the prompt is empty after tokenization");
  if (ids.size() + static_cast<size_t>(o.max_tokens) > session_.n_ctx()) {
    fail(ErrorKind::kInput, "generate: the prompt (" + std::to_string(ids.size()) + " tokens) plus maxTokens " +
                                std::to_string(o.max_tokens) + " does not fit the context of " +
                                std::to_string(session_.n_ctx()) + " tokens");
  }
  session_.reset();
  pending_utf8_.clear();
  ignore_eos_ = o.ignore_eos;
  remaining_ = o.max_tokens;
  const auto logits = session_.eval(ids);
  logits_.assign(logits.begin(), logits.end());
  return ids;
}

Step LlamaEngine::next() {
  Step step;
  if (remaining_ <= 0 || !sampler_) {
    step.done = true;
    step.text = std::move(pending_utf8_);
    pending_utf8_.clear();
    return step;
  }
  step.token = sampler_->sample(logits_);
  --remaining_;
  const bool stop = !ignore_eos_ && (step.token == tokenizer_.eos_id() || step.token == end_of_turn_);
  if (!stop) pending_utf8_ += tokenizer_.token_bytes(step.token);
  step.done = stop || remaining_ == 0;
  if (step.done) {
    step.text = std::move(pending_utf8_);
    pending_utf8_.clear();
    remaining_ = 0;
    return step;
  }
  step.text = take_complete_utf8(pending_utf8_);
  const auto logits = session_.eval(std::span<const int32_t>(&step.token, 1));
  logits_.assign(logits.begin(), logits.end());
  return step;
}

std::string LlamaEngine::info_json() const {
  const auto& hp = model_.hparams();
  nlohmann::json j;
  j["kind"] = "llama";
  j["name"] = gguf_->path();
  j["architecture"] = gguf_->has("general.architecture") ? gguf_->get_string("general.architecture") : "llama";
  j["n_vocab"] = hp.n_vocab;
  j["n_embd"] = hp.n_embd;
  j["n_layer"] = hp.n_layer;
  j["n_head"] = hp.n_head;
  j["n_head_kv"] = hp.n_head_kv;
  j["n_ctx"] = session_.n_ctx();
  j["weight_bytes"] = model_.weight_bytes();
  j["kv_cache_bytes"] = session_.kv_cache_bytes();
  j["chat_template"] = chat_.has_value();
  j["threads"] = pool_.size();
  j["simd"] = cpu::simd_target_name();
  return j.dump();
}

BertEngine::BertEngine(BertFiles files, size_t threads) : model_(std::move(files)), pool_(threads) {}

std::vector<float> BertEngine::embed(const std::string& text) const {
  if (text.empty()) fail(ErrorKind::kInput, "embed: a text is empty");
  return model_.embed(text, pool_);
}

size_t BertEngine::count_tokens(const std::string& text) const {
  return model_.tokenizer().encode(text, model_.config().max_seq_length).size();
}

std::string BertEngine::info_json() const {
  const auto& c = model_.config();
  nlohmann::json j;
  j["kind"] = "bert";
  j["name"] = model_.weights().path();
  j["architecture"] = "bert";
  j["n_vocab"] = c.n_vocab;
  j["n_embd"] = c.n_embd;
  j["n_layer"] = c.n_layer;
  j["n_head"] = c.n_head;
  j["max_seq_length"] = c.max_seq_length;
  j["normalize"] = c.normalize;
  j["threads"] = pool_.size();
  j["simd"] = cpu::simd_target_name();
  return j.dump();
}

}  // namespace webaccel::wasm
