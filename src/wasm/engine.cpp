#include "wasm/engine.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "cpu/kernels.h"
#include "models/llama_vocab.h"

namespace webaccel::wasm {
namespace {

// backend: what runs the model now; gpu: the adapter it was given; gpu_note: why not (any longer) WebGPU.
void add_backend(nlohmann::json& j, bool on_gpu, const std::string& adapter, const std::string& note) {
  j["backend"] = on_gpu ? "webgpu" : "wasm";
  if (!adapter.empty()) j["gpu"] = nlohmann::json::parse(adapter);
  if (!note.empty()) j["gpu_note"] = note;
}

}  // namespace

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

LlamaEngine::LlamaEngine(std::shared_ptr<const GgufFile> file, size_t threads, size_t n_ctx, const BackendRequest& backend)
    : gguf_(std::move(file)),
      model_(gguf_),
      tokenizer_(bpe_vocab_from_gguf(*gguf_)),
      pool_(threads),
      session_(model_, n_ctx, pool_) {
  if (gguf_->has("tokenizer.chat_template")) chat_ = chat_format_from_template(gguf_->get_string("tokenizer.chat_template"));
  if (chat_) end_of_turn_ = tokenizer_.find(chat_->end_of_turn).value_or(-1);
  if (auto gpu = WebGpu::open(backend, &gpu_note_)) {
    gpu_adapter_ = gpu->adapter_json();
    try {
      gpu_ = std::make_unique<WebGpuLlama>(std::move(gpu), model_, static_cast<uint32_t>(n_ctx), backend.precompile);
    } catch (const Error& e) {  // a lost device, or a model the adapter cannot hold
      gpu_note_ = std::string("WebGPU refused the model, running on wasm: ") + e.what();
    }
  }
}

void LlamaEngine::eval(std::span<const int32_t> tokens) {
  history_.insert(history_.end(), tokens.begin(), tokens.end());
  if (gpu_) {
    try {
      logits_.resize(model_.hparams().n_vocab);  // never resized again while a read back targets it
      gpu_->eval(tokens, logits_.data());
      logits_in_flight_ = true;
      cpu_logits_ = {};
      return;
    } catch (const gpu::DeviceLost& e) {
      use_cpu(e.what());
      return;
    }
  }
  cpu_logits_ = session_.eval(tokens);
}

std::span<const float> LlamaEngine::logits() {
  if (!cpu_logits_.empty()) return cpu_logits_;
  if (!logits_in_flight_) return logits_;
  try {
    if (!gpu_->landed()) fail(ErrorKind::kInternal, "GPU logits used before they landed (the host must await the bridge's settle())");
    logits_in_flight_ = false;
  } catch (const gpu::DeviceLost& e) {
    use_cpu(e.what());
    return cpu_logits_;
  }
  return logits_;
}

// The device is gone: everything evaluated since start() is evaluated again on the CPU.
void LlamaEngine::use_cpu(const std::string& why) {
  gpu_.reset();
  logits_in_flight_ = false;
  gpu_note_ = "WebGPU device lost mid-run, continued on wasm: " + why;
  session_.reset();
  cpu_logits_ = session_.eval(history_);
}

void LlamaEngine::lose_gpu() {
  if (gpu_) gpu_->gpu().device->destroy();
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
  (void)logits();  // a read back still in flight lands (or fails) before the state is reset
  session_.reset();
  if (gpu_) gpu_->reset();
  history_.clear();
  pending_utf8_.clear();
  ignore_eos_ = o.ignore_eos;
  remaining_ = o.max_tokens;
  eval(ids);
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
  step.token = sampler_->sample(logits());
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
  eval(std::span<const int32_t>(&step.token, 1));
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
  add_backend(j, gpu_ != nullptr, gpu_adapter_, gpu_note_);
  return j.dump();
}

BertEngine::BertEngine(BertFiles files, size_t threads, const BackendRequest& backend)
    : model_(std::move(files)), pool_(threads) {
  open_gpu(backend);
}

BertEngine::BertEngine(std::shared_ptr<const GgufFile> package, size_t threads, const BackendRequest& backend)
    : model_(std::move(package)), pool_(threads) {
  open_gpu(backend);
}

void BertEngine::open_gpu(const BackendRequest& backend) {
  if (auto gpu = WebGpu::open(backend, &gpu_note_)) {
    gpu_adapter_ = gpu->adapter_json();
    try {
      gpu_ = std::make_unique<WebGpuBert>(std::move(gpu), model_, backend.precompile);
    } catch (const Error& e) {
      gpu_note_ = std::string("WebGPU refused the model, running on wasm: ") + e.what();
    }
  }
}

void BertEngine::embed_start(const std::string& text) {
  if (text.empty()) fail(ErrorKind::kInput, "embed: a text is empty");
  ids_ = model_.tokenizer().encode(text, model_.config().max_seq_length);
  in_flight_ = false;
  if (gpu_) {
    try {
      embedding_.assign(model_.config().n_embd, 0.0f);
      gpu_->encode(ids_, embedding_.data());
      in_flight_ = true;
      return;
    } catch (const gpu::DeviceLost& e) {
      use_cpu(e.what());
    }
  }
  embedding_ = model_.embed_tokens(ids_, pool_);
}

std::vector<float> BertEngine::embed_finish() {
  if (in_flight_) {
    in_flight_ = false;
    try {
      if (!gpu_->landed()) fail(ErrorKind::kInternal, "GPU embedding used before it landed (the host must await the bridge's settle())");
    } catch (const gpu::DeviceLost& e) {
      use_cpu(e.what());
      embedding_ = model_.embed_tokens(ids_, pool_);
    }
  }
  return embedding_;
}

void BertEngine::use_cpu(const std::string& why) {
  gpu_.reset();
  gpu_note_ = "WebGPU device lost mid-run, continued on wasm: " + why;
}

void BertEngine::lose_gpu() {
  if (gpu_) gpu_->gpu().device->destroy();
}

std::vector<float> BertEngine::embed_batch(const std::vector<std::string>& texts, size_t& n_tokens) {
  if (gpu_) fail(ErrorKind::kInternal, "embed_batch: the model runs on WebGPU (embed each text with embed_start/embed_finish)");
  std::vector<std::vector<int32_t>> ids;
  ids.reserve(texts.size());
  n_tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].empty()) fail(ErrorKind::kInput, "embed: text #" + std::to_string(i) + " is empty");
    ids.push_back(model_.tokenizer().encode(texts[i], model_.config().max_seq_length));
    n_tokens += ids.back().size();
  }
  std::vector<float> flat;
  flat.reserve(texts.size() * model_.config().n_embd);
  for (const auto& e : model_.embed_batch(ids, pool_)) flat.insert(flat.end(), e.begin(), e.end());
  return flat;
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
  add_backend(j, gpu_ != nullptr, gpu_adapter_, gpu_note_);
  return j.dump();
}

}  // namespace webaccel::wasm
