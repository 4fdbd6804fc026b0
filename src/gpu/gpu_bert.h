// The BERT encoder (all-MiniLM-L6-v2) on a gpu::Device: one sentence per call, bidirectional
// attention, mean pooling and L2 normalisation on the GPU; only the pooled vector comes back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gpu/kernels.h"
#include "models/bert.h"

namespace webaccel::gpu {

class GpuBert {
 public:
  GpuBert(Kernels& kernels, const BertModel& model);  // uploads every weight
  ~GpuBert();
  GpuBert(const GpuBert&) = delete;
  GpuBert& operator=(const GpuBert&) = delete;

  // Records the encoder over token ids (1..n_positions); the embedding (n_embd) lands in output().
  void encode(std::span<const int32_t> ids);
  BufferView output() const { return {pooled_, 0, pooled_.bytes}; }
  std::vector<float> embed_tokens_sync(std::span<const int32_t> ids);  // native: encode + read back

  std::vector<PipelineDesc> pipelines();
  void precompile();

 private:
  struct Layer {
    GpuMatrix wq, wk, wv, wo, w_in, w_out;
    Buffer bq, bk, bv, bo, b_in, b_out;  // biases
    Buffer ln1_w, ln1_b, ln2_w, ln2_b;   // (n_embd)
  };
  Buffer vec(const std::vector<float>& v, const std::string& name);
  Buffer scratch(uint64_t floats, const char* name);
  void ensure_capacity(uint32_t tokens);

  Kernels& k_;
  BertConfig cfg_;
  GpuMatrix word_embd_;
  Buffer pos_type_;            // (n_positions, n_embd): position + token-type-0 embeddings
  Buffer emb_ln_w_, emb_ln_b_;
  std::vector<Layer> layers_;
  uint32_t capacity_ = 0;      // tokens the activation buffers hold
  Buffer ids_;                 // (capacity) u32
  Buffer x_, h_;               // (capacity, n_embd) residual streams
  Buffer q_, kk_, vv_, ctx_;   // (capacity, n_embd)
  Buffer ff_;                  // (capacity, n_ff)
  Buffer pooled_;              // (n_embd)
  std::vector<Buffer> owned_;       // weights and vectors
  std::vector<Buffer> activations_; // resized with the sentence length
};

}  // namespace webaccel::gpu
