// The llama forward (SmolLM2, Llama-shaped models) on a gpu::Device: weights uploaded once in their
// quantized formats, the KV cache (f32) and every activation kept in GPU buffers; only token ids go
// up and only the last position's logits come back.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gpu/kernels.h"
#include "gpu/submit_cadence.h"
#include "models/llama.h"

namespace webaccel::gpu {

// The weights a llama forward reads; LlamaModel provides them, and so do synthetic models of real
// shapes (bench/gpu: random 7B-shaped weights).
struct LlamaWeights {
  LlamaHparams hp;
  cpu::WeightMatrix tok_embd;            // (n_vocab, n_embd)
  cpu::WeightMatrix output;              // (n_vocab, n_embd); may alias tok_embd
  std::span<const float> output_norm;    // (n_embd)
  std::vector<LlamaLayer> layers;
  static LlamaWeights from(const LlamaModel& model);
};

class GpuLlama {
 public:
  // Uploads every matrix (errors name the tensor) and allocates the KV cache for n_ctx positions.
  // fuse: Q, K and V (and gate and up) of a layer are stacked into one matrix, read by one product,
  // where they share type and width (false: always separate; tests compare the two).
  GpuLlama(Kernels& kernels, const LlamaWeights& weights, uint32_t n_ctx, bool fuse = true);
  ~GpuLlama();
  GpuLlama(const GpuLlama&) = delete;
  GpuLlama& operator=(const GpuLlama&) = delete;

  // Records the forward of `tokens` at the current position (prompts in chunks of kMaxBatch);
  // the logits (n_vocab) of the last one land in logits(). Nothing is waited for.
  void eval(std::span<const int32_t> tokens);
  BufferView logits() const { return {logits_, 0, logits_.bytes}; }
  // eval, then read the logits back (devices with synchronous read back: native).
  // The logits of the last eval (waits for the GPU).
  std::vector<float> read_logits();
  // bench/gpu: layers between submits within a step (0: one submit per step).
  void set_submit_every_layers(uint32_t n) {  // fixed from now on (no tuning)
    submit_every_layers_ = n;
    cadence_.reset();
  }
  uint32_t submit_every_layers() const { return cadence_ ? cadence_->cadence() : submit_every_layers_; }
  std::vector<float> eval_sync(std::span<const int32_t> tokens);

  // Every pipeline the forward uses (prompt chunks and single-token steps), for precompilation.
  std::vector<PipelineDesc> pipelines();
  // Creates them all now (async on the device) and waits: shader precompilation.
  void precompile();

  uint32_t n_past() const { return n_past_; }
  uint32_t n_ctx() const { return n_ctx_; }
  void reset() { n_past_ = 0; }
  const LlamaHparams& hparams() const { return hp_; }
  // Bytes one decode step reads: every matrix but the embedding table, one embedding row, the
  // norms, and the KV cache up to n_past (the bandwidth limit's numerator).
  uint64_t bytes_per_token(uint32_t n_past) const;
  uint64_t weight_bytes() const;

  static constexpr uint32_t kMaxBatch = 64;  // prompt tokens per recorded chunk
  // Layers recorded between submits within a step, so the GPU starts while the CPU records the
  // rest (0: one submit per step): the first one-token steps try each candidate and keep the
  // fastest (submit_cadence.h). $WEBACCEL_GPU_SUBMIT_LAYERS fixes it (bench/gpu).
  static constexpr uint32_t kSubmitEveryLayers = 4;
  static constexpr uint32_t kSubmitCadences[] = {kSubmitEveryLayers, 0, 2, 8};
  static constexpr int kCadenceSteps = 3;  // timed steps per candidate

 private:
  struct Layer {
    Buffer attn_norm, ffn_norm;  // (n_embd)
    GpuMatrix wqkv;              // (q_dim + 2 kv_dim, n_embd): wq, wk, wv stacked; rows 0 if not fused
    GpuMatrix wq, wk, wv;        // when not fused (different types or widths)
    GpuMatrix wo;
    GpuMatrix w_gate_up;         // (2 n_ff, n_embd): w_gate, w_up stacked; rows 0 if not fused
    GpuMatrix w_gate, w_up;      // when not fused
    GpuMatrix w_down;
    Buffer k_cache, v_cache;     // (n_ctx, kv_dim)
    std::vector<const GpuMatrix*> matrices() const;  // every uploaded one
  };
  void eval_chunk(std::span<const int32_t> tokens);
  Buffer scratch(uint64_t floats, const char* name);

  Kernels& k_;
  LlamaHparams hp_;
  uint32_t n_ctx_;
  uint32_t n_past_ = 0;
  uint32_t submit_every_layers_ = kSubmitEveryLayers;
  std::optional<SubmitCadenceTuner> cadence_;  // while set, it chooses submit_every_layers_
  // Every layer's products run by gemv.wgsl: one-token steps fuse the norms and SiLU (off with
  // $WEBACCEL_GPU_FUSE_DECODE=0, for bench/gpu).
  bool fused_decode_ = false;
  GpuMatrix tok_embd_, output_;
  bool output_tied_ = false;
  Buffer output_norm_;
  std::vector<Layer> layers_;
  Buffer ids_;                 // (kMaxBatch) u32
  Buffer x_, xn_;              // (kMaxBatch, n_embd) residual stream, normalized
  Buffer qkv_;                 // (kMaxBatch, q_dim + 2 kv_dim), fused layers
  Buffer q_, kk_, vv_;         // (kMaxBatch, q_dim), (kMaxBatch, kv_dim) x2, unfused layers
  Buffer attn_;                // (kMaxBatch, q_dim)
  Buffer gate_up_;             // (kMaxBatch, 2 n_ff), fused layers
  Buffer gate_, up_;           // (kMaxBatch, n_ff), unfused layers
  Buffer ff_;                  // (kMaxBatch, n_ff)
  Buffer logits_;              // (n_vocab)
  std::vector<Buffer> owned_;  // every buffer above, released together
};

}  // namespace webaccel::gpu
