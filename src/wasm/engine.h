// What the browser and Node hosts drive: a model loaded from in-memory files, generation one token
// per call (so the JS event loop runs between tokens and an AbortSignal can stop it), embeddings.
// On WebGPU a step leaves its result in flight: the host awaits the bridge's settle() before the
// next call. A lost device moves the model to the CPU, replaying what was evaluated so far.
// Plain C++ without Emscripten headers: bindings.cpp exposes it to JS.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/thread_pool.h"
#include "models/bert.h"
#include "models/llama.h"
#include "runtime/chat_template.h"
#include "runtime/sampler.h"
#include "tokenizer/bpe_tokenizer.h"
#include "wasm/gpu_models.h"

namespace webaccel::wasm {

struct GenerateOptions {
  int max_tokens = 128;
  float temperature = 0.7f;
  int top_k = 40;
  float top_p = 0.95f;
  double seed = 42;        // a JS number: integers up to 2^53 are exact
  bool chat = true;        // wrap the prompt in the model's chat template
  bool ignore_eos = false;
};

struct Step {
  int token = -1;       // -1 when nothing was generated (done before the first token)
  std::string text;     // complete UTF-8 characters only; a split character waits for the next step
  bool done = false;    // maxTokens reached, or an end-of-sequence/turn token (not included in text)
};

class LlamaEngine {
 public:
  LlamaEngine(std::shared_ptr<const GgufFile> file, size_t threads, size_t n_ctx, const BackendRequest& backend);  // a GGUF or a package

  // Tokenizes and evaluates the prompt; returns its token ids. Errors are kInput for an empty or
  // too long prompt.
  std::vector<int32_t> start(const std::string& prompt, const GenerateOptions& options);
  Step next();  // samples one token and evaluates it
  std::span<const float> last_logits() { return logits(); }  // (n_vocab) of the last evaluated position
  std::string info_json() const;
  void lose_gpu();  // destroys the WebGPU device, as a driver reset would (tests)

 private:
  void eval(std::span<const int32_t> tokens);
  std::span<const float> logits();  // once the GPU's have landed
  void use_cpu(const std::string& why);

  std::shared_ptr<const GgufFile> gguf_;
  LlamaModel model_;
  tok::BpeTokenizer tokenizer_;
  std::optional<ChatFormat> chat_;
  ThreadPool pool_;
  LlamaSession session_;
  std::optional<Sampler> sampler_;
  std::vector<float> logits_;  // of the last position evaluated on the GPU (read back into it)
  std::span<const float> cpu_logits_;  // the session's own, when it evaluated the last position (not copied)
  int remaining_ = 0;
  int32_t end_of_turn_ = -1;
  bool ignore_eos_ = false;
  std::string pending_utf8_;   // bytes of a character split across tokens
  std::unique_ptr<WebGpuLlama> gpu_;  // null: the CPU (wasm) path
  std::string gpu_adapter_;    // JSON of the adapter used, if any
  std::string gpu_note_;       // why WebGPU is not (or no longer) in use
  std::vector<int32_t> history_;  // every token evaluated since start(): replayed on the CPU after a loss
  bool logits_in_flight_ = false;
};

class BertEngine {
 public:
  BertEngine(BertFiles files, size_t threads, const BackendRequest& backend);
  BertEngine(std::shared_ptr<const GgufFile> package, size_t threads, const BackendRequest& backend);
  // Two calls around the host's settle(): the embedding (n_embd), normalised as the model says.
  void embed_start(const std::string& text);
  std::vector<float> embed_finish();
  // While the model runs on wasm (not WebGPU): every text in as few forwards as fit, sentences
  // stacked (BertModel::embed_batch); (texts.size() * n_embd) out, and their token count.
  bool on_gpu() const { return gpu_ != nullptr; }
  std::vector<float> embed_batch(const std::vector<std::string>& texts, size_t& n_tokens);
  size_t count_tokens(const std::string& text) const;
  std::string info_json() const;
  void lose_gpu();

 private:
  void open_gpu(const BackendRequest& backend);
  void use_cpu(const std::string& why);

  BertModel model_;
  ThreadPool pool_;
  std::unique_ptr<WebGpuBert> gpu_;
  std::string gpu_adapter_, gpu_note_;
  std::vector<int32_t> ids_;      // of the sentence in flight
  std::vector<float> embedding_;  // its result (written by the GPU read back, or the CPU)
  bool in_flight_ = false;
};

// The longest prefix of `bytes` that ends on a whole UTF-8 character; the rest stays in `bytes`.
std::string take_complete_utf8(std::string& bytes);

}  // namespace webaccel::wasm
