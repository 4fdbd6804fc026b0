// The llama architecture (SmolLM2, Llama 2/3, ...) read from GGUF, and a decoding session over it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/matmul.h"
#include "format/gguf.h"

namespace webaccel {

struct LlamaHparams {
  size_t n_vocab = 0;
  size_t n_ctx_train = 0;
  size_t n_embd = 0;     // model width
  size_t n_layer = 0;
  size_t n_head = 0;
  size_t n_head_kv = 0;  // < n_head for grouped-query attention
  size_t n_ff = 0;       // feed-forward width
  size_t head_dim = 0;   // n_embd / n_head
  size_t n_rot = 0;      // rotary dimensions per head
  float rope_base = 10000.0f;
  float rms_eps = 1e-5f;
};

// Element type of the KV cache. kAuto: f32 when every matrix of the model is F32 (full precision
// end to end, like llama.cpp with an f32 cache), else f16 (llama.cpp's default; half the memory).
enum class KvCacheType { kAuto, kF16, kF32 };

struct LlamaLayer {
  std::string prefix;                // "blk.<i>."
  std::span<const float> attn_norm;  // (n_embd)
  cpu::WeightMatrix wq;              // (n_head * head_dim, n_embd)
  cpu::WeightMatrix wk;              // (n_head_kv * head_dim, n_embd)
  cpu::WeightMatrix wv;              // (n_head_kv * head_dim, n_embd)
  cpu::WeightMatrix wo;              // (n_embd, n_head * head_dim)
  std::span<const float> ffn_norm;   // (n_embd)
  cpu::WeightMatrix w_gate;          // (n_ff, n_embd)
  cpu::WeightMatrix w_up;            // (n_ff, n_embd)
  cpu::WeightMatrix w_down;          // (n_embd, n_ff)
};

class LlamaModel {
 public:
  explicit LlamaModel(std::shared_ptr<const GgufFile> gguf);  // validates every shape against the hyper-parameters

  const LlamaHparams& hparams() const { return hp_; }
  const GgufFile& gguf() const { return *gguf_; }
  const cpu::WeightMatrix& token_embedding() const { return tok_embd_; }  // (n_vocab, n_embd)
  const cpu::WeightMatrix& output() const { return output_; }             // (n_vocab, n_embd); tied to tok_embd if absent
  std::span<const float> output_norm() const { return output_norm_; }     // (n_embd)
  bool output_tied() const { return output_tied_; }
  const std::vector<LlamaLayer>& layers() const { return layers_; }
  size_t weight_bytes() const;
  bool all_matrices_f32() const;

  // Every matrix by its tensor name (token_embd and output share one when tied).
  std::vector<std::string> matrix_names() const;
  const cpu::WeightMatrix& matrix_by_name(const std::string& name) const;
  // Points one matrix at other bytes of the same shape (quantization experiments); the caller
  // keeps the bytes alive.
  void replace_matrix(const std::string& name, const cpu::WeightMatrix& m);

 private:
  cpu::WeightMatrix matrix(const std::string& name, size_t rows, size_t cols) const;
  std::span<const float> vector(const std::string& name, size_t n) const;

  std::shared_ptr<const GgufFile> gguf_;
  LlamaHparams hp_;
  cpu::WeightMatrix tok_embd_;
  cpu::WeightMatrix output_;
  std::span<const float> output_norm_;
  std::vector<LlamaLayer> layers_;
  bool output_tied_ = false;
};

// Sees the float input of each matrix product before it runs (calibration statistics).
using ActivationObserver = std::function<void(const std::string& tensor, const float* x, size_t n_tokens, size_t n)>;

// One conversation's state: the KV cache (f16 or f32, as llama.cpp keeps it) and scratch buffers.
class LlamaSession {
 public:
  LlamaSession(const LlamaModel& model, size_t n_ctx, ThreadPool& pool, KvCacheType kv_type = KvCacheType::kAuto);

  // Appends tokens at the current position; returns the logits (n_vocab) of the last one, or
  // with all_logits those of every evaluated position (n_tokens, n_vocab).
  std::span<const float> eval(std::span<const int32_t> tokens, bool all_logits = false);
  void set_observer(ActivationObserver observer) { observer_ = std::move(observer); }
  size_t n_past() const { return n_past_; }
  size_t n_ctx() const { return n_ctx_; }
  void reset() { n_past_ = 0; }
  KvCacheType kv_cache_type() const { return kv_type_; }  // kF16 or kF32, never kAuto
  size_t kv_cache_bytes() const {
    return (k_cache_.size() + v_cache_.size()) * sizeof(uint16_t) + (k_cache_f32_.size() + v_cache_f32_.size()) * sizeof(float);
  }

 private:
  void embed(std::span<const int32_t> tokens);
  void attention_block(const LlamaLayer& layer, size_t il, size_t n_tokens);
  void feed_forward_block(const LlamaLayer& layer, size_t n_tokens);
  struct AttentionDims {
    size_t head_dim, kv_dim, qkv_stride;  // kv_dim: n_head_kv * head_dim; qkv_stride: one token's Q, K and V
    size_t group;                         // query heads per KV head
    float scale;                          // 1 / sqrt(head_dim)
  };
  AttentionDims attention_dims() const;
  void attend(size_t il, size_t n_tokens);      // f16 cache
  void attend_f32(size_t il, size_t n_tokens);  // f32 cache (llama_attend_f32.cpp)
  void store_kv(size_t il, size_t n_tokens);
  void rope_inplace(float* x, size_t n_heads, size_t n_tokens, size_t row_stride);

  const LlamaModel& model_;
  ThreadPool& pool_;
  size_t n_ctx_;
  size_t n_past_ = 0;
  KvCacheType kv_type_;
  std::vector<uint16_t> k_cache_;  // (n_layer, n_ctx, n_head_kv * head_dim) f16, when kv_type_ is kF16
  std::vector<uint16_t> v_cache_;  // (n_layer, n_ctx, n_head_kv * head_dim) f16
  std::vector<float> k_cache_f32_;  // (n_layer, n_ctx, n_head_kv * head_dim) f32, when kv_type_ is kF32
  std::vector<float> v_cache_f32_;  // (n_layer, n_ctx, n_head_kv * head_dim) f32
  std::vector<float> rope_cos_;    // (n_tokens, n_rot / 2) for the tokens being evaluated
  std::vector<float> rope_sin_;
  std::vector<float> x_;           // (n_tokens, n_embd) residual stream
  std::vector<float> xn_;          // (n_tokens, n_embd) normalized
  std::vector<float> qkv_;         // (n_tokens, (n_head + 2 n_head_kv) head_dim)
  std::vector<float> attn_out_;    // (n_tokens, n_head * head_dim)
  std::vector<float> ff_;          // (n_tokens, n_ff) silu(gate) * up
  std::vector<float> gate_up_;     // (n_tokens, 2 n_ff)
  std::vector<float> logits_;      // (n_vocab)
  cpu::QuantizedActivations act_;
  cpu::QuantizedActivations act2_;  // ffn_up's, when its activation type differs from ffn_gate's
  ActivationObserver observer_;
};

}  // namespace webaccel
