// Attention over an f32 KV cache, in f32 throughout as llama.cpp's CPU path with an f32 cache
// computes it (flash attention off): scores, softmax with a double sum, probability-weighted V.
#include <algorithm>

#include "cpu/kernels.h"
#include "models/llama.h"
#include "models/softmax_exp.h"

namespace webaccel {

void LlamaSession::attend_f32(size_t il, size_t n_tokens) {
  const auto& hp = model_.hparams();
  const AttentionDims dims = attention_dims();  // plain names: the wasm build's clang cannot capture structured bindings
  const size_t hd = dims.head_dim, kv_dim = dims.kv_dim, qkv_stride = dims.qkv_stride, group = dims.group;
  const float scale = dims.scale;
  const float* k_layer = k_cache_f32_.data() + il * n_ctx_ * kv_dim;
  const float* v_layer = v_cache_f32_.data() + il * n_ctx_ * kv_dim;

  pool_.parallel_for(n_tokens * hp.n_head, 1, [&](size_t begin, size_t end) {
    std::vector<float> scores(n_past_ + n_tokens);  // (n_keys) of one query
    for (size_t task = begin; task < end; ++task) {
      const size_t t = task / hp.n_head, h = task % hp.n_head, kvh = h / group;
      const size_t n_keys = n_past_ + t + 1;  // causal: keys up to and including this position
      const float* q = qkv_.data() + t * qkv_stride + h * hd;
      for (size_t j = 0; j < n_keys; ++j) scores[j] = cpu::dot_f32(k_layer + j * kv_dim + kvh * hd, q, hd) * scale;
      const float inv = exp_shifted_inplace(scores.data(), n_keys);
      float* out = attn_out_.data() + t * hp.n_head * hd + h * hd;
      std::fill_n(out, hd, 0.0f);
      for (size_t j = 0; j < n_keys; ++j) {
        const float p = scores[j] * inv;
        const float* v = v_layer + j * kv_dim + kvh * hd;
        for (size_t d = 0; d < hd; ++d) out[d] += p * v[d];
      }
    }
  });
}

}  // namespace webaccel
